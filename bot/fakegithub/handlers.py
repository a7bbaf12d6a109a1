"""REST endpoint implementations. ``HANDLERS[(METHOD, template)] = fn(ctx) -> (status, body[, headers])``."""

from __future__ import annotations

import asyncio
import base64
import binascii
import time
from typing import TYPE_CHECKING, Callable

from . import render
from .git import EMPTY_TREE, NULL_SHA
from .models import (
    Annotation, CheckRun, Deployment, DeploymentStatus, Label, Milestone, Reaction, Status, Team, now_iso,
)
from .server import ApiError, Raw, not_found, validation_failed

if TYPE_CHECKING:  # pragma: no cover
    from .server import Ctx

HANDLERS: dict[tuple[str, str], Callable] = {}
R = "/repos/{owner}/{repo}"

MAX_COMMENT = 65536


def route(method: str, template: str):
    def deco(fn):
        HANDLERS[(method, template)] = fn
        return fn

    return deco


def emit(ctx: "Ctx", event: str, action: str | None, **extra) -> None:
    """Webhooks caused by an API call are delivered in the background (``fake.wait_idle()``)."""
    if ctx.fg.api_webhooks:
        ctx.fg.emit(event, action, ctx.repo, ctx.actor, **extra)


def _int(v, what="id") -> int:
    try:
        return int(v)
    except (TypeError, ValueError):
        raise not_found()


def _issue(ctx: "Ctx"):
    i = ctx.repo.issues.get(_int(ctx.params["issue_number"]))
    if i is None:
        raise not_found()
    return i


def _pull(ctx: "Ctx"):
    p = ctx.repo.pulls.get(_int(ctx.params["pull_number"]))
    if p is None:
        raise not_found()
    return p


def _require_app(ctx: "Ctx") -> None:
    if ctx.ident.kind != "installation":
        raise ApiError(403, "You must authenticate via a GitHub App.")


def _resolve_commit(ctx: "Ctx", ref: str) -> str:
    g = ctx.repo.git
    for cand in (f"refs/heads/{ref}", f"refs/tags/{ref}", ref):
        sha = g.resolve(cand)
        if sha:
            return sha
    raise ApiError(422, f"No commit found for SHA: {ref}")


def _resolve_commit_404(ctx: "Ctx", ref: str) -> str:
    try:
        return _resolve_commit(ctx, ref)
    except ApiError:
        raise not_found()


# ======================================================================= apps

@route("GET", "/app")
def get_app(ctx):
    return 200, render.app(ctx.fg, ctx.ident.app)


@route("GET", "/app/installations")
def list_installations(ctx):
    items = [render.installation(ctx.fg, i) for i in ctx.fg.installations.values() if i.app_id == ctx.ident.app.id]
    return 200, ctx.paginate(items)


def _own_installation(ctx):
    inst = ctx.fg.installations.get(_int(ctx.params["installation_id"]))
    if inst is None or inst.app_id != ctx.ident.app.id:
        raise not_found()
    return inst


@route("GET", "/app/installations/{installation_id}")
def get_installation(ctx):
    return 200, render.installation(ctx.fg, _own_installation(ctx))


@route("DELETE", "/app/installations/{installation_id}")
def delete_installation(ctx):
    inst = _own_installation(ctx)
    del ctx.fg.installations[inst.id]
    return 204, None


@route("POST", "/app/installations/{installation_id}/access_tokens")
def create_token(ctx):
    fg = ctx.fg
    inst = _own_installation(ctx)
    if inst.suspended_at:
        raise ApiError(403, "This installation has been suspended")
    repos = None
    names = ctx.json("repositories")
    ids = ctx.json("repository_ids")
    accessible = [r for r in fg.repos.values() if fg._inst_has_repo(inst, r)]
    if names or ids:
        repos = set()
        for n in names or []:
            match = [r for r in accessible if r.name.lower() == n.lower()]
            if not match:
                raise validation_failed(f"There is at least one repository that does not exist or is not "
                                        f"accessible to the parent installation.")
            repos.add(match[0].full_name.lower())
        for i in ids or []:
            match = [r for r in accessible if r.id == i]
            if not match:
                raise validation_failed("There is at least one repository that does not exist or is not "
                                        "accessible to the parent installation.")
            repos.add(match[0].full_name.lower())
    perms = ctx.json("permissions")
    if perms:
        order = {"read": 1, "write": 2, "admin": 3}
        for k, v in perms.items():
            have = inst.permissions.get(k)
            if have is None or order.get(v, 9) > order.get(have, 0):
                raise validation_failed("The permissions requested are not granted to this installation.")
    tok = fg._mint_token(inst, permissions=perms or None, repos=repos)
    body = {
        "token": tok.token, "expires_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(tok.expires_at)),
        "permissions": dict(tok.permissions), "repository_selection": "selected" if repos else inst.repository_selection,
    }
    if repos:
        body["repositories"] = [render.repo(fg, fg.repo(r)) for r in sorted(repos)]
    return 201, body


@route("GET", R + "/installation")
def repo_installation(ctx):
    inst = ctx.fg._installation_for(ctx.ident.app, ctx.repo)
    if inst is None:
        raise not_found()
    return 200, render.installation(ctx.fg, inst)


@route("GET", "/installation/repositories")
def installation_repositories(ctx):
    fg = ctx.fg
    if ctx.ident.kind != "installation":
        raise ApiError(403, "This endpoint requires an installation access token")
    inst = ctx.ident.installation
    repos = [r for r in fg.repos.values() if fg._inst_has_repo(inst, r)
             and (ctx.ident.token.repos is None or r.full_name.lower() in ctx.ident.token.repos)]
    page = ctx.paginate(repos)
    items = []
    for r in page:
        d = render.repo(fg, r, permissions={"admin": False, "maintain": False, "push": True, "triage": True,
                                            "pull": True})
        d["custom_properties"] = {}
        items.append(d)
    return 200, {"total_count": len(repos), "repositories": items, "repository_selection": inst.repository_selection}


def _delivery_item(d) -> dict:
    return {
        "id": d.id, "guid": d.guid, "delivered_at": d.delivered_at, "redelivery": d.redelivery,
        "duration": round(d.duration, 3), "status": "OK" if d.ok else (d.error or f"HTTP {d.status}"),
        "status_code": d.status or 0, "event": d.event, "action": d.action,
        "installation_id": d.installation_id, "repository_id": d.repository_id, "throttled_at": None,
    }


@route("GET", "/app/hook/deliveries")
def app_deliveries(ctx):
    hook = ctx.ident.app.hook_id
    items = [_delivery_item(d) for d in reversed(ctx.fg.deliveries)
             if d.headers.get("X-GitHub-Hook-ID") == str(hook)]
    return 200, ctx.paginate(items)


def _find_delivery(ctx):
    did = _int(ctx.params["delivery_id"])
    for d in ctx.fg.deliveries:
        if d.id == did and d.headers.get("X-GitHub-Hook-ID") == str(ctx.ident.app.hook_id):
            return d
    raise not_found()


@route("GET", "/app/hook/deliveries/{delivery_id}")
def app_delivery(ctx):
    d = _find_delivery(ctx)
    body = _delivery_item(d)
    body.update({
        "url": d.url or "",
        "request": {"headers": dict(d.headers), "payload": d.payload},
        "response": {"headers": {}, "payload": d.response_body},
    })
    return 200, body


@route("POST", "/app/hook/deliveries/{delivery_id}/attempts")
def app_redeliver(ctx):
    d = _find_delivery(ctx)
    task = asyncio.ensure_future(ctx.fg.redeliver(d))
    ctx.fg._pending.add(task)
    task.add_done_callback(ctx.fg._pending.discard)
    return 202, {}


# ======================================================================= misc

@route("GET", "/rate_limit")
def rate_limit(ctx):
    b = ctx.fg._bucket(ctx.ident.bucket)
    core = {"limit": b["limit"], "remaining": max(0, b["limit"] - b["used"]), "used": b["used"],
            "reset": int(b["reset"])}
    other = {"limit": 5000, "remaining": 5000, "used": 0, "reset": int(time.time()) + 3600}
    return 200, {"resources": {"core": core, "search": dict(other, limit=30, remaining=30), "graphql": dict(other),
                               "integration_manifest": dict(other), "code_search": dict(other, limit=10, remaining=10)},
                 "rate": core}


@route("GET", "/users/{username}")
def get_user(ctx):
    login = ctx.params["username"]
    if login.lower() not in ctx.fg.users:
        raise not_found()
    return 200, render.public_user(ctx.fg, ctx.fg.users[login.lower()].login)


# ======================================================================= repository

@route("GET", R)
def get_repo(ctx):
    return 200, render.repo(ctx.fg, ctx.repo, full=True)


@route("PATCH", R)
def update_repo(ctx):
    r = ctx.repo
    if ctx.has("description"):
        r.description = ctx.json("description")
    if ctx.has("private"):
        r.private = bool(ctx.json("private"))
    if ctx.has("default_branch"):
        b = ctx.json("default_branch")
        if r.git.ref_sha(f"refs/heads/{b}") is None:
            raise validation_failed(errors=[{"resource": "Repository", "field": "default_branch", "code": "invalid"}])
        r.default_branch = b
    r.updated_at = now_iso()
    return 200, render.repo(ctx.fg, r, full=True)


# ======================================================================= checks

