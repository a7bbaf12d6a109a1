"""DLCM602: row level security is on but the table has no policy (every API access denied)."""

from ..findings import CheckContext, Rule
from .dlcm6_common import exposed_schemas, table_history


def check(ctx: CheckContext):
    exposed = exposed_schemas(ctx)
    schema = ctx.head.schema_
    with_policy = {p.table for p in schema.policies.values()}
    for key, ops in table_history(ctx).items():
        t = schema.tables.get(key)
        if t is None or t.schema_ not in exposed or not t.rls_enabled or key in with_policy:
            continue
        culprit = next((n for n in reversed(ops) if n.op.kind in ("enable_rls", "drop_policy")), None)
        if culprit is None:
            continue
        if culprit.op.kind == "drop_policy":
            what = f"This drops the last policy of `{key}`, which has row level security on"
        else:
            what = f"Row level security is enabled on `{key}` but the table has no policy"
        yield RULE.finding(
            f"{what}: every read and write through the Data API (anon and authenticated users) is denied; only "
            f"the service role, which bypasses RLS, can use it. Add `create policy ... on {key} ...` for the access "
            f"the app needs, or, if the table is server-only on purpose, say so here with "
            f"`-- dlcm-ignore DLCM602: server-only table`.",
            culprit.file, culprit.line, key=f"{culprit.file}:{key}")


RULE = Rule(
    id="DLCM602", name="rls-without-policy", title="Row level security enabled without any policy",
    severity="warning", category="security", check=check, scope="change",
    why="With RLS on and no policy, PostgreSQL denies every row to non-owner roles: the app's queries through the "
        "Data API silently return nothing and inserts fail.",
    fix="Create the policies the app needs in the same migration, or document that the table is server-only.",
)
