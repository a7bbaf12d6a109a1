"""The ack path of the store: dedicated connection, group commit, durability under kill -9,
the ``ready`` marker that makes ``claim_next`` O(log n), and ``DLCM_DB_SYNCHRONOUS``."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import aiohttp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.queue import JobQueue
from bot.store import CORE_MIGRATIONS, Delivery, Store, synchronous_mode

ROOT = Path(__file__).resolve().parents[1]

# The claim rule as it was written before ``ready`` existed: a pending job whose ordering key
# has no running job and no pending job before it. ``ready`` must always say exactly this.
FIRST_IN_LINE = """
    SELECT d.id FROM deliveries d
    WHERE d.status = 'pending'
      AND (d.ordering_key IS NULL OR NOT EXISTS (
          SELECT 1 FROM deliveries e
          WHERE e.ordering_key = d.ordering_key
            AND e.status IN ('pending', 'running')
            AND (e.id < d.id OR e.status = 'running')))
"""


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "q.sqlite3")
    yield s
    s.close()


def row(n: int, key: str | None = "o/r#1", **extra):
    return dict(
        delivery_id=f"d{n}",
        event="issues",
        action="opened",
        payload=json.dumps({"n": n}),
        ordering_key=key,
        **extra,
    )


def assert_ready_is_first_in_line(store: Store) -> None:
    conn = store.db.conn
    expected = {r[0] for r in conn.execute(FIRST_IN_LINE)}
    ready = {r[0] for r in conn.execute("SELECT id FROM deliveries WHERE ready = 1")}
    assert ready == expected


# -- group commit -------------------------------------------------------------------------


async def noop(job: Delivery) -> str:
    return "handled"


async def test_50_concurrent_deliveries_share_commits_and_are_all_stored(store):
    queue = JobQueue(store, noop, workers=2)
    results = await asyncio.gather(*(queue.enqueue(**row(n, key=f"k{n % 5}")) for n in range(50)))
    assert results == [True] * 50
    group = store._group
    assert group is not None and group.rows == 50
    assert group.batches < 50  # grouped: here one commit for all, as they came in one tick
    # committed on the ack connection, so visible to any other connection at once
    with sqlite3.connect(store.path) as other:
        assert other.execute("SELECT count(*) FROM deliveries").fetchone()[0] == 50
    assert_ready_is_first_in_line(store)
    await queue.start()
    await queue.wait_idle(10)
    await queue.stop()
    assert store.counts_by_status()["done"] == 50


async def test_duplicates_in_one_batch_and_one_bad_row_fail_only_themselves(store):
    bad = row(3)
    bad["payload"] = {"not": "text"}  # cannot be bound: this row cannot be stored
    results = await asyncio.gather(
        store.ainsert_delivery(**row(1)),
        store.ainsert_delivery(**row(1)),  # the same delivery id twice in one batch
        store.ainsert_delivery(**bad),
        store.ainsert_delivery(**row(4)),
        return_exceptions=True,
    )
    assert results[:2] == [True, False] and results[3] is True
    assert isinstance(results[2], sqlite3.Error)
    assert {d.delivery_id for d in store.list_deliveries()} == {"d1", "d4"}


async def test_a_caller_is_answered_only_after_the_commit(store, monkeypatch):
    committed = threading.Event()
    real = store.insert_deliveries

    def slow_commit(rows):
        time.sleep(0.1)
        out = real(rows)
        committed.set()
        return out

    monkeypatch.setattr(store, "insert_deliveries", slow_commit)
    task = asyncio.create_task(store.ainsert_delivery(**row(1)))
    await asyncio.sleep(0.05)
    assert not task.done()  # not answered while the commit is in flight
    assert await task is True and committed.is_set()


async def test_failed_commit_is_not_acknowledged(store, monkeypatch):
    def broken(rows):
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(store, "insert_deliveries", broken)
    results = await asyncio.gather(
        *(store.ainsert_delivery(**row(n)) for n in range(3)), return_exceptions=True
    )
    assert all(isinstance(r, sqlite3.OperationalError) for r in results)


# -- the ack path does not wait for the workers' connection --------------------------------


async def test_ack_path_does_not_wait_for_the_main_connection_lock(store):
    store._lock.acquire()  # a worker busy on the main connection (e.g. a long read)
    try:
        assert await asyncio.wait_for(store.ainsert_delivery(**row(1)), 5) is True
    finally:
        store._lock.release()


async def test_ack_path_waits_for_a_write_transaction_then_gets_in_promptly(store):
    released = {}

    def hold_write_lock():
        with store.transaction():
            store.kv_set("ns", "k", 1)
            time.sleep(0.15)
            released["at"] = time.monotonic()

    holder = asyncio.create_task(asyncio.to_thread(hold_write_lock))
    await asyncio.sleep(0.03)
    assert await asyncio.wait_for(store.ainsert_delivery(**row(1)), 10) is True
    stored_at = time.monotonic()
    await holder
    assert stored_at >= released["at"]  # WAL: one writer at a time
    assert stored_at - released["at"] < 0.1  # no 10-25 ms busy-handler sleeps piling up


# -- kill -9 --------------------------------------------------------------------------------

SERVER = """
import asyncio, sys
from pathlib import Path
from gidgethub.routing import Router
from bot.server import start
from tests.test_bot_support import make_settings