def _apply_check_input(ctx, c: CheckRun, creating: bool) -> bool:
    """Update a check run from the request body; returns True when it became completed."""
    b = ctx.body or {}
    was_completed = c.status == "completed"
    for k in ("name", "details_url", "external_id", "started_at", "completed_at"):
        if k in b:
            setattr(c, k, b[k])
    if "status" in b:
        c.status = b["status"]
    if "conclusion" in b and b["conclusion"] is not None:
        if b["conclusion"] == "stale":
            raise validation_failed("Invalid request.\n\nYou cannot set a check run conclusion to `stale`.",
                                    violation="request")
        c.conclusion = b["conclusion"]
        c.status = "completed"
    if c.status == "completed" and not c.conclusion:
        raise validation_failed("Invalid request.\n\nNo conclusion provided for a completed check run.",
                                violation="request")
    if "completed_at" in b and not c.conclusion:
        raise validation_failed("Invalid request.\n\n`completed_at` requires `conclusion`.", violation="request")
    if c.status == "completed" and not c.completed_at:
        c.completed_at = now_iso()
    if not c.started_at:  # GitHub stamps started_at at creation, whatever the status
        c.started_at = now_iso()
    out = b.get("output")
    if out:
        for k in ("title", "summary", "text"):
            if k in out:
                c.output[k] = out[k]
        for a in out.get("annotations") or []:
            if a.get("start_line") is not None and a.get("end_line") is not None and a["end_line"] < a["start_line"]:
                raise validation_failed("Invalid request.\n\nend_line must be >= start_line", violation="request")
            if ("start_column" in a or "end_column" in a) and a["start_line"] != a["end_line"]:
                raise validation_failed("Invalid request.\n\nstart_column and end_column may only be used when "
                                        "start_line equals end_line", violation="request")
            c.annotations.append(Annotation(
                path=a["path"], start_line=a["start_line"], end_line=a["end_line"],
                annotation_level=a["annotation_level"], message=a["message"], title=a.get("title"),
                raw_details=a.get("raw_details"), start_column=a.get("start_column"), end_column=a.get("end_column")))
    if "actions" in b:
        for act in b["actions"] or []:
            if len(act.get("description", "")) > 40:
                raise validation_failed("Invalid request.\n\naction description is longer than 40 characters",
                                        violation="request")
        c.actions = list(b["actions"] or [])
    c.updates += 1
    return c.status == "completed" and not was_completed


@route("POST", R + "/check-runs")
def create_check_run(ctx):
    _require_app(ctx)
    fg, r = ctx.fg, ctx.repo
    head_sha = ctx.json("head_sha")
    sha = r.git.resolve(head_sha) if head_sha and len(head_sha) >= 7 else None
    if not sha or not sha.startswith(head_sha.lower()):
        raise validation_failed(f"No commit found for SHA: {head_sha}")
    suite = fg.suite_for(r, ctx.ident.app_id, sha)
    c = CheckRun(id=fg._next_id(), name=ctx.json("name"), head_sha=sha, app_id=ctx.ident.app_id,
                 check_suite_id=suite.id)
    completed = _apply_check_input(ctx, c, creating=True)
    r.check_runs[c.id] = c
    emit(ctx, "check_run", "created", check_run=c, apps={c.app_id})
    if completed:
        emit(ctx, "check_run", "completed", check_run=c, apps={c.app_id})
    fg.refresh_suite(r, suite.id)
    return 201, render.check_run(fg, r, c)


def _check_run(ctx) -> CheckRun:
    c = ctx.repo.check_runs.get(_int(ctx.params["check_run_id"]))
    if c is None:
        raise not_found()
    return c


@route("GET", R + "/check-runs/{check_run_id}")
def get_check_run(ctx):
    return 200, render.check_run(ctx.fg, ctx.repo, _check_run(ctx))


@route("PATCH", R + "/check-runs/{check_run_id}")
def update_check_run(ctx):
    _require_app(ctx)
    c = _check_run(ctx)
    if c.app_id != ctx.ident.app_id:
        raise ApiError(403, "Invalid app_id `%s` - check run can only be modified by the GitHub App that created it."
                       % ctx.ident.app_id)
    completed = _apply_check_input(ctx, c, creating=False)
    if completed:
        emit(ctx, "check_run", "completed", check_run=c, apps={c.app_id})
    ctx.fg.refresh_suite(ctx.repo, c.check_suite_id)
    return 200, render.check_run(ctx.fg, ctx.repo, c)


@route("GET", R + "/check-runs/{check_run_id}/annotations")
def list_annotations(ctx):
    c = _check_run(ctx)
    return 200, ctx.paginate([render.annotation(ctx.fg, ctx.repo, c, a) for a in c.annotations])


@route("POST", R + "/check-runs/{check_run_id}/rerequest")
def rerequest_check_run(ctx):
    c = _check_run(ctx)
    emit(ctx, "check_run", "rerequested", check_run=c, apps={c.app_id})
    return 201, {}


def _filter_runs(ctx, runs):
    name = ctx.q("check_name")
    status = ctx.q("status")
    app_id = ctx.q("app_id", None, int)
    runs = [c for c in runs if (name is None or c.name == name) and (status is None or c.status == status)
            and (app_id is None or c.app_id == app_id)]
    if ctx.q("filter", "latest") == "latest":
        latest = {}
        for c in runs:
            key = (c.name, c.app_id)
            if key not in latest or c.id > latest[key].id:
                latest[key] = c
        runs = list(latest.values())
    return sorted(runs, key=lambda c: -c.id)


@route("GET", R + "/commits/{ref}/check-runs")
def runs_for_ref(ctx):
    sha = _resolve_commit_404(ctx, ctx.params["ref"])
    runs = _filter_runs(ctx, [c for c in ctx.repo.check_runs.values() if c.head_sha == sha])
    return 200, {"total_count": len(runs),
                 "check_runs": [render.check_run(ctx.fg, ctx.repo, c) for c in ctx.paginate(runs)]}


@route("GET", R + "/commits/{ref}/check-suites")
def suites_for_ref(ctx):
    sha = _resolve_commit_404(ctx, ctx.params["ref"])
    app_id = ctx.q("app_id", None, int)
    name = ctx.q("check_name")
    suites = [s for s in ctx.repo.check_suites.values() if s.head_sha == sha and (app_id is None or s.app_id == app_id)]
    if name:
        suites = [s for s in suites if any(c.name == name and c.check_suite_id == s.id
                                           for c in ctx.repo.check_runs.values())]
    return 200, {"total_count": len(suites),
                 "check_suites": [render.check_suite(ctx.fg, ctx.repo, s) for s in ctx.paginate(suites)]}


@route("POST", R + "/check-suites")
def create_check_suite(ctx):
    _require_app(ctx)
    sha = _resolve_commit(ctx, ctx.json("head_sha"))
    existing = [s for s in ctx.repo.check_suites.values() if s.app_id == ctx.ident.app_id and s.head_sha == sha]
    s = ctx.fg.suite_for(ctx.repo, ctx.ident.app_id, sha)
    return (200 if existing else 201), render.check_suite(ctx.fg, ctx.repo, s)


def _suite(ctx):
    s = ctx.repo.check_suites.get(_int(ctx.params["check_suite_id"]))
    if s is None:
        raise not_found()
    return s


@route("GET", R + "/check-suites/{check_suite_id}")
def get_check_suite(ctx):
    return 200, render.check_suite(ctx.fg, ctx.repo, _suite(ctx))


@route("GET", R + "/check-suites/{check_suite_id}/check-runs")
def suite_runs(ctx):
    s = _suite(ctx)
    runs = _filter_runs(ctx, [c for c in ctx.repo.check_runs.values() if c.check_suite_id == s.id])
    return 200, {"total_count": len(runs),
                 "check_runs": [render.check_run(ctx.fg, ctx.repo, c) for c in ctx.paginate(runs)]}


@route("POST", R + "/check-suites/{check_suite_id}/rerequest")
def rerequest_suite(ctx):
    s = _suite(ctx)
    emit(ctx, "check_suite", "rerequested", check_suite=s, apps={s.app_id})
    return 201, {}


# ======================================================================= statuses

@route("POST", R + "/statuses/{sha}")
def create_status(ctx):
    r = ctx.repo
    sha = r.git.resolve(ctx.params["sha"])
    if not sha:
        raise validation_failed(f"No commit found for SHA: {ctx.params['sha']}")
    s = Status(id=ctx.fg._next_id(), sha=sha, state=ctx.json("state"), context=ctx.json("context") or "default",
               description=ctx.json("description"), target_url=ctx.json("target_url"), creator=ctx.actor)
    r.statuses.append(s)
    return 201, render.status(ctx.fg, r, s)


@route("GET", R + "/commits/{ref}/status")
def combined_status(ctx):
    r = ctx.repo
    sha = _resolve_commit_404(ctx, ctx.params["ref"])
    latest = {}
    for s in r.statuses:
        if s.sha == sha:
            latest[s.context] = s
    sts = list(latest.values())
    states = [s.state for s in sts]
    if not sts:
        state = "pending"
    elif any(x in ("error", "failure") for x in states):
        state = "failure"
    elif all(x == "success" for x in states):
        state = "success"
    else:
        state = "pending"
    api = ctx.fg.url
    items = [render.status(ctx.fg, r, s) for s in ctx.paginate(sts)]
    for it in items:
        it.pop("creator", None)
        it["required"] = None
    return 200, ctx.fg.rest_fill("combined-commit-status", {
        "state": state, "statuses": items, "sha": sha, "total_count": len(sts),
        "repository": render.repo(ctx.fg, r), "commit_url": f"{api}/repos/{r.full_name}/commits/{sha}",
        "url": f"{api}/repos/{r.full_name}/commits/{sha}/status",
    })


# ======================================================================= commits, compare

@route("GET", R + "/commits")
def list_commits(ctx):
    r = ctx.repo
    start = ctx.q("sha") or r.default_branch
    sha = _resolve_commit_404(ctx, start)
    args = [sha]
    if ctx.q("since"):
        args.append(f"--since={ctx.q('since')}")
    if ctx.q("until"):
        args.append(f"--until={ctx.q('until')}")
    if ctx.q("path"):
        args += ["--", ctx.q("path")]
    shas = r.git.rev_list(*args)
    return 200, [render.commit(ctx.fg, r, s) for s in ctx.paginate(shas)]


