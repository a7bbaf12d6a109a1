"""The fake GitHub behaves like GitHub for a GitHub App (driven through gidgethub and raw HTTP)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time

import aiohttp
import jwt
import pytest
from aiohttp import web
from gidgethub import BadRequest, GitHubBroken, RateLimitExceeded, apps
from gidgethub.aiohttp import GitHubAPI

from bot.fakegithub import FakeGitHub, app_jwt, generate_rsa_keypair, validate_webhook_payload

REPO = "acme/shop"
APP_ID = 4242
SECRET = "it's a secret to everybody"


class Receiver:
    """A webhook endpoint standing in for the App: records (headers, raw body)."""

    def __init__(self):
        self.received: list[tuple[dict, bytes]] = []
        self.status = 200
        self._runner = None
        self.url = None

    async def start(self):
        app = web.Application()

        async def hook(request):
            self.received.append((dict(request.headers), await request.read()))
            return web.Response(status=self.status, text="ok")

        app.router.add_post("/webhook", hook)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}/webhook"
        return self

    async def stop(self):
        await self._runner.cleanup()

    def events(self):
        return [(h["X-GitHub-Event"], json.loads(b).get("action")) for h, b in self.received]


@pytest.fixture
def keys():
    return generate_rsa_keypair()


@pytest.fixture
def source(tmp_path):
    src = tmp_path / "shop"
    (src / "supabase" / "migrations").mkdir(parents=True)
    (src / "supabase" / "migrations" / "20240101000000_init.sql").write_text("create table users (id bigint);\n")
    (src / "packages" / "database-client" / "src").mkdir(parents=True)
    (src / "packages" / "database-client" / "src" / "index.ts").write_text("export const x = 1;\n")
    (src / "README.md").write_text("# shop\n")
    (src / ".gitignore").write_text("node_modules/\n")
    (src / "node_modules").mkdir()
    (src / "node_modules" / "junk.js").write_text("ignored\n")
    return src


@pytest.fixture
async def receiver():
    r = await Receiver().start()
    yield r
    await r.stop()


@pytest.fixture
async def fake(keys, source, receiver):
    async with FakeGitHub(webhook_url=receiver.url, webhook_secret=SECRET) as fg:
        fg.register_app(APP_ID, keys[1], "dlcm")
        fg.create_repo(REPO, source)
        yield fg


@pytest.fixture
async def session():
    async with aiohttp.ClientSession() as s:
        yield s


@pytest.fixture
async def gh(fake, session, keys):
    """gidgethub authenticated as the App's installation (through the real JWT exchange)."""
    app_gh = GitHubAPI(session, "dlcm-tests", base_url=fake.url)
    token = await apps.get_installation_access_token(
        app_gh, installation_id=str(fake.installation_id(REPO)), app_id=str(APP_ID), private_key=keys[0])
    return GitHubAPI(session, "dlcm-tests", oauth_token=token["token"], base_url=fake.url)


# ----------------------------------------------------------------------------- auth


async def test_token_exchange_with_real_jwt(fake, session, keys):
    app_gh = GitHubAPI(session, "dlcm-tests", base_url=fake.url)
    inst = fake.installation_id(REPO)
    token = await apps.get_installation_access_token(app_gh, installation_id=str(inst), app_id=str(APP_ID),
                                                     private_key=keys[0])
    assert token["token"].startswith("ghs_") and token["expires_at"].endswith("Z")
    assert token["permissions"]["checks"] == "write"

    # the JWT also reads the App and the repository's installation
    j = app_jwt(APP_ID, keys[0])
    me = await app_gh.getitem("/app", jwt=j)
    assert me["id"] == APP_ID and me["slug"] == "dlcm"
    found = await app_gh.getitem(f"/repos/{REPO}/installation", jwt=j)
    assert found["id"] == inst and found["account"]["login"] == "acme"

    # the installation token works on repository endpoints and is recorded with each call
    gh = GitHubAPI(session, "dlcm-tests", oauth_token=token["token"], base_url=fake.url)
    repo = await gh.getitem(f"/repos/{REPO}")
    assert repo["full_name"] == REPO and repo["default_branch"] == "main"
    call = fake.calls_to("GET", "/repos/{owner}/{repo}")[-1]
    assert call.token == token["token"] and call.installation_id == inst and call.actor == "dlcm[bot]"
    fake.assert_no_violations()


