"""Change requests follow the default branch: a push to it validates every request still to land
again (once per push, whoever pushed: people, CI, the App), against the fake GitHub and the real
App server.

- another pull request merged the column a request wants to add → the request needs info, says
  which migration added it, and its impact comment (the same one) says why there is no report;
- a push that changes nothing the request depends on → no comment is touched, no audit event;
- the same push delivered again → nothing more;
- the column gone again → the request is valid again, with its impact report back;
- the request's own pull request merged → it is not told that its column "already exists".
"""

from __future__ import annotations

import uuid

import aiohttp

from bot import routing
from bot.features import change_requests as cr_feature
from checks.changes.request import Problem
from checks.changes.validate import ValidationResult

from .test_app_cr_support import (
    AUTHOR,
    BACKEND,
    REPO,
    CRWorld,
    cr_world,  # noqa: F401  (fixture)
    nickname_pr_files,
)

OTHER_MIGRATION = "supabase/migrations/20240402090000_users_nickname.sql"
CI_BOT = "github-actions[bot]"
COMMENT_EDITS = "/repos/{owner}/{repo}/issues/comments/{comment_id}"
COMMENT_POSTS = "/repos/{owner}/{repo}/issues/{issue_number}/comments"


def audit(w: CRWorld, issue: int) -> list:
    return [e.event for e in w.crs.audit(REPO, issue)]


def writes(w: CRWorld) -> tuple[int, int]:
    """(comments edited, comments created) so far, on any issue."""
    return len(w.fake.calls_to("PATCH", COMMENT_EDITS)), len(w.fake.calls_to("POST", COMMENT_POSTS))


def push_delivery(w: CRWorld, after: str):
    [d] = [d for d in w.fake.deliveries_of("push") if d.payload.get("after") == after]
    return d


async def deliver_copy(w: CRWorld, d) -> str:
    """The same push payload under a new delivery id (GitHub sending it twice, or a second hook)."""
    guid = str(uuid.uuid4())
    headers = dict(d.headers, **{"X-GitHub-Delivery": guid})
    async with aiohttp.ClientSession() as s:
        async with s.post(d.url, data=d.body, headers=headers) as r:
            assert r.status < 300, await r.text()
    await w.settle()
    return guid


async def test_a_merged_column_makes_the_request_need_info_then_valid_again(cr_world):
    w = cr_world
    issue = await w.open_request()  # add users.nickname
    rec = w.cr(issue.number)
    assert (rec.id, rec.state.state) == ("DLCM-1", "approved")
    [impact] = w.comments(issue.number, "impact")
    assert "add column public.users.nickname text" in impact.body
    [status] = w.comments(issue.number, "status")
    trail = len(audit(w, issue.number))

    # CI merges another change that adds the same column (a bot: its push must count)
    assert routing.ignore_reason("push", {"sender": {"login": CI_BOT, "type": "Bot"}}) is None
    sha = await w.fake.push(REPO, "main", {OTHER_MIGRATION: "alter table public.users add column nickname text;\n"},
                            message="Merge nickname from the mobile team", sender=CI_BOT)
    await w.settle()

    rec = w.cr(issue.number)
    assert rec.state.state == "needs-info"
    assert "dlcm:needs-info" in w.fake.issue(REPO, issue.number).labels
    why = f"`users.nickname` already exists on main (added by `{OTHER_MIGRATION}`)"
    assert any(why in p.message for p in rec.state.problems), rec.state.problems
    [status_now] = w.comments(issue.number, "status")  # the same status comment, edited
    assert status_now.id == status.id and "❓ `needs-info`" in status_now.body and why in status_now.body
    [impact_now] = w.comments(issue.number, "impact")  # the same impact comment, edited in place
    assert impact_now.id == impact.id
    assert "none while DLCM-1 is not valid" in impact_now.body and why in impact_now.body
    assert "add column public.users.nickname" not in impact_now.body
    new = audit(w, issue.number)[trail:]
    delivery = push_delivery(w, sha)
    assert [(e.action, e.from_state, e.to_state, e.actor, e.delivery_id) for e in new] == [
        ("default_branch_moved", "approved", "approved", CI_BOT, delivery.guid),
        ("validation_failed", "approved", "needs-info", CI_BOT, delivery.guid)]
    assert new[0].reason == f"default branch moved to {sha}"
    assert why in new[1].reason
    assert [(h["from"], h["to"]) for h in w.receiver.received][-1] == ("approved", "needs-info")
    assert w.crs.verify_audit(REPO, issue.number) is None  # the chain holds

    # a push touching only docs (read by dlcm: .md) changes nothing: no comment touched, no audit
    before, trail = writes(w), len(audit(w, issue.number))
    hooks = len(w.receiver.received)
    await w.fake.push(REPO, "main", {"docs/nickname.md": "# Nicknames\n\nShown in the bot's greeting.\n"},
                      message="docs", sender=BACKEND)
    await w.settle()
    assert writes(w) == before and len(audit(w, issue.number)) == trail
    assert len(w.receiver.received) == hooks

    # the migration push delivered again: as a redelivery (same id) and as a copy (new id)
    await w.fake.redeliver(delivery)
    copy = w.store.get_delivery(await deliver_copy(w, delivery))
    assert (copy.status, copy.outcome) == ("done", "handled")  # it did run the handler again
    assert writes(w) == before and len(audit(w, issue.number)) == trail
    assert len(w.comments(issue.number, "impact")) == 1 and len(w.comments(issue.number, "status")) == 1

    # the column is taken out again: the request is valid again, its report back in the same comment
    revert = await w.fake.push(REPO, "main", {OTHER_MIGRATION: None}, message="Revert nickname", sender=AUTHOR)
    await w.settle()
    rec = w.cr(issue.number)
    assert (rec.id, rec.state.state) == ("DLCM-1", "approved")
    assert "dlcm:needs-info" not in w.fake.issue(REPO, issue.number).labels
    assert not any("already exists" in p.message for p in rec.state.problems)
    [impact_back] = w.comments(issue.number, "impact")
    assert impact_back.id == impact.id and "add column public.users.nickname text" in impact_back.body
    new = audit(w, issue.number)[trail:]
    assert [(e.action, e.from_state, e.to_state, e.actor) for e in new] == [
        ("default_branch_moved", "needs-info", "needs-info", AUTHOR),
        ("validation_passed", "needs-info", "approved", AUTHOR)]
    assert new[0].reason == f"default branch moved to {revert}"
    assert len(w.comments(issue.number, "status")) == 1
    w.assert_healthy()