@route("GET", R + "/commits/{ref}")
def get_commit(ctx):
    r = ctx.repo
    sha = _resolve_commit(ctx, ctx.params["ref"])
    ci = r.git.read_commit(sha)
    files = r.git.diff(ci.parents[0] if ci.parents else EMPTY_TREE, sha)
    return 200, render.commit(ctx.fg, r, sha, files=ctx.paginate(files))


@route("GET", R + "/compare/{basehead}")
def compare(ctx):
    r = ctx.repo
    bh = ctx.params["basehead"]
    if "..." in bh:
        base, head = bh.split("...", 1)
    elif ".." in bh:
        base, head = bh.split("..", 1)
    else:
        raise not_found()
    base_sha = _resolve_commit_404(ctx, base.split(":", 1)[-1])
    head_sha = _resolve_commit_404(ctx, head.split(":", 1)[-1])
    g = r.git
    mb = g.merge_base(base_sha, head_sha)
    if mb is None:
        raise not_found()
    ahead = g.count(f"{base_sha}..{head_sha}")
    behind = g.count(f"{head_sha}..{base_sha}")
    status = "identical" if ahead == 0 and behind == 0 else "ahead" if behind == 0 else "behind" if ahead == 0 \
        else "diverged"
    shas = g.rev_list("--reverse", f"{mb}..{head_sha}")
    files = g.diff(mb, head_sha)
    html = ctx.fg.html_url
    return 200, {
        "url": f"{ctx.fg.url}/repos/{r.full_name}/compare/{bh}",
        "html_url": f"{html}/{r.full_name}/compare/{bh}", "permalink_url": f"{html}/{r.full_name}/compare/{bh}",
        "diff_url": f"{html}/{r.full_name}/compare/{bh}.diff", "patch_url": f"{html}/{r.full_name}/compare/{bh}.patch",
        "base_commit": render.commit(ctx.fg, r, base_sha), "merge_base_commit": render.commit(ctx.fg, r, mb),
        "status": status, "ahead_by": ahead, "behind_by": behind, "total_commits": len(shas),
        "commits": [render.commit(ctx.fg, r, s) for s in ctx.paginate(shas)],
        "files": [render.diff_entry(ctx.fg, r, f, head_sha) for f in files[:300]],
    }


# ======================================================================= git data

@route("GET", R + "/git/trees/{tree_sha}")
def get_tree(ctx):
    r = ctx.repo
    g = r.git
    ref = ctx.params["tree_sha"]
    tree = g.resolve(ref, "tree") or g.resolve(f"refs/heads/{ref}", "tree")
    if tree is None:
        raise not_found()
    recursive = ctx.q("recursive") not in (None, "", "0", "false")
    api = ctx.fg.url
    entries = []
    for e in g.ls_tree(tree, recursive=recursive):
        d = {"path": e.path, "mode": e.mode, "type": e.type, "sha": e.sha}
        if e.type == "blob":
            d["size"] = e.size
            d["url"] = f"{api}/repos/{r.full_name}/git/blobs/{e.sha}"
        elif e.type == "tree":
            d["url"] = f"{api}/repos/{r.full_name}/git/trees/{e.sha}"
        entries.append(d)
    truncated = len(entries) > 100000
    return 200, {"sha": tree, "url": f"{api}/repos/{r.full_name}/git/trees/{tree}", "tree": entries[:100000],
                 "truncated": truncated}


@route("POST", R + "/git/trees")
def create_tree(ctx):
    g = ctx.repo.git
    base = ctx.json("base_tree")
    base_tree = None
    if base:
        base_tree = g.resolve(base, "tree")
        if base_tree is None:
            raise validation_failed("Invalid request.\n\nbase_tree is not a valid tree sha")
    changes = {}
    for e in ctx.json("tree") or []:
        path = (e.get("path") or "").strip("/")
        if not path:
            raise validation_failed("Invalid request.\n\nA tree entry needs a path", violation="request")
        mode = e.get("mode") or "100644"
        if "content" in e and e.get("sha") is not None:
            raise validation_failed("Invalid request.\n\nOnly one of content or sha may be given", violation="request")
        if "content" in e:
            changes[path] = (mode, g.hash_blob(e["content"].encode()))
        elif "sha" in e and e["sha"] is None:
            changes[path] = None
        elif e.get("sha"):
            want = {"040000": "tree", "160000": "commit"}.get(mode, "blob")
            if want != "commit" and g.object_type(e["sha"]) != want:
                raise validation_failed(f"GitRPC::BadObjectState")
            changes[path] = (mode, e["sha"])
        else:
            raise validation_failed("Invalid request.\n\nA tree entry needs sha or content", violation="request")
    sha = g.build_tree(base_tree, changes)
    r = ctx.repo
    return 201, _tree_json(ctx, r, sha)


def _tree_json(ctx, r, sha):
    api = ctx.fg.url
    entries = []
    for e in r.git.ls_tree(sha):
        d = {"path": e.path, "mode": e.mode, "type": e.type, "sha": e.sha,
             "url": f"{api}/repos/{r.full_name}/git/{'blobs' if e.type == 'blob' else 'trees'}/{e.sha}"}
        if e.type == "blob":
            d["size"] = e.size
        entries.append(d)
    return {"sha": sha, "url": f"{api}/repos/{r.full_name}/git/trees/{sha}", "tree": entries, "truncated": False}


@route("GET", R + "/git/blobs/{file_sha}")
def get_blob(ctx):
    r = ctx.repo
    sha = ctx.params["file_sha"]
    if r.git.object_type(sha) != "blob":
        raise not_found()
    data = r.git.read_blob(sha)
    if ctx.media() == "raw":
        return 200, Raw(data, "application/vnd.github.raw")
    return 200, {"sha": sha, "node_id": f"B_{sha[:16]}", "size": len(data),
                 "url": f"{ctx.fg.url}/repos/{r.full_name}/git/blobs/{sha}", "content": render.b64(data),
                 "encoding": "base64"}


@route("POST", R + "/git/blobs")
def create_blob(ctx):
    content = ctx.json("content")
    enc = ctx.json("encoding", "utf-8")
    if enc == "base64":
        try:
            data = base64.b64decode(content, validate=False)
        except (binascii.Error, ValueError):
            raise validation_failed("Invalid request.\n\ncontent is not valid Base64", violation="request")
    elif enc in ("utf-8", "utf8"):
        data = content.encode()
    else:
        raise validation_failed(f"Invalid request.\n\nencoding {enc!r} is not supported", violation="request")
    sha = ctx.repo.git.hash_blob(data)
    return 201, {"url": f"{ctx.fg.url}/repos/{ctx.repo.full_name}/git/blobs/{sha}", "sha": sha}


def _person(d, default):
    if not d:
        return default, None
    date = None
    if d.get("date"):
        try:
            date = int(time.mktime(time.strptime(d["date"].replace("Z", "+0000")[:19], "%Y-%m-%dT%H:%M:%S")) -
                       time.timezone)
        except ValueError:
            date = None
    return (d.get("name") or default[0], d.get("email") or default[1]), date


@route("POST", R + "/git/commits")
def create_commit(ctx):
    r = ctx.repo
    g = r.git
    tree = ctx.json("tree")
    if g.object_type(tree) != "tree":
        raise validation_failed("Tree SHA does not exist")
    parents = ctx.json("parents") or []
    for p in parents:
        if g.object_type(p) != "commit":
            raise validation_failed("Parent SHA does not exist or is not a commit object")
    default = ctx.fg._git_identity(ctx.actor)
    author, adate = _person(ctx.json("author"), default)
    committer, cdate = _person(ctx.json("committer"), author)
    sha = g.commit_tree(tree, parents, ctx.json("message"), author=author, committer=committer, date=cdate,
                        author_date=adate)
    return 201, render.git_commit(ctx.fg, r, g.read_commit(sha))


@route("GET", R + "/git/commits/{commit_sha}")
def get_git_commit(ctx):
    r = ctx.repo
    sha = ctx.params["commit_sha"]
    if r.git.object_type(sha) != "commit":
        raise not_found()
    return 200, render.git_commit(ctx.fg, r, r.git.read_commit(r.git.resolve(sha)))


def _full_ref(ref: str) -> str:
    return ref if ref.startswith("refs/") else f"refs/{ref}"


@route("GET", R + "/git/ref/{ref}")
def get_ref(ctx):
    r = ctx.repo
    ref = _full_ref(ctx.params["ref"])
    sha = r.git.refs(ref).get(ref)
    if sha is None:
        raise not_found()
    return 200, render.git_ref(ctx.fg, r, ref, sha)


@route("POST", R + "/git/refs")
def create_ref(ctx):
    r = ctx.repo
    ref = ctx.json("ref")
    sha = ctx.json("sha")
    if not ref.startswith("refs/") or ref.count("/") < 2:
        raise validation_failed("Reference name must start with 'refs/' and have at least two slashes.")
    if r.git.ref_sha(ref) is not None:
        raise validation_failed("Reference already exists")
    if r.git.object_type(sha) is None:
        raise validation_failed("Object does not exist")
    r.git.update_ref(ref, sha, NULL_SHA)
    ctx.fg._stats_cache.clear()
    futs = ctx.fg._after_ref_update(r, ref, None, sha, ctx.actor, webhook=ctx.fg.api_webhooks)
    del futs
    return 201, render.git_ref(ctx.fg, r, ref, sha)


@route("PATCH", R + "/git/refs/{ref}")
def update_ref(ctx):
    r = ctx.repo
    ref = _full_ref(ctx.params["ref"])
    old = r.git.ref_sha(ref) if ref in r.git.refs(ref) else None
    if old is None:
        raise validation_failed("Reference does not exist")
    sha = ctx.json("sha")
    force = bool(ctx.json("force", False))
    if r.git.object_type(sha) != "commit":
        raise validation_failed("Object does not exist")
    if not force and not r.git.is_ancestor(old, sha):
        raise validation_failed("Update is not a fast forward")
    r.git.update_ref(ref, sha, old)
    ctx.fg._after_ref_update(r, ref, old, sha, ctx.actor, webhook=ctx.fg.api_webhooks, forced=force)
    return 200, render.git_ref(ctx.fg, r, ref, sha)


