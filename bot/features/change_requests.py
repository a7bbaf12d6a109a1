"""Change requests in the App: issues → validated, numbered, tracked ``DLCM-<n>`` requests.

The decisions are the pure workflow (``checks.changes.workflow.apply``); this module feeds it
events from GitHub and carries its effects out:

``issues`` opened / edited / labeled
    An issue from the form (its ``### Change type`` answers) or labelled ``data-layer-change``
    (``change_requests.label``) becomes a change request: validated against the default
    branch's model (:mod:`bot.repo_reader`) and ``.github/dlcm.yml``, numbered ``DLCM-<n>``
    once valid, titled ``[DLCM-<n>] …``, labelled (type, risk, ``dlcm:needs-info``), assigned,
    checklisted, the owning teams mentioned once per milestone, and its impact report posted
    (``<!-- dlcm:impact -->``). Editing it validates it again.
``pull_request``
    ``DLCM-<n>`` or ``#<issue>`` in the body or branch name links the pull request
    (``PrLinked``); every finished dlcm check of its head (``checks.ON_CHECKED``) gives
    ``CheckPassed``/``CheckFailed`` with the evidence the pull request brings
    (``plan.auto_evidence``); merged → ``PrMerged``.
``push`` to the default branch
    Every request whose change has not landed yet is validated again against the new model
    (built once per push): what it adds may exist now (another pull request merged it: "…
    already exists on main (added by <migration>)"), or it may be valid again. A result that
    differs is applied like the answer to an edit (``ValidationPassed``/``ValidationFailed``,
    after an audit event "default branch moved to <sha>" by the pusher); the impact comment is
    rewritten when its text changes. Pushes by bots count (``BOT_EVENTS_HANDLED``).
``deployment_status`` success
    ``DeploymentSucceeded`` for the validated requests whose merge the deployed commit
    contains (or that the deployment's payload names: ``{"change": "DLCM-3"}``).
Commands on the change request
    ``/dlcm status``, ``approve``, ``done <step> <evidence>``, ``cancel``, ``rollback``,
    ``impact`` through the command registry (:mod:`bot.features.commands`); team membership
    for approvals via ``GET /orgs/{org}/teams/{team}/memberships/{user}``.

Breaking requests hold ``dlcm/completeness`` of their pull requests until approved
(:func:`blocking_reasons`, registered in ``checks.BLOCKERS``); an approval re-runs the check.

Every event is applied once (an idempotency key per delivery and event) in one SQLite
transaction with its audit events and effects (:mod:`bot.cr_store`); the effects then run
from the outbox, each idempotent on GitHub (sticky comments by marker, labels, assignees), so
a retried delivery neither duplicates comments nor mentions anyone twice. After every change
the dashboard issue (:mod:`bot.features.dashboard`) is rewritten.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import re
import weakref
from collections.abc import Callable, Iterable
from types import SimpleNamespace
from typing import Any
from urllib.parse import quote

import aiohttp
import gidgethub
from gidgethub import sansio
from gidgethub.routing import Router

from bot.cr_store import Applied, CRRecord, OutboxItem, crs_of, ensure_schema
from bot.features import checks as checks_feature
from bot.features import commands as commands_feature
from bot.features import dashboard
from bot.queue import RetryLater
from bot.render import refusal
from bot.repo_reader import READER, ConfigError, in_builder
from checks.changes.audit import AuditEvent, chain_hash
from checks.changes.form import parse_issue_body
from checks.changes.plan import auto_evidence, plan_change
from checks.changes.request import Problem
from checks.changes.validate import ValidationResult, validate_body
from checks.changes.workflow import (
    TRANSITIONS,
    CheckFailed,
    CheckPassed,
    Command,
    CRState,
    DeploymentSucceeded,
    Edited,
    MonitoringWindowPassed,
    Opened,
    PrLinked,
    PrMerged,
    Settings,
    ValidationFailed,
    ValidationPassed,
)
from checks.config import Config

log = logging.getLogger("dlcm.features.change_requests")

router = Router()

STATUS = "status"  # → <!-- dlcm:status -->
IMPACT = "impact"  # → <!-- dlcm:impact -->
DEFAULT_LABEL = "data-layer-change"
WRITE_COMMANDS = ("approve", "done", "cancel", "rollback")
PRE_DEPLOY = ("proposed", "needs-info", "approved", "in-progress", "validated")
WEBHOOK_TIMEOUT = 10.0
SCHEDULER_EVERY = 60.0

# Failures a retry of the whole job can fix; a 4xx on one effect is counted on the effect.
TRANSIENT = (gidgethub.GitHubBroken, gidgethub.RateLimitExceeded, aiohttp.ClientError, asyncio.TimeoutError,
             RetryLater)

_REF = re.compile(r"(?<![\w/-])DLCM-(\d+)\b", re.IGNORECASE)
_ISSUE_REF = re.compile(r"(?<![\w/&])#(\d+)\b")
_BRANCH_ISSUE = re.compile(r"(?:^|[/_-])(?:issue|cr)[-_]?(\d+)(?:$|[/_-])", re.IGNORECASE)

_locks: weakref.WeakValueDictionary[tuple, asyncio.Lock] = weakref.WeakValueDictionary()
# Stores of the Apps this feature runs in → {"checks": bool}; the hooks in bot.features.checks
# are process-wide, so they do nothing for an App without change requests.
_ENABLED: weakref.WeakKeyDictionary[Any, dict[str, Any]] = weakref.WeakKeyDictionary()


def _lock(*key: Any) -> asyncio.Lock:
    lock = _locks.get(key)
    if lock is None:
        lock = _locks[key] = asyncio.Lock()
    return lock


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def delivery_of(ctx: Any) -> str | None:
    """The id of the webhook delivery being handled (for the audit trail), if any."""
    return getattr(getattr(ctx, "delivery", None), "delivery_id", None)


# --------------------------------------------------------------------------- pure helpers


def references(*texts: str | None) -> tuple[set[int], set[int]]:
    """(DLCM numbers, issue numbers) a pull request names in its body or branch name."""
    numbers: set[int] = set()
    issues: set[int] = set()
    for text in texts:
        if not text:
            continue
        numbers |= {int(m) for m in _REF.findall(text)}
        issues |= {int(m) for m in _ISSUE_REF.findall(text)}
    return numbers, issues


def branch_references(branch: str | None) -> tuple[set[int], set[int]]:
    """``dlcm-3-add-phone`` → ({3}, ∅); ``issue-12`` / ``cr_12`` → (∅, {12})."""
    if not branch:
        return set(), set()
    numbers = {int(m) for m in re.findall(r"(?:^|[/_-])dlcm[-_]?(\d+)(?=$|[/_-])", branch, re.IGNORECASE)}
    issues = {int(m) for m in _BRANCH_ISSUE.findall(branch)}
    return numbers, issues


def looks_like_request(body: str | None) -> bool:
    """An issue body written with the change-request form (its change type is answered)."""
    if not body or "###" not in body and "**" not in body:
        return False
    cr = parse_issue_body(body)
    return "change_type" in cr.sections and bool({"summary", "tables", "columns", "endpoints"} & set(cr.sections))


def is_blocking(state: CRState) -> bool:
    """A breaking request not approved yet holds its pull requests' completeness check."""
    return (state.breaking and state.state in PRE_DEPLOY
            and len(state.valid_approvals()) < state.approvals_needed)


