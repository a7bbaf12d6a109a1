"""The GitHub Action's steps, run locally with the environment variables GitHub sets."""

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

from tests.variants import ROOT, apply_variant, git, make_repo

MIGRATION = "supabase/migrations/20240401120000_add_nickname_to_users.sql"


def _env(tmp_path: Path, repo: Path, base_sha: str) -> dict:
    from bot.fakegithub.spec import find_spec_dir

    event = json.loads((find_spec_dir() / "webhooks/examples/pull_request.opened.json").read_text())
    event["pull_request"]["base"]["sha"] = base_sha
    (tmp_path / "event.json").write_text(json.dumps(event))
    return {**os.environ, "GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": "pull_request",
            "GITHUB_EVENT_PATH": str(tmp_path / "event.json"), "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
            "GITHUB_OUTPUT": str(tmp_path / "output.txt"), "GITHUB_REPOSITORY": "acme/shop",
            "GITHUB_SHA": git(repo, "rev-parse", "HEAD").strip(), "GITHUB_SERVER_URL": "https://github.com",
            "RUNNER_TEMP": str(tmp_path), "DLCM_PATH": str(repo), "DLCM_CACHE_DIR": str(tmp_path / "cache")}


def dlcm(*args, env, cwd=None):
    return subprocess.run([sys.executable, "-m", "dlcm", *args], env=env, cwd=cwd, capture_output=True, text=True)


def test_action_reports_annotations_summary_and_fails_the_job(tmp_path):
    repo = make_repo(tmp_path)
    base_sha = git(repo, "rev-parse", "HEAD").strip()
    apply_variant(repo, {MIGRATION: "alter table public.users add column nickname text;\n"})
    env = _env(tmp_path, repo, base_sha)

    tests = dlcm("ci", "run-tests", "--command", "echo 'FAIL src/x.test.ts > adds' && exit 3",
                 "--output", str(tmp_path / "dlcm-tests.json"), env=env, cwd=repo)
    assert tests.returncode == 0  # the step records the result; the check step fails the job
    assert json.loads((tmp_path / "dlcm-tests.json").read_text())["exit_code"] == 3

    res = dlcm("ci", "check", "--tests-result", str(tmp_path / "dlcm-tests.json"), env=env)
    assert res.returncode == 1, res.stderr
    lines = res.stdout.splitlines()
    assert f"::error file={MIGRATION},line=1,title=DLCM107 New migration has no rollback::" in "\n".join(lines)
    assert any(line.startswith("::error file=package.json,line=1,title=DLCM504") and "exited with 3" in line for line in lines)
    summary = (tmp_path / "summary.md").read_text()
    assert summary.startswith("### ❌ dlcm:")
    assert "`DLCM107`" in summary and "`DLCM504`" in summary
    assert f"(https://github.com/acme/shop/blob/{env['GITHUB_SHA']}/{MIGRATION}#L1)" in summary
    out = (tmp_path / "output.txt").read_text()
    n_errors = sum(1 for line in lines if line.startswith("::error "))
    assert n_errors >= 2 and f"errors={n_errors}\n" in out


def test_action_passes_when_the_change_is_complete(tmp_path):
    repo = make_repo(tmp_path)
    base_sha = git(repo, "rev-parse", "HEAD").strip()
    apply_variant(repo, {"README.md": "docs only\n"})
    env = _env(tmp_path, repo, base_sha)
    res = dlcm("ci", "check", env=env)
    assert res.returncode == 0, res.stdout + res.stderr
    assert (tmp_path / "summary.md").read_text().startswith("### ✅ dlcm: complete")
    assert res.stdout.strip() == ""  # no annotations


def test_action_yml_calls_commands_that_exist():
    action = yaml.safe_load((ROOT / "action" / "action.yml").read_text())
    assert action["runs"]["using"] == "composite"
    runs = " ".join(s.get("run", "") for s in action["runs"]["steps"])
    assert "dlcm ci run-tests" in runs and "dlcm ci check" in runs
    assert set(action["inputs"]) >= {"path", "base", "test-command", "run-tests"}
    from dlcm.cli import main

    assert {"run-tests", "check"} <= set(main.commands["ci"].commands)