@route("DELETE", R + "/git/refs/{ref}")
def delete_ref(ctx):
    r = ctx.repo
    ref = _full_ref(ctx.params["ref"])
    old = r.git.refs(ref).get(ref)
    if old is None:
        raise validation_failed("Reference does not exist")
    r.git.delete_ref(ref)
    ctx.fg._after_ref_update(r, ref, old, None, ctx.actor, webhook=ctx.fg.api_webhooks)
    return 204, None


# ======================================================================= contents

@route("GET", R + "/contents/{path}")
def get_contents(ctx):
    r = ctx.repo
    ref = ctx.q("ref") or r.default_branch
    sha = _resolve_commit_404(ctx, ref)
    path = ctx.params["path"].strip("/")
    e = r.git.entry_at(sha, path)
    if e is None:
        raise not_found()
    if e.type == "tree":
        items = []
        for c in r.git.ls_tree(e.sha):
            p = f"{path}/{c.path}" if path else c.path
            items.append(render.content_entry(ctx.fg, r, p, c, ref))
        return 200, items
    content = r.git.read_blob(e.sha) if e.type == "blob" else None
    if ctx.media() == "raw" and e.type == "blob":
        return 200, Raw(content, "application/vnd.github.raw")
    if e.type == "blob" and e.mode == "120000":
        d = render.content_entry(ctx.fg, r, path, e, ref)
        d["target"] = content.decode("utf-8", "replace")
        return 200, d
    d = render.content_entry(ctx.fg, r, path, e, ref, content=content if e.type == "blob" else None)
    if e.type == "commit":
        d["submodule_git_url"] = ""
    return 200, d


def _contents_commit(ctx, path: str, data: bytes | None):
    r = ctx.repo
    g = r.git
    branch = ctx.json("branch") or r.default_branch
    before = g.ref_sha(f"refs/heads/{branch}")
    if before is None:
        raise not_found()
    existing = g.entry_at(before, path)
    given = ctx.json("sha")
    if data is None or existing is not None:
        if existing is None:
            raise not_found()
        if given is None:
            raise validation_failed('Invalid request.\n\n"sha" wasn\'t supplied.')
        if given != existing.sha:
            raise ApiError(409, f"{path} does not match {given}")
    default = ctx.fg._git_identity(ctx.actor)
    author, adate = _person(ctx.json("author"), default)
    committer, cdate = _person(ctx.json("committer"), author)
    change = None if data is None else ("100644", g.hash_blob(data))
    tree = g.build_tree(g.resolve(before, "tree"), {path: change})
    sha = g.commit_tree(tree, [before], ctx.json("message"), author=author, committer=committer, date=cdate,
                        author_date=adate)
    g.update_ref(f"refs/heads/{branch}", sha, before)
    ctx.fg._after_ref_update(r, f"refs/heads/{branch}", before, sha, ctx.actor, webhook=ctx.fg.api_webhooks)
    commit = render.git_commit(ctx.fg, r, g.read_commit(sha))
    content = None
    if data is not None:
        e = g.entry_at(sha, path)
        content = render.content_entry(ctx.fg, r, path, e, branch)
    return existing, {"content": content, "commit": commit}


@route("PUT", R + "/contents/{path}")
def put_contents(ctx):
    try:
        data = base64.b64decode(ctx.json("content") or "", validate=False)
    except (binascii.Error, ValueError):
        raise validation_failed("Invalid request.\n\ncontent is not valid Base64", violation="request")
    existing, body = _contents_commit(ctx, ctx.params["path"].strip("/"), data)
    return (200 if existing else 201), body


@route("DELETE", R + "/contents/{path}")
def delete_contents(ctx):
    _, body = _contents_commit(ctx, ctx.params["path"].strip("/"), None)
    return 200, body


# ======================================================================= branches & protection

def _branch_short(ctx, name, sha):
    r = ctx.repo
    return {"name": name, "commit": {"sha": sha, "url": f"{ctx.fg.url}/repos/{r.full_name}/commits/{sha}"},
            "protected": name in r.protections}


@route("GET", R + "/branches")
def list_branches(ctx):
    r = ctx.repo
    items = [_branch_short(ctx, ref[len("refs/heads/"):], sha) for ref, sha in sorted(r.git.refs("refs/heads/").items())]
    prot = ctx.q("protected")
    if prot is not None:
        want = prot in ("true", "1")
        items = [b for b in items if b["protected"] == want]
    return 200, ctx.paginate(items)


@route("GET", R + "/branches/{branch}")
def get_branch(ctx):
    r = ctx.repo
    name = ctx.params["branch"]
    sha = r.git.ref_sha(f"refs/heads/{name}")
    if sha is None:
        raise ApiError(404, "Branch not found")
    api = ctx.fg.url
    prot = r.protections.get(name)
    rsc = (prot or {}).get("required_status_checks")
    return 200, {
        "name": name, "commit": render.commit(ctx.fg, r, sha),
        "_links": {"html": f"{ctx.fg.html_url}/{r.full_name}/tree/{name}",
                   "self": f"{api}/repos/{r.full_name}/branches/{name}"},
        "protected": prot is not None,
        "protection": {"enabled": prot is not None, "required_status_checks": {
            "enforcement_level": "non_admins" if rsc else "off", "contexts": list((rsc or {}).get("contexts", [])),
            "checks": list((rsc or {}).get("checks", []))}},
        "protection_url": f"{api}/repos/{r.full_name}/branches/{name}/protection",
    }


def _protection(ctx):
    r = ctx.repo
    name = ctx.params["branch"]
    if r.git.ref_sha(f"refs/heads/{name}") is None:
        raise ApiError(404, "Branch not found")
    prot = r.protections.get(name)
    if prot is None:
        raise ApiError(404, "Branch not protected")
    return name, prot


def _status_check_policy(ctx, name, rsc):
    b = f"{ctx.fg.url}/repos/{ctx.repo.full_name}/branches/{name}/protection/required_status_checks"
    return {"url": b, "strict": bool(rsc.get("strict")), "contexts": list(rsc.get("contexts", [])),
            "checks": [{"context": c["context"], "app_id": c.get("app_id")} for c in rsc.get("checks", [])],
            "contexts_url": f"{b}/contexts"}


def _protection_json(ctx, name, prot):
    b = f"{ctx.fg.url}/repos/{ctx.repo.full_name}/branches/{name}/protection"
    d = {"url": b, "enabled": True}
    if prot.get("required_status_checks"):
        d["required_status_checks"] = _status_check_policy(ctx, name, prot["required_status_checks"])
    d["enforce_admins"] = {"url": f"{b}/enforce_admins", "enabled": bool(prot.get("enforce_admins"))}
    rpr = prot.get("required_pull_request_reviews")
    if rpr:
        d["required_pull_request_reviews"] = {
            "url": f"{b}/required_pull_request_reviews",
            "dismiss_stale_reviews": bool(rpr.get("dismiss_stale_reviews")),
            "require_code_owner_reviews": bool(rpr.get("require_code_owner_reviews")),
            "required_approving_review_count": rpr.get("required_approving_review_count") or 0,
        }
    return d


@route("GET", R + "/branches/{branch}/protection")
def get_protection(ctx):
    name, prot = _protection(ctx)
    return 200, _protection_json(ctx, name, prot)


@route("PUT", R + "/branches/{branch}/protection")
def put_protection(ctx):
    r = ctx.repo
    name = ctx.params["branch"]
    if r.git.ref_sha(f"refs/heads/{name}") is None:
        raise ApiError(404, "Branch not found")
    b = ctx.body or {}
    rsc = b.get("required_status_checks")
    if rsc is not None:
        contexts = list(rsc.get("contexts") or [])
        checks = list(rsc.get("checks") or [{"context": c} for c in contexts])
        contexts = contexts or [c["context"] for c in checks]
        rsc = {"strict": rsc.get("strict", False), "contexts": contexts, "checks": checks}
    prot = {"required_status_checks": rsc, "enforce_admins": b.get("enforce_admins"),
            "required_pull_request_reviews": b.get("required_pull_request_reviews"),
            "restrictions": b.get("restrictions")}
    r.protections[name] = prot
    d = _protection_json(ctx, name, prot)
    d.pop("enabled", None)
    return 200, ctx.fg.rest_fill("protected-branch", d)


@route("DELETE", R + "/branches/{branch}/protection")
def delete_protection(ctx):
    name, _ = _protection(ctx)
    del ctx.repo.protections[name]
    return 204, None


@route("GET", R + "/branches/{branch}/protection/required_status_checks")
def get_rsc(ctx):
    name, prot = _protection(ctx)
    rsc = prot.get("required_status_checks")
    if not rsc:
        raise ApiError(404, "Required status checks not enabled")
    return 200, _status_check_policy(ctx, name, rsc)


@route("PATCH", R + "/branches/{branch}/protection/required_status_checks")
def patch_rsc(ctx):
    name, prot = _protection(ctx)
    rsc = prot.get("required_status_checks")
    if not rsc:
        raise ApiError(404, "Required status checks not enabled")
    if ctx.has("strict"):
        rsc["strict"] = bool(ctx.json("strict"))
    if ctx.has("contexts"):
        rsc["contexts"] = list(ctx.json("contexts"))
        rsc["checks"] = [{"context": c, "app_id": None} for c in rsc["contexts"]]
    if ctx.has("checks"):
        rsc["checks"] = list(ctx.json("checks"))
        rsc["contexts"] = [c["context"] for c in rsc["checks"]]
    return 200, _status_check_policy(ctx, name, rsc)


@route("DELETE", R + "/branches/{branch}/protection/required_status_checks")
def delete_rsc(ctx):
    name, prot = _protection(ctx)
    prot["required_status_checks"] = None
    return 204, None


# ======================================================================= issues

def _labels_param(v):
    out = []
    for x in v or []:
        out.append(x["name"] if isinstance(x, dict) else str(x))
    return out


