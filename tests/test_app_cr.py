"""Change requests end to end: issue form → DLCM-<n> → linked pull request → deployment, against the
fake GitHub (real git, OpenAPI-validated, signed webhooks built from GitHub's published examples)
and the real App server. Each test reads as "these deliveries → these calls and this state".
"""

from __future__ import annotations

import json

import aiohttp
from click.testing import CliRunner

from bot.render import COMPLETENESS
from dlcm.cli import main as cli

from .test_app_cr_support import (
    AUTHOR,
    BACKEND,
    DATA,
    OUTSIDER,
    READONLY,
    REPO,
    CRWorld,
    cr_world,  # noqa: F401  (fixture)
    form_body,
    nickname_pr_files,
)

DASHBOARD_MARKER = "<!-- dlcm:dashboard -->"


def dashboard_issues(w: CRWorld) -> list:
    return [i for i in w.fake.issues(REPO) if DASHBOARD_MARKER in (i.body or "")]


def actions(w: CRWorld, issue: int) -> list[tuple[str, str | None, str | None, bool]]:
    return [(e.event.action, e.event.from_state, e.event.to_state, e.event.refused) for e in w.crs.audit(REPO, issue)]


async def deploy(w: CRWorld, ref: str = "main", environment: str = "production", user: str = BACKEND) -> dict:
    """A deployment and its success status, made through the REST API as a person would (or CI)."""
    headers = {"Authorization": f"token {w.fake.user_token(user)}", "Accept": "application/vnd.github+json"}
    async with aiohttp.ClientSession(headers=headers) as s:
        async with s.post(f"{w.fake.url}/repos/{REPO}/deployments",
                          json={"ref": ref, "environment": environment, "required_contexts": []}) as r:
            assert r.status == 201, await r.text()
            dep = await r.json()
        async with s.post(f"{w.fake.url}/repos/{REPO}/deployments/{dep['id']}/statuses",
                          json={"state": "success", "environment_url": "https://shop.example"}) as r:
            assert r.status == 201, await r.text()
    await w.settle()
    return dep


def audit_cli(w: CRWorld, ref: str, *args: str):
    return CliRunner().invoke(cli, ["audit", ref, "--repo", REPO, "--db", str(w.store.path), *args])


# -- a request from the form ----------------------------------------------------------------


async def test_form_request_is_validated_numbered_assigned_labelled_checklisted(cr_world):
    w = cr_world
    issue = await w.open_request()

    rec = w.cr(issue.number)
    assert (rec.id, rec.state.state) == ("DLCM-1", "approved")
    gh_issue = w.fake.issue(REPO, issue.number)
    assert gh_issue.title == "[DLCM-1] Nickname on users"
    assert sorted(gh_issue.labels) == ["data-layer-change", "dlcm:risk:low", "dlcm:type:add-field"]
    assert gh_issue.assignees == [BACKEND]  # the @alice of the component board
    [status] = w.comments(issue.number, "status")
    assert "### DLCM-1 · 👍 `approved` · add-field · risk **low**" in status.body
    assert "- [ ] `migration` Migration in the migrations directory" in status.body
    assert "- [ ] `memory-impl` Memory repository implementation" in status.body
    assert "@shop/data-team @shop/backend @alice" in status.body
    [impact] = w.comments(issue.number, "impact")
    assert "add column public.users.nickname text" in impact.body
    [mention] = w.comments(issue.number, "notify-approved")
    assert "\n@shop/data-team @shop/backend: DLCM-1 (add-field, risk low)" in mention.body
    # the status comment comes first, then the impact report and the mention
    order = [c.id for c in w.fake.comments(REPO, issue.number)]
    assert order.index(status.id) < order.index(impact.id) < order.index(mention.id)

    # the outgoing webhook: JSON, Slack-compatible text first
    [hook] = w.receiver.received
    assert hook["text"].startswith("DLCM-1 (shop/monorepo#1): proposed → approved")
    assert (hook["id"], hook["from"], hook["to"], hook["event"]) == ("DLCM-1", "proposed", "approved",
                                                                       "dlcm.state_changed")
    assert w.receiver.headers[0]["X-DLCM-Idempotency-Key"] == hook["idempotency_key"]

    # the dashboard issue: one, rewritten in place, with the request under its state
    [board] = dashboard_issues(w)
    assert board.title == "Data layer changes" and board.labels == ["dlcm:dashboard"]
    assert "## 👍 Approved: waiting for a pull request (1)" in board.body
    assert "- [DLCM-1](https://github.com/shop/monorepo/issues/1) Nickname on users · low · 0/6 steps" in board.body
    assert "GraphQL" in board.body  # why dlcm does not pin it

    # a second request gets the next number, and the same dashboard issue
    second = await w.open_request(form_body(summary="Nickname on orders", tables="public.orders",
                                            columns="gift_note text null"), title="[DLCM] Gift note")
    assert w.cr(second.number).id == "DLCM-2"
    assert w.fake.issue(REPO, second.number).title == "[DLCM-2] Gift note"
    [board] = dashboard_issues(w)
    assert "(2)" in board.body and "[DLCM-2]" in board.body
    assert len(w.fake.calls_to("POST", "/repos/{owner}/{repo}/issues")) == 1  # created once
    w.assert_healthy()