def blocking_reasons(requests: Iterable[CRState], pr: int | dict[str, Any] | None = None) -> list[str]:
    """Why ``dlcm/completeness`` must fail on a pull request linked to ``requests`` (pure)."""
    out = []
    for s in requests:
        if not is_blocking(s):
            continue
        have, need = len(s.valid_approvals()), s.approvals_needed
        teams = ", ".join(s.teams) or "the owning teams"
        out.append(f"{s.id} is a breaking change and needs {need} approval(s) from {teams} ({have} so far): "
                   f"a member runs `/dlcm approve` on #{s.issue}")
    return out


def _strip_mention(text: str, actor: str) -> str:
    """The workflow addresses refusals to the actor; the command reply already does."""
    prefix = f"@{actor}, "
    if text.startswith(prefix):
        text = text[len(prefix):]
        text = text[:1].upper() + text[1:]
    return text


# --------------------------------------------------------------------------- the engine


class _Ctx(SimpleNamespace):
    """What the engine needs of a handler's context (the scheduler builds one too)."""

    store: Any
    settings: Any
    installation_id: int | None


async def process(gh: Any, ctx: Any, repo: str, issue: int, key: str,
                  make_event: Callable[[CRState, Callable[[], int]], Any], *,
                  create: Callable[[], CRState] | None = None, html_url: str | None = None,
                  repo_data: dict[str, Any] | None = None, issue_data: dict[str, Any] | None = None,
                  validation: dict[str, Any] | None = None, refresh: bool = True) -> Applied | None:
    """Apply one event (once per ``key``), carry out its effects, refresh the dashboard."""
    crs = crs_of(ctx.store)
    full_key = f"{repo.lower()}#{issue}:{key}"
    async with _lock("cr", repo.lower(), issue):
        res = await ctx.store.arun(crs.apply, repo, issue, full_key, make_event, create=create, html_url=html_url,
                                   installation_id=getattr(ctx, "installation_id", None), validation=validation)
        drained = await drain(gh, ctx, repo, issue, repo_data=repo_data, issue_data=issue_data)
    if refresh and (res is not None or drained):
        await refresh_dashboard(gh, ctx, repo, repo_data)
    return res


async def finish_pending(gh: Any, ctx: Any, repo: str, issue: int, *, repo_data: dict[str, Any] | None = None,
                         issue_data: dict[str, Any] | None = None) -> bool:
    """Carry out effects an interrupted attempt left in the outbox (a retried delivery)."""
    crs = crs_of(ctx.store)
    if not await ctx.store.arun(crs.pending, repo, issue):
        return False
    async with _lock("cr", repo.lower(), issue):
        ran = await drain(gh, ctx, repo, issue, repo_data=repo_data, issue_data=issue_data)
    if ran:
        await refresh_dashboard(gh, ctx, repo, repo_data)
    return ran


async def refresh_dashboard(gh: Any, ctx: Any, repo: str, repo_data: dict[str, Any] | None = None) -> None:
    html_url = (repo_data or {}).get("html_url")
    await dashboard.refresh(gh, ctx, repo, html_url=html_url)


async def drain(gh: Any, ctx: Any, repo: str, issue: int, *, repo_data: dict[str, Any] | None = None,
                issue_data: dict[str, Any] | None = None) -> bool:
    """Run the pending effects of a change request in order; True when something ran."""
    crs = crs_of(ctx.store)
    ran = False
    tried: set[int] = set()  # failed once in this call: left for the next change (or given up)
    for _ in range(20):  # a validation queues new effects: go round until nothing is left
        items = [i for i in await ctx.store.arun(crs.pending, repo, issue) if i.id not in tried]
        if not items:
            return ran
        ran = True
        last_status = max((i.id for i in items if i.effect.type == "update_status_comment"), default=None)
        # what the request looks like now (the status comment first), then the slow validation
        items.sort(key=lambda i: (i.effect.type == "validate", i.id))
        for item in items:
            eff = item.effect
            tried.add(item.id)
            if eff.type == "update_status_comment" and item.id != last_status:
                await ctx.store.arun(crs.mark_done, item.id)  # a newer status follows
                continue
            try:
                await execute(gh, ctx, repo, issue, item, repo_data=repo_data, issue_data=issue_data)
            except TRANSIENT:
                raise
            except gidgethub.BadRequest as exc:  # 4xx: this effect cannot be done as asked
                log.warning("%s#%s: %s failed: %s", repo, issue, eff.type, exc)
                await ctx.store.arun(crs.mark_failed, item.id, f"{exc.status_code}: {exc}")
                continue
            except Exception as exc:  # a dlcm bug: count it on the effect, never block the request
                log.exception("%s#%s: %s failed", repo, issue, eff.type)
                await ctx.store.arun(crs.mark_failed, item.id, f"{type(exc).__name__}: {exc}")
                continue
            if eff.type not in ("validate", "webhook"):
                await ctx.store.arun(crs.mark_done, item.id)
            if eff.type == "validate":
                break  # the validation queued new effects: read the outbox again
    return ran


async def execute(gh: Any, ctx: Any, repo: str, issue: int, item: OutboxItem, *,
                  repo_data: dict[str, Any] | None = None, issue_data: dict[str, Any] | None = None) -> None:
    """Carry out one effect on GitHub (or the webhook, the scheduler); idempotent."""
    eff = item.effect
    t = eff.type
    base = f"/repos/{repo}/issues/{eff.issue}" if hasattr(eff, "issue") else ""
    if t == "update_status_comment":
        footer = await _status_footer(repo, ctx, issue)
        await gh.upsert_comment(repo, eff.issue, STATUS, eff.body + footer)
    elif t == "reply":
        await gh.upsert_comment(repo, eff.issue, f"note-{item.id}", eff.body)
    elif t == "add_labels":
        await gh.post(f"{base}/labels", data={"labels": list(eff.labels)})
    elif t == "remove_labels":
        for name in eff.labels:
            try:
                await gh.delete(f"{base}/labels/{quote(name, safe='')}")
            except gidgethub.BadRequest as exc:
                if exc.status_code not in (404, 410):
                    raise
    elif t == "assign":
        await gh.post(f"{base}/assignees", data={"assignees": list(eff.assignees)})
    elif t == "set_title":
        await gh.patch(base, data={"title": eff.title})
    elif t == "notify":
        mentions = " ".join(eff.teams)
        await gh.upsert_comment(repo, eff.issue, f"notify-{eff.milestone}", f"{mentions}: {eff.body}\n")
    elif t == "webhook":
        await _send_webhook(ctx, repo, issue, item)
    elif t == "validate":
        await run_validation(gh, ctx, repo, eff.issue, item, repo_data=repo_data, issue_data=issue_data)
    elif t == "schedule":
        crs = crs_of(ctx.store)
        await ctx.store.arun(crs.schedule, eff.idempotency_key, repo, eff.issue, eff.at.timestamp(), eff.event,
                             getattr(ctx, "installation_id", None))
    elif t == "close_issue":
        await gh.patch(base, data={"state": "closed", "state_reason": eff.reason})
    else:  # pragma: no cover - a new effect type without an executor
        log.error("%s#%s: no executor for effect %s", repo, issue, t)


