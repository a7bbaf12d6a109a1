"""DLCM605: a write policy whose condition is `true` (any row, any user the policy applies to)."""

from ..findings import CheckContext, Rule
from .dlcm6_common import PRIVILEGED_ROLES, fmt_roles, is_true, new_ops

_WRITE = ("insert", "update", "delete", "all")


def check(ctx: CheckContext):
    policies = ctx.head.schema_.policies
    for n in new_ops(ctx):
        op = n.op
        if op.kind not in ("create_policy", "alter_policy"):
            continue
        pol = policies.get(f"{op.schema_ or 'public'}.{op.table}.{op.name}")
        if pol is None or not pol.permissive or pol.command not in _WRITE:
            continue
        if set(r.lower() for r in pol.roles) <= PRIVILEGED_ROLES:
            continue
        # only what this statement sets: an alter that does not touch the condition is not the culprit
        d = op.detail
        using = d.get("using") if op.kind == "alter_policy" else pol.using
        check_ = d.get("with_check") if op.kind == "alter_policy" else pol.with_check
        open_ = [c for c, e in (("using", using), ("with check", check_)) if is_true(e)]
        if not open_:
            continue
        yield RULE.finding(
            f"Policy \"{pol.name}\" on `{pol.table}` lets {fmt_roles(pol.roles)} {pol.command} "
            f"{'any row' if pol.command != 'insert' else 'rows for anyone'}: its {' and '.join(f'`{c} (true)`' for c in open_)} "
            f"accepts every row. Restrict it to the user's own rows, e.g. `{open_[0]} ((select auth.uid()) = user_id)`, "
            f"or, if every signed-in user may really write every row, confirm with `-- dlcm-ignore DLCM605: reason`.",
            n.file, n.line, key=f"{n.file}:{pol.table}.{pol.name}")


RULE = Rule(
    id="DLCM605", name="permissive-write-policy", title="Write policy that allows every row",
    severity="warning", category="security", check=check, scope="change",
    why="A permissive insert/update/delete policy with `using (true)` or `with check (true)` lets every user the "
        "policy applies to modify every row, including other users' data.",
    fix="Compare the row's owner column with `auth.uid()` (e.g. `using ((select auth.uid()) = user_id)`).",
)
