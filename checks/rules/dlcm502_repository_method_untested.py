"""DLCM502: a repository method added by the change has no test."""

import re

from ..findings import CheckContext, Rule
from .dlcm2_shared import api_links, declared_in, impls_of, route_tested, test_paths


def _aliases(ctx: CheckContext, iface) -> set[str]:
    """Names code uses for a repository: `coupons`, `couponRepository`, `couponRepo`, its classes, its tables."""
    suffix = ctx.config.naming.repository_suffix
    stem = iface.name[: -len(suffix)] if suffix and iface.name.endswith(suffix) else iface.name
    low = stem.lower()
    out = {iface.name.lower(), low, low + "s", low + "es", low + "repository", low + "repo", low + "srepository",
           low + "srepo"}
    out.update(t.replace("_", "").lower() for t in iface.tables)
    out.update(i.name.lower() for i in impls_of(ctx.head, iface.name))
    return out


def _mentions(ident: str, aliases: set[str]) -> bool:
    return any(part.lower().replace("_", "") in aliases for part in re.split(r"[.\s]", ident))


def check(ctx: CheckContext):
    if ctx.base is None:
        return
    model = ctx.head
    before = {(r.name, m.name) for r in ctx.base.repositories for m in r.methods}
    owners: dict[str, int] = {}
    for r in model.repositories:
        for name in {m.name for m in r.methods}:
            owners[name] = owners.get(name, 0) + 1
    links = api_links(ctx)
    paths = test_paths(model)
    by_name = _tests_by_name(model)
    calls_by_name: dict[str, list[tuple[int, str]]] = {}
    for ri, rt in enumerate(links.routes):
        for c in rt.handler_calls:
            calls_by_name.setdefault(c.rpartition(".")[2], []).append((ri, c))
    for iface in model.repositories:
        aliases = _aliases(ctx, iface)
        seen: set[str] = set()
        for m in iface.methods:
            if (iface.name, m.name) in before or m.name in seen:
                continue
            seen.add(m.name)
            shared = owners.get(m.name, 0) > 1  # `create`, `findById`: the name alone proves nothing
            if _tested_directly(by_name, m.name, aliases, shared):
                continue
            # through an endpoint whose handler calls it and whose path a test calls
            if any(_call_is(c, m.name, aliases, shared) and route_tested(model, links.routes[ri], links, ri, paths)
                   for ri, c in calls_by_name.get(m.name, ())):
                continue
            f, line = declared_in(ctx, iface, m)
            yield RULE.finding(
                f"New repository method `{iface.name}.{m.name}` has no test: no test calls it, directly or through "
                f"an endpoint that uses it. Add a test against the in-memory implementation (or through the "
                f"endpoint) covering its results and edge cases.",
                f, line, key=f"{iface.name}.{m.name}")


def _tested_directly(by_name: dict[str, list], name: str, aliases: set[str], shared: bool) -> bool:
    for t in by_name.get(name, ()):
        if not shared:
            return True
        ids = t.identifiers
        # a dotted call through the repository (`repos.coupons.create`) or a test that imports its classes
        if any(i.endswith("." + name) and _mentions(i[: -len(name) - 1], aliases) for i in ids):
            return True
        if any(i.lower() in aliases for i in ids):
            return True
    return False


def _tests_by_name(model) -> dict[str, list]:
    """Test files by the method names they mention (`x`, or the last part of `a.b.x`)."""
    out: dict[str, list] = {}
    for t in model.tests:
        names = {i.rpartition(".")[2] for i in t.identifiers if not i.startswith("/")}
        for n in names:
            out.setdefault(n, []).append(t)
    return out


def _call_is(call: str, name: str, aliases: set[str], shared: bool) -> bool:
    owner, _, meth = call.rpartition(".")
    if meth != name:
        return False
    return not shared or not owner or _mentions(owner, aliases)


RULE = Rule(
    id="DLCM502", name="repository-method-untested", title="New repository method has no test",
    severity="warning", category="tests", check=check, scope="change",
    why="Repository methods hold the queries; an untested one can return wrong rows or break the in-memory "
        "and Supabase implementations' agreement unnoticed.",
    fix="Add a test that calls the method (directly or through the endpoint that uses it).",
)
