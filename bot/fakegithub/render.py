"""JSON representations of the fake's state, shaped like GitHub's REST responses."""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from .git import CommitInfo, FileChange
from .models import (
    App, CheckRun, CheckSuite, Comment, Deployment, DeploymentStatus, Installation, Issue, Label,
    Milestone, PullRequest, Reaction, Repo, Status, Team, node_id, now_iso,
)

if TYPE_CHECKING:  # pragma: no cover
    from .server import FakeGitHub

REACTIONS = ["+1", "-1", "laugh", "confused", "heart", "hooray", "eyes", "rocket"]


def _api(fg: "FakeGitHub") -> str:
    return fg.url or "http://127.0.0.1"


def user(fg: "FakeGitHub", login: str | None) -> dict | None:
    if login is None:
        return None
    u = fg.user_obj(login)
    api, html = _api(fg), fg.html_url
    q = quote(login)
    base = f"{api}/users/{q}"
    return {
        "login": u.login, "id": u.id, "node_id": u.node_id,
        "avatar_url": f"https://avatars.githubusercontent.com/u/{u.id}?v=4", "gravatar_id": "",
        "url": base, "html_url": f"{html}/{q}" if u.type != "Bot" else f"{html}/apps/{q.split('%5B')[0]}",
        "followers_url": f"{base}/followers", "following_url": f"{base}/following{{/other_user}}",
        "gists_url": f"{base}/gists{{/gist_id}}", "starred_url": f"{base}/starred{{/owner}}{{/repo}}",
        "subscriptions_url": f"{base}/subscriptions", "organizations_url": f"{base}/orgs",
        "repos_url": f"{base}/repos", "events_url": f"{base}/events{{/privacy}}",
        "received_events_url": f"{base}/received_events", "type": u.type, "user_view_type": "public",
        "site_admin": u.site_admin,
    }


def public_user(fg: "FakeGitHub", login: str) -> dict:
    u = fg.user_obj(login)
    d = user(fg, login)
    d.update({
        "name": u.name, "company": None, "blog": "", "location": None, "email": u.email, "hireable": None,
        "bio": None, "twitter_username": None, "public_repos": 0, "public_gists": 0, "followers": 0,
        "following": 0, "created_at": "2020-01-01T00:00:00Z", "updated_at": "2020-01-01T00:00:00Z",
    })
    return fg.rest_fill("public-user", d)


def repo(fg: "FakeGitHub", r: Repo, *, full: bool = False, permissions: dict | None = None) -> dict:
    api, html = _api(fg), fg.html_url
    fn = r.full_name
    b = f"{api}/repos/{fn}"
    open_issues = sum(1 for i in r.issues.values() if i.state == "open")
    d = {
        "id": r.id, "node_id": r.node_id, "name": r.name, "full_name": fn, "private": r.private,
        "owner": user(fg, r.owner), "html_url": f"{html}/{fn}", "description": r.description,
        "fork": False, "url": b,
        "archive_url": f"{b}/{{archive_format}}{{/ref}}", "assignees_url": f"{b}/assignees{{/user}}",
        "blobs_url": f"{b}/git/blobs{{/sha}}", "branches_url": f"{b}/branches{{/branch}}",
        "collaborators_url": f"{b}/collaborators{{/collaborator}}", "comments_url": f"{b}/comments{{/number}}",
        "commits_url": f"{b}/commits{{/sha}}", "compare_url": f"{b}/compare/{{base}}...{{head}}",
        "contents_url": f"{b}/contents/{{+path}}", "contributors_url": f"{b}/contributors",
        "deployments_url": f"{b}/deployments", "downloads_url": f"{b}/downloads", "events_url": f"{b}/events",
        "forks_url": f"{b}/forks", "git_commits_url": f"{b}/git/commits{{/sha}}",
        "git_refs_url": f"{b}/git/refs{{/sha}}", "git_tags_url": f"{b}/git/tags{{/sha}}",
        "git_url": f"git://github.com/{fn}.git", "issue_comment_url": f"{b}/issues/comments{{/number}}",
        "issue_events_url": f"{b}/issues/events{{/number}}", "issues_url": f"{b}/issues{{/number}}",
        "keys_url": f"{b}/keys{{/key_id}}", "labels_url": f"{b}/labels{{/name}}", "languages_url": f"{b}/languages",
        "merges_url": f"{b}/merges", "milestones_url": f"{b}/milestones{{/number}}",
        "notifications_url": f"{b}/notifications{{?since,all,participating}}", "pulls_url": f"{b}/pulls{{/number}}",
        "releases_url": f"{b}/releases{{/id}}", "ssh_url": f"git@github.com:{fn}.git",
        "stargazers_url": f"{b}/stargazers", "statuses_url": f"{b}/statuses/{{sha}}",
        "subscribers_url": f"{b}/subscribers", "subscription_url": f"{b}/subscription", "tags_url": f"{b}/tags",
        "teams_url": f"{b}/teams", "trees_url": f"{b}/git/trees{{/sha}}", "clone_url": f"{html}/{fn}.git",
        "mirror_url": None, "hooks_url": f"{b}/hooks", "svn_url": f"{html}/{fn}", "homepage": None,
        "language": None, "forks_count": 0, "stargazers_count": 0, "watchers_count": 0, "size": 0,
        "default_branch": r.default_branch, "open_issues_count": open_issues, "is_template": False,
        "topics": [], "has_issues": True, "has_projects": True, "has_wiki": True, "has_pages": False,
        "has_downloads": True, "has_discussions": False, "archived": False, "disabled": False,
        "visibility": "private" if r.private else "public", "pushed_at": r.pushed_at, "created_at": r.created_at,
        "updated_at": r.updated_at, "allow_forking": True, "web_commit_signoff_required": False,
        "forks": 0, "open_issues": open_issues, "watchers": 0, "license": None,
    }
    if permissions is not None:
        d["permissions"] = permissions
    if full:
        d.update({"network_count": 0, "subscribers_count": 0, "allow_rebase_merge": True,
                  "allow_squash_merge": True, "allow_merge_commit": True, "allow_auto_merge": False,
                  "delete_branch_on_merge": False, "temp_clone_token": None})
        owner = fg.user_obj(r.owner)
        if owner.type == "Organization":
            d["organization"] = user(fg, r.owner)
    return d


