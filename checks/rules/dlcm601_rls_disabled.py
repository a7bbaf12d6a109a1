"""DLCM601: a table the change creates in an API-exposed schema has no row level security."""

from ..findings import CheckContext, Rule
from .dlcm6_common import exposed_schemas, table_history


def check(ctx: CheckContext):
    exposed = exposed_schemas(ctx)
    tables = ctx.head.schema_.tables
    for key, ops in table_history(ctx).items():
        t = tables.get(key)
        if t is None or t.schema_ not in exposed or t.rls_enabled:
            continue
        culprit = next((n for n in reversed(ops) if n.op.kind in ("create_table", "disable_rls")), None)
        if culprit is None:
            continue  # a table of the base branch the change did not create nor change RLS of
        enable = f"`alter table {key} enable row level security;`"
        if culprit.op.kind == "disable_rls":
            msg = (f"This disables row level security on `{key}`, which the Data API exposes: every row becomes "
                   f"readable and writable with the anon key wherever the table privileges allow it. Keep RLS on "
                   f"(remove this statement, or re-enable it with {enable}) and express access with policies.")
        else:
            msg = (f"Table `{key}` is created in the `{t.schema_}` schema, which the Data API exposes, without row "
                   f"level security: anyone with the anon key can read and change its rows. Add {enable} in this "
                   f"migration, and policies for the access the app needs.")
        yield RULE.finding(msg, culprit.file, culprit.line, key=f"{culprit.file}:{key}")


RULE = Rule(
    id="DLCM601", name="rls-disabled", title="Exposed table without row level security",
    severity="error", category="security", check=check, scope="change",
    why="Supabase serves every table of an exposed schema (`public` by default) through its Data API; without "
        "RLS the anon key shipped in every client can read and modify all rows.",
    fix="`alter table <table> enable row level security;` in the same migration, plus policies for the access "
        "the app needs (none: only the service role can use the table).",
)
