"""`dlcm ci …`: the GitHub Action's steps, runnable locally with GitHub's environment variables."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import click


def _event() -> dict:
    path = os.environ.get("GITHUB_EVENT_PATH")
    if not path or not os.path.exists(path):
        return {}
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def resolve_base(explicit: str | None) -> str | None:
    """The ref to compare with: the input, else the PR's base sha, else a push's `before`."""
    if explicit:
        return explicit
    ev = _event()
    pr = ev.get("pull_request") or {}
    sha = (pr.get("base") or {}).get("sha")
    if sha:
        return sha
    before = ev.get("before")
    if before and set(before) != {"0"}:
        return before
    ref = os.environ.get("GITHUB_BASE_REF")
    return f"origin/{ref}" if ref else None


def ensure_commit(path: str, ref: str) -> None:
    """Shallow checkouts lack the base commit: fetch it once."""
    ok = subprocess.run(["git", "-C", path, "cat-file", "-e", f"{ref}^{{commit}}"], capture_output=True).returncode == 0
    if not ok:
        subprocess.run(["git", "-C", path, "fetch", "--no-tags", "--depth=1", "origin", ref], capture_output=True)


@click.group("ci")
def ci() -> None:
    """Steps of the GitHub Action (action/action.yml)."""


@ci.command("run-tests")
@click.option("--command", "command", envvar="DLCM_TEST_COMMAND", default="pnpm test", show_default=True)
@click.option("--output", required=True, type=click.Path(dir_okay=False))
def run_tests(command: str, output: str) -> None:
    """Run the repository's test command and record its result (never fails the step itself)."""
    start = time.monotonic()
    proc = subprocess.run(command, shell=True, capture_output=True, text=True)
    sys.stdout.write(proc.stdout)
    sys.stderr.write(proc.stderr)
    tail = (proc.stdout + proc.stderr).strip().splitlines()[-20:]
    with open(output, "w", encoding="utf-8") as f:
        json.dump({"command": command, "exit_code": proc.returncode, "duration": round(time.monotonic() - start, 2),
                   "output_tail": tail}, f)
    click.echo(f"dlcm: `{command}` exited with {proc.returncode}", err=True)


@ci.command("check")
@click.option("--path", envvar="DLCM_PATH", default=".")
@click.option("--base", envvar="DLCM_BASE", default="")
@click.option("--report-all", envvar="DLCM_REPORT_ALL", default="false")
@click.option("--tests-result", type=click.Path(dir_okay=False), default=None)
def ci_check(path: str, base: str, report_all: str, tests_result: str | None) -> None:
    """Check against the PR base; annotations to stdout, summary to $GITHUB_STEP_SUMMARY; exit 1 on errors."""
    from checks import report
    from checks.engine import run_checks

    from .cli import build_check

    base_ref = resolve_base(base or None)
    if base_ref:
        ensure_commit(path, base_ref)
    options = {}
    if tests_result and os.path.exists(tests_result):
        with open(tests_result, encoding="utf-8") as f:
            options["tests_result"] = json.load(f)
    head, base_model, config, src = build_check(path, base_ref)
    result = run_checks(head, config, base=base_model, source=src, report_all=report_all.lower() == "true",
                        options=options)
    ann = report.render_github_annotations(result)
    if ann:
        click.echo(ann)
    server = os.environ.get("GITHUB_SERVER_URL", "https://github.com")
    repo, sha = os.environ.get("GITHUB_REPOSITORY"), os.environ.get("GITHUB_SHA")

    def link(f):
        if repo and sha:
            return f"[`{f.file}:{f.line}`]({server}/{repo}/blob/{sha}/{f.file}#L{f.line})"
        return f"`{f.file}:{f.line}`"

    md = report.render_markdown(result, link=link)
    summary_file = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary_file:
        with open(summary_file, "a", encoding="utf-8") as f:
            f.write(md + "\n")
    else:
        click.echo(md)
    out_file = os.environ.get("GITHUB_OUTPUT")
    if out_file:
        with open(out_file, "a", encoding="utf-8") as f:
            f.write(f"errors={result.summary.errors}\nwarnings={result.summary.warnings}\n")
    click.echo(f"dlcm: {report.counts_line(result)}" + ("" if result.summary.passed else " — failing the job"), err=True)
    sys.exit(0 if result.summary.passed else 1)
