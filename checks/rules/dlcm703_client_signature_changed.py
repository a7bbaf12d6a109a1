"""DLCM703: a client method's signature changed incompatibly (callers must change too)."""

from ..findings import CheckContext, Rule
from .dlcm2_shared import has_rest, primitive_of, required_count


def _sig(params) -> str:
    return "(" + ", ".join(("..." if p.rest else "") + p.name + ("?" if p.optional else "")
                           + (": " + p.type if p.type else "") for p in params) + ")"


def check(ctx: CheckContext):
    if ctx.base is None:
        return
    head, base = ctx.head, ctx.base
    old = {}
    for m in base.client_methods:
        old.setdefault((m.package, m.class_name, m.name), m)
    callers: dict[tuple[str, str], list] = {}
    for c in head.consumers:
        callers.setdefault((c.client_package, c.method), []).append(c)
    seen = set()
    for m in head.client_methods:
        k = (m.package, m.class_name, m.name)
        b = old.get(k)
        if b is None or k in seen:
            continue
        seen.add(k)
        calls = callers.get((m.package, m.name))
        if not calls:
            continue
        why = None
        if not has_rest(m.params) and not has_rest(b.params):
            if required_count(m.params) > required_count(b.params):
                new = [p.name for p in m.params if not p.optional][required_count(b.params):]
                why = f"new required parameter{'s' if len(new) > 1 else ''} {', '.join('`' + n + '`' for n in new)}"
        if why is None:
            for pb, pm in zip(b.params, m.params):
                a, z = primitive_of(pb.type), primitive_of(pm.type)
                if a and z and a != z:
                    why = f"parameter `{pm.name}` changed from `{pb.type}` to `{pm.type}`"
                    break
        if why is None:
            continue
        owner = f"{m.class_name}.{m.name}" if m.class_name else m.name
        listed = ", ".join(f"{c.file}:{c.line}" for c in calls[:10]) + (f" and {len(calls) - 10} more"
                                                                       if len(calls) > 10 else "")
        yield RULE.finding(
            f"`{owner}{_sig(b.params)}` became `{owner}{_sig(m.params)}` ({why}); it has {len(calls)} caller"
            f"{'s' if len(calls) != 1 else ''} to update: {listed}. Make the new parameter optional, or update "
            f"every caller in this change.",
            m.file, m.line, key=f"{owner}")


RULE = Rule(
    id="DLCM703", name="client-signature-changed", title="Client method signature changed incompatibly",
    severity="warning", category="breaking", check=check, scope="change",
    why="Consumers are separate components, often deployed separately: a new required parameter or a changed "
        "parameter type breaks every caller that is not updated with it.",
    fix="Add new parameters as optional (or as a new method) and migrate callers, or update all callers together.",
)
