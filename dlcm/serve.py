"""``dlcm serve``: run the GitHub App (webhooks, health, metrics) in one process.

Settings come from the environment and an optional ``.env`` file (see ``bot/settings.py``
and ``docs/app.md``); a bad setting is printed, one line per variable, and the command
exits 2 without a traceback. The feature modules of ``bot/features/`` are discovered and
composed; SIGTERM/SIGINT stop it gracefully (a job cut short is resumed on the next start).
"""

from __future__ import annotations

import logging
import sys

import click

EXIT_SETTINGS = 2


@click.command("serve")
@click.option("--host", help="Interface to listen on (default: $DLCM_HOST or 0.0.0.0).")
@click.option("--port", type=click.IntRange(0, 65535), help="Port (default: $PORT or 3000).")
@click.option("--env-file", type=click.Path(dir_okay=False),
              help="Read settings from this file (default: $DLCM_ENV_FILE, else ./.env when present).")
@click.option("--log-level", type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False),
              default="INFO", show_default=True, envvar="DLCM_LOG_LEVEL")
def serve(host: str | None, port: int | None, env_file: str | None, log_level: str) -> None:
    """Run the dlcm GitHub App: POST /webhooks, GET /healthz, GET /metrics."""
    from bot import server
    from bot.routing import discover_features
    from bot.settings import SettingsError, load_settings

    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings = load_settings(env_file=env_file)
    except SettingsError as exc:
        click.echo(str(exc), err=True)
        sys.exit(EXIT_SETTINGS)
    overrides = {k: v for k, v in (("host", host), ("port", port)) if v is not None}
    if overrides:
        settings = settings.model_copy(update=overrides)
    features = discover_features()
    names = ", ".join(m.__name__.rsplit(".", 1)[-1] for m in features) or "none"
    click.echo(f"dlcm App {settings.app_id} listening on http://{settings.host}:{settings.port}"
               f"{server.WEBHOOK_PATH} (features: {names}; database {settings.db_path})")
    server.run(settings, features)