async def test_bad_jwts_are_rejected(fake, session, keys):
    inst = fake.installation_id(REPO)
    url = f"{fake.url}/app/installations/{inst}/access_tokens"
    other_private, _ = generate_rsa_keypair(slot=1)
    now = int(time.time())
    bad = {
        "signed with another key": app_jwt(APP_ID, other_private),
        "exp - iat > 600": jwt.encode({"iat": now - 60, "exp": now + 600, "iss": str(APP_ID)}, keys[0], "RS256"),
        "expired": jwt.encode({"iat": now - 700, "exp": now - 100, "iss": str(APP_ID)}, keys[0], "RS256"),
        "unknown issuer": app_jwt(999999, keys[0]),
        "HS256": jwt.encode({"iat": now, "exp": now + 60, "iss": str(APP_ID)}, "s" * 32, "HS256"),
        "garbage": "not.a.jwt",
    }
    for why, token in bad.items():
        async with session.post(url, headers={"Authorization": f"Bearer {token}",
                                              "Accept": "application/vnd.github+json"}) as resp:
            assert resp.status == 401, why
            assert "message" in await resp.json()
    # an installation token is not accepted where a JWT is required, and vice versa
    tok = fake.installation_token(inst)
    async with session.get(f"{fake.url}/app", headers={"Authorization": f"token {tok}"}) as resp:
        assert resp.status == 401
    async with session.get(f"{fake.url}/repos/{REPO}",
                           headers={"Authorization": f"Bearer {app_jwt(APP_ID, keys[0])}"}) as resp:
        assert resp.status == 401
    async with session.get(f"{fake.url}/repos/{REPO}") as resp:
        assert resp.status == 401
    fake.expire_tokens()
    async with session.get(f"{fake.url}/repos/{REPO}", headers={"Authorization": f"token {tok}"}) as resp:
        assert resp.status == 401 and (await resp.json())["message"] == "Bad credentials"
    fake.assert_no_violations()


async def test_explicit_permissions_are_enforced(session, source):
    async with FakeGitHub(send_webhooks=False) as fg:
        fg.register_app(7, None, "readonly", permissions={"metadata": "read", "contents": "read", "issues": "write"})
        fg.create_repo(REPO, source)
        gh = GitHubAPI(session, "t", oauth_token=fg.installation_token(fg.installation_id(REPO)), base_url=fg.url)
        await gh.post(f"/repos/{REPO}/issues", data={"title": "ok"})
        with pytest.raises(BadRequest) as err:
            await gh.post(f"/repos/{REPO}/check-runs", data={"name": "x", "head_sha": fg.branch_sha(REPO, "main")})
        assert err.value.status_code == 403
        assert fg.calls[-1].status == 403
        fg.assert_no_violations()


# ----------------------------------------------------------------------------- git data


async def test_trees_and_blobs_of_a_pushed_branch(fake, gh):
    assert "node_modules/junk.js" not in fake.ls(REPO)  # .gitignore honoured by create_repo
    sha = await fake.push(REPO, "feature/add-name", {
        "supabase/migrations/20240102000000_add_name.sql": "alter table users add column name text;\n",
        "README.md": None,
    }, message="Add name")
    assert fake.branch_sha(REPO, "feature/add-name") == sha

    ref = await gh.getitem(f"/repos/{REPO}/git/ref/heads/feature/add-name")
    assert ref["object"]["sha"] == sha
    commit = await gh.getitem(f"/repos/{REPO}/git/commits/{sha}")
    assert commit["message"] == "Add name" and len(commit["parents"]) == 1
    tree = await gh.getitem(f"/repos/{REPO}/git/trees/{commit['tree']['sha']}?recursive=1")
    paths = {e["path"]: e for e in tree["tree"]}
    assert "README.md" not in paths and paths["supabase"]["type"] == "tree"
    entry = paths["supabase/migrations/20240102000000_add_name.sql"]
    assert entry["type"] == "blob" and entry["size"] == len("alter table users add column name text;\n")
    blob = await gh.getitem(entry["url"])
    assert blob["encoding"] == "base64"
    assert base64.b64decode(blob["content"]).decode() == "alter table users add column name text;\n"

    # the same through contents/ (branch name with a slash, path with slashes)
    f = await gh.getitem(f"/repos/{REPO}/contents/{{+path}}{{?ref}}",
                         {"path": "supabase/migrations/20240101000000_init.sql", "ref": "feature/add-name"})
    assert base64.b64decode(f["content"]) == b"create table users (id bigint);\n"
    d = await gh.getitem(f"/repos/{REPO}/contents/supabase/migrations?ref=feature/add-name")
    assert sorted(x["name"] for x in d) == ["20240101000000_init.sql", "20240102000000_add_name.sql"]

    cmp = await gh.getitem(f"/repos/{REPO}/compare/main...feature/add-name")
    assert cmp["status"] == "ahead" and cmp["ahead_by"] == 1
    assert {f["filename"]: f["status"] for f in cmp["files"]} == {
        "README.md": "removed", "supabase/migrations/20240102000000_add_name.sql": "added"}
    fake.assert_no_violations()