async def _status_footer(repo: str, ctx: Any, issue: int) -> str:
    url = dashboard.public_url()
    if not url:
        return ""
    rec = await ctx.store.arun(crs_of(ctx.store).get, repo, issue)
    page = f" · [audit trail]({url}/dashboard/{repo}/{rec.id})" if rec and rec.number else ""
    return f"\n<sub>[dlcm dashboard]({url}/dashboard/{repo}){page}</sub>\n"


async def _send_webhook(ctx: Any, repo: str, issue: int, item: OutboxItem) -> None:
    """POST the state change as JSON (Slack-compatible ``text`` first); failures are retried later."""
    eff = item.effect
    crs = crs_of(ctx.store)
    p = eff.payload
    text = (f"{p.get('id')} ({repo}#{p.get('issue')}): {p.get('from')} → {p.get('to')} — {p.get('reason')}"
            + (f" (by @{p['actor']})" if p.get("actor") else ""))
    body = {"text": text, "event": eff.event, "idempotency_key": eff.idempotency_key, **p}
    headers = {"Content-Type": "application/json", "User-Agent": "dlcm", "X-DLCM-Event": eff.event,
               "X-DLCM-Idempotency-Key": eff.idempotency_key}
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=WEBHOOK_TIMEOUT)) as session:
            async with session.post(eff.url, data=json.dumps(body), headers=headers) as resp:
                if resp.status >= 300:
                    raise aiohttp.ClientResponseError(resp.request_info, (), status=resp.status,
                                                      message=f"answered {resp.status}")
    except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:
        dead = await ctx.store.arun(crs.mark_failed, item.id, f"{type(exc).__name__}: {exc}")
        log.warning("%s#%s: webhook to %s failed (%s)%s", repo, issue, eff.url, exc,
                    "; giving up" if dead else "; retried on the next change")
        return
    await ctx.store.arun(crs.mark_done, item.id)


# --------------------------------------------------------------------------- validation


async def repository_of(gh: Any, repo: str, repo_data: dict[str, Any] | None) -> dict[str, Any]:
    if repo_data and repo_data.get("default_branch"):
        return repo_data
    return await gh.getitem(f"/repos/{repo}")


async def default_head(gh: Any, repo: str, repo_data: dict[str, Any] | None) -> tuple[str, str]:
    """(name, head commit) of the repository's default branch."""
    data = await repository_of(gh, repo, repo_data)
    branch = data.get("default_branch") or "main"
    ref = await gh.getitem(f"/repos/{repo}/git/ref/heads/{quote(branch, safe='')}")
    return branch, ref["object"]["sha"]


async def default_snapshot(gh: Any, repo: str, repo_data: dict[str, Any] | None):
    """The model and config of the default branch's head (cached by commit)."""
    _, sha = await default_head(gh, repo, repo_data)
    return await READER.snapshot(gh, repo, sha)


def _validation_event(result: ValidationResult, plan: Any, settings: Settings | None, at: dt.datetime,
                      actor: str | None, delivery_id: str | None) -> Callable[[CRState, Callable[[], int]], Any]:
    """``make_event`` for ``crs.apply``: the answer to a validation (a number once it is first valid)."""

    def make(state: CRState, allocate: Callable[[], int]):
        if plan is not None:
            return ValidationPassed(result=result, plan=plan, number=allocate() if state.number is None else None,
                                    settings=settings, at=at, actor=actor, delivery_id=delivery_id)
        return ValidationFailed(result=result, at=at, actor=actor, delivery_id=delivery_id)

    return make


async def validate_against(body: str, snap: Any, branch: str) -> tuple[ValidationResult, Any, Settings]:
    """(result, plan when valid, settings) of an issue body against a default-branch snapshot."""
    result = await in_builder(validate_body, body, snap.model, snap.config, today=dt.date.today())
    result = explain_existing(result, snap.model, branch)
    plan = plan_change(result, snap.model, snap.config) if result.valid else None
    return result, plan, Settings.from_config(snap.config)


async def run_validation(gh: Any, ctx: Any, repo: str, issue: int, item: OutboxItem | None, *,
                         repo_data: dict[str, Any] | None = None, issue_data: dict[str, Any] | None = None,
                         key: str | None = None) -> Applied | None:
    """Validate the issue against the default branch, post the impact report, apply the result."""
    crs = crs_of(ctx.store)
    if not issue_data or issue_data.get("number") != issue or "body" not in issue_data:
        issue_data = await gh.getitem(f"/repos/{repo}/issues/{issue}")
    body = issue_data.get("body") or ""
    snap = None
    plan = settings = None
    branch = "main"
    try:
        branch, sha = await default_head(gh, repo, repo_data)
        snap = await READER.snapshot(gh, repo, sha)
    except ConfigError as exc:
        result = ValidationResult(valid=False, problems=[Problem(
            field="body", message=f"`.github/dlcm.yml` on the default branch is broken ({exc}): fix it, then edit "
                                  "this issue")])
    else:
        result, plan, settings = await validate_against(body, snap, branch)
    await refresh_impact(gh, ctx, repo, issue, result, snap, branch)
    make = _validation_event(result, plan, settings, now(), None, delivery_of(ctx))
    key = key or f"validation:{item.id if item else 'direct'}"
    full_key = f"{repo.lower()}#{issue}:{key}"
    return await ctx.store.arun(crs.apply, repo, issue, full_key, make, validation=result.model_dump(mode="json"),
                                done_outbox=item.id if item else None)


async def _impact_markdown(repo: str, issue: int, result: ValidationResult, snap: Any) -> str | None:
    """The impact report of a valid request (Markdown), or None when impact analysis is absent or failed."""
    try:
        from checks.impact import analyze, changes_from_request, github_link, render_markdown
    except ImportError:  # impact analysis not in this build
        return None
    try:
        report = await in_builder(analyze, snap.model, changes_from_request(result.change), config=snap.config,
                                  expose=result.change.expose_api, check=False)
        return render_markdown(report, link=github_link(repo, snap.sha))
    except Exception:  # impact is advice: never let it stop the workflow
        log.exception("%s#%s: impact analysis failed", repo, issue)
        return None


async def post_impact(gh: Any, ctx: Any, repo: str, issue: int, result: ValidationResult, snap: Any) -> str | None:
    """The impact report of a valid request as the issue's ``<!-- dlcm:impact -->`` comment (always posted)."""
    markdown = await _impact_markdown(repo, issue, result, snap)
    if markdown is None:
        return None
    comment = await gh.upsert_comment(repo, issue, IMPACT, markdown)
    crs = crs_of(ctx.store)
    await ctx.store.arun(crs.set_impact, repo, issue, markdown)
    return comment.get("html_url")


# Permalinks of the impact report name the commit it was computed at; a report that differs only
# there says the same thing (the lines it points at did not move), so its comment is left alone.
_PERMALINK_SHA = re.compile(r"/blob/[0-9a-f]{40}/")


def same_report(old: str | None, new: str) -> bool:
    """Two impact comments that read the same (up to the commit of their permalinks)."""
    return old is not None and _PERMALINK_SHA.sub("/blob/-/", old) == _PERMALINK_SHA.sub("/blob/-/", new)


