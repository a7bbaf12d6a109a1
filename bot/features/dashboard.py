"""The dashboard issue: one issue per repository listing the active change requests by state.

Like Renovate's dependency dashboard: one issue titled "Data layer changes", found again by
the hidden marker ``<!-- dlcm:dashboard -->`` in its body (and the label ``dlcm:dashboard``
that makes finding it one call), rewritten in place after every change of a change request,
never duplicated. Short lines with links, grouped by state; finished requests fold away.

It has no webhook handlers of its own: :mod:`bot.features.change_requests` calls
:func:`refresh` after every change. Rendering is the pure :func:`render_dashboard`.

Pinning the issue is up to a maintainer: GitHub pins issues through its GraphQL API only
(``pinIssue``), and dlcm speaks REST; the body says so.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import time
import weakref
from collections.abc import Iterable
from typing import Any

import gidgethub
import jinja2

from bot.cr_store import CRRecord, crs_of

log = logging.getLogger("dlcm.features.dashboard")

MARKER = "<!-- dlcm:dashboard -->"
TITLE = "Data layer changes"
LABEL = "dlcm:dashboard"
KV = "dlcm.dashboard"  # repo (lower case) → {"issue": n, "hash": sha1 of the body}
PUBLIC_URL_ENV = "DLCM_PUBLIC_URL"  # where `dlcm serve` is reachable (links to the HTML dashboard)

# Sections of the issue, in order: (title, states). Finished requests are folded below.
GROUPS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("needs-info", "❓ Needs info", ("needs-info",)),
    ("proposed", "📝 Being validated", ("proposed",)),
    ("approved", "👍 Approved: waiting for a pull request", ("approved",)),
    ("in-progress", "🚧 In progress", ("in-progress",)),
    ("validated", "✅ Validated: merge and deploy", ("validated",)),
    ("deployed", "🚀 Deployed and monitored", ("deployed", "monitoring")),
    ("rolled-back", "↩️ Rolled back", ("rolled-back",)),
)
FINISHED = ("done", "cancelled")
MAX_FINISHED = 20
MAX_OWNERS = 3

_ENV: jinja2.Environment | None = None
_locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()


def public_url() -> str | None:
    """The App's public base URL (``$DLCM_PUBLIC_URL``), for links to the HTML dashboard."""
    url = os.environ.get(PUBLIC_URL_ENV, "").strip().rstrip("/")
    return url or None


def env() -> jinja2.Environment:
    global _ENV
    if _ENV is None:
        _ENV = jinja2.Environment(loader=jinja2.PackageLoader("templates", "dashboard"), autoescape=False,
                                  keep_trailing_newline=True, undefined=jinja2.StrictUndefined,
                                  trim_blocks=True, lstrip_blocks=True)
    return _ENV


def age(since: float, now: float) -> str:
    """``45m``, ``5h``, ``3d``, ``7w``: short enough for a phone."""
    s = max(0, int(now - since))
    if s < 3600:
        return f"{max(1, s // 60)}m"
    if s < 86400:
        return f"{s // 3600}h"
    if s < 86400 * 14:
        return f"{s // 86400}d"
    return f"{s // (86400 * 7)}w"


def owners_short(rec: CRRecord) -> str:
    st = rec.state
    people = list(st.teams) + [f"@{a}" for a in st.assignees if f"@{a}" not in st.teams]
    if not people:
        people = [o for o in st.owners]
    if not people and st.author:
        people = [f"@{st.author}"]
    shown = people[:MAX_OWNERS]
    more = len(people) - len(shown)
    return " ".join(shown) + (f" +{more}" if more > 0 else "")


def pr_marks(rec: CRRecord) -> list[dict[str, Any]]:
    out = []
    for p in rec.state.prs:
        mark = "merged" if p.merged else {"passed": "✅", "failed": "❌"}.get(p.check or "", "⏳")
        out.append({"number": p.number, "mark": mark})
    return out


def title_of(rec: CRRecord) -> str:
    """The request's one-line summary (as validated, else as written), else its issue title without prefix."""
    st = rec.state
    written = ((rec.validation or {}).get("request") or {}).get("summary")
    t = st.summary or written or st.title or f"Issue #{rec.issue}"
    t = t.strip()
    if t.startswith("[") and "]" in t and t[1:t.index("]")].upper().startswith("DLCM"):
        t = t[t.index("]") + 1:].strip()
    return " ".join(t.split()) or f"Issue #{rec.issue}"


