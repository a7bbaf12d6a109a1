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


def run() -> None:  # pragma: no cover - console entry
    sys.exit(main())
