"""Slash commands: the pure parser, the registry, and the commands end to end."""

from __future__ import annotations

import pytest

from bot.features.commands import COMMANDS, Command, parse_commands, register, resolve

from .test_app_support import (
    BROKEN,
    COMPLETENESS,
    READER_USER,
    REPO,
    WRITER,
    world,  # noqa: F401  (fixture)
)

# -- parser -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param("/dlcm help", [Command("help", (), 1, "/dlcm help")], id="one-command"),
        pytest.param("/dlcm", [Command("help", (), 1, "/dlcm")], id="bare-prefix-is-help"),
        pytest.param("  /dlcm CHECK  ", [Command("check", (), 1, "/dlcm CHECK")], id="case-and-spaces"),
        pytest.param(
            "Looks good.\n/dlcm check\n/dlcm status\r\nthanks",
            [Command("check", (), 2, "/dlcm check"), Command("status", (), 3, "/dlcm status")],
            id="one-per-line",
        ),
        pytest.param(
            '/dlcm done migration "supabase/x y.sql" #12',
            [Command("done", ("migration", "supabase/x y.sql", "#12"), 1,
                     '/dlcm done migration "supabase/x y.sql" #12')],
            id="quoted-args",
        ),
        pytest.param(
            "/dlcm scaffold add-field 'users.nick",
            [Command("scaffold", ("add-field", "'users.nick"), 1, "/dlcm scaffold add-field 'users.nick")],
            id="unbalanced-quote-falls-back-to-words",
        ),
        pytest.param("please run /dlcm check", [], id="not-at-line-start"),
        pytest.param("> /dlcm check", [], id="quoted-reply"),
        pytest.param("/dlcmcheck\n/dlcm-check", [], id="prefix-must-be-a-word"),
        pytest.param("```\n/dlcm check\n```\n/dlcm help", [Command("help", (), 4, "/dlcm help")],
                     id="fenced-code"),
        pytest.param("~~~sh\n/dlcm check\n```\n/dlcm check\n~~~", [], id="fence-closes-with-its-marker"),
        pytest.param("    /dlcm check", [], id="indented-code"),
        pytest.param("", [], id="empty"),
        pytest.param(None, [], id="none"),
    ],
)
def test_parse_commands(body, expected):
    assert parse_commands(body) == expected


def test_registry_lets_other_modules_add_commands():
    async def approve(call):
        return "approved"

    async def other_approve(call):
        return "twice"

    try:
        register("approve", approve, summary="Approve a breaking change", changes_state=True, where="issue")
        assert resolve("approve", is_pull=False).handler is approve
        assert resolve("APPROVE", is_pull=True) is None
        with pytest.raises(ValueError, match="already registered"):
            register("approve", other_approve, summary="x", where="issue")
        # one name, a handler per place: status on issues next to the pull-request one
        register("status", approve, summary="Change request status", where="issue")
        assert resolve("status", is_pull=False).handler is approve
        assert resolve("status", is_pull=True).handler.__name__ == "status_command"
    finally:
        COMMANDS.pop("approve", None)
        COMMANDS["status"].pop("issue", None)


# -- end to end ---------------------------------------------------------------------------


async def broken_pr(world):
    pr = await world.fake.open_pull_request(REPO, "nickname", title="Add nickname", user=WRITER, files=BROKEN)
    await world.settle()
    return pr


async def test_check_by_a_reader_is_politely_refused(world):
    fake = world.fake
    pr = await broken_pr(world)
    before = len(fake.check_runs(REPO))
    comment = await fake.create_comment(REPO, pr.number, "/dlcm check", user=READER_USER)
    await world.settle()
    assert len(fake.check_runs(REPO)) == before  # no check run created
    assert [r.content for r in fake.reactions(REPO, comment_id=comment.id)] == ["+1"]
    [reply] = world.replies(pr.number)
    assert "Sorry @bob" in reply.body and "write access" in reply.body
    assert fake.calls_to("GET", "/repos/{owner}/{repo}/collaborators/{username}/permission")
    world.assert_healthy()


async def test_check_by_a_writer_reruns_and_status_reports(world):
    fake = world.fake
    pr = await broken_pr(world)
    comment = await fake.create_comment(REPO, pr.number, "/dlcm check\n/dlcm status\n/dlcm frobnicate",
                                        user=WRITER)
    await world.settle()
    assert sorted(r.content for r in fake.reactions(REPO, comment_id=comment.id)) == ["+1", "confused"]
    runs = world.runs(COMPLETENESS, pr.head_sha)
    assert len(runs) == 2 and all(r.conclusion == "failure" for r in runs)  # a fresh run, same verdict
    assert len({r.external_id for r in runs}) == 2
    [reply] = world.replies(pr.number)
    assert "Checked" in reply.body and "dlcm/completeness" in reply.body and "failure" in reply.body
    assert "> /dlcm status" in reply.body and pr.head_sha[:7] in reply.body
    assert "I don't know `/dlcm frobnicate`" in reply.body
    [sticky] = world.comments(pr.number)  # the re-run did not add a second sticky comment
    assert "DLCM107" in sticky.body
    world.assert_healthy()


async def test_help_on_an_issue_and_check_where_it_does_not_apply(world):
    fake = world.fake
    issue = await fake.create_issue(REPO, "Question", "how do I use dlcm?", user=READER_USER)
    comment = await fake.create_comment(REPO, issue.number, "/dlcm help\n/dlcm check", user=READER_USER)
    await world.settle()
    [reply] = world.replies(issue.number)
    assert "`/dlcm help`" in reply.body
    assert "works on pull requests only" in reply.body
    assert not fake.check_runs(REPO)
    # neither command changes state here: no permission lookup
    assert not fake.calls_to("GET", "/repos/{owner}/{repo}/collaborators/{username}/permission")
    assert sorted(r.content for r in fake.reactions(REPO, comment_id=comment.id)) == ["+1", "confused"]
    world.assert_healthy()