async def test_a_bad_request_needs_info_and_recovers_after_an_edit(cr_world):
    w = cr_world
    await w.set_config("change_requests:\n  title_prefix: 'DB-{n}:'\n")
    issue = await w.open_request(form_body(columns="phone text null"))  # users.phone exists already

    rec = w.cr(issue.number)
    assert (rec.id, rec.state.state, rec.number) == ("#1", "needs-info", None)
    gh_issue = w.fake.issue(REPO, issue.number)
    assert "dlcm:needs-info" in gh_issue.labels and gh_issue.title == "[DLCM] Nickname on users"
    [status] = w.comments(issue.number, "status")
    assert "❓ `needs-info`" in status.body
    assert "`users.phone` already exists" in status.body
    assert not w.comments(issue.number, "impact")
    assert "## ❓ Needs info (1)" in dashboard_issues(w)[0].body

    # a pull request that names the issue before the request is valid: not linked yet
    pr = await w.fake.open_pull_request(REPO, "nickname", title="Add nickname", body=f"Closes #{issue.number}",
                                        user=AUTHOR, files=nickname_pr_files())
    await w.settle()
    assert w.cr(issue.number).state.prs == []

    await w.fake.edit_issue(REPO, issue.number, body=form_body(), user=AUTHOR)
    await w.settle()
    rec = w.cr(issue.number)
    assert (rec.id, rec.state.state) == ("DLCM-1", "validated")  # approved, then the open pull request linked
    assert [(p.number, p.check) for p in rec.state.prs] == [(pr.number, "passed")]
    gh_issue = w.fake.issue(REPO, issue.number)
    assert "dlcm:needs-info" not in gh_issue.labels
    assert gh_issue.title == "DB-1: Nickname on users"  # change_requests.title_prefix
    [status] = w.comments(issue.number, "status")  # the same comment, edited in place
    assert "✅ `validated`" in status.body and "already exists" not in status.body
    assert [a[:3] for a in actions(w, issue.number)][:5] == [
        ("opened", "proposed", "proposed"), ("validation_failed", "proposed", "needs-info"),
        ("edited", "needs-info", "needs-info"), ("validation_passed", "needs-info", "approved"),
        ("pr_linked", "approved", "in-progress")]
    assert "Needs info" not in dashboard_issues(w)[0].body
    w.assert_healthy()


async def test_an_issue_that_is_not_a_request_is_left_alone(cr_world):
    w = cr_world
    issue = await w.fake.create_issue(REPO, "Typo in README", "There is a typo.", user=READONLY, labels=["bug"])
    await w.settle()
    assert w.cr(issue.number) is None
    assert w.fake.comments(REPO, issue.number) == [] and not dashboard_issues(w)
    # labelling it later makes it one
    await w.fake.add_label(REPO, issue.number, "data-layer-change", user=AUTHOR)
    await w.settle()
    rec = w.cr(issue.number)
    assert rec.state.state == "needs-info" and rec.state.problems  # the body is no change request
    assert dashboard_issues(w)
    w.assert_healthy()


# -- a linked pull request ------------------------------------------------------------------