def no_impact_note(cr_id: str, result: ValidationResult, branch: str) -> str:
    """The impact comment of a request that is not valid (any more): why there is no report."""
    errors = result.errors or result.problems
    lines = "".join(f"- {p.message}\n" for p in errors[:10])
    more = f"- … and {len(errors) - 10} more (see the status comment)\n" if len(errors) > 10 else ""
    return (f"<!-- dlcm:{IMPACT} -->\n### ⏸️ dlcm impact: none while {cr_id} is not valid\n\n"
            f"{cr_id} does not validate against the default branch (`{branch}`), so there is no impact report:\n\n"
            f"{lines}{more}\nFix the request by editing the issue; the report comes back once it is valid.\n")


async def refresh_impact(gh: Any, ctx: Any, repo: str, issue: int, result: ValidationResult, snap: Any,
                         branch: str) -> bool:
    """Bring the ``<!-- dlcm:impact -->`` comment up to date; True when it was written.

    A valid request gets its report; one that is not valid keeps no stale report: a comment
    posted earlier says why there is none now (no comment is created for a request that was
    never valid). The comment is edited only when its text changes (:func:`same_report`).
    """
    crs = crs_of(ctx.store)
    rec = await ctx.store.arun(crs.get, repo, issue)
    old = rec.impact if rec is not None else None
    if result.valid and snap is not None:
        markdown = await _impact_markdown(repo, issue, result, snap)
        if markdown is None:
            return False
    elif old is not None:
        markdown = no_impact_note(rec.id, result, branch)
    else:
        return False
    if same_report(old, markdown):
        return False
    await gh.upsert_comment(repo, issue, IMPACT, markdown)
    await ctx.store.arun(crs.set_impact, repo, issue, markdown)
    return True


_COLUMN_EXISTS = re.compile(r"^(?P<where>`(?P<table>[^`.]+)\.(?P<column>[^`]+)`) already exists \((?P<what>.*?)\)"
                            r"(?P<rest>: choose .*)$", re.S)
_TABLE_EXISTS = re.compile(r"^table (?P<where>`(?P<schema>[^`.]+)\.(?P<table>[^`]+)`) already exists(?P<rest>:.*)$",
                           re.S)


def added_by(model: Any, schema: str, table: str, column: str | None = None) -> str | None:
    """The migration that created ``schema.table`` (or its ``column``) as the model has it now."""
    origin = None
    for m in model.migrations:
        for op in m.ops:
            if op.table is None or (op.schema_ or "public") != schema:
                continue
            if column is None:
                if op.kind == "create_table" and op.table == table:
                    origin = m.path
                elif op.kind == "rename_table" and op.new_name == table:
                    origin = m.path
                elif op.kind in ("drop_table", "rename_table") and op.table == table:
                    origin = None
            elif op.table == table:
                if op.kind == "add_column" and op.column == column:
                    origin = m.path
                elif op.kind == "create_table" and column in (op.detail.get("columns") or {}):
                    origin = m.path
                elif op.kind == "rename_column" and op.new_name == column:
                    origin = m.path
                elif op.kind in ("drop_column", "rename_column") and op.column == column:
                    origin = None
                elif op.kind == "drop_table":
                    origin = None
    return origin


def explain_existing(result: ValidationResult, model: Any, branch: str) -> ValidationResult:
    """"`users.nickname` already exists" → "… already exists on main (added by `<migration>`) …".

    A request that was valid turns invalid when another change that adds the same thing is
    merged; naming the branch and the migration says what happened and where to look.
    """
    changed = False
    problems = []
    for p in result.problems:
        msg = p.message
        m = _COLUMN_EXISTS.match(msg)
        if m and p.field == "columns":
            qual = next((c.table for c in result.change.columns
                         if c.name == m["column"] and c.table.rsplit(".", 1)[-1] == m["table"]), None)
            schema = qual.rsplit(".", 1)[0] if qual and "." in qual else "public"
            origin = added_by(model, schema, m["table"], m["column"])
            by = f" (added by `{origin}`)" if origin else ""
            msg = f"{m['where']} already exists on {branch}{by} as {m['what']}{m['rest']}"
        elif (m := _TABLE_EXISTS.match(msg)) and p.field == "tables":
            origin = added_by(model, m["schema"], m["table"])
            by = f" (added by `{origin}`)" if origin else ""
            msg = f"table {m['where']} already exists on {branch}{by}{m['rest']}"
        if msg != p.message:
            changed = True
            p = p.model_copy(update={"message": msg})
        problems.append(p)
    return result.model_copy(update={"problems": problems}) if changed else result


# --------------------------------------------------------------------------- issues


async def _config_label(gh: Any, repo: str, repo_data: dict[str, Any] | None) -> tuple[str, Config | None]:
    """The change-request label and the config of the default branch (the config file only)."""
    data = await repository_of(gh, repo, repo_data)
    ref = await gh.getitem(f"/repos/{repo}/git/ref/heads/{quote(data.get('default_branch') or 'main', safe='')}")
    try:
        files = await READER.files_at(gh, repo, ref["object"]["sha"])
        config, _, _ = await READER.config_at(gh, repo, files)
    except ConfigError:
        return DEFAULT_LABEL, None
    return config.change_requests.label, config


@router.register("issues", action="opened")
@router.register("issues", action="edited")
@router.register("issues", action="labeled")
@router.register("issues", action="reopened")
async def issue_changed(event: Any, gh: Any, ctx: Any) -> None:
    data = event.data
    issue = data["issue"]
    repo, number, action = ctx.repo, issue["number"], data["action"]
    body = issue.get("body") or ""
    if issue.get("pull_request") or dashboard.MARKER in body:
        return
    crs = crs_of(ctx.store)
    rec = await ctx.store.arun(crs.get, repo, number)
    sender = (data.get("sender") or {}).get("login")
    at = now()
    common = dict(html_url=issue.get("html_url"), repo_data=data.get("repository"), issue_data=issue)
    if rec is None:
        labels = [lb.get("name", "") for lb in issue.get("labels") or [] if isinstance(lb, dict)]
        form = looks_like_request(body)
        if not form and not labels:
            return
        label, config = await _config_label(gh, repo, data.get("repository"))
        if not form and label.lower() not in {x.lower() for x in labels}:
            return
        opened = Opened(title=issue.get("title") or "", author=(issue.get("user") or {}).get("login"),
                        actor=sender, at=at, delivery_id=event.delivery_id)
        await process(gh, ctx, repo, number, f"opened:{event.delivery_id}", lambda s, a: opened,
                      create=lambda: CRState.new(number, repo, config), **common)
        return
    changes = data.get("changes") or {}
    if (action in ("labeled", "opened", "reopened") or (rec.state.state, "edited") not in TRANSITIONS
            or (changes and not changes.get("body") and not changes.get("title"))):
        # already a change request, nothing to validate again: finish what a failed attempt left
        await finish_pending(gh, ctx, repo, number, repo_data=data.get("repository"), issue_data=issue)
        return
    edited = Edited(title=issue.get("title") if "title" in changes or not changes else None, actor=sender, at=at,
                    delivery_id=event.delivery_id)
    was = rec.state.state
    await process(gh, ctx, repo, number, f"edited:{event.delivery_id}", lambda s, a: edited, **common)
    rec = await ctx.store.arun(crs.get, repo, number)
    if rec is not None and was in ("proposed", "needs-info") and rec.state.state == "approved":
        await link_open_pulls(gh, ctx, repo, rec, data.get("repository"))


