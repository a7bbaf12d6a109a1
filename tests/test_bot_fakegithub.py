"""The App shell end to end against the fake GitHub (real webhooks, OpenAPI-checked calls).

A stand-in feature module answers issues, commands and pull requests through the shell's
helpers; the fake GitHub injects 5xx, 401, secondary rate limits and dropped connections.
Whatever happens: one comment per kind, one check run per head, no API violation, no
dead job, and the App never reacts to its own comments.
"""

from __future__ import annotations

import pytest
from gidgethub.routing import Router

from bot.server import start

from .test_bot_support import APP_ID, SECRET, make_settings, public_key_pem

fakegithub = pytest.importorskip("bot.fakegithub")

REPO = "acme/shop"
CHECK = "dlcm/completeness"

feature = Router()


@feature.register("issues", action="opened")
@feature.register("issues", action="edited")
async def issue_validated(event, gh, ctx):
    issue = event.data["issue"]
    await gh.upsert_comment(ctx.repo, issue["number"], "validation", f"Checked: {issue['title']}")


@feature.register("issue_comment", action="created")
async def command_received(event, gh, ctx):
    comment = event.data["comment"]
    await gh.add_reaction(ctx.repo, comment["id"], "eyes")
    allowed = await gh.has_write(ctx.repo, comment["user"]["login"])
    answer = "Done." if allowed else "Sorry, only people with write access can do that."
    await gh.upsert_comment(ctx.repo, event.data["issue"]["number"], "reply", answer)


@feature.register("pull_request", action="opened")
@feature.register("pull_request", action="synchronize")
async def pull_request_checked(event, gh, ctx):
    pr = event.data["pull_request"]
    annotations = [
        {
            "path": "supabase/migrations/x.sql",
            "start_line": i,
            "end_line": i,
            "annotation_level": "warning",
            "message": f"finding {i}",
        }
        for i in range(1, 121)
    ]
    output = {"title": "120 findings", "summary": "See annotations.", "annotations": annotations}
    external_id = f"{ctx.repo}#{pr['number']}"
    head = pr["head"]["sha"]
    await gh.create_or_update_check_run(ctx.repo, head, CHECK, external_id, status="in_progress")
    await gh.create_or_update_check_run(
        ctx.repo, head, CHECK, external_id, status="completed", conclusion="failure", output=output
    )
    ctx.metrics.check_outcomes.inc(check=CHECK, conclusion="failure")


@pytest.fixture
async def world(tmp_path):
    async with fakegithub.FakeGitHub() as fake:
        settings = make_settings(tmp_path, github_api_url=fake.url)
        server = await start(
            settings, [feature], host="127.0.0.1", port=0, queue_options={"poll_interval": 0.05}
        )
        try:
            fake.register_app(
                APP_ID,
                public_key_pem(),
                "dlcm",
                webhook_url=f"{server.url}/webhooks",
                webhook_secret=SECRET,
            )
            fake.create_repo(REPO, files={"README.md": "# shop\n"})
            fake.set_permission(REPO, "alice", "write")

            async def settle() -> None:
                for _ in range(4):  # our calls trigger webhooks, which trigger handlers…
                    await fake.wait_idle(15)
                    await server.services.queue.wait_idle(15)

            yield fake, server, settle
        finally:
            await server.stop()


def bot_comments(fake, number: int, marker: str) -> list:
    r = fake.repo(REPO)
    return [
        c
        for c in r.comments.values()
        if c.issue_number == number and f"<!-- dlcm:{marker} -->" in c.body
    ]


async def test_shell_against_the_fake_github(world):
    fake, server, settle = world
    store = server.services.store

    issue = await fake.create_issue(REPO, "Add users.nickname", "please", user="alice")
    await settle()
    faults = [
        fake.inject("GET", "/repos/{owner}/{repo}/issues/{issue_number}/comments", "502"),
        fake.inject("PATCH", "/repos/{owner}/{repo}/issues/comments/{comment_id}", "401"),
    ]
    await fake.edit_issue(REPO, issue.number, title="Add users.nickname (text)", user="alice")
    await settle()
    [validation] = bot_comments(fake, issue.number, "validation")
    assert validation.body.endswith("Checked: Add users.nickname (text)")

    permission = "/repos/{owner}/{repo}/collaborators/{username}/permission"
    comments = "/repos/{owner}/{repo}/issues/{issue_number}/comments"
    faults.append(fake.inject("GET", permission, "secondary_rate_limit", retry_after=1))
    faults.append(fake.inject("POST", comments, "drop"))  # the first reply is lost in transit
    await fake.create_comment(REPO, issue.number, "/dlcm approve", user="bob")
    await settle()
    [reply] = bot_comments(fake, issue.number, "reply")
    assert reply.body.endswith("Sorry, only people with write access can do that.")
    await fake.create_comment(REPO, issue.number, "/dlcm approve", user="alice")
    await settle()
    [reply] = bot_comments(fake, issue.number, "reply")
    assert reply.body.endswith("Done.")
    human = [c for c in fake.repo(REPO).comments.values() if c.user in ("alice", "bob")]
    assert [[r.content for r in c.reactions] for c in human] == [["eyes"], ["eyes"]]

    faults.append(fake.inject("POST", "/repos/{owner}/{repo}/check-runs", "500"))
    pr = await fake.open_pull_request(
        REPO,
        "feature",
        title="Add nickname",
        user="alice",
        files={"supabase/migrations/20240101000000_nickname.sql": "alter table t add n text;"},
    )
    await settle()
    runs = [c for c in fake.repo(REPO).check_runs.values() if c.name == CHECK]
    assert len(runs) == 1
    assert (runs[0].status, runs[0].conclusion, len(runs[0].annotations)) == (
        "completed",
        "failure",
        120,
    )
    assert runs[0].external_id == f"{REPO}#{pr.number}"

    assert [f.hits for f in faults] == [1] * len(faults)  # every injected fault was hit
    fake.assert_no_violations()
    counts = store.counts_by_status()
    assert counts["dead"] == 0 and counts["pending"] == 0 and counts["running"] == 0
    ignored = [
        d for d in store.list_deliveries(limit=1000) if (d.outcome or "").startswith("ignored")
    ]
    assert ignored and all(d.payload["sender"]["login"] == "dlcm[bot]" for d in ignored)
    # One installation token, plus one after the injected 401.
    assert len(fake.calls_to("POST", "/app/installations/{installation_id}/access_tokens")) == 2