async def test_a_linked_pull_request_moves_the_request_to_deployed_with_evidence(cr_world):
    w = cr_world
    issue = await w.open_request()
    pr = await w.fake.open_pull_request(REPO, "nickname", title="Add nickname", body="Implements DLCM-1.",
                                        user=AUTHOR, files=nickname_pr_files())
    await w.settle()

    [run] = w.fake.check_runs(REPO, pr.head_sha, name=COMPLETENESS)
    assert run.conclusion == "success"
    rec = w.cr(issue.number)
    assert rec.state.state == "validated"
    assert [(p.number, p.check, p.merged) for p in rec.state.prs] == [(pr.number, "passed", False)]
    evidence = {s.key: [e.ref for e in s.evidence] for s in rec.state.checklist}
    assert evidence == {
        "migration": ["supabase/migrations/20240401120000_add_nickname.sql"],
        "rollback": ["supabase/rollbacks/20240401120000_add_nickname.down.sql"],
        "types": ["apps/database-service/src/database.types.ts"],
        "supabase-impl": ["apps/database-service/src/repositories/supabase/supabase-user-repository.ts"],
        "memory-impl": ["apps/database-service/src/repositories/memory/memory-user-repository.ts"],
        "tests": ["apps/database-service/src/__tests__/users.test.ts"],
    }
    assert actions(w, issue.number)[2:] == [
        ("pr_linked", "approved", "in-progress", False), ("check_passed", "in-progress", "in-progress", False),
        ("check_passed", "in-progress", "validated", False)]
    [status] = w.comments(issue.number, "status")
    assert "✅ `validated`" in status.body and f"**Pull requests**: #{pr.number} ✅ checks passed" in status.body
    assert f"/blob/{pr.head_sha}/supabase/migrations/20240401120000_add_nickname.sql" in status.body

    merge_sha = await w.fake.merge_pull_request(REPO, pr.number, user=BACKEND)
    await w.settle()
    rec = w.cr(issue.number)
    assert rec.state.state == "validated" and rec.state.prs[0].merge_sha == merge_sha

    await deploy(w, "main", "staging")
    assert w.cr(issue.number).state.state == "deployed"
    await deploy(w, "main", "production")
    rec = w.cr(issue.number)
    assert rec.state.state == "monitoring" and rec.state.monitoring_until is not None
    assert [d.environment for d in rec.state.deployments] == ["staging", "production"]
    assert [a[:3] for a in actions(w, issue.number)][5:] == [
        ("pr_merged", "validated", "validated"), ("deployment_succeeded", "validated", "deployed"),
        ("deployment_succeeded", "deployed", "deployed"), ("deployment_succeeded", "deployed", "monitoring")]
    # one mention per milestone, never repeated
    milestones = [c.body.split("<!-- dlcm:notify-", 1)[1].split(" ", 1)[0]
                  for c in w.fake.comments(REPO, issue.number) if "<!-- dlcm:notify-" in c.body]
    assert milestones == ["approved", "validated", "deployed", "monitoring"]
    assert [h["to"] for h in w.receiver.received] == ["approved", "in-progress", "validated", "deployed",
                                                        "monitoring"]
    assert "## 🚀 Deployed and monitored (1)" in dashboard_issues(w)[0].body

    # the audit trail: printed, verified; tampering is caught
    res = audit_cli(w, "DLCM-1")
    assert res.exit_code == 0, res.output
    assert "DLCM-1 (shop/monorepo#1) · monitoring · 9 audit events" in res.output
    assert "evidence [migration] file supabase/migrations/20240401120000_add_nickname.sql" in res.output
    assert "@alice" in res.output and "✓ hash chain verified" in res.output
    data = json.loads(audit_cli(w, "DLCM-1", "--format", "json").output)
    assert data["verified"] and len(data["events"]) == 9
    assert data["events"][2]["delivery_id"]  # the pull_request delivery that linked it
    conn = w.store.db.conn
    conn.execute("DROP TRIGGER cr_audit_no_update")  # what an attacker with the file could do
    conn.execute("UPDATE cr_audit SET actor = 'mallory' WHERE seq = 5")
    res = audit_cli(w, "DLCM-1")
    assert res.exit_code == 1 and "hash chain broken at event 5" in res.output
    w.assert_healthy()


async def test_the_monitoring_window_ends_the_request(cr_world):
    import datetime as dt

    from bot.features import change_requests as cr_feature

    w = cr_world
    issue = await w.open_request()
    pr = await w.fake.open_pull_request(REPO, "dlcm-1-nickname", title="Add nickname", body="",
                                        user=AUTHOR, files=nickname_pr_files())  # linked by its branch name
    await w.settle()
    await w.fake.merge_pull_request(REPO, pr.number, user=BACKEND)
    await w.settle()
    await deploy(w)
    rec = w.cr(issue.number)
    assert rec.state.state == "monitoring"
    assert await cr_feature.run_due(w.server.services) == 0  # not yet
    later = rec.state.monitoring_until + dt.timedelta(minutes=1)
    assert await cr_feature.run_due(w.server.services, later) == 1
    await w.settle()
    assert w.cr(issue.number).state.state == "done"
    gh_issue = w.fake.issue(REPO, issue.number)
    assert (gh_issue.state, gh_issue.state_reason) == ("closed", "completed")
    board = dashboard_issues(w)[0].body
    assert "Done or cancelled (1)" in board and "· done" in board
    w.assert_healthy()


