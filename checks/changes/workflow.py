"""The change-request workflow as a pure state machine: event in → new state + effects + audit out.

    proposed → needs-info → approved → in-progress → validated → deployed → monitoring → done
                                                       ↘ rolled-back (from deployed/monitoring)
    cancelled (from any state before deployment)

`apply(state, event)` returns a `Transition` (new state, effects, audit events) or a `Refusal`
(the reason, an answer for the actor, an audit event; the state is unchanged). Nothing here
does I/O: effects are plain data that the App turns into GitHub calls, notifications and
webhooks, each with an idempotency key where repeating it would be visible. Validation itself
happens outside (`checks.changes.validate` needs the repository): `opened`/`edited` ask for it
with a `Validate` effect, and the App answers with `ValidationPassed`/`ValidationFailed`.

The allowed transitions are the table `TRANSITIONS`; changes here must be reflected there (a
test walks it, and every result of `apply` is checked against it).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal, Union

from pydantic import BaseModel, Field

from ..config import Config
from .audit import AuditEvent
from .plan import LABEL_NEEDS_INFO, ChecklistStep, Evidence, Plan
from .request import Problem
from .validate import ValidationResult

__all__ = [
    "State", "STATES", "TERMINAL", "TRANSITIONS", "Settings", "Approval", "StepState", "PRState", "Deployment",
    "CRState", "Opened", "Edited", "ValidationPassed", "ValidationFailed", "Command", "PrLinked", "CheckPassed",
    "CheckFailed", "PrMerged", "DeploymentSucceeded", "MonitoringWindowPassed", "RollbackEvent", "WorkflowEvent",
    "UpdateStatusComment", "Reply", "React", "AddLabels", "RemoveLabels", "Assign", "SetTitle", "Notify", "Webhook",
    "Validate", "Schedule", "CloseIssue", "Effect", "Transition", "Refusal", "apply", "event_key", "next_step",
    "validation_event", "STATUS_MARKER", "COMMANDS", "mermaid",
]

State = Literal["proposed", "needs-info", "approved", "in-progress", "validated", "deployed", "monitoring", "done",
                "rolled-back", "cancelled"]
STATES: tuple[str, ...] = ("proposed", "needs-info", "approved", "in-progress", "validated", "deployed",
                           "monitoring", "done", "rolled-back", "cancelled")
TERMINAL = frozenset({"done", "cancelled"})
STATUS_MARKER = "<!-- dlcm:status -->"
COMMANDS = ("approve", "done", "cancel", "status", "rollback", "help")
WRITE_COMMANDS = frozenset({"approve", "done", "cancel", "rollback"})

_BEFORE_DEPLOY = ("proposed", "needs-info", "approved", "in-progress", "validated", "rolled-back")
_ACTIVE = ("proposed", "needs-info", "approved", "in-progress", "validated", "deployed", "monitoring", "rolled-back")

# (state, event key) -> states it may lead to. Event keys: the event kind, "command:<name>" for commands.
TRANSITIONS: dict[tuple[str, str], tuple[str, ...]] = {
    ("proposed", "opened"): ("proposed",),
    **{(s, "edited"): (s,) for s in _BEFORE_DEPLOY},
    ("proposed", "validation_passed"): ("approved",),
    ("needs-info", "validation_passed"): ("approved",),
    ("approved", "validation_passed"): ("approved",),
    ("in-progress", "validation_passed"): ("in-progress",),
    ("validated", "validation_passed"): ("validated", "in-progress"),
    ("rolled-back", "validation_passed"): ("rolled-back",),
    ("proposed", "validation_failed"): ("needs-info",),
    ("needs-info", "validation_failed"): ("needs-info",),
    ("approved", "validation_failed"): ("needs-info",),
    ("in-progress", "validation_failed"): ("in-progress",),
    ("validated", "validation_failed"): ("in-progress",),
    ("rolled-back", "validation_failed"): ("rolled-back",),
    **{(s, "command:status"): (s,) for s in STATES},
    **{(s, "command:help"): (s,) for s in STATES},
    ("approved", "command:approve"): ("approved",),
    ("in-progress", "command:approve"): ("in-progress", "validated"),
    ("validated", "command:approve"): ("validated",),
    ("approved", "command:done"): ("approved",),
    ("in-progress", "command:done"): ("in-progress", "validated"),
    ("validated", "command:done"): ("validated",),
    ("rolled-back", "command:done"): ("rolled-back",),
    **{(s, "command:cancel"): ("cancelled",) for s in _BEFORE_DEPLOY},
    ("deployed", "command:rollback"): ("rolled-back",),
    ("monitoring", "command:rollback"): ("rolled-back",),
    ("deployed", "rollback"): ("rolled-back",),
    ("monitoring", "rollback"): ("rolled-back",),
    ("approved", "pr_linked"): ("in-progress",),
    ("in-progress", "pr_linked"): ("in-progress",),
    ("validated", "pr_linked"): ("validated", "in-progress"),
    ("rolled-back", "pr_linked"): ("in-progress", "rolled-back"),
    ("in-progress", "check_passed"): ("in-progress", "validated"),
    ("validated", "check_passed"): ("validated",),
    ("in-progress", "check_failed"): ("in-progress",),
    ("validated", "check_failed"): ("in-progress",),
    ("in-progress", "pr_merged"): ("in-progress",),
    ("validated", "pr_merged"): ("validated",),
    ("validated", "deployment_succeeded"): ("deployed", "monitoring"),
    ("deployed", "deployment_succeeded"): ("deployed", "monitoring"),
    ("monitoring", "monitoring_window_passed"): ("done",),
}


# --------------------------------------------------------------------------- state


class Settings(BaseModel):
    """The parts of `.github/dlcm.yml` (`change_requests`) the workflow needs."""

    breaking_approvals: int = 1
    notify_webhook: str | None = None
    title_prefix: str = "[DLCM-{n}]"
    production_environments: list[str] = Field(default_factory=lambda: ["production", "prod"])
    monitoring_window_hours: int = 24

    @classmethod
    def from_config(cls, config: Config) -> Settings:
        c = config.change_requests
        return cls(breaking_approvals=c.breaking_approvals, notify_webhook=c.notify_webhook,
                   title_prefix=c.title_prefix, production_environments=list(c.production_environments),
                   monitoring_window_hours=c.monitoring_window_hours)


class Approval(BaseModel):
    actor: str
    at: dt.datetime
    teams: list[str] = Field(default_factory=list)  # the owning teams the approver belongs to
    digest: str | None = None  # the change it approves


class StepState(BaseModel):
    key: str
    title: str
    auto: str | None = None
    required: bool = True
    done: bool = False
    evidence: list[Evidence] = Field(default_factory=list)


class PRState(BaseModel):
    number: int
    head_sha: str | None = None
    check: Literal["passed", "failed"] | None = None
    merged: bool = False
    merge_sha: str | None = None


class Deployment(BaseModel):
    environment: str
    sha: str | None = None
    at: dt.datetime
    url: str | None = None


class CRState(BaseModel):
    """Everything the workflow knows about one change request (persisted by the App as JSON)."""

    repo: str = ""  # "owner/name"
    issue: int
    number: int | None = None  # n of DLCM-n, once the request is valid
    state: State = "proposed"
    opened: bool = False
    title: str = ""
    author: str | None = None
    summary: str | None = None
    change_type: str | None = None
    breaking: bool = False
    breaking_reasons: list[str] = Field(default_factory=list)
    risk: str | None = None
    digest: str | None = None
    problems: list[Problem] = Field(default_factory=list)
    components: list[str] = Field(default_factory=list)
    owners: list[str] = Field(default_factory=list)
    teams: list[str] = Field(default_factory=list)
    assignees: list[str] = Field(default_factory=list)
    labels: list[str] = Field(default_factory=list)  # dlcm labels currently on the issue
    checklist: list[StepState] = Field(default_factory=list)
    approvals: list[Approval] = Field(default_factory=list)
    prs: list[PRState] = Field(default_factory=list)
    deployments: list[Deployment] = Field(default_factory=list)
    monitoring_until: dt.datetime | None = None
    notified: list[str] = Field(default_factory=list)  # idempotency keys of milestone notifications sent
    transitions: int = 0  # state changes so far (part of webhook idempotency keys)
    updated_at: dt.datetime | None = None
    settings: Settings = Field(default_factory=Settings)

    @classmethod
    def new(cls, issue: int, repo: str = "", config: Config | None = None) -> CRState:
        return cls(issue=issue, repo=repo, settings=Settings.from_config(config or Config()))

    @property
    def id(self) -> str:
        return f"DLCM-{self.number}" if self.number is not None else f"#{self.issue}"

    @property
    def approvals_needed(self) -> int:
        return max(0, self.settings.breaking_approvals) if self.breaking else 0

    def valid_approvals(self) -> list[Approval]:
        return [a for a in self.approvals if a.digest in (None, self.digest)]

    def step(self, key: str) -> StepState | None:
        return next((s for s in self.checklist if s.key == key), None)

    def pr(self, number: int) -> PRState | None:
        return next((p for p in self.prs if p.number == number), None)

    def missing(self) -> list[str]:
        """What stands between this request and `validated`, in words."""
        out = [s.title for s in self.checklist if s.required and not s.done and s.key != "approvals"]
        have, need = len(self.valid_approvals()), self.approvals_needed
        if have < need:
            teams = ", ".join(self.teams) or "the owning teams"
            out.append(f"{need - have} more approval(s) from {teams} (`/dlcm approve`)")
        if not self.prs:
            out.append(f"a pull request that mentions {self.id}")
        else:
            out += [f"passing dlcm checks on #{p.number}" for p in self.prs if p.check != "passed"]
        return out


# --------------------------------------------------------------------------- events


class _Event(BaseModel):
    actor: str | None = None
    at: dt.datetime
    delivery_id: str | None = None


class Opened(_Event):
    kind: Literal["opened"] = "opened"
    title: str = ""
    author: str | None = None


class Edited(_Event):
    kind: Literal["edited"] = "edited"
    title: str | None = None


class ValidationPassed(_Event):
    kind: Literal["validation_passed"] = "validation_passed"
    result: ValidationResult
    plan: Plan
    number: int | None = None  # next free DLCM number of the repository (used when the request has none)
    settings: Settings | None = None  # `change_requests` of the default branch's config, when re-read


class ValidationFailed(_Event):
    kind: Literal["validation_failed"] = "validation_failed"
    result: ValidationResult


class Command(_Event):
    """`/dlcm <command> <args>` in a comment; the App says whether the actor may write and their teams."""

    kind: Literal["command"] = "command"
    command: Literal["approve", "done", "cancel", "status", "rollback", "help"]
    args: list[str] = Field(default_factory=list)
    can_write: bool = False
    actor_teams: list[str] = Field(default_factory=list)  # "@org/team" the actor is a member of
    comment_id: int | None = None


class PrLinked(_Event):
    kind: Literal["pr_linked"] = "pr_linked"
    pr: int
    head_sha: str | None = None


class CheckPassed(_Event):
    kind: Literal["check_passed"] = "check_passed"
    pr: int
    head_sha: str | None = None
    evidence: list[Evidence] = Field(default_factory=list)  # from plan.auto_evidence


class CheckFailed(_Event):
    kind: Literal["check_failed"] = "check_failed"
    pr: int
    head_sha: str | None = None
    evidence: list[Evidence] = Field(default_factory=list)
    summary: str = ""


class PrMerged(_Event):
    kind: Literal["pr_merged"] = "pr_merged"
    pr: int
    merge_sha: str | None = None


class DeploymentSucceeded(_Event):
    kind: Literal["deployment_succeeded"] = "deployment_succeeded"
    environment: str = "production"
    sha: str | None = None
    url: str | None = None


class MonitoringWindowPassed(_Event):
    kind: Literal["monitoring_window_passed"] = "monitoring_window_passed"


class RollbackEvent(_Event):
    """A rollback dlcm did not start by command (an alert, a reverted deployment)."""

    kind: Literal["rollback"] = "rollback"
    reason: str = ""


WorkflowEvent = Annotated[
    Union[Opened, Edited, ValidationPassed, ValidationFailed, Command, PrLinked, CheckPassed, CheckFailed, PrMerged,
          DeploymentSucceeded, MonitoringWindowPassed, RollbackEvent],
    Field(discriminator="kind"),
]


def event_key(event: WorkflowEvent) -> str:
    return f"command:{event.command}" if isinstance(event, Command) else event.kind


def validation_event(result: ValidationResult, plan: Plan | None, at: dt.datetime, actor: str | None = None,
                     delivery_id: str | None = None, number: int | None = None) -> ValidationPassed | ValidationFailed:
    """The event for a validation result (what the App sends after a `Validate` effect)."""
    if result.valid and plan is not None:
        return ValidationPassed(result=result, plan=plan, number=number, at=at, actor=actor, delivery_id=delivery_id)
    return ValidationFailed(result=result, at=at, actor=actor, delivery_id=delivery_id)


# --------------------------------------------------------------------------- effects


class UpdateStatusComment(BaseModel):
    type: Literal["update_status_comment"] = "update_status_comment"
    issue: int
    marker: str = STATUS_MARKER  # find the comment by it; create it when missing
    body: str


class Reply(BaseModel):
    type: Literal["reply"] = "reply"
    issue: int
    body: str
    in_reply_to: int | None = None  # comment id of the command


class React(BaseModel):
    type: Literal["react"] = "react"
    comment_id: int
    content: Literal["+1", "-1", "eyes", "confused", "rocket", "hooray"] = "+1"


class AddLabels(BaseModel):
    type: Literal["add_labels"] = "add_labels"
    issue: int
    labels: list[str]


class RemoveLabels(BaseModel):
    type: Literal["remove_labels"] = "remove_labels"
    issue: int
    labels: list[str]


class Assign(BaseModel):
    type: Literal["assign"] = "assign"
    issue: int
    assignees: list[str]


class SetTitle(BaseModel):
    type: Literal["set_title"] = "set_title"
    issue: int
    title: str


class Notify(BaseModel):
    """Mention the teams on the issue once per milestone (the key makes repeats no-ops)."""

    type: Literal["notify"] = "notify"
    issue: int
    teams: list[str]
    milestone: str
    body: str
    idempotency_key: str


class Webhook(BaseModel):
    type: Literal["webhook"] = "webhook"
    url: str
    event: str
    payload: dict
    idempotency_key: str


class Validate(BaseModel):
    """Validate the issue body against the default branch and answer with a validation event."""

    type: Literal["validate"] = "validate"
    issue: int


class Schedule(BaseModel):
    """Deliver `event` (an event kind) for this issue at `at` unless the state moved on."""

    type: Literal["schedule"] = "schedule"
    issue: int
    at: dt.datetime
    event: str
    idempotency_key: str


class CloseIssue(BaseModel):
    type: Literal["close_issue"] = "close_issue"
    issue: int
    reason: Literal["completed", "not_planned"] = "completed"


Effect = Annotated[
    Union[UpdateStatusComment, Reply, React, AddLabels, RemoveLabels, Assign, SetTitle, Notify, Webhook, Validate,
          Schedule, CloseIssue],
    Field(discriminator="type"),
]


class Transition(BaseModel):
    ok: Literal[True] = True
    state: CRState
    effects: list[Effect] = Field(default_factory=list)
    audit: list[AuditEvent] = Field(default_factory=list)

    @property
    def new_state(self) -> CRState:
        return self.state


class Refusal(BaseModel):
    ok: Literal[False] = False
    reason: str
    state: CRState  # unchanged
    effects: list[Effect] = Field(default_factory=list)
    audit: list[AuditEvent] = Field(default_factory=list)


# --------------------------------------------------------------------------- the machine

HELP = """**dlcm commands** (in a comment on the change request or its pull request)

