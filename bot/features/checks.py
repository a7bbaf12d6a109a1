"""``dlcm/completeness`` and ``dlcm/migration-safety`` on every pull request head.

Reacts to ``pull_request`` (opened, synchronize, reopened, ready_for_review),
``check_suite`` (requested, rerequested) and ``check_run`` (rerequested, ours only):

1. both check runs are created ``in_progress`` on the head commit (one listing call finds
   runs an interrupted attempt already created: external id ``<head sha>:<name>``);
2. head and base models are read through the git data API (:mod:`bot.repo_reader`), the
   rules run once per check (Squawk's ``safety`` category → migration-safety, every other
   category → completeness);
3. each run is completed ``success`` or ``failure`` (never neutral: completeness is the
   required status check), with a title with counts, the Markdown report linking to the
   files at the head commit, and annotations in batches of 50;
4. one sticky comment per pull request (``<!-- dlcm:completeness -->``) shows the report
   while it fails and turns into "all clear" once it passes; a pull request that is clean
   from the start gets no comment.

Idempotent under retries and crashes: every step records its progress in the store (kv
namespaces below) and, after a crash, re-reads GitHub before writing (a completed run's
``annotations_count`` says which batches already landed). The same head checked twice
(``check_suite.requested`` and ``pull_request.synchronize`` of one push) costs nothing
the second time. A requested re-run (``/dlcm check``, "Re-run" in the UI) gets fresh check
runs, because GitHub appends annotations to a run on every update.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import gidgethub
from gidgethub.routing import Router

from bot import render
from bot.github import AMBIGUOUS_ERRORS, ANNOTATIONS_PER_REQUEST, marker_tag
from bot.queue import RetryLater
from bot.render import CHECK_NAMES, COMPLETENESS, SAFETY, STICKY_MARKER, CheckLine
from bot.repo_reader import READER, ConfigError, ReadStats, RepoReader, in_builder
from checks.engine import CheckResult, run_checks
from checks.rules import all_rules

log = logging.getLogger("dlcm.features.checks")

router = Router()

KV_RUNS = "dlcm.check_runs"  # "<repo>:<external id>" → {"run_id", "url", "state", "base"}
KV_RESULTS = "dlcm.check_results"  # "<repo>@<head>..<base>", "<repo>@<head>", "<repo>#<n>" → record
KV_STICKY = "dlcm.sticky"  # "<repo>#<n>" → {"intent", "hash", "head"}
KV_IMPACT = "dlcm.pr_impact"  # "<repo>#<n>" → {"hash", "head"}
IMPACT_MARKER = "impact"  # <!-- dlcm:impact -->: the diff's impact report on a pull request
SAFETY_CATEGORY = "safety"

# Errors a retry of the job can fix (GitHub or the network); anything else in the analysis
# is a dlcm bug, reported on the check run instead of retried forever.
TRANSIENT = (gidgethub.GitHubException, aiohttp.ClientError, asyncio.TimeoutError, RetryLater)

_locks: weakref.WeakValueDictionary[tuple, asyncio.Lock] = weakref.WeakValueDictionary()

# Hooks other features add to while their App runs (bot/features/change_requests.py does):
# BLOCKERS give reasons that fail dlcm/completeness whatever the rules say (a breaking change
# request not approved yet); ON_CHECKED hear about every finished check of a pull request
# (to move the linked change requests along). Empty unless such a feature is on.
BLOCKERS: list[Callable[[Any, Any, Target], Awaitable[list[str]]]] = []
ON_CHECKED: list[Callable[[Any, Any, Target, dict[str, Any]], Awaitable[None]]] = []


def _lock(*key: Any) -> asyncio.Lock:
    lock = _locks.get(key)
    if lock is None:
        lock = _locks[key] = asyncio.Lock()
    return lock


@dataclass(frozen=True)
class Target:
    """One head commit to check against one base, for one pull request (if any)."""

    repo: str
    html_url: str
    head_sha: str
    base_sha: str | None
    pull_number: int | None = None
    rerun: str | None = None  # id of the request for a re-run: fresh check runs

    def external_id(self, name: str) -> str:
        ext = f"{self.head_sha}:{name}"
        return f"{ext}:{self.rerun}" if self.rerun else ext

    @property
    def result_key(self) -> str:
        return f"{self.repo}@{self.head_sha}..{self.base_sha or ''}"


@dataclass
class Outcome:
    """What checking a target produced (also what ``/dlcm check`` and the demo print)."""

    target: Target
    checks: list[CheckLine]
    passed: bool
    skipped: bool = False  # already checked: nothing was done
    stats: dict[str, Any] = field(default_factory=dict)
    config_error: str | None = None


def categories() -> tuple[list[str], list[str]]:
    """(completeness categories, safety categories) of the registered rules."""
    cats = sorted({r.category for r in all_rules()})
    return [c for c in cats if c != SAFETY_CATEGORY] or ["-"], [SAFETY_CATEGORY]


def html_url_of(payload: dict[str, Any], repo: str) -> str:
    url = (payload.get("repository") or {}).get("html_url")
    return url or f"https://github.com/{repo}"


# -- event handlers -----------------------------------------------------------------------


@router.register("pull_request", action="opened")
@router.register("pull_request", action="synchronize")
@router.register("pull_request", action="reopened")
@router.register("pull_request", action="ready_for_review")
async def pull_request_changed(event: Any, gh: Any, ctx: Any) -> None:
    pr = event.data["pull_request"]
    if pr.get("state", "open") != "open":
        return
    target = Target(ctx.repo, html_url_of(event.data, ctx.repo), pr["head"]["sha"], pr["base"]["sha"],
                    pr["number"])
    await check(gh, ctx, target)


@router.register("check_suite", action="requested")
@router.register("check_suite", action="rerequested")
async def check_suite_requested(event: Any, gh: Any, ctx: Any) -> None:
    suite = event.data["check_suite"]
    rerun = event.delivery_id if event.data.get("action") == "rerequested" else None
    await _check_pulls(event, gh, ctx, suite["head_sha"], suite.get("pull_requests") or [], rerun)


@router.register("check_run", action="rerequested")
async def check_run_rerequested(event: Any, gh: Any, ctx: Any) -> None:
    run = event.data["check_run"]
    if run.get("name") not in CHECK_NAMES or (run.get("app") or {}).get("id") != ctx.settings.app_id:
        return
    await _check_pulls(event, gh, ctx, run["head_sha"], run.get("pull_requests") or [], event.delivery_id)


async def _check_pulls(event: Any, gh: Any, ctx: Any, head_sha: str, pulls: list[dict[str, Any]],
                       rerun: str | None) -> None:
    repo_id = (event.data.get("repository") or {}).get("id")
    html_url = html_url_of(event.data, ctx.repo)
    ours = [p for p in pulls if ((p.get("base") or {}).get("repo") or {}).get("id") in (None, repo_id)]
    if not ours:
        log.info("%s@%s: no open pull request in the payload, nothing to compare with", ctx.repo, head_sha[:7])
        return
    for pr in ours:
        await check(gh, ctx, Target(ctx.repo, html_url, head_sha, pr["base"]["sha"], pr["number"], rerun))


# -- the check ----------------------------------------------------------------------------


async def check(gh: Any, ctx: Any, target: Target, *, reader: RepoReader = READER) -> Outcome:
    """Check ``target``: check runs created, completed, sticky comment in sync."""
    store = ctx.store
    async with _lock(target.repo.lower(), target.head_sha, target.base_sha, target.rerun):
        if target.rerun is None:
            record = await store.arun(store.kv_get, KV_RESULTS, target.result_key)
            if record and record.get("done"):
                if target.pull_number is not None:
                    await sync_sticky(gh, ctx, target, record)
                await _notify_checked(gh, ctx, target, record)
                return _outcome(target, record, skipped=True)
            target = await _fresh_if_base_changed(ctx, target)
        runs = await start_runs(gh, ctx, target)
        record = await analyse(gh, ctx, target, reader, {n: r.get("url") for n, r in runs.items()})
        await apply_blockers(gh, ctx, target, record)
        for line in record["checks"]:
            run = runs[line["name"]]
            output = record["_outputs"][line["name"]]
            await complete_run(gh, ctx, target, line["name"], run, line["conclusion"], output)
            ctx.metrics.check_outcomes.inc(check=line["name"], conclusion=line["conclusion"])
        record.pop("_outputs")
        if target.pull_number is not None:
            await sync_sticky(gh, ctx, target, record)
            await sync_impact(gh, ctx, target, record)
        record["done"] = True
        await store.arun(store.kv_set, KV_RESULTS, target.result_key, record)
        await store.arun(store.kv_set, KV_RESULTS, f"{target.repo}@{target.head_sha}", record)
        if target.pull_number is not None:
            await store.arun(store.kv_set, KV_RESULTS, f"{target.repo}#{target.pull_number}", record)
        await _notify_checked(gh, ctx, target, record)
        return _outcome(target, record)


async def apply_blockers(gh: Any, ctx: Any, target: Target, record: dict[str, Any]) -> None:
    """Fail completeness for the reasons of :data:`BLOCKERS` (listed first in its summary)."""
    record.setdefault("blocked", [])
    if target.pull_number is None or not BLOCKERS:
        return
    reasons: list[str] = []
    for blocker in list(BLOCKERS):
        try:
            reasons += await blocker(gh, ctx, target)
        except TRANSIENT:
            raise
        except Exception as exc:  # fail closed: an unknown approval state must not pass
            log.exception("blocker %s failed on %s#%s", blocker, target.repo, target.pull_number)
            reasons.append(f"dlcm could not evaluate {getattr(blocker, '__name__', 'a blocker')} "
                           f"({type(exc).__name__}); comment `/dlcm check` to try again")
    record["blocked"] = reasons
    if not reasons:
        return
    text = "**Blocked**: " + ("\n\n" if len(reasons) > 1 else "") + "\n".join(
        ("- " if len(reasons) > 1 else "") + r for r in reasons) + "\n\n"
    out = dict(record["_outputs"][COMPLETENESS])
    out["title"] = f"blocked: {reasons[0]}"[: render.MAX_TITLE]
    out["summary"] = (text + (out.get("summary") or ""))[: 65_535]
    record["_outputs"] = {**record["_outputs"], COMPLETENESS: out}
    for line in record["checks"]:
        if line["name"] == COMPLETENESS:
            line["conclusion"], line["title"] = "failure", out["title"]
    if record["passed"]:  # only the blockers fail it: a comment of its own
        details = next((c.get("url") for c in record["checks"] if c["name"] == COMPLETENESS), None)
        record["comment"] = render.blocked_comment(reasons, html_url=target.html_url, head_sha=target.head_sha,
                                                   details_url=details)
    else:
        record["comment"] = text + (record.get("comment") or "")
    record["passed"] = False


async def _notify_checked(gh: Any, ctx: Any, target: Target, record: dict[str, Any]) -> None:
    if target.pull_number is not None:
        for hook in ON_CHECKED:
            await hook(gh, ctx, target, record)


def last_attempt(ctx: Any) -> bool:
    """This job will not be retried if it fails now."""
    delivery, settings = getattr(ctx, "delivery", None), getattr(ctx, "settings", None)
    return delivery is not None and settings is not None and delivery.attempts >= settings.max_attempts


def _outcome(target: Target, record: dict[str, Any], skipped: bool = False) -> Outcome:
    return Outcome(target, [CheckLine.from_dict(c) for c in record["checks"]], record["passed"], skipped,
                   record.get("source") or {}, record.get("config_error"))


async def _fresh_if_base_changed(ctx: Any, target: Target) -> Target:
    """A head already checked against another base gets fresh runs (annotations append)."""
    store = ctx.store
    for name in CHECK_NAMES:
        state = await store.arun(store.kv_get, KV_RUNS, f"{target.repo}:{target.external_id(name)}")
        if state and state.get("state") == "done" and state.get("base") != target.base_sha:
            return Target(target.repo, target.html_url, target.head_sha, target.base_sha, target.pull_number,
                          rerun=f"base-{(target.base_sha or 'none')[:12]}")
    return target


async def analyse(gh: Any, ctx: Any, target: Target, reader: RepoReader,
                  urls: dict[str, str | None]) -> dict[str, Any]:
    """Read the models and run the rules; a record of conclusions, titles and outputs."""
    started = time.monotonic()
    stats = ReadStats()
    record: dict[str, Any] = {"head_sha": target.head_sha, "base_sha": target.base_sha, "at": time.time()}
    outputs: dict[str, dict[str, Any]] = {}
    results: dict[str, CheckResult] = {}
    try:
        models = await reader.pull_models(gh, target.repo, target.head_sha, target.base_sha)
        stats = models.stats
        complete_cats, safety_cats = categories()
        for name, cats in ((COMPLETENESS, complete_cats), (SAFETY, safety_cats)):
            results[name] = await in_builder(
                run_checks, models.head.model, models.config,
                base=models.base.model if models.base else None, source=models.head.source, categories=cats)
    except ConfigError as exc:
        log.info("%s@%s: %s", target.repo, target.head_sha[:7], exc)
        record["config_error"] = str(exc)
        output = render.config_error_output(exc)
        outputs = {name: output for name in CHECK_NAMES}
        lines = [CheckLine(name, "failure", output["title"], urls.get(name)) for name in CHECK_NAMES]
    except Exception as exc:
        if isinstance(exc, TRANSIENT) and (isinstance(exc, RetryLater) or not last_attempt(ctx)):
            raise  # GitHub or the network: the job is retried
        # a dlcm bug, or GitHub failing on the last attempt: say so rather than stay in progress
        log.exception("checking %s@%s failed", target.repo, target.head_sha)
        message = f"{type(exc).__name__}: {exc}"
        if isinstance(exc, TRANSIENT):
            message = f"GitHub kept failing while dlcm read this commit ({message})"
        record["internal_error"] = message
        output = render.internal_error_output(message, target.head_sha)
        outputs = {name: output for name in CHECK_NAMES}
        lines = [CheckLine(name, "failure", output["title"], urls.get(name)) for name in CHECK_NAMES]
    else:
        lines = []
        for name, result in results.items():
            outputs[name] = render.check_output(name, result, html_url=target.html_url,
                                                head_sha=target.head_sha)
            lines.append(CheckLine(name, render.conclusion(result), outputs[name]["title"], urls.get(name),
                                   findings=len(result.findings)))
    if results and models.base is not None:
        record["impact"] = await _impact_of(target, models)
    record["checks"] = [line.as_dict() for line in lines]
    record["passed"] = all(line.conclusion == "success" for line in lines)
    completeness = results.get(COMPLETENESS)
    safety_line = next(line for line in lines if line.name == SAFETY)
    if not record["passed"]:
        if completeness is not None:
            record["comment"] = render.sticky_comment(completeness, html_url=target.html_url,
                                                      head_sha=target.head_sha, safety=safety_line,
                                                      details_url=urls.get(COMPLETENESS))
        else:
            record["comment"] = outputs[COMPLETENESS]["summary"]
    record["safety"] = safety_line.as_dict()
    record["source"] = {
        "repo": target.repo, "head": target.head_sha, "base": target.base_sha, "files": stats.files,
        "tree_calls": stats.tree_calls, "blob_calls": stats.blob_calls, "blobs_cached": stats.blobs_cached,
        "models_cached": stats.models_cached, "seconds": round(time.monotonic() - started, 3),
    }
    record["_outputs"] = outputs
    return record


async def _impact_of(target: Target, models: Any) -> str | None:
    """The diff's impact report (Markdown), None when the pull request changes no data-layer part."""
    from checks.impact import analyze_diff, render_markdown as render_impact

    try:
        report = await in_builder(analyze_diff, models.base.model, models.head.model, models.config)
    except Exception:  # advisory: an impact bug must never fail or block the check
        log.exception("impact of %s@%s failed", target.repo, target.head_sha)
        return None
    if not report.changes:
        return None

    def link(file: str, line: int) -> str:
        return f"[`{file}:{line}`]({target.html_url}/blob/{target.head_sha}/{file}#L{line})"

    return render_impact(report, link=link)


