"""The change-request store: DLCM numbers, idempotent events, the append-only hash-chained audit trail,
``dlcm audit``, and the pure helpers of the change-request feature (links, blockers)."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import threading

import pytest
from click.testing import CliRunner

from bot.cr_store import CRStore, crs_of
from bot.features.change_requests import (
    blocking_reasons,
    branch_references,
    is_blocking,
    looks_like_request,
    references,
)
from bot.store import Store
from checks.changes.workflow import Approval, Command, CRState, Opened
from dlcm.cli import main as cli

from .test_app_cr_support import form_body

REPO = "acme/shop"
AT = dt.datetime(2030, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "dlcm.sqlite3")
    yield s
    s.close()


def opened(issue: int = 7, delivery: str = "d-1"):
    return lambda state, allocate: Opened(title="[DLCM] x", author="carol", actor="carol", at=AT,
                                          delivery_id=delivery)


def new(issue: int = 7):
    return lambda: CRState.new(issue, REPO)


def test_numbers_are_unique_and_never_reused_across_connections(tmp_path):
    path = tmp_path / "dlcm.sqlite3"
    Store(path).close()
    got: list[int] = []
    lock = threading.Lock()

    def worker() -> None:
        s = Store(path)
        crs = CRStore(s)
        mine = [crs.next_number(REPO) for _ in range(25)]
        with lock:
            got.extend(mine)
        s.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(got) == list(range(1, 101))
    s = Store(path)
    crs = CRStore(s)
    assert crs.next_number("ACME/Shop") == 101  # one counter per repository, whatever the case
    assert crs.next_number("acme/other") == 1
    s.close()


def test_an_event_is_applied_once_per_key(store):
    crs = crs_of(store)
    first = crs.apply(REPO, 7, "k-1", opened(), create=new())
    assert (first.ok, first.state, first.cr, first.duplicate) == (True, "proposed", "#7", False)
    again = crs.apply(REPO, 7, "k-1", opened(), create=new())
    assert again.duplicate and again.as_dict() == first.as_dict()
    assert len(crs.audit(REPO, 7)) == 1
    assert [i.effect.type for i in crs.pending(REPO, 7)] == ["validate", "update_status_comment"]
    assert crs.apply(REPO, 8, "k-2", opened()) is None  # no request and nothing to create


def test_command_replies_are_returned_not_queued_and_refusals_are_audited(store):
    crs = crs_of(store)
    crs.apply(REPO, 7, "k-1", opened(), create=new())
    cmd = Command(command="approve", can_write=False, actor="bob", at=AT, comment_id=99, delivery_id="d-2")
    res = crs.apply(REPO, 7, "k-2", lambda s, a: cmd)
    assert not res.ok and "write access" in res.reason
    assert res.replies == ["@bob, only people with write access to this repository can run `/dlcm approve`. "
                           "Please ask a maintainer."]
    status = Command(command="status", actor="bob", at=AT, comment_id=100)
    res = crs.apply(REPO, 7, "k-3", lambda s, a: status)
    assert res.ok and "`proposed`" in res.replies[0]
    assert not [i for i in crs.pending(REPO, 7) if i.effect.type in ("reply", "react")]
    [_, refused] = crs.audit(REPO, 7)
    assert refused.event.refused and refused.event.actor == "bob" and refused.event.delivery_id == "d-2"


def test_the_audit_table_is_append_only_and_its_chain_catches_tampering(store):
    crs = crs_of(store)
    crs.apply(REPO, 7, "k-1", opened(), create=new())
    for n in range(3):
        cmd = Command(command="cancel" if n == 2 else "approve", can_write=n == 2, actor="dave", at=AT,
                      args=["not needed"], comment_id=n)
        crs.apply(REPO, 7, f"k-c{n}", lambda s, a, cmd=cmd: cmd)
    events = crs.audit(REPO, 7)
    assert [e.seq for e in events] == [0, 1, 2, 3]
    assert events[1].prev_hash == events[0].hash and crs.verify_audit(REPO, 7) is None
    conn = store.db.conn
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        conn.execute("UPDATE cr_audit SET reason = 'nothing happened' WHERE seq = 1")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        conn.execute("DELETE FROM cr_audit WHERE seq = 3")

    # someone with the file drops the triggers: every kind of edit is caught
    conn.execute("DROP TRIGGER cr_audit_no_update")
    conn.execute("DROP TRIGGER cr_audit_no_delete")
    conn.execute("UPDATE cr_audit SET evidence = '[]', reason = reason || '.' WHERE seq = 2")
    assert crs.verify_audit(REPO, 7) == 2
    conn.execute("UPDATE cr_audit SET reason = substr(reason, 1, length(reason) - 1) WHERE seq = 2")
    assert crs.verify_audit(REPO, 7) is None  # put back exactly: verifies again
    conn.execute("DELETE FROM cr_audit WHERE seq = 3")
    assert crs.verify_audit(REPO, 7) == 3  # cut short at the end: the head kept in `crs` disagrees
    conn.execute("DELETE FROM cr_audit WHERE seq = 1")
    assert crs.verify_audit(REPO, 7) == 1


def test_dlcm_audit_cli(store, tmp_path):
    crs = crs_of(store)
    crs.apply(REPO, 7, "k-1", opened(), create=new())
    path = str(store.path)
    run = CliRunner().invoke
    res = run(cli, ["audit", "#7", "--repo", REPO, "--db", path])
    assert res.exit_code == 0, res.output
    assert res.output.splitlines()[0] == "#7 (acme/shop#7) · proposed · 1 audit events"
    assert "@carol" in res.output and "change request opened" in res.output and "delivery d-1" in res.output
    data = json.loads(run(cli, ["audit", "#7", "--repo", REPO, "--db", path, "--format", "json"]).output)
    assert data["verified"] and data["events"][0]["action"] == "opened" and data["events"][0]["hash"]
    assert run(cli, ["audit", "DLCM-9", "--repo", REPO, "--db", path]).exit_code == 2
    assert run(cli, ["audit", "DLCM-1", "--repo", REPO, "--db", str(tmp_path / "none.db")]).exit_code == 2


# -- pure helpers ---------------------------------------------------------------------------


@pytest.mark.parametrize(("texts", "expected"), [
    pytest.param(("Implements DLCM-3 and dlcm-12.",), ({3, 12}, set()), id="ids"),
    pytest.param(("Fixes #4, see also #5",), (set(), {4, 5}), id="issues"),
    pytest.param(("https://github.com/o/r/issues/9#issuecomment-1 and x/DLCM-2",), (set(), set()), id="not-refs"),
    pytest.param((None, "", "DLCM-1"), ({1}, set()), id="several-texts"),
])
def test_references(texts, expected):
    assert references(*texts) == expected


@pytest.mark.parametrize(("branch", "expected"), [
    ("dlcm-3-add-phone", ({3}, set())),
    ("feature/DLCM-12", ({12}, set())),
    ("issue-7", (set(), {7})),
    ("cr_8/nickname", (set(), {8})),
    ("release-2024", (set(), set())),
    (None, (set(), set())),
])
def test_branch_references(branch, expected):
    assert branch_references(branch) == expected


def test_looks_like_request():
    assert looks_like_request(form_body())
    assert not looks_like_request("There is a typo in the README.")
    assert not looks_like_request("### Steps to reproduce\n\n1. open the app")


def test_blocking_reasons_name_the_request_the_teams_and_the_command():
    s = CRState(issue=4, number=2, repo=REPO, state="in-progress", breaking=True, teams=["@shop/data-team"],
                digest="abc")
    assert is_blocking(s)
    [reason] = blocking_reasons([s], 9)
    assert reason == ("DLCM-2 is a breaking change and needs 1 approval(s) from @shop/data-team (0 so far): "
                      "a member runs `/dlcm approve` on #4")
    s.approvals.append(Approval(actor="dave", at=AT, teams=["@shop/data-team"], digest="abc"))
    assert not is_blocking(s) and blocking_reasons([s]) == []
    s.digest = "changed"  # the request was edited after the approval: it no longer counts
    assert is_blocking(s)
    done = s.model_copy(update={"state": "deployed"})
    assert blocking_reasons([done]) == []
    plain = CRState(issue=5, number=3, state="approved")
    assert blocking_reasons([plain]) == []