def _check_body_len(body, what="Body"):
    if body is not None and len(body) > MAX_COMMENT:
        raise validation_failed(f"Validation Failed", errors=[{
            "resource": "IssueComment" if what == "Body" else "Issue", "code": "custom", "field": "body",
            "message": f"body is too long (maximum is {MAX_COMMENT} characters)"}], violation="limit")


@route("GET", R + "/issues")
def list_issues(ctx):
    r = ctx.repo
    state = ctx.q("state", "open")
    items = [i for i in r.issues.values() if state == "all" or i.state == state]
    if ctx.q("labels"):
        want = [x.strip().lower() for x in ctx.q("labels").split(",") if x.strip()]
        items = [i for i in items if all(w in [lb.lower() for lb in i.labels] for w in want)]
    if ctx.q("creator"):
        items = [i for i in items if i.user.lower() == ctx.q("creator").lower()]
    a = ctx.q("assignee")
    if a == "none":
        items = [i for i in items if not i.assignees]
    elif a == "*":
        items = [i for i in items if i.assignees]
    elif a:
        items = [i for i in items if a in i.assignees]
    if ctx.q("since"):
        items = [i for i in items if i.updated_at >= ctx.q("since")]
    sort = ctx.q("sort", "created")
    key = {"created": lambda i: (i.created_at, i.number), "updated": lambda i: (i.updated_at, i.number),
           "comments": lambda i: (len(i.comment_ids), i.number)}.get(sort, lambda i: i.number)
    items.sort(key=key, reverse=ctx.q("direction", "desc") == "desc")
    return 200, [render.issue(ctx.fg, r, i) for i in ctx.paginate(items)]


@route("POST", R + "/issues")
def create_issue(ctx):
    fg, r = ctx.fg, ctx.repo
    title = ctx.json("title")
    body = ctx.json("body")
    _check_body_len(body, "Issue")
    assignees = list(ctx.json("assignees") or [])
    if ctx.json("assignee"):
        assignees.append(ctx.json("assignee"))
    assignees = [a if isinstance(a, str) else a.get("login") for a in assignees]
    i = fg.new_issue(r, str(title), body, ctx.actor, labels=_labels_param(ctx.json("labels")), assignees=assignees,
                     app_id=ctx.ident.app_id)
    if ctx.json("milestone") is not None:
        m = _int(ctx.json("milestone"))
        if m not in r.milestones:
            raise validation_failed(errors=[{"resource": "Issue", "field": "milestone", "code": "invalid"}])
        i.milestone = m
    emit(ctx, "issues", "opened", issue=i)
    for n in i.labels:
        emit(ctx, "issues", "labeled", issue=i, label=r.label(n))
    for a in i.assignees:
        emit(ctx, "issues", "assigned", issue=i, assignee=a)
    return 201, render.issue(fg, r, i)


@route("GET", R + "/issues/{issue_number}")
def get_issue(ctx):
    return 200, render.issue(ctx.fg, ctx.repo, _issue(ctx))


def _issue_emit(ctx, i, action, **extra):
    if i.pull is not None:
        emit(ctx, "pull_request", action, pull=i.pull, **extra)
    else:
        emit(ctx, "issues", action, issue=i, **extra)


def _set_labels(ctx, i, names: list[str]) -> None:
    r = ctx.repo
    new = []
    for n in names:
        lb = ctx.fg.create_label(r.full_name, n)
        if lb.name not in new:
            new.append(lb.name)
    removed = [n for n in i.labels if n not in new]
    added = [n for n in new if n not in i.labels]
    i.labels[:] = new
    for n in removed:
        _issue_emit(ctx, i, "unlabeled", label=r.label(n))
    for n in added:
        _issue_emit(ctx, i, "labeled", label=r.label(n))
    if removed or added:
        i.updated_at = now_iso()


def _set_assignees(ctx, i, logins: list[str]) -> None:
    r = ctx.repo
    new = [a for a in dict.fromkeys(logins) if ctx.fg.assignable(r, a)]
    removed = [a for a in i.assignees if a not in new]
    added = [a for a in new if a not in i.assignees]
    i.assignees[:] = new
    for a in removed:
        _issue_emit(ctx, i, "unassigned", assignee=a)
    for a in added:
        _issue_emit(ctx, i, "assigned", assignee=a)


def _update_issue(ctx, i):
    fg, r = ctx.fg, ctx.repo
    b = ctx.body or {}
    changes = {}
    if "title" in b and b["title"] is not None and str(b["title"]) != i.title:
        changes["title"] = {"from": i.title}
        i.title = str(b["title"])
    if "body" in b and b["body"] != i.body:
        _check_body_len(b["body"], "Issue")
        changes["body"] = {"from": i.body or ""}
        i.body = b["body"]
    if changes:
        i.updated_at = now_iso()
        _issue_emit(ctx, i, "edited", changes=changes)
    if "labels" in b:
        _set_labels(ctx, i, _labels_param(b["labels"]))
    if "assignees" in b or "assignee" in b:
        lst = [a if isinstance(a, str) else a.get("login") for a in (b.get("assignees") or [])]
        if b.get("assignee"):
            lst.append(b["assignee"])
        _set_assignees(ctx, i, lst)
    if "milestone" in b:
        i.milestone = None if b["milestone"] is None else _int(b["milestone"])
    if "state" in b and b["state"] != i.state:
        fg._set_issue_state(r, i, b["state"], ctx.actor, b.get("state_reason"))
        _issue_emit(ctx, i, "closed" if b["state"] == "closed" else "reopened")
    elif b.get("state_reason") and i.state == "closed":
        i.state_reason = b["state_reason"]


@route("PATCH", R + "/issues/{issue_number}")
def update_issue(ctx):
    i = _issue(ctx)
    _update_issue(ctx, i)
    return 200, render.issue(ctx.fg, ctx.repo, i)


@route("GET", R + "/issues/{issue_number}/comments")
def list_comments(ctx):
    r = ctx.repo
    i = _issue(ctx)
    cs = [r.comments[c] for c in i.comment_ids if c in r.comments]
    if ctx.q("since"):
        cs = [c for c in cs if c.updated_at >= ctx.q("since")]
    return 200, [render.comment(ctx.fg, r, c) for c in ctx.paginate(cs)]


@route("POST", R + "/issues/{issue_number}/comments")
def create_comment(ctx):
    r = ctx.repo
    i = _issue(ctx)
    if i.locked and ctx.ident.kind != "installation" and ctx.fg.permission_of(r, ctx.actor) not in ("admin", "maintain", "write"):
        raise ApiError(403, "Unable to create comment because issue is locked.")
    body = ctx.json("body")
    _check_body_len(body)
    c = ctx.fg.new_comment(r, i, body, ctx.actor, app_id=ctx.ident.app_id)
    emit(ctx, "issue_comment", "created", issue=i, comment=c)
    return 201, render.comment(ctx.fg, r, c)


def _comment(ctx):
    c = ctx.repo.comments.get(_int(ctx.params["comment_id"]))
    if c is None:
        raise not_found()
    return c


@route("GET", R + "/issues/comments/{comment_id}")
def get_comment(ctx):
    return 200, render.comment(ctx.fg, ctx.repo, _comment(ctx))


@route("PATCH", R + "/issues/comments/{comment_id}")
def update_comment(ctx):
    c = _comment(ctx)
    body = ctx.json("body")
    _check_body_len(body)
    if ctx.ident.kind == "installation" and c.app_id != ctx.ident.app_id and c.user != ctx.actor:
        raise ApiError(403, "Resource not accessible by integration")
    old = c.body
    c.body = body
    c.updated_at = now_iso()
    if old != body:
        emit(ctx, "issue_comment", "edited", issue=ctx.repo.issues[c.issue_number], comment=c,
             changes={"body": {"from": old}})
    return 200, render.comment(ctx.fg, ctx.repo, c)


@route("DELETE", R + "/issues/comments/{comment_id}")
def delete_comment(ctx):
    r = ctx.repo
    c = _comment(ctx)
    i = r.issues[c.issue_number]
    emit(ctx, "issue_comment", "deleted", issue=i, comment=c)
    del r.comments[c.id]
    if c.id in i.comment_ids:
        i.comment_ids.remove(c.id)
    return 204, None


@route("GET", R + "/issues/{issue_number}/labels")
def list_issue_labels(ctx):
    r = ctx.repo
    i = _issue(ctx)
    return 200, ctx.paginate([render.label(ctx.fg, r, r.label(n)) for n in i.labels])


def _labels_body(ctx) -> list[str]:
    b = ctx.body
    if isinstance(b, dict):
        v = b.get("labels") or []
    elif isinstance(b, list):
        v = b
    else:
        v = []
    return _labels_param(v)


@route("POST", R + "/issues/{issue_number}/labels")
def add_issue_labels(ctx):
    r = ctx.repo
    i = _issue(ctx)
    _set_labels(ctx, i, i.labels + _labels_body(ctx))
    return 200, [render.label(ctx.fg, r, r.label(n)) for n in i.labels]


@route("PUT", R + "/issues/{issue_number}/labels")
def set_issue_labels(ctx):
    r = ctx.repo
    i = _issue(ctx)
    _set_labels(ctx, i, _labels_body(ctx))
    return 200, [render.label(ctx.fg, r, r.label(n)) for n in i.labels]


@route("DELETE", R + "/issues/{issue_number}/labels")
def clear_issue_labels(ctx):
    _set_labels(ctx, _issue(ctx), [])
    return 204, None


@route("DELETE", R + "/issues/{issue_number}/labels/{name}")
def remove_issue_label(ctx):
    r = ctx.repo
    i = _issue(ctx)
    lb = r.label(ctx.params["name"])
    if lb is None or lb.name not in i.labels:
        raise ApiError(404, "Label does not exist")
    _set_labels(ctx, i, [n for n in i.labels if n != lb.name])
    return 200, [render.label(ctx.fg, r, r.label(n)) for n in i.labels]


