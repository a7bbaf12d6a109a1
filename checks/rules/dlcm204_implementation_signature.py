"""DLCM204: an implementation method's parameters do not fit the interface method."""

from ..findings import CheckContext, Rule
from .dlcm2_shared import declared_in, has_rest, primitive_of, required_count


def _sig(params) -> str:
    return "(" + ", ".join(("..." if p.rest else "") + p.name + ("?" if p.optional else "")
                           + (": " + p.type if p.type else "") for p in params) + ")"


def check(ctx: CheckContext):
    model = ctx.head
    repos = {r.name: r for r in model.repositories}
    for impl in model.implementations:
        iface = repos.get(impl.interface or "")
        if iface is None:
            continue
        names = [m.name for m in iface.methods]
        imethods = {m.name: m for m in iface.methods if names.count(m.name) == 1}  # overloads: skip
        inames = [m.name for m in impl.methods]
        for m in impl.methods:
            im = imethods.get(m.name)
            if im is None or inames.count(m.name) != 1:
                continue
            if m.kind == "property" and not m.params:
                continue  # shorthand `{ find }`: the signature is elsewhere
            if im.kind == "property" and not im.params and im.returns is None:
                continue  # `find: FindFn`: not a signature we can read
            problem = None
            if not has_rest(im.params) and not has_rest(m.params):
                i_req, i_all = required_count(im.params), len(im.params)
                m_req, m_all = required_count(m.params), len(m.params)
                if m_req > i_req:
                    extra = [p.name for p in m.params if not p.optional and not p.rest][i_req:]
                    problem = (f"it requires {m_req} argument{'s' if m_req != 1 else ''} but the interface passes "
                               f"{'only ' if i_req else ''}{i_req} (extra required: {', '.join(extra)}); "
                               f"make {'them' if len(extra) > 1 else 'it'} optional or add "
                               f"{'them' if len(extra) > 1 else 'it'} to the interface")
                elif 0 < m_all < i_req:  # `async () => []` is a deliberate stub, `(userId)` a forgotten update
                    lost = [p.name for p in im.params if not p.optional][m_all:]
                    problem = (f"it takes {m_all} parameter{'s' if m_all != 1 else ''} but the interface requires "
                               f"{i_req}, so `{', '.join(lost)}` is ignored; add the parameter"
                               f"{'s' if len(lost) > 1 else ''} (prefix the name with `_` if it is really unused)")
            if problem is None:
                for a, b in zip(im.params, m.params):
                    if a.rest or b.rest:
                        break
                    pa, pb = primitive_of(a.type), primitive_of(b.type)
                    if pa and pb and pa != pb:
                        problem = (f"parameter `{b.name}` is `{b.type}` but the interface declares `{a.name}: {a.type}`;"
                                   f" use the interface's type")
                        break
            if problem is None:
                continue
            f, line = declared_in(ctx, iface, im)
            yield RULE.finding(
                f"`{impl.name}.{m.name}{_sig(m.params)}` does not match `{iface.name}.{im.name}{_sig(im.params)}` "
                f"({f}:{line}): {problem}.",
                impl.file, m.line, key=f"{impl.name}.{m.name}")


RULE = Rule(
    id="DLCM204", name="implementation-signature-mismatch", title="Repository method parameters differ from the interface",
    severity="error", category="repositories", check=check,
    why="An implementation whose parameters differ from the interface either does not compile or silently "
        "ignores an argument (a filter, a limit), so the Supabase and in-memory behaviours diverge.",
    fix="Give the implementation method the interface's parameters (an unused one can be named `_x`; "
        "trailing optional ones may be omitted).",
)