def minimal_repo(fg, r: Repo) -> dict:
    d = repo(fg, r)
    return d


def org(fg: "FakeGitHub", login: str) -> dict:
    u = fg.user_obj(login)
    b = f"{_api(fg)}/orgs/{quote(login)}"
    return {
        "login": login, "id": u.id, "node_id": u.node_id, "url": b, "repos_url": f"{b}/repos",
        "events_url": f"{b}/events", "hooks_url": f"{b}/hooks", "issues_url": f"{b}/issues",
        "members_url": f"{b}/members{{/member}}", "public_members_url": f"{b}/public_members{{/member}}",
        "avatar_url": f"https://avatars.githubusercontent.com/u/{u.id}?v=4", "description": "",
    }


def app(fg: "FakeGitHub", a: App | None) -> dict | None:
    if a is None:
        return None
    return {
        "id": a.id, "slug": a.slug, "node_id": a.node_id, "client_id": a.client_id,
        "owner": user(fg, a.owner), "name": a.name, "description": "", "external_url": f"{fg.html_url}/apps/{a.slug}",
        "html_url": f"{fg.html_url}/apps/{a.slug}", "created_at": a.created_at, "updated_at": a.created_at,
        "permissions": dict(a.permissions), "events": list(a.events),
        "installations_count": sum(1 for i in fg.installations.values() if i.app_id == a.id),
    }


def installation(fg: "FakeGitHub", inst: Installation) -> dict:
    a = fg.apps[inst.app_id]
    acct = fg.user_obj(inst.account)
    api = _api(fg)
    account = user(fg, inst.account)
    # GET /app/installations describes the account as allOf [simple-user, enterprise]
    account.update({"name": acct.name or acct.login, "slug": acct.login.lower(), "created_at": inst.created_at,
                    "updated_at": inst.created_at, "description": None, "website_url": None})
    return {
        "id": inst.id, "client_id": a.client_id, "account": account,
        "repository_selection": inst.repository_selection,
        "access_tokens_url": f"{api}/app/installations/{inst.id}/access_tokens",
        "repositories_url": f"{api}/installation/repositories",
        "html_url": f"{fg.html_url}/organizations/{inst.account}/settings/installations/{inst.id}",
        "app_id": a.id, "app_slug": a.slug, "target_id": acct.id, "target_type": acct.type,
        "permissions": dict(inst.permissions), "events": list(inst.events), "created_at": inst.created_at,
        "updated_at": inst.created_at, "single_file_name": None, "has_multiple_single_files": False,
        "single_file_paths": [], "suspended_by": None, "suspended_at": inst.suspended_at,
    }


