"""`dlcm docs`: a Markdown reference of the data layer, and of dlcm's own rules."""

from __future__ import annotations

from collections import defaultdict

import click
import jinja2


def render_data_layer(model, name: str | None = None, source: str = "the repository") -> str:
    env = jinja2.Environment(loader=jinja2.PackageLoader("templates", "docs"), trim_blocks=False, lstrip_blocks=False,
                             keep_trailing_newline=True)
    policies = defaultdict(list)
    for p in model.schema_.policies.values():
        policies[p.table].append(p)
    usage = defaultdict(set)
    for u in model.table_usage:
        if u.symbol:
            usage[u.table].add(u.symbol)
    impls = {}
    for i in model.implementations:
        if i.interface:
            impls[(i.interface, i.flavour)] = f"`{i.name}`"
    client = {}
    for c in model.client_methods:
        client[(c.http_method, c.path)] = f"`{c.name}`"
    by_method = defaultdict(set)
    for c in model.consumers:
        by_method[c.method].add(c.package)
    consumers = {}
    for c in model.client_methods:
        if by_method.get(c.name):
            consumers[(c.http_method, c.path)] = ", ".join(sorted(by_method[c.name]))
    routed = {(r.method, r.path) for r in model.routes}
    orphans = [c for c in model.client_methods if (c.http_method, c.path) not in routed
               and ("ALL", c.path) not in routed]
    return env.get_template("data-layer.md.j2").render(
        model=model, name=name, source=source, policies=policies,
        usage={k: sorted(v) for k, v in usage.items()}, impls=impls, client=client, consumers=consumers,
        routes=sorted(model.routes, key=lambda r: (r.path, r.method)), orphans=orphans)


@click.command("docs")
@click.argument("path", type=click.Path(exists=True, file_okay=False), default=".")
@click.option("--ref", help="Document this git ref instead of the working tree.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True),
              help="Write to this file (default: print).")
@click.option("--rules", "rules_only", is_flag=True, help="Document dlcm's rules instead of the repository.")
def docs(path: str, ref: str | None, output: str | None, rules_only: bool) -> None:
    """Write a Markdown reference of the data layer: tables, policies, repositories, endpoints, owners."""
    from .cli import _build, rules_markdown

    if rules_only:
        text = "# dlcm rules\n\n" + rules_markdown() + "\n"
    else:
        model, _ = _build(path, ref)
        pkg = next((p for p in model.packages if p.path == ""), None)
        text = render_data_layer(model, name=pkg.name if pkg else None,
                                 source=f"`{ref}`" if ref else "the working tree")
    if output:
        with open(output, "w", encoding="utf-8") as f:
            f.write(text)
        click.echo(f"wrote {output}", err=True)
    else:
        click.echo(text)