async def link_open_pulls(gh: Any, ctx: Any, repo: str, rec: CRRecord,
                          repo_data: dict[str, Any] | None = None) -> list[int]:
    """A request approved only now: link the open pull requests that already name it."""
    found = []
    async for pr in gh.getiter(f"/repos/{repo}/pulls?state=open&per_page=100"):
        if rec.issue in await _requests_named(ctx, repo, pr):
            found.append(pr)
    for pr in found:
        async with _lock("pull", repo.lower(), pr["number"]):
            issues, pr = await sync_pull(gh, ctx, repo, pr["number"], pr, repo_data=repo_data)
            record = await checks_feature.latest(ctx, repo, pr["head"]["sha"]) if pr else None
            if record is not None and rec.issue in issues:
                await apply_check(gh, ctx, repo, rec.issue, pr["number"], record, repo_data=repo_data)
        await recheck_if_stale(gh, ctx, repo, pr["number"], pr, why=f"cr-approved-{rec.issue}")
    return [p["number"] for p in found]


# --------------------------------------------------------------------------- pull requests


async def _requests_named(ctx: Any, repo: str, pr: dict[str, Any]) -> set[int]:
    """Issues of the change requests a pull request names (body, title and branch name)."""
    crs = crs_of(ctx.store)
    numbers, issues = references(pr.get("body"), pr.get("title"))
    bn, bi = branch_references((pr.get("head") or {}).get("ref"))
    numbers |= bn
    issues |= bi
    out = set()
    for n in numbers:
        rec = await ctx.store.arun(crs.by_number, repo, n)
        if rec is not None:
            out.add(rec.issue)
    for i in issues:
        if i != pr.get("number") and await ctx.store.arun(crs.get, repo, i) is not None:
            out.add(i)
    return out


async def _has_active(ctx: Any, repo: str) -> bool:
    crs = crs_of(ctx.store)
    return bool(await ctx.store.arun(crs.list, repo, active_only=True))


async def sync_pull(gh: Any, ctx: Any, repo: str, number: int, pr: dict[str, Any] | None = None, *,
                    actor: str | None = None, delivery_id: str | None = None,
                    repo_data: dict[str, Any] | None = None) -> tuple[list[int], dict[str, Any] | None]:
    """Link the pull request to the change requests it names; (their issues, the pull request)."""
    crs = crs_of(ctx.store)
    linked = set(await ctx.store.arun(crs.links_of_pull, repo, number))
    if pr is None:
        if not linked and not await _has_active(ctx, repo):
            return [], None
        pr = await gh.getitem(f"/repos/{repo}/pulls/{number}")
    issues = set(linked)
    if pr.get("state", "open") == "open":
        issues |= await _requests_named(ctx, repo, pr)
    head = (pr.get("head") or {}).get("sha")
    actor = actor or (pr.get("user") or {}).get("login")
    delivery_id = delivery_id or delivery_of(ctx)
    for issue in sorted(issues):
        rec = await ctx.store.arun(crs.get, repo, issue)
        if rec is None or pr.get("state", "open") != "open":
            continue
        p = rec.state.pr(number)
        if p is not None and (p.head_sha == head or p.merged):
            continue
        if (rec.state.state, "pr_linked") not in TRANSITIONS:
            continue  # not approved yet (or finished): linked by the next push or edit once it is
        ev = PrLinked(pr=number, head_sha=head, actor=actor, at=now(), delivery_id=delivery_id)
        await process(gh, ctx, repo, issue, f"link:{number}@{head}:{rec.state.state}", lambda s, a, ev=ev: ev,
                      repo_data=repo_data)
    linked_now = set(await ctx.store.arun(crs.links_of_pull, repo, number))
    return sorted(linked_now), pr


async def apply_check(gh: Any, ctx: Any, repo: str, issue: int, number: int, record: dict[str, Any], *,
                      repo_data: dict[str, Any] | None = None) -> Applied | None:
    """``CheckPassed``/``CheckFailed`` for one finished check of a linked pull request's head."""
    crs = crs_of(ctx.store)
    rec = await ctx.store.arun(crs.get, repo, issue)
    if rec is None:
        return None
    p = rec.state.pr(number)
    head, base = record.get("head_sha"), record.get("base_sha")
    if p is None or p.merged or (p.head_sha and head and p.head_sha != head):
        return None  # not linked, or the result of an older head
    passed = bool(record.get("passed"))
    key = f"check:{number}@{head}:{'pass' if passed else 'fail'}:{record.get('at')}"
    if await ctx.store.arun(crs.applied, f"{repo.lower()}#{issue}:{key}") is not None:
        return None
    evidence = await _evidence(gh, repo, rec, number, head, base, passed)
    lines = {c["name"]: c for c in record.get("checks") or []}
    summary = "; ".join(f"{n}: {c.get('title')}" for n, c in lines.items() if c.get("conclusion") != "success")
    at = now()
    delivery_id = delivery_of(ctx)
    if passed:
        ev: Any = CheckPassed(pr=number, head_sha=head, evidence=evidence, at=at, actor=None, delivery_id=delivery_id)
    else:
        ev = CheckFailed(pr=number, head_sha=head, evidence=evidence, summary=summary[:500], at=at, actor=None,
                         delivery_id=delivery_id)
    return await process(gh, ctx, repo, issue, key, lambda s, a: ev, repo_data=repo_data)


async def _evidence(gh: Any, repo: str, rec: CRRecord, number: int, head: str | None, base: str | None,
                    passed: bool) -> list:
    if not rec.validation or not head:
        return []
    try:
        result = ValidationResult.model_validate(rec.validation)
        files = [f["filename"] async for f in gh.getiter(f"/repos/{repo}/pulls/{number}/files?per_page=100")]
        models = await READER.pull_models(gh, repo, head, base)
    except ConfigError:
        return []
    return await in_builder(auto_evidence, result, files, models.head.model,
                            models.base.model if models.base else None, passed)


async def recheck_if_stale(gh: Any, ctx: Any, repo: str, number: int, pr: dict[str, Any] | None = None,
                           why: str = "cr") -> bool:
    """Run the checks of an open pull request again when its blockers changed since its last check."""
    if not (_ENABLED.get(ctx.store) or {}).get("checks"):
        return False
    pr = pr or await gh.getitem(f"/repos/{repo}/pulls/{number}")
    if pr.get("state") != "open":
        return False
    record = await checks_feature.latest(ctx, repo, pr["head"]["sha"])
    if record is None:
        return False  # never checked: the pull request's own events check it
    crs = crs_of(ctx.store)
    issues = await ctx.store.arun(crs.links_of_pull, repo, number)
    states = [r.state for i in issues if (r := await ctx.store.arun(crs.get, repo, i)) is not None]
    if sorted(record.get("blocked") or []) == sorted(blocking_reasons(states, number)):
        return False
    html_url = ((pr.get("base") or {}).get("repo") or {}).get("html_url") or f"https://github.com/{repo}"
    target = checks_feature.Target(repo, html_url, pr["head"]["sha"], pr["base"]["sha"], number, rerun=why)
    await checks_feature.check(gh, ctx, target)
    return True


