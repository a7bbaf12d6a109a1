"""Webhook payloads (from GitHub's published examples, rewritten to the fake's state) and signing."""

from __future__ import annotations

import copy
import hashlib
import hmac
from typing import TYPE_CHECKING, Any

from . import render, spec as specmod
from .git import NULL_SHA
from .models import Installation, Repo, node_id

if TYPE_CHECKING:  # pragma: no cover
    from .server import FakeGitHub

HOOKSHOT_UA = "GitHub-Hookshot/a1b2c3d"

#: When GitHub's examples lack an action, start from a sibling example.
_FALLBACK_ACTIONS = {
    ("issues", "closed"): "reopened",
    ("pull_request", "edited"): "opened",
    ("pull_request", "closed"): "opened",
    ("pull_request", "reopened"): "opened",
    ("issue_comment", "edited"): "created",
    ("issue_comment", "deleted"): "created",
    ("check_suite", "completed"): "requested",
    ("installation_repositories", "added"): "added",
}


def sign(secret: str | bytes, body: bytes) -> str:
    """``sha256=<hex>`` as in ``X-Hub-Signature-256``."""
    key = secret.encode() if isinstance(secret, str) else secret
    return "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()


def verify_signature(secret: str | bytes, body: bytes, signature: str) -> bool:
    return hmac.compare_digest(sign(secret, body), signature or "")


def signed_headers(event: str, guid: str, body: bytes, secret: str | None, *, hook_id: int = 1,
                   app_id: int | None = None) -> dict:
    h = {
        "Content-Type": "application/json",
        "User-Agent": HOOKSHOT_UA,
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": guid,
        "X-GitHub-Hook-ID": str(hook_id),
    }
    if app_id is not None:
        h["X-GitHub-Hook-Installation-Target-ID"] = str(app_id)
        h["X-GitHub-Hook-Installation-Target-Type"] = "integration"
    if secret:
        key = secret.encode()
        h["X-Hub-Signature"] = "sha1=" + hmac.new(key, body, hashlib.sha1).hexdigest()
        h["X-Hub-Signature-256"] = sign(secret, body)
    return h


def deep_merge(base: Any, over: Any) -> Any:
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for k, v in over.items():
            out[k] = deep_merge(base.get(k), v) if k in base else copy.deepcopy(v)
        return out
    return copy.deepcopy(over)


def _webhook_repo(fg: "FakeGitHub", r: Repo, *, push: bool = False) -> dict:
    d = render.repo(fg, r, full=False)
    d["custom_properties"] = {}
    if push:
        # push payloads use epoch seconds for pushed_at/created_at and carry master_branch
        import calendar
        import time

        def epoch(s):
            return calendar.timegm(time.strptime(s, "%Y-%m-%dT%H:%M:%SZ"))

        d["pushed_at"] = epoch(r.pushed_at)
        d["created_at"] = epoch(r.created_at)
        d["master_branch"] = r.default_branch
        d["stargazers"] = 0
        d["owner"]["name"] = r.owner
        d["owner"]["email"] = None
    return d


def _push_commits(fg: "FakeGitHub", r: Repo, before: str, after: str) -> list[dict]:
    g = r.git
    if after == NULL_SHA:
        return []
    if before == NULL_SHA:
        rng = [after, "--not"] + [sha for ref, sha in g.refs("refs/heads/").items() if sha != after]
        shas = g.rev_list("--reverse", *rng)[-20:] if len(rng) > 2 else [after]
    else:
        shas = g.rev_list("--reverse", f"{before}..{after}")[-20:]
    out = []
    for sha in shas:
        ci = g.read_commit(sha)
        parent = ci.parents[0] if ci.parents else None
        files = g.diff(parent or "4b825dc642cb6eb9a060e54bf8d69288fbee4904", sha)
        out.append({
            "id": sha, "tree_id": ci.tree, "distinct": True, "message": ci.message.rstrip("\n"),
            "timestamp": ci.committer.iso.replace("Z", "+00:00"),
            "url": f"{fg.html_url}/{r.full_name}/commit/{sha}",
            "author": _git_person(fg, ci.author), "committer": _git_person(fg, ci.committer),
            "added": [f.filename for f in files if f.status == "added"],
            "removed": [f.filename for f in files if f.status == "removed"],
            "modified": [f.filename for f in files if f.status not in ("added", "removed")],
        })
    return out


def _git_person(fg, p) -> dict:
    d = {"name": p.name, "email": p.email}
    login = render._login_for_email(fg, p.email)
    if login is None and p.email.endswith("@users.noreply.github.com"):
        cand = p.email.split("@", 1)[0].split("+", 1)[-1]
        if cand.lower() in fg.users:
            login = fg.users[cand.lower()].login
    if login:
        d["username"] = login
    return d


def _check_suite_for_webhook(fg, r: Repo, suite) -> dict:
    d = render.check_suite(fg, r, suite)
    return d