async def test_git_data_api_commit_and_fast_forward_only(fake, gh, receiver):
    base = fake.branch_sha(REPO, "main")
    await gh.post(f"/repos/{REPO}/git/refs", data={"ref": "refs/heads/scaffold", "sha": base})
    pr = await fake.open_pull_request(REPO, "scaffold", title="Scaffold", files={"x.txt": "x\n"})
    head = pr.head_sha
    blob = await gh.post(f"/repos/{REPO}/git/blobs", data={"content": "export {}\n", "encoding": "utf-8"})
    tree = await gh.post(f"/repos/{REPO}/git/trees", data={
        "base_tree": head, "tree": [{"path": "packages/new/index.ts", "mode": "100644", "type": "blob",
                                     "sha": blob["sha"]}]})
    commit = await gh.post(f"/repos/{REPO}/git/commits", data={"message": "scaffold", "tree": tree["sha"],
                                                               "parents": [head]})
    await gh.patch(f"/repos/{REPO}/git/refs/heads/scaffold", data={"sha": commit["sha"]})
    assert fake.file(REPO, "packages/new/index.ts", "scaffold") == "export {}\n"
    assert fake.pull_request(REPO, pr.number).head_sha == commit["sha"]
    # a non-fast-forward update is refused without force
    with pytest.raises(BadRequest) as err:
        await gh.patch(f"/repos/{REPO}/git/refs/heads/scaffold", data={"sha": base})
    assert err.value.status_code == 422
    with pytest.raises(BadRequest):
        await gh.post(f"/repos/{REPO}/git/refs", data={"ref": "refs/heads/scaffold", "sha": base})
    await fake.wait_idle()
    assert ("pull_request", "synchronize") in receiver.events()
    fake.assert_no_violations()


# ----------------------------------------------------------------------------- checks


async def test_check_run_with_annotations_read_back(fake, gh):
    sha = await fake.push(REPO, "feature", {"supabase/migrations/20240102000000_a.sql": "alter table users add x int;\n"})
    pr = await fake.open_pull_request(REPO, "feature", title="A")
    run = await gh.post(f"/repos/{REPO}/check-runs", data={
        "name": "dlcm/completeness", "head_sha": sha, "status": "in_progress", "external_id": "DLCM-1"})
    assert run["status"] == "in_progress" and run["conclusion"] is None
    assert run["pull_requests"][0]["number"] == pr.number
    annotations = [{"path": "supabase/migrations/20240102000000_a.sql", "start_line": n, "end_line": n,
                    "annotation_level": "failure", "message": f"problem {n}", "title": "DLCM101"} for n in (1, 2, 3)]
    await gh.patch(f"/repos/{REPO}/check-runs/{run['id']}", data={
        "conclusion": "failure", "output": {"title": "3 problems", "summary": "fix them", "annotations": annotations}})

    got = await gh.getitem(f"/repos/{REPO}/check-runs/{run['id']}")
    assert got["status"] == "completed" and got["conclusion"] == "failure" and got["completed_at"]
    assert got["output"]["annotations_count"] == 3
    listed = [a async for a in gh.getiter(f"/repos/{REPO}/check-runs/{run['id']}/annotations")]
    assert [a["start_line"] for a in listed] == [1, 2, 3] and listed[0]["blob_href"].endswith(".sql")
    for_ref = await gh.getitem(f"/repos/{REPO}/commits/feature/check-runs?check_name=dlcm/completeness")
    assert for_ref["total_count"] == 1 and for_ref["check_runs"][0]["id"] == run["id"]

    (only,) = fake.check_runs(REPO, sha)
    assert (only.name, only.status, only.conclusion, only.title) == ("dlcm/completeness", "completed", "failure",
                                                                     "3 problems")
    assert [(a.path, a.start_line, a.annotation_level) for a in only.annotations] == [
        ("supabase/migrations/20240102000000_a.sql", n, "failure") for n in (1, 2, 3)]
    assert fake.check_suites(REPO, sha)[0].conclusion == "failure"
    fake.set_branch_protection(REPO, "main", ["dlcm/completeness"])
    assert fake.merge_blocked_reasons(REPO, pr.number) == ["dlcm/completeness: completed/failure"]
    assert len(fake.calls_to("PATCH", "/repos/{owner}/{repo}/check-runs/{check_run_id}")) == 1
    fake.assert_no_violations()


