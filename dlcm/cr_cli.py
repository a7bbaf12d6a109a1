"""`dlcm cr ...` (change requests) and `dlcm init`. Thin: read arguments, call checks.changes, print.

Registered in `dlcm.cli` with `main.add_command(cr)` and `main.add_command(init)`.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys

import click

EXIT_INVALID = 1
EXIT_USAGE = 2


class UsageProblem(click.ClickException):
    exit_code = EXIT_USAGE


def _load_model(path: str, ref: str | None):
    """(RepoModel, Config) of the repository at `path` (the default branch when `ref` is given)."""
    from checks.build import build_from_path
    from checks.config import ConfigError
    from checks.source import SourceError

    try:
        return build_from_path(path, ref)
    except ConfigError as e:
        raise UsageProblem(f"configuration error: {e}") from None
    except SourceError as e:
        raise UsageProblem(str(e)) from None


def _read_body(body: str) -> str:
    try:
        if body == "-":
            data = sys.stdin.buffer.read()
        else:
            with open(body, "rb") as f:
                data = f.read()
    except OSError as e:
        raise UsageProblem(f"cannot read the issue body: {e.strerror or e}") from None
    return data.decode("utf-8", errors="replace").lstrip("\ufeff")


def validation_json(result) -> dict:
    """The JSON document of `dlcm cr validate --format json`."""
    return {
        "valid": result.valid,
        "problems": [p.model_dump(mode="json") for p in result.problems],
        "breaking": result.breaking,
        "breaking_reasons": result.breaking_reasons,
        "risk": result.risk,
        "change": result.request.model_dump(mode="json", by_alias=True),
        "normalized": result.change.model_dump(mode="json"),
    }


def _print_text(result) -> None:
    cr = result.request
    head = cr.summary or "(no summary)"
    mark = click.style("✓ valid", fg="green") if result.valid else click.style("✗ invalid", fg="red")
    click.echo(f"{mark}  {cr.change_type or '?'}: {head}")
    for p in result.problems:
        icon = click.style("error", fg="red") if p.severity == "error" else click.style("warning", fg="yellow")
        click.echo(f"  {icon} [{p.field}] {p.message}")
    b = "yes" if result.breaking else "no"
    click.echo(f"  breaking: {b}" + (f" — {'; '.join(result.breaking_reasons)}" if result.breaking_reasons else ""))
    click.echo(f"  risk: {result.risk}" + (f" — {'; '.join(result.risk_reasons)}" if result.risk_reasons else ""))
    ch = result.change
    if ch.tables:
        click.echo(f"  tables: {', '.join(ch.tables)}")
    for c in ch.columns:
        click.echo(f"  column: {c.table}.{c.name}" + (f" {c.type}" if c.type else "")
                   + (f" -> {c.new_name}" if c.new_name else ""))
    for e in ch.endpoints:
        click.echo(f"  endpoint: {e.method} {e.raw_path}")


@click.group("cr")
def cr() -> None:
    """Change requests: check an issue body the way the dlcm App does."""


@cr.command("validate")
@click.option("--body", "body", required=True, metavar="FILE",
              help="The issue body (Markdown as GitHub renders the issue form); `-` reads stdin.")
@click.argument("path", type=click.Path(exists=True, file_okay=False), default=".")
@click.option("--ref", help="Validate against this git ref (e.g. the default branch) instead of the working tree.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--today", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="The date a past target date is compared with (default: today).")
def validate_cmd(body: str, path: str, ref: str | None, fmt: str, today) -> None:
    """Validate a change-request issue body against the repository at PATH. Exit 1 when invalid."""
    from checks.changes.validate import validate_body

    text = _read_body(body)
    model, config = _load_model(path, ref)
    day = today.date() if today else dt.date.today()
    result = validate_body(text, model, config, today=day)
    if fmt == "json":
        click.echo(json.dumps(validation_json(result), indent=2, ensure_ascii=False))
    else:
        _print_text(result)
    if not result.valid:
        sys.exit(EXIT_INVALID)


@click.command("init")
@click.argument("path", type=click.Path(exists=True, file_okay=False), default=".")
@click.option("--force", is_flag=True, help="Overwrite files that already exist.")
@click.option("--action", default=None, metavar="OWNER/REPO/action@REF",
              help="The dlcm Action the workflow uses (default: your-org/dlcm/action@v1).")
def init(path: str, force: bool, action: str | None) -> None:
    """Set dlcm up in a repository: issue form, .github/dlcm.yml, workflow, component board.

    Existing files are kept (and reported as skipped) unless --force is given.
    """
    from checks.changes.init_files import DEFAULT_ACTION, init_files
    from checks.source import DirSource, SourceError

    try:
        files = init_files(DirSource(path), action or DEFAULT_ACTION)
    except SourceError as e:
        raise UsageProblem(str(e)) from None
    root = os.path.abspath(path)
    written, skipped = [], []
    for rel, content in files.items():
        target = os.path.join(root, *rel.split("/"))
        if os.path.exists(target) and not force:
            skipped.append(rel)
            continue
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "w", encoding="utf-8", newline="\n") as f:
            f.write(content)
        written.append(rel)
    for rel in written:
        click.echo(f"wrote    {rel}")
    for rel in skipped:
        click.echo(f"skipped  {rel} (exists; --force overwrites it)")
    if written:
        click.echo("Next: review the owners in .github/components.yml, commit, and make the `dlcm` check required.")