# -- check runs ---------------------------------------------------------------------------


async def list_runs(gh: Any, ctx: Any, repo: str, head_sha: str) -> dict[str, dict[str, Any]]:
    """This App's check runs on ``head_sha`` by external id (one call for all of them)."""
    runs = {}
    async for run in gh.getiter(
        f"/repos/{repo}/commits/{head_sha}/check-runs?filter=all&app_id={ctx.settings.app_id}&per_page=100",
        iterable_key="check_runs",
    ):
        if run.get("external_id"):
            runs.setdefault(run["external_id"], run)
    return runs


async def start_runs(gh: Any, ctx: Any, target: Target) -> dict[str, dict[str, Any]]:
    """Both check runs ``in_progress`` (created once: recorded ids, else found, else POST)."""
    store = ctx.store
    runs: dict[str, dict[str, Any]] = {}
    for name in CHECK_NAMES:
        state = await store.arun(store.kv_get, KV_RUNS, f"{target.repo}:{target.external_id(name)}")
        if state:
            runs[name] = state
    missing = [n for n in CHECK_NAMES if n not in runs]
    if not missing:
        return runs
    existing = await list_runs(gh, ctx, target.repo, target.head_sha)
    for name in missing:
        ext = target.external_id(name)
        run = existing.get(ext) or await _create_run(gh, ctx, target, name, ext)
        state = {"run_id": run["id"], "url": run.get("html_url"), "state": "created", "base": target.base_sha}
        await store.arun(store.kv_set, KV_RUNS, f"{target.repo}:{ext}", state)
        await store.arun(store.set_check_run, target.repo, ext, run["id"], name, target.head_sha)
        runs[name] = state
    return runs


