"""Append-only audit events with a hash chain.

Each stored event carries `prev_hash` and `hash = sha256(prev_hash + "\\n" + canonical JSON of
the event)`, so editing, deleting or reordering any stored event breaks the chain from there
on; `verify(events)` finds the first event that does not fit. The state store keeps the
chained events; this module is pure.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any, Iterable

from pydantic import BaseModel, ConfigDict, Field

from .plan import Evidence

__all__ = ["AuditEvent", "ChainedEvent", "AuditLog", "GENESIS", "canonical_json", "chain_hash", "verify"]

GENESIS = "0" * 64


class AuditEvent(BaseModel):
    """Who did what to which change request, when, why, with what evidence, from which delivery."""

    model_config = ConfigDict(extra="forbid")

    cr: str  # "DLCM-3", or "#12" before the request has an id
    issue: int
    at: dt.datetime
    actor: str | None = None
    action: str  # event kind, "command:approve", ...
    from_state: str | None = None
    to_state: str | None = None
    reason: str = ""
    evidence: list[Evidence] = Field(default_factory=list)
    delivery_id: str | None = None
    refused: bool = False


class ChainedEvent(BaseModel):
    model_config = ConfigDict(extra="forbid")

    seq: int  # 0-based position in the log
    prev_hash: str
    hash: str
    event: AuditEvent


def canonical_json(event: AuditEvent | dict[str, Any]) -> str:
    """Sorted keys, no whitespace, UTF-8 text: the same bytes for the same event, always."""
    data = event.model_dump(mode="json") if isinstance(event, BaseModel) else event
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def chain_hash(prev_hash: str, event: AuditEvent) -> str:
    h = hashlib.sha256()
    h.update(prev_hash.encode("ascii", errors="replace"))
    h.update(b"\n")
    h.update(canonical_json(event).encode("utf-8"))
    return h.hexdigest()


class AuditLog:
    """An in-memory chain; the store persists `events` (plain data) and rebuilds it with `AuditLog(rows)`."""

    def __init__(self, events: Iterable[ChainedEvent | dict] | None = None):
        self.events: list[ChainedEvent] = [e if isinstance(e, ChainedEvent) else ChainedEvent.model_validate(e)
                                           for e in (events or ())]

    @property
    def head(self) -> str:
        return self.events[-1].hash if self.events else GENESIS

    def append(self, event: AuditEvent) -> ChainedEvent:
        prev = self.head
        ce = ChainedEvent(seq=len(self.events), prev_hash=prev, hash=chain_hash(prev, event), event=event)
        self.events.append(ce)
        return ce

    def extend(self, events: Iterable[AuditEvent]) -> list[ChainedEvent]:
        return [self.append(e) for e in events]

    def verify(self, expected_head: str | None = None) -> int | None:
        return verify(self.events, expected_head)

    def for_issue(self, issue: int) -> list[AuditEvent]:
        return [e.event for e in self.events if e.event.issue == issue]


def verify(events: Iterable[ChainedEvent | dict], expected_head: str | None = None) -> int | None:
    """Index of the first event that was tampered with (edited, removed, reordered), or None.

    With `expected_head` (the last hash kept elsewhere), a log cut short at the end is caught
    too: the index returned is then `len(events)`.
    """
    prev = GENESIS
    n = 0
    for i, raw in enumerate(events):
        n = i + 1
        try:
            e = raw if isinstance(raw, ChainedEvent) else ChainedEvent.model_validate(raw)
        except Exception:
            return i
        if e.seq != i or e.prev_hash != prev or e.hash != chain_hash(prev, e.event):
            return i
        prev = e.hash
    if expected_head is not None and prev != expected_head:
        return n
    return None
