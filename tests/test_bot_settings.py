"""Settings: every bad variable is named with the reason, no traceback needed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from bot.settings import SettingsError, load_settings, parse_env_file

from .test_bot_support import private_key_pem

ROOT = Path(__file__).resolve().parents[1]


def base_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        "DLCM_APP_ID": "12",
        "DLCM_PRIVATE_KEY": private_key_pem(),
        "DLCM_WEBHOOK_SECRET": "s3cret",
        "DLCM_DB": str(tmp_path / "x.sqlite3"),
        **extra,
    }


@pytest.fixture(autouse=True)
def no_dotenv_here(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a stray ./.env must not leak into these tests


def test_valid_environment(tmp_path):
    s = load_settings(base_env(tmp_path, PORT="8080", DLCM_WORKERS="2", DLCM_APP_SLUG="dlcm"))
    assert (s.app_id, s.port, s.workers, s.bot_login) == (12, 8080, 2, "dlcm[bot]")
    assert s.github_api_url == "https://api.github.com"
    assert "s3cret" not in repr(s)  # secrets stay out of logs


def test_defaults(tmp_path):
    s = load_settings(base_env(tmp_path, DLCM_DB=""))
    assert (str(s.db_path), s.port, s.workers) == ("dlcm.sqlite3", 3000, 4)


def test_every_problem_is_named(tmp_path):
    with pytest.raises(SettingsError) as info:
        load_settings({"PORT": "http", "DLCM_GITHUB_API_URL": "ftp://x", "DLCM_DB": "/nope/x.db"})
    problems = info.value.problems
    assert set(problems) == {
        "DLCM_APP_ID",
        "DLCM_PRIVATE_KEY",
        "DLCM_WEBHOOK_SECRET",
        "PORT",
        "DLCM_GITHUB_API_URL",
        "DLCM_DB",
    }
    message = str(info.value)
    assert "DLCM_APP_ID: required" in message and "PORT: 'http' is not a whole number" in message


def test_private_key_must_be_rsa_pem(tmp_path):
    ec_pem = (
        ec.generate_private_key(ec.SECP256R1())
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )
    with pytest.raises(SettingsError) as info:
        load_settings(base_env(tmp_path, DLCM_PRIVATE_KEY=ec_pem))
    assert "RSA" in info.value.problems["DLCM_PRIVATE_KEY"]
    with pytest.raises(SettingsError) as info:
        load_settings(base_env(tmp_path, DLCM_PRIVATE_KEY="-----BEGIN nonsense"))
    assert "PEM" in info.value.problems["DLCM_PRIVATE_KEY"]


def test_private_key_from_path_and_escaped_newlines(tmp_path):
    key_file = tmp_path / "app.pem"
    key_file.write_text(private_key_pem())
    env = base_env(tmp_path, DLCM_PRIVATE_KEY="", DLCM_PRIVATE_KEY_PATH=str(key_file))
    assert load_settings(env).private_key.get_secret_value() == private_key_pem()
    escaped = private_key_pem().replace("\n", "\\n")
    assert (
        load_settings(base_env(tmp_path, DLCM_PRIVATE_KEY=escaped))
        .private_key.get_secret_value()
        .strip()
        == private_key_pem().strip()
    )
    with pytest.raises(SettingsError) as info:
        load_settings(
            base_env(tmp_path, DLCM_PRIVATE_KEY="", DLCM_PRIVATE_KEY_PATH=str(tmp_path / "no.pem"))
        )
    assert "cannot read" in info.value.problems["DLCM_PRIVATE_KEY_PATH"]


def test_env_file_with_multiline_pem_and_environment_wins(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text(
        "# dlcm\nexport DLCM_APP_ID=7\nDLCM_WEBHOOK_SECRET='from file'\n"
        f'DLCM_PRIVATE_KEY="{private_key_pem()}"\nPORT=4000  # comment\n'
    )
    s = load_settings({"PORT": "5000"}, env_file=env_file)
    assert (s.app_id, s.webhook_secret.get_secret_value(), s.port) == (7, "from file", 5000)
    assert parse_env_file('A="x\\ny"\nB=plain\n') == {"A": "x\ny", "B": "plain"}


def test_server_entry_point_prints_settings_errors_without_traceback(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "bot.server"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
        timeout=30,
    )
    assert result.returncode == 2
    assert "DLCM_APP_ID: required" in result.stderr and "Traceback" not in result.stderr