async def _create_run(gh: Any, ctx: Any, target: Target, name: str, ext: str) -> dict[str, Any]:
    body = {"name": name, "head_sha": target.head_sha, "external_id": ext, "status": "in_progress",
            "started_at": _iso_now()}
    attempts = gh.client.policy.max_attempts if hasattr(gh, "client") else 3
    last: BaseException | None = None
    for attempt in range(1, attempts + 1):
        try:
            return await gh.post(f"/repos/{target.repo}/check-runs", data=body)
        except AMBIGUOUS_ERRORS as exc:  # it may have landed: look before creating again
            last = exc
            log.info("creating %s on %s@%s failed (%r), re-listing", name, target.repo, target.head_sha[:7], exc)
            await gh.sleep(0.2 * attempt)
            found = (await list_runs(gh, ctx, target.repo, target.head_sha)).get(ext)
            if found is not None:
                return found
    assert last is not None
    raise last


async def complete_run(gh: Any, ctx: Any, target: Target, name: str, state: dict[str, Any],
                       conclusion: str, output: dict[str, Any]) -> None:
    """Complete the run with its output; annotations in batches of 50, each sent once."""
    if state.get("state") == "done":
        return
    store = ctx.store
    key = f"{target.repo}:{target.external_id(name)}"
    path = f"/repos/{target.repo}/check-runs/{state['run_id']}"
    annotations = list(output.get("annotations") or [])
    text = {k: output[k] for k in ("title", "summary", "text") if k in output}
    sent = 0
    completed = False
    if state.get("state") == "completing":  # an earlier attempt stopped half-way: ask GitHub
        run = await gh.getitem(path)
        if run.get("status") == "completed":
            completed = True
            sent = (run.get("output") or {}).get("annotations_count") or 0
    state = {**state, "state": "completing"}
    await store.arun(store.kv_set, KV_RUNS, key, state)
    if not completed:
        first = annotations[:ANNOTATIONS_PER_REQUEST]
        await gh.patch(path, data={"status": "completed", "conclusion": conclusion,
                                   "completed_at": _iso_now(), "output": {**text, "annotations": first}})
        sent = len(first)
    for i in range(sent, len(annotations), ANNOTATIONS_PER_REQUEST):
        await gh.patch(path, data={"output": {**text, "annotations": annotations[i:i + ANNOTATIONS_PER_REQUEST]}})
    await store.arun(store.kv_set, KV_RUNS, key, {**state, "state": "done", "conclusion": conclusion})


