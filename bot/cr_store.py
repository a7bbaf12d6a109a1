"""Change requests in the App's SQLite store: ids, state, the append-only audit trail, an outbox.

Tables (namespace ``change_requests``, see :data:`MIGRATIONS`; a step never changes once
released):

- ``cr_counters`` (repo → last ``DLCM-<n>`` handed out): numbers are allocated inside the
  ``BEGIN IMMEDIATE`` transaction that records the validation, so two requests never get
  the same number and a number is never handed out twice (a gap is possible, reuse is not).
- ``crs`` (repo, issue): the workflow state as JSON (``checks.changes.workflow.CRState``),
  plus columns the dashboards sort and filter on, the last validation result and impact
  report, and the head of the request's audit chain.
- ``cr_audit``: one row per audit event — who, when, what, why, evidence, delivery id —
  chained per change request with ``prev_hash``/``hash`` (``checks.changes.audit``). The
  hash covers the columns themselves, so editing any of them breaks the chain. Triggers
  make the table append-only: an ``UPDATE`` or ``DELETE`` aborts.
- ``cr_applied`` (idempotency key → result): an event (a delivery, a validation, a check
  result) is applied once; a retried delivery finds its result here.
- ``cr_outbox``: the effects of applied events, executed after the transaction commits and
  marked done one by one (a crash in between re-runs only the effects not marked done,
  and every effect is idempotent on GitHub's side).
- ``cr_links`` (repo, pull request → issue): pull requests linked to change requests.
- ``cr_schedule``: events due later (the end of a monitoring window).

Everything here is synchronous and runs on the store's connection (call it through
``store.arun``); the workflow itself is pure (``checks.changes.workflow.apply``).
"""

from __future__ import annotations

import json
import sqlite3
import time
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import sqlite_utils
from pydantic import TypeAdapter

from bot.store import Store
from checks.changes.audit import GENESIS, AuditEvent, ChainedEvent, chain_hash, verify
from checks.changes.workflow import CRState, Effect, Refusal, Transition, WorkflowEvent, apply

NAMESPACE = "change_requests"
ACTIVE_STATES = ("proposed", "needs-info", "approved", "in-progress", "validated", "deployed", "monitoring",
                 "rolled-back")
_EFFECT = TypeAdapter(Effect)
_EVENT = TypeAdapter(WorkflowEvent)


def _create_tables(db: sqlite_utils.Database) -> None:
    db.execute("CREATE TABLE cr_counters (repo TEXT PRIMARY KEY COLLATE NOCASE, last INTEGER NOT NULL)")
    db.execute("""
        CREATE TABLE crs (
            repo TEXT NOT NULL COLLATE NOCASE, issue INTEGER NOT NULL, number INTEGER, status TEXT NOT NULL,
            title TEXT, risk TEXT, breaking INTEGER NOT NULL DEFAULT 0, state TEXT NOT NULL,
            validation TEXT, impact TEXT, impact_at REAL, html_url TEXT, installation_id INTEGER,
            audit_head TEXT NOT NULL DEFAULT '""" + GENESIS + """', audit_count INTEGER NOT NULL DEFAULT 0,
            created_at REAL NOT NULL, updated_at REAL NOT NULL,
            PRIMARY KEY (repo, issue))""")
    db.execute("CREATE UNIQUE INDEX crs_number ON crs (repo, number) WHERE number IS NOT NULL")
    db.execute("CREATE INDEX crs_status ON crs (repo, status)")
    db.execute("""
        CREATE TABLE cr_audit (
            id INTEGER PRIMARY KEY AUTOINCREMENT, repo TEXT NOT NULL COLLATE NOCASE, issue INTEGER NOT NULL,
            seq INTEGER NOT NULL, cr TEXT NOT NULL, at TEXT NOT NULL, actor TEXT, action TEXT NOT NULL,
            from_state TEXT, to_state TEXT, reason TEXT NOT NULL, evidence TEXT NOT NULL,
            delivery_id TEXT, refused INTEGER NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL,
            UNIQUE (repo, issue, seq))""")
    # Append-only: the App only ever INSERTs; anything else is refused by SQLite itself.
    db.execute("""
        CREATE TRIGGER cr_audit_no_update BEFORE UPDATE ON cr_audit
        BEGIN SELECT RAISE(ABORT, 'cr_audit is append-only: audit events cannot be changed'); END""")
    db.execute("""
        CREATE TRIGGER cr_audit_no_delete BEFORE DELETE ON cr_audit
        BEGIN SELECT RAISE(ABORT, 'cr_audit is append-only: audit events cannot be deleted'); END""")
    db.execute("""
        CREATE TABLE cr_applied (key TEXT PRIMARY KEY, repo TEXT NOT NULL COLLATE NOCASE, issue INTEGER NOT NULL,
                                 result TEXT NOT NULL, at REAL NOT NULL)""")
    db.execute("""
        CREATE TABLE cr_outbox (
            id INTEGER PRIMARY KEY AUTOINCREMENT, repo TEXT NOT NULL COLLATE NOCASE, issue INTEGER NOT NULL,
            kind TEXT NOT NULL, effect TEXT NOT NULL, status TEXT NOT NULL DEFAULT 'pending',
            attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT, created_at REAL NOT NULL, done_at REAL)""")
    db.execute("CREATE INDEX cr_outbox_pending ON cr_outbox (repo, issue, status)")
    db.execute("""
        CREATE TABLE cr_links (repo TEXT NOT NULL COLLATE NOCASE, pr INTEGER NOT NULL, issue INTEGER NOT NULL,
                               at REAL NOT NULL, PRIMARY KEY (repo, pr, issue))""")
    db.execute("""
        CREATE TABLE cr_schedule (key TEXT PRIMARY KEY, repo TEXT NOT NULL COLLATE NOCASE, issue INTEGER NOT NULL,
                                  due REAL NOT NULL, event TEXT NOT NULL, installation_id INTEGER,
                                  done INTEGER NOT NULL DEFAULT 0)""")