- `/dlcm status` — where this change stands and what is next
- `/dlcm approve` — approve a breaking change (members of the owning teams)
- `/dlcm done <step> <evidence>` — mark a checklist step done with a link, commit or file
- `/dlcm check` — run the completeness check again on the pull request
- `/dlcm impact` — the impact report of the change
- `/dlcm scaffold <type> <args>` — generate migration, rollback, repository and endpoint code
- `/dlcm rollback` — roll a deployed change back
- `/dlcm cancel` — cancel the change request

Only people with write access can change the state."""


def next_step(s: CRState) -> str:
    """One sentence: what has to happen next."""
    st = s.state
    if st == "proposed":
        return "dlcm is validating the request."
    if st == "needs-info":
        return "Fix the problems above by editing the issue; dlcm validates it again on every edit."
    if st == "approved":
        return f"Open a pull request that mentions `{s.id}` in its body or branch name."
    if st == "in-progress":
        miss = s.missing()
        return "Remaining: " + "; ".join(miss) + "." if miss else "Waiting for the dlcm checks of the pull request."
    if st == "validated":
        unmerged = [p.number for p in s.prs if not p.merged]
        if unmerged:
            return "Merge " + ", ".join(f"#{n}" for n in unmerged) + ", then deploy."
        return "Deploy: dlcm follows the deployment and starts monitoring in production."
    if st == "deployed":
        return "Deploy to production to start the monitoring window."
    if st == "monitoring":
        until = s.monitoring_until.strftime("%Y-%m-%d %H:%M UTC") if s.monitoring_until else "the window ends"
        return f"Monitoring until {until}. Run `/dlcm rollback` if something is wrong."
    if st == "rolled-back":
        return "Rolled back. Link a new pull request to try again, or `/dlcm cancel`."
    if st == "done":
        return "Done."
    return "Cancelled."


class _Run:
    """One application of an event: a working copy of the state, effects and audit collected."""

    def __init__(self, state: CRState, event: WorkflowEvent):
        self.old = state
        self.s = state.model_copy(deep=True)
        self.e = event
        self.key = event_key(event)
        self.effects: list = []
        self.audit: list[AuditEvent] = []
        self.status_dirty = False

    # helpers
    def record(self, reason: str, to: str | None = None, evidence: list[Evidence] | None = None,
               action: str | None = None, refused: bool = False, frm: str | None = None) -> None:
        self.audit.append(AuditEvent(
            cr=self.s.id, issue=self.s.issue, at=self.e.at, actor=self.e.actor, action=action or self.key,
            from_state=frm or self.old.state, to_state=to or self.s.state, reason=reason,
            evidence=evidence or [], delivery_id=self.e.delivery_id, refused=refused))

    def move(self, to: str, reason: str, evidence: list[Evidence] | None = None) -> None:
        frm = self.s.state
        if to != frm:
            self.s.state = to  # type: ignore[assignment]
            self.s.transitions += 1
            self.webhook(frm, to, reason)
        self.record(reason, to=to, evidence=evidence, frm=frm)
        self.status_dirty = True

    def webhook(self, frm: str, to: str, reason: str) -> None:
        url = self.s.settings.notify_webhook
        if not url:
            return
        self.effects.append(Webhook(
            url=url, event="dlcm.state_changed",
            payload={"id": self.s.id, "repository": self.s.repo, "issue": self.s.issue, "from": frm, "to": to,
                     "reason": reason, "actor": self.e.actor, "at": self.e.at.isoformat(),
                     "breaking": self.s.breaking, "risk": self.s.risk},
            idempotency_key=f"{self.s.repo}#{self.s.issue}:{self.s.transitions}:{to}"))

    def notify(self, milestone: str, body: str) -> None:
        key = f"{self.s.repo}#{self.s.issue}:{milestone}"
        if key in self.s.notified or not self.s.teams:
            return
        self.s.notified.append(key)
        self.effects.append(Notify(issue=self.s.issue, teams=list(self.s.teams), milestone=milestone,
                                   body=body, idempotency_key=key))

    def reply(self, body: str) -> None:
        cid = self.e.comment_id if isinstance(self.e, Command) else None
        self.effects.append(Reply(issue=self.s.issue, body=body, in_reply_to=cid))

    def react(self, ok: bool) -> None:
        if isinstance(self.e, Command) and self.e.comment_id is not None:
            self.effects.append(React(comment_id=self.e.comment_id, content="+1" if ok else "confused"))

    def set_labels(self, wanted: list[str]) -> None:
        cur = set(self.s.labels)
        add = [lb for lb in wanted if lb not in cur]
        drop = [lb for lb in self.s.labels if lb not in wanted]
        if drop:
            self.effects.append(RemoveLabels(issue=self.s.issue, labels=drop))
        if add:
            self.effects.append(AddLabels(issue=self.s.issue, labels=add))
        self.s.labels = list(wanted)

    def ready(self) -> bool:
        return not self.s.missing()

    def refuse(self, reason: str) -> Refusal:
        effects: list = []
        if isinstance(self.e, Command):
            if self.e.comment_id is not None:
                effects.append(React(comment_id=self.e.comment_id, content="confused"))
            body = reason
            if self.e.actor:
                # "@erin, cannot approve: ..." (but keep "DLCM-5 is ..." as written)
                first = reason[:1].lower() + reason[1:] if reason[1:2].islower() else reason
                body = f"@{self.e.actor}, {first}"
            effects.append(Reply(issue=self.old.issue, in_reply_to=self.e.comment_id, body=body))
        audit = [AuditEvent(cr=self.old.id, issue=self.old.issue, at=self.e.at, actor=self.e.actor, action=self.key,
                            from_state=self.old.state, to_state=self.old.state, reason=reason,
                            delivery_id=self.e.delivery_id, refused=True)]
        return Refusal(reason=reason, state=self.old, effects=effects, audit=audit)

    def finish(self) -> Transition:
        s = self.s
        s.updated_at = self.e.at
        allowed = TRANSITIONS.get((self.old.state, self.key), ())
        assert s.state in allowed, f"{self.old.state} --{self.key}--> {s.state} is not in TRANSITIONS"
        if self.status_dirty:
            from .status import render_status

            self.effects.append(UpdateStatusComment(issue=s.issue, body=render_status(s)))
        return Transition(state=s, effects=self.effects, audit=self.audit)

    def maybe_validate(self, why: str) -> None:
        """in-progress → validated when nothing is missing."""
        if self.s.state == "in-progress" and self.ready():
            self.move("validated", f"{why}; every step, approval and check is done")
            self.notify("validated", f"{self.s.id} is validated: the implementation is complete. {next_step(self.s)}")

    # ---------------------------------------------------------------- event handlers
    def opened(self, e: Opened) -> Transition | Refusal:
        if self.s.opened:
            return self.refuse(f"{self.s.id} is already open")
        self.s.opened = True
        self.s.title = e.title
        self.s.author = e.author or e.actor
        self.effects.append(Validate(issue=self.s.issue))
        self.move("proposed", "change request opened")
        return self.finish()

    def edited(self, e: Edited) -> Transition | Refusal:
        if e.title is not None:
            self.s.title = e.title
        self.effects.append(Validate(issue=self.s.issue))
        self.record("issue edited; validating again")
        return self.finish()

    def validation_passed(self, e: ValidationPassed) -> Transition | Refusal:
        s, r, plan = self.s, e.result, e.plan
        if e.settings is not None:
            s.settings = e.settings
        if not r.valid:
            return self.refuse("a validation with errors cannot pass")
        old_digest = s.digest
        new_digest = r.change.digest()
        s.summary, s.change_type = r.change.summary, r.change.type
        s.breaking, s.breaking_reasons, s.risk = r.breaking, list(r.breaking_reasons), r.risk
        s.problems = list(r.problems)
        s.components, s.owners, s.teams = list(plan.components), list(plan.owners), list(plan.teams)
        s.digest = new_digest
        s.checklist = _merge_checklist(s.checklist, plan.checklist)
        if old_digest is not None and old_digest != new_digest and s.approvals:
            self.record("the change was edited: earlier approvals are for a different change and no longer count")
        first = s.number is None
        if first:
            s.number = e.number if e.number is not None else s.issue
            prefix = s.settings.title_prefix.format(n=s.number)
            self.effects.append(SetTitle(issue=s.issue, title=f"{prefix} {_strip_prefix(s.title)}".strip()))
        self.set_labels(list(plan.labels))
        new_assignees = [a for a in plan.assignees if a not in s.assignees]
        if new_assignees:
            self.effects.append(Assign(issue=s.issue, assignees=new_assignees))
            s.assignees += new_assignees
        self._update_approvals_step()
        st = s.state
        if st in ("proposed", "needs-info"):
            self.move("approved", f"valid request: {s.change_type}, risk {s.risk}"
                      + (", breaking" if s.breaking else ""))
            self.notify("approved", _approved_note(s))
            if s.breaking and s.approvals_needed:
                self.notify("approval-needed", f"{s.id} is a breaking change: it needs {s.approvals_needed} "
                                               "approval(s) from the owning teams (`/dlcm approve`).")
        elif st == "validated" and old_digest != new_digest:
            self.move("in-progress", "the change was edited after validation: checking again")
        else:
            self.move(st, "validated again after an edit")
        return self.finish()

    def validation_failed(self, e: ValidationFailed) -> Transition | Refusal:
        s = self.s
        s.problems = list(e.result.problems)
        errors = [p for p in s.problems if p.severity == "error"]
        wanted = [lb for lb in s.labels if lb != LABEL_NEEDS_INFO] + [LABEL_NEEDS_INFO]
        self.set_labels(wanted)
        why = f"{len(errors)} problem(s) to fix: " + "; ".join(f"{p.field}: {p.message}" for p in errors[:3])
        to = {"proposed": "needs-info", "needs-info": "needs-info", "approved": "needs-info",
              "validated": "in-progress"}.get(s.state, s.state)
        self.move(to, why)
        return self.finish()

    def command(self, e: Command) -> Transition | Refusal:
        s = self.s
        if e.command == "help":
            self.effects.append(Reply(issue=s.issue, body=HELP, in_reply_to=e.comment_id))
            self.react(True)
            return Transition(state=self.old, effects=self.effects, audit=[])
        if e.command == "status":
            from .status import render_status

            self.react(True)
            self.effects.append(Reply(issue=s.issue, body=render_status(s, marker=False), in_reply_to=e.comment_id))
            return Transition(state=self.old, effects=self.effects, audit=[])
        if e.command in WRITE_COMMANDS and not e.can_write:
            return self.refuse(f"Only people with write access to this repository can run `/dlcm {e.command}`. "
                               "Please ask a maintainer.")
        return getattr(self, "cmd_" + e.command)(e)

    def cmd_approve(self, e: Command) -> Transition | Refusal:
        s = self.s
        if (s.state, self.key) not in TRANSITIONS:
            return self.refuse(_why_not(self.old, self.key))
        if e.actor and s.author and e.actor.lower() == s.author.lower() and s.breaking:
            return self.refuse("You opened this change request: its approval must come from someone else in "
                               + (", ".join(s.teams) or "the owning teams") + ".")
        member_of = [t for t in s.teams if t.lower() in {x.lower() for x in e.actor_teams}]
        if s.teams and not member_of:
            return self.refuse(f"Approvals for {s.id} must come from members of the owning teams "
                               f"({', '.join(s.teams)}).")
        if any(a.actor.lower() == (e.actor or "").lower() for a in s.valid_approvals()):
            return self.refuse(f"You already approved {s.id}.")
        s.approvals = [a for a in s.approvals if a.actor.lower() != (e.actor or "").lower()]
        s.approvals.append(Approval(actor=e.actor or "?", at=e.at, teams=member_of, digest=s.digest))
        self._update_approvals_step()
        have, need = len(s.valid_approvals()), s.approvals_needed
        ev = [Evidence(step="approvals", kind="approval", ref=e.actor or "?", actor=e.actor, at=e.at,
                       detail=f"approved for {', '.join(member_of) or 'the repository'}")]
        note = f" ({have}/{need})" if need else " (not required: the change is not breaking)"
        self.move(s.state, f"approved by @{e.actor}{note}", evidence=ev)
        self.react(True)
        self.reply(f"Approval by @{e.actor} recorded{note}.")
        self.maybe_validate("approval recorded")
        return self.finish()

    def cmd_done(self, e: Command) -> Transition | Refusal:
        s = self.s
        if (s.state, self.key) not in TRANSITIONS:
            return self.refuse(_why_not(self.old, self.key))
        keys = ", ".join(f"`{st.key}`" for st in s.checklist)
        if not e.args:
            return self.refuse(f"Say which step is done: `/dlcm done <step> <evidence>` (steps: {keys}).")
        key = e.args[0].strip("`").lower()
        step = s.step(key)
        if step is None:
            return self.refuse(f"`{key}` is not a step of {s.id}: use one of {keys}.")
        if key == "approvals":
            return self.refuse("Approvals are given with `/dlcm approve` by members of the owning teams.")
        evidence = " ".join(e.args[1:]).strip()
        if not evidence:
            return self.refuse(f"Give evidence for `{key}`: a link, a commit or a file, e.g. "
                               f"`/dlcm done {key} https://github.com/{s.repo or 'org/repo'}/pull/12`.")
        kind = "link" if evidence.startswith(("http://", "https://")) else (
            "commit" if _looks_like_sha(evidence) else ("file" if "/" in evidence or "." in evidence else "command"))
        ev = Evidence(step=key, kind=kind, ref=evidence, actor=e.actor, at=e.at, detail=f"marked done by @{e.actor}")
        step.done = True
        step.evidence.append(ev)
        self.move(s.state, f"step `{key}` done by command", evidence=[ev])
        self.react(True)
        self.reply(f"`{key}` ({step.title}) is done. {next_step(s)}")
        self.maybe_validate(f"step `{key}` done")
        return self.finish()

    def cmd_cancel(self, e: Command) -> Transition | Refusal:
        if (self.s.state, self.key) not in TRANSITIONS:
            return self.refuse(_why_not(self.old, self.key))
        reason = " ".join(e.args).strip() or "no reason given"
        self.move("cancelled", f"cancelled by @{e.actor}: {reason}")
        self.react(True)
        self.effects.append(CloseIssue(issue=self.s.issue, reason="not_planned"))
        self.notify("cancelled", f"{self.s.id} was cancelled by @{e.actor}: {reason}")
        return self.finish()

    def cmd_rollback(self, e: Command) -> Transition | Refusal:
        return self._rollback(" ".join(e.args).strip() or f"requested by @{e.actor}")

    def rollback(self, e: RollbackEvent) -> Transition | Refusal:
        return self._rollback(e.reason or "rollback reported")

    def _rollback(self, reason: str) -> Transition | Refusal:
        if (self.s.state, self.key) not in TRANSITIONS:
            return self.refuse(_why_not(self.old, self.key))
        self.s.monitoring_until = None
        self.move("rolled-back", f"rolled back: {reason}")
        self.react(True)
        self.notify(f"rolled-back-{self.s.transitions}", f"{self.s.id} was rolled back: {reason}. "
                                                         "Follow the rollback plan and check the data.")
        return self.finish()

    def pr_linked(self, e: PrLinked) -> Transition | Refusal:
        s = self.s
        if (s.state, self.key) not in TRANSITIONS:
            return self.refuse(_why_not(self.old, self.key, pr=e.pr))
        existing = s.pr(e.pr)
        if existing is not None:
            if e.head_sha and e.head_sha != existing.head_sha and not existing.merged:
                existing.head_sha, existing.check = e.head_sha, None  # a new head needs a new check
                self.move("in-progress", f"#{e.pr} has new commits ({e.head_sha[:7]}): its checks run again")
            else:
                self.move("in-progress" if s.state == "approved" else s.state, f"#{e.pr} is already linked")
            return self.finish()
        s.prs.append(PRState(number=e.pr, head_sha=e.head_sha))
        self.move("in-progress", f"pull request #{e.pr} linked")
        return self.finish()

    def _check(self, e: CheckPassed | CheckFailed, passed: bool) -> Transition | Refusal:
        s = self.s
        if (s.state, self.key) not in TRANSITIONS:
            return self.refuse(_why_not(self.old, self.key, pr=e.pr))
        pr = s.pr(e.pr)
        if pr is None:
            return self.refuse(f"Pull request #{e.pr} is not linked to {s.id}: mention `{s.id}` in its body "
                               "or branch name.")
        pr.check = "passed" if passed else "failed"
        if e.head_sha:
            pr.head_sha = e.head_sha
        done_now = []
        for ev in e.evidence:
            step = s.step(ev.step)
            if step is None or ev.step == "approvals":
                continue
            ev = ev.model_copy(update={"pr": ev.pr or e.pr, "at": ev.at or e.at, "sha": ev.sha or e.head_sha})
            if not any(x.ref == ev.ref and x.line == ev.line for x in step.evidence):
                step.evidence.append(ev)
            if not step.done:
                step.done = True
                done_now.append(ev)
        if passed:
            why = f"dlcm checks passed on #{e.pr}" + (f" ({e.head_sha[:7]})" if e.head_sha else "")
            self.move(s.state, why + (f"; steps done: {', '.join(x.step for x in done_now)}" if done_now else ""),
                      evidence=done_now)
            self.maybe_validate(why)
        else:
            why = f"dlcm checks failed on #{e.pr}" + (f": {e.summary}" if e.summary else "")
            self.move("in-progress", why, evidence=done_now)
        return self.finish()

    def check_passed(self, e: CheckPassed) -> Transition | Refusal:
        return self._check(e, True)

    def check_failed(self, e: CheckFailed) -> Transition | Refusal:
        return self._check(e, False)

    def pr_merged(self, e: PrMerged) -> Transition | Refusal:
        s = self.s
        if (s.state, self.key) not in TRANSITIONS:
            return self.refuse(_why_not(self.old, self.key, pr=e.pr))
        pr = s.pr(e.pr)
        if pr is None:
            return self.refuse(f"Pull request #{e.pr} is not linked to {s.id}")
        pr.merged, pr.merge_sha = True, e.merge_sha
        if s.state == "validated":
            self.move("validated", f"#{e.pr} merged")
        else:
            self.move("in-progress", f"#{e.pr} merged before {s.id} was validated (missing: "
                      + "; ".join(s.missing()) + ")")
            self.notify(f"merged-unvalidated-{e.pr}", f"#{e.pr} was merged before {s.id} was validated.")
        return self.finish()

    def deployment_succeeded(self, e: DeploymentSucceeded) -> Transition | Refusal:
        s = self.s
        if (s.state, self.key) not in TRANSITIONS:
            return self.refuse(_why_not(self.old, self.key))
        unmerged = [p.number for p in s.prs if not p.merged]
        if s.state == "validated" and (unmerged or not s.prs):
            return self.refuse("Cannot deploy: " + (", ".join(f"#{n}" for n in unmerged) + " not merged"
                                                     if unmerged else "no merged pull request"))
        s.deployments.append(Deployment(environment=e.environment, sha=e.sha, at=e.at, url=e.url))
        prod = e.environment.lower() in {x.lower() for x in s.settings.production_environments}
        ev = [Evidence(step="deployment", kind="link" if e.url else "commit", ref=e.url or e.sha or e.environment,
                       detail=f"deployed to {e.environment}")]
        if s.state == "validated":
            self.move("deployed", f"deployed to {e.environment}", evidence=ev)
            self.notify("deployed", f"{s.id} is deployed ({e.environment}).")
        else:
            self.record(f"deployed to {e.environment}", evidence=ev)
            self.status_dirty = True
        if prod:
            hours = s.settings.monitoring_window_hours
            s.monitoring_until = e.at + dt.timedelta(hours=hours)
            self.move("monitoring", f"in production: monitoring for {hours} h")
            self.effects.append(Schedule(issue=s.issue, at=s.monitoring_until, event="monitoring_window_passed",
                                         idempotency_key=f"{s.repo}#{s.issue}:monitoring:{s.transitions}"))
            self.notify("monitoring", f"{s.id} is in production; dlcm watches it until "
                                      f"{s.monitoring_until.strftime('%Y-%m-%d %H:%M UTC')}.")
        return self.finish()

    def monitoring_window_passed(self, e: MonitoringWindowPassed) -> Transition | Refusal:
        s = self.s
        if (s.state, self.key) not in TRANSITIONS:
            return self.refuse(_why_not(self.old, self.key))
        if s.monitoring_until and e.at < s.monitoring_until:
            return self.refuse(f"The monitoring window of {s.id} ends at {s.monitoring_until.isoformat()}")
        self.move("done", "monitoring window passed without a rollback")
        self.notify("done", f"{s.id} is done.")
        self.effects.append(CloseIssue(issue=s.issue, reason="completed"))
        return self.finish()

    def _update_approvals_step(self) -> None:
        step = self.s.step("approvals")
        if step is None:
            return
        have, need = len(self.s.valid_approvals()), self.s.approvals_needed
        step.done = have >= need
        step.evidence = [Evidence(step="approvals", kind="approval", ref=a.actor, actor=a.actor, at=a.at,
                                  detail=f"@{a.actor} ({', '.join(a.teams) or 'writer'})")
                         for a in self.s.valid_approvals()]


def _merge_checklist(old: list[StepState], new: list[ChecklistStep]) -> list[StepState]:
    """The new plan's steps, keeping what was already done for steps that remain."""
    prev = {s.key: s for s in old}
    out = []
    for st in new:
        p = prev.get(st.key)
        out.append(StepState(key=st.key, title=st.title, auto=st.auto, required=st.required,
                             done=p.done if p else False, evidence=list(p.evidence) if p else []))
    return out