async def test_the_requests_own_merge_is_not_an_existing_column(cr_world):
    w = cr_world
    issue = await w.open_request()
    pr = await w.fake.open_pull_request(REPO, "nickname", title="Add nickname", body="Implements DLCM-1.",
                                        user=AUTHOR, files=nickname_pr_files())
    await w.settle()
    assert w.cr(issue.number).state.state == "validated"
    [impact] = w.comments(issue.number, "impact")
    edits = len(w.fake.calls_to("PATCH", COMMENT_EDITS))

    # the merge's push reaches the App before its pull_request.closed (they are ordered apart)
    r = w.fake.repo(REPO)
    tip = r.git.ref_sha("refs/heads/main")
    sha = await w.fake.merge_pull_request(REPO, pr.number, user=BACKEND, webhook=False)
    for fut in w.fake.emit("push", None, r, BACKEND, ref="refs/heads/main", before=tip, after=sha):
        await fut
    await w.settle()
    rec = w.cr(issue.number)
    assert rec.state.state == "validated" and not rec.state.prs[0].merged  # GitHub knows; dlcm not yet
    assert not any(e.action == "default_branch_moved" for e in audit(w, issue.number))
    assert not any("already exists" in p.message for p in rec.state.problems)
    for fut in w.fake.emit("pull_request", "closed", r, BACKEND, pull=r.pulls[pr.number]):
        await fut
    await w.settle()
    rec = w.cr(issue.number)
    assert rec.state.state == "validated" and rec.state.prs[0].merged
    assert not any(e.action == "default_branch_moved" for e in audit(w, issue.number))
    assert w.comments(issue.number, "impact")[0].body == impact.body
    assert not [c for c in w.fake.calls_to("PATCH", COMMENT_EDITS)[edits:] if c.path.endswith(f"/{impact.id}")]
    w.assert_healthy()


def test_existing_columns_and_tables_name_the_branch_and_the_migration():
    from checks.model import Migration, Op, RepoModel, Statement

    def mig(path: str, *ops: Op) -> Migration:
        return Migration(path=path, version=None, name=path, stem=path, statements=[Statement(
            line=1, end_line=1, sql="", ops=list(ops))])

    model = RepoModel(root="x", migrations=[
        mig("m1.sql", Op(kind="create_table", line=1, schema="public", table="users",
                         detail={"columns": {"id": {"name": "id", "type": "uuid"}}})),
        mig("m2.sql", Op(kind="add_column", line=1, schema="public", table="users", column="nickname")),
        mig("m3.sql", Op(kind="drop_column", line=1, schema="public", table="users", column="nickname")),
        mig("m4.sql", Op(kind="add_column", line=1, schema="public", table="users", column="nickname")),
    ])
    assert cr_feature.added_by(model, "public", "users", "nickname") == "m4.sql"
    assert cr_feature.added_by(model, "public", "users", "id") == "m1.sql"
    assert cr_feature.added_by(model, "public", "users") == "m1.sql"
    assert cr_feature.added_by(model, "public", "orders") is None

    result = ValidationResult(valid=False, problems=[
        Problem(field="columns", message="`users.nickname` already exists (varchar(20), nullable): choose "
                                         "`modify-field` to change it, or pick another name"),
        Problem(field="tables", message="table `public.users` already exists: choose `add-field` or "
                                        "`modify-field` to change it, or pick another name"),
        Problem(field="columns", message="`users.age`: give the column's type, e.g. `age integer`"),
    ])
    out = [p.message for p in cr_feature.explain_existing(result, model, "trunk").problems]
    assert out == [
        "`users.nickname` already exists on trunk (added by `m4.sql`) as varchar(20), nullable: choose "
        "`modify-field` to change it, or pick another name",
        "table `public.users` already exists on trunk (added by `m1.sql`): choose `add-field` or `modify-field` "
        "to change it, or pick another name",
        "`users.age`: give the column's type, e.g. `age integer`"]
    # a report that differs only in the commit of its permalinks reads the same
    a = "[`f.ts:3`](https://github.com/o/r/blob/" + "a" * 40 + "/f.ts#L3)"
    assert cr_feature.same_report(a, a.replace("a" * 40, "b" * 40))
    assert not cr_feature.same_report(a, a.replace("#L3", "#L4")) and not cr_feature.same_report(None, a)
