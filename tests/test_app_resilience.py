"""Faults GitHub really produces, and the REST-call budget of a pull request event.

Whatever fails on the way – a 500 on a check-run update, a secondary rate limit on a
comment, a connection dropped before the answer – the pull request ends with exactly one
completed ``dlcm/completeness`` run per head, one sticky comment, no API violation and no
dead job.
"""

from __future__ import annotations

import pytest

from bot.repo_reader import READER

from .test_app_support import (
    BROKEN,
    COMPLETENESS,
    REPO,
    SAFETY,
    WRITER,
    fix_files,
    world,  # noqa: F401  (fixture)
)

CHECK_RUNS = "/repos/{owner}/{repo}/check-runs"
CHECK_RUN = "/repos/{owner}/{repo}/check-runs/{check_run_id}"
COMMENTS = "/repos/{owner}/{repo}/issues/{issue_number}/comments"
COMMENT = "/repos/{owner}/{repo}/issues/comments/{comment_id}"


def one_run_per_head(world) -> None:
    for name in (COMPLETENESS, SAFETY):
        heads = [r.head_sha for r in world.runs(name)]
        assert len(heads) == len(set(heads)), f"duplicate {name} runs: {heads}"
        assert all(r.status == "completed" for r in world.runs(name))


@pytest.mark.parametrize(
    ("method", "path", "kind"),
    [
        pytest.param("PATCH", CHECK_RUN, "500", id="500-on-check-run-update"),
        pytest.param("POST", COMMENTS, "secondary_rate_limit", id="secondary-limit-on-comment-create"),
        pytest.param("POST", CHECK_RUNS, "drop", id="dropped-connection-on-check-run-create"),
        pytest.param("POST", COMMENTS, "drop", id="dropped-connection-on-comment-create"),
        pytest.param("GET", "/repos/{owner}/{repo}/git/blobs/{file_sha}", "502", id="502-on-blob-read"),
        pytest.param("PATCH", COMMENT, "500", id="500-on-comment-edit"),
    ],
)
async def test_faults_are_recovered_without_duplicates(world, method, path, kind):
    fake = world.fake
    if "blobs" in path:
        READER.clear()  # blobs are read only when not cached
    fault = fake.inject(method, path, kind, times=2, retry_after=1)
    pr = await fake.open_pull_request(REPO, "nickname", title="Add nickname", user=WRITER, files=BROKEN)
    await world.settle()
    head = await fake.push(REPO, "nickname", fix_files(), message="fix", sender=WRITER)
    await world.settle()

    assert fault.hits >= 1, "the fault was never triggered"
    one_run_per_head(world)
    assert [r.conclusion for r in world.runs(COMPLETENESS)] == ["failure", "success"]
    [fixed] = world.runs(COMPLETENESS, head)
    assert fixed.annotations == []
    [broken] = world.runs(COMPLETENESS, pr.head_sha)
    assert len(broken.annotations) == len({(a.path, a.start_line, a.message) for a in broken.annotations})
    [comment] = world.comments(pr.number)
    assert "all clear" in comment.body
    world.assert_healthy()


async def test_many_annotations_go_in_batches_of_50_each_sent_once(world):
    fake = world.fake
    files = {f"supabase/migrations/2024040112{i:04d}_step_{i}.sql": f"create table public.t{i} (id bigint);\n"
             for i in range(60)}
    fault = fake.inject("PATCH", CHECK_RUN, "500", times=1)
    await fake.open_pull_request(REPO, "many", title="Many tables", user=WRITER, files=files)
    await world.settle()
    [run] = world.runs(COMPLETENESS)
    assert run.conclusion == "failure"
    keys = [(a.path, a.start_line, a.message) for a in run.annotations]
    assert len(keys) > 50 and len(keys) == len(set(keys))
    patches = fake.calls_to("PATCH", CHECK_RUN)
    assert all(len((c.json or {}).get("output", {}).get("annotations", [])) <= 50 for c in patches)
    assert fault.hits == 1
    world.assert_healthy()


def calls_since(fake, mark: int) -> list:
    return [c for c in fake.calls[mark:] if not c.path.startswith("/app/")]


async def test_rest_call_budget_of_a_synchronize_with_a_warm_cache(world):
    READER.clear()  # cold: nothing read yet in this process
    fake = world.fake
    files = {f"apps/web/src/generated/page{i:03d}.ts": f"export const page{i} = {i}\n" for i in range(99)}
    files.update(BROKEN)
    assert len(files) == 100
    mark = len(fake.calls)
    pr = await fake.open_pull_request(REPO, "big", title="100 files", user=WRITER, files=files)
    await world.settle()
    cold = calls_since(fake, mark)
    [run] = world.runs(COMPLETENESS, pr.head_sha)
    assert run.conclusion == "failure"

    mark = len(fake.calls)
    head = await fake.push(REPO, "big", {"apps/web/src/generated/page000.ts": "export const page0 = 'zero'\n"},
                           sender=WRITER)
    await world.settle()
    warm = calls_since(fake, mark)
    summary = [f"{c.method} {c.template}" for c in warm]
    assert len(warm) <= 10, summary
    trees = [c for c in warm if c.template.endswith("/git/trees/{tree_sha}")]
    blobs = [c for c in warm if c.template.endswith("/git/blobs/{file_sha}")]
    assert len(trees) == 1 and len(blobs) == 1, summary  # the head tree; the one changed file
    assert len(world.runs(COMPLETENESS, head)) == 1
    print(f"\nREST calls: PR opened (cold) {len(cold)}, synchronize (warm) {len(warm)}: {summary}")
    world.assert_healthy()


async def test_github_failing_on_every_attempt_completes_the_check_instead_of_leaving_it_running(world):
    fake = world.fake
    READER.clear()
    fault = fake.inject("GET", "/repos/{owner}/{repo}/git/trees/{tree_sha}", "502", times=None)
    pr = await fake.open_pull_request(REPO, "nickname", title="Add nickname", user=WRITER, files=BROKEN)
    await world.fake.wait_idle(30)
    await world.server.services.queue.wait_idle(60, include_scheduled=True)  # every retry of the job
    await world.settle()
    fake.clear_faults()
    assert fault.hits >= 3
    [run] = world.runs(COMPLETENESS, pr.head_sha)
    assert (run.status, run.conclusion) == ("completed", "failure")
    assert "GitHub kept failing" in run.output["summary"]
    fake.assert_no_violations()
    assert world.store.counts_by_status()["dead"] == 0