def label(fg: "FakeGitHub", r: Repo, lb: Label) -> dict:
    return {
        "id": lb.id, "node_id": node_id("Label", lb.id), "url": f"{_api(fg)}/repos/{r.full_name}/labels/{quote(lb.name)}",
        "name": lb.name, "color": lb.color, "default": lb.default, "description": lb.description,
    }


def reaction(fg: "FakeGitHub", rc: Reaction) -> dict:
    return {"id": rc.id, "node_id": node_id("Reaction", rc.id), "user": user(fg, rc.user), "content": rc.content,
            "created_at": rc.created_at}


def reaction_rollup(fg, url: str, reactions: list[Reaction]) -> dict:
    d = {"url": url, "total_count": len(reactions)}
    for k in REACTIONS:
        d[k] = sum(1 for r in reactions if r.content == k)
    return d


def author_association(fg: "FakeGitHub", r: Repo, login: str) -> str:
    if login == r.owner:
        return "OWNER"
    if login in r.collaborators and r.collaborators[login] != "none":
        return "COLLABORATOR"
    if any(login in t.members for t in fg.teams.values() if t.org == r.owner):
        return "MEMBER"
    return "NONE"


def issue(fg: "FakeGitHub", r: Repo, i: Issue, *, with_repo: bool = False) -> dict:
    api, html = _api(fg), fg.html_url
    b = f"{api}/repos/{r.full_name}"
    u = f"{b}/issues/{i.number}"
    kind = "pull" if i.pull else "issues"
    d = {
        "id": i.id, "node_id": node_id("Issue", i.id), "url": u, "repository_url": b,
        "labels_url": f"{u}/labels{{/name}}", "comments_url": f"{u}/comments", "events_url": f"{u}/events",
        "html_url": f"{html}/{r.full_name}/{kind}/{i.number}", "number": i.number, "state": i.state,
        "state_reason": i.state_reason, "title": i.title, "body": i.body, "user": user(fg, i.user),
        "labels": [label(fg, r, r.label(n)) for n in i.labels if r.label(n)],
        "assignee": user(fg, i.assignees[0]) if i.assignees else None,
        "assignees": [user(fg, a) for a in i.assignees],
        "milestone": milestone(fg, r, r.milestones[i.milestone]) if i.milestone in r.milestones else None,
        "locked": i.locked, "active_lock_reason": i.active_lock_reason, "comments": len(i.comment_ids),
        "closed_at": i.closed_at, "created_at": i.created_at, "updated_at": i.updated_at,
        "closed_by": user(fg, i.closed_by) if i.closed_by else None,
        "author_association": author_association(fg, r, i.user),
        "reactions": reaction_rollup(fg, f"{u}/reactions", i.reactions), "timeline_url": f"{u}/timeline",
        "performed_via_github_app": app(fg, fg.apps.get(i.app_id)) if i.app_id else None,
    }
    if i.pull:
        p = i.pull
        d["draft"] = p.draft
        d["pull_request"] = {
            "url": f"{b}/pulls/{i.number}", "html_url": f"{html}/{r.full_name}/pull/{i.number}",
            "diff_url": f"{html}/{r.full_name}/pull/{i.number}.diff",
            "patch_url": f"{html}/{r.full_name}/pull/{i.number}.patch", "merged_at": p.merged_at,
        }
    if with_repo:
        d["repository"] = repo(fg, r)
    return d


def milestone(fg, r: Repo, m: Milestone) -> dict:
    b = f"{_api(fg)}/repos/{r.full_name}/milestones/{m.number}"
    issues = [i for i in r.issues.values() if i.milestone == m.number]
    return {
        "url": b, "html_url": f"{fg.html_url}/{r.full_name}/milestone/{m.number}", "labels_url": f"{b}/labels",
        "id": m.id, "node_id": node_id("Milestone", m.id), "number": m.number, "state": m.state, "title": m.title,
        "description": m.description, "creator": user(fg, m.creator),
        "open_issues": sum(1 for i in issues if i.state == "open"),
        "closed_issues": sum(1 for i in issues if i.state == "closed"), "created_at": m.created_at,
        "updated_at": m.updated_at, "closed_at": None, "due_on": m.due_on,
    }