def _iso_now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


# -- the sticky comment -------------------------------------------------------------------


async def sync_sticky(gh: Any, ctx: Any, target: Target, record: dict[str, Any]) -> None:
    """The pull request's one dlcm comment shows ``record`` (created only when failing)."""
    store = ctx.store
    number = target.pull_number
    assert number is not None
    key = f"{target.repo}#{number}"
    state = await store.arun(store.kv_get, KV_STICKY, key) or {}
    details = next((c.get("url") for c in record["checks"] if c["name"] == COMPLETENESS), None)
    if not record["passed"]:
        body = record["comment"]
    else:
        exists = state.get("intent") or await store.arun(
            store.get_comment_id, target.repo, number, marker_tag(STICKY_MARKER))
        if not exists:
            return  # clean from the start: no comment
        safety = CheckLine.from_dict(record["safety"]) if record.get("safety") else None
        body = render.all_clear_comment(html_url=target.html_url, head_sha=target.head_sha,
                                        details_url=details, safety=safety)
    digest = hashlib.sha1(body.encode()).hexdigest()
    if state.get("hash") == digest:
        return
    if not state.get("intent"):  # a crash after the POST must not leave a comment we forget
        await store.arun(store.kv_set, KV_STICKY, key, {**state, "intent": True})
    await gh.upsert_comment(target.repo, number, STICKY_MARKER, body)
    await store.arun(store.kv_set, KV_STICKY, key, {"intent": True, "hash": digest, "head": target.head_sha})


