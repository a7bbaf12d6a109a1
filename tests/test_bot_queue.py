"""The SQLite store and the durable job queue: ordering, retries, dead letters, crashes."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from bot.metrics import Metrics
from bot.queue import JobQueue, PermanentError, RetryLater, backoff_delay
from bot.store import CORE_MIGRATIONS, Delivery, Store

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "q.sqlite3")
    yield s
    s.close()


def enqueue_kwargs(n: int, key: str | None = "o/r#1", **extra):
    return dict(
        delivery_id=f"d{n}",
        event="issues",
        action="opened",
        payload=json.dumps({"n": n}),
        ordering_key=key,
        **extra,
    )


def test_schema_is_versioned_and_wal(store, tmp_path):
    assert store.schema_version() == len(CORE_MIGRATIONS)
    assert store.db.journal_mode == "wal"
    assert {"deliveries", "kv", "comments_index", "check_runs_index"} <= set(store.db.table_names())
    again = Store(tmp_path / "q.sqlite3")  # reopening applies nothing twice
    assert again.schema_version() == len(CORE_MIGRATIONS)
    applied = again.migrate("feature-x", [("t", lambda db: db["t"].create({"id": int}, pk="id"))])
    assert applied == ["t"] and again.migrate("feature-x", [("t", lambda db: 1 / 0)]) == []
    again.close()


def test_delivery_ids_are_unique_and_kv_roundtrips(store):
    assert store.insert_delivery(**enqueue_kwargs(1))
    assert not store.insert_delivery(**enqueue_kwargs(1))
    store.kv_set("ns", "k", {"a": [1]})
    assert store.kv_get("ns", "k") == {"a": [1]} and store.kv_get("ns", "missing", 3) == 3


def test_old_done_deliveries_are_pruned_dead_ones_kept(store):
    store.insert_delivery(**enqueue_kwargs(1), status="done", now=100)
    store.insert_delivery(**enqueue_kwargs(2), now=100)
    store.mark_failed(store.claim_next(now=100).id, "boom", retry_at=None, now=100)
    store.insert_delivery(**enqueue_kwargs(3), status="done", now=300)
    assert store.prune_done(before=200) == 1
    assert [d.delivery_id for d in store.list_deliveries()] == ["d3", "d2"]


def test_claim_respects_ordering_key(store):
    for n, key in [(1, "A"), (2, "A"), (3, "B"), (4, None), (5, None)]:
        store.insert_delivery(**enqueue_kwargs(n, key))
    claimed = [store.claim_next() for _ in range(5)]
    ids = [c.delivery_id for c in claimed if c]
    assert ids == ["d1", "d3", "d4", "d5"]  # d2 waits for d1 (same key A)
    store.mark_done(claimed[0].id, "handled")
    assert store.claim_next().delivery_id == "d2"


def test_backoff_grows_is_capped_and_jittered():
    assert backoff_delay(1, 2, 100, lambda: 0) == 1 and backoff_delay(1, 2, 100, lambda: 1) == 2
    assert backoff_delay(4, 2, 100, lambda: 1) == 16
    assert backoff_delay(20, 2, 100, lambda: 1) == 100


async def test_same_key_in_order_one_at_a_time_other_keys_in_parallel(store):
    log: list[tuple[str, str, int]] = []
    running: dict[str, int] = {}
    overlap = {"max": 0}

    async def handler(job: Delivery) -> str:
        key = job.ordering_key
        running[key] = running.get(key, 0) + 1
        overlap["max"] = max(overlap["max"], sum(1 for v in running.values() if v))
        assert running[key] == 1, f"two jobs of {key} at once"
        log.append(("start", key, job.payload["n"]))
        await asyncio.sleep(0.002 * (job.payload["n"] % 3))
        log.append(("end", key, job.payload["n"]))
        running[key] -= 1
        return "handled"

    queue = JobQueue(store, handler, workers=4, poll_interval=0.05)
    for n in range(30):
        await queue.enqueue(**enqueue_kwargs(n, key=f"o/r#{n % 3}"))
    await queue.start()
    await queue.wait_idle(10)
    await queue.stop()
    for k in range(3):
        starts = [n for ev, key, n in log if ev == "start" and key == f"o/r#{k}"]
        assert starts == sorted(starts) and len(starts) == 10
    assert overlap["max"] > 1  # different keys did run concurrently
    assert store.counts_by_status()["done"] == 30


async def test_failing_job_retried_then_dead_and_blocks_nothing_after(store):
    attempts: dict[str, int] = {}
    order: list[str] = []

    async def handler(job: Delivery) -> str:
        attempts[job.delivery_id] = attempts.get(job.delivery_id, 0) + 1
        order.append(job.delivery_id)
        if job.delivery_id == "d1":
            raise RuntimeError("GitHub said no")
        if job.delivery_id == "d2" and attempts["d2"] < 2:
            raise RuntimeError("flaky")
        return "handled"

    metrics = Metrics()
    queue = JobQueue(
        store,
        handler,
        workers=2,
        max_attempts=3,
        backoff_base=0.01,
        poll_interval=0.02,
        metrics=metrics,
    )
    for n in (1, 2, 3):
        await queue.enqueue(**enqueue_kwargs(n, key="o/r#9"))
    await queue.start()
    await queue.wait_idle(10, include_scheduled=True)
    await queue.stop()

    dead = store.get_delivery("d1")
    assert dead.status == "dead" and dead.attempts == 3 and "GitHub said no" in dead.last_error
    assert store.get_delivery("d2").status == "done" and store.get_delivery("d2").attempts == 2
    assert order == ["d1", "d1", "d1", "d2", "d2", "d3"]  # the key's order holds across retries
    assert metrics.job_results.value(event="issues", result="dead") == 1
    assert metrics.job_results.value(event="issues", result="retry") == 3
    # A dead job is not picked up again.
    assert store.claim_next() is None


async def test_permanent_error_is_dead_at_once_and_retry_later_keeps_attempts(store):
    calls: list[str] = []

    async def handler(job: Delivery) -> str:
        calls.append(job.delivery_id)
        if job.delivery_id == "d1":
            raise PermanentError("bad payload")
        if calls.count("d2") == 1:
            raise RetryLater(0.01, "rate limited")
        return "handled"

    queue = JobQueue(store, handler, workers=1, max_attempts=1, poll_interval=0.02)
    await queue.enqueue(**enqueue_kwargs(1, key="a"))
    await queue.enqueue(**enqueue_kwargs(2, key="b"))
    await queue.start()
    await queue.wait_idle(5, include_scheduled=True)
    await queue.stop()
    assert store.get_delivery("d1").status == "dead"
    d2 = store.get_delivery("d2")
    assert d2.status == "done" and d2.attempts == 1  # the deferral did not use its only attempt


async def test_job_left_running_by_a_crash_is_resumed_by_a_fresh_queue(tmp_path):
    path = tmp_path / "crash.sqlite3"
    first = Store(path)
    first.insert_delivery(**enqueue_kwargs(1))
    first.insert_delivery(**enqueue_kwargs(2))
    assert first.claim_next().delivery_id == "d1"  # running when the process "dies"
    first.db.conn.close()  # no cleanup, no status change

    seen: list[str] = []

    async def handler(job: Delivery) -> str:
        seen.append(job.delivery_id)
        return "handled"

    second = Store(path)
    queue = JobQueue(second, handler, workers=2, max_attempts=3, poll_interval=0.02)
    assert await queue.start() == (1, 0)
    await queue.wait_idle(5)
    await queue.stop()
    assert seen == ["d1", "d2"]
    assert second.get_delivery("d1").status == "done" and second.get_delivery("d1").attempts == 2


def test_job_that_kills_the_process_every_time_ends_dead(store):
    store.insert_delivery(**enqueue_kwargs(1))
    for _ in range(3):
        store.claim_next()  # "crash" while running, three times
        store.recover_running(max_attempts=3)
    job = store.get_delivery("d1")
    assert job.status == "dead" and "process stopped" in job.last_error


CRASHING_SERVER = """
import asyncio, sys, time
from gidgethub.routing import Router
from bot.server import start
from tests.test_bot_support import make_settings
from pathlib import Path

