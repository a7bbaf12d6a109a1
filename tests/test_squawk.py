"""Squawk integration: the runner (real `squawk` from squawk-cli) and the `squawk` rule module."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from checks.build import build_model
from checks.config import Config, parse_config
from checks.engine import run_checks
from checks.source import DirSource, GitSource, MemorySource
from checks.squawk import PINNED_VERSION, SquawkError, find_squawk, run_squawk, squawk_version
from tests.variants import git

SQUAWK = find_squawk()
pytestmark = pytest.mark.skipif(SQUAWK is None, reason="squawk-cli is not installed")

MIG = "supabase/migrations"

ADD_REQUIRED = """-- a comment

alter table public.t
  add column x bigint not null;
"""


def write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return root


def check(source, config: Config | None = None, base=None):
    model = build_model(source, config)
    cfg = config or Config()
    return run_checks(model, cfg, base=base, source=source, categories=["safety"])


def rules_lines(res) -> list[tuple[str, int]]:
    return sorted((f.rule, f.line) for f in res.findings)


def test_pinned_version_is_installed():
    assert squawk_version(SQUAWK) == PINNED_VERSION


def test_runner_lines_are_one_based(tmp_path: Path):
    write(tmp_path, {"a.sql": ADD_REQUIRED})
    got = {v.rule: v for v in run_squawk(["a.sql"], cwd=str(tmp_path), exe=SQUAWK)}
    v = got["adding-required-field"]
    assert (v.file, v.line, v.column) == ("a.sql", 4, 3)  # `add column` on line 4, column 3
    assert got["require-lock-timeout"].line == 3 and got["require-lock-timeout"].end_line == 4
    assert v.level == "warning" and v.help


def test_runner_paths_with_glob_characters(tmp_path: Path):
    write(tmp_path, {"we[ird]/a*.sql": ADD_REQUIRED})
    got = run_squawk(["we[ird]/a*.sql"], cwd=str(tmp_path), exe=SQUAWK)
    assert got and {v.file for v in got} == {"we[ird]/a*.sql"}


def test_runner_errors_raise(tmp_path: Path):
    with pytest.raises(SquawkError, match="squawk failed"):
        run_squawk(["missing.sql"], cwd=str(tmp_path), exe=SQUAWK)
    write(tmp_path, {"a.sql": ADD_REQUIRED, ".squawk.toml": "excluded_rules = [\n"})
    with pytest.raises(SquawkError) as e:
        run_squawk(["a.sql"], cwd=str(tmp_path), exe=SQUAWK, config_file=".squawk.toml")
    assert e.value.config_file == ".squawk.toml"


def test_rule_maps_findings_and_drops_timeout_rules(tmp_path: Path):
    write(tmp_path, {f"{MIG}/20240101000000_x.sql": ADD_REQUIRED})
    res = check(DirSource(str(tmp_path)))
    assert rules_lines(res) == [("adding-required-field", 4)]
    (f,) = res.findings
    assert f.severity == "warning" and f.title == "Squawk: adding-required-field"
    assert f.help_uri == "https://squawkhq.com/docs/adding-required-field"
    assert "Make the field nullable" in f.message and "squawk-ignore adding-required-field" in f.message


def test_timeout_rules_and_exclude_from_config(tmp_path: Path):
    write(tmp_path, {f"{MIG}/20240101000000_x.sql": ADD_REQUIRED})
    cfg = parse_config("squawk:\n  timeout_rules: true\n  exclude: [adding-required-field]\n")
    res = check(DirSource(str(tmp_path)), cfg)
    assert rules_lines(res) == [("require-lock-timeout", 3), ("require-statement-timeout", 3)]
    off = check(DirSource(str(tmp_path)), parse_config("squawk:\n  enabled: false\n"))
    assert off.findings == []


def test_pg_version_from_config(tmp_path: Path):
    write(tmp_path, {f"{MIG}/20240101000000_x.sql": "alter table public.t add column c boolean default true;\n"})
    assert check(DirSource(str(tmp_path))).findings == []
    res = check(DirSource(str(tmp_path)), parse_config("squawk:\n  pg_version: '10'\n"))
    assert rules_lines(res) == [("adding-field-with-default", 1)]


def test_assume_in_transaction(tmp_path: Path):
    # without --assume-in-transaction Squawk would ask for `if not exists` (prefer-robust-stmts)
    write(tmp_path, {f"{MIG}/20240101000000_x.sql": "alter table public.t add column c text;\n"})
    assert check(DirSource(str(tmp_path))).findings == []


def test_repo_squawk_toml_is_honoured(tmp_path: Path):
    write(tmp_path, {f"{MIG}/20240101000000_x.sql": ADD_REQUIRED,
                     ".squawk.toml": 'excluded_rules = ["adding-required-field"]\n'})
    assert check(DirSource(str(tmp_path))).findings == []


def test_squawk_toml_beside_the_migrations_is_honoured(tmp_path: Path):
    write(tmp_path, {f"apps/db/{MIG}/20240101000000_x.sql": ADD_REQUIRED,
                     "apps/db/supabase/.squawk.toml": 'excluded_rules = ["adding-required-field"]\n'})
    assert check(DirSource(str(tmp_path))).findings == []


def test_broken_squawk_toml_is_a_warning_on_it(tmp_path: Path):
    write(tmp_path, {f"{MIG}/20240101000000_x.sql": ADD_REQUIRED, ".squawk.toml": "excluded_rules = [\n"})
    (f,) = check(DirSource(str(tmp_path))).findings
    assert (f.rule, f.severity, f.file) == ("squawk", "warning", ".squawk.toml")
    assert "Configuration error" in f.message


def test_squawk_ignore_comments_are_honoured(tmp_path: Path):
    write(tmp_path, {f"{MIG}/20240101000000_x.sql": "-- squawk-ignore-file adding-required-field\n" + ADD_REQUIRED})
    assert check(DirSource(str(tmp_path))).findings == []


def test_dlcm_ignore_silences_a_squawk_rule(tmp_path: Path):
    write(tmp_path, {f"{MIG}/20240101000000_x.sql":
                     "alter table public.t\n  -- dlcm-ignore adding-required-field: table is empty in every env\n"
                     "  add column x bigint not null;\n"})
    res = check(DirSource(str(tmp_path)))
    assert res.findings == [] and [f.rule for f in res.suppressed] == ["adding-required-field"]


def test_memory_source_is_written_to_a_temp_dir(tmp_path: Path):
    files = {f"{MIG}/20240101000000_x.sql": ADD_REQUIRED.encode(),
             ".squawk.toml": b'excluded_rules = ["prefer-bigint-over-int"]\n'}
    res = check(MemorySource(files))
    assert rules_lines(res) == [("adding-required-field", 4)]
    assert res.findings[0].file == f"{MIG}/20240101000000_x.sql"


def test_only_new_migrations_with_a_git_base(tmp_path: Path):
    repo = write(tmp_path / "r", {f"{MIG}/20240101000000_x.sql": ADD_REQUIRED})
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "base")
    git(repo, "checkout", "-q", "-b", "change")
    write(repo, {f"{MIG}/20240102000000_y.sql": "create index t_x_idx on public.t (x);\n"})
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "change")
    head_src = GitSource(str(repo), "HEAD")  # a git source: files are materialised
    base = build_model(GitSource(str(repo), "main"))
    res = check(head_src, base=base)
    assert [(f.file, f.rule, f.line) for f in res.findings] == [
        (f"{MIG}/20240102000000_y.sql", "require-concurrent-index-creation", 1)]


def test_unparsable_migration_is_left_to_dlcm105(tmp_path: Path):
    write(tmp_path, {f"{MIG}/20240101000000_x.sql": "select from from;\n"})
    assert check(DirSource(str(tmp_path))).findings == []


def test_squawk_missing_is_one_warning(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("DLCM_SQUAWK", str(tmp_path / "no-squawk-here"))
    write(tmp_path, {f"{MIG}/20240101000000_x.sql": ADD_REQUIRED, f"{MIG}/20240102000000_y.sql": ADD_REQUIRED})
    (f,) = check(DirSource(str(tmp_path))).findings
    assert (f.rule, f.severity, f.file) == ("squawk", "warning", f"{MIG}/20240101000000_x.sql")
    assert f"pip install squawk-cli=={PINNED_VERSION}" in f.message and "2 migration(s)" in f.message


def test_rule_is_in_the_safety_category():
    from checks.rules import get_rule

    r = get_rule("squawk")
    assert r is not None and r.category == "safety" and r.scope == "change"


def test_found_beside_the_interpreter():
    assert SQUAWK is not None and (os.environ.get("DLCM_SQUAWK") or os.path.isfile(SQUAWK))