def comment(fg: "FakeGitHub", r: Repo, c: Comment) -> dict:
    api, html = _api(fg), fg.html_url
    b = f"{api}/repos/{r.full_name}"
    i = r.issues.get(c.issue_number)
    kind = "pull" if i and i.pull else "issues"
    return {
        "id": c.id, "node_id": node_id("IssueComment", c.id), "url": f"{b}/issues/comments/{c.id}",
        "html_url": f"{html}/{r.full_name}/{kind}/{c.issue_number}#issuecomment-{c.id}", "body": c.body,
        "user": user(fg, c.user), "created_at": c.created_at, "updated_at": c.updated_at,
        "issue_url": f"{b}/issues/{c.issue_number}", "author_association": author_association(fg, r, c.user),
        "performed_via_github_app": app(fg, fg.apps.get(c.app_id)) if c.app_id else None,
        "reactions": reaction_rollup(fg, f"{b}/issues/comments/{c.id}/reactions", c.reactions),
    }


def _branch_part(fg, r: Repo, ref: str, sha: str) -> dict:
    return {"label": f"{r.owner}:{ref}", "ref": ref, "sha": sha, "user": user(fg, r.owner), "repo": repo(fg, r)}


def pull(fg: "FakeGitHub", r: Repo, p: PullRequest, *, simple: bool = False) -> dict:
    api, html = _api(fg), fg.html_url
    b = f"{api}/repos/{r.full_name}"
    i = p.issue
    u = f"{b}/pulls/{p.number}"
    h = f"{html}/{r.full_name}/pull/{p.number}"
    d = {
        "url": u, "id": p.id, "node_id": node_id("PullRequest", p.id), "html_url": h, "diff_url": f"{h}.diff",
        "patch_url": f"{h}.patch", "issue_url": f"{b}/issues/{p.number}", "number": p.number, "state": i.state,
        "locked": i.locked, "title": i.title, "user": user(fg, i.user), "body": i.body,
        "labels": [label(fg, r, r.label(n)) for n in i.labels if r.label(n)],
        "milestone": milestone(fg, r, r.milestones[i.milestone]) if i.milestone in r.milestones else None,
        "active_lock_reason": i.active_lock_reason, "created_at": i.created_at, "updated_at": i.updated_at,
        "closed_at": i.closed_at, "merged_at": p.merged_at, "merge_commit_sha": p.merge_commit_sha,
        "assignee": user(fg, i.assignees[0]) if i.assignees else None,
        "assignees": [user(fg, a) for a in i.assignees],
        "requested_reviewers": [user(fg, a) for a in p.requested_reviewers],
        "requested_teams": [team(fg, fg.teams[(r.owner, t)]) for t in p.requested_teams if (r.owner, t) in fg.teams],
        "commits_url": f"{u}/commits", "review_comments_url": f"{u}/comments",
        "review_comment_url": f"{b}/pulls/comments{{/number}}", "comments_url": f"{b}/issues/{p.number}/comments",
        "statuses_url": f"{b}/statuses/{p.head_sha}",
        "head": _branch_part(fg, r, p.head_ref, p.head_sha),
        "base": _branch_part(fg, r, p.base_ref, p.base_sha),
        "_links": {
            "self": {"href": u}, "html": {"href": h}, "issue": {"href": f"{b}/issues/{p.number}"},
            "comments": {"href": f"{b}/issues/{p.number}/comments"}, "review_comments": {"href": f"{u}/comments"},
            "review_comment": {"href": f"{b}/pulls/comments{{/number}}"}, "commits": {"href": f"{u}/commits"},
            "statuses": {"href": f"{b}/statuses/{p.head_sha}"},
        },
        "author_association": author_association(fg, r, i.user), "auto_merge": None, "draft": p.draft,
    }
    if simple:
        return d
    stats = fg.pull_stats(r, p)
    d.update({
        "merged": p.merged, "mergeable": stats["mergeable"], "rebaseable": stats["mergeable"],
        "mergeable_state": stats["mergeable_state"], "merged_by": user(fg, p.merged_by) if p.merged_by else None,
        "comments": len(i.comment_ids), "review_comments": len(p.review_comments), "maintainer_can_modify": False,
        "commits": stats["commits"], "additions": stats["additions"], "deletions": stats["deletions"],
        "changed_files": stats["changed_files"],
    })
    return d