@route("POST", R + "/issues/{issue_number}/assignees")
def add_assignees(ctx):
    i = _issue(ctx)
    _set_assignees(ctx, i, i.assignees + list(ctx.json("assignees") or []))
    return 201, render.issue(ctx.fg, ctx.repo, i)


@route("DELETE", R + "/issues/{issue_number}/assignees")
def remove_assignees(ctx):
    i = _issue(ctx)
    drop = set(ctx.json("assignees") or [])
    _set_assignees(ctx, i, [a for a in i.assignees if a not in drop])
    return 200, render.issue(ctx.fg, ctx.repo, i)


def _react(ctx, reactions: list):
    content = ctx.json("content")
    for rc in reactions:
        if rc.user == ctx.actor and rc.content == content:
            return 200, render.reaction(ctx.fg, rc)
    rc = Reaction(id=ctx.fg._next_id(), content=content, user=ctx.actor)
    reactions.append(rc)
    return 201, render.reaction(ctx.fg, rc)


def _list_reactions(ctx, reactions):
    content = ctx.q("content")
    items = [rc for rc in reactions if content is None or rc.content == content]
    return 200, [render.reaction(ctx.fg, rc) for rc in ctx.paginate(items)]


@route("GET", R + "/issues/{issue_number}/reactions")
def list_issue_reactions(ctx):
    return _list_reactions(ctx, _issue(ctx).reactions)


@route("POST", R + "/issues/{issue_number}/reactions")
def create_issue_reaction(ctx):
    return _react(ctx, _issue(ctx).reactions)


@route("GET", R + "/issues/comments/{comment_id}/reactions")
def list_comment_reactions(ctx):
    return _list_reactions(ctx, _comment(ctx).reactions)


@route("POST", R + "/issues/comments/{comment_id}/reactions")
def create_comment_reaction(ctx):
    return _react(ctx, _comment(ctx).reactions)


@route("PUT", R + "/issues/{issue_number}/lock")
def lock_issue(ctx):
    i = _issue(ctx)
    i.locked = True
    i.active_lock_reason = ctx.json("lock_reason")
    _issue_emit(ctx, i, "locked")
    return 204, None


@route("DELETE", R + "/issues/{issue_number}/lock")
def unlock_issue(ctx):
    i = _issue(ctx)
    i.locked = False
    i.active_lock_reason = None
    _issue_emit(ctx, i, "unlocked")
    return 204, None


@route("GET", R + "/issues/{issue_number}/timeline")
def issue_timeline(ctx):
    _issue(ctx)
    return 200, []


# ======================================================================= labels, milestones

@route("GET", R + "/labels")
def list_labels(ctx):
    r = ctx.repo
    return 200, ctx.paginate([render.label(ctx.fg, r, lb) for lb in r.labels.values()])


@route("POST", R + "/labels")
def create_label(ctx):
    r = ctx.repo
    name = ctx.json("name")
    if r.label(name):
        raise validation_failed(errors=[{"resource": "Label", "code": "already_exists", "field": "name"}])
    lb = Label(ctx.fg._next_id(), name, (ctx.json("color") or "ededed").lstrip("#"), ctx.json("description"))
    r.labels[name.lower()] = lb
    emit(ctx, "label", "created", label=lb)
    return 201, render.label(ctx.fg, r, lb)


def _label(ctx):
    lb = ctx.repo.label(ctx.params["name"])
    if lb is None:
        raise not_found()
    return lb


@route("GET", R + "/labels/{name}")
def get_label(ctx):
    return 200, render.label(ctx.fg, ctx.repo, _label(ctx))


@route("PATCH", R + "/labels/{name}")
def update_label(ctx):
    r = ctx.repo
    lb = _label(ctx)
    if ctx.has("new_name") and ctx.json("new_name") != lb.name:
        new = ctx.json("new_name")
        if r.label(new) and r.label(new) is not lb:
            raise validation_failed(errors=[{"resource": "Label", "code": "already_exists", "field": "name"}])
        del r.labels[lb.name.lower()]
        for i in r.issues.values():
            i.labels = [new if n == lb.name else n for n in i.labels]
        lb.name = new
        r.labels[new.lower()] = lb
    if ctx.has("color"):
        lb.color = ctx.json("color").lstrip("#")
    if ctx.has("description"):
        lb.description = ctx.json("description")
    return 200, render.label(ctx.fg, r, lb)


@route("DELETE", R + "/labels/{name}")
def delete_label(ctx):
    r = ctx.repo
    lb = _label(ctx)
    del r.labels[lb.name.lower()]
    for i in r.issues.values():
        if lb.name in i.labels:
            i.labels.remove(lb.name)
    return 204, None


@route("GET", R + "/milestones")
def list_milestones(ctx):
    r = ctx.repo
    state = ctx.q("state", "open")
    ms = [m for m in r.milestones.values() if state == "all" or m.state == state]
    return 200, [render.milestone(ctx.fg, r, m) for m in ctx.paginate(ms)]


@route("POST", R + "/milestones")
def create_milestone(ctx):
    r = ctx.repo
    if any(m.title == ctx.json("title") for m in r.milestones.values()):
        raise validation_failed(errors=[{"resource": "Milestone", "code": "already_exists", "field": "title"}])
    n = len(r.milestones) + 1
    m = Milestone(ctx.fg._next_id(), n, ctx.json("title"), ctx.json("description"), ctx.json("state", "open"),
                  ctx.actor, due_on=ctx.json("due_on"))
    r.milestones[n] = m
    return 201, render.milestone(ctx.fg, r, m)


# ======================================================================= pulls

@route("GET", R + "/pulls")
def list_pulls(ctx):
    r = ctx.repo
    state = ctx.q("state", "open")
    ps = [p for p in r.pulls.values() if state == "all" or p.state == state]
    head = ctx.q("head")
    if head:
        owner, _, branch = head.partition(":")
        if not branch:
            owner, branch = r.owner, owner
        ps = [p for p in ps if p.head_ref == branch and owner.lower() == r.owner.lower()]
    if ctx.q("base"):
        ps = [p for p in ps if p.base_ref == ctx.q("base")]
    sort = ctx.q("sort", "created")
    key = {"updated": lambda p: (p.issue.updated_at, p.number)}.get(sort, lambda p: (p.issue.created_at, p.number))
    ps.sort(key=key, reverse=ctx.q("direction", "desc" if sort == "created" or True else "asc") == "desc")
    return 200, [render.pull(ctx.fg, r, p, simple=True) for p in ctx.paginate(ps)]


@route("POST", R + "/pulls")
def create_pull(ctx):
    r = ctx.repo
    head = (ctx.json("head") or "").split(":", 1)[-1]
    if ctx.json("issue") is not None:
        raise validation_failed("Converting issues to pull requests is not supported by the fake")
    p = ctx.fg.create_pull(r, head, ctx.json("base"), title=ctx.json("title") or "", body=ctx.json("body"),
                           user=ctx.actor, draft=bool(ctx.json("draft", False)), app_id=ctx.ident.app_id)
    emit(ctx, "pull_request", "opened", pull=p)
    return 201, render.pull(ctx.fg, r, p)


@route("GET", R + "/pulls/{pull_number}")
def get_pull(ctx):
    p = _pull(ctx)
    if ctx.media() in ("diff", "patch"):
        r = ctx.repo
        mb = r.git.merge_base(p.base_sha, p.head_sha) or p.base_sha
        text = r.git.run("diff", "-M", "--no-color", mb, p.head_sha)
        return 200, Raw(text, f"application/vnd.github.{ctx.media()}; charset=utf-8")
    return 200, render.pull(ctx.fg, ctx.repo, p)


@route("PATCH", R + "/pulls/{pull_number}")
def update_pull(ctx):
    r = ctx.repo
    p = _pull(ctx)
    b = ctx.body or {}
    changes = {}
    if "title" in b and b["title"] != p.issue.title:
        changes["title"] = {"from": p.issue.title}
        p.issue.title = b["title"]
    if "body" in b and b["body"] != p.issue.body:
        changes["body"] = {"from": p.issue.body or ""}
        p.issue.body = b["body"]
    if "base" in b and b["base"] != p.base_ref:
        sha = r.git.ref_sha(f"refs/heads/{b['base']}")
        if sha is None:
            raise validation_failed(errors=[{"resource": "PullRequest", "field": "base", "code": "invalid"}])
        changes["base"] = {"ref": {"from": p.base_ref}, "sha": {"from": p.base_sha}}
        p.base_ref, p.base_sha = b["base"], sha
    if changes:
        p.issue.updated_at = now_iso()
        emit(ctx, "pull_request", "edited", pull=p, changes=changes)
    if "state" in b and b["state"] != p.state:
        if p.merged:
            raise validation_failed("Cannot reopen a merged pull request")
        ctx.fg._set_issue_state(r, p.issue, b["state"], ctx.actor)
        emit(ctx, "pull_request", "closed" if b["state"] == "closed" else "reopened", pull=p)
    return 200, render.pull(ctx.fg, r, p)


@route("GET", R + "/pulls/{pull_number}/files")
def pull_files(ctx):
    r = ctx.repo
    p = _pull(ctx)
    mb = r.git.merge_base(p.base_sha, p.head_sha) or p.base_sha
    files = r.git.diff(mb, p.head_sha)[:3000]
    return 200, [render.diff_entry(ctx.fg, r, f, p.head_sha) for f in ctx.paginate(files)]


@route("GET", R + "/pulls/{pull_number}/commits")
def pull_commits(ctx):
    r = ctx.repo
    p = _pull(ctx)
    shas = r.git.rev_list("--reverse", f"{p.base_sha}..{p.head_sha}")[:250]
    return 200, [render.commit(ctx.fg, r, s) for s in ctx.paginate(shas)]


