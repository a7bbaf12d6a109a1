"""DLCM502: a repository method added by the change has no test."""

from ..findings import CheckContext, Rule
from .dlcm2_shared import api_links, declared_in, route_tested, test_paths


def check(ctx: CheckContext):
    if ctx.base is None:
        return
    model = ctx.head
    before = {(r.name, m.name) for r in ctx.base.repositories for m in r.methods}
    idents: set[str] = set()
    for t in model.tests:
        idents.update(t.identifiers)
    links = api_links(ctx)
    paths = test_paths(model)
    tested_routes_calls: set[str] | None = None
    for iface in model.repositories:
        seen: set[str] = set()
        for m in iface.methods:
            if (iface.name, m.name) in before or m.name in seen:
                continue
            seen.add(m.name)
            if m.name in idents:
                continue
            if tested_routes_calls is None:  # methods an endpoint calls whose path a test calls
                tested_routes_calls = set()
                for ri, rt in enumerate(links.routes):
                    if rt.handler_calls and route_tested(model, rt, links, ri, paths):
                        tested_routes_calls.update(c.rsplit(".", 1)[-1] for c in rt.handler_calls)
            if m.name in tested_routes_calls:
                continue
            f, line = declared_in(ctx, iface, m)
            yield RULE.finding(
                f"New repository method `{iface.name}.{m.name}` has no test: no test calls `{m.name}` or an "
                f"endpoint that uses it. Add a test against the in-memory implementation (and the endpoint "
                f"that uses it) covering its results and edge cases.",
                f, line, key=f"{iface.name}.{m.name}")


RULE = Rule(
    id="DLCM502", name="repository-method-untested", title="New repository method has no test",
    severity="warning", category="tests", check=check, scope="change",
    why="Repository methods hold the queries; an untested one can return wrong rows or break the in-memory "
        "and Supabase implementations' agreement unnoticed.",
    fix="Add a test that calls the method (directly or through the endpoint that uses it).",
)