@router.register("pull_request", action="opened")
@router.register("pull_request", action="synchronize")
@router.register("pull_request", action="reopened")
@router.register("pull_request", action="edited")
async def pull_changed(event: Any, gh: Any, ctx: Any) -> None:
    pr = event.data["pull_request"]
    repo, number = ctx.repo, pr["number"]
    if not await _has_active(ctx, repo):
        return
    sender = (event.data.get("sender") or {}).get("login")
    async with _lock("pull", repo.lower(), number):
        issues, pr = await sync_pull(gh, ctx, repo, number, pr, actor=sender, delivery_id=event.delivery_id,
                                     repo_data=event.data.get("repository"))
        if not issues or pr is None:
            return
        record = await checks_feature.latest(ctx, repo, pr["head"]["sha"])
        if record is not None:
            for issue in issues:
                await apply_check(gh, ctx, repo, issue, number, record, repo_data=event.data.get("repository"))
    await recheck_if_stale(gh, ctx, repo, number, pr, why=f"cr-{event.delivery_id[:12]}")


@router.register("pull_request", action="closed")
async def pull_closed(event: Any, gh: Any, ctx: Any) -> None:
    pr = event.data["pull_request"]
    repo, number = ctx.repo, pr["number"]
    if not pr.get("merged") or not await _has_active(ctx, repo):
        return
    crs = crs_of(ctx.store)
    issues = set(await ctx.store.arun(crs.links_of_pull, repo, number))
    sender = (event.data.get("sender") or {}).get("login")
    for issue in sorted(issues):
        merged = PrMerged(pr=number, merge_sha=pr.get("merge_commit_sha"), actor=sender, at=now(),
                          delivery_id=event.delivery_id)
        await process(gh, ctx, repo, issue, f"merged:{number}", lambda s, a, ev=merged: ev,
                      repo_data=event.data.get("repository"))


# --------------------------------------------------------------------------- checks hooks


async def completeness_blockers(gh: Any, ctx: Any, target: Any) -> list[str]:
    """``checks.BLOCKERS`` hook: reasons from the change requests the pull request is linked to."""
    if ctx.store not in _ENABLED or target.pull_number is None:
        return []
    crs = crs_of(ctx.store)
    active = await ctx.store.arun(crs.list, target.repo, active_only=True)
    blocking = {r.issue: r.state for r in active if is_blocking(r.state)}
    if not blocking:
        return []
    issues = set(await ctx.store.arun(crs.links_of_pull, target.repo, target.pull_number))
    if not issues & set(blocking):  # maybe not linked yet: read what the pull request names
        pr = await gh.getitem(f"/repos/{target.repo}/pulls/{target.pull_number}")
        issues |= await _requests_named(ctx, target.repo, pr)
    return blocking_reasons([blocking[i] for i in sorted(issues) if i in blocking], target.pull_number)


async def on_checked(gh: Any, ctx: Any, target: Any, record: dict[str, Any]) -> None:
    """``checks.ON_CHECKED`` hook: a finished check moves the linked change requests."""
    if ctx.store not in _ENABLED or target.pull_number is None:
        return
    repo, number = target.repo, target.pull_number
    async with _lock("pull", repo.lower(), number):
        issues, _ = await sync_pull(gh, ctx, repo, number)
        for issue in issues:
            await apply_check(gh, ctx, repo, issue, number, record)


# --------------------------------------------------------------------------- deployments


async def _contains(gh: Any, repo: str, merge_sha: str, deployed: str) -> bool:
    if merge_sha == deployed:
        return True
    try:
        cmp = await gh.getitem(f"/repos/{repo}/compare/{merge_sha}...{deployed}")
    except gidgethub.BadRequest as exc:
        if exc.status_code in (404, 422):
            return False
        raise
    return cmp.get("status") in ("ahead", "identical")


@router.register("deployment_status", action="created")
async def deployment_succeeded(event: Any, gh: Any, ctx: Any) -> None:
    status, deployment = event.data["deployment_status"], event.data["deployment"]
    if status.get("state") != "success":
        return
    repo = ctx.repo
    crs = crs_of(ctx.store)
    candidates = [r for r in await ctx.store.arun(crs.list, repo, active_only=True)
                  if r.state.state in ("validated", "deployed")]
    if not candidates:
        return
    sha = deployment.get("sha")
    payload = deployment.get("payload")
    named, _ = references(json.dumps(payload) if payload else None, deployment.get("description"))
    environment = status.get("environment") or deployment.get("environment") or "production"
    url = status.get("environment_url") or status.get("target_url") or None
    for rec in candidates:
        merged = [p.merge_sha for p in rec.state.prs if p.merged and p.merge_sha]
        hit = rec.number in named
        if not hit and sha and merged:
            hit = all([await _contains(gh, repo, m, sha) for m in merged])
        if not hit:
            continue
        ev = DeploymentSucceeded(environment=environment, sha=sha, url=url or None,
                                 actor=(event.data.get("sender") or {}).get("login"), at=now(),
                                 delivery_id=event.delivery_id)
        await process(gh, ctx, repo, rec.issue, f"deploy:{deployment.get('id')}:{status.get('id')}",
                      lambda s, a, ev=ev: ev, repo_data=event.data.get("repository"))


# --------------------------------------------------------------------------- the default branch moved

NULL_SHA = "0" * 40
# Requests whose change is still to be made: a push to the default branch can make them invalid
# (what they add now exists) or valid again. Later states describe a change that is on it.
REVALIDATED = ("proposed", "needs-info", "approved", "in-progress", "validated")
BASE_MOVED = "default_branch_moved"  # the audit action of a re-validation caused by a push


async def _still_to_land(gh: Any, repo: str, rec: CRRecord) -> bool:
    """The request's change is not on the default branch yet: none of its pull requests is merged.

    The push of a merge may be handled before the pull request's ``closed`` event, so open
    linked pull requests are asked (a request whose own migration just landed must not be
    told that its column "already exists").
    """
    if any(p.merged for p in rec.state.prs):
        return False
    for p in rec.state.prs:
        try:
            pr = await gh.getitem(f"/repos/{repo}/pulls/{p.number}")
        except gidgethub.BadRequest as exc:
            if exc.status_code in (404, 410):
                continue
            raise
        if pr.get("merged"):
            return False
    return True


def _differs(rec: CRRecord, result: ValidationResult, plan: Any, settings: Settings | None) -> bool:
    """The new validation changes the request: its result, or what the plan makes of it."""
    if rec.validation != result.model_dump(mode="json"):
        return True
    if plan is None:
        return False
    s = rec.state
    steps = [(c.key, c.title, c.auto, c.required) for c in s.checklist]
    planned = [(c.key, c.title, c.auto, c.required) for c in plan.checklist]
    return ((s.components, s.owners, s.teams, steps) != (plan.components, plan.owners, plan.teams, planned)
            or sorted(s.labels) != sorted(plan.labels) or any(a not in s.assignees for a in plan.assignees)
            or (settings is not None and settings != s.settings))


