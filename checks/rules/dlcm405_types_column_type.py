"""DLCM405: a column's type in the generated types does not match its database type."""

from ..findings import CheckContext, Rule
from .dlcm4_shared import actual_ts, expected_ts, matched_columns


def _show(t: str) -> str:
    if t.startswith("enum:"):
        s, _, n = t[5:].partition(".")
        arr = ""
        while n.endswith("[]"):
            arr += "[]"
            n = n[:-2]
        return f'Database["{s}"]["Enums"]["{n}"]{arr}'
    return t


def check(ctx: CheckContext):
    model = ctx.head
    for types, cmd, tt, tc, col in matched_columns(model):
        want, got = expected_ts(model, col.type), actual_ts(tc.ts_type)
        if want is None or got is None or want == got:
            continue
        yield RULE.finding(
            f"Column `{tt.schema_}.{tt.name}.{col.name}` is `{col.type}` in the schema (`{_show(want)}` in "
            f"TypeScript) but `{tc.ts_type}` in the generated types; regenerate the types: {cmd}.",
            types.file, tc.line, key=f"{tt.schema_}.{tt.name}.{col.name}")


RULE = Rule(
    id="DLCM405", name="types-column-type-mismatch", title="Generated types disagree on a column type",
    severity="error", category="types", check=check,
    why="After `alter column ... type` the old generated type lets code write values the database rejects "
        "(or read values as the wrong type).",
    fix="Regenerate the types after applying the migrations.",
)
