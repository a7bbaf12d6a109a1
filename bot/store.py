"""The App's SQLite state store (sqlite-utils, WAL mode).

One connection per :class:`Store`, guarded by a lock; coroutines call :meth:`Store.arun`,
which runs a method in a worker thread so the event loop never blocks on the disk.

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
import functools
import json
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
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


CORE_MIGRATIONS: list[Migration] = [
    ("deliveries table (the job queue)", _create_deliveries),
    ("kv, comments_index and check_runs_index", _create_indexes),
]


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

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=30)
        conn.row_factory = sqlite3.Row
        self.db = sqlite_utils.Database(conn)
        self._lock = threading.RLock()
        with self._lock:
            if self.path != ":memory:":
                self.db.enable_wal()
            # A delivery acknowledged with 2xx must survive a crash and a power cut.
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA busy_timeout=30000")
            self._execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (namespace TEXT NOT NULL,"
                " version INTEGER NOT NULL, name TEXT NOT NULL, applied_at REAL NOT NULL,"
                " PRIMARY KEY (namespace, version))"
            )
        self.migrate("core", CORE_MIGRATIONS)

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
        with self._lock:
            self.db.conn.close()

    def ping(self) -> bool:
        with self._lock:
            return self._execute("SELECT 1").fetchone()[0] == 1

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
        """Store a delivery durably; False (and nothing changed) if its id is already known."""
        now = time.time() if now is None else now
        finished = now if status == DONE else None
        with self._lock:
            cur = self._execute(
                "INSERT OR IGNORE INTO deliveries (delivery_id, event, action, installation_id,"
                " ordering_key, received_at, payload, status, outcome, attempts,"
                " next_attempt_at, finished_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?)",
                [
                    delivery_id,
                    event,
                    action,
                    installation_id,
                    ordering_key,
                    now,
                    payload,
                    status,
                    outcome,
                    now,
                    finished,
                ],
            )
            return cur.rowcount == 1

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
        now = time.time() if now is None else now
        with self._lock:
            row = self._execute(
                """
                UPDATE deliveries
                SET status = 'running', attempts = attempts + 1, started_at = :now
                WHERE status = 'pending' AND id = (
                    SELECT d.id FROM deliveries d
                    WHERE d.status = 'pending' AND d.next_attempt_at <= :now
                      AND (d.ordering_key IS NULL OR NOT EXISTS (
                          SELECT 1 FROM deliveries e
                          WHERE e.ordering_key = d.ordering_key
                            AND e.status IN ('pending', 'running')
                            AND (e.id < d.id OR e.status = 'running')))
                    ORDER BY d.next_attempt_at, d.id
                    LIMIT 1)
                RETURNING *
                """,
                {"now": now},
            ).fetchone()
        return Delivery.from_row(row) if row else None

    def next_due_at(self) -> float | None:
        """When the earliest pending job becomes due (ignoring ordering), or None."""
        with self._lock:
            return self._execute(
                "SELECT min(next_attempt_at) FROM deliveries WHERE status = 'pending'"
            ).fetchone()[0]

    def mark_done(self, job_id: int, outcome: str, now: float | None = None) -> None:
        now = time.time() if now is None else now
        with self._lock:
            self._execute(
                "UPDATE deliveries SET status = 'done', outcome = ?, finished_at = ?,"
                " last_error = NULL WHERE id = ?",
                [outcome, now, job_id],
            )

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
        with self._lock:
            if retry_at is None:
                self._execute(
                    "UPDATE deliveries SET status = 'dead', outcome = 'failed', last_error = ?,"
                    " finished_at = ? WHERE id = ?",
                    [error, now, job_id],
                )
            else:
                self._execute(
                    "UPDATE deliveries SET status = 'pending', last_error = ?,"
                    " next_attempt_at = ?, attempts = attempts - ? WHERE id = ?",
                    [error, retry_at, 1 if refund_attempt else 0, job_id],
                )

    def recover_running(self, max_attempts: int, now: float | None = None) -> tuple[int, int]:
        """After a crash: jobs left running go back to pending, or dead when out of attempts.

        Returns (resumed, dead). Only valid when a single process owns the queue.
        """
        now = time.time() if now is None else now
        with self._lock, self.transaction():
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
        return resumed, dead

    def requeue_dead(self, delivery_id: str, now: float | None = None) -> bool:
        """Give a dead job a fresh set of attempts (operator action)."""
        now = time.time() if now is None else now
        with self._lock:
            return (
                self._execute(
                    "UPDATE deliveries SET status = 'pending', attempts = 0, outcome = NULL,"
                    " next_attempt_at = ?, finished_at = NULL"
                    " WHERE delivery_id = ? AND status = 'dead'",
                    [now, delivery_id],
                ).rowcount
                == 1
            )

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
