"""DLCM501: an endpoint added by the change has no test."""

from ..findings import CheckContext, Rule
from .dlcm2_shared import api_links, display_path, is_wildcard, route_tested, test_paths


def check(ctx: CheckContext):
    if ctx.base is None:
        return
    model = ctx.head
    links = api_links(ctx)
    base_links = api_links(ctx, ctx.base)
    # an endpoint that only moved under a new mount prefix (`basePath('/api/v1')`) is not new
    before = {(r.method, p) for r in ctx.base.routes for p in {r.path, base_links.unprefixed(r.path)}}
    paths = test_paths(model)
    for ri, rt in enumerate(links.routes):
        if rt.method == "ALL" or is_wildcard(rt):
            continue
        if (rt.method, rt.path) in before or (rt.method, links.unprefixed(rt.path)) in before:
            continue
        if route_tested(model, rt, links, ri, paths):
            continue
        shown = display_path(rt.raw_path)
        test_dir = _test_dir(model, rt.package)
        where = f" (e.g. in {test_dir})" if test_dir else ""
        yield RULE.finding(
            f"New endpoint `{rt.method} {shown}` has no test: no test file calls its path or the client method "
            f"for it. Add a test{where} that calls `{rt.method} {shown}` for the success and the not-found/invalid "
            f"cases.",
            rt.file, rt.line, key=f"{rt.method} {rt.path}")


def _test_dir(model, package: str | None) -> str | None:
    files = sorted(t.file for t in model.tests
                   if t.package == package and any(x in t.file for x in (".test.", ".spec.")))
    return files[0].rsplit("/", 1)[0] + "/" if files else None


RULE = Rule(
    id="DLCM501", name="endpoint-untested", title="New endpoint has no test",
    severity="warning", category="tests", check=check, scope="change",
    why="An endpoint no test calls can break (validation, status codes, not-found handling) without anyone "
        "noticing before consumers do.",
    fix="Add a test that calls the endpoint (through the app or the typed client).",
)