async def test_invalid_requests_are_violations(fake, gh, session):
    sha = fake.branch_sha(REPO, "main")
    with pytest.raises(BadRequest) as err:  # 'conclusion' not in the enum
        await gh.post(f"/repos/{REPO}/check-runs", data={"name": "x", "head_sha": sha, "conclusion": "passed"})
    assert err.value.status_code == 422 and "conclusion" in str(err.value)
    with pytest.raises(BadRequest):  # 51 annotations in one request
        await gh.post(f"/repos/{REPO}/check-runs", data={"name": "x", "head_sha": sha, "output": {
            "title": "t", "summary": "s", "annotations": [
                {"path": "a", "start_line": 1, "end_line": 1, "annotation_level": "notice", "message": "m"}] * 51}})
    with pytest.raises(BadRequest) as err:  # a comment body over 65536 characters
        await gh.post(f"/repos/{REPO}/issues", data={"title": "t"})
        await gh.post(f"/repos/{REPO}/issues/1/comments", data={"body": "x" * 70000})
    async with session.get(f"{fake.url}/repos/{REPO}/no-such-thing",
                           headers={"Authorization": f"token {gh.oauth_token}"}) as resp:
        assert resp.status == 404
    kinds = [v.kind for v in fake.violations]
    assert kinds == ["request", "request", "limit", "unknown_path"], fake.violations
    assert fake.calls_to("POST", "/repos/{owner}/{repo}/check-runs")[0].status == 422
    with pytest.raises(AssertionError, match="4 GitHub API violation"):
        fake.assert_no_violations()
    fake.violations.clear()


# ----------------------------------------------------------------------------- faults


def _hdrs(token):
    return {"Authorization": f"token {token}", "Accept": "application/vnd.github+json"}


async def test_fault_injection_kinds(fake, session):
    tok = fake.installation_token(fake.installation_id(REPO))
    url = f"{fake.url}/repos/{REPO}/issues"
    get = lambda: session.get(url, headers=_hdrs(tok))  # noqa: E731

    fake.inject("GET", "/repos/{owner}/{repo}/issues", "500")
    async with get() as r:
        assert r.status == 500
    async with get() as r:  # times=1 by default
        assert r.status == 200

    fake.inject("GET", "/repos/{owner}/{repo}/issues", "502", times=2)
    for _ in range(2):
        async with get() as r:
            assert r.status == 502 and r.content_type == "text/html"
    fake.inject("*", "/repos/acme/shop/issues", "401")
    async with get() as r:
        assert r.status == 401 and (await r.json())["message"] == "Bad credentials"

    fake.inject("GET", "/repos/{owner}/{repo}/issues", "secondary_rate_limit")
    async with get() as r:
        assert r.status == 403 and r.headers["Retry-After"] == "1"
        assert int(r.headers["x-ratelimit-remaining"]) > 0
        assert "secondary rate limit" in (await r.json())["message"]

    fake.inject("GET", "/repos/{owner}/{repo}/issues", "primary_rate_limit", reset_in=1)
    async with get() as r:
        assert r.status == 403 and r.headers["x-ratelimit-remaining"] == "0"
        reset = int(r.headers["x-ratelimit-reset"])
        assert reset >= time.time()
    async with session.get(f"{fake.url}/repos/{REPO}", headers=_hdrs(tok)) as r:
        assert r.status == 403  # the whole installation is limited until the reset
    await asyncio.sleep(max(0.0, reset - time.time()) + 0.05)
    async with get() as r:
        assert r.status == 200 and int(r.headers["x-ratelimit-remaining"]) > 0

    fake.inject("GET", "/repos/{owner}/{repo}/issues", "primary_rate_limit", status=429, reset_in=0.2)
    async with get() as r:
        assert r.status == 429
    await asyncio.sleep(0.25)

    fake.inject("GET", "/repos/{owner}/{repo}/issues", "slow", delay=0.3)
    t0 = time.monotonic()
    async with get() as r:
        assert r.status == 200
    assert time.monotonic() - t0 >= 0.3

    # aiohttp's client retries an idempotent request once when a kept-alive connection drops
    fake.inject("GET", "/repos/{owner}/{repo}/issues", "drop", times=2)
    with pytest.raises(aiohttp.ClientError):
        async with get() as r:
            await r.read()
    async with get() as r:
        assert r.status == 200
    assert [c.fault for c in fake.calls_to("GET", url.replace(fake.url, "")) if c.fault] == [
        "500", "502", "502", "401", "secondary_rate_limit", "primary_rate_limit", "primary_rate_limit", "slow", "drop", "drop"]
    fake.assert_no_violations()


