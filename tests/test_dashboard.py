"""Both dashboards: the issue body (pure rendering), and the HTML page + JSON API served by the App,
with real data (requests run through the App against the fake GitHub) read by headless Chromium.

Chromium is the Debian package ``chromium``; when it is missing and the tests run as root it is
installed with apt-get, otherwise the browser test is skipped and says why.
"""

from __future__ import annotations

import asyncio
import html
import os
import re
import shutil
import subprocess
from pathlib import Path

import aiohttp
import pytest

from bot.cr_store import CRRecord
from bot.features.dashboard import MARKER, age, render_dashboard
from checks.changes.workflow import CRState, PRState, StepState

from .test_app_cr_support import AUTHOR, REPO, cr_world, form_body, nickname_pr_files  # noqa: F401

NOW = 2_000_000_000.0


def record(issue: int, number: int | None, state: str, *, hours: float = 1, **fields) -> CRRecord:
    st = CRState(issue=issue, number=number, repo=REPO, state=state, title=f"[DLCM-{number}] Change {issue}",
                 summary=f"Change {issue}", risk="low", **fields)
    return CRRecord(repo=REPO, issue=issue, state=st, html_url=f"https://github.com/{REPO}/issues/{issue}",
                    created_at=NOW - hours * 3600, updated_at=NOW - hours * 1800)


def test_age_is_short():
    assert [age(NOW - s, NOW) for s in (5, 59 * 60, 3 * 3600, 3 * 86400, 40 * 86400)] == ["1m", "59m", "3h", "3d",
                                                                                          "5w"]


def test_the_issue_groups_active_requests_by_state_with_short_linked_lines():
    recs = [
        record(3, 2, "in-progress", teams=["@shop/data-team"], assignees=["alice"], breaking=True,
               prs=[PRState(number=9, check="failed")],
               checklist=[StepState(key="migration", title="m", done=True), StepState(key="tests", title="t")]),
        record(1, 1, "approved", hours=50, owners=["@shop/backend"]),
        record(5, None, "needs-info", hours=0.1, author="carol"),
        record(7, 3, "done", hours=300),
        record(8, 4, "cancelled", hours=30),
    ]
    body = render_dashboard(REPO, recs, now=NOW)
    assert body.startswith(MARKER + "\n")
    heads = re.findall(r"^## (.+)$", body, re.M)
    assert heads == ["❓ Needs info (1)", "👍 Approved: waiting for a pull request (1)", "🚧 In progress (1)"]
    assert ("- [DLCM-2](https://github.com/shop/monorepo/issues/3) Change 3 · low · ⚠️ breaking 0/1 · 1/2 steps"
            " · [#9](https://github.com/shop/monorepo/pull/9) ❌ · @shop/data-team @alice · 1h") in body
    assert "- [#5](https://github.com/shop/monorepo/issues/5) Change 5 · low · 0 problems · @carol · 6m" in body
    assert "- [DLCM-1](https://github.com/shop/monorepo/issues/1) Change 1 · low · @shop/backend · 2d" in body
    assert "<details><summary>Done or cancelled (2)</summary>" in body
    assert body.index("DLCM-4") < body.index("DLCM-3")  # most recently finished first
    lines = [line for line in body.splitlines() if line.startswith("- ")]
    assert all(len(re.sub(r"\]\([^)]*\)", "]", line)) < 140 for line in lines)  # short without the URLs
    assert "GraphQL" in body


def test_an_empty_dashboard_says_how_to_start():
    body = render_dashboard(REPO, [record(1, 1, "done")], now=NOW)
    assert "No active change request" in body and "Done or cancelled (1)" in body


# -- the App's pages ----------------------------------------------------------------------


def chromium() -> str:
    """The Chromium binary, installed with apt-get when missing (as root), else skip."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if path := shutil.which(name):
            return path
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        pytest.skip("headless Chromium is not installed and cannot be installed here (needs root + apt-get): "
                    "`apt-get install chromium`")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], env=env, check=False, capture_output=True, timeout=600)
    done = subprocess.run(["apt-get", "install", "-y", "-qq", "chromium"], env=env, capture_output=True,
                          timeout=1200)
    path = shutil.which("chromium")
    if not path:
        pytest.skip(f"apt-get install chromium failed: {done.stderr.decode(errors='replace')[-500:]}")
    return path


async def browse(url: str, tmp: Path, *, screenshot: Path | None = None) -> str:
    """The DOM of ``url`` after Chromium loaded it (run without blocking the App's event loop)."""
    args = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
            f"--user-data-dir={tmp / 'chromium-profile'}", "--window-size=1200,900"]
    if screenshot is not None:
        proc = await asyncio.create_subprocess_exec(*args, f"--screenshot={screenshot}", url,
                                                    stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        _, err = await asyncio.wait_for(proc.communicate(), 90)
        assert proc.returncode == 0, err.decode(errors="replace")[-2000:]
    proc = await asyncio.create_subprocess_exec(*args, "--dump-dom", url, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 90)
    assert proc.returncode == 0, err.decode(errors="replace")[-2000:]
    return out.decode()


def table_rows(dom: str, table_id: str) -> list[list[str]]:
    """The cells' text of each body row of ``<table id=...>`` (a tiny, dependency-free reader)."""
    m = re.search(rf'<table id="{table_id}">(.*?)</table>', dom, re.S)
    assert m, f"no table {table_id}"
    body = m.group(1).split("<tbody>", 1)[-1]
    rows = []
    for tr in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S):
        cells = re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", tr, re.S)
        rows.append([" ".join(html.unescape(re.sub(r"<[^>]+>", "", c)).split()) for c in cells])
    return rows