def pull_minimal(fg, r: Repo, p: PullRequest) -> dict:
    api = _api(fg)
    rr = {"id": r.id, "url": f"{api}/repos/{r.full_name}", "name": r.name}
    return {
        "id": p.id, "number": p.number, "url": f"{api}/repos/{r.full_name}/pulls/{p.number}",
        "head": {"ref": p.head_ref, "sha": p.head_sha, "repo": rr},
        "base": {"ref": p.base_ref, "sha": p.base_sha, "repo": rr},
    }


def check_run(fg: "FakeGitHub", r: Repo, c: CheckRun) -> dict:
    api, html = _api(fg), fg.html_url
    u = f"{api}/repos/{r.full_name}/check-runs/{c.id}"
    a = fg.apps.get(c.app_id) if c.app_id else None
    return {
        "id": c.id, "head_sha": c.head_sha, "node_id": node_id("CheckRun", c.id),
        "external_id": c.external_id if c.external_id is not None else "", "url": u,
        "html_url": f"{html}/{r.full_name}/runs/{c.id}",
        "details_url": c.details_url or (f"{html}/apps/{a.slug}" if a else None),
        "status": c.status, "conclusion": c.conclusion, "started_at": c.started_at, "completed_at": c.completed_at,
        "output": {
            "title": c.output.get("title"), "summary": c.output.get("summary"), "text": c.output.get("text"),
            "annotations_count": len(c.annotations), "annotations_url": f"{u}/annotations",
        },
        "name": c.name, "check_suite": {"id": c.check_suite_id}, "app": app(fg, a),
        "pull_requests": [pull_minimal(fg, r, p) for p in fg.open_pulls_for_sha(r, c.head_sha)],
    }


def annotation(fg, r: Repo, c: CheckRun, an) -> dict:
    return {
        "path": an.path, "start_line": an.start_line, "end_line": an.end_line,
        "start_column": an.start_column, "end_column": an.end_column, "annotation_level": an.annotation_level,
        "title": an.title, "message": an.message, "raw_details": an.raw_details,
        "blob_href": f"{fg.html_url}/{r.full_name}/blob/{c.head_sha}/{an.path}",
    }


def simple_commit(fg, r: Repo, sha: str) -> dict:
    ci = r.git.read_commit(sha)
    return {
        "id": sha, "tree_id": ci.tree, "message": ci.message.rstrip("\n"), "timestamp": ci.committer.iso,
        "author": {"name": ci.author.name, "email": ci.author.email},
        "committer": {"name": ci.committer.name, "email": ci.committer.email},
    }


def check_suite(fg: "FakeGitHub", r: Repo, s: CheckSuite) -> dict:
    api = _api(fg)
    a = fg.apps.get(s.app_id) if s.app_id else None
    runs = [c for c in r.check_runs.values() if c.check_suite_id == s.id]
    return {
        "id": s.id, "node_id": node_id("CheckSuite", s.id), "head_branch": s.head_branch, "head_sha": s.head_sha,
        "status": s.status, "conclusion": s.conclusion, "url": f"{api}/repos/{r.full_name}/check-suites/{s.id}",
        "before": s.before, "after": s.after or s.head_sha,
        "pull_requests": [pull_minimal(fg, r, p) for p in fg.open_pulls_for_sha(r, s.head_sha)],
        "app": app(fg, a), "repository": repo(fg, r), "created_at": s.created_at, "updated_at": s.updated_at,
        "head_commit": simple_commit(fg, r, s.head_sha), "latest_check_runs_count": len(runs),
        "check_runs_url": f"{api}/repos/{r.full_name}/check-suites/{s.id}/check-runs",
        "rerequestable": True, "runs_rerequestable": True,
    }


def git_user(p) -> dict:
    return {"name": p.name, "email": p.email, "date": p.iso}


VERIFICATION = {"verified": False, "reason": "unsigned", "signature": None, "payload": None, "verified_at": None}


def git_commit(fg, r: Repo, ci: CommitInfo) -> dict:
    api, html = _api(fg), fg.html_url
    b = f"{api}/repos/{r.full_name}"
    return {
        "sha": ci.sha, "node_id": node_id("Commit", int(ci.sha[:12], 16)), "url": f"{b}/git/commits/{ci.sha}",
        "html_url": f"{html}/{r.full_name}/commit/{ci.sha}", "author": git_user(ci.author),
        "committer": git_user(ci.committer), "message": ci.message.rstrip("\n"),
        "tree": {"sha": ci.tree, "url": f"{b}/git/trees/{ci.tree}"},
        "parents": [{"sha": p, "url": f"{b}/git/commits/{p}", "html_url": f"{html}/{r.full_name}/commit/{p}"}
                    for p in ci.parents],
        "verification": dict(VERIFICATION),
    }


