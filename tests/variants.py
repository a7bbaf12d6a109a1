"""Broken (and clean decoy) variants of the example repository, as real git changes.

A variant is a directory `tests/fixtures/variants/<name>/` holding:
  - files to add or replace, at their path in the repository;
  - optionally `_delete.txt`: one repository path per line to delete;
  - optionally `_expected.json`: `[{"rule": "DLCM201", "file": "...", "line": 12}, ...]` (the exact
    set of findings `dlcm check --base main` must report; `[]` for a decoy).
`make_repo(tmp_path)` gives a git repository of the example on `main`; `apply_variant` commits
the variant on a branch `change` and leaves it checked out.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "shop-monorepo"
VARIANTS = ROOT / "tests" / "fixtures" / "variants"

GIT_ENV = {
    "GIT_AUTHOR_NAME": "dlcm-test", "GIT_AUTHOR_EMAIL": "test@dlcm.invalid",
    "GIT_COMMITTER_NAME": "dlcm-test", "GIT_COMMITTER_EMAIL": "test@dlcm.invalid",
    "GIT_CONFIG_NOSYSTEM": "1", "HOME": "/nonexistent",
}


def git(cwd: Path, *args: str) -> str:
    env = {**os.environ, **GIT_ENV}
    res = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True)
    if res.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)}: {res.stderr}")
    return res.stdout


def make_repo(tmp_path: Path, source: Path = EXAMPLE) -> Path:
    repo = tmp_path / "repo"
    shutil.copytree(source, repo, ignore=shutil.ignore_patterns("node_modules", ".turbo", "dist"))
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "base")
    return repo


def write_files(repo: Path, files: dict[str, str | None]) -> None:
    for rel, content in files.items():
        p = repo / rel
        if content is None:
            if p.exists():
                p.unlink()
            continue
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(content, encoding="utf-8")


def variant_files(name: str) -> dict[str, str | None]:
    d = VARIANTS / name
    files: dict[str, str | None] = {}
    for p in sorted(d.rglob("*")):
        if p.is_dir() or p.name in ("_expected.json", "_delete.txt", "_README.md"):
            continue
        files[p.relative_to(d).as_posix()] = p.read_text(encoding="utf-8")
    dele = d / "_delete.txt"
    if dele.exists():
        for line in dele.read_text().splitlines():
            if line.strip() and not line.startswith("#"):
                files[line.strip()] = None
    return files


def expected(name: str) -> list[dict]:
    p = VARIANTS / name / "_expected.json"
    return json.loads(p.read_text()) if p.exists() else []


def apply_variant(repo: Path, name_or_files: str | dict[str, str | None], message: str = "change") -> None:
    files = variant_files(name_or_files) if isinstance(name_or_files, str) else name_or_files
    git(repo, "checkout", "-q", "-B", "change")
    write_files(repo, files)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", message, "--allow-empty")


def run_check(repo: Path, base: str | None = "main", rules: list[str] | None = None, report_all: bool = False):
    """The findings `dlcm check` reports, through the same code path as the CLI (no cache)."""
    from checks.engine import run_checks
    from dlcm.cli import build_check

    head, base_model, config, src = build_check(str(repo), base, no_cache=True)
    return run_checks(head, config, base=base_model, source=src, only=rules, report_all=report_all)


def triples(result) -> set[tuple[str, str, int]]:
    return {(f.rule, f.file, f.line) for f in result.findings}
