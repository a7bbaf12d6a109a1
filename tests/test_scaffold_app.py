"""``/dlcm scaffold`` in the App, against the fake GitHub (real git repositories, every request
checked against GitHub's OpenAPI description) with the real server and its real features.

On a pull request: one fast-forward commit onto the branch through the git data API, a reply
listing the files, the checks passing on the new head. On a change request: a branch
``dlcm/DLCM-<n>-<slug>`` and a draft pull request linked to the request. Only writers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.features import change_requests as cr_feature
from bot.features import checks as checks_feature
from bot.features import commands as commands_feature
from bot.features import scaffold as scaffold_feature
from bot.github import GitHubClient
from bot.metrics import Metrics
from bot.render import COMPLETENESS
from bot.server import start
from bot.store import Store

from .test_app_cr_support import AUTHOR, BACKEND, READONLY, REPO, CRWorld, Receiver, form_body
from .test_app_support import EXAMPLE, FAST_RETRIES
from .test_bot_support import APP_ID, SECRET, make_settings, public_key_pem

fakegithub = pytest.importorskip("bot.fakegithub")

FEATURES = [checks_feature, commands_feature, cr_feature, scaffold_feature]
ADD_FIELD = "/dlcm scaffold add-field users nickname text --nullable"


async def open_world(tmp_path: Path) -> CRWorld:
    receiver = await Receiver().start()
    fake = fakegithub.FakeGitHub()
    await fake.start()
    config = make_settings(tmp_path, github_api_url=fake.url)
    store, metrics = Store(config.db_path), Metrics()
    github = GitHubClient.from_settings(config, store=store, metrics=metrics, policy=FAST_RETRIES)
    server = await start(config, FEATURES, host="127.0.0.1", port=0, store=store, metrics=metrics, github=github,
                         queue_options={"poll_interval": 0.05, "backoff_base": 0.05, "backoff_cap": 0.5})
    fake.register_app(APP_ID, public_key_pem(), "dlcm", webhook_url=f"{server.url}/webhooks",
                      webhook_secret=SECRET)
    fake.create_repo(REPO, EXAMPLE)
    for user in (AUTHOR, BACKEND):
        fake.set_permission(REPO, user, "write")
    fake.set_permission(REPO, READONLY, "read")
    fake.add_team("shop", "backend", members=[BACKEND], repos={REPO: "push"})
    return CRWorld(fake, server, receiver, tmp_path)


@pytest.fixture
async def world(tmp_path):
    # checks.build reuses a cached Migration for a file of the same content under another name without
    # renaming its stem (reported); the App's reader cache is process-wide, so start each test cold.
    from bot.repo_reader import READER

    READER.clear()
    w = await open_world(tmp_path)
    try:
        yield w
    finally:
        await w.server.stop()
        w.store.close()
        await w.fake.stop()
        await w.receiver.stop()


def commit_of(w: CRWorld, sha: str) -> dict[str, Any]:
    r = w.fake.repo(REPO)
    return r.git.read_commit(sha)


async def open_pr(w: CRWorld):
    pr = await w.fake.open_pull_request(REPO, "nickname", title="Nicknames", user=AUTHOR,
                                        files={"docs/nickname.md": "Users get a nickname.\n"})
    await w.settle()
    return pr


async def test_scaffold_on_a_pull_request_commits_onto_its_branch(world):
    w = world
    pr = await open_pr(w)
    before = w.fake.branch_sha(REPO, "nickname")
    reply = await w.command(pr.number, ADD_FIELD, BACKEND)
    after = w.fake.branch_sha(REPO, "nickname")
    assert after != before
    commit = commit_of(w, after)
    assert commit.parents == [before]  # on top of the head: a fast-forward
    assert "dlcm scaffold add-field: add public.users.nickname text" in commit.message
    assert "Dlcm-Scaffold: " in commit.message
    # only the git data API, and never a forced ref update
    for method, path in (("POST", "/repos/{owner}/{repo}/git/blobs"), ("POST", "/repos/{owner}/{repo}/git/trees"),
                         ("POST", "/repos/{owner}/{repo}/git/commits"), ("PATCH", "/repos/{owner}/{repo}/git/refs/{ref}")):
        assert w.fake.calls_to(method, path), (method, path)
    for call in w.fake.calls_to("PATCH", "/repos/{owner}/{repo}/git/refs/{ref}"):
        assert (call.json or {}).get("force") in (False, None)
    # the files are there, as the planner made them
    migration = [p for p in w.fake.ls(REPO, "nickname") if p.startswith("supabase/migrations/") and "nickname" in p]
    assert len(migration) == 1
    assert "add column nickname text;" in w.fake.file(REPO, migration[0], "nickname")
    test = "apps/database-service/src/__tests__/users-nickname.test.ts"
    assert "describe('users.nickname'" in w.fake.file(REPO, test, "nickname")
    # the reply lists them; the checks ran again on the new head and pass
    assert f"to `nickname`" in reply and after[:7] in reply
    assert f"`{migration[0]}`" in reply and f"`{test}`" in reply
    assert "`apps/database-service/src/database.types.ts`" in reply
    runs = w.fake.check_runs(REPO, after, name=COMPLETENESS)
    assert runs and runs[-1].conclusion == "success", [r.output for r in runs]
    assert [r.content for r in w.fake.reactions(REPO, comment_id=w.fake.comments(REPO, pr.number)[0].id)] == ["+1"]
    w.assert_healthy()


async def test_a_retried_delivery_does_not_commit_twice(world):
    w = world
    pr = await open_pr(w)
    comment = await w.fake.create_comment(REPO, pr.number, ADD_FIELD, user=BACKEND)
    await w.settle()
    head = w.fake.branch_sha(REPO, "nickname")
    commits = len(w.fake.calls_to("POST", "/repos/{owner}/{repo}/git/commits"))
    await w.fake.deliver("issue_comment", "created", repo=REPO, issue=pr.number, comment=comment.id, sender=BACKEND)
    await w.settle()
    assert w.fake.branch_sha(REPO, "nickname") == head
    assert len(w.fake.calls_to("POST", "/repos/{owner}/{repo}/git/commits")) == commits
    [reply] = [c for c in w.fake.comments(REPO, pr.number) if f"<!-- dlcm:reply-{comment.id} -->" in c.body]
    assert f"Committed [`{head[:7]}`]" in reply.body and "users-nickname.test.ts" in reply.body
    w.assert_healthy()


async def test_readers_are_refused_and_bad_arguments_explained(world):
    w = world
    pr = await open_pr(w)
    head = w.fake.branch_sha(REPO, "nickname")
    reply = await w.command(pr.number, ADD_FIELD, READONLY)
    assert "Sorry @bob" in reply and "write access" in reply
    reply = await w.command(pr.number, "/dlcm scaffold add-field users nickname txt", BACKEND)
    assert "unknown type `txt`" in reply
    reply = await w.command(pr.number, "/dlcm scaffold add-field users", BACKEND)
    assert "Missing argument" in reply
    reply = await w.command(pr.number, "/dlcm scaffold rename users x", BACKEND)
    assert "is not a change type dlcm scaffolds" in reply
    assert w.fake.branch_sha(REPO, "nickname") == head
    assert not w.fake.calls_to("POST", "/repos/{owner}/{repo}/git/commits")
    w.assert_healthy()


async def test_dry_run_answers_with_the_diff(world):
    w = world
    pr = await open_pr(w)
    head = w.fake.branch_sha(REPO, "nickname")
    reply = await w.command(pr.number, "/dlcm scaffold api-endpoint GET /products/by-sku/:sku --dry-run", BACKEND)
    assert "```diff" in reply and "+  findBySku: (sku: string) => Promise<Product | null>" in reply
    assert "nothing committed" in reply
    assert w.fake.branch_sha(REPO, "nickname") == head
    w.assert_healthy()


async def test_scaffold_on_a_change_request_opens_a_linked_draft_pull_request(world):
    w = world
    issue = await w.open_request(form_body(summary="Nickname on users", columns="nickname text null"))
    rec = w.cr(issue.number)
    assert rec.id == "DLCM-1"
    reply = await w.command(issue.number, "/dlcm scaffold", BACKEND)  # everything from the request
    branch = "dlcm/DLCM-1-add-nickname-to-users"
    sha = w.fake.branch_sha(REPO, branch)
    assert sha is not None, reply
    assert commit_of(w, sha).parents == [w.fake.branch_sha(REPO, "main")]
    pulls = [p for p in w.fake.repo(REPO).pulls.values() if p.head_ref == branch]
    assert len(pulls) == 1
    pr = pulls[0]
    assert pr.draft and pr.base_ref == "main"
    assert pr.title == "[DLCM-1] Nickname on users"
    assert "DLCM-1" in pr.body and f"#{issue.number}" in pr.body
    assert f"Opened draft pull request #{pr.number} from `{branch}`" in reply
    assert "supabase/rollbacks/" in reply
    await w.settle()
    assert pr.number in {p.number for p in w.cr(issue.number).state.prs}  # linked to the request
    runs = w.fake.check_runs(REPO, sha, name=COMPLETENESS)
    assert runs and runs[-1].conclusion == "success", [(w.fake.ls(REPO, sha), r.output) for r in runs]
    # the same command again: the branch and its pull request are reused, nothing is scaffolded twice
    again = await w.command(issue.number, "/dlcm scaffold add-field users nickname text --nullable", BACKEND)
    assert "already exists" in again
    assert len([p for p in w.fake.repo(REPO).pulls.values() if p.head_ref == branch]) == 1
    w.assert_healthy()


async def test_scaffold_on_an_issue_that_is_not_a_change_request(world):
    w = world
    issue = await w.fake.create_issue(REPO, "Question", "Can we have nicknames?", user=AUTHOR)
    await w.settle()
    reply = await w.command(issue.number, ADD_FIELD, BACKEND)
    assert "is not a data-layer change request" in reply
    assert not w.fake.calls_to("POST", "/repos/{owner}/{repo}/git/refs")
    w.assert_healthy()


def test_arguments_are_parsed_like_the_cli():
    from checks.scaffold import AddField, ApiEndpoint, NewTable

    assert scaffold_feature.parse_args(["add-field", "users", "nick", "text", "--nullable"]) == (
        "add-field", AddField("users", "nick", "text", nullable=True), False)
    assert scaffold_feature.parse_args(["new-table", "coupons", "code text not null", "--no-owner", "--dry-run"]) == (
        "new-table", NewTable("coupons", "code text not null", owner=False), True)
    assert scaffold_feature.parse_args(["api-endpoint", "GET", "/a/:id", "--table", "a"]) == (
        "api-endpoint", ApiEndpoint("GET", "/a/:id", table="a"), False)
    with pytest.raises(scaffold_feature.Refusal, match="unexpected extra argument"):
        scaffold_feature.parse_args(["add-field", "users", "nick", "text", "/etc"])
    assert scaffold_feature.words_from_request({
        "change_type": "new-table", "tables": [{"name": "coupons"}],
        "columns": [{"name": "code", "type": "text", "nullable": False, "unique": True},
                    {"name": "user_id", "type": "uuid", "references": "public.users.id"}]}) == [
        "new-table", "coupons", "code text not null unique, user_id uuid references public.users (id)"]
    assert scaffold_feature.slug("api-endpoint", ApiEndpoint("GET", "/products/by-sku/:sku")) == "get-products-by-sku"