def _strip_prefix(title: str) -> str:
    t = title.strip()
    if t.startswith("[") and "]" in t and t[1:t.index("]")].upper().startswith("DLCM"):
        t = t[t.index("]") + 1:].strip()
    return t


def _looks_like_sha(s: str) -> bool:
    return 7 <= len(s) <= 40 and all(c in "0123456789abcdef" for c in s.lower())


def _approved_note(s: CRState) -> str:
    comps = ", ".join(s.components) or "—"
    return (f"{s.id} ({s.change_type}, risk {s.risk}{', breaking' if s.breaking else ''}) concerns "
            f"{comps}. {next_step(s)}")


def _why_not(s: CRState, key: str, pr: int | None = None) -> str:
    """Why `key` is not possible in the state of `s`, in words a user understands."""
    st = s.state
    if st in TERMINAL:
        return f"{s.id} is {st}: open a new change request for further changes"
    if key == "deployment_succeeded":
        return f"Cannot deploy: {s.id} is not validated (state {st})"
    if key in ("command:rollback", "rollback"):
        return f"Cannot roll back: {s.id} is not deployed (state {st})"
    if key == "command:cancel":
        return f"Cannot cancel: {s.id} is {st} — run `/dlcm rollback` first"
    if key == "command:approve":
        if st in ("proposed", "needs-info"):
            return f"Cannot approve: {s.id} is not valid yet — fix the problems in the status comment first"
        return f"Cannot approve: {s.id} is {st}"
    if key == "command:done":
        if st in ("proposed", "needs-info"):
            return f"Cannot mark steps done: {s.id} is not valid yet (state {st})"
        return f"Cannot mark steps done: {s.id} is {st}"
    if key == "pr_linked":
        what = f"pull request #{pr}" if pr else "a pull request"
        return f"Cannot link {what}: {s.id} is not approved yet (state {st})"
    if key in ("check_passed", "check_failed", "pr_merged"):
        return f"{s.id} has no work in progress (state {st}): link the pull request first"
    if key == "monitoring_window_passed":
        return f"{s.id} is not being monitored (state {st})"
    if key == "opened":
        return f"{s.id} is already open"
    if key == "edited":
        return f"{s.id} is {st}: edits are no longer validated — open a new change request"
    if key in ("validation_passed", "validation_failed"):
        return f"{s.id} is {st}: its request is no longer validated"
    return f"`{key}` is not possible while {s.id} is {st}"


