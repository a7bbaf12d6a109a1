"""DLCM504: the repository's own tests failed in CI (the Action runs them; the App never does)."""

from ..findings import CheckContext, Rule


def check(ctx: CheckContext):
    res = ctx.options.get("tests_result")
    if not res or res.get("exit_code", 0) == 0:
        return
    tail = " / ".join(res.get("output_tail", [])[-3:])
    yield RULE.finding(
        f"`{res.get('command')}` exited with {res.get('exit_code')}"
        + (f" ({tail})" if tail else "")
        + ". Fix the failing tests; the change is not complete until they pass.",
        "package.json", 1, key="tests-failed")


RULE = Rule(
    id="DLCM504", name="tests-failed", title="The repository's test command failed", severity="error",
    category="tests", check=check, scope="change",
    why="A change whose tests fail is not complete, whatever else is in place.",
    fix="Run the test command locally (default `pnpm test`), fix what fails and push again.",
)