MIGRATIONS = [("change requests: counters, crs, append-only cr_audit, applied, outbox, links, schedule",
               _create_tables)]

_migrated: set[int] = set()


def ensure_schema(store: Store) -> None:
    """Apply this namespace's migrations once per store (cheap after the first call)."""
    if id(store) in _migrated and store.schema_version(NAMESPACE) == len(MIGRATIONS):
        return
    try:
        store.migrate(NAMESPACE, MIGRATIONS)
    except sqlite3.DatabaseError:  # another process migrated the same file at the same moment
        if store.schema_version(NAMESPACE) < len(MIGRATIONS):
            raise
    _migrated.add(id(store))


# --------------------------------------------------------------------------- records


@dataclass
class CRRecord:
    """One change request as stored: its workflow state and what the dashboards show."""

    repo: str
    issue: int
    state: CRState
    html_url: str | None = None
    installation_id: int | None = None
    validation: dict[str, Any] | None = None  # checks.changes.validate.ValidationResult as JSON
    impact: str | None = None  # the latest impact report (Markdown)
    impact_at: float | None = None
    audit_head: str = GENESIS
    audit_count: int = 0
    created_at: float = 0.0
    updated_at: float = 0.0

    @property
    def id(self) -> str:
        return self.state.id

    @property
    def number(self) -> int | None:
        return self.state.number

    @property
    def active(self) -> bool:
        return self.state.state in ACTIVE_STATES

    @classmethod
    def from_row(cls, row: Any) -> CRRecord:
        d = dict(row)
        return cls(repo=d["repo"], issue=d["issue"], state=CRState.model_validate_json(d["state"]),
                   html_url=d["html_url"], installation_id=d["installation_id"],
                   validation=json.loads(d["validation"]) if d["validation"] else None, impact=d["impact"],
                   impact_at=d["impact_at"], audit_head=d["audit_head"], audit_count=d["audit_count"],
                   created_at=d["created_at"], updated_at=d["updated_at"])


@dataclass
class Applied:
    """What applying one event did (also what a retried delivery gets back)."""

    key: str
    ok: bool  # a Transition (True) or a Refusal (False)
    state: str  # the state afterwards
    cr: str  # DLCM-n / #issue
    changed: bool  # the state moved (or the request changed: status comment rewritten)
    replies: list[str] = field(default_factory=list)  # answers for the actor (commands)
    reason: str = ""  # of a refusal
    duplicate: bool = False  # the key was applied before: nothing was done now

    def as_dict(self) -> dict[str, Any]:
        return {"key": self.key, "ok": self.ok, "state": self.state, "cr": self.cr, "changed": self.changed,
                "replies": self.replies, "reason": self.reason}


@dataclass
class OutboxItem:
    id: int
    repo: str
    issue: int
    effect: Any  # a workflow effect (pydantic model)
    attempts: int


