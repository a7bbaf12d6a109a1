"""DLCM203: an implementation of a repository interface lacks one of its methods."""

from ..findings import CheckContext, Rule
from .dlcm2_shared import (
    class_members, declared_in, factory_is_open, has_source, is_factory, method_declared_optional,
)


def check(ctx: CheckContext):
    model = ctx.head
    repos = {r.name: r for r in model.repositories}
    for impl in model.implementations:
        iface = repos.get(impl.interface or "")
        if iface is None or not iface.methods:
            continue
        have = {m.name for m in impl.methods}
        missing = [m for m in iface.methods if m.name not in have]
        if not missing:
            continue
        missing = [m for m in missing if not method_declared_optional(ctx, iface, m)]
        if not missing:
            continue
        if is_factory(impl):
            if not impl.methods or factory_is_open(ctx, impl):
                continue  # `{ ...base, x }` or a returned class instance: members we cannot see
        elif has_source(ctx):
            members = class_members(ctx, impl.file, impl.name)
            if members is None:
                continue  # extends a class outside the repository: it may provide them
            missing = [m for m in missing if m.name not in members]
        seen = set()
        for m in missing:
            if m.name in seen:
                continue
            seen.add(m.name)
            f, line = declared_in(ctx, iface, m)
            params = ", ".join(p.name + ("?" if p.optional else "") + (": " + p.type if p.type else "")
                               for p in m.params)
            sig = f"{m.name}({params})" + (f": {m.returns}" if m.returns else "")
            yield RULE.finding(
                f"`{impl.name}` implements `{iface.name}` but has no method `{m.name}` (declared at {f}:{line}). "
                f"Add `{sig}` to `{impl.name}`.",
                impl.file, impl.line, key=f"{impl.name}.{m.name}")


RULE = Rule(
    id="DLCM203", name="implementation-missing-method", title="Repository implementation lacks an interface method",
    severity="error", category="repositories", check=check,
    why="Every implementation of a repository must offer every method of its interface, or the service fails "
        "(or does not compile) with that implementation.",
    fix="Add the missing method to the implementation, with the interface's signature.",
)
