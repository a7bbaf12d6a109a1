"""DLCM604: privileges on tables granted to `anon` (or `public`, which includes it)."""

from ..findings import CheckContext, Rule
from .dlcm6_common import new_ops

_TABLE_KINDS = ("table", "all tables in schema", "view")
_WRITE = ("insert", "update", "delete", "all", "truncate")


def check(ctx: CheckContext):
    tables = ctx.head.schema_.tables
    for n in new_ops(ctx):
        op = n.op
        if op.kind != "grant":
            continue
        d = op.detail
        roles = [r.lower() for r in d.get("roles") or []]
        who = [r for r in roles if r in ("anon", "public")]
        if not who or d.get("object_kind") not in _TABLE_KINDS:
            continue
        privs = [p.lower() for p in d.get("privileges") or []]
        writes = sorted({p for p in privs if p.split("(", 1)[0].strip() in _WRITE})
        whole_schema = d.get("object_kind") == "all tables in schema"
        objects = d.get("objects") or []
        what = (f"every table in schema {', '.join(f'`{o}`' for o in objects)}" if whole_schema
                else ", ".join(f"`{o}`" for o in objects))
        role = " and ".join(f"`{r}`" for r in who) + (" (every role, anon included)" if "public" in who else "")
        if writes:
            yield RULE.finding(
                f"Grants {', '.join(writes)} on {what} to {role}: the anon key shipped in every client may then "
                f"change rows, limited only by RLS policies. Grant writes to `authenticated` (or do them in the "
                f"Database Service with the service role) and revoke them from anon.",
                n.file, n.line, severity="error", key=f"{n.file}:{n.line}")
            continue
        if whole_schema:
            no_rls = sorted(k for k, t in tables.items() if t.schema_ in objects and not t.rls_enabled)
        else:
            no_rls = sorted(o for o in objects if (t := tables.get(o if "." in o else f"public.{o}")) is not None
                            and not t.rls_enabled)
        if no_rls:
            yield RULE.finding(
                f"Grants {', '.join(privs)} on {what} to {role}, and {', '.join(f'`{k}`' for k in no_rls)} "
                f"{'has' if len(no_rls) == 1 else 'have'} no row level security: anyone with the anon key reads every "
                f"row. Enable RLS with a policy for the rows anon may see, or do not grant to anon.",
                n.file, n.line, severity="error", key=f"{n.file}:{n.line}")
        else:
            yield RULE.finding(
                f"Grants {', '.join(privs)} on {what} to {role}: unauthenticated clients can read whatever the RLS "
                f"policies let anon see. That may be intended (a public catalogue); check the select policies of "
                f"the table and confirm with `-- dlcm-ignore DLCM604: public data` if so.",
                n.file, n.line, key=f"{n.file}:{n.line}")


RULE = Rule(
    id="DLCM604", name="grant-to-anon", title="Table privileges granted to anon",
    severity="warning", category="security", check=check, scope="change",
    why="`anon` is the role of every request made with the public anon key, i.e. of anybody on the internet.",
    fix="Grant to `authenticated` instead, keep RLS on with policies that restrict anon, or route the access "
        "through the Database Service.",
)
