"""DLCM702: a client method the change removes or renames is still called by a consumer."""

from ..findings import CheckContext, Rule
from .dlcm2_shared import client_source_defines, display_path


def check(ctx: CheckContext):
    if ctx.base is None:
        return
    head, base = ctx.head, ctx.base
    now = {(m.package, m.name) for m in head.client_methods}
    removed: dict[tuple[str, str], object] = {}
    for m in base.client_methods:
        if (m.package, m.name) not in now:
            removed.setdefault((m.package, m.name), m)
    # still declared in the client's source, through a call the extractor does not follow
    removed = {k: m for k, m in removed.items() if not client_source_defines(ctx, k[0], k[1])}
    if not removed:
        return
    for call in head.consumers:
        old = removed.get((call.client_package, call.method))
        if old is None:
            continue
        renamed = [m for m in head.client_methods if m.package == old.package and m.http_method == old.http_method
                   and m.path == old.path]
        owner = f"{old.class_name}.{old.name}" if old.class_name else old.name
        if renamed:
            todo = f"it was renamed to `{renamed[0].name}`: call that instead"
        else:
            todo = ("update the call in this change (or keep the client method, deprecated, until no consumer "
                    "calls it)")
        yield RULE.finding(
            f"`{call.symbol or call.file}` calls `{owner}` ({old.http_method} {display_path(old.raw_path)}), which this change "
            f"removes from {old.package}; {todo}.",
            call.file, call.line, key=f"{old.package}:{old.name}:{call.symbol}")


RULE = Rule(
    id="DLCM702", name="client-method-removed", title="Removed client method is still called",
    severity="error", category="breaking", check=check, scope="change",
    why="A consumer that calls a client method the change removes or renames no longer compiles, or fails at "
        "run time when it is deployed separately.",
    fix="Update every consumer in the same change, or keep the old method (deprecated) until none calls it.",
)
