"""`dlcm rollback-test`: up, down, compare, up again on a real PostgreSQL (see checks.rollback_test)."""

from __future__ import annotations

import json
import sys

import click


class _CannotRun(click.ClickException):
    exit_code = 2  # 1 is a failed rollback test; 2 is a test that could not run



@click.command("rollback-test")
@click.argument("path", type=click.Path(exists=True, file_okay=False), default=".")
@click.option("--base", help="Test the migrations the change adds on top of this git ref's migrations. Without it, "
                             "every migration that has a rollback is tested on top of its predecessors.")
@click.option("--database-url", envvar="DLCM_ROLLBACK_DATABASE_URL",
              help="An empty scratch database to test on (default: a temporary PostgreSQL server started for the "
                   "test). It is left with the migrations applied.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def rollback_test(path: str, base: str | None, database_url: str | None, fmt: str) -> None:
    """Prove that rollbacks undo their migrations on a real PostgreSQL. Exit 1 when one does not."""
    from checks.rollback_test import RollbackTestError, render_text, run_rollback_test

    try:
        result = run_rollback_test(path, base, database_url=database_url)
    except RollbackTestError as e:
        raise _CannotRun(str(e)) from None
    if fmt == "json":
        click.echo(json.dumps(result.model_dump_json_report(), indent=2))
    else:
        click.echo(render_text(result))
    sys.exit(0 if result.passed else 1)