async def run_requests(w) -> tuple[int, int, int]:
    """DLCM-1 implemented by a pull request (validated), DLCM-2 waiting, #3 that needs info."""
    first = await w.open_request()
    pr = await w.fake.open_pull_request(REPO, "nickname", title="Add nickname", body="DLCM-1", user=AUTHOR,
                                        files=nickname_pr_files())
    await w.settle()
    await w.open_request(form_body(summary="Gift note on orders", tables="public.orders",
                                   columns="gift_note text null"), title="[DLCM] Gift note")
    bad = await w.open_request(form_body(summary="Phone again", columns="phone text"), title="[DLCM] Phone")
    return first.number, pr.number, bad.number


async def test_html_dashboard_and_json_api_in_headless_chromium(cr_world, tmp_path):
    w = cr_world
    first, pr_number, bad = await run_requests(w)
    base = w.server.url

    async with aiohttp.ClientSession() as s:
        async with s.get(f"{base}/api/{REPO}/changes") as r:
            assert r.status == 200
            data = await r.json()
        assert data["repository"] == REPO and data["active"] == 3
        assert [(c["id"], c["state"], c["risk"]) for c in data["changes"]] == [
            (f"#{bad}", "needs-info", None), ("DLCM-2", "approved", "low"), ("DLCM-1", "validated", "low")]
        one = data["changes"][2]
        assert one["prs"][0]["number"] == pr_number and one["prs"][0]["check"] == "passed"
        assert one["owners"] == ["@shop/data-team", "@shop/backend", "@alice"] and one["steps_done"] == 6
        async with s.get(f"{base}/api/{REPO}/changes/DLCM-1") as r:
            detail = await r.json()
        assert detail["audit_verified"] and detail["change"]["state"] == "validated"
        assert [e["action"] for e in detail["audit"]][:3] == ["opened", "validation_passed", "pr_linked"]
        assert detail["impact"].startswith("<!-- dlcm:impact -->")
        async with s.get(f"{base}/api/{REPO}/changes/DLCM-99") as r:
            assert r.status == 404
        async with s.get(f"{base}/dashboard/nobody/nothing") as r:
            assert r.status == 404

    shot = tmp_path / "dashboard.png"
    dom = await browse(f"{base}/dashboard/{REPO}", tmp_path, screenshot=shot)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000
    rows = table_rows(dom, "changes")
    assert [r[:3] + r[4:6] for r in rows] == [
        [f"#{bad}", "Phone again", "needs-info", "—", "—"],
        ["DLCM-2", "Gift note on orders", "approved", "low", "—"],
        ["DLCM-1", "Nickname on users", "validated", "low", f"#{pr_number} passed"],
    ]
    assert rows[2][3] == "@shop/data-team @shop/backend @alice" and re.fullmatch(r"\d+[mhdw]", rows[2][6])

    page = await browse(f"{base}/dashboard/{REPO}/DLCM-1", tmp_path, screenshot=tmp_path / "change.png")
    assert "✔ Hash chain verified" in page
    audit = table_rows(page, "audit")
    assert [(r[0], r[3], r[4]) for r in audit[:4]] == [
        ("0", "opened", "proposed"), ("1", "validation_passed", "proposed → approved"),
        ("2", "pr_linked", "approved → in-progress"), ("3", "check_passed", "in-progress")]
    assert audit[0][2] == "@carol" and "supabase/migrations/20240401120000_add_nickname.sql" in audit[3][6]
    assert '<div class="impact" id="impact">' in page and "add column public.users.nickname text" in page
    assert "<script" not in page  # readable without JavaScript
    w.assert_healthy()


async def test_a_dashboard_token_protects_the_pages(cr_world, monkeypatch):
    w = cr_world
    await w.open_request()
    monkeypatch.setenv("DLCM_DASHBOARD_TOKEN", "s3cret")
    base = w.server.url
    async with aiohttp.ClientSession() as s:
        async with s.get(f"{base}/api/{REPO}/changes") as r:
            assert r.status == 401
        async with s.get(f"{base}/dashboard/{REPO}") as r:
            assert r.status == 401
        async with s.get(f"{base}/api/{REPO}/changes", headers={"Authorization": "Bearer s3cret"}) as r:
            assert r.status == 200 and (await r.json())["changes"][0]["id"] == "DLCM-1"
        async with s.get(f"{base}/dashboard/{REPO}?token=s3cret") as r:
            text = await r.text()
            assert r.status == 200 and f"/dashboard/{REPO}/DLCM-1?token=s3cret" in text
    w.assert_healthy()


async def test_the_status_comment_and_dashboard_issue_link_the_html_pages(cr_world, monkeypatch):
    monkeypatch.setenv("DLCM_PUBLIC_URL", "https://dlcm.example/")
    w = cr_world
    issue = await w.open_request()
    [status] = w.comments(issue.number, "status")
    assert f"[audit trail](https://dlcm.example/dashboard/{REPO}/DLCM-1)" in status.body
    [board] = [i for i in w.fake.issues(REPO) if MARKER in (i.body or "")]
    assert f"[HTML dashboard](https://dlcm.example/dashboard/{REPO})" in board.body
    assert f"[JSON](https://dlcm.example/api/{REPO}/changes)" in board.body
    w.assert_healthy()