def row(rec: CRRecord, now: float, html_url: str, web_url: str | None = None) -> dict[str, Any]:
    """What one change request shows on the dashboards (the issue, the HTML page, the JSON)."""
    st = rec.state
    problems = [p for p in st.problems if p.severity == "error"]
    steps = [s for s in st.checklist if s.required]
    return {
        "id": st.id, "number": st.number, "issue": rec.issue, "title": title_of(rec), "state": st.state,
        "risk": st.risk, "breaking": st.breaking, "owners": owners_short(rec), "owner_list": list(st.owners),
        "prs": pr_marks(rec), "age": age(rec.created_at, now), "updated": age(rec.updated_at, now),
        "created_at": rec.created_at, "updated_at": rec.updated_at,
        "url": rec.html_url or f"{html_url}/issues/{rec.issue}",
        "page": f"{web_url}/dashboard/{st.repo or ''}/{st.id}" if web_url and st.number else None,
        "problems": len(problems), "steps_done": sum(1 for s in steps if s.done), "steps": len(steps),
        "approvals": len(st.valid_approvals()), "approvals_needed": st.approvals_needed,
    }


def render_dashboard(repo: str, records: Iterable[CRRecord], *, now: float | None = None,
                     html_url: str | None = None, web_url: str | None = None) -> str:
    """The Markdown body of the dashboard issue (with its hidden marker)."""
    now = time.time() if now is None else now
    html_url = (html_url or f"https://github.com/{repo}").rstrip("/")
    recs = sorted(records, key=lambda r: (r.number is None, r.number or 0, r.issue))
    groups = []
    for key, title, states in GROUPS:
        rows = [row(r, now, html_url, web_url) for r in recs if r.state.state in states]
        if rows:
            groups.append({"key": key, "title": title, "rows": rows})
    finished = sorted((r for r in recs if r.state.state in FINISHED), key=lambda r: -r.updated_at)
    return env().get_template("issue.md.j2").render(
        marker=MARKER, repo=repo, html_url=html_url, web_url=web_url, groups=groups,
        active=sum(len(g["rows"]) for g in groups),
        finished=[row(r, now, html_url, web_url) for r in finished[:MAX_FINISHED]],
        finished_more=max(0, len(finished) - MAX_FINISHED))


# --------------------------------------------------------------------------- the issue


def _lock(repo: str) -> asyncio.Lock:
    lock = _locks.get(repo.lower())
    if lock is None:
        lock = _locks[repo.lower()] = asyncio.Lock()
    return lock


async def find_issue(gh: Any, repo: str, bot_login: str | None = None) -> dict[str, Any] | None:
    """The dashboard issue of ``repo``: labelled and marked, opened by a bot (oldest first)."""
    candidates = []
    async for issue in gh.getiter(f"/repos/{repo}/issues?state=all&labels={LABEL}&per_page=100"):
        candidates.append(issue)
    if not candidates and bot_login:  # someone removed the label
        async for issue in gh.getiter(f"/repos/{repo}/issues?state=all&creator={bot_login}&per_page=100"):
            candidates.append(issue)
    ours = [i for i in candidates if MARKER in (i.get("body") or "") and not i.get("pull_request")
            and (i.get("user") or {}).get("type", "Bot") == "Bot"]
    return min(ours, key=lambda i: i["number"]) if ours else None


async def refresh(gh: Any, ctx: Any, repo: str, *, html_url: str | None = None,
                  now: float | None = None) -> int | None:
    """Rewrite the dashboard issue of ``repo`` (created the first time); its number.

    Nothing is sent when the body did not change since the last write.
    """
    store = ctx.store
    crs = crs_of(store)
    async with _lock(repo):
        records = await store.arun(crs.list, repo)
        if not records:
            return None
        html_url = html_url or next((r.html_url.rsplit("/issues/", 1)[0] for r in records if r.html_url), None)
        body = render_dashboard(repo, records, now=now, html_url=html_url, web_url=public_url())
        digest = hashlib.sha1(body.encode()).hexdigest()
        known = await store.arun(store.kv_get, KV, repo.lower()) or {}
        if known.get("issue") and known.get("hash") == digest:
            return known["issue"]
        number = known.get("issue")
        if number is not None:
            try:
                await gh.patch(f"/repos/{repo}/issues/{number}", data={"body": body})
            except gidgethub.BadRequest as exc:
                if exc.status_code not in (404, 410):
                    raise
                number = None  # deleted or transferred: find or create it again
        if number is None:
            bot_login = getattr(getattr(ctx, "settings", None), "bot_login", None)
            found = await find_issue(gh, repo, bot_login)
            if found is not None:
                number = found["number"]
                if found.get("body") != body:
                    await gh.patch(f"/repos/{repo}/issues/{number}", data={"body": body})
            else:
                created = await gh.post(f"/repos/{repo}/issues",
                                        data={"title": TITLE, "body": body, "labels": [LABEL]})
                number = created["number"]
                log.info("%s: dashboard issue #%s created", repo, number)
        await store.arun(store.kv_set, KV, repo.lower(), {"issue": number, "hash": digest})
        return number


__all__ = ["GROUPS", "LABEL", "MARKER", "PUBLIC_URL_ENV", "TITLE", "age", "find_issue", "public_url", "refresh",
           "render_dashboard", "row"]
