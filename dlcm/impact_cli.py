"""`dlcm impact`: the impact of a proposed data-layer change, or of the working tree's change."""

from __future__ import annotations

import click

from checks.impact.model import CHANGE_KINDS


def _link_for(link_base: str | None):
    if not link_base:
        return None
    base = link_base.rstrip("/")

    def link(file: str, line: int) -> str:
        return f"[`{file}:{line}`]({base}/{file}#L{line})"

    return link


@click.command("impact")
@click.argument("path", type=click.Path(exists=True, file_okay=False), default=".")
@click.option("--table", "-t", help="The table the change is about (`users` or `public.users`).")
@click.option("--column", "-c", help="The column (for add-index: `a,b`).")
@click.option("--change", "change", type=click.Choice(list(CHANGE_KINDS)), default=None,
              help="What happens to it (default: `modify`, i.e. everything that uses it).")
@click.option("--to", "to", help="rename: the new name; type: the new type; add: the column definition "
                                 "(`text not null default ''`); nullability: `null` or `not null`.")
@click.option("--endpoint", help="For api-endpoint changes: `METHOD /path`.")
@click.option("--expose", is_flag=True, help="The change must be reachable through the API (report what is missing).")
@click.option("--base", help="Analyse the change from this git ref to the working tree (a pull request).")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text", show_default=True)
@click.option("--link-base", help="Markdown file links: `https://github.com/ORG/REPO/blob/SHA`.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True), help="Write the report to a file.")
@click.option("--no-cache", is_flag=True, help="Ignore the extraction cache.")
def impact(path, table, column, change, to, endpoint, expose, base, fmt, link_base, output, no_cache) -> None:
    """What a data-layer change touches, from the table to the consumers and their owners.

    \b
      dlcm impact . --table users --column phone --change drop
      dlcm impact . --table products --column title --change rename --to name
      dlcm impact . --table users --column email --change add --to "text not null default ''"
      dlcm impact . --base main --format markdown
    """
    from checks.impact import (
        ImpactError, ProposedChange, analyze, analyze_diff, render_json, render_markdown, render_text,
        validate_changes,
    )
    from dlcm.cli import UserError, _build, build_check

    if (column or change or to) and not table and not endpoint:
        raise UserError("--column/--change/--to need --table")
    if not table and not base and not endpoint:
        raise UserError("say what changes: `--table T [--column C] [--change ...]`, `--endpoint 'GET /x'` "
                        "or `--base REF` for the working tree's change")
    changes = []
    if table or endpoint:
        kind = change or ("api-endpoint" if endpoint and not table else "modify")
        if endpoint and kind not in ("api-endpoint",) and not change:
            kind = "api-endpoint"
        changes.append(ProposedChange(table, column, change=kind, to=to, endpoint=endpoint))
    if base:
        head, base_model, config, _ = build_check(path, base, no_cache)
        if changes:
            errors = validate_changes(base_model, changes)
            if errors:
                raise UserError("; ".join(errors))
            report = analyze(base_model, changes, after=head, config=config, expose=expose, check=False)
        else:
            report = analyze_diff(base_model, head, config=config, expose=expose)
    else:
        model, config = _build(path, None, no_cache)
        try:
            report = analyze(model, changes, config=config, expose=expose)
        except ImpactError as e:
            raise UserError(str(e)) from None
    if fmt == "json":
        text = render_json(report)
    elif fmt == "markdown":
        text = render_markdown(report, link=_link_for(link_base))
    else:
        text = render_text(report)
    if output:
        with open(output, "w", encoding="utf-8") as fh:
            fh.write(text.rstrip("\n") + "\n")
    else:
        click.echo(text.rstrip("\n"))