def _apply_base_moved(crs: Any, repo: str, issue: int, key: str, note: Any,
                      make_event: Callable[[CRState, Callable[[], int]], Any],
                      validation: dict[str, Any]) -> Applied | None:
    """Append ``note`` (who pushed, "default branch moved to <sha>") and apply the validation, atomically.

    The workflow has no event for "the default branch moved": like an edit, the push asks for a
    validation and the result is applied with ``ValidationPassed``/``ValidationFailed``; the
    audit event an ``Edited`` would record ("issue edited") would be wrong here, so the reason
    is chained into the trail directly (the same hash chain ``CRStore.apply`` extends), in the
    transaction that applies the result and records ``key``: both or neither.
    """
    full_key = f"{repo.lower()}#{issue}:{key}"
    with crs.store.transaction():
        done = crs.applied(full_key)
        if done is not None:
            return done
        rec = crs.get(repo, issue)
        if rec is None:
            return None
        note = note.model_copy(update={"cr": rec.id, "from_state": rec.state.state, "to_state": rec.state.state})
        h = chain_hash(rec.audit_head, note)
        d = note.model_dump(mode="json")
        crs._q("INSERT INTO cr_audit (repo, issue, seq, cr, at, actor, action, from_state, to_state, reason,"
               " evidence, delivery_id, refused, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
               [repo, issue, rec.audit_count, d["cr"], d["at"], d["actor"], d["action"], d["from_state"],
                d["to_state"], d["reason"], json.dumps(d["evidence"], sort_keys=True), d["delivery_id"],
                int(d["refused"]), rec.audit_head, h])
        crs._q("UPDATE crs SET audit_head = ?, audit_count = ? WHERE repo = ? AND issue = ?",
               [h, rec.audit_count + 1, repo, issue])
        return crs.apply(repo, issue, full_key, make_event, validation=validation)  # joins this transaction


async def revalidate_on_base(gh: Any, ctx: Any, repo: str, issue: int, snap: Any, branch: str, *,
                             actor: str | None, delivery_id: str | None,
                             repo_data: dict[str, Any] | None = None) -> bool:
    """Validate one change request against the moved default branch; True when something changed.

    The workflow only hears of it when the result (or the plan made of it) differs from the
    stored one; the impact comment is rewritten only when its text differs. Keyed by the
    default branch's commit, so the same push handled twice changes nothing the second time.
    """
    crs = crs_of(ctx.store)
    async with _lock("cr", repo.lower(), issue):
        rec = await ctx.store.arun(crs.get, repo, issue)
        if (rec is None or rec.state.state not in REVALIDATED or rec.validation is None
                or not await _still_to_land(gh, repo, rec)):
            return False  # gone, finished, landed, or its first validation is still to come
        issue_data = await gh.getitem(f"/repos/{repo}/issues/{issue}")
        result, plan, settings = await validate_against(issue_data.get("body") or "", snap, branch)
        was = rec.state.state
        changed = False
        if _differs(rec, result, plan, settings):
            at = now()
            note = AuditEvent(cr=rec.id, issue=issue, at=at, actor=actor, action=BASE_MOVED,
                              reason=f"default branch moved to {snap.sha}", delivery_id=delivery_id)
            make = _validation_event(result, plan, settings, at, actor, delivery_id)
            res = await ctx.store.arun(_apply_base_moved, crs, repo, issue, f"base:{snap.sha}", note, make,
                                       result.model_dump(mode="json"))
            changed = res is not None and not res.duplicate
        if await refresh_impact(gh, ctx, repo, issue, result, snap, branch):
            changed = True
        if await drain(gh, ctx, repo, issue, repo_data=repo_data, issue_data=issue_data):
            changed = True
    if not changed:
        return False
    rec = await ctx.store.arun(crs.get, repo, issue)
    if rec is not None and was in ("proposed", "needs-info") and rec.state.state == "approved":
        await link_open_pulls(gh, ctx, repo, rec, repo_data)
    elif rec is not None:  # approvals or breaking-ness may have changed: blockers of open pull requests
        for p in rec.state.prs:
            if not p.merged:
                await recheck_if_stale(gh, ctx, repo, p.number, why=f"base-{snap.sha[:12]}")
    return True


async def _inputs_unchanged(gh: Any, repo: str, before: str | None, after: str | None) -> bool:
    """The push changed no file dlcm reads (same paths, same blobs): the model cannot have moved."""
    if not before or not after or before == NULL_SHA or after == NULL_SHA:
        return False
    try:
        return await READER.files_at(gh, repo, before) == await READER.files_at(gh, repo, after)
    except gidgethub.BadRequest as exc:  # e.g. ``before`` was force-pushed away
        if exc.status_code in (404, 409, 422):
            return False
        raise


@router.register("push")
async def default_branch_moved(event: Any, gh: Any, ctx: Any) -> None:
    """A push to the default branch: every change request still to land is validated against it again.

    Bots push too (merge commits of the App or CI): ``push`` is in ``BOT_EVENTS_HANDLED``
    (:mod:`bot.routing`), so their pushes arrive here like anyone's. The model of the default
    branch is built once for all requests (``READER`` caches it by commit); the requests are
    then validated one by one, each under its own lock.
    """
    data = event.data
    repo_data = data.get("repository") or {}
    repo = ctx.repo
    branch = repo_data.get("default_branch") or repo_data.get("master_branch")
    if not repo or not branch or data.get("ref") != f"refs/heads/{branch}" or data.get("deleted"):
        return
    crs = crs_of(ctx.store)
    active = [r for r in await ctx.store.arun(crs.list, repo, active_only=True)
              if r.state.state in REVALIDATED and r.validation is not None]
    if not active:
        return
    if await _inputs_unchanged(gh, repo, data.get("before"), data.get("after")):
        return
    # Always the branch's head now, not this push's commit: a late (or redelivered) push never
    # takes the requests back to an older model; a newer push queued behind this one finds
    # them up to date.
    try:
        ref = await gh.getitem(f"/repos/{repo}/git/ref/heads/{quote(branch, safe='')}")
    except gidgethub.BadRequest as exc:
        if exc.status_code == 404:
            return  # the branch is gone (renamed): the next push says where it went
        raise
    try:
        snap = await READER.snapshot(gh, repo, ref["object"]["sha"])
    except ConfigError as exc:
        # A broken config on the default branch is reported on the pull request that broke it;
        # requests keep their last validation instead of all failing on it at once.
        log.warning("%s: .github/dlcm.yml on %s is broken (%s); change requests not validated again",
                    repo, branch, exc)
        return
    sender = (data.get("sender") or {}).get("login") or (data.get("pusher") or {}).get("name")
    changed = False
    for rec in active:
        if await revalidate_on_base(gh, ctx, repo, rec.issue, snap, branch, actor=sender,
                                    delivery_id=event.delivery_id, repo_data=repo_data):
            changed = True
    if changed:
        await refresh_dashboard(gh, ctx, repo, repo_data)


# --------------------------------------------------------------------------- commands


async def member_teams(gh: Any, teams: Iterable[str], user: str) -> list[str]:
    """The ``@org/team`` among ``teams`` that ``user`` is an active member of."""
    out = []
    for team in teams:
        org, _, slug = team.lstrip("@").partition("/")
        if not org or not slug:
            continue
        try:
            m = await gh.getitem(f"/orgs/{quote(org)}/teams/{quote(slug)}/memberships/{quote(user)}")
        except gidgethub.BadRequest as exc:
            if exc.status_code in (403, 404):
                continue  # not a member (or a team of another organisation)
            raise
        if m.get("state") == "active":
            out.append(team)
    return out


def _not_a_request(call: Any) -> str:
    return (f"#{call.number} is not a data-layer change request, so `/dlcm {call.command.name}` has nothing to "
            "do here. Open one with the *Data-layer change* issue form (or add the `data-layer-change` label).\n")


