"""The App's dashboard pages and JSON API (added by the change-request feature's ``setup_app``).

``GET /dashboard/{owner}/{repo}``
    HTML, readable without JavaScript: a table of the repository's change requests (id,
    title, state, owners, risk, linked pull requests, age), active ones first.
``GET /dashboard/{owner}/{repo}/{ref}``
    One change request (``DLCM-3``, or ``12`` for issue #12): details, checklist with
    evidence, the audit trail and whether its hash chain verifies, the latest impact report.
``GET /api/{owner}/{repo}/changes``
    The same list as JSON.
``GET /api/{owner}/{repo}/changes/{ref}``
    One change request as JSON with its audit trail (``audit_verified``) and impact report.

With ``$DLCM_DASHBOARD_TOKEN`` set, every route needs it (``Authorization: Bearer <token>``
or ``?token=<token>``): the pages show what the App knows about private repositories.
Rendering is done with Jinja templates (``templates/dashboard/``), autoescaped; the impact
report's Markdown is rendered by markdown-it with raw HTML disabled.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hmac
import os
import time
from typing import Any

import jinja2
from aiohttp import web
from markupsafe import Markup, escape
from markdown_it import MarkdownIt

from bot.cr_store import ACTIVE_STATES, CRRecord, crs_of
from bot.features import dashboard

TOKEN_ENV = "DLCM_DASHBOARD_TOKEN"
TASK_KEY = web.AppKey("dlcm-cr-scheduler", asyncio.Task)
STATE_ORDER = {s: i for i, s in enumerate(
    ("needs-info", "proposed", "approved", "in-progress", "validated", "deployed", "monitoring", "rolled-back",
     "done", "cancelled"))}

_ENV: jinja2.Environment | None = None
_MD = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")


def env() -> jinja2.Environment:
    global _ENV
    if _ENV is None:
        _ENV = jinja2.Environment(loader=jinja2.PackageLoader("templates", "dashboard"),
                                  autoescape=jinja2.select_autoescape(["html", "j2"], default=True),
                                  undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
        _ENV.filters["code_spans"] = _code_spans
    return _ENV


def _iso(t: float | None) -> str | None:
    if not t:
        return None
    return dt.datetime.fromtimestamp(t, dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _code_spans(text: str) -> Markup:
    """Escaped text with Markdown `code` spans as <code> (checklist titles carry them)."""
    parts = str(escape(text)).split("`")
    return Markup("".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts)))


def _html_base(rec: CRRecord) -> str:
    if rec.html_url and "/issues/" in rec.html_url:
        return rec.html_url.rsplit("/issues/", 1)[0]
    return f"https://github.com/{rec.repo}"


def change_json(rec: CRRecord, now: float, *, full: bool = False) -> dict[str, Any]:
    """A change request as the JSON API shows it (``full``: checklist, approvals, problems)."""
    st = rec.state
    base = _html_base(rec)
    out: dict[str, Any] = {
        "id": st.id, "number": st.number, "issue": rec.issue, "url": rec.html_url or f"{base}/issues/{rec.issue}",
        "title": dashboard.title_of(rec), "state": st.state, "active": rec.active, "change_type": st.change_type,
        "risk": st.risk, "breaking": st.breaking, "owners": list(st.owners), "teams": list(st.teams),
        "assignees": list(st.assignees), "components": list(st.components),
        "prs": [{"number": p.number, "url": f"{base}/pull/{p.number}", "head_sha": p.head_sha, "check": p.check,
                 "merged": p.merged, "merge_sha": p.merge_sha} for p in st.prs],
        "created_at": _iso(rec.created_at), "updated_at": _iso(rec.updated_at),
        "age_seconds": int(max(0, now - rec.created_at)), "age": dashboard.age(rec.created_at, now),
        "steps_done": sum(1 for s in st.checklist if s.done and s.required),
        "steps": sum(1 for s in st.checklist if s.required),
        "approvals": len(st.valid_approvals()), "approvals_needed": st.approvals_needed,
    }
    if full:
        out.update({
            "summary": st.summary, "author": st.author, "labels": list(st.labels),
            "breaking_reasons": list(st.breaking_reasons),
            "problems": [p.model_dump(mode="json") for p in st.problems],
            "checklist": [s.model_dump(mode="json") for s in st.checklist],
            "approval_list": [a.model_dump(mode="json") for a in st.valid_approvals()],
            "deployments": [d.model_dump(mode="json") for d in st.deployments],
            "monitoring_until": st.monitoring_until.isoformat() if st.monitoring_until else None,
            "missing": st.missing(),
        })
    return out


def audit_json(events: list[Any]) -> list[dict[str, Any]]:
    return [{"seq": e.seq, **e.event.model_dump(mode="json"), "prev_hash": e.prev_hash, "hash": e.hash}
            for e in events]


def _sorted(records: list[CRRecord]) -> list[CRRecord]:
    return sorted(records, key=lambda r: (not r.active, STATE_ORDER.get(r.state.state, 99), r.number or 10**9,
                                          r.issue))


# --------------------------------------------------------------------------- handlers


def _authorised(request: web.Request) -> bool:
    token = os.environ.get(TOKEN_ENV, "")
    if not token:
        return True
    given = request.query.get("token") or request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    return hmac.compare_digest(given.encode(), token.encode())


def _store(request: web.Request) -> Any:
    from bot.server import SERVICES

    return request.app[SERVICES].store


async def _load(request: web.Request) -> tuple[str, list[CRRecord]]:
    repo = f"{request.match_info['owner']}/{request.match_info['repo']}"
    store = _store(request)
    crs = crs_of(store)
    return repo, await store.arun(crs.list, repo)


async def _one(request: web.Request) -> tuple[str, CRRecord | None, list[Any], int | None]:
    repo = f"{request.match_info['owner']}/{request.match_info['repo']}"
    store = _store(request)
    crs = crs_of(store)
    ref = request.match_info["ref"]
    rec = await store.arun(crs.find, repo, ref if not ref.isdigit() else f"#{ref}")
    if rec is None:
        return repo, None, [], None
    events = await store.arun(crs.audit, repo, rec.issue)
    broken = await store.arun(crs.verify_audit, repo, rec.issue)
    return repo, rec, events, broken


def _html(text: str, status: int = 200) -> web.Response:
    return web.Response(text=text, status=status, content_type="text/html", charset="utf-8")


async def dashboard_page(request: web.Request) -> web.Response:
    if not _authorised(request):
        return _html("<p>dlcm: a dashboard token is required.</p>", 401)
    repo, records = await _load(request)
    now = time.time()
    rows = [change_json(r, now) for r in _sorted(records)]
    page = env().get_template("index.html.j2").render(
        repo=repo, rows=rows, active=sum(1 for r in records if r.active), total=len(records),
        generated=_iso(now), api=f"/api/{repo}/changes", token=request.query.get("token"))
    return _html(page, 200 if records else 404)


async def change_page(request: web.Request) -> web.Response:
    if not _authorised(request):
        return _html("<p>dlcm: a dashboard token is required.</p>", 401)
    repo, rec, events, broken = await _one(request)
    if rec is None:
        return _html(f"<p>No change request {request.match_info['ref']} in {repo}.</p>", 404)
    now = time.time()
    ch = change_json(rec, now, full=True)
    impact = _MD.render(rec.impact) if rec.impact else None
    page = env().get_template("change.html.j2").render(
        repo=repo, c=ch, audit=audit_json(events), verified=broken is None, broken=broken, impact=impact,
        impact_at=_iso(rec.impact_at), generated=_iso(now), api=f"/api/{repo}/changes/{rec.id}",
        token=request.query.get("token"))
    return _html(page)


async def changes_api(request: web.Request) -> web.Response:
    if not _authorised(request):
        return web.json_response({"error": "a dashboard token is required"}, status=401)
    repo, records = await _load(request)
    now = time.time()
    return web.json_response({
        "repository": repo, "generated_at": _iso(now), "active": sum(1 for r in records if r.active),
        "states": list(STATE_ORDER), "active_states": list(ACTIVE_STATES),
        "changes": [change_json(r, now) for r in _sorted(records)],
    })


async def change_api(request: web.Request) -> web.Response:
    if not _authorised(request):
        return web.json_response({"error": "a dashboard token is required"}, status=401)
    repo, rec, events, broken = await _one(request)
    if rec is None:
        return web.json_response({"error": f"no change request {request.match_info['ref']} in {repo}"}, status=404)
    now = time.time()
    return web.json_response({
        "repository": repo, "generated_at": _iso(now), "change": change_json(rec, now, full=True),
        "audit": audit_json(events), "audit_verified": broken is None, "audit_broken_at": broken,
        "impact": rec.impact, "impact_at": _iso(rec.impact_at),
    })


def setup(app: web.Application) -> None:
    """Add the dashboard routes to the App."""
    app.router.add_get("/dashboard/{owner}/{repo}", dashboard_page)
    app.router.add_get("/dashboard/{owner}/{repo}/{ref}", change_page)
    app.router.add_get("/api/{owner}/{repo}/changes", changes_api)
    app.router.add_get("/api/{owner}/{repo}/changes/{ref}", change_api)


__all__ = ["TASK_KEY", "TOKEN_ENV", "audit_json", "change_json", "setup"]