def _review_json(ctx, p, rv):
    r = ctx.repo
    api = ctx.fg.url
    return {
        "id": rv["id"], "node_id": f"PRR_{rv['id']}", "user": render.user(ctx.fg, rv["user"]), "body": rv["body"],
        "state": rv["state"], "html_url": f"{ctx.fg.html_url}/{r.full_name}/pull/{p.number}#pullrequestreview-{rv['id']}",
        "pull_request_url": f"{api}/repos/{r.full_name}/pulls/{p.number}", "submitted_at": rv["submitted_at"],
        "commit_id": rv["commit_id"], "author_association": render.author_association(ctx.fg, r, rv["user"]),
        "_links": {"html": {"href": f"{ctx.fg.html_url}/{r.full_name}/pull/{p.number}"},
                   "pull_request": {"href": f"{api}/repos/{r.full_name}/pulls/{p.number}"}},
    }


@route("GET", R + "/pulls/{pull_number}/reviews")
def list_reviews(ctx):
    p = _pull(ctx)
    return 200, [_review_json(ctx, p, rv) for rv in ctx.paginate(p.reviews)]


@route("POST", R + "/pulls/{pull_number}/reviews")
def create_review(ctx):
    p = _pull(ctx)
    event = ctx.json("event")
    state = {"APPROVE": "APPROVED", "REQUEST_CHANGES": "CHANGES_REQUESTED", "COMMENT": "COMMENTED"}.get(event, "PENDING")
    if state in ("CHANGES_REQUESTED", "COMMENTED") and not ctx.json("body") and not ctx.json("comments"):
        raise validation_failed("Unprocessable Entity", errors=[f"Review body is required for {event}"])
    rv = {"id": ctx.fg._next_id(), "user": ctx.actor, "body": ctx.json("body") or "", "state": state,
          "submitted_at": now_iso() if state != "PENDING" else None, "commit_id": ctx.json("commit_id") or p.head_sha}
    p.reviews.append(rv)
    return 200, _review_json(ctx, p, rv)


@route("GET", R + "/pulls/{pull_number}/requested_reviewers")
def get_requested_reviewers(ctx):
    p = _pull(ctx)
    r = ctx.repo
    return 200, {"users": [render.user(ctx.fg, u) for u in p.requested_reviewers],
                 "teams": [render.team(ctx.fg, ctx.fg.teams[(r.owner, t)]) for t in p.requested_teams
                           if (r.owner, t) in ctx.fg.teams]}


@route("POST", R + "/pulls/{pull_number}/requested_reviewers")
def add_requested_reviewers(ctx):
    p = _pull(ctx)
    r = ctx.repo
    for u in ctx.json("reviewers") or []:
        if not ctx.fg.assignable(r, u):
            raise validation_failed("Reviews may only be requested from collaborators. One or more of the users or "
                                    "teams you specified is not a collaborator of the " + r.full_name + " repository.")
        if u not in p.requested_reviewers:
            p.requested_reviewers.append(u)
    for t in ctx.json("team_reviewers") or []:
        if (r.owner, t) not in ctx.fg.teams:
            raise validation_failed("Reviews may only be requested from collaborators.")
        if t not in p.requested_teams:
            p.requested_teams.append(t)
    return 201, render.pull(ctx.fg, r, p, simple=True)


@route("DELETE", R + "/pulls/{pull_number}/requested_reviewers")
def remove_requested_reviewers(ctx):
    p = _pull(ctx)
    drop = set(ctx.json("reviewers") or [])
    p.requested_reviewers = [u for u in p.requested_reviewers if u not in drop]
    dropt = set(ctx.json("team_reviewers") or [])
    p.requested_teams = [t for t in p.requested_teams if t not in dropt]
    return 200, render.pull(ctx.fg, ctx.repo, p, simple=True)


def _review_comment_json(ctx, p, c):
    r = ctx.repo
    api = ctx.fg.url
    u = f"{api}/repos/{r.full_name}/pulls/comments/{c['id']}"
    return {
        "url": u, "id": c["id"], "node_id": f"PRRC_{c['id']}", "pull_request_review_id": None, "diff_hunk": "",
        "path": c["path"], "position": c.get("line"), "original_position": c.get("line"),
        "commit_id": c["commit_id"], "original_commit_id": c["commit_id"], "user": render.user(ctx.fg, c["user"]),
        "body": c["body"], "created_at": c["created_at"], "updated_at": c["created_at"],
        "html_url": f"{ctx.fg.html_url}/{r.full_name}/pull/{p.number}#discussion_r{c['id']}",
        "pull_request_url": f"{api}/repos/{r.full_name}/pulls/{p.number}",
        "author_association": render.author_association(ctx.fg, r, c["user"]),
        "_links": {"self": {"href": u}, "html": {"href": f"{ctx.fg.html_url}/{r.full_name}/pull/{p.number}"},
                   "pull_request": {"href": f"{api}/repos/{r.full_name}/pulls/{p.number}"}},
        "line": c.get("line"), "side": c.get("side", "RIGHT"),
    }


@route("GET", R + "/pulls/{pull_number}/comments")
def list_review_comments(ctx):
    p = _pull(ctx)
    return 200, [_review_comment_json(ctx, p, c) for c in ctx.paginate(p.review_comments)]


@route("POST", R + "/pulls/{pull_number}/comments")
def create_review_comment(ctx):
    p = _pull(ctx)
    c = {"id": ctx.fg._next_id(), "user": ctx.actor, "body": ctx.json("body"), "path": ctx.json("path"),
         "line": ctx.json("line"), "side": ctx.json("side", "RIGHT"), "commit_id": ctx.json("commit_id") or p.head_sha,
         "created_at": now_iso()}
    p.review_comments.append(c)
    return 201, _review_comment_json(ctx, p, c)


# ======================================================================= collaborators & teams

def _collaborator_json(ctx, login, perm):
    d = render.user(ctx.fg, login)
    order = ["read", "triage", "write", "maintain", "admin"]
    lvl = order.index(perm) if perm in order else -1
    d["permissions"] = {"pull": lvl >= 0, "triage": lvl >= 1, "push": lvl >= 2, "maintain": lvl >= 3,
                        "admin": lvl >= 4}
    d["role_name"] = perm
    return d


@route("GET", R + "/collaborators")
def list_collaborators(ctx):
    r = ctx.repo
    logins = set(r.collaborators) | {r.owner} if ctx.fg.user_obj(r.owner).type == "User" else set(r.collaborators)
    for t in ctx.fg.teams.values():
        if r.full_name in t.repos and ctx.q("affiliation", "all") != "direct":
            logins |= set(t.members)
    items = []
    want = ctx.q("permission")
    for login in sorted(logins):
        perm = ctx.fg.permission_of(r, login)
        if want:
            mp = {"pull": "read", "push": "write"}.get(want, want)
            from .models import PERMISSION_ORDER
            if PERMISSION_ORDER[perm] < PERMISSION_ORDER[mp]:
                continue
        items.append(_collaborator_json(ctx, login, perm))
    return 200, ctx.paginate(items)


@route("GET", R + "/collaborators/{username}")
def check_collaborator(ctx):
    r = ctx.repo
    login = ctx.params["username"]
    if login in r.collaborators or any(login in t.members and r.full_name in t.repos for t in ctx.fg.teams.values()) \
            or login.lower() == r.owner.lower():
        return 204, None
    raise not_found()


@route("PUT", R + "/collaborators/{username}")
def add_collaborator(ctx):
    perm = {"pull": "read", "push": "write"}.get(ctx.json("permission", "push"), ctx.json("permission", "push"))
    ctx.fg.set_permission(ctx.repo.full_name, ctx.params["username"], perm)
    return 204, None


@route("DELETE", R + "/collaborators/{username}")
def remove_collaborator(ctx):
    ctx.repo.collaborators.pop(ctx.params["username"], None)
    return 204, None


@route("GET", R + "/collaborators/{username}/permission")
def collaborator_permission(ctx):
    r = ctx.repo
    login = ctx.params["username"]
    if login.lower() not in ctx.fg.users:
        raise ApiError(404, f"{login} is not a user")
    login = ctx.fg.users[login.lower()].login
    perm = ctx.fg.permission_of(r, login)
    legacy = {"maintain": "write", "triage": "read"}.get(perm, perm)
    return 200, {"permission": legacy, "role_name": perm, "user": _collaborator_json(ctx, login, perm)}


def _team_repo_perm(p):
    return {"pull": "pull", "triage": "triage", "push": "push", "maintain": "maintain", "admin": "admin"}.get(p, "pull")


@route("GET", R + "/teams")
def repo_teams(ctx):
    r = ctx.repo
    items = []
    for t in ctx.fg.teams.values():
        if r.full_name in t.repos:
            d = render.team(ctx.fg, t)
            d["permission"] = _team_repo_perm(t.repos[r.full_name])
            items.append(d)
    return 200, ctx.paginate(items)


def _team(ctx) -> Team:
    t = ctx.fg.teams.get((ctx.params["org"], ctx.params["team_slug"]))
    if t is None:
        for (org, slug), tt in ctx.fg.teams.items():
            if org.lower() == ctx.params["org"].lower() and slug == ctx.params["team_slug"]:
                return tt
        raise not_found()
    return t


@route("GET", "/orgs/{org}/teams")
def list_teams(ctx):
    org = ctx.params["org"]
    return 200, ctx.paginate([render.team(ctx.fg, t) for t in ctx.fg.teams.values() if t.org.lower() == org.lower()])


@route("POST", "/orgs/{org}/teams")
def create_team(ctx):
    import re

    org = ctx.params["org"]
    name = ctx.json("name")
    slug = re.sub(r"[^a-z0-9_-]+", "-", name.lower()).strip("-")
    if (org, slug) in ctx.fg.teams:
        raise validation_failed(errors=[{"resource": "Team", "code": "already_exists", "field": "name"}])
    t = ctx.fg.add_team(org, slug, name=name, description=ctx.json("description"),
                        maintainers=ctx.json("maintainers") or [])
    t.privacy = ctx.json("privacy", "secret")
    for fn in ctx.json("repo_names") or []:
        if ctx.fg.repos.get(fn.lower()):
            t.repos[ctx.fg.repo(fn).full_name] = "pull"
    return 201, render.team_full(ctx.fg, t)


