"""``dlcm demo`` plays its whole story (offline, in-process) and says so."""

from __future__ import annotations

import io

from rich.console import Console

from dlcm import demo


def transcript_console() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, width=120, color_system=None, highlight=False), out


async def test_the_demo_story_happens(tmp_path):
    console, out = transcript_console()
    assert await demo.run(workdir=tmp_path, console=console) == 0, out.getvalue()[-4000:]
    text = out.getvalue()
    for expected in (
        "DLCM202", "DLCM301", "completed/failure", "completed/success", "all clear",
        "read through the GitHub API", "$ dlcm check . --base main", "dlcm check failed",
        "Demo complete",
    ):
        assert expected in text, expected
    assert "<!--" not in text  # hidden markers are not shown to the reader


async def test_a_failed_expectation_fails_the_demo_loudly(tmp_path):
    async def broken_promise(d: demo.Demo) -> None:
        d.expect(False, "something that did not happen")

    console, out = transcript_console()
    steps = [demo.StepSpec("start", demo.start_github_and_app), demo.StepSpec("promise", broken_promise)]
    assert await demo.run(steps, workdir=tmp_path, console=console) == 1
    assert "DEMO FAILED" in out.getvalue() and "something that did not happen" in out.getvalue()


def test_steps_can_be_added_after_a_named_step():
    before = list(demo.STEPS)
    try:

        @demo.step("Open a change request", after="open_broken_pull_request")
        async def open_change_request(d: demo.Demo) -> None:  # pragma: no cover - never run
            pass

        names = [s.name for s in demo.STEPS]
        assert names[names.index("open_broken_pull_request") + 1] == "open_change_request"
    finally:
        demo.STEPS[:] = before


def test_the_fix_adds_what_the_broken_change_lacks():
    broken = demo.coupon_change(complete=False)
    fix = demo.fix_files()
    assert demo.MEMORY_COUPONS in fix and demo.MEMORY_COUPONS not in broken
    assert "getCoupon" in fix["packages/database-client/src/client.ts"]
    complete = demo.coupon_change(complete=True)
    assert all(complete[p] == text != broken.get(p) for p, text in fix.items())
