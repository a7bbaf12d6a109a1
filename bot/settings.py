"""Settings of the dlcm App, read from the environment and an optional ``.env`` file.

Every problem is collected before anything is raised, so ``dlcm serve`` can print one
message that names each bad variable and says why (no traceback)::

    DLCM_APP_ID: required (the numeric id of the GitHub App)
    DLCM_PRIVATE_KEY: not an RSA private key in PEM format (...)

Values from the process environment win over values from the file.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import BaseModel, ConfigDict, SecretStr

DEFAULT_DB = "./dlcm.sqlite3"
DEFAULT_API_URL = "https://api.github.com"
DEFAULT_PORT = 3000
DEFAULT_WORKERS = 4
DEFAULT_MAX_ATTEMPTS = 6
ENV_FILE_VARIABLE = "DLCM_ENV_FILE"


class SettingsError(Exception):
    """Invalid or missing settings; ``problems`` maps each variable to why it is wrong."""

    def __init__(self, problems: Mapping[str, str]) -> None:
        self.problems = dict(problems)
        lines = [f"{name}: {why}" for name, why in self.problems.items()]
        super().__init__("invalid dlcm settings:\n  " + "\n  ".join(lines))


class Settings(BaseModel):
    """Validated settings; build them with :func:`load_settings` (or directly in tests)."""

    model_config = ConfigDict(frozen=True)

    app_id: int
    private_key: SecretStr  # PEM text of the App's RSA key
    webhook_secret: SecretStr
    db_path: Path = Path(DEFAULT_DB)
    github_api_url: str = DEFAULT_API_URL
    host: str = "0.0.0.0"
    port: int = DEFAULT_PORT
    workers: int = DEFAULT_WORKERS
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    app_slug: str | None = None  # "dlcm" → events sent by "dlcm[bot]" are ours
    retention_days: int = 30  # done deliveries older than this are pruned (0: keep all)

    @property
    def bot_login(self) -> str | None:
        return f"{self.app_slug}[bot]" if self.app_slug else None


def parse_env_file(text: str) -> dict[str, str]:
    """Parse ``KEY=value`` lines (``#`` comments, ``export``, quotes, multi-line quoted PEM)."""
    values: dict[str, str] = {}
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i].strip()
        i += 1
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        key = key.strip().removeprefix("export ").strip()
        value = value.strip()
        if value[:1] in ("'", '"'):
            quote = value[0]
            value = value[1:]
            # A quoted value may span lines (a PEM pasted as is).
            while not value.endswith(quote) and i < len(lines):
                value += "\n" + lines[i].rstrip()
                i += 1
            value = value.removesuffix(quote)
            if quote == '"':
                value = value.replace("\\n", "\n")
        else:
            value = value.split(" #", 1)[0].strip()
        values[key] = value
    return values


def _load_rsa_pem(pem: str) -> str | None:
    """Return why ``pem`` is not a usable RSA private key, or None when it is."""
    try:
        key = serialization.load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError) as exc:
        return f"not an unencrypted private key in PEM format ({exc})"
    if not isinstance(key, rsa.RSAPrivateKey):
        return f"a {type(key).__name__.removeprefix('_')} key, GitHub Apps sign with RSA"
    return None


def _int(raw: str, name: str, problems: dict[str, str], low: int, high: int) -> int | None:
    try:
        value = int(raw)
    except ValueError:
        problems[name] = f"{raw!r} is not a whole number"
        return None
    if not low <= value <= high:
        problems[name] = f"{value} is out of range ({low}..{high})"
        return None
    return value


def load_settings(
    environ: Mapping[str, str] | None = None, env_file: str | os.PathLike[str] | None = None
) -> Settings:
    """Read settings from ``environ`` (default ``os.environ``) over an optional env file.

    The file is ``env_file`` if given, else ``$DLCM_ENV_FILE``, else ``./.env`` when it
    exists. Raises :class:`SettingsError` listing every problem.
    """
    env = dict(os.environ if environ is None else environ)
    problems: dict[str, str] = {}
    file_name = env_file or env.get(ENV_FILE_VARIABLE)
    path = Path(file_name) if file_name else Path(".env")
    if file_name or path.is_file():
        try:
            env = {**parse_env_file(path.read_text()), **env}
        except OSError as exc:
            problems[ENV_FILE_VARIABLE] = f"cannot read {path}: {exc.strerror or exc}"

    def get(name: str) -> str:
        return env.get(name, "").strip()

    values: dict[str, Any] = {}
    if raw := get("DLCM_APP_ID"):
        values["app_id"] = _int(raw, "DLCM_APP_ID", problems, 1, 2**63 - 1)
    else:
        problems["DLCM_APP_ID"] = "required (the numeric id of the GitHub App)"

    pem = env.get("DLCM_PRIVATE_KEY", "").strip().replace("\\n", "\n")
    key_path = get("DLCM_PRIVATE_KEY_PATH")
    key_var = "DLCM_PRIVATE_KEY"
    if not pem and key_path:
        key_var = "DLCM_PRIVATE_KEY_PATH"
        try:
            pem = Path(key_path).expanduser().read_text()
        except OSError as exc:
            problems[key_var] = f"cannot read {key_path}: {exc.strerror or exc}"
    if pem:
        if why := _load_rsa_pem(pem):
            problems[key_var] = why
        values["private_key"] = pem
    elif key_var not in problems:
        problems["DLCM_PRIVATE_KEY"] = (
            "required: the App's private key (PEM text), or DLCM_PRIVATE_KEY_PATH to its file"
        )

    if secret := env.get("DLCM_WEBHOOK_SECRET", ""):
        values["webhook_secret"] = secret
    else:
        problems["DLCM_WEBHOOK_SECRET"] = "required (the secret set on the App's webhook)"

    db = get("DLCM_DB") or DEFAULT_DB
    if db != ":memory:" and not Path(db).expanduser().resolve().parent.is_dir():
        problems["DLCM_DB"] = f"the directory of {db} does not exist"
    values["db_path"] = Path(db).expanduser()

    api = (get("DLCM_GITHUB_API_URL") or DEFAULT_API_URL).rstrip("/")
    parts = urlsplit(api)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        problems["DLCM_GITHUB_API_URL"] = f"{api!r} is not an http(s) URL"
    values["github_api_url"] = api

    for var, field, default, low, high in (
        ("PORT", "port", DEFAULT_PORT, 0, 65535),
        ("DLCM_WORKERS", "workers", DEFAULT_WORKERS, 1, 256),
        ("DLCM_MAX_ATTEMPTS", "max_attempts", DEFAULT_MAX_ATTEMPTS, 1, 100),
        ("DLCM_RETENTION_DAYS", "retention_days", 30, 0, 36500),
    ):
        raw = get(var)
        values[field] = _int(raw, var, problems, low, high) if raw else default
    if host := get("DLCM_HOST"):
        values["host"] = host
    if slug := get("DLCM_APP_SLUG"):
        values["app_slug"] = slug

    if problems:
        raise SettingsError(problems)
    return Settings(**values)
