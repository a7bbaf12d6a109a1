"""The `dlcm` command line. Thin: parse arguments, call the core, print."""

from __future__ import annotations

import json
import sys

import click

from checks.config import ConfigError
from checks.source import SourceError

EXIT_USAGE = 2


class UserError(click.ClickException):
    exit_code = EXIT_USAGE


def _build(path: str, ref: str | None, no_cache: bool = False):
    from checks.build import build_from_path

    try:
        return build_from_path(path, ref, use_cache=not no_cache)
    except ConfigError as e:
        raise UserError(f"configuration error: {e}") from None
    except SourceError as e:
        raise UserError(str(e)) from None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="dlcm")
def main() -> None:
    """dlcm — Data Layer Change Management for TypeScript + Supabase + pnpm monorepos."""


@main.command("model")
@click.argument("path", type=click.Path(exists=True, file_okay=False), default=".")
@click.option("--ref", help="Read this git ref (branch, tag, sha) instead of the working tree.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--no-cache", is_flag=True, help="Ignore the extraction cache.")
def model_cmd(path: str, ref: str | None, fmt: str, no_cache: bool) -> None:
    """Print the repository model: packages, migrations, schema, repositories, routes, clients, owners."""
    model, _ = _build(path, ref, no_cache)
    if fmt == "json":
        click.echo(json.dumps(model.model_dump(mode="json", by_alias=True, exclude={"files"}), indent=2))
    else:
        from dlcm.render_model import render_model_text

        render_model_text(model)


def build_check(path: str, base: str | None, no_cache: bool = False):
    """Head model from the working tree, base model from a git ref (same core as the App)."""
    from checks.build import build_with_base

    try:
        return build_with_base(path, base, use_cache=not no_cache)
    except ConfigError as e:
        raise UserError(f"configuration error: {e}") from None
    except SourceError as e:
        raise UserError(str(e)) from None


@main.command("check")
@click.argument("path", type=click.Path(exists=True, file_okay=False), default=".")
@click.option("--base", help="Only report what the change from this git ref to the working tree introduces.")
@click.option("--all", "report_all", is_flag=True, help="Report every finding, also those already on the base.")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "sarif", "github", "markdown"]), default="text",
              show_default=True)
@click.option("--rule", "rules", multiple=True, help="Run only this rule id (repeatable).")
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True), help="Write the report to a file.")
@click.option("--no-cache", is_flag=True, help="Ignore the extraction cache.")
def check_cmd(path, base, report_all, fmt, rules, output, no_cache) -> None:
    """Check that data-layer changes are complete. Exit 1 when an error remains."""
    import os

    from checks import report
    from checks.engine import run_checks
    from checks.rules import get_rule

    unknown = [r for r in rules if get_rule(r) is None]
    if unknown:
        raise UserError(f"unknown rule id(s): {', '.join(unknown)} (see `dlcm rules`)")
    head, base_model, config, src = build_check(path, base, no_cache)
    result = run_checks(head, config, base=base_model, source=src, only=list(rules) or None, report_all=report_all)
    text = None
    if fmt == "json":
        text = report.render_json(result)
    elif fmt == "sarif":
        text = report.render_sarif(result)
    elif fmt == "markdown":
        text = report.render_markdown(result)
    elif fmt == "github":
        ann = report.render_github_annotations(result)
        md = report.render_markdown(result)
        summary_file = os.environ.get("GITHUB_STEP_SUMMARY")
        if summary_file:
            with open(summary_file, "a", encoding="utf-8") as fh:
                fh.write(md + "\n")
            text = ann
        else:
            text = ann + ("\n\n" if ann else "") + md
    if text is not None:
        if output:
            with open(output, "w", encoding="utf-8") as fh:
                fh.write(text + "\n")
        else:
            click.echo(text)
    else:
        from rich.console import Console

        if output:
            with open(output, "w", encoding="utf-8") as fh:
                report.render_text(result, Console(file=fh, highlight=False, no_color=True, width=200))
        else:
            report.render_text(result)
    sys.exit(0 if result.summary.passed else 1)


@main.command("rules")
@click.option("--format", "fmt", type=click.Choice(["text", "markdown", "json"]), default="text", show_default=True)
def rules_cmd(fmt: str) -> None:
    """List every rule with its id, severity, why and how to fix."""
    from checks.rules import all_rules

    rules = all_rules()
    if fmt == "json":
        click.echo(json.dumps([{"id": r.id, "name": r.name, "title": r.title, "severity": r.severity,
                                "category": r.category, "why": r.why, "fix": r.fix} for r in rules], indent=2))
    elif fmt == "markdown":
        click.echo(rules_markdown())
    else:
        for r in rules:
            click.echo(f"{r.id}  {r.severity:<7}  {r.name}: {r.title}")


def rules_markdown() -> str:
    from checks.rules import all_rules

    lines = ["| id | name | severity | what it finds | how to fix |", "|---|---|---|---|---|"]
    for r in all_rules():
        lines.append(f"| {r.id} | `{r.name}` | {r.severity} | {r.title} | {r.fix} |")
    return "\n".join(lines)


def run() -> None:  # pragma: no cover - console entry
    sys.exit(main())


from dlcm.ci import ci as _ci  # noqa: E402

main.add_command(_ci)

from dlcm.rollback_cli import rollback_test as _rollback_test  # noqa: E402

main.add_command(_rollback_test)

from dlcm.cr_cli import cr as _cr, init as _init  # noqa: E402

main.add_command(_cr)
main.add_command(_init)

from dlcm.serve import serve as _serve  # noqa: E402

main.add_command(_serve)

from dlcm.impact_cli import impact as _impact  # noqa: E402

main.add_command(_impact)

from dlcm.demo import demo as _demo  # noqa: E402

main.add_command(_demo)

from dlcm.scaffold_cli import scaffold as _scaffold  # noqa: E402

main.add_command(_scaffold)

from dlcm.audit_cli import audit as _audit  # noqa: E402

main.add_command(_audit)

from dlcm.docs_cli import docs as _docs  # noqa: E402

main.add_command(_docs)