def apply(state: CRState, event: WorkflowEvent) -> Transition | Refusal:
    """The next state of a change request, the effects to carry out and the audit events to append."""
    run = _Run(state, event)
    if (state.state, run.key) not in TRANSITIONS:
        if isinstance(event, Command) and event.command in WRITE_COMMANDS and not event.can_write:
            return run.refuse(f"Only people with write access to this repository can run `/dlcm {event.command}`. "
                              "Please ask a maintainer.")
        return run.refuse(_why_not(state, run.key, pr=getattr(event, "pr", None)))
    if isinstance(event, Command):
        return run.command(event)
    return getattr(run, event.kind)(event)


def mermaid() -> str:
    """The transition table as a Mermaid state diagram (for the README; generated, never hand-written)."""
    edges: dict[tuple[str, str], list[str]] = {}
    for (frm, key), tos in TRANSITIONS.items():
        for to in tos:
            if to != frm:
                edges.setdefault((frm, to), []).append(key)
    lines = ["stateDiagram-v2", "    [*] --> proposed: opened"]
    for (frm, to), keys in edges.items():
        lines.append(f"    {frm.replace('-', '_')} --> {to.replace('-', '_')}: {', '.join(sorted(set(keys)))}")
    lines += ["    done --> [*]", "    cancelled --> [*]"]
    return "\n".join(lines) + "\n"