async def test_faults_surface_through_gidgethub(fake, gh):
    fake.inject("POST", "/repos/{owner}/{repo}/check-runs", "502")
    with pytest.raises(GitHubBroken):
        await gh.post(f"/repos/{REPO}/check-runs", data={"name": "x", "head_sha": fake.branch_sha(REPO, "main")})
    fake.inject("GET", "/repos/{owner}/{repo}", "primary_rate_limit", reset_in=1)
    with pytest.raises(RateLimitExceeded) as err:
        await gh.getitem(f"/repos/{REPO}")
    assert err.value.rate_limit.remaining == 0 and err.value.rate_limit.reset_datetime.timestamp() > time.time()


# ----------------------------------------------------------------------------- webhooks


def _verify(headers, body, secret=SECRET):
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["X-Hub-Signature-256"], expected)


async def test_webhooks_are_signed_and_reference_the_fakes_repo(fake, receiver):
    sha = await fake.push(REPO, "feature", {"a.sql": "select 1;\n"}, sender="alice")
    pr = await fake.open_pull_request(REPO, "feature", title="Add a", body="Implements DLCM-1", user="alice")
    sha2 = await fake.push(REPO, "feature", {"b.sql": "select 2;\n"}, sender="alice")
    issue = await fake.create_issue(REPO, "Add column users.name", "### Change type\n\nadd-field", user="bob",
                                    labels=["data-layer-change"])
    await fake.edit_issue(REPO, issue.number, body="### Change type\n\nnew-table")
    await fake.create_comment(REPO, issue.number, "/dlcm status", user="bob")
    assert receiver.events() == [
        ("push", None), ("check_suite", "requested"), ("pull_request", "opened"),
        ("push", None), ("check_suite", "requested"), ("pull_request", "synchronize"),
        ("issues", "opened"), ("issues", "labeled"), ("issues", "edited"), ("issue_comment", "created")]
    repo = fake.repo(REPO)
    inst = fake.installation_id(REPO)
    for headers, body in receiver.received:
        _verify(headers, body)
        assert headers["User-Agent"].startswith("GitHub-Hookshot/")
        assert len(headers["X-GitHub-Delivery"]) == 36 and headers["X-GitHub-Hook-ID"].isdigit()
        payload = json.loads(body)
        assert payload["repository"]["full_name"] == REPO and payload["repository"]["id"] == repo.id
        assert payload["repository"]["owner"]["login"] == "acme" and payload["organization"]["login"] == "acme"
        assert payload["installation"]["id"] == inst
        assert payload["repository"]["url"] == f"{fake.url}/repos/{REPO}"
        event = headers["X-GitHub-Event"]
        assert validate_webhook_payload(event, payload.get("action"), payload) == [], event
    opened = json.loads(receiver.received[2][1])
    assert opened["number"] == pr.number and opened["pull_request"]["head"]["sha"] == sha
    assert opened["pull_request"]["head"]["ref"] == "feature" and opened["pull_request"]["body"] == "Implements DLCM-1"
    assert opened["sender"]["login"] == "alice" and opened["pull_request"]["user"]["login"] == "alice"
    sync = json.loads(receiver.received[5][1])
    assert (sync["before"], sync["after"], sync["pull_request"]["head"]["sha"]) == (sha, sha2, sha2)
    edited = json.loads(receiver.received[8][1])
    assert edited["issue"]["number"] == issue.number and edited["issue"]["body"].endswith("new-table")
    assert edited["changes"]["body"]["from"].endswith("add-field")
    assert [lb["name"] for lb in edited["issue"]["labels"]] == ["data-layer-change"]
    comment = json.loads(receiver.received[9][1])
    assert comment["comment"]["body"] == "/dlcm status" and comment["comment"]["user"]["login"] == "bob"
    assert "pull_request" not in comment["issue"]
    # URLs in payloads point back at the fake: an App can follow them
    assert comment["issue"]["comments_url"] == f"{fake.url}/repos/{REPO}/issues/{issue.number}/comments"
    assert all(d.ok for d in fake.deliveries)
    fake.assert_no_violations()


async def test_api_actions_of_the_app_trigger_webhooks(fake, gh, receiver):
    issue = await fake.create_issue(REPO, "t", "b")
    receiver.received.clear()
    await gh.post(f"/repos/{REPO}/issues/{issue.number}/comments", data={"body": "<!-- dlcm:validation -->\nok"})
    await gh.post(f"/repos/{REPO}/issues/{issue.number}/labels", data={"labels": ["dlcm:needs-info"]})
    await fake.wait_idle()
    assert receiver.events() == [("issue_comment", "created"), ("issues", "labeled")]
    payload = json.loads(receiver.received[0][1])
    assert payload["sender"]["login"] == "dlcm[bot]" and payload["sender"]["type"] == "Bot"
    assert payload["comment"]["performed_via_github_app"]["id"] == APP_ID
    (c,) = fake.comments(REPO, issue.number)
    assert c.user == "dlcm[bot]" and c.body.startswith("<!-- dlcm:validation -->")
    assert fake.labels(REPO, issue.number) == ["dlcm:needs-info"]


