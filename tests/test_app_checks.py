"""Check runs and the sticky comment, end to end: fake GitHub → real server → features.

Each test reads as "this happened on GitHub → these check runs, comments and calls".
"""

from __future__ import annotations

from .test_app_support import (
    BROKEN,
    COMPLETENESS,
    MIGRATION,
    REPO,
    SAFETY,
    TYPES,
    WRITER,
    fix_files,
    world,  # noqa: F401  (fixture)
)


async def open_broken_pr(world):
    pr = await world.fake.open_pull_request(REPO, "nickname", title="Add users.nickname", user=WRITER,
                                            files=BROKEN)
    await world.settle()
    return pr


async def test_broken_pr_fails_then_the_fix_passes(world):
    fake = world.fake
    pr = await open_broken_pr(world)

    [run] = world.runs(COMPLETENESS)
    assert (run.status, run.conclusion) == ("completed", "failure")
    assert run.external_id == f"{pr.head_sha}:{COMPLETENESS}"
    where = {(a.path, a.start_line, a.title.split(":")[0]) for a in run.annotations}
    assert (MIGRATION, 1, "DLCM107") in where  # no rollback
    assert any(p == TYPES and rule == "DLCM402" for p, _, rule in where)  # types not regenerated
    assert all(a.annotation_level in ("failure", "warning", "notice") for a in run.annotations)
    assert "error" in run.output["title"]
    assert f"/blob/{pr.head_sha}/{MIGRATION}#L1" in run.output["summary"]
    [safety] = world.runs(SAFETY)
    assert safety.status == "completed" and safety.conclusion in ("success", "failure")

    [comment] = world.comments(pr.number)
    assert "DLCM107" in comment.body and "❌" in comment.body
    first_comment_id = comment.id

    head = await fake.push(REPO, "nickname", fix_files(), message="rollback + regenerated types", sender=WRITER)
    await world.settle()
    [fixed] = world.runs(COMPLETENESS, head)
    assert (fixed.status, fixed.conclusion) == ("completed", "success"), fixed.output
    assert fixed.output["title"] in ("complete",) or fixed.output["title"].startswith("passed")
    [comment] = world.comments(pr.number)  # edited in place, never duplicated
    assert comment.id == first_comment_id
    assert "all clear" in comment.body and head[:7] in comment.body
    # one push = check_suite.requested + pull_request.synchronize: checked once
    assert len(world.runs(COMPLETENESS)) == 2
    assert fake.merge_blocked_reasons(REPO, pr.number) == []
    world.assert_healthy()


async def test_clean_pr_gets_no_comment(world):
    pr = await world.fake.open_pull_request(REPO, "clean", title="Docs", user=WRITER,
                                            files={"docs/NOTES.md": "# Notes\n"})
    await world.settle()
    [run] = world.runs(COMPLETENESS)
    assert run.conclusion == "success"
    assert world.comments(pr.number) == []
    world.assert_healthy()


async def test_broken_config_fails_the_check_naming_file_line_key(world):
    files = {".github/dlcm.yml": "paths:\n  migrations: supabase/migrations\nrules:\n  DLCM101:\n    enabled: maybe\n"}
    pr = await world.fake.open_pull_request(REPO, "config", title="Configure dlcm", user=WRITER, files=files)
    await world.settle()
    [run] = world.runs(COMPLETENESS)
    assert run.conclusion == "failure"
    assert ".github/dlcm.yml:5" in run.output["title"] or ".github/dlcm.yml:5" in run.output["summary"]
    assert "rules.DLCM101.enabled" in run.output["summary"]
    assert [(a.path, a.start_line) for a in run.annotations] == [(".github/dlcm.yml", 5)]
    [comment] = world.comments(pr.number)
    assert "rules.DLCM101.enabled" in comment.body
    world.assert_healthy()


async def test_blockers_of_other_features_hold_the_check_and_hooks_hear_it(world):
    from bot.features import checks as checks_feature

    heard = []

    async def awaiting_approval(gh, ctx, target):
        return ["DLCM-1 is breaking and needs `/dlcm approve` from @shop/data-team"]

    async def on_checked(gh, ctx, target, record):
        heard.append((target.head_sha, record["passed"], record.get("blocked")))

    checks_feature.BLOCKERS.append(awaiting_approval)
    checks_feature.ON_CHECKED.append(on_checked)
    try:
        pr = await world.fake.open_pull_request(REPO, "held", title="Docs", user=WRITER,
                                                files={"docs/NOTES.md": "# Notes\n"})
        await world.settle()
        [run] = world.runs(COMPLETENESS)
        assert run.conclusion == "failure" and run.output["title"].startswith("blocked: DLCM-1")
        [comment] = world.comments(pr.number)
        assert "blocked" in comment.body and "DLCM-1 is breaking" in comment.body
        assert heard == [(pr.head_sha, False, ["DLCM-1 is breaking and needs `/dlcm approve` from @shop/data-team"])]

        checks_feature.BLOCKERS.remove(awaiting_approval)  # approved: the feature asks for a re-run
        await world.fake.create_comment(REPO, pr.number, "/dlcm check", user=WRITER)
        await world.settle()
        latest = max(world.runs(COMPLETENESS), key=lambda r: r.id)
        assert latest.conclusion == "success"
        [comment] = world.comments(pr.number)
        assert "all clear" in comment.body
        assert heard[-1] == (pr.head_sha, True, [])
    finally:
        for hooks, fn in ((checks_feature.BLOCKERS, awaiting_approval), (checks_feature.ON_CHECKED, on_checked)):
            if fn in hooks:
                hooks.remove(fn)
    world.assert_healthy()


async def test_a_data_layer_pr_gets_the_impact_of_its_diff_in_its_own_comment(world):
    pr = await open_broken_pr(world)
    [impact] = world.comments(pr.number, marker="impact")
    assert "nickname" in impact.body and "users" in impact.body
    assert "```mermaid" in impact.body
    assert f"/blob/{pr.head_sha}/" in impact.body  # file links at the exact commit
    await world.fake.push(REPO, "nickname", fix_files(), message="rollback + regenerated types", sender=WRITER)
    await world.settle()
    [again] = world.comments(pr.number, marker="impact")  # edited in place, never duplicated
    assert again.id == impact.id
    world.assert_healthy()


async def test_a_pr_without_data_layer_change_gets_no_impact_comment(world):
    pr = await world.fake.open_pull_request(REPO, "docs", title="Docs", user=WRITER,
                                            files={"docs/NOTES.md": "# Notes\n"})
    await world.settle()
    assert world.comments(pr.number, marker="impact") == []
    world.assert_healthy()