async def sync_impact(gh: Any, ctx: Any, target: Target, record: dict[str, Any]) -> None:
    """The pull request's impact comment follows its diff (created only when it changes the data layer)."""
    store = ctx.store
    key = f"{target.repo}#{target.pull_number}"
    state = await store.arun(store.kv_get, KV_IMPACT, key) or {}
    body = record.get("impact")
    if body is None:
        if not state.get("hash"):
            return
        body = (f"<!-- dlcm:impact -->\n### dlcm impact: no data-layer change\n\nAs of "
                f"{target.head_sha[:7]} this pull request no longer changes tables, columns, endpoints or "
                f"client methods.\n")
    digest = hashlib.sha1(body.encode()).hexdigest()
    if state.get("hash") == digest:
        return
    await gh.upsert_comment(target.repo, target.pull_number, IMPACT_MARKER, body)
    await store.arun(store.kv_set, KV_IMPACT, key, {"hash": digest, "head": target.head_sha})


async def latest(ctx: Any, repo: str, head_sha: str) -> dict[str, Any] | None:
    """The last finished check record of ``head_sha`` (for ``/dlcm status``)."""
    return await ctx.store.arun(ctx.store.kv_get, KV_RESULTS, f"{repo}@{head_sha}")


async def latest_of_pull(ctx: Any, repo: str, number: int) -> dict[str, Any] | None:
    """The last finished check record of pull request ``number``, whatever its head."""
    return await ctx.store.arun(ctx.store.kv_get, KV_RESULTS, f"{repo}#{number}")


__all__ = ["BLOCKERS", "CHECK_NAMES", "KV_RESULTS", "ON_CHECKED", "KV_RUNS", "KV_STICKY", "Outcome", "Target", "check", "latest", "latest_of_pull",
           "router"]
