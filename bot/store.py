"""The App's SQLite state store (sqlite-utils, WAL mode).

Two connections per :class:`Store` (one for ``:memory:``):

- the *main* connection, guarded by a lock, serves every read and every write but one;
  coroutines call :meth:`Store.arun`, which runs a method in a worker thread so the event
  loop never blocks on the disk;
- the *ack* connection, with its own lock and its own thread, only stores new deliveries
  (:meth:`Store.insert_deliveries`), so acknowledging a webhook never waits for the workers'
  reads, for the default thread pool, or for a checkpoint. :meth:`Store.ainsert_delivery`
  adds *group commit*: concurrent deliveries are inserted in one ``BEGIN IMMEDIATE``
  transaction, one commit (one fsync) for all, and each caller is answered only once that
  commit returned. Nothing is acknowledged before it is committed.

WAL allows one writer at a time, so every write transaction stays tiny. The ack connection
does not use SQLite's busy handler (which sleeps 1, 2, 5, 10… ms) but retries ``BEGIN
IMMEDIATE`` every fraction of a millisecond, so it takes the write lock as soon as a worker
releases it; nor does it checkpoint (:meth:`Store.checkpoint` runs on the main connection,
in the background, every 200 batches or 4 MB of payloads).

Durability: ``PRAGMA synchronous`` comes from ``DLCM_DB_SYNCHRONOUS`` (process environment)
or the ``synchronous`` argument, default ``FULL``, see :func:`synchronous_mode`.

The job queue finds the next job in O(log n) whatever the backlog: ``ready`` = 1 marks the
one pending job of each ordering key that is first in line while no job of that key is
running (every pending job without a key is ready), and a partial index over the ready rows
answers :meth:`Store.claim_next`. Every method that changes a job's status keeps ``ready``
right in the same transaction.

Tables (schema versioned in code, see :data:`CORE_MIGRATIONS`):

- ``deliveries``: every webhook delivery accepted by the server; it is also the job queue
  (``status`` pending → running → done, or dead after too many failed attempts).
- ``kv``: small generic key/value pairs (namespace, key) → JSON value.
- ``comments_index``: (repo, issue_number, marker) → comment id of our sticky comment.
- ``check_runs_index``: (repo, external_id) → check run id, with its name and head sha.

Feature modules that need their own tables call :meth:`Store.migrate` with their own
namespace and an ordered list of steps; a step never changes once released.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import sqlite_utils

T = TypeVar("T")

PENDING, RUNNING, DONE, DEAD = "pending", "running", "done", "dead"
STATUSES = (PENDING, RUNNING, DONE, DEAD)

Migration = tuple[str, Callable[[sqlite_utils.Database], None]]


def _create_deliveries(db: sqlite_utils.Database) -> None:
    db["deliveries"].create(
        {
            "id": int,
            "delivery_id": str,
            "event": str,
            "action": str,
            "installation_id": int,
            "ordering_key": str,
            "received_at": float,
            "payload": str,
            "status": str,
            "outcome": str,  # handled / no_handler / ignored:<why> / failed
            "attempts": int,
            "next_attempt_at": float,
            "started_at": float,
            "finished_at": float,
            "last_error": str,
        },
        pk="id",
        not_null={"delivery_id", "event", "received_at", "payload", "status", "attempts"},
        defaults={"status": PENDING, "attempts": 0},
    )
    db["deliveries"].create_index(["delivery_id"], unique=True)
    db["deliveries"].create_index(["status", "next_attempt_at"])
    db["deliveries"].create_index(["ordering_key", "status"])


def _create_indexes(db: sqlite_utils.Database) -> None:
    db["kv"].create(
        {"namespace": str, "key": str, "value": str, "updated_at": float},
        pk=("namespace", "key"),
    )
    db["comments_index"].create(
        {"repo": str, "issue_number": int, "marker": str, "comment_id": int, "updated_at": float},
        pk=("repo", "issue_number", "marker"),
    )
    db["check_runs_index"].create(
        {
            "repo": str,
            "external_id": str,
            "check_run_id": int,
            "name": str,
            "head_sha": str,
            "updated_at": float,
        },
        pk=("repo", "external_id"),
    )


# The pending job first in line for its ordering key, while none of that key is running.
_IS_READY = """status = 'pending' AND (ordering_key IS NULL OR NOT EXISTS (
    SELECT 1 FROM deliveries e
    WHERE e.ordering_key = deliveries.ordering_key
      AND e.status IN ('pending', 'running')
      AND (e.id < deliveries.id OR e.status = 'running')))"""


def _recompute_ready(db: sqlite_utils.Database | sqlite3.Connection) -> None:
    """Set ``ready`` of every job from scratch (migration, crash recovery): O(pending·log n)."""
    db.execute("UPDATE deliveries SET ready = 0 WHERE ready = 1")
    db.execute(f"UPDATE deliveries SET ready = 1 WHERE {_IS_READY}")


def _add_ready(db: sqlite_utils.Database) -> None:
    db.execute("ALTER TABLE deliveries ADD COLUMN ready INTEGER NOT NULL DEFAULT 0")
    # claim_next / next_ready_at: the due ready jobs in (next_attempt_at, id) order.
    db.execute(
        "CREATE INDEX idx_deliveries_ready ON deliveries (next_attempt_at, id) WHERE ready = 1"
    )
    # _refresh_key: the ready job of one key (at most one).
    db.execute(
        "CREATE INDEX idx_deliveries_ready_key ON deliveries (ordering_key) WHERE ready = 1"
    )
    _recompute_ready(db)


CORE_MIGRATIONS: list[Migration] = [
    ("deliveries table (the job queue)", _create_deliveries),
    ("kv, comments_index and check_runs_index", _create_indexes),
    ("deliveries.ready: the head of each ordering key, indexed for claim_next", _add_ready),
]

SYNCHRONOUS_ENV = "DLCM_DB_SYNCHRONOUS"
SYNCHRONOUS_MODES = ("FULL", "NORMAL", "EXTRA")
# Default FULL: in WAL mode every commit fsyncs the WAL, so an acknowledged delivery
# survives a power cut, not only a crash of the process. With group commit one fsync covers
# every delivery acknowledged together, and the ack path meets its latency target with it
# (bench/webhooks.py), so the stronger guarantee costs little. NORMAL (no fsync at commit,
# only at checkpoints) survives kill -9 and OS-level crashes of the process, but a power
# cut or kernel panic may lose the last transactions, acknowledged deliveries included:
# choose it only on storage where an fsync is slow and losing acknowledged webhooks to a
# power cut is acceptable (GitHub does not redeliver them by itself).
DEFAULT_SYNCHRONOUS = "FULL"


def synchronous_mode(value: str | None = None, environ: Mapping[str, str] | None = None) -> str:
    """The ``PRAGMA synchronous`` to use: ``value``, else ``$DLCM_DB_SYNCHRONOUS``, else FULL."""
    if value is None:
        value = (os.environ if environ is None else environ).get(SYNCHRONOUS_ENV) or None
    mode = (value or DEFAULT_SYNCHRONOUS).strip().upper()
    if mode not in SYNCHRONOUS_MODES:
        raise ValueError(
            f"{SYNCHRONOUS_ENV}={value!r}: expected one of {', '.join(SYNCHRONOUS_MODES)}"
        )
    return mode


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text


@dataclass
class Delivery:
    """One stored webhook delivery, i.e. one job of the queue."""

    id: int
    delivery_id: str
    event: str
    action: str | None
    installation_id: int | None
    ordering_key: str | None
    received_at: float
    status: str
    attempts: int
    next_attempt_at: float | None = None
    outcome: str | None = None
    last_error: str | None = None
    started_at: float | None = None
    finished_at: float | None = None
    raw_payload: str = field(default="{}", repr=False)

    @functools.cached_property
    def payload(self) -> dict[str, Any]:
        """The delivery body, parsed once."""
        return json.loads(self.raw_payload)

    @classmethod
    def from_row(cls, row: sqlite3.Row | dict[str, Any]) -> Delivery:
        d = dict(row)
        return cls(
            id=d["id"],
            delivery_id=d["delivery_id"],
            event=d["event"],
            action=d["action"],
            installation_id=d["installation_id"],
            ordering_key=d["ordering_key"],
            received_at=d["received_at"],
            status=d["status"],
            attempts=d["attempts"],
            next_attempt_at=d["next_attempt_at"],
            outcome=d["outcome"],
            last_error=d["last_error"],
            started_at=d["started_at"],
            finished_at=d["finished_at"],
            raw_payload=d["payload"],
        )


class Store:
    """SQLite state store; sync methods are thread-safe, use :meth:`arun` from coroutines."""

    #: ``BEGIN IMMEDIATE`` of the ack connection: retry this often while a worker writes …
    ACK_RETRY_SECONDS = 0.0002
    #: … for at most this long (the main connection's busy timeout).
    BUSY_TIMEOUT_SECONDS = 30.0

    def __init__(self, path: str | Path, *, synchronous: str | None = None) -> None:
        self.path = str(path)
        self.synchronous = synchronous_mode(synchronous)
        conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=30)
        conn.row_factory = sqlite3.Row
        self.db = sqlite_utils.Database(conn)
        self._lock = threading.RLock()
        with self._lock:
            if self.path != ":memory:":
                self.db.enable_wal()
            # See DEFAULT_SYNCHRONOUS: FULL unless DLCM_DB_SYNCHRONOUS says otherwise.
            conn.execute(f"PRAGMA synchronous={self.synchronous}")
            conn.execute("PRAGMA busy_timeout=30000")
            self._execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (namespace TEXT NOT NULL,"
                " version INTEGER NOT NULL, name TEXT NOT NULL, applied_at REAL NOT NULL,"
                " PRIMARY KEY (namespace, version))"
            )
        self.migrate("core", CORE_MIGRATIONS)
        # The ack path: its own connection (a second connection to ":memory:" would be
        # another database, so there it shares the main one and its lock).
        if self.path == ":memory:":
            self._ack_conn, self._ack_lock = conn, self._lock
        else:
            self._ack_conn = sqlite3.connect(
                self.path, check_same_thread=False, isolation_level=None, timeout=0
            )
            self._ack_lock = threading.RLock()
            self._ack_conn.execute(f"PRAGMA synchronous={self.synchronous}")
            self._ack_conn.execute("PRAGMA busy_timeout=0")  # we retry BEGIN IMMEDIATE ourselves
            # Checkpoints run off the ack path (GroupCommit._maybe_checkpoint, and the main
            # connection's automatic ones); this is only a backstop against a WAL that grows.
            self._ack_conn.execute("PRAGMA wal_autocheckpoint=10000")
        self._ack_executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="dlcm-ack"
        )
        self._group: GroupCommit | None = None

    # -- plumbing ---------------------------------------------------------------------

    def _execute(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> sqlite3.Cursor:
        return self.db.conn.execute(sql, params)

    def locked(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``fn(*args, **kwargs)`` holding the connection lock."""
        with self._lock:
            return fn(*args, **kwargs)

    async def arun(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a (sync) store method in a thread, holding the connection lock."""
        return await asyncio.to_thread(self.locked, fn, *args, **kwargs)

    def transaction(self) -> _Transaction:
        """``with store.transaction():`` – BEGIN IMMEDIATE … COMMIT (ROLLBACK on error)."""
        return _Transaction(self)

    def close(self) -> None:
        self._ack_executor.shutdown(wait=True)
        with self._ack_lock:
            if self._ack_conn is not self.db.conn:
                self._ack_conn.close()
        with self._lock:
            self.db.conn.close()

    def ping(self) -> bool:
        with self._lock:
            return self._execute("SELECT 1").fetchone()[0] == 1

    def checkpoint(self) -> tuple[int, int, int]:
        """``PRAGMA wal_checkpoint(PASSIVE)`` on the main connection: (busy, log, copied)."""
        with self._lock:
            busy, log, copied = self._execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            return busy, log, copied

    # -- migrations -------------------------------------------------------------------

    def schema_version(self, namespace: str = "core") -> int:
        with self._lock:
            row = self._execute(
                "SELECT max(version) FROM schema_migrations WHERE namespace = ?", [namespace]
            ).fetchone()
            return row[0] or 0

    def migrate(self, namespace: str, migrations: Sequence[Migration]) -> list[str]:
        """Apply the steps of ``migrations`` not applied yet (step n is version n)."""
        applied: list[str] = []
        with self._lock:
            for version, (name, step) in enumerate(migrations, start=1):
                if version <= self.schema_version(namespace):
                    continue
                with self.transaction():
                    step(self.db)
                    self._execute(
                        "INSERT INTO schema_migrations VALUES (?, ?, ?, ?)",
                        [namespace, version, name, time.time()],
                    )
                applied.append(name)
        return applied

    # -- deliveries / jobs ------------------------------------------------------------

    def insert_delivery(
        self,
        *,
        delivery_id: str,
        event: str,
        action: str | None,
        payload: str,
        installation_id: int | None = None,
        ordering_key: str | None = None,
        status: str = PENDING,
        outcome: str | None = None,
        now: float | None = None,
    ) -> bool:
        """Store a delivery durably; False (and nothing changed) if its id is already known.

        It is committed on the ack connection: not from inside :meth:`transaction` (that
        holds the write lock on the other connection), except for ``:memory:``.
        """
        result = self.insert_deliveries(
            [
                dict(
                    delivery_id=delivery_id,
                    event=event,
                    action=action,
                    payload=payload,
                    installation_id=installation_id,
                    ordering_key=ordering_key,
                    status=status,
                    outcome=outcome,
                    now=now,
                )
            ]
        )[0]
        if isinstance(result, BaseException):
            raise result
        return result

    def insert_deliveries(self, rows: Sequence[Mapping[str, Any]]) -> list[bool | Exception]:
        """Store deliveries (``insert_delivery`` keyword arguments) in one transaction.

        Runs on the ack connection. Returns, per row, True (stored), False (its delivery id
        was already known, nothing changed) or the exception that kept it out. Every row
        reported True is committed when this returns. When the whole transaction fails,
        each row is tried alone, so one bad row never costs the others their delivery.
        """
        if not rows:
            return []
        with self._ack_lock:
            try:
                return list(self._ack_transaction(rows))
            except Exception as exc:
                if len(rows) == 1:
                    return [exc]
            results: list[bool | Exception] = []
            for row in rows:
                try:
                    results.extend(self._ack_transaction([row]))
                except Exception as exc:  # reported to that row's caller
                    results.append(exc)
            return results

    _INSERT = (
        "INSERT OR IGNORE INTO deliveries (delivery_id, event, action, installation_id,"
        " ordering_key, received_at, payload, status, outcome, attempts, next_attempt_at,"
        " finished_at, ready) VALUES (:delivery_id, :event, :action, :installation_id,"
        " :ordering_key, :now, :payload, :status, :outcome, 0, :now, :finished,"
        " :status = 'pending' AND (:ordering_key IS NULL OR NOT EXISTS ("
        "SELECT 1 FROM deliveries WHERE ordering_key = :ordering_key"
        " AND status IN ('pending', 'running'))))"
    )

    def _ack_transaction(self, rows: Sequence[Mapping[str, Any]]) -> list[bool]:
        conn = self._ack_conn
        shared = conn is self.db.conn  # ":memory:": the main connection (and lock)
        deadline = time.monotonic() + self.BUSY_TIMEOUT_SECONDS
        pause = self.ACK_RETRY_SECONDS
        while True:
            try:
                if shared and conn.in_transaction:  # inside the caller's transaction
                    return [self._insert_one(conn, row) for row in rows]
                if len(rows) == 1:
                    # One statement in autocommit is its own transaction: one call into
                    # SQLite instead of three, i.e. one wait for the GIL instead of three
                    # when the event loop thread is busy (up to the switch interval each).
                    return [self._insert_one(conn, rows[0])]
                conn.execute("BEGIN IMMEDIATE")
                try:
                    inserted = [self._insert_one(conn, row) for row in rows]
                    conn.execute("COMMIT")
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
                return inserted
            except sqlite3.OperationalError as exc:
                # Another connection holds the write lock (a worker's tiny transaction):
                # try again a moment later instead of sleeping in SQLite's busy handler.
                if not _is_busy(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(pause)
                pause = min(pause * 1.5, 0.002)

    @staticmethod
    def _insert_one(conn: sqlite3.Connection, row: Mapping[str, Any]) -> bool:
        now = row.get("now")
        now = time.time() if now is None else now
        status = row.get("status") or PENDING
        cur = conn.execute(
            Store._INSERT,
            {
                "delivery_id": row["delivery_id"],
                "event": row["event"],
                "action": row.get("action"),
                "installation_id": row.get("installation_id"),
                "ordering_key": row.get("ordering_key"),
                "now": now,
                "payload": row["payload"],
                "status": status,
                "outcome": row.get("outcome"),
                "finished": now if status == DONE else None,
            },
        )
        return cur.rowcount == 1

    async def ainsert_delivery(self, **row: Any) -> bool:
        """:meth:`insert_delivery` from a coroutine, with group commit (:class:`GroupCommit`)."""
        loop = asyncio.get_running_loop()
        if self._group is None or self._group.loop is not loop:
            self._group = GroupCommit(self, loop)
        return await self._group.insert(row)

    def get_delivery(self, delivery_id: str) -> Delivery | None:
        with self._lock:
            row = self._execute(
                "SELECT * FROM deliveries WHERE delivery_id = ?", [delivery_id]
            ).fetchone()
        return Delivery.from_row(row) if row else None

    def list_deliveries(self, status: str | None = None, limit: int = 100) -> list[Delivery]:
        """Most recent deliveries first, optionally only those with ``status``."""
        where, params = ("WHERE status = ?", [status]) if status else ("", [])
        with self._lock:
            rows = self._execute(
                f"SELECT * FROM deliveries {where} ORDER BY id DESC LIMIT ?", [*params, limit]
            ).fetchall()
        return [Delivery.from_row(r) for r in rows]

    def claim_next(self, now: float | None = None) -> Delivery | None:
        """Atomically take the next due job that is first in line for its ordering key."""
        return self.claim(now)[0]

    def claim(self, now: float | None = None) -> tuple[Delivery | None, float | None]:
        """:meth:`claim_next`, and then :meth:`next_ready_at`: (job or None, due or None).

        O(log n) whatever the backlog: only ``ready`` jobs (one per ordering key) are looked
        at, through a partial index, and a first read spares the write lock when none is due.
        """
        now = time.time() if now is None else now
        with self._lock:
            due = self.next_ready_at()
            if due is None or due > now:
                return None, due
            row = self._execute(
                """
                UPDATE deliveries
                SET status = 'running', ready = 0, attempts = attempts + 1, started_at = :now
                WHERE status = 'pending' AND id = (
                    SELECT id FROM deliveries
                    WHERE ready = 1 AND next_attempt_at <= :now
                    ORDER BY next_attempt_at, id
                    LIMIT 1)
                RETURNING *
                """,
                {"now": now},
            ).fetchone()
            return (Delivery.from_row(row) if row else None), self.next_ready_at()

    def next_due_at(self) -> float | None:
        """When the earliest pending job becomes due (ignoring ordering), or None."""
        with self._lock:
            return self._execute(
                "SELECT min(next_attempt_at) FROM deliveries WHERE status = 'pending'"
            ).fetchone()[0]

    def next_ready_at(self) -> float | None:
        """When the earliest job first in line for its key becomes due, or None (O(log n))."""
        with self._lock:
            return self._execute(
                "SELECT min(next_attempt_at) FROM deliveries WHERE ready = 1"
            ).fetchone()[0]

    def _refresh_key(self, key: str | None) -> None:
        """Make ``ready`` right for ``key`` after a status change (inside a transaction)."""
        if key is None:
            return
        running = self._execute(
            "SELECT 1 FROM deliveries WHERE ordering_key = ? AND status = 'running' LIMIT 1",
            [key],
        ).fetchone()
        head = None
        if running is None:
            row = self._execute(
                "SELECT id FROM deliveries WHERE ordering_key = ? AND status = 'pending'"
                " ORDER BY id LIMIT 1",
                [key],
            ).fetchone()
            head = row[0] if row else None
        self._execute(
            "UPDATE deliveries SET ready = 0 WHERE ordering_key = ? AND ready = 1 AND id IS NOT ?",
            [key, head],
        )
        if head is not None:
            self._execute("UPDATE deliveries SET ready = 1 WHERE id = ? AND ready = 0", [head])

    def mark_done(self, job_id: int, outcome: str, now: float | None = None) -> None:
        now = time.time() if now is None else now
        with self.transaction():
            row = self._execute(
                "UPDATE deliveries SET status = 'done', ready = 0, outcome = ?, finished_at = ?,"
                " last_error = NULL WHERE id = ? RETURNING ordering_key",
                [outcome, now, job_id],
            ).fetchone()
            if row is not None:
                self._refresh_key(row[0])

    def mark_failed(
        self,
        job_id: int,
        error: str,
        *,
        retry_at: float | None,
        refund_attempt: bool = False,
        now: float | None = None,
    ) -> None:
        """Record a failure: back to pending until ``retry_at``, or dead when it is None."""
        now = time.time() if now is None else now
        with self.transaction():
            if retry_at is None:
                row = self._execute(
                    "UPDATE deliveries SET status = 'dead', ready = 0, outcome = 'failed',"
                    " last_error = ?, finished_at = ? WHERE id = ? RETURNING ordering_key",
                    [error, now, job_id],
                ).fetchone()
            else:
                row = self._execute(
                    "UPDATE deliveries SET status = 'pending', ready = (ordering_key IS NULL),"
                    " last_error = ?, next_attempt_at = ?, attempts = attempts - ? WHERE id = ?"
                    " RETURNING ordering_key",
                    [error, retry_at, 1 if refund_attempt else 0, job_id],
                ).fetchone()
            if row is not None:
                self._refresh_key(row[0])

    def recover_running(self, max_attempts: int, now: float | None = None) -> tuple[int, int]:
        """After a crash: jobs left running go back to pending, or dead when out of attempts.

        Returns (resumed, dead). Only valid when a single process owns the queue.
        """
        now = time.time() if now is None else now
        with self.transaction():
            dead = self._execute(
                "UPDATE deliveries SET status = 'dead', outcome = 'failed', finished_at = ?,"
                " last_error = coalesce(last_error || ' | ', '') ||"
                " 'the process stopped while this job was running'"
                " WHERE status = 'running' AND attempts >= ?",
                [now, max_attempts],
            ).rowcount
            resumed = self._execute(
                "UPDATE deliveries SET status = 'pending', next_attempt_at = ?"
                " WHERE status = 'running'",
                [now],
            ).rowcount
            _recompute_ready(self.db.conn)
        return resumed, dead

    def requeue_dead(self, delivery_id: str, now: float | None = None) -> bool:
        """Give a dead job a fresh set of attempts (operator action)."""
        now = time.time() if now is None else now
        with self.transaction():
            row = self._execute(
                "UPDATE deliveries SET status = 'pending', ready = (ordering_key IS NULL),"
                " attempts = 0, outcome = NULL, next_attempt_at = ?, finished_at = NULL"
                " WHERE delivery_id = ? AND status = 'dead' RETURNING ordering_key",
                [now, delivery_id],
            ).fetchone()
            if row is None:
                return False
            self._refresh_key(row[0])
            return True

    def prune_done(self, before: float) -> int:
        """Delete deliveries finished (done) before ``before``; dead ones are kept."""
        with self._lock:
            return self._execute(
                "DELETE FROM deliveries WHERE status = 'done' AND finished_at < ?", [before]
            ).rowcount

    def counts_by_status(self) -> dict[str, int]:
        with self._lock:
            rows = self._execute(
                "SELECT status, count(*) FROM deliveries GROUP BY status"
            ).fetchall()
        counts = dict.fromkeys(STATUSES, 0)
        counts.update({r[0]: r[1] for r in rows})
        return counts

    # -- kv ---------------------------------------------------------------------------

    def kv_get(self, namespace: str, key: str, default: Any = None) -> Any:
        with self._lock:
            row = self._execute(
                "SELECT value FROM kv WHERE namespace = ? AND key = ?", [namespace, key]
            ).fetchone()
        return json.loads(row[0]) if row else default

    def kv_set(self, namespace: str, key: str, value: Any) -> None:
        with self._lock:
            self._execute(
                "INSERT INTO kv VALUES (?, ?, ?, ?) ON CONFLICT (namespace, key)"
                " DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                [namespace, key, json.dumps(value), time.time()],
            )

    def kv_delete(self, namespace: str, key: str) -> None:
        with self._lock:
            self._execute("DELETE FROM kv WHERE namespace = ? AND key = ?", [namespace, key])

    # -- idempotency indexes ----------------------------------------------------------

    def get_comment_id(self, repo: str, issue_number: int, marker: str) -> int | None:
        with self._lock:
            row = self._execute(
                "SELECT comment_id FROM comments_index WHERE repo = ? AND issue_number = ?"
                " AND marker = ?",
                [repo, issue_number, marker],
            ).fetchone()
        return row[0] if row else None

    def set_comment_id(self, repo: str, issue_number: int, marker: str, comment_id: int) -> None:
        with self._lock:
            self._execute(
                "INSERT INTO comments_index VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (repo, issue_number, marker) DO UPDATE SET"
                " comment_id = excluded.comment_id, updated_at = excluded.updated_at",
                [repo, issue_number, marker, comment_id, time.time()],
            )

    def forget_comment(self, repo: str, issue_number: int, marker: str) -> None:
        with self._lock:
            self._execute(
                "DELETE FROM comments_index WHERE repo = ? AND issue_number = ? AND marker = ?",
                [repo, issue_number, marker],
            )

    def get_check_run(self, repo: str, external_id: str) -> dict[str, Any] | None:
        """``{"check_run_id", "name", "head_sha"}`` recorded for ``external_id``, or None."""
        with self._lock:
            row = self._execute(
                "SELECT check_run_id, name, head_sha FROM check_runs_index"
                " WHERE repo = ? AND external_id = ?",
                [repo, external_id],
            ).fetchone()
        return dict(row) if row else None

    def set_check_run(
        self, repo: str, external_id: str, check_run_id: int, name: str, head_sha: str
    ) -> None:
        with self._lock:
            self._execute(
                "INSERT INTO check_runs_index VALUES (?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (repo, external_id) DO UPDATE SET check_run_id ="
                " excluded.check_run_id, name = excluded.name, head_sha = excluded.head_sha,"
                " updated_at = excluded.updated_at",
                [repo, external_id, check_run_id, name, head_sha, time.time()],
            )


class GroupCommit:
    """Group commit of concurrent deliveries on the ack connection (one per event loop).

    :meth:`insert` queues a row and waits. While no commit is in flight, every queued row
    (up to ``max_rows`` / ``max_bytes``) goes to the ack thread, which stores them with
    :meth:`Store.insert_deliveries`: one transaction, one commit. Rows that arrive meanwhile
    form the next batch, so the batch grows with the load and a lone delivery waits for
    nothing (no timer; ``window`` > 0 adds a fixed wait to gather more). Each waiter is
    answered only after the commit that stored its row returned; when it failed, with its
    exception. A waiter that gives up (a cancelled request) does not take its row out: it
    is stored all the same, just not acknowledged (a redelivery is then a duplicate).
    """

    def __init__(
        self,
        store: Store,
        loop: asyncio.AbstractEventLoop,
        *,
        window: float = 0.0,
        max_rows: int = 256,
        max_bytes: int = 8 * 1024 * 1024,
        checkpoint_every: int = 200,
        checkpoint_bytes: int = 4 * 1024 * 1024,
    ) -> None:
        self.store, self.loop = store, loop
        self.window, self.max_rows, self.max_bytes = window, max_rows, max_bytes
        self.checkpoint_every, self.checkpoint_bytes = checkpoint_every, checkpoint_bytes
        self._queued: list[tuple[dict[str, Any], asyncio.Future[bool]]] = []
        self._in_flight = False  # a batch is being committed (or a window is open)
        self._checkpointer: asyncio.Task[Any] | None = None
        self._since_checkpoint = 0  # batches, and payload bytes, since the last checkpoint
        self._bytes_since_checkpoint = 0
        self.batches = 0  # batches answered so far, and their rows (tests, metrics)
        self.rows = 0

    async def insert(self, row: dict[str, Any]) -> bool:
        future: asyncio.Future[bool] = self.loop.create_future()
        self._queued.append((row, future))
        if not self._in_flight:
            self._in_flight = True
            if self.window:
                self.loop.call_later(self.window, self._submit)
            else:
                self._submit()
        return await future

    def _take(self) -> list[tuple[dict[str, Any], asyncio.Future[bool]]]:
        size, n = 0, 0
        for row, _ in self._queued:
            payload = row.get("payload")
            length = len(payload) if isinstance(payload, str | bytes) else 0
            if n and (n >= self.max_rows or size + length > self.max_bytes):
                break
            size += length
            n += 1
        batch, self._queued = self._queued[:n], self._queued[n:]
        return batch

    def _submit(self) -> None:
        """On the loop: hand the next batch to the ack thread (``_in_flight`` is set)."""
        batch = self._take()
        if not batch:
            self._in_flight = False
            return
        try:
            self.store._ack_executor.submit(self._commit, batch)
        except RuntimeError as exc:  # the store is closed
            self._done(batch, [exc] * len(batch))

    def _commit(self, batch: list[tuple[dict[str, Any], asyncio.Future[bool]]]) -> None:
        """In the ack thread: store the batch, then answer on the loop."""
        results: list[bool | BaseException]
        try:
            results = list(self.store.insert_deliveries([r for r, _ in batch]))
        except BaseException as exc:  # noqa: BLE001 - reported to every waiter
            results = [exc] * len(batch)
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody is waiting
            self.loop.call_soon_threadsafe(self._done, batch, results)

    def _done(
        self,
        batch: list[tuple[dict[str, Any], asyncio.Future[bool]]],
        results: Sequence[bool | BaseException],
    ) -> None:
        """On the loop, after the commit returned: answer the batch, start the next one."""
        self.batches += 1
        self.rows += len(batch)
        for (_, future), result in zip(batch, results, strict=True):
            if future.done():  # its request was cancelled; the row is stored all the same
                continue
            if isinstance(result, BaseException):
                future.set_exception(result)
            else:
                future.set_result(result)
        self._since_checkpoint += 1
        self._bytes_since_checkpoint += sum(
            len(p) for r, _ in batch if isinstance(p := r.get("payload"), str | bytes)
        )
        if (
            self._since_checkpoint >= self.checkpoint_every
            or self._bytes_since_checkpoint >= self.checkpoint_bytes
        ):
            self._maybe_checkpoint()
        if self._queued:
            self._submit()
        else:
            self._in_flight = False

    def _maybe_checkpoint(self) -> None:
        """Keep the WAL short off the ack path: a passive checkpoint on the main connection.

        Every commit appends a few pages to the WAL (the row and its index entries); once a
        checkpoint copied them all, the next commit writes the WAL from its start again,
        overwriting instead of growing the file, which keeps each fsync cheap.
        """
        if self._checkpointer is not None and not self._checkpointer.done():
            return
        self._since_checkpoint = self._bytes_since_checkpoint = 0

        async def run() -> None:
            with contextlib.suppress(Exception):  # a later one will do it
                await self.store.arun(self.store.checkpoint)

        self._checkpointer = self.loop.create_task(run(), name="dlcm-checkpoint")


class _Transaction:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.outer = False

    def __enter__(self) -> None:
        self.store._lock.acquire()
        self.outer = not self.store.db.conn.in_transaction
        if self.outer:
            self.store._execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        try:
            if self.outer:
                self.store._execute("ROLLBACK" if exc_type else "COMMIT")
        finally:
            self.store._lock.release()
