"""`dlcm cr validate` and `dlcm init` (the click commands of dlcm/cr_cli.py)."""

from __future__ import annotations

import json
import os
import shutil

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from checks.changes.init_files import issue_form_text
from checks.config import Config, parse_config
from checks.owners import parse_components_yaml
from dlcm import cr_cli
from dlcm.cr_cli import cr, init
from tests.test_cr_form import bodies
from tests.test_cr_helpers import EXAMPLE, FIXTURES, example_model

FILES = ("add_field.md", "bad_types.md", "remove_field_not_breaking.md", "empty.md", "hand_edited.md")


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("DLCM_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture
def fast_model(monkeypatch):
    """The CLI with the example's model already built (validation only)."""
    model = example_model()
    monkeypatch.setattr(cr_cli, "_load_model", lambda path, ref: (model, Config()))
    return model


def invoke(cmd, args, input=None):
    return CliRunner().invoke(cmd, args, input=input, catch_exceptions=False)


def test_validate_json_on_the_example_repository():
    res = invoke(cr, ["validate", "--body", os.path.join(FIXTURES, "add_field.md"), EXAMPLE, "--format", "json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output)
    assert doc["valid"] is True and doc["problems"] == []
    assert doc["change"]["change_type"] == "add-field"
    assert [c["name"] for c in doc["change"]["columns"]] == ["loyalty_points", "birthday"]
    assert doc["normalized"]["tables"] == ["public.users"]
    assert (doc["breaking"], doc["risk"]) == (False, "low")


def test_validate_invalid_body_exits_1_with_problems(fast_model):
    res = invoke(cr, ["validate", "--body", os.path.join(FIXTURES, "bad_types.md"), EXAMPLE, "--format", "json"])
    assert res.exit_code == 1
    doc = json.loads(res.output)
    assert doc["valid"] is False
    assert {p["field"] for p in doc["problems"]} == {"columns"}
    assert all(set(p) == {"field", "message", "severity"} for p in doc["problems"])


def test_validate_text_format_and_stdin(fast_model):
    text = open(os.path.join(FIXTURES, "remove_field_not_breaking.md"), encoding="utf-8").read()
    res = invoke(cr, ["validate", "--body", "-", EXAMPLE], input=text)
    assert res.exit_code == 0
    assert "✓ valid  remove-field: Drop the phone number" in res.output
    assert "warning [breaking] the form says not breaking" in res.output
    assert "breaking: yes — `users.phone` is removed" in res.output and "risk: high" in res.output
    bad = invoke(cr, ["validate", "--body", os.path.join(FIXTURES, "empty.md"), EXAMPLE])
    assert bad.exit_code == 1 and "✗ invalid" in bad.output and "error [summary] `Summary` is missing" in bad.output


@pytest.mark.parametrize("args", [
    ["validate", EXAMPLE],  # --body missing
    ["validate", "--body", "/nonexistent/body.md", EXAMPLE],
    ["validate", "--body", os.path.join(FIXTURES, "add_field.md"), "/nonexistent/repo"],
    ["validate", "--body", os.path.join(FIXTURES, "add_field.md"), EXAMPLE, "--format", "xml"],
])
def test_usage_errors_exit_2(args):
    res = CliRunner().invoke(cr, args)
    assert res.exit_code == 2, res.output


def test_broken_config_is_a_usage_error(tmp_path):
    (tmp_path / ".github").mkdir()
    (tmp_path / ".github" / "dlcm.yml").write_text("business_rules:\n  nope: 1\n")
    res = CliRunner().invoke(cr, ["validate", "--body", os.path.join(FIXTURES, "add_field.md"), str(tmp_path)])
    assert res.exit_code == 2 and "configuration error" in res.output and "business_rules.nope" in res.output


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(body=bodies() | st.text(max_size=200))
def test_fuzz_cli_validate_always_answers_with_a_problem_list(fast_model, tmp_path, body):
    path = tmp_path / "body.md"
    path.write_bytes(body.encode("utf-8", errors="surrogatepass"))
    res = CliRunner().invoke(cr, ["validate", "--body", str(path), EXAMPLE, "--format", "json"])
    assert res.exception is None or isinstance(res.exception, SystemExit), res.exception
    assert res.exit_code in (0, 1)
    doc = json.loads(res.output)
    assert isinstance(doc["problems"], list) and doc["valid"] == (res.exit_code == 0)
    assert doc["valid"] or any(p["severity"] == "error" for p in doc["problems"])


# --------------------------------------------------------------------------- dlcm init


@pytest.fixture
def repo(tmp_path):
    dst = tmp_path / "shop"
    shutil.copytree(EXAMPLE, dst, ignore=shutil.ignore_patterns("node_modules", ".turbo", "dist"))
    return dst


def test_init_writes_missing_files_and_keeps_existing_ones(repo):
    board_before = (repo / ".github" / "components.yml").read_text()
    res = invoke(init, [str(repo)])
    assert res.exit_code == 0
    assert "wrote    .github/ISSUE_TEMPLATE/data-layer-change.yml" in res.output
    assert "wrote    .github/dlcm.yml" in res.output and "wrote    .github/workflows/dlcm.yml" in res.output
    assert "skipped  .github/components.yml (exists; --force overwrites it)" in res.output
    assert (repo / ".github" / "components.yml").read_text() == board_before
    assert (repo / ".github" / "ISSUE_TEMPLATE" / "data-layer-change.yml").read_text() == issue_form_text()
    assert parse_config((repo / ".github" / "dlcm.yml").read_text()) == Config()
    wf = yaml.safe_load((repo / ".github" / "workflows" / "dlcm.yml").read_text())
    steps = wf["jobs"]["dlcm"]["steps"]
    assert steps[0]["uses"] == "actions/checkout@v4" and steps[0]["with"]["fetch-depth"] == 0
    assert steps[-1]["uses"] == "your-org/dlcm/action@v1" and steps[-1]["with"]["test-command"] == "pnpm test"

    (repo / ".github" / "dlcm.yml").write_text("# mine\n")
    again = invoke(init, [str(repo)])
    assert again.exit_code == 0 and again.output.count("skipped") == 4 and "wrote" not in again.output
    assert (repo / ".github" / "dlcm.yml").read_text() == "# mine\n"


def test_init_force_overwrites_and_derives_the_board(repo):
    (repo / ".github" / "components.yml").unlink()
    res = invoke(init, [str(repo), "--action", "acme/dlcm/action@v2"])
    assert "wrote    .github/components.yml" in res.output
    board = parse_components_yaml((repo / ".github" / "components.yml").read_text(), "x", [])
    by = {c.name: c for c in board}
    assert set(by) == {"database", "database-service", "database-client", "telegram-bot", "web"}
    assert by["database"].paths == ["supabase/**"] and by["database"].owners == ["@shop/data-team"]
    assert by["database-service"].owners == ["@shop/backend", "@alice"]  # from CODEOWNERS
    assert by["database-service"].depends_on == ["database"]
    assert by["telegram-bot"].depends_on == ["database-client"]
    assert "acme/dlcm/action@v2" in (repo / ".github" / "workflows" / "dlcm.yml").read_text()
    (repo / ".github" / "dlcm.yml").write_text("# mine\n")
    forced = invoke(init, [str(repo), "--force"])
    assert forced.output.count("wrote") == 4 and "skipped" not in forced.output
    assert parse_config((repo / ".github" / "dlcm.yml").read_text()) == Config()


def test_init_on_a_minimal_repository(tmp_path):
    (tmp_path / "package.json").write_text('{"name": "mini", "private": true}')
    (tmp_path / "pnpm-workspace.yaml").write_text("packages: ['apps/*']\n")
    (tmp_path / "apps" / "api").mkdir(parents=True)
    (tmp_path / "apps" / "api" / "package.json").write_text('{"name": "@mini/api"}')
    res = invoke(init, [str(tmp_path)])
    assert res.exit_code == 0 and res.output.count("wrote") == 4
    board = parse_components_yaml((tmp_path / ".github" / "components.yml").read_text(), "x", [])
    assert [(c.name, c.paths, c.owners) for c in board] == [("api", ["apps/api/**"], [])]
    wf = (tmp_path / ".github" / "workflows" / "dlcm.yml").read_text()
    assert "version: 9" in wf  # no packageManager pin in package.json