async def test_deliver_custom_and_switch_off(fake, receiver):
    d = await fake.deliver("issue_comment", "created", {"comment": {"body": "/dlcm approve"}})
    assert d.ok and json.loads(receiver.received[-1][1])["comment"]["body"] == "/dlcm approve"
    assert json.loads(receiver.received[-1][1])["repository"]["full_name"] == REPO
    fake.send_webhooks = False
    n = len(receiver.received)
    await fake.create_issue(REPO, "quiet", "")
    assert len(receiver.received) == n and fake.deliveries[-1].sent is False
    receiver.status = 500
    fake.send_webhooks = True
    d = await fake.deliver("ping")
    assert d.status == 500 and not d.ok


# ----------------------------------------------------------------------------- pagination, tour


async def test_pagination_link_headers(fake, gh, session):
    for n in range(7):
        await fake.create_issue(REPO, f"issue {n}", "", webhook=False)
    async with session.get(f"{fake.url}/repos/{REPO}/issues?per_page=3&page=2",
                           headers=_hdrs(gh.oauth_token)) as r:
        link = r.headers["Link"]
        assert 'rel="next"' in link and 'rel="prev"' in link and 'rel="last"' in link and "page=3" in link
        assert len(await r.json()) == 3
        assert r.headers["x-github-request-id"] and r.headers["x-ratelimit-resource"] == "core"
    titles = [i["title"] async for i in gh.getiter(f"/repos/{REPO}/issues?per_page=2")]
    assert len(titles) == 7 and titles[0] == "issue 6"
    fake.assert_no_violations()