router = Router()
mode = sys.argv[2]

@router.register("issues")
async def slow(event, gh, ctx):
    if mode == "hang":
        print("HANDLING", flush=True)
        await asyncio.sleep(3600)

async def main():
    settings = make_settings(Path(sys.argv[1]), workers=1)
    server = await start(settings, [router], host="127.0.0.1", port=0)
    print("PORT", server.port, flush=True)
    if mode == "hang":
        await asyncio.sleep(3600)
    await server.services.queue.wait_idle(20)
    print("IDLE", flush=True)
    await server.stop()

asyncio.run(main())
"""


def test_kill_9_during_a_job_then_restart_finishes_it(tmp_path):
    """A real process is SIGKILLed mid-job; a new one on the same DB file completes the job."""
    import urllib.request

    from tests.test_bot_support import delivery_headers, example

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-c", CRASHING_SERVER, str(tmp_path), "hang"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        port = int(proc.stdout.readline().split()[1])
        event, body = example("issues.opened")
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/webhooks",
            data=body,
            headers=delivery_headers(event, body, "crash-1"),
        )
        assert urllib.request.urlopen(request, timeout=10).status == 202
        assert proc.stdout.readline().strip() == "HANDLING"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    row = (
        sqlite3.connect(tmp_path / "dlcm.sqlite3")
        .execute("SELECT status FROM deliveries WHERE delivery_id = 'crash-1'")
        .fetchone()
    )
    assert row == ("running",)

    done = subprocess.run(
        [sys.executable, "-c", CRASHING_SERVER, str(tmp_path), "finish"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "IDLE" in done.stdout, done.stderr
    row = (
        sqlite3.connect(tmp_path / "dlcm.sqlite3")
        .execute("SELECT status, outcome, attempts FROM deliveries WHERE delivery_id = 'crash-1'")
        .fetchone()
    )
    assert row == ("done", "handled", 2)
