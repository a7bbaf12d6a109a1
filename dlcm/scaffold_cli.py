"""`dlcm scaffold ...`: generate every file of a complete data-layer change. Thin: parse, plan, write.

Registered in `dlcm.cli` with `main.add_command(scaffold)`.
"""

from __future__ import annotations

import os
import sys

import click

EXIT_USAGE = 2


class ScaffoldUsage(click.ClickException):
    exit_code = EXIT_USAGE

    def show(self, file=None) -> None:  # "dlcm scaffold: error: ..." on stderr
        click.echo(f"dlcm scaffold: error: {self.format_message()}", err=True)


def _model(path: str):
    from checks.build import build_from_path
    from checks.config import ConfigError
    from checks.source import SourceError

    try:
        return build_from_path(path)
    except ConfigError as e:
        raise ScaffoldUsage(f"configuration error: {e}") from None
    except SourceError as e:
        raise ScaffoldUsage(str(e)) from None


def safe_path(root: str, rel: str) -> str:
    """The absolute path of `rel` inside `root`; refuses anything that would land outside it."""
    if not rel or rel.startswith("/") or os.path.isabs(rel) or "\\" in rel:
        raise ScaffoldUsage(f"refusing to write `{rel}`: not a relative path inside the repository")
    parts = rel.split("/")
    if any(p in ("", ".", "..") for p in parts):
        raise ScaffoldUsage(f"refusing to write `{rel}`: not a plain path inside the repository")
    root_real = os.path.realpath(root)
    target = os.path.realpath(os.path.join(root_real, *parts))
    if os.path.commonpath([root_real, target]) != root_real:
        raise ScaffoldUsage(f"refusing to write `{rel}`: it resolves outside the repository ({target})")
    return target


def run(kind: str, args, path: str, dry_run: bool) -> None:
    from checks.scaffold import ScaffoldError, plan

    if not os.path.isdir(path):
        raise ScaffoldUsage(f"{path}: not a directory")
    model, config = _model(path)
    root = os.path.abspath(path)

    def read(rel: str) -> str | None:
        try:
            with open(safe_path(root, rel), encoding="utf-8") as f:
                return f.read()
        except FileNotFoundError:
            return None

    try:
        changes = plan(kind, args, model, read, config)
    except ScaffoldError as e:
        raise ScaffoldUsage(str(e)) from None
    targets = [(ch, safe_path(root, ch.path)) for ch in changes]
    if dry_run:
        out = "".join(ch.diff() for ch in changes)
        click.echo(out, nl=False)
        for note in changes.notes:
            click.echo(f"# note: {note}", err=True)
        return
    for ch, target in targets:  # refuse before writing anything
        if ch.created and os.path.exists(target):
            raise ScaffoldUsage(f"{ch.path} already exists")
        if not ch.created:
            with open(target, encoding="utf-8") as f:
                if f.read() != ch.old:
                    raise ScaffoldUsage(f"{ch.path} changed while dlcm was reading it; run the command again")
    for ch, target in targets:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "w", encoding="utf-8", newline="") as f:
            f.write(ch.new)
    click.echo(f"dlcm scaffold {kind}: {changes.summary}")
    for ch in changes:
        click.echo(f"  {'created ' if ch.created else 'modified'} {ch.path}")
    for note in changes.notes:
        click.echo(f"  note: {note}")
    click.echo("Next: review the diff, run the tests, then `dlcm check --base <default branch>`.")


_DRY = click.option("--dry-run", is_flag=True, help="Print the change as a unified diff; write nothing.")
_PATH = click.argument("path", type=click.Path(file_okay=False), default=".", required=False)


@click.group("scaffold", context_settings={"help_option_names": ["-h", "--help"]})
def scaffold() -> None:
    """Generate every piece of a data-layer change, in the repository's own style.

    Migration + rollback, database.types.ts, repository interface with Supabase and Memory
    implementations, route handler, client method, and tests; `dlcm check` passes on the result.
    """


@scaffold.command("add-field")
@click.argument("table")
@click.argument("column")
@click.argument("pg_type", metavar="PG-TYPE")
@click.option("--nullable", is_flag=True, help="The column accepts NULL (otherwise NOT NULL, which needs --default).")
@click.option("--default", "default", metavar="EXPR", help="SQL default expression, e.g. 0, 'en', now().")
@_PATH
@_DRY
def add_field_cmd(table, column, pg_type, nullable, default, path, dry_run) -> None:
    """Add COLUMN of PG-TYPE to the existing TABLE."""
    from checks.scaffold import AddField

    run("add-field", AddField(table, column, pg_type, nullable=nullable, default=default), path, dry_run)


@scaffold.command("new-table")
@click.argument("table")
@click.argument("columns", metavar='"COL TYPE [not null] [default ...], ..."')
@click.option("--no-owner", is_flag=True, help="Do not add the owner column (e.g. user_id) the repository's tables use.")
@_PATH
@_DRY
def new_table_cmd(table, columns, no_owner, path, dry_run) -> None:
    """Create TABLE with COLUMNS (plus id, owner, created_at, updated_at, RLS, policies)."""
    from checks.scaffold import NewTable

    run("new-table", NewTable(table, columns, owner=not no_owner), path, dry_run)


@scaffold.command("api-endpoint")
@click.argument("method", metavar="METHOD")
@click.argument("route", metavar="PATH")
@click.option("--table", help="The table the endpoint serves (default: from the path).")
@click.option("--repository-method", "repository_method", metavar="NAME",
              help="The repository method the handler calls (an existing one, or the name of the new one).")
@click.argument("path", type=click.Path(file_okay=False), default=".", required=False, metavar="[REPO]")
@_DRY
def api_endpoint_cmd(method, route, table, repository_method, path, dry_run) -> None:
    """Add the endpoint METHOD PATH: repository method, handler, client method and tests."""
    from checks.scaffold import ApiEndpoint

    run("api-endpoint", ApiEndpoint(method, route, table=table, repository_method=repository_method), path, dry_run)


def main() -> None:  # pragma: no cover
    sys.exit(scaffold())