async def test_tour_of_endpoints_answers_valid_responses(fake, gh, keys):
    """Every implemented endpoint once: the fake's own responses must match the description."""
    R = f"/repos/{REPO}"
    fake.add_team("acme", "db-team", members=["alice"], maintainers=["carol"], repos={REPO: "push"})
    fake.set_permission(REPO, "bob", "write")
    sha = await fake.push(REPO, "feature", {"supabase/migrations/20240102000000_x.sql": "select 1;\n"})
    pr = await fake.open_pull_request(REPO, "feature", title="X", body="DLCM-1")
    issue = await fake.create_issue(REPO, "Change", "body")
    j = app_jwt(APP_ID, keys[0])
    await gh.getitem("/app", jwt=j)
    await gh.getitem("/app/installations", jwt=j)
    await gh.getitem(f"/app/installations/{fake.installation_id(REPO)}", jwt=j)
    await gh.getitem("/installation/repositories")
    await gh.getitem("/rate_limit")
    await gh.getitem("/users/alice")
    await gh.getitem(R)
    await gh.patch(R, data={"description": "shop"})
    await gh.getitem(f"{R}/pulls")
    await gh.getitem(f"{R}/pulls?head=acme:feature&state=all")
    p = await gh.getitem(f"{R}/pulls/{pr.number}")
    assert p["mergeable"] is True and p["commits"] == 1 and p["changed_files"] == 1
    await gh.patch(f"{R}/pulls/{pr.number}", data={"body": "DLCM-1 updated"})
    await gh.getitem(f"{R}/pulls/{pr.number}/files")
    await gh.getitem(f"{R}/pulls/{pr.number}/commits")
    await gh.post(f"{R}/pulls/{pr.number}/reviews", data={"event": "COMMENT", "body": "lgtm"})
    await gh.getitem(f"{R}/pulls/{pr.number}/reviews")
    await gh.post(f"{R}/pulls/{pr.number}/requested_reviewers", data={"reviewers": ["bob"]})
    await gh.getitem(f"{R}/pulls/{pr.number}/requested_reviewers")
    await gh.getitem(f"{R}/issues?state=all&labels=a,b&sort=updated")
    await gh.getitem(f"{R}/issues/{issue.number}")
    await gh.patch(f"{R}/issues/{issue.number}", data={"title": "Changed", "labels": ["a", "b"],
                                                       "assignees": ["bob"]})
    await gh.post(f"{R}/issues/{issue.number}/assignees", data={"assignees": ["alice"]})
    await gh.delete(f"{R}/issues/{issue.number}/assignees", data={"assignees": ["alice"]})
    c = await gh.post(f"{R}/issues/{issue.number}/comments", data={"body": "hello"})
    await gh.getitem(f"{R}/issues/{issue.number}/comments")
    await gh.getitem(f"{R}/issues/comments/{c['id']}")
    await gh.patch(f"{R}/issues/comments/{c['id']}", data={"body": "hello again"})
    await gh.post(f"{R}/issues/comments/{c['id']}/reactions", data={"content": "eyes"})
    await gh.getitem(f"{R}/issues/comments/{c['id']}/reactions")
    await gh.post(f"{R}/issues/{issue.number}/reactions", data={"content": "+1"})
    await gh.getitem(f"{R}/issues/{issue.number}/reactions")
    await gh.getitem(f"{R}/issues/{issue.number}/labels")
    await gh.put(f"{R}/issues/{issue.number}/labels", data={"labels": ["c"]})
    await gh.delete(f"{R}/issues/{issue.number}/labels/c")
    await gh.delete(f"{R}/issues/{issue.number}/labels")
    await gh.getitem(f"{R}/issues/{issue.number}/timeline")
    await gh.put(f"{R}/issues/{issue.number}/lock", data={"lock_reason": "resolved"})
    await gh.delete(f"{R}/issues/{issue.number}/lock")
    await gh.delete(f"{R}/issues/comments/{c['id']}")
    await gh.post(f"{R}/labels", data={"name": "dlcm:risk-high", "color": "b60205", "description": "risky"})
    await gh.getitem(f"{R}/labels")
    await gh.getitem(f"{R}/labels/dlcm:risk-high")
    await gh.patch(f"{R}/labels/dlcm:risk-high", data={"color": "ff0000"})
    await gh.delete(f"{R}/labels/dlcm:risk-high")
    await gh.post(f"{R}/milestones", data={"title": "v1"})
    await gh.getitem(f"{R}/milestones")
    run = await gh.post(f"{R}/check-runs", data={"name": "dlcm/migration-safety", "head_sha": sha,
                                                "conclusion": "success", "output": {"title": "ok", "summary": "ok"},
                                                "actions": [{"label": "Fix", "identifier": "fix",
                                                             "description": "Fix it"}]})
    await gh.getitem(f"{R}/check-runs/{run['id']}")
    await gh.getitem(f"{R}/check-runs/{run['id']}/annotations")
    await gh.post(f"{R}/check-runs/{run['id']}/rerequest", data={})
    suite = (await gh.getitem(f"{R}/commits/{sha}/check-suites"))["check_suites"][0]
    await gh.getitem(f"{R}/check-suites/{suite['id']}")
    await gh.getitem(f"{R}/check-suites/{suite['id']}/check-runs")
    await gh.post(f"{R}/check-suites", data={"head_sha": sha})
    await gh.post(f"{R}/check-suites/{suite['id']}/rerequest", data={})
    await gh.post(f"{R}/statuses/{sha}", data={"state": "success", "context": "ci/test"})
    await gh.getitem(f"{R}/commits/{sha}/status")
    await gh.getitem(f"{R}/commits")
    await gh.getitem(f"{R}/commits/{sha}")
    await gh.getitem(f"{R}/contents/README.md")
    assert await gh.getitem(f"{R}/contents/README.md", accept="application/vnd.github.raw") == "# shop\n"
    diff = await gh.getitem(f"{R}/pulls/{pr.number}", accept="application/vnd.github.diff")
    assert diff.startswith("diff --git a/supabase/migrations/20240102000000_x.sql")
    await gh.post(f"{R}/releases", data={"tag_name": "v1.0.0", "target_commitish": "main"})
    await gh.getitem(f"{R}/releases")
    put = await gh.put(f"{R}/contents/docs/CHANGES.md", data={
        "message": "docs", "content": base64.b64encode(b"# changes\n").decode(), "branch": "feature"})
    await gh.put(f"{R}/contents/docs/CHANGES.md", data={
        "message": "docs 2", "content": base64.b64encode(b"# changes 2\n").decode(), "branch": "feature",
        "sha": put["content"]["sha"]})
    await gh.getitem(f"{R}/branches")
    await gh.getitem(f"{R}/branches/main")
    await gh.put(f"{R}/branches/main/protection", data={
        "required_status_checks": {"strict": True, "contexts": ["dlcm/completeness"]}, "enforce_admins": False,
        "required_pull_request_reviews": None, "restrictions": None})
    await gh.getitem(f"{R}/branches/main/protection")
    await gh.getitem(f"{R}/branches/main/protection/required_status_checks")
    await gh.patch(f"{R}/branches/main/protection/required_status_checks",
                   data={"contexts": ["dlcm/completeness", "dlcm/migration-safety"]})
    await gh.getitem(f"{R}/collaborators")
    await gh.getitem(f"{R}/collaborators/bob")
    perm = await gh.getitem(f"{R}/collaborators/alice/permission")
    assert perm["permission"] == "write"
    await gh.getitem(f"{R}/teams")
    await gh.getitem("/orgs/acme/teams")
    await gh.getitem("/orgs/acme/teams/db-team")
    members = await gh.getitem("/orgs/acme/teams/db-team/members")
    assert sorted(m["login"] for m in members) == ["alice", "carol"]
    await gh.getitem("/orgs/acme/teams/db-team/memberships/alice")
    dep = await gh.post(f"{R}/deployments", data={"ref": "main", "environment": "staging",
                                                 "required_contexts": [], "payload": {"change": "DLCM-1"}})
    await gh.post(f"{R}/deployments/{dep['id']}/statuses", data={"state": "success", "environment_url": "https://x"})
    await gh.getitem(f"{R}/deployments")
    await gh.getitem(f"{R}/deployments/{dep['id']}")
    await gh.getitem(f"{R}/deployments/{dep['id']}/statuses")
    await gh.post(f"{R}/dispatches", data={"event_type": "dlcm-rollback", "client_payload": {"id": "DLCM-1"}})
    await gh.getitem("/app/hook/deliveries", jwt=j)
    await gh.patch(f"{R}/pulls/{pr.number}", data={"state": "closed"})
    await fake.wait_idle()
    assert fake.violations == []
    assert {d.event for d in fake.deliveries} >= {"check_run", "deployment", "deployment_status", "issues"}
    assert all(d.ok for d in fake.deliveries), [d for d in fake.deliveries if not d.ok]
    for d in fake.deliveries:
        try:
            assert validate_webhook_payload(d.event, d.action, d.payload) == [], (d.event, d.action)
        except LookupError:
            pass