# -- breaking changes and approvals ---------------------------------------------------------


async def test_a_breaking_request_blocks_completeness_until_a_team_member_approves(cr_world):
    w = cr_world
    issue = await w.open_request(form_body(breaking="yes"))
    rec = w.cr(issue.number)
    assert (rec.id, rec.state.breaking, rec.state.risk) == ("DLCM-1", True, "high")
    assert "dlcm:breaking" in w.fake.issue(REPO, issue.number).labels
    [note] = w.comments(issue.number, "notify-approval-needed")
    assert "needs 1 approval(s)" in note.body

    pr = await w.fake.open_pull_request(REPO, "nickname", title="Add nickname", body="Part of DLCM-1",
                                        user=AUTHOR, files=nickname_pr_files())
    await w.settle()
    [run] = w.fake.check_runs(REPO, pr.head_sha, name=COMPLETENESS)
    assert run.conclusion == "failure"
    assert run.output["title"].startswith("blocked: DLCM-1 is a breaking change and needs 1 approval(s)")
    assert "**Blocked**: DLCM-1 is a breaking change" in run.output["summary"]
    [sticky] = [c for c in w.fake.comments(REPO, pr.number) if "<!-- dlcm:completeness -->" in c.body]
    assert "/dlcm approve" in sticky.body
    assert w.cr(issue.number).state.prs[0].check == "failed"

    # an outsider with write access, a reader, and the author are refused
    reply = await w.command(issue.number, "/dlcm approve", OUTSIDER)
    assert ("Approvals for DLCM-1 must come from members of the owning teams (@shop/data-team, @shop/backend, "
            "@shop/bot-team, @shop/web-team)") in reply
    reply = await w.command(issue.number, "/dlcm approve", READONLY)
    assert "Sorry @bob" in reply and "write access" in reply
    reply = await w.command(issue.number, "/dlcm approve", AUTHOR)
    assert "You opened this change request" in reply
    assert [r.conclusion for r in w.fake.check_runs(REPO, pr.head_sha, name=COMPLETENESS)] == ["failure"]
    refused = [a for a in actions(w, issue.number) if a[3]]
    assert [a[0] for a in refused] == ["command:approve"] * 3  # each refusal is audited
    assert w.fake.calls_to("GET", "/orgs/{org}/teams/{team_slug}/memberships/{username}")

    # a member of an owning team approves: the check runs again and passes
    reply = await w.command(issue.number, "/dlcm approve", DATA)
    assert "Approval by @dave recorded (1/1)" in reply
    runs = w.fake.check_runs(REPO, pr.head_sha, name=COMPLETENESS)
    assert [r.conclusion for r in runs] == ["failure", "success"]
    rec = w.cr(issue.number)
    assert [a.actor for a in rec.state.approvals] == [DATA]
    assert rec.state.prs[0].check == "passed" and rec.state.state == "in-progress"
    missing = rec.state.missing()
    assert [s for s in missing] == ["Consumers updated",
                                    "Expand/contract plan (old and new shape side by side, then remove)"]

    # the steps dlcm cannot see are done by command, with evidence
    reply = await w.command(issue.number, "/dlcm done consumers", BACKEND)
    assert "Give evidence for `consumers`" in reply
    await w.command(issue.number, "/dlcm done consumers https://github.com/shop/monorepo/pull/9", BACKEND)
    reply = await w.command(issue.number, "/dlcm done expand-contract docs/expand-contract.md", BACKEND)
    assert "`expand-contract` (Expand/contract plan" in reply
    rec = w.cr(issue.number)
    assert rec.state.state == "validated"
    status = await w.command(issue.number, "/dlcm status", READONLY)
    assert "✅ `validated`" in status and "**Approvals**: 1/1 — @dave" in status
    w.assert_healthy()


# -- commands and retries -------------------------------------------------------------------


