"""The deployment files say what the code does: Dockerfile, app.yml, dlcm serve.

No docker engine here: the Dockerfile is parsed for the instructions that matter.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

from bot.routing import discover_features
from bot.server import WEBHOOK_PATH
from bot.settings import DEFAULT_PORT

ROOT = Path(__file__).resolve().parent.parent


def instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of a Dockerfile, continuation lines joined."""
    out, current = [], ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not current and (not line or line.startswith("#")):
            continue
        current += line.rstrip("\\").strip() + " "
        if not line.endswith("\\"):
            word, _, rest = current.strip().partition(" ")
            out.append((word.upper(), rest.strip()))
            current = ""
    return out


def test_dockerfile_runs_dlcm_serve_as_a_non_root_user_with_a_healthcheck():
    steps = instructions(ROOT / "Dockerfile")
    kinds = [k for k, _ in steps]
    assert steps[0] == ("FROM", "python:3.11-slim")
    install = next(i for i, (k, a) in enumerate(steps) if k == "RUN" and "pip install ." in a)
    user = kinds.index("USER")
    assert user > install, "install as root, run as the App user"
    assert steps[user][1] not in ("root", "0")
    assert any(k == "RUN" and f"useradd" in a and steps[user][1] in a for k, a in steps)
    health = dict(steps)["HEALTHCHECK"]
    assert "/healthz" in health and "CMD" in health
    assert json.loads(dict(steps)["CMD"]) == ["dlcm", "serve"]
    assert dict(steps)["EXPOSE"] == str(DEFAULT_PORT)
    env = " ".join(a for k, a in steps if k == "ENV")
    assert "DLCM_DB=/data/" in env and "DLCM_HOST=0.0.0.0" in env
    for k, a in steps:
        if k == "COPY":
            *sources, _ = a.split()
            for src in sources:
                assert (ROOT / src).exists(), f"COPY {src}: not in the repository"
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert ".git" in ignored and ".venv" in ignored and "README.md" not in ignored  # pyproject's readme


def test_app_manifest_asks_for_what_the_features_use():
    manifest = yaml.safe_load((ROOT / "app.yml").read_text())
    assert manifest["name"] == "dlcm" and manifest["description"]
    assert manifest["hook_attributes"]["url"].endswith(WEBHOOK_PATH)
    perms = manifest["default_permissions"]
    for name, level in {"checks": "write", "pull_requests": "write", "issues": "write", "contents": "read",
                        "metadata": "read", "members": "read"}.items():
        assert perms[name] == level, name
    events = set(manifest["default_events"])
    handled = set()
    for module in discover_features():
        handled |= set(module.router._shallow_routes) | set(module.router._deep_routes)
    # installation events are sent to every App whatever it subscribes to
    missing = handled - events - {"installation", "installation_repositories"}
    assert not missing, f"handled but not subscribed in app.yml: {sorted(missing)}"


def test_dlcm_serve_reports_bad_settings_and_exits_2(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("DLCM_")}
    env.update({"DLCM_APP_ID": "abc", "DLCM_ENV_FILE": os.devnull})
    proc = subprocess.run([sys.executable, "-m", "dlcm", "serve"], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 2
    assert "DLCM_APP_ID: 'abc' is not a whole number" in proc.stderr
    assert "DLCM_WEBHOOK_SECRET: required" in proc.stderr
    assert "Traceback" not in proc.stderr
