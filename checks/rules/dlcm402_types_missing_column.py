"""DLCM402: a column of the schema is missing from the generated types' Row."""

from ..findings import CheckContext, Rule
from .dlcm4_shared import matched_tables


def check(ctx: CheckContext):
    for types, cmd, tt, table in matched_tables(ctx.head):
        if not tt.row:
            continue
        for col in table.columns.values():
            if col.name in tt.row:
                continue
            yield RULE.finding(
                f"Column `{tt.schema_}.{tt.name}.{col.name}` ({col.type}{'' if col.nullable else ', not null'}) "
                f"is missing from the `{tt.name}` Row of {types.file}; regenerate the types: {cmd}.",
                types.file, tt.line, key=f"{tt.schema_}.{tt.name}.{col.name}")


RULE = Rule(
    id="DLCM402", name="types-missing-column", title="Generated types lack a column",
    severity="error", category="types", check=check,
    why="A column added by a migration but missing from the generated types cannot be read or written with "
        "type checking; the types were not regenerated.",
    fix="Regenerate the types after applying the migrations.",
)