@route("GET", "/orgs/{org}/teams/{team_slug}")
def get_team(ctx):
    return 200, render.team_full(ctx.fg, _team(ctx))


@route("PATCH", "/orgs/{org}/teams/{team_slug}")
def update_team(ctx):
    t = _team(ctx)
    for k in ("name", "description", "privacy", "permission"):
        if ctx.has(k):
            setattr(t, k, ctx.json(k))
    t.updated_at = now_iso()
    return 200, render.team_full(ctx.fg, t)


@route("DELETE", "/orgs/{org}/teams/{team_slug}")
def delete_team(ctx):
    t = _team(ctx)
    del ctx.fg.teams[(t.org, t.slug)]
    return 204, None


@route("GET", "/orgs/{org}/teams/{team_slug}/members")
def team_members(ctx):
    t = _team(ctx)
    role = ctx.q("role", "all")
    logins = [m for m, rl in t.members.items() if role == "all" or rl == role]
    return 200, ctx.paginate([render.user(ctx.fg, m) for m in logins])


def _membership(ctx, t, login):
    return {"url": f"{ctx.fg.url}/orgs/{t.org}/teams/{t.slug}/memberships/{login}", "role": t.members[login],
            "state": "active"}


@route("GET", "/orgs/{org}/teams/{team_slug}/memberships/{username}")
def get_membership(ctx):
    t = _team(ctx)
    login = ctx.params["username"]
    if login not in t.members:
        raise not_found()
    return 200, _membership(ctx, t, login)


@route("PUT", "/orgs/{org}/teams/{team_slug}/memberships/{username}")
def put_membership(ctx):
    t = _team(ctx)
    login = ctx.params["username"]
    ctx.fg.add_team_member(t.org, t.slug, login, ctx.json("role", "member"))
    return 200, _membership(ctx, t, login)


@route("DELETE", "/orgs/{org}/teams/{team_slug}/memberships/{username}")
def delete_membership(ctx):
    t = _team(ctx)
    if ctx.params["username"] not in t.members:
        raise not_found()
    del t.members[ctx.params["username"]]
    return 204, None


# ======================================================================= deployments

@route("GET", R + "/deployments")
def list_deployments(ctx):
    r = ctx.repo
    ds = sorted(r.deployments.values(), key=lambda d: -d.id)
    for k in ("sha", "ref", "task", "environment"):
        v = ctx.q(k)
        if v is not None:
            ds = [d for d in ds if getattr(d, k) == v]
    return 200, [render.deployment(ctx.fg, r, d) for d in ctx.paginate(ds)]


@route("POST", R + "/deployments")
def create_deployment(ctx):
    r = ctx.repo
    ref = ctx.json("ref")
    sha = _resolve_commit(ctx, ref)
    required = ctx.json("required_contexts")
    if required is None:
        required = [s.context for s in r.statuses if s.sha == sha]
        required += [c.name for c in r.check_runs.values() if c.head_sha == sha]
    failing = []
    for name in required:
        runs = [c for c in r.check_runs.values() if c.head_sha == sha and c.name == name]
        sts = [s for s in r.statuses if s.sha == sha and s.context == name]
        ok = (runs and max(runs, key=lambda c: c.id).conclusion in ("success", "neutral", "skipped")) or \
             (sts and sts[-1].state == "success")
        if not ok:
            failing.append(name)
    if failing:
        raise ApiError(409, "Conflict: Commit status checks failed for " + ref + ".",
                       errors=[{"contexts": [{"context": c, "state": "failure"} for c in failing],
                                "resource": "Deployment", "field": "required_contexts", "code": "invalid"}])
    payload = ctx.json("payload", {})
    if isinstance(payload, str) and payload:
        import json as _json

        try:
            payload = _json.loads(payload)
        except ValueError:
            pass
    env = ctx.json("environment", "production")
    d = Deployment(id=ctx.fg._next_id(), sha=sha, ref=ref, task=ctx.json("task", "deploy"), environment=env,
                   payload=payload if payload != "" else {}, description=ctx.json("description"), creator=ctx.actor,
                   transient_environment=bool(ctx.json("transient_environment", False)),
                   production_environment=bool(ctx.json("production_environment", env == "production")),
                   app_id=ctx.ident.app_id)
    r.deployments[d.id] = d
    emit(ctx, "deployment", "created", deployment=d)
    return 201, render.deployment(ctx.fg, r, d)


def _deployment(ctx):
    d = ctx.repo.deployments.get(_int(ctx.params["deployment_id"]))
    if d is None:
        raise not_found()
    return d


@route("GET", R + "/deployments/{deployment_id}")
def get_deployment(ctx):
    return 200, render.deployment(ctx.fg, ctx.repo, _deployment(ctx))


@route("DELETE", R + "/deployments/{deployment_id}")
def delete_deployment(ctx):
    d = _deployment(ctx)
    if d.statuses and d.statuses[-1].state not in ("inactive", "error", "failure"):
        raise validation_failed("We cannot delete an active deployment unless it is the only deployment in a given "
                                "environment.")
    del ctx.repo.deployments[d.id]
    return 204, None


@route("GET", R + "/deployments/{deployment_id}/statuses")
def list_deployment_statuses(ctx):
    d = _deployment(ctx)
    return 200, [render.deployment_status(ctx.fg, ctx.repo, d, s) for s in ctx.paginate(list(reversed(d.statuses)))]


@route("POST", R + "/deployments/{deployment_id}/statuses")
def create_deployment_status(ctx):
    r = ctx.repo
    d = _deployment(ctx)
    s = DeploymentStatus(id=ctx.fg._next_id(), deployment_id=d.id, state=ctx.json("state"), creator=ctx.actor,
                         description=ctx.json("description", ""), environment=ctx.json("environment", d.environment),
                         target_url=ctx.json("target_url", ""), log_url=ctx.json("log_url", ""),
                         environment_url=ctx.json("environment_url", ""))
    d.statuses.append(s)
    if s.state == "success" and ctx.json("auto_inactive", True):
        for other in r.deployments.values():
            if other.id != d.id and other.environment == d.environment and other.statuses and \
                    other.statuses[-1].state == "success":
                other.statuses.append(DeploymentStatus(id=ctx.fg._next_id(), deployment_id=other.id, state="inactive",
                                                       creator=ctx.actor, environment=other.environment))
    emit(ctx, "deployment_status", "created", deployment=d, deployment_status=s)
    return 201, render.deployment_status(ctx.fg, r, d, s)


# ======================================================================= dispatches

@route("POST", R + "/dispatches")
def repository_dispatch(ctx):
    ctx.repo.dispatches.append({"event_type": ctx.json("event_type"), "client_payload": ctx.json("client_payload"),
                                "actor": ctx.actor})
    return 204, None


@route("POST", R + "/actions/workflows/{workflow_id}/dispatches")
def workflow_dispatch(ctx):
    ctx.repo.dispatches.append({"workflow_id": ctx.params["workflow_id"], "ref": ctx.json("ref"),
                                "inputs": ctx.json("inputs"), "actor": ctx.actor})
    return 204, None


# ======================================================================= releases, actions, hooks

def _release_json(ctx, rel):
    r = ctx.repo
    api, html = ctx.fg.url, ctx.fg.html_url
    u = f"{api}/repos/{r.full_name}/releases/{rel['id']}"
    return {
        "url": u, "html_url": f"{html}/{r.full_name}/releases/tag/{rel['tag_name']}", "assets_url": f"{u}/assets",
        "upload_url": f"{api}/repos/{r.full_name}/releases/{rel['id']}/assets{{?name,label}}",
        "tarball_url": f"{api}/repos/{r.full_name}/tarball/{rel['tag_name']}",
        "zipball_url": f"{api}/repos/{r.full_name}/zipball/{rel['tag_name']}", "id": rel["id"],
        "node_id": f"RE_{rel['id']}", "tag_name": rel["tag_name"], "target_commitish": rel["target_commitish"],
        "name": rel["name"], "body": rel["body"], "draft": rel["draft"], "prerelease": rel["prerelease"],
        "created_at": rel["created_at"], "published_at": None if rel["draft"] else rel["created_at"],
        "author": render.user(ctx.fg, rel["author"]), "assets": [],
    }


@route("GET", R + "/releases")
def list_releases(ctx):
    return 200, [_release_json(ctx, rel) for rel in ctx.paginate(list(reversed(ctx.repo.releases)))]


@route("POST", R + "/releases")
def create_release(ctx):
    r = ctx.repo
    tag = ctx.json("tag_name")
    if any(rel["tag_name"] == tag for rel in r.releases):
        raise validation_failed(errors=[{"resource": "Release", "code": "already_exists", "field": "tag_name"}])
    target = ctx.json("target_commitish") or r.default_branch
    sha = _resolve_commit(ctx, target)
    if r.git.ref_sha(f"refs/tags/{tag}") is None:
        r.git.update_ref(f"refs/tags/{tag}", sha, NULL_SHA)
    rel = {"id": ctx.fg._next_id(), "tag_name": tag, "target_commitish": target, "name": ctx.json("name") or tag,
           "body": ctx.json("body"), "draft": bool(ctx.json("draft", False)),
           "prerelease": bool(ctx.json("prerelease", False)), "created_at": now_iso(), "author": ctx.actor}
    r.releases.append(rel)
    return 201, _release_json(ctx, rel)


@route("GET", R + "/actions/runs/{run_id}")
def get_workflow_run(ctx):
    raise not_found()  # the fake runs no workflows


@route("DELETE", R + "/actions/runs/{run_id}")
def delete_workflow_run(ctx):
    raise not_found()


@route("GET", R + "/hooks/{hook_id}/deliveries")
def repo_hook_deliveries(ctx):
    raise not_found()  # Apps receive webhooks through the App hook, repositories have none