async def test_merge_pull_request(fake, receiver):
    await fake.push(REPO, "feature", {"m.sql": "select 1;\n"})
    pr = await fake.open_pull_request(REPO, "feature", title="M")
    sha = await fake.merge_pull_request(REPO, pr.number)
    assert fake.branch_sha(REPO, "main") == sha and fake.file(REPO, "m.sql") == "select 1;\n"
    assert fake.pull_request(REPO, pr.number).merged
    closed = [json.loads(b) for h, b in receiver.received if h["X-GitHub-Event"] == "pull_request"][-1]
    assert closed["action"] == "closed" and closed["pull_request"]["merged"] is True


async def test_error_responses_match_the_description(fake, gh):
    """Errors GitHub documents (404/409/422...) come back in the documented shape, not as violations."""
    R = f"/repos/{REPO}"
    sha = await fake.push(REPO, "feature", {"a.txt": "a\n"})
    pr = await fake.open_pull_request(REPO, "feature", title="A")
    run = await gh.post(f"{R}/check-runs", data={"name": "dlcm/completeness", "head_sha": sha,
                                                "conclusion": "failure", "output": {"title": "t", "summary": "s"}})
    await gh.post(f"{R}/labels", data={"name": "dup"})
    expected = [
        (gh.getitem(f"{R}/issues/999"), 404),
        (gh.getitem(f"{R}/contents/nope.txt"), 404),
        (gh.getitem(f"{R}/git/trees/{'0' * 40}"), 404),
        (gh.getitem("/repos/acme/nope"), 404),
        (gh.post(f"{R}/labels", data={"name": "dup"}), 422),
        (gh.post(f"{R}/git/refs", data={"ref": "refs/heads/feature", "sha": sha}), 422),
        (gh.post(f"{R}/pulls/{pr.number}/reviews", data={"event": "REQUEST_CHANGES"}), 422),
        (gh.post(f"{R}/pulls", data={"title": "again", "head": "feature", "base": "main"}), 422),
        (gh.post(f"{R}/deployments", data={"ref": "feature", "environment": "prod"}), 409),
        (gh.post(f"{R}/check-runs", data={"name": "x", "head_sha": "f" * 40}), 422),
        (gh.getitem(f"{R}/branches/nope/protection"), 404),
        (gh.put(f"{R}/contents/a.txt", data={"message": "m", "content": "eA==", "branch": "feature"}), 422),
    ]
    for coro, status in expected:
        with pytest.raises(BadRequest) as err:
            await coro
        assert err.value.status_code == status, (err.value, status)
    assert run["conclusion"] == "failure"
    fake.assert_no_violations()