def audit_row_event(row: Any) -> ChainedEvent:
    """The chained event a ``cr_audit`` row stands for (rebuilt from its columns)."""
    d = dict(row)
    event = AuditEvent.model_validate({
        "cr": d["cr"], "issue": d["issue"], "at": d["at"], "actor": d["actor"], "action": d["action"],
        "from_state": d["from_state"], "to_state": d["to_state"], "reason": d["reason"],
        "evidence": json.loads(d["evidence"]), "delivery_id": d["delivery_id"], "refused": bool(d["refused"]),
    })
    return ChainedEvent(seq=d["seq"], prev_hash=d["prev_hash"], hash=d["hash"], event=event)


# --------------------------------------------------------------------------- the store


class CRStore:
    """Change requests over a :class:`bot.store.Store` (sync; call through ``store.arun``)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        ensure_schema(store)

    def _q(self, sql: str, params: Iterable[Any] | dict[str, Any] = ()) -> Any:
        return self.store.db.conn.execute(sql, params if isinstance(params, dict) else list(params))

    # -- reading ----------------------------------------------------------------------

    def get(self, repo: str, issue: int) -> CRRecord | None:
        with self.store._lock:
            row = self._q("SELECT * FROM crs WHERE repo = ? AND issue = ?", [repo, issue]).fetchone()
        return CRRecord.from_row(row) if row else None

    def by_number(self, repo: str, number: int) -> CRRecord | None:
        with self.store._lock:
            row = self._q("SELECT * FROM crs WHERE repo = ? AND number = ?", [repo, number]).fetchone()
        return CRRecord.from_row(row) if row else None

    def find(self, repo: str, ref: str) -> CRRecord | None:
        """``DLCM-3``, ``3`` or ``#12`` (the issue) → the change request."""
        ref = ref.strip()
        if ref.startswith("#") and ref[1:].isdigit():
            return self.get(repo, int(ref[1:]))
        up = ref.upper()
        if up.startswith("DLCM-") and up[5:].isdigit():
            return self.by_number(repo, int(up[5:]))
        if ref.isdigit():
            return self.by_number(repo, int(ref))
        return None

    def list(self, repo: str, *, active_only: bool = False) -> list[CRRecord]:
        where = " AND status IN (%s)" % ",".join("?" * len(ACTIVE_STATES)) if active_only else ""
        params = [repo, *(ACTIVE_STATES if active_only else ())]
        with self.store._lock:
            rows = self._q(f"SELECT * FROM crs WHERE repo = ?{where} ORDER BY issue", params).fetchall()
        return [CRRecord.from_row(r) for r in rows]

    def repos(self) -> list[str]:
        with self.store._lock:
            return [r[0] for r in self._q("SELECT DISTINCT repo FROM crs ORDER BY repo").fetchall()]

    def audit(self, repo: str, issue: int) -> list[ChainedEvent]:
        with self.store._lock:
            rows = self._q("SELECT * FROM cr_audit WHERE repo = ? AND issue = ? ORDER BY seq, id",
                           [repo, issue]).fetchall()
        return [audit_row_event(r) for r in rows]

    def verify_audit(self, repo: str, issue: int) -> int | None:
        """Index of the first audit event that was tampered with (or ``len`` when cut short), or None."""
        rec = self.get(repo, issue)
        with self.store._lock:
            rows = self._q("SELECT * FROM cr_audit WHERE repo = ? AND issue = ? ORDER BY id",
                           [repo, issue]).fetchall()
        events: list[Any] = []
        for i, r in enumerate(rows):
            try:
                events.append(audit_row_event(r))
            except Exception:  # a column no longer parses: that is tampering too
                return i
        return verify(events, rec.audit_head if rec else None)

    def links_of_pull(self, repo: str, pr: int) -> list[int]:
        with self.store._lock:
            return [r[0] for r in self._q("SELECT issue FROM cr_links WHERE repo = ? AND pr = ?"
                                          " ORDER BY issue", [repo, pr]).fetchall()]

    def applied(self, key: str) -> Applied | None:
        with self.store._lock:
            row = self._q("SELECT result FROM cr_applied WHERE key = ?", [key]).fetchone()
        if row is None:
            return None
        return Applied(**json.loads(row[0]), duplicate=True)

    def pending(self, repo: str, issue: int) -> list[OutboxItem]:
        with self.store._lock:
            rows = self._q("SELECT id, repo, issue, effect, attempts FROM cr_outbox WHERE repo = ? AND issue = ?"
                           " AND status = 'pending' ORDER BY id", [repo, issue]).fetchall()
        return [OutboxItem(r[0], r[1], r[2], _EFFECT.validate_json(r[3]), r[4]) for r in rows]

    def outbox(self, repo: str, issue: int) -> list[dict[str, Any]]:
        """Every effect of a change request with its status (tests, diagnostics)."""
        with self.store._lock:
            rows = self._q("SELECT * FROM cr_outbox WHERE repo = ? AND issue = ? ORDER BY id", [repo, issue]).fetchall()
        return [dict(r) for r in rows]

    def due(self, now: float) -> list[dict[str, Any]]:
        with self.store._lock:
            rows = self._q("SELECT * FROM cr_schedule WHERE done = 0 AND due <= ? ORDER BY due", [now]).fetchall()
        return [dict(r) for r in rows]

    # -- writing ----------------------------------------------------------------------

    def next_number(self, repo: str) -> int:
        """Hand out the next ``DLCM-<n>`` of ``repo`` (inside the caller's transaction)."""
        with self.store.transaction():
            row = self._q("INSERT INTO cr_counters (repo, last) VALUES (?, 1) ON CONFLICT (repo)"
                          " DO UPDATE SET last = last + 1 RETURNING last", [repo]).fetchone()
            return int(row[0])

    def apply(self, repo: str, issue: int, key: str,
              make_event: Callable[[CRState, Callable[[], int]], WorkflowEvent | None], *,
              create: Callable[[], CRState] | None = None, html_url: str | None = None,
              installation_id: int | None = None, validation: dict[str, Any] | None = None,
              done_outbox: int | None = None, now: float | None = None) -> Applied | None:
        """Apply one event to a change request atomically; None when there is nothing to do.

        In one ``BEGIN IMMEDIATE`` transaction: skip if ``key`` was applied before (its stored
        result comes back with ``duplicate=True``); load the request (or ``create()`` it);
        ``make_event(state, allocate)`` builds the event (``allocate()`` hands out the next
        ``DLCM-<n>``); run the pure workflow; save the state, append the audit events to the
        chain, queue the effects in the outbox (replies and reactions to commands are returned
        instead: the command dispatcher answers), record ``key``; mark outbox item
        ``done_outbox`` done (the effect that asked for this event).
        """
        now = time.time() if now is None else now
        with self.store.transaction():
            row = self._q("SELECT result FROM cr_applied WHERE key = ?", [key]).fetchone()
            if row is not None:
                return Applied(**json.loads(row[0]), duplicate=True)
            row = self._q("SELECT * FROM crs WHERE repo = ? AND issue = ?", [repo, issue]).fetchone()
            rec = CRRecord.from_row(row) if row else None
            if rec is None:
                if create is None:
                    return None
                rec = CRRecord(repo=repo, issue=issue, state=create(), html_url=html_url,
                               installation_id=installation_id, created_at=now, updated_at=now)
            event = make_event(rec.state, lambda: self.next_number(repo))
            if event is None:
                if done_outbox is not None:
                    self._q("UPDATE cr_outbox SET status = 'done', done_at = ? WHERE id = ?", [now, done_outbox])
                return None
            result: Transition | Refusal = apply(rec.state, event)
            new_state = result.state if isinstance(result, Transition) else rec.state
            replies: list[str] = []
            queued: list[Any] = []
            for eff in result.effects:
                if eff.type == "reply" and eff.in_reply_to is not None:
                    replies.append(eff.body)
                elif eff.type == "react":
                    continue  # the command dispatcher acknowledges commands itself
                else:
                    queued.append(eff)
            changed = isinstance(result, Transition) and (
                new_state.model_dump(exclude={"updated_at"}) != rec.state.model_dump(exclude={"updated_at"}))
            head, count = rec.audit_head, rec.audit_count
            for ev in result.audit:
                h = chain_hash(head, ev)
                d = ev.model_dump(mode="json")
                self._q("INSERT INTO cr_audit (repo, issue, seq, cr, at, actor, action, from_state, to_state, reason,"
                        " evidence, delivery_id, refused, prev_hash, hash) VALUES"
                        " (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        [repo, issue, count, d["cr"], d["at"], d["actor"], d["action"], d["from_state"],
                         d["to_state"], d["reason"], json.dumps(d["evidence"], sort_keys=True), d["delivery_id"],
                         int(d["refused"]), head, h])
                head, count = h, count + 1
            for eff in queued:
                self._q("INSERT INTO cr_outbox (repo, issue, kind, effect, created_at) VALUES (?, ?, ?, ?, ?)",
                        [repo, issue, eff.type, eff.model_dump_json(), now])
            for p in new_state.prs:
                self._q("INSERT OR IGNORE INTO cr_links VALUES (?, ?, ?, ?)", [repo, p.number, issue, now])
            values = {
                "repo": repo, "issue": issue, "number": new_state.number, "status": new_state.state,
                "title": new_state.title, "risk": new_state.risk, "breaking": int(new_state.breaking),
                "state": new_state.model_dump_json(),
                "validation": json.dumps(validation) if validation is not None else (
                    json.dumps(rec.validation) if rec.validation is not None else None),
                "impact": rec.impact, "impact_at": rec.impact_at, "html_url": html_url or rec.html_url,
                "installation_id": installation_id or rec.installation_id, "audit_head": head,
                "audit_count": count, "created_at": rec.created_at or now, "updated_at": now if changed or
                result.audit else rec.updated_at,
            }
            cols = ", ".join(values)
            self._q(f"INSERT INTO crs ({cols}) VALUES ({', '.join('?' * len(values))}) ON CONFLICT (repo, issue)"
                    " DO UPDATE SET " + ", ".join(f"{c} = excluded.{c}" for c in values if c not in ("repo", "issue")),
                    list(values.values()))
            out = Applied(key=key, ok=isinstance(result, Transition), state=new_state.state, cr=new_state.id,
                          changed=changed, replies=replies,
                          reason=result.reason if isinstance(result, Refusal) else "")
            self._q("INSERT INTO cr_applied VALUES (?, ?, ?, ?, ?)",
                    [key, repo, issue, json.dumps(out.as_dict()), now])
            if done_outbox is not None:
                self._q("UPDATE cr_outbox SET status = 'done', done_at = ? WHERE id = ?", [now, done_outbox])
            return out

    def mark_done(self, outbox_id: int, now: float | None = None) -> None:
        with self.store._lock:
            self._q("UPDATE cr_outbox SET status = 'done', done_at = ? WHERE id = ?",
                    [time.time() if now is None else now, outbox_id])

    def mark_failed(self, outbox_id: int, error: str, *, give_up_after: int = 5) -> bool:
        """Count a failed attempt; True when the effect is given up (``dead``)."""
        with self.store._lock:
            self._q("UPDATE cr_outbox SET attempts = attempts + 1, last_error = ?,"
                    " status = CASE WHEN attempts + 1 >= ? THEN 'dead' ELSE status END WHERE id = ?",
                    [error[-2000:], give_up_after, outbox_id])
            row = self._q("SELECT status FROM cr_outbox WHERE id = ?", [outbox_id]).fetchone()
        return row is not None and row[0] == "dead"

    def set_impact(self, repo: str, issue: int, markdown: str, now: float | None = None) -> None:
        with self.store._lock:
            self._q("UPDATE crs SET impact = ?, impact_at = ? WHERE repo = ? AND issue = ?",
                    [markdown, time.time() if now is None else now, repo, issue])

    def set_validation(self, repo: str, issue: int, validation: dict[str, Any]) -> None:
        with self.store._lock:
            self._q("UPDATE crs SET validation = ? WHERE repo = ? AND issue = ?",
                    [json.dumps(validation), repo, issue])

    def schedule(self, key: str, repo: str, issue: int, due: float, event: str,
                 installation_id: int | None) -> None:
        with self.store._lock:
            self._q("INSERT OR IGNORE INTO cr_schedule (key, repo, issue, due, event, installation_id)"
                    " VALUES (?, ?, ?, ?, ?, ?)", [key, repo, issue, due, event, installation_id])

    def schedule_done(self, key: str) -> None:
        with self.store._lock:
            self._q("UPDATE cr_schedule SET done = 1 WHERE key = ?", [key])


_by_store: "weakref.WeakKeyDictionary[Store, CRStore]" = weakref.WeakKeyDictionary()


def crs_of(store: Store) -> CRStore:
    """The :class:`CRStore` of ``store`` (one per store; its schema checked once)."""
    crs = _by_store.get(store)
    if crs is None:
        crs = _by_store[store] = CRStore(store)
    return crs


def parse_event(data: dict[str, Any] | str) -> WorkflowEvent:
    """A workflow event from its JSON (scheduled events)."""
    return _EVENT.validate_json(data) if isinstance(data, str) else _EVENT.validate_python(data)


__all__ = ["ACTIVE_STATES", "Applied", "CRRecord", "CRStore", "MIGRATIONS", "NAMESPACE", "OutboxItem",
           "audit_row_event", "crs_of", "ensure_schema", "parse_event"]