def _login_for_email(fg, email: str) -> str | None:
    for u in fg.users.values():
        if u.email and u.email == email:
            return u.login
    return None


def commit(fg, r: Repo, sha: str, *, files: list[FileChange] | None = None) -> dict:
    """The ``commit`` schema (REST commits API), optionally with files/stats."""
    api, html = _api(fg), fg.html_url
    b = f"{api}/repos/{r.full_name}"
    ci = r.git.read_commit(sha)
    al, cl = _login_for_email(fg, ci.author.email), _login_for_email(fg, ci.committer.email)
    d = {
        "url": f"{b}/commits/{sha}", "sha": sha, "node_id": node_id("Commit", int(sha[:12], 16)),
        "html_url": f"{html}/{r.full_name}/commit/{sha}", "comments_url": f"{b}/commits/{sha}/comments",
        "commit": {
            "url": f"{b}/git/commits/{sha}", "author": git_user(ci.author), "committer": git_user(ci.committer),
            "message": ci.message.rstrip("\n"), "comment_count": 0,
            "tree": {"sha": ci.tree, "url": f"{b}/git/trees/{ci.tree}"}, "verification": dict(VERIFICATION),
        },
        "author": user(fg, al) if al else None, "committer": user(fg, cl) if cl else None,
        "parents": [{"sha": p, "url": f"{b}/commits/{p}", "html_url": f"{html}/{r.full_name}/commit/{p}"}
                    for p in ci.parents],
    }
    if files is not None:
        adds = sum(f.additions for f in files)
        dels = sum(f.deletions for f in files)
        d["stats"] = {"additions": adds, "deletions": dels, "total": adds + dels}
        d["files"] = [diff_entry(fg, r, f, sha) for f in files]
    return d


def diff_entry(fg, r: Repo, f: FileChange, ref: str) -> dict:
    html, api = fg.html_url, _api(fg)
    qp = quote(f.filename)
    d = {
        "sha": f.new_sha or f.old_sha or "0" * 40, "filename": f.filename, "status": f.status,
        "additions": f.additions, "deletions": f.deletions, "changes": f.additions + f.deletions,
        "blob_url": f"{html}/{r.full_name}/blob/{ref}/{qp}", "raw_url": f"{html}/{r.full_name}/raw/{ref}/{qp}",
        "contents_url": f"{api}/repos/{r.full_name}/contents/{qp}?ref={ref}",
    }
    if f.patch is not None:
        d["patch"] = f.patch
    if f.previous_filename:
        d["previous_filename"] = f.previous_filename
    return d


def b64(data: bytes) -> str:
    """Base64 like GitHub: wrapped with a newline every 60 characters."""
    s = base64.b64encode(data).decode()
    return "\n".join(s[i:i + 60] for i in range(0, len(s), 60)) + ("\n" if s else "")


def content_entry(fg, r: Repo, path: str, e, ref: str, *, content: bytes | None = None) -> dict:
    api, html = _api(fg), fg.html_url
    b = f"{api}/repos/{r.full_name}"
    qp = quote(path)
    typ = {"blob": "file", "tree": "dir", "commit": "submodule"}.get(e.type, "file")
    if e.type == "blob" and e.mode == "120000":
        typ = "symlink"
    git_url = f"{b}/git/{'trees' if e.type == 'tree' else 'blobs'}/{e.sha}"
    d = {
        "type": typ, "size": e.size or 0, "name": path.rsplit("/", 1)[-1], "path": path, "sha": e.sha,
        "url": f"{b}/contents/{qp}?ref={quote(ref)}", "git_url": git_url,
        "html_url": f"{html}/{r.full_name}/{'tree' if typ == 'dir' else 'blob'}/{ref}/{qp}",
        "download_url": f"{html}/{r.full_name}/raw/{ref}/{qp}" if typ == "file" else None,
        "_links": {"self": f"{b}/contents/{qp}?ref={quote(ref)}", "git": git_url,
                   "html": f"{html}/{r.full_name}/blob/{ref}/{qp}"},
    }
    if content is not None:
        d["content"] = b64(content)
        d["encoding"] = "base64"
    return d