async def test_cancel_help_impact_and_commands_on_other_issues(cr_world):
    w = cr_world
    issue = await w.open_request()
    helptext = await w.command(issue.number, "/dlcm help", READONLY)
    for name in ("status", "approve", "done <step> <evidence>", "cancel [reason]", "impact"):
        assert f"`/dlcm {name}`" in helptext
    reply = await w.command(issue.number, "/dlcm impact", READONLY)
    assert "Impact report of DLCM-1 refreshed" in reply
    assert len(w.comments(issue.number, "impact")) == 1
    reply = await w.command(issue.number, "/dlcm done nothing https://x", BACKEND)
    assert "`nothing` is not a step of DLCM-1" in reply

    other = await w.fake.create_issue(REPO, "Question", "How?", user=READONLY)
    await w.settle()
    reply = await w.command(other.number, "/dlcm status", READONLY)
    assert "is not a data-layer change request" in reply

    reply = await w.command(issue.number, "/dlcm cancel superseded by DLCM-3", BACKEND)
    assert "cancelled" in reply or "Done" in reply
    assert w.cr(issue.number).state.state == "cancelled"
    gh_issue = w.fake.issue(REPO, issue.number)
    assert (gh_issue.state, gh_issue.state_reason) == ("closed", "not_planned")
    board = dashboard_issues(w)[0].body
    assert "Done or cancelled (1)" in board and "Approved" not in board
    w.assert_healthy()


async def test_retried_deliveries_and_failed_calls_do_not_duplicate_anything(cr_world):
    w = cr_world
    # the first attempt dies on the title PATCH (every retry of the client fails): the job is retried
    fault = w.fake.inject("PATCH", "/repos/{owner}/{repo}/issues/1", "502", times=5)
    issue = await w.open_request()
    await w.server.services.queue.wait_idle(30, include_scheduled=True)  # the retry, after its backoff
    await w.settle()
    assert fault.hits == 5
    opened = [d for d in w.store.list_deliveries(limit=200) if d.event == "issues" and d.action == "opened"
              and json.loads(d.raw_payload)["issue"]["number"] == issue.number]
    assert opened[0].attempts == 2 and opened[0].status == "done"
    rec = w.cr(issue.number)
    assert rec.id == "DLCM-1" and w.fake.issue(REPO, issue.number).title == "[DLCM-1] Nickname on users"
    assert len(w.comments(issue.number, "status")) == 1
    assert len(w.comments(issue.number, "notify-approved")) == 1
    assert len(w.comments(issue.number, "impact")) == 1
    assert len(w.receiver.received) == 1
    assert [a[0] for a in actions(w, issue.number)] == ["opened", "validation_passed"]

    # the same command delivered again (a new delivery of the same comment): one answer, one audit event
    pr = await w.fake.open_pull_request(REPO, "nickname", title="Add nickname", body="DLCM-1",
                                        user=AUTHOR, files=nickname_pr_files())
    await w.settle()
    comment = await w.fake.create_comment(REPO, issue.number, "/dlcm done tests https://ci.example/run/1",
                                          user=BACKEND)
    await w.settle()
    before = (len(w.crs.audit(REPO, issue.number)), len(w.fake.comments(REPO, issue.number)),
              len(w.receiver.received))
    await w.fake.deliver("issue_comment", "created", repo=REPO, issue=issue.number, comment=comment.id,
                         sender=BACKEND)
    await w.fake.deliver("pull_request", "opened", repo=REPO, pull=pr.number, sender=AUTHOR)
    await w.fake.deliver("issues", "opened", repo=REPO, issue=issue.number, sender=AUTHOR)
    await w.settle()
    after = (len(w.crs.audit(REPO, issue.number)), len(w.fake.comments(REPO, issue.number)),
             len(w.receiver.received))
    assert after == before
    milestones = [c for c in w.fake.comments(REPO, issue.number) if "<!-- dlcm:notify-" in c.body]
    assert len(milestones) == len({c.body.split("-->")[0] for c in milestones})
    assert len(dashboard_issues(w)) == 1
    w.assert_healthy()


async def test_a_webhook_receiver_that_is_down_does_not_hold_the_request(cr_world):
    w = cr_world
    await w.set_config("change_requests:\n  notify_webhook: http://127.0.0.1:9/hook\n")  # nothing listens
    issue = await w.open_request()
    assert w.cr(issue.number).state.state == "approved"
    assert len(w.comments(issue.number, "status")) == 1 and w.receiver.received == []
    [hook] = [o for o in w.crs.outbox(REPO, issue.number) if o["kind"] == "webhook"]
    assert hook["status"] == "pending" and hook["attempts"] >= 1 and "Connect" in hook["last_error"]
    await w.fake.edit_issue(REPO, issue.number, body=form_body(motivation="Greetings by nickname."), user=AUTHOR)
    await w.settle()
    hooks = [o for o in w.crs.outbox(REPO, issue.number) if o["kind"] == "webhook"]
    assert [o["status"] for o in hooks] == ["pending"]
    assert hooks[0]["attempts"] > hook["attempts"]  # tried again on the next event, never more than 5 times
    w.fake.assert_no_violations()
