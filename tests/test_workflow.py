"""The change-request state machine: every legal transition, refusals with reasons, approvals,
effects (labels, notifications once per milestone, webhooks), the status comment, the audit chain."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from checks.changes import workflow as wf
from checks.changes.audit import AuditLog, verify
from checks.changes.plan import Evidence, plan_change
from checks.changes.status import render_status
from checks.changes.validate import validate_body
from checks.config import ChangeRequests, Config
from tests.test_cr_helpers import example_model, fixture

T0 = dt.datetime(2025, 3, 1, 9, 0, tzinfo=dt.timezone.utc)
SHA = "a" * 40
WRITER = dict(can_write=True, actor_teams=["@shop/data-team"])


@pytest.fixture(scope="module")
def cases():
    """(result, plan) of a non-breaking add-field, a breaking remove-field and an invalid request."""
    model = example_model()
    out = {}
    for key, name in (("add", "add_field.md"), ("remove", "remove_field_not_breaking.md"),
                      ("bad", "add_field_existing_column.md")):
        r = validate_body(fixture(name), model)
        out[key] = (r, plan_change(r, model))
    return out


def at(minutes: int = 0) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def ok(state, event):
    t = wf.apply(state, event)
    assert t.ok, getattr(t, "reason", "")
    assert t.state.state in wf.TRANSITIONS[(state.state, wf.event_key(event))]
    return t


def evidence_for(plan, skip=()):
    return [Evidence(step=s.key, kind="file", ref=f"src/{s.key}.ts", line=3) for s in plan.checklist
            if s.key != "approvals" and s.key not in skip]


def reach(target: str, cases, kind: str = "add", config: Config | None = None) -> wf.CRState:
    """A change request driven to `target` through legal events."""
    r, plan = cases[kind]
    s = wf.CRState.new(issue=7, repo="shop/app", config=config)
    s = ok(s, wf.Opened(at=at(), actor="dave", author="dave", title="[DLCM] Loyalty points")).state
    if target == "proposed":
        return s
    if target == "needs-info":
        return ok(s, wf.ValidationFailed(at=at(1), result=cases["bad"][0])).state
    s = ok(s, wf.ValidationPassed(at=at(1), result=r, plan=plan, number=5)).state
    if target == "approved":
        return s
    if target == "cancelled":
        return ok(s, wf.Command(at=at(2), actor="erin", command="cancel", **WRITER)).state
    s = ok(s, wf.PrLinked(at=at(2), pr=12, head_sha=SHA)).state
    if target == "in-progress":
        return s
    s = ok(s, wf.CheckPassed(at=at(3), pr=12, head_sha=SHA, evidence=evidence_for(plan))).state
    if kind == "remove":
        s = ok(s, wf.Command(at=at(4), actor="erin", command="approve", **WRITER)).state
    assert s.state == "validated"
    if target == "validated":
        return s
    s = ok(s, wf.PrMerged(at=at(5), pr=12, merge_sha="b" * 40)).state
    s = ok(s, wf.DeploymentSucceeded(at=at(6), environment="staging", sha="b" * 40)).state
    if target == "deployed":
        return s
    s = ok(s, wf.DeploymentSucceeded(at=at(7), environment="production", sha="b" * 40)).state
    if target == "monitoring":
        return s
    if target == "rolled-back":
        return ok(s, wf.RollbackEvent(at=at(8), reason="error rate up")).state
    return ok(s, wf.MonitoringWindowPassed(at=at(7 + 24 * 60))).state


# Every (from, event, to) of the table, with how to get there: (kind of change, setup, event).
def _scenarios():
    C = wf.Command
    out = []

    def add(frm, to, event, kind="add", setup=None):
        out.append((frm, to, event, kind, setup))

    add("proposed", "proposed", lambda c: wf.Opened(at=at(), actor="x"),
        setup=lambda s, c: s.model_copy(update={"opened": False}))
    for s in ("proposed", "needs-info", "approved", "in-progress", "validated", "rolled-back"):
        add(s, s, lambda c: wf.Edited(at=at(30), actor="dave", title="new title"))
    passed = lambda c: wf.ValidationPassed(at=at(30), result=c["add"][0], plan=c["add"][1])  # noqa: E731
    failed = lambda c: wf.ValidationFailed(at=at(30), result=c["bad"][0])  # noqa: E731
    add("proposed", "approved", passed)
    add("needs-info", "approved", passed)
    add("approved", "approved", passed)
    add("in-progress", "in-progress", passed)
    add("validated", "validated", passed)
    add("validated", "in-progress", lambda c: wf.ValidationPassed(at=at(30), result=c["remove"][0], plan=c["remove"][1]))
    add("rolled-back", "rolled-back", passed)
    add("proposed", "needs-info", failed)
    add("needs-info", "needs-info", failed)
    add("approved", "needs-info", failed)
    add("in-progress", "in-progress", failed)
    add("validated", "in-progress", failed)
    add("rolled-back", "rolled-back", failed)
    for s in wf.STATES:
        add(s, s, lambda c: C(at=at(30), actor="anyone", command="status"))
        add(s, s, lambda c: C(at=at(30), actor="anyone", command="help"))
    approve = lambda c: C(at=at(30), actor="erin", command="approve", **WRITER)  # noqa: E731
    add("approved", "approved", approve)
    add("in-progress", "in-progress", approve)
    add("in-progress", "validated", lambda c: C(at=at(30), actor="frank", command="approve", **WRITER), kind="remove",
        setup=lambda s, c: ok(s, wf.CheckPassed(at=at(20), pr=12, evidence=evidence_for(c["remove"][1]))).state)
    add("validated", "validated", lambda c: C(at=at(30), actor="frank", command="approve", **WRITER), kind="remove")
    done = lambda c: C(at=at(30), actor="erin", command="done", args=["tests", "https://ci.example/run/1"], **WRITER)  # noqa: E731
    add("approved", "approved", done)
    add("in-progress", "in-progress", done)
    add("in-progress", "validated", done,
        setup=lambda s, c: ok(s, wf.CheckPassed(at=at(20), pr=12, evidence=evidence_for(c["add"][1], skip={"tests"}))).state)
    add("validated", "validated", done)
    add("rolled-back", "rolled-back", done)
    for s in ("proposed", "needs-info", "approved", "in-progress", "validated", "rolled-back"):
        add(s, "cancelled", lambda c: C(at=at(30), actor="erin", command="cancel", args=["not", "needed"], **WRITER))
    for s in ("deployed", "monitoring"):
        add(s, "rolled-back", lambda c: C(at=at(30), actor="erin", command="rollback", **WRITER))
        add(s, "rolled-back", lambda c: wf.RollbackEvent(at=at(30), reason="alert"))
    add("approved", "in-progress", lambda c: wf.PrLinked(at=at(30), pr=12, head_sha=SHA))
    add("in-progress", "in-progress", lambda c: wf.PrLinked(at=at(30), pr=13))
    add("validated", "validated", lambda c: wf.PrLinked(at=at(30), pr=12, head_sha=SHA))
    add("validated", "in-progress", lambda c: wf.PrLinked(at=at(30), pr=14, head_sha="c" * 40))
    add("rolled-back", "in-progress", lambda c: wf.PrLinked(at=at(30), pr=15))
    add("rolled-back", "rolled-back", lambda c: wf.PrLinked(at=at(30), pr=12))
    add("in-progress", "in-progress", lambda c: wf.CheckPassed(at=at(30), pr=12, evidence=[]))
    add("in-progress", "validated", lambda c: wf.CheckPassed(at=at(30), pr=12, evidence=evidence_for(c["add"][1])))
    add("validated", "validated", lambda c: wf.CheckPassed(at=at(30), pr=12))
    add("in-progress", "in-progress", lambda c: wf.CheckFailed(at=at(30), pr=12, summary="DLCM107"))
    add("validated", "in-progress", lambda c: wf.CheckFailed(at=at(30), pr=12, summary="DLCM107"))
    add("in-progress", "in-progress", lambda c: wf.PrMerged(at=at(30), pr=12))
    add("validated", "validated", lambda c: wf.PrMerged(at=at(30), pr=12))
    merged = lambda s, c: ok(s, wf.PrMerged(at=at(20), pr=12)).state  # noqa: E731
    add("validated", "deployed", lambda c: wf.DeploymentSucceeded(at=at(30), environment="staging"), setup=merged)
    add("validated", "monitoring", lambda c: wf.DeploymentSucceeded(at=at(30), environment="production"), setup=merged)
    add("deployed", "deployed", lambda c: wf.DeploymentSucceeded(at=at(30), environment="qa"))
    add("deployed", "monitoring", lambda c: wf.DeploymentSucceeded(at=at(30), environment="prod"))
    add("monitoring", "done", lambda c: wf.MonitoringWindowPassed(at=at(9 + 24 * 60)))
    return out


SCENARIOS = _scenarios()


def test_scenarios_cover_the_whole_transition_table(cases):
    table = {(frm, key, to) for (frm, key), tos in wf.TRANSITIONS.items() for to in tos}
    covered = {(frm, wf.event_key(event(cases)), to) for frm, to, event, _k, _s in SCENARIOS}
    assert covered == table


@pytest.mark.parametrize("frm, to, event, kind, setup", SCENARIOS,
                         ids=[f"{s[0]}-{i}-{s[1]}" for i, s in enumerate(SCENARIOS)])
def test_every_legal_transition(cases, frm, to, event, kind, setup):
    s = reach(frm, cases, kind)
    if setup is not None:
        s = setup(s, cases)
    assert s.state == frm
    e = event(cases)
    t = wf.apply(s, e)
    assert t.ok, t.reason
    assert t.state.state == to
    assert to in wf.TRANSITIONS[(frm, wf.event_key(e))]
    if not (isinstance(e, wf.Command) and e.command in ("status", "help")):
        assert t.audit and all(a.issue == 7 and a.at == e.at for a in t.audit)
        assert t.audit[-1].to_state == to and t.audit[0].from_state == frm
    assert wf.CRState.model_validate_json(t.state.model_dump_json()) == t.state  # persisted as JSON


@pytest.mark.parametrize("frm, event, reason", [
    ("in-progress", wf.DeploymentSucceeded(at=T0, environment="production"), "Cannot deploy: DLCM-5 is not validated (state in-progress)"),
    ("approved", wf.DeploymentSucceeded(at=T0), "Cannot deploy: DLCM-5 is not validated (state approved)"),
    ("validated", wf.DeploymentSucceeded(at=T0), "Cannot deploy: #12 not merged"),
    ("validated", wf.Command(at=T0, actor="erin", command="rollback", **WRITER), "Cannot roll back: DLCM-5 is not deployed"),
    ("monitoring", wf.Command(at=T0, actor="erin", command="cancel", **WRITER), "Cannot cancel: DLCM-5 is monitoring — run `/dlcm rollback` first"),
    ("needs-info", wf.Command(at=T0, actor="erin", command="approve", **WRITER), "Cannot approve: #7 is not valid yet"),
    ("needs-info", wf.PrLinked(at=T0, pr=3), "Cannot link pull request #3: #7 is not approved yet (state needs-info)"),
    ("approved", wf.CheckPassed(at=T0, pr=12), "DLCM-5 has no work in progress"),
    ("in-progress", wf.CheckPassed(at=T0, pr=99), "Pull request #99 is not linked to DLCM-5"),
    ("validated", wf.MonitoringWindowPassed(at=T0), "DLCM-5 is not being monitored"),
    ("monitoring", wf.MonitoringWindowPassed(at=at(60)), "The monitoring window of DLCM-5 ends at"),
    ("done", wf.Edited(at=T0), "DLCM-5 is done: open a new change request"),
    ("cancelled", wf.Command(at=T0, actor="erin", command="approve", **WRITER), "DLCM-5 is cancelled: open a new change request"),
    ("proposed", wf.Opened(at=T0), "#7 is already open"),
    ("deployed", wf.ValidationFailed.model_construct(at=T0, kind="validation_failed", actor=None, delivery_id=None, result=None),
     "DLCM-5 is deployed: its request is no longer validated"),
    ("in-progress", wf.Command(at=T0, actor="erin", command="done", **WRITER), "Say which step is done"),
    ("in-progress", wf.Command(at=T0, actor="erin", command="done", args=["nope", "x"], **WRITER), "`nope` is not a step of DLCM-5"),
    ("in-progress", wf.Command(at=T0, actor="erin", command="done", args=["tests"], **WRITER), "Give evidence for `tests`"),
    ("in-progress", wf.Command(at=T0, actor="erin", command="done", args=["approvals", "x"], **WRITER), "`approvals` is not a step"),
])
def test_illegal_events_are_refused_with_a_reason(cases, frm, event, reason):
    s = reach(frm, cases)
    t = wf.apply(s, event)
    assert not t.ok
    assert t.reason.startswith(reason), t.reason
    assert t.state == s  # nothing changed
    [a] = t.audit
    assert a.refused and a.reason == t.reason and a.from_state == a.to_state == frm


def test_refused_commands_get_a_polite_answer_and_a_reaction(cases):
    s = reach("in-progress", cases)
    t = wf.apply(s, wf.Command(at=T0, actor="mallory", command="cancel", can_write=False, comment_id=42))
    assert not t.ok and t.state == s
    assert "Only people with write access" in t.reason
    react, reply = t.effects
    assert (react.type, react.comment_id, react.content) == ("react", 42, "confused")
    assert reply.type == "reply" and reply.body.startswith("@mallory, only people with write access")
    assert reply.in_reply_to == 42
    # reading is open to everyone
    st_ = wf.apply(s, wf.Command(at=T0, actor="mallory", command="status", comment_id=43))
    assert st_.ok and [e.type for e in st_.effects] == ["react", "reply"] and "DLCM-5" in st_.effects[1].body


def test_breaking_change_needs_approvals_from_owning_team_members(cases):
    cfg = Config(change_requests=ChangeRequests(breaking_approvals=2))
    r, plan = cases["remove"]
    s = reach("in-progress", cases, "remove", config=cfg)
    assert s.breaking and s.approvals_needed == 2
    s = ok(s, wf.CheckPassed(at=at(10), pr=12, evidence=evidence_for(plan))).state
    assert s.state == "in-progress" and s.missing() == [f"2 more approval(s) from {', '.join(plan.teams)} (`/dlcm approve`)"]
    # the author, non-members and non-writers do not count
    for cmd, why in (
        (wf.Command(at=at(11), actor="dave", command="approve", **WRITER), "You opened this change request"),
        (wf.Command(at=at(11), actor="gina", command="approve", can_write=True, actor_teams=["@shop/marketing"]),
         "Approvals for DLCM-5 must come from members of the owning teams"),
        (wf.Command(at=at(11), actor="hank", command="approve", can_write=False, actor_teams=["@shop/data-team"]),
         "Only people with write access"),
    ):
        t = wf.apply(s, cmd)
        assert not t.ok and t.reason.startswith(why)
    t = ok(s, wf.Command(at=at(12), actor="erin", command="approve", comment_id=7, **WRITER))
    s = t.state
    assert s.state == "in-progress" and len(s.valid_approvals()) == 1
    assert any(e.type == "reply" and "(1/2)" in e.body for e in t.effects)
    dup = wf.apply(s, wf.Command(at=at(13), actor="Erin", command="approve", **WRITER))
    assert not dup.ok and dup.reason == "You already approved DLCM-5."
    t = ok(s, wf.Command(at=at(14), actor="ivy", command="approve", can_write=True, actor_teams=["@shop/backend"]))
    assert t.state.state == "validated"
    assert [a.to_state for a in t.audit] == ["in-progress", "validated"]
    assert t.state.step("approvals").done and [e.ref for e in t.state.step("approvals").evidence] == ["erin", "ivy"]


def test_non_breaking_change_validates_without_approvals(cases):
    s = reach("validated", cases, "add")
    assert s.approvals == [] and not s.breaking


def test_edit_that_changes_the_change_resets_approvals(cases):
    s = reach("validated", cases, "remove")
    assert len(s.valid_approvals()) == 1
    r2 = validate_body(fixture("remove_field_not_breaking.md").replace("### Table(s)\n\nusers", "### Table(s)\n\nusers")
                       .replace("phone", "username"), example_model())
    t = ok(s, wf.ValidationPassed(at=at(40), result=r2, plan=plan_change(r2, example_model())))
    assert t.state.state == "in-progress" and t.state.valid_approvals() == []
    assert any("no longer count" in a.reason for a in t.audit)


def test_effects_of_a_valid_request(cases):
    r, plan = cases["remove"]
    s = reach("proposed", cases)
    t = ok(s, wf.ValidationPassed(at=at(1), result=r, plan=plan, number=5, delivery_id="d-1"))
    types = [e.type for e in t.effects]
    assert types[:4] == ["set_title", "add_labels", "assign", "notify"] and types[-1] == "update_status_comment"
    title = t.effects[0]
    assert title.title == "[DLCM-5] Loyalty points"
    assert t.effects[1].labels == ["dlcm:type:remove-field", "dlcm:risk:high", "dlcm:breaking"]
    assert t.effects[2].assignees == plan.assignees
    notes = [e for e in t.effects if e.type == "notify"]
    assert [n.milestone for n in notes] == ["approved", "approval-needed"]
    assert notes[0].teams == plan.teams and notes[0].idempotency_key == "shop/app#7:approved"
    assert t.audit[0].delivery_id == "d-1" and t.audit[0].cr == "DLCM-5"


def test_needs_info_label_comes_and_goes(cases):
    s = reach("needs-info", cases)
    assert s.labels == ["dlcm:needs-info"]
    assert s.problems and all(p.field for p in s.problems)
    t = ok(s, wf.ValidationPassed(at=at(5), result=cases["add"][0], plan=cases["add"][1]))
    assert {"type": "remove_labels", "issue": 7, "labels": ["dlcm:needs-info"]} in [e.model_dump() for e in t.effects]
    assert t.state.labels == ["dlcm:type:add-field", "dlcm:risk:low"] and t.state.number == 7  # no number given: issue


def test_teams_are_notified_once_per_milestone(cases):
    s = reach("validated", cases)
    assert s.notified == ["shop/app#7:approved", "shop/app#7:validated"]
    s = ok(s, wf.CheckFailed(at=at(20), pr=12)).state
    t = ok(s, wf.CheckPassed(at=at(21), pr=12))
    assert t.state.state == "validated"
    assert not [e for e in t.effects if e.type == "notify"]


def test_outgoing_webhook_per_state_change(cases):
    cfg = Config(change_requests=ChangeRequests(notify_webhook="https://hooks.example/dlcm"))
    s = reach("monitoring", cases, config=cfg)
    t = ok(s, wf.Command(at=at(100), actor="erin", command="rollback", args=["5xx", "spike"], **WRITER))
    [hook] = [e for e in t.effects if e.type == "webhook"]
    assert hook.url == "https://hooks.example/dlcm" and hook.event == "dlcm.state_changed"
    assert hook.payload["from"] == "monitoring" and hook.payload["to"] == "rolled-back" and hook.payload["id"] == "DLCM-5"
    assert "5xx spike" in hook.payload["reason"]
    # keys are unique across the whole history
    keys = set()
    s2 = wf.CRState.new(7, "shop/app", cfg)
    for e in [wf.Opened(at=at()), wf.ValidationPassed(at=at(1), result=cases["add"][0], plan=cases["add"][1]),
              wf.PrLinked(at=at(2), pr=1), wf.CheckPassed(at=at(3), pr=1, evidence=evidence_for(cases["add"][1])),
              wf.CheckFailed(at=at(4), pr=1), wf.CheckPassed(at=at(5), pr=1)]:
        t = ok(s2, e)
        s2 = t.state
        for h in (x for x in t.effects if x.type == "webhook"):
            assert h.idempotency_key not in keys
            keys.add(h.idempotency_key)
    assert len(keys) == 5


def test_production_deployment_schedules_the_end_of_monitoring(cases):
    s = reach("deployed", cases)
    t = ok(s, wf.DeploymentSucceeded(at=at(60), environment="production", sha="b" * 40))
    [sched] = [e for e in t.effects if e.type == "schedule"]
    assert sched.at == at(60) + dt.timedelta(hours=24) and sched.event == "monitoring_window_passed"
    assert t.state.monitoring_until == sched.at
    end = ok(t.state, wf.MonitoringWindowPassed(at=sched.at))
    assert end.state.state == "done" and any(e.type == "close_issue" for e in end.effects)


def test_new_commits_on_a_validated_pr_need_new_checks(cases):
    s = reach("validated", cases)
    t = ok(s, wf.PrLinked(at=at(50), pr=12, head_sha="d" * 40))
    assert t.state.state == "in-progress" and t.state.pr(12).check is None
    assert ok(t.state, wf.CheckPassed(at=at(51), pr=12, head_sha="d" * 40)).state.state == "validated"


def test_done_command_records_evidence(cases):
    s = reach("in-progress", cases, "remove")
    t = ok(s, wf.Command(at=at(9), actor="erin", command="done", args=["expand-contract", "https://wiki/plan"],
                         comment_id=9, **WRITER))
    step = t.state.step("expand-contract")
    assert step.done and step.evidence[0].kind == "link" and step.evidence[0].ref == "https://wiki/plan"
    assert [e.type for e in t.effects][:2] == ["react", "reply"]
    assert t.audit[0].evidence[0].ref == "https://wiki/plan"


def test_status_comment(cases):
    s = reach("in-progress", cases, "remove")
    s = ok(s, wf.CheckPassed(at=at(3), pr=12, evidence=evidence_for(cases["remove"][1], skip={"tests"}))).state
    body = render_status(s)
    assert body.startswith("<!-- dlcm:status -->\n### DLCM-5 · 🚧 `in-progress` · remove-field · risk **high** · ⚠️ **breaking**")
    assert "- [x] `migration` Migration in the migrations directory — [`src/migration.ts:3`](https://github.com/shop/app/blob/HEAD/src/migration.ts#L3)" in body
    assert "- [ ] `tests` Tests added or updated, and passing\n" in body
    assert "**Approvals**: 0/1" in body and "@shop/data-team" in body
    assert "**Pull requests**: #12 ✅ checks passed" in body
    assert "**Next step**: Remaining: Tests added or updated, and passing; 1 more approval(s)" in body
    assert "\n\n\n" not in body
    nb = render_status(reach("needs-info", cases))
    assert "**Problems to fix**" in nb and "`users.phone` already exists" in nb and "**Column(s) with type**" in nb
    huge = s.model_copy(update={"problems": s.problems + [wf.Problem(field="columns", message="x" * 1000)] * 100})
    assert len(render_status(huge)) <= 65_535


def test_status_comment_after_opened_and_at_the_end(cases):
    assert "dlcm is validating the request." in render_status(reach("proposed", cases))
    assert "**Next step**: Done." in render_status(reach("done", cases))


# --------------------------------------------------------------------------- audit chain


def _history(cases):
    log = AuditLog()
    s = reach("approved", cases, "remove")
    for e in [wf.PrLinked(at=at(2), pr=12, delivery_id="d2"),
              wf.Command(at=at(3), actor="mallory", command="approve", can_write=False, delivery_id="d3"),
              wf.CheckPassed(at=at(4), pr=12, evidence=evidence_for(cases["remove"][1]), delivery_id="d4"),
              wf.Command(at=at(5), actor="erin", command="approve", delivery_id="d5", **WRITER)]:
        t = wf.apply(s, e)
        log.extend(t.audit)
        s = t.state
    return log


def test_audit_chain_verifies_and_survives_storage(cases):
    log = _history(cases)
    assert len(log.events) == 5 and log.verify() is None
    assert [e.event.delivery_id for e in log.events] == ["d2", "d3", "d4", "d5", "d5"]
    assert log.events[1].event.refused and log.events[1].event.actor == "mallory"
    rows = json.loads(json.dumps([e.model_dump(mode="json") for e in log.events]))  # as the store keeps them
    assert verify(rows) is None and AuditLog(rows).head == log.head
    assert verify(rows, expected_head=log.head) is None


@pytest.mark.parametrize("tamper, first_bad", [
    (lambda r: r[2]["event"].update(reason="nothing to see"), 2),
    (lambda r: r[3]["event"].update(actor="someone-else"), 3),
    (lambda r: r[0]["event"]["evidence"].append({"step": "x", "kind": "link", "ref": "y"}), 0),
    (lambda r: r.pop(1), 1),
    (lambda r: r.insert(0, r.pop(2)), 0),
    (lambda r: r[4].update(hash="f" * 64), 4),
    (lambda r: r[4]["event"].update(extra="field"), 4),
])
def test_audit_chain_finds_the_first_tampered_event(cases, tamper, first_bad):
    rows = json.loads(json.dumps([e.model_dump(mode="json") for e in _history(cases).events]))
    tamper(rows)
    assert verify(rows) == first_bad


def test_audit_chain_cut_short_needs_the_head(cases):
    log = _history(cases)
    rows = [e.model_dump(mode="json") for e in log.events][:-1]
    assert verify(rows) is None  # a prefix is a valid chain...
    assert verify(rows, expected_head=log.head) == 4  # ...but not the one whose head was kept


def test_rehashing_a_tampered_event_breaks_the_next_link(cases):
    from checks.changes.audit import chain_hash

    log = _history(cases)
    ev = log.events[1]
    forged = ev.event.model_copy(update={"refused": False})
    log.events[1] = ev.model_copy(update={"event": forged, "hash": chain_hash(ev.prev_hash, forged)})
    assert log.verify() == 2


# --------------------------------------------------------------------------- fuzzing the machine


def _event_strategy(cases):
    r_add, p_add = cases["add"]
    r_rm, p_rm = cases["remove"]
    minutes = st.integers(0, 5000)
    prs = st.sampled_from([12, 13])
    return st.one_of(
        st.builds(lambda m: wf.Opened(at=at(m), actor="dave", author="dave"), minutes),
        st.builds(lambda m: wf.Edited(at=at(m)), minutes),
        st.builds(lambda m, which: wf.ValidationPassed(at=at(m), result=(r_add, r_rm)[which], plan=(p_add, p_rm)[which]),
                  minutes, st.integers(0, 1)),
        st.builds(lambda m: wf.ValidationFailed(at=at(m), result=cases["bad"][0]), minutes),
        st.builds(lambda m, c, w, args, actor, teams: wf.Command(at=at(m), actor=actor, command=c, can_write=w, args=args,
                                                                 actor_teams=teams, comment_id=1),
                  minutes, st.sampled_from(wf.COMMANDS), st.booleans(),
                  st.lists(st.sampled_from(["tests", "migration", "approvals", "x", "https://e/1"]), max_size=3),
                  st.sampled_from(["dave", "erin", "frank"]), st.sampled_from([[], ["@shop/data-team"]])),
        st.builds(lambda m, p, sha: wf.PrLinked(at=at(m), pr=p, head_sha=sha), minutes, prs, st.sampled_from([None, SHA, "e" * 40])),
        st.builds(lambda m, p, which: wf.CheckPassed(at=at(m), pr=p, evidence=evidence_for((p_add, p_rm)[which])),
                  minutes, prs, st.integers(0, 1)),
        st.builds(lambda m, p: wf.CheckFailed(at=at(m), pr=p), minutes, prs),
        st.builds(lambda m, p: wf.PrMerged(at=at(m), pr=p), minutes, prs),
        st.builds(lambda m, env: wf.DeploymentSucceeded(at=at(m), environment=env), minutes,
                  st.sampled_from(["staging", "production"])),
        st.builds(lambda m: wf.MonitoringWindowPassed(at=at(m)), minutes),
        st.builds(lambda m: wf.RollbackEvent(at=at(m)), minutes),
    )


def test_fuzz_random_event_sequences_follow_the_table(cases):
    events = _event_strategy(cases)

    @settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.lists(events, max_size=25))
    def check(seq):
        s = wf.CRState.new(7, "shop/app")
        log = AuditLog()
        for e in seq:
            t = wf.apply(s, e)  # never raises
            key = wf.event_key(e)
            if t.ok:
                assert t.state.state in wf.TRANSITIONS[(s.state, key)]
            else:
                assert t.state == s and t.reason
            log.extend(t.audit)
            s = t.state
        assert log.verify() is None
        assert s.state in wf.STATES

    check()


def test_evidence_links_point_at_the_checked_commit(cases):
    s = reach("in-progress", cases)
    s = ok(s, wf.CheckPassed(at=at(3), pr=12, head_sha=SHA, evidence=evidence_for(cases["add"][1]))).state
    assert s.step("migration").evidence[0].sha == SHA and s.step("migration").evidence[0].pr == 12
    assert f"(https://github.com/shop/app/blob/{SHA}/src/migration.ts#L3)" in render_status(s)