def team(fg, t: Team) -> dict:
    api, html = _api(fg), fg.html_url
    b = f"{api}/orgs/{t.org}/teams/{t.slug}"
    org_u = fg.user_obj(t.org)
    return {
        "id": t.id, "node_id": node_id("Team", t.id), "url": b, "html_url": f"{html}/orgs/{t.org}/teams/{t.slug}",
        "name": t.name, "slug": t.slug, "description": t.description, "privacy": t.privacy,
        "notification_setting": "notifications_enabled", "permission": t.permission,
        "members_url": f"{b}/members{{/member}}", "repositories_url": f"{b}/repos", "type": "organization",
        "organization_id": org_u.id,
        "parent": team_simple(fg, fg.teams[(t.org, t.parent)]) if t.parent and (t.org, t.parent) in fg.teams else None,
    }


def team_simple(fg, t: Team) -> dict:
    d = team(fg, t)
    d.pop("parent", None)
    return d


def team_full(fg, t: Team) -> dict:
    d = team(fg, t)
    u = fg.user_obj(t.org)
    org_d = org(fg, t.org)
    org_d.update({
        "name": t.org, "company": "", "blog": "", "location": "", "email": f"{t.org}@users.noreply.github.com",
        "is_verified": False, "has_organization_projects": True, "has_repository_projects": True,
        "public_repos": 0, "public_gists": 0, "followers": 0, "following": 0,
        "html_url": f"{fg.html_url}/{t.org}", "created_at": "2020-01-01T00:00:00Z", "updated_at": "2020-01-01T00:00:00Z",
        "type": "Organization", "id": u.id,
    })
    d.update({"members_count": len(t.members), "repos_count": len(t.repos), "created_at": t.created_at,
              "updated_at": t.updated_at, "organization": fg.rest_fill("team-organization", org_d)})
    return d


def status(fg, r: Repo, s: Status) -> dict:
    return {
        "url": f"{_api(fg)}/repos/{r.full_name}/statuses/{s.sha}", "avatar_url": None, "id": s.id,
        "node_id": node_id("StatusContext", s.id), "state": s.state, "description": s.description,
        "target_url": s.target_url, "context": s.context, "created_at": s.created_at, "updated_at": s.updated_at,
        "creator": user(fg, s.creator),
    }


def deployment(fg, r: Repo, dp: Deployment) -> dict:
    b = f"{_api(fg)}/repos/{r.full_name}/deployments/{dp.id}"
    return {
        "url": b, "id": dp.id, "node_id": node_id("Deployment", dp.id), "sha": dp.sha, "ref": dp.ref,
        "task": dp.task, "payload": dp.payload, "original_environment": dp.environment,
        "environment": dp.environment, "description": dp.description, "creator": user(fg, dp.creator),
        "created_at": dp.created_at, "updated_at": dp.updated_at, "statuses_url": f"{b}/statuses",
        "repository_url": f"{_api(fg)}/repos/{r.full_name}", "transient_environment": dp.transient_environment,
        "production_environment": dp.production_environment,
        "performed_via_github_app": app(fg, fg.apps.get(dp.app_id)) if dp.app_id else None,
    }


def deployment_status(fg, r: Repo, dp: Deployment, s: DeploymentStatus) -> dict:
    b = f"{_api(fg)}/repos/{r.full_name}/deployments/{dp.id}"
    return {
        "url": f"{b}/statuses/{s.id}", "id": s.id, "node_id": node_id("DeploymentStatus", s.id), "state": s.state,
        "creator": user(fg, s.creator), "description": s.description, "environment": s.environment or dp.environment,
        "target_url": s.target_url, "created_at": s.created_at, "updated_at": s.updated_at, "deployment_url": b,
        "repository_url": f"{_api(fg)}/repos/{r.full_name}", "environment_url": s.environment_url,
        "log_url": s.log_url, "performed_via_github_app": None,
    }


def git_ref(fg, r: Repo, ref: str, sha: str) -> dict:
    b = f"{_api(fg)}/repos/{r.full_name}"
    typ = r.git.object_type(sha) or "commit"
    return {
        "ref": ref, "node_id": node_id("Ref", abs(hash(ref)) % 10**9), "url": f"{b}/git/{ref}",
        "object": {"type": typ, "sha": sha, "url": f"{b}/git/{'commits' if typ == 'commit' else typ + 's'}/{sha}"},
    }


def stamp() -> str:
    return now_iso()


def jsonable(x: Any) -> Any:
    return x