def build_payload(fg: "FakeGitHub", event: str, action: str | None, *, repo: Repo | None, sender: str,
                  installation: Installation | None, extra: dict, overrides: dict | None = None,
                  example: int = 0) -> dict:
    """A payload for ``event.action``: GitHub's example as a base, every entity replaced by
    the fake's own state, completed to the webhook schema, then ``overrides`` merged in."""
    spec_dir = fg.spec_dir
    base = specmod.load_example(spec_dir, event, action, example)
    if base is None and (event, action) in _FALLBACK_ACTIONS:
        base = specmod.load_example(spec_dir, event, _FALLBACK_ACTIONS[(event, action)], example)
    if base is None:
        base = {}
    payload: dict[str, Any] = dict(base)
    for k in ("enterprise", "organization", "installation"):
        payload.pop(k, None)
    if action is not None:
        payload["action"] = action
    if repo is not None:
        payload["repository"] = _webhook_repo(fg, repo, push=(event == "push"))
        owner = fg.user_obj(repo.owner)
        if owner.type == "Organization":
            payload["organization"] = render.org(fg, repo.owner)
    else:
        payload.pop("repository", None)
    if installation is not None:
        if event in ("installation", "installation_repositories"):
            payload["installation"] = render.installation(fg, installation)
        else:
            payload["installation"] = {"id": installation.id, "node_id": node_id("Installation", installation.id)}
    payload["sender"] = render.user(fg, sender)
    if event in ("installation", "installation_repositories") and installation is not None:
        mini = [{"id": x.id, "node_id": x.node_id, "name": x.name, "full_name": x.full_name, "private": x.private}
                for x in fg.repos.values() if fg._inst_has_repo(installation, x)]
        payload.pop("repository", None)
        payload.pop("organization", None)
        if fg.user_obj(installation.account).type == "Organization":
            payload["organization"] = render.org(fg, installation.account)
        if event == "installation":
            payload["repositories"] = mini
            payload["requester"] = None
        else:
            payload["repository_selection"] = installation.repository_selection
            payload["repositories_added"] = [m for m in mini if repo is None or m["id"] == repo.id]
            payload["repositories_removed"] = []
            payload["requester"] = None

    extra = dict(extra)
    r = repo
    if "issue" in extra:
        i = extra.pop("issue")
        payload["issue"] = render.issue(fg, r, i)
    if "pull" in extra:
        p = extra.pop("pull")
        payload["number"] = p.number
        payload["pull_request"] = render.pull(fg, r, p)
    if "comment" in extra:
        payload["comment"] = render.comment(fg, r, extra.pop("comment"))
    if "label" in extra:
        payload["label"] = render.label(fg, r, extra.pop("label"))
    if "assignee" in extra:
        payload["assignee"] = render.user(fg, extra.pop("assignee"))
    if "check_run" in extra:
        c = extra.pop("check_run")
        cr = render.check_run(fg, r, c)
        suite = r.check_suites.get(c.check_suite_id)
        if suite is not None:
            cr["check_suite"] = _check_suite_for_webhook(fg, r, suite)
        payload["check_run"] = cr
    if "check_suite" in extra:
        payload["check_suite"] = _check_suite_for_webhook(fg, r, extra.pop("check_suite"))
    if "deployment" in extra:
        dp = extra.pop("deployment")
        payload["deployment"] = render.deployment(fg, r, dp)
        if "deployment_status" in extra:
            payload["deployment_status"] = render.deployment_status(fg, r, dp, extra.pop("deployment_status"))
        payload.pop("workflow_run", None)
        payload.pop("workflow", None)
        payload.pop("check_run", None)
    if event == "push":
        ref, before, after = extra.pop("ref"), extra.pop("before"), extra.pop("after")
        forced = extra.pop("forced", False)
        commits = _push_commits(fg, r, before, after)
        pusher = fg.user_obj(sender)
        payload.update({
            "ref": ref, "before": before, "after": after, "base_ref": None,
            "created": before == NULL_SHA, "deleted": after == NULL_SHA, "forced": forced,
            "compare": f"{fg.html_url}/{r.full_name}/compare/{before[:12]}...{after[:12]}",
            "commits": commits, "head_commit": commits[-1] if commits else None,
            "pusher": {"name": pusher.login, "email": pusher.email},
        })
    if event == "pull_request" and action == "synchronize":
        payload["before"] = extra.pop("before")
        payload["after"] = extra.pop("after")
    if "changes" in extra:
        payload["changes"] = extra.pop("changes")
    elif action == "edited" and "changes" in payload:
        payload["changes"] = {}
    payload.update(extra)

    if spec_dir:
        schema = specmod.webhook_schema_ref(spec_dir, event, action)
        filler = specmod.webhook_filler(spec_dir)
        if schema is not None and filler is not None:
            payload = filler.fill(schema, payload)
    if overrides:
        payload = deep_merge(payload, overrides)
    return payload


_ENTITY_KEYS = {"pull": "pull_request", "issue": "issue", "comment": "comment", "check_run": "check_run",
                "check_suite": "check_suite", "label": "label"}


def retarget_example(fg: "FakeGitHub", r: Repo, payload: dict, keep: set[str]) -> dict:
    """Point the example entities that were not replaced by state at ``r``: nested
    repositories become ``r``, PR head/base refs and check shas become its default branch."""
    replaced = {_ENTITY_KEYS[k] for k in keep if k in _ENTITY_KEYS}
    tip = r.git.ref_sha(f"refs/heads/{r.default_branch}") or NULL_SHA
    repo_json = render.repo(fg, r)

    def walk(node, top=None):
        if isinstance(node, dict):
            for k, v in list(node.items()):
                if k in ("repo", "repository", "head_repository") and isinstance(v, dict) and "full_name" in v:
                    node[k] = copy.deepcopy(repo_json)
                else:
                    walk(v, top)
        elif isinstance(node, list):
            for v in node:
                walk(v, top)

    for key, value in payload.items():
        if key in replaced or key in ("repository", "sender", "installation", "organization"):
            continue
        walk(value)
        if key == "pull_request" and isinstance(value, dict):
            for side in ("head", "base"):
                part = value.get(side)
                if isinstance(part, dict):
                    part["ref"] = r.default_branch
                    part["sha"] = tip
                    part["label"] = f"{r.owner}:{r.default_branch}"
        if key in ("check_run", "check_suite") and isinstance(value, dict):
            value["head_sha"] = tip
            if isinstance(value.get("check_suite"), dict):
                value["check_suite"]["head_sha"] = tip
    return payload