async def workflow_command(call: Any) -> str:
    """``/dlcm status|approve|done|cancel|rollback`` on a change request."""
    ctx, gh, repo, name = call.ctx, call.gh, call.repo, call.command.name
    crs = crs_of(ctx.store)
    rec = await ctx.store.arun(crs.get, repo, call.number)
    if rec is None:
        return _not_a_request(call)
    can_write = await gh.has_write(repo, call.sender) if name in WRITE_COMMANDS else False
    teams = await member_teams(gh, rec.state.teams, call.sender) if name == "approve" and can_write else []
    ev = Command(command=name, args=list(call.args), can_write=can_write, actor_teams=teams,
                 comment_id=call.comment_id, actor=call.sender, at=now(), delivery_id=call.delivery_id)
    res = await process(gh, ctx, repo, call.number, f"command:{call.comment_id}:{call.command.line}",
                        lambda s, a: ev, repo_data=call.event.data.get("repository"))
    if res is None:
        return _not_a_request(call)
    if name in WRITE_COMMANDS and not can_write:
        return refusal(call.sender, name, repo)
    if res.ok and name == "approve":
        for number in sorted({p.number for p in (await ctx.store.arun(crs.get, repo, call.number)).state.prs}):
            await recheck_if_stale(gh, ctx, repo, number, why=f"cr-{call.delivery_id[:12]}")
    text = "\n\n".join(_strip_mention(r, call.sender) for r in res.replies).strip()
    if not text:
        text = f"Done: {res.cr} is `{res.state}`." if res.ok else _strip_mention(res.reason, call.sender)
    return text + "\n"


async def impact_command(call: Any) -> str:
    """``/dlcm impact`` on a change request: the impact report, computed again and posted."""
    ctx, gh, repo = call.ctx, call.gh, call.repo
    crs = crs_of(ctx.store)
    rec = await ctx.store.arun(crs.get, repo, call.number)
    if rec is None:
        return _not_a_request(call)
    try:
        import checks.impact  # noqa: F401
    except ImportError:
        return "Impact analysis is not part of this dlcm installation.\n"
    if not rec.validation or not rec.validation.get("valid"):
        return f"{rec.id} is not valid yet: fix the problems in the status comment, then ask again.\n"
    try:
        snap = await default_snapshot(gh, repo, call.event.data.get("repository"))
    except ConfigError as exc:
        return f"`.github/dlcm.yml` on the default branch is broken: {exc}\n"
    result = ValidationResult.model_validate(rec.validation)
    url = await post_impact(gh, ctx, repo, call.number, result, snap)
    if url is None:
        return "The impact analysis failed; the App's log says why.\n"
    return f"Impact report of {rec.id} refreshed against `{snap.sha[:7]}`: [see it]({url}).\n"


COMMAND_SPECS: tuple[tuple[str, Any, str, str], ...] = (
    ("status", workflow_command, "Where this change request stands and what is next.", "status"),
    ("approve", workflow_command, "Approve a breaking change (members of the owning teams; write access).",
     "approve"),
    ("done", workflow_command, "Mark a checklist step done with a link, commit or file (write access).",
     "done <step> <evidence>"),
    ("cancel", workflow_command, "Cancel this change request (write access).", "cancel [reason]"),
    ("rollback", workflow_command, "Roll a deployed change back (write access).", "rollback [reason]"),
    ("impact", impact_command, "Analyse the impact of this change again and post the report.", "impact"),
)
_registered: list[tuple[str, str]] = []
_users = 0


def register_commands() -> None:
    """Add the change-request commands (issues only) to the registry; a place taken by someone else is kept."""
    for name, handler, summary, usage in COMMAND_SPECS:
        slot = commands_feature.COMMANDS.get(name) or {}
        old = slot.get("issue")
        if old is not None and old.handler is not handler:
            log.warning("/dlcm %s on issues is already registered by %s; keeping it", name, old.handler.__module__)
            continue
        commands_feature.register(name, handler, summary=summary, usage=usage, where="issue")
        if (name, "issue") not in _registered:
            _registered.append((name, "issue"))


def unregister_commands() -> None:
    for name, where in _registered:
        slot = commands_feature.COMMANDS.get(name) or {}
        reg = slot.get(where)
        if reg is not None and reg.handler.__module__ == __name__:
            slot.pop(where)
        if name in commands_feature.COMMANDS and not commands_feature.COMMANDS[name]:
            commands_feature.COMMANDS.pop(name)
    _registered.clear()


# --------------------------------------------------------------------------- scheduled events


async def run_due(services: Any, at: dt.datetime | None = None) -> int:
    """Deliver scheduled events that are due (the end of monitoring windows); how many ran."""
    at = at or now()
    crs = crs_of(services.store)
    ran = 0
    for row in await services.store.arun(crs.due, at.timestamp()):
        ctx = _Ctx(store=services.store, settings=services.settings, installation_id=row["installation_id"])
        gh = services.github.installation(row["installation_id"]) if row["installation_id"] else services.github.app()
        if row["event"] == "monitoring_window_passed":
            ev = MonitoringWindowPassed(at=at, actor=None)
            await process(gh, ctx, row["repo"], row["issue"], f"schedule:{row['key']}", lambda s, a, ev=ev: ev)
        await services.store.arun(crs.schedule_done, row["key"])
        ran += 1
    return ran


async def _scheduler(services: Any) -> None:
    while True:
        await asyncio.sleep(SCHEDULER_EVERY)
        try:
            await run_due(services)
        except Exception:
            log.exception("scheduled change-request events failed; trying again later")


# --------------------------------------------------------------------------- wiring


def setup_app(app: Any) -> None:
    """Called by ``bot.server.create_app``: commands, checks hooks, the dashboard routes, the scheduler."""
    from bot import web
    from bot.server import SERVICES

    global _users
    svc = app[SERVICES]
    ensure_schema(svc.store)
    probe = sansio.Event({"action": "opened"}, event="pull_request", delivery_id="probe")
    _ENABLED[svc.store] = {"checks": checks_feature.pull_request_changed in svc.router.fetch(probe)}
    if completeness_blockers not in checks_feature.BLOCKERS:
        checks_feature.BLOCKERS.append(completeness_blockers)
    if on_checked not in checks_feature.ON_CHECKED:
        checks_feature.ON_CHECKED.append(on_checked)
    register_commands()
    _users += 1
    web.setup(app)
    task_key = web.TASK_KEY

    async def start(app_: Any) -> None:
        app_[task_key] = asyncio.create_task(_scheduler(svc), name="dlcm-cr-scheduler")

    async def stop(app_: Any) -> None:
        global _users
        task = app_.get(task_key)
        if task is not None:
            task.cancel()
        _users -= 1
        _ENABLED.pop(svc.store, None)
        if _users <= 0:
            unregister_commands()
            for hooks, fn in ((checks_feature.BLOCKERS, completeness_blockers),
                              (checks_feature.ON_CHECKED, on_checked)):
                if fn in hooks:
                    hooks.remove(fn)

    app.on_startup.append(start)
    app.on_cleanup.append(stop)


__all__ = ["added_by", "blocking_reasons", "branch_references", "completeness_blockers", "default_branch_moved",
           "explain_existing", "is_blocking", "looks_like_request", "member_teams", "on_checked", "process",
           "references", "refresh_impact", "register_commands", "revalidate_on_base", "router", "run_due",
           "same_report", "setup_app", "sync_pull", "unregister_commands"]
