"""DLCM403: a column's nullability in the generated types differs from the schema."""

from ..findings import CheckContext, Rule
from .dlcm4_shared import matched_columns


def check(ctx: CheckContext):
    for types, cmd, tt, tc, col in matched_columns(ctx.head):
        if tc.nullable == col.nullable or tc.ts_type.strip() in ("unknown", "any"):
            continue
        if col.nullable:
            what = f"is nullable in the schema but `{tc.ts_type}` (no `| null`) in the types"
        else:
            what = f"is `not null` in the schema but `{tc.ts_type}` in the types"
        yield RULE.finding(
            f"Column `{tt.schema_}.{tt.name}.{col.name}` {what}; regenerate the types: {cmd}.",
            types.file, tc.line, key=f"{tt.schema_}.{tt.name}.{col.name}")


RULE = Rule(
    id="DLCM403", name="types-nullability-mismatch", title="Generated types disagree on nullability",
    severity="error", category="types", check=check,
    why="Types that say a column is never null when the database allows null (or the reverse) hide null "
        "handling bugs; the types were not regenerated after `set/drop not null` or a new column.",
    fix="Regenerate the types after applying the migrations.",
)