router = Router()

@router.register("issues")
async def slow(event, gh, ctx):
    await asyncio.sleep(3600)  # jobs stay pending/running: only the ack path matters here

async def main():
    server = await start(make_settings(Path(sys.argv[1]), workers=2), [router],
                         host="127.0.0.1", port=0)
    print("PORT", server.port, flush=True)
    await asyncio.sleep(3600)

asyncio.run(main())
"""


async def test_kill_9_mid_burst_keeps_every_acknowledged_delivery(tmp_path):
    """100 concurrent signed deliveries; SIGKILL as soon as 50 got their 202: every
    acknowledged delivery is in the database, and so is every delivery of an earlier
    burst of 50 that was fully acknowledged."""
    from tests.test_bot_support import delivery_headers, example

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", SERVER, str(tmp_path)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, text=True)
    acked: list[str] = []
    try:
        port = int(proc.stdout.readline().split()[1])
        url = f"http://127.0.0.1:{port}/webhooks"
        event, body = example("issues.opened")
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=20)) as session:

            async def post(delivery: str, kill_at: int | None) -> None:
                async with session.post(url, data=body, headers=delivery_headers(event, body, delivery)) as r:
                    await r.read()
                    if r.status == 202:
                        acked.append(delivery)
                        if kill_at is not None and len(acked) == kill_at:
                            os.kill(proc.pid, signal.SIGKILL)

            await asyncio.gather(*(post(f"first-{n}", None) for n in range(50)))
            assert len(acked) == 50
            await asyncio.gather(*(post(f"second-{n}", 100) for n in range(100)),
                                 return_exceptions=True)
    finally:
        proc.kill()
        proc.wait(10)
    assert len(acked) >= 100
    with sqlite3.connect(tmp_path / "dlcm.sqlite3") as conn:
        stored = {r[0] for r in conn.execute("SELECT delivery_id FROM deliveries")}
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    missing = set(acked) - stored
    assert not missing, f"{len(missing)} acknowledged deliveries lost: {sorted(missing)[:5]}"
    # the restarted store still finds the work
    again = Store(tmp_path / "dlcm.sqlite3")
    try:
        again.recover_running(max_attempts=3)
        assert_ready_is_first_in_line(again)
        assert again.counts_by_status()["pending"] == len(stored)
    finally:
        again.close()


# -- ready: claim_next in O(log n) -------------------------------------------------------------


def test_claim_with_a_deep_backlog_on_one_key_uses_the_ready_index(store):
    for n in range(300):
        store.insert_delivery(**row(n, key="A"), now=1)
    assert store.claim_next(now=2).delivery_id == "d0"  # A is running: the rest waits
    store.insert_delivery(**row(1000, key="B"), now=1)
    assert store.claim_next(now=2).delivery_id == "d1000"
    assert store.claim_next(now=2) is None and store.next_ready_at() is None
    assert store.next_due_at() == 1  # unchanged meaning: ignoring the ordering
    plan = " ".join(
        r[3] for r in store.db.conn.execute(
            "EXPLAIN QUERY PLAN SELECT id FROM deliveries WHERE ready = 1 AND next_attempt_at <= 2"
            " ORDER BY next_attempt_at, id LIMIT 1"
        )
    )
    assert "idx_deliveries_ready" in plan and "SCAN" not in plan
    store.mark_done(store.get_delivery("d0").id, "handled", now=3)
    assert store.claim_next(now=3).delivery_id == "d1"


OPS = st.lists(
    st.tuples(
        st.sampled_from(["insert", "claim", "done", "retry", "dead", "requeue", "recover"]),
        st.sampled_from(["A", "B", None]),
        st.integers(0, 30),
    ),
    max_size=60,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=OPS)
def test_ready_always_marks_exactly_the_jobs_first_in_line(tmp_path_factory, ops):
    s = Store(tmp_path_factory.mktemp("ready") / "q.sqlite3")
    try:
        n = 0
        for op, key, pick in ops:
            running = [d.id for d in s.list_deliveries("running", 1000)]
            if op == "insert":
                n += 1
                s.insert_delivery(**row(n, key), now=1)
            elif op == "claim":
                first = s.db.conn.execute(
                    FIRST_IN_LINE + " AND d.next_attempt_at <= 5 ORDER BY d.next_attempt_at, d.id LIMIT 1"
                ).fetchone()
                job = s.claim_next(now=5)
                assert (job.id if job else None) == (first[0] if first else None)
            elif op in ("done", "retry", "dead") and running:
                job_id = running[pick % len(running)]
                if op == "done":
                    s.mark_done(job_id, "handled", now=5)
                else:
                    s.mark_failed(job_id, "boom", retry_at=4 if op == "retry" else None, now=5)
            elif op == "requeue":
                dead = s.list_deliveries("dead", 1000)
                if dead:
                    s.requeue_dead(dead[pick % len(dead)].delivery_id, now=1)
            elif op == "recover":
                s.recover_running(max_attempts=3, now=1)
            assert_ready_is_first_in_line(s)
        # and what is claimed is what the old query would have claimed
        while True:
            first = s.db.conn.execute(FIRST_IN_LINE + " ORDER BY d.next_attempt_at, d.id LIMIT 1").fetchone()
            job = s.claim_next(now=10)
            assert (job.id if job else None) == (first[0] if first else None)
            if job is None:
                break
            s.mark_done(job.id, "handled", now=10)
            assert_ready_is_first_in_line(s)
    finally:
        s.close()


def test_migration_fills_ready_for_an_existing_queue(tmp_path):
    path = tmp_path / "old.sqlite3"
    old = Store(path)
    old.close()
    with sqlite3.connect(path) as conn:  # back to the schema before the ready column
        conn.execute("DROP INDEX idx_deliveries_ready")
        conn.execute("DROP INDEX idx_deliveries_ready_key")
        conn.execute("ALTER TABLE deliveries DROP COLUMN ready")
        conn.execute("DELETE FROM schema_migrations WHERE namespace = 'core' AND version = 3")
        for n, (key, status) in enumerate(
            [("A", "running"), ("A", "pending"), ("B", "pending"), ("B", "pending"), (None, "pending"),
             ("C", "dead"), ("C", "pending")]
        ):
            conn.execute(
                "INSERT INTO deliveries (delivery_id, event, ordering_key, received_at, payload, status,"
                " attempts, next_attempt_at) VALUES (?, 'issues', ?, 1, '{}', ?, 1, 1)",
                [f"d{n}", key, status],
            )
    new = Store(path)
    try:
        assert new.schema_version() == len(CORE_MIGRATIONS)
        assert_ready_is_first_in_line(new)
        ready = [r[0] for r in new.db.conn.execute(
            "SELECT delivery_id FROM deliveries WHERE ready = 1 ORDER BY id")]
        assert ready == ["d2", "d4", "d6"]
    finally:
        new.close()


async def test_idle_workers_do_not_spin_on_a_blocked_backlog(store):
    """Jobs waiting behind a running job of their key: workers sleep, they do not poll."""
    release = asyncio.Event()

    async def handler(job: Delivery) -> str:
        await release.wait()
        return "handled"

    calls = {"claim": 0}
    real_claim = store.claim

    def counting_claim(*args):
        calls["claim"] += 1
        return real_claim(*args)

    store.claim = counting_claim
    queue = JobQueue(store, handler, workers=4, poll_interval=1.0)
    for n in range(100):
        await queue.enqueue(**row(n, key="A"))
    await queue.start()
    await asyncio.sleep(0.5)
    assert 1 <= calls["claim"] <= 12, calls  # was hundreds: every worker every 5 ms
    release.set()
    await queue.wait_idle(20)
    await queue.stop()
    assert store.counts_by_status()["done"] == 100


# -- DLCM_DB_SYNCHRONOUS ----------------------------------------------------------------------


def test_synchronous_is_full_by_default_and_configurable(tmp_path, monkeypatch):
    monkeypatch.delenv("DLCM_DB_SYNCHRONOUS", raising=False)
    s = Store(tmp_path / "a.sqlite3")
    try:
        assert s.synchronous == "FULL"
        assert s.db.conn.execute("PRAGMA synchronous").fetchone()[0] == 2
        assert s._ack_conn.execute("PRAGMA synchronous").fetchone()[0] == 2
    finally:
        s.close()
    monkeypatch.setenv("DLCM_DB_SYNCHRONOUS", "normal")
    s = Store(tmp_path / "b.sqlite3")
    try:
        assert s.synchronous == "NORMAL"
        assert s.db.conn.execute("PRAGMA synchronous").fetchone()[0] == 1
        assert s._ack_conn.execute("PRAGMA synchronous").fetchone()[0] == 1
    finally:
        s.close()
    assert synchronous_mode("extra") == "EXTRA"
    with pytest.raises(ValueError, match="DLCM_DB_SYNCHRONOUS"):
        synchronous_mode("OFF")


async def test_memory_store_uses_one_connection(tmp_path):
    s = Store(":memory:")
    try:
        assert await s.ainsert_delivery(**row(1)) is True
        with s.transaction():  # inside a transaction of the (only) connection
            assert s.insert_delivery(**row(2)) is True
        assert s.claim_next().delivery_id == "d1"
    finally:
        s.close()
