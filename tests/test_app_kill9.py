"""``kill -9`` in the middle of a burst: nothing lost, nothing done twice.

A real ``dlcm serve`` subprocess (settings from the environment, pointing at the fake
GitHub) receives 30 signed pull request deliveries across 3 pull requests (opened, then
9 synchronizes each, alternating broken and fixed heads). It is killed with SIGKILL while
jobs are running, then started again on the same SQLite file: every delivery ends done,
every (head, check) has exactly one check run with no repeated annotation, and each pull
request has one sticky comment.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import aiohttp

from .test_app_support import BROKEN, EXAMPLE, REPO, WRITER, fakegithub, fix_files
from .test_bot_support import APP_ID, SECRET, private_key_pem, public_key_pem

ROOT = Path(__file__).resolve().parent.parent
PULLS = 3
EVENTS_PER_PULL = 10


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(env: dict[str, str], log: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "dlcm", "serve"], cwd=ROOT, env=env,
                            stdout=log.open("ab"), stderr=subprocess.STDOUT)


async def wait_healthy(url: str, proc: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            assert proc.poll() is None, "dlcm serve exited"
            try:
                async with session.get(f"{url}/healthz") as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.05)
    raise TimeoutError("dlcm serve did not become healthy")


def statuses(db: Path) -> Counter:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10) as conn:
        return Counter(dict(conn.execute("SELECT status, count(*) FROM deliveries GROUP BY status").fetchall()))


def handled(db: Path, ids: list[str]) -> dict[str, str]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10) as conn:
        marks = ",".join("?" * len(ids))
        rows = conn.execute(f"SELECT delivery_id, status FROM deliveries WHERE delivery_id IN ({marks})", ids)
        return dict(rows.fetchall())


async def test_kill_9_midway_then_restart_loses_and_duplicates_nothing(tmp_path):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    db = tmp_path / "dlcm.sqlite3"
    log = tmp_path / "serve.log"
    async with fakegithub.FakeGitHub() as fake:
        env = {
            **os.environ,
            "DLCM_APP_ID": str(APP_ID), "DLCM_PRIVATE_KEY": private_key_pem(), "DLCM_WEBHOOK_SECRET": SECRET,
            "DLCM_DB": str(db), "DLCM_GITHUB_API_URL": fake.url, "DLCM_HOST": "127.0.0.1", "PORT": str(port),
            "DLCM_APP_SLUG": "dlcm", "DLCM_WORKERS": "4", "DLCM_RETENTION_DAYS": "0", "DLCM_ENV_FILE": os.devnull,
        }
        fake.register_app(APP_ID, public_key_pem(), "dlcm", webhook_url=f"{url}/webhooks", webhook_secret=SECRET)
        fake.create_repo(REPO, EXAMPLE)
        fake.set_permission(REPO, WRITER, "write")
        proc = serve(env, log)
        try:
            await wait_healthy(url, proc)
            # commits first (no webhooks), then the burst: one signed delivery per event, all at once
            pulls, heads = [], {}
            for n in range(PULLS):
                pr = await fake.open_pull_request(REPO, f"change-{n}", title=f"Change {n}", user=WRITER,
                                                  files=BROKEN, webhook=False)
                pulls.append(pr)
                heads[pr.number] = [pr.head_sha]
                for i in range(1, EVENTS_PER_PULL):
                    files = fix_files() if i % 2 else {**BROKEN, **{k: None for k in fix_files()}}
                    files[f"docs/change-{n}.md"] = f"revision {i}\n"
                    heads[pr.number].append(await fake.push(REPO, f"change-{n}", files, webhook=False))
            repo = fake.repo(REPO)
            futures = []
            for i in range(EVENTS_PER_PULL):
                for pr in pulls:
                    pr.head_sha = heads[pr.number][i]  # the payload shows the pull request as it was then
                    if i == 0:
                        futures += fake.emit("pull_request", "opened", repo, WRITER, pull=pr)
                    else:
                        futures += fake.emit("pull_request", "synchronize", repo, WRITER, pull=pr,
                                             before=heads[pr.number][i - 1], after=pr.head_sha)
            sent = await asyncio.gather(*futures)
            assert all(d.status == 202 for d in sent), [(d.status, d.error) for d in sent]
            ids = [d.guid for d in sent]
            assert len(ids) == PULLS * EVENTS_PER_PULL

            t0 = time.monotonic()
            # kill -9 while jobs are running
            deadline = time.monotonic() + 60
            while True:
                counts = Counter(handled(db, ids).values())
                if counts["done"] >= 8 and counts["pending"] + counts["running"] > 0:
                    break
                assert time.monotonic() < deadline, counts
                await asyncio.sleep(0.01)
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
            at_kill = handled(db, ids)
            print(f"\nkilled with {Counter(at_kill.values())} after {time.monotonic() - t0:.1f}s")
            assert list(at_kill.values()).count("done") < len(ids), "killed too late to mean anything"

            proc = serve(env, log)
            await wait_healthy(url, proc)
            deadline = time.monotonic() + 90
            while Counter(handled(db, ids).values())["done"] < len(ids):
                assert time.monotonic() < deadline, Counter(handled(db, ids).values())
                await asyncio.sleep(0.05)
            print(f"all done {time.monotonic() - t0:.1f}s after the burst")
            await fake.wait_idle(30)
            await asyncio.sleep(0.3)  # our own check_run/comment webhooks, ignored or no-op
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                proc.wait(15)

        assert set(handled(db, ids).values()) == {"done"}
        assert statuses(db)["dead"] == 0, log.read_text()[-3000:]
        for name in ("dlcm/completeness", "dlcm/migration-safety"):
            runs = fake.check_runs(REPO, name=name)
            per_head = Counter(r.head_sha for r in runs)
            assert max(per_head.values()) == 1, f"duplicated {name}: {per_head}"
            assert all(r.status == "completed" for r in runs)
            for r in runs:
                keys = [(a.path, a.start_line, a.message) for a in r.annotations]
                assert len(keys) == len(set(keys)), f"annotations repeated on run {r.id}"
        for pr in pulls:
            sticky = [c for c in fake.comments(REPO, pr.number) if "<!-- dlcm:completeness -->" in c.body]
            assert len(sticky) == 1, [c.body[:80] for c in sticky]
            heads = {r.head_sha for r in fake.check_runs(REPO, name="dlcm/completeness")}
            assert fake.pull_request(REPO, pr.number).head_sha in heads
        fake.assert_no_violations()
