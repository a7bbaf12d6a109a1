"""DLCM404: the generated types hold a table or column the schema no longer has."""

from ..findings import CheckContext, Rule
from .dlcm4_shared import checked_types, regen_command, rel_tables, rel_views, schemas_of


def check(ctx: CheckContext):
    model = ctx.head
    for types in checked_types(model):
        cmd = regen_command(model, types.file)
        for tt in types.tables.values():
            if tt.schema_ not in schemas_of(types):
                continue
            tables, views = rel_tables(model, tt.schema_), rel_views(model, tt.schema_)
            if tt.name not in tables and tt.name not in views:
                yield RULE.finding(
                    f"{'View' if tt.kind == 'view' else 'Table'} `{tt.schema_}.{tt.name}` is in the generated types "
                    f"{types.file} but not in the schema the migrations build (dropped or renamed by a migration, or "
                    f"never created by one); "
                    f"regenerate the types: {cmd}.",
                    types.file, tt.line, key=f"{tt.schema_}.{tt.name}")
                continue
            table = tables.get(tt.name)
            if table is None or tt.kind != "table":
                continue
            for name, tc in tt.row.items():
                if name in table.columns:
                    continue
                yield RULE.finding(
                    f"Column `{tt.schema_}.{tt.name}.{name}` is in the generated types but not in the schema the "
                    f"migrations build (dropped or renamed by a migration, or never created by one); regenerate the "
                    f"types: {cmd}.",
                    types.file, tc.line, key=f"{tt.schema_}.{tt.name}.{name}")


RULE = Rule(
    id="DLCM404", name="types-stale", title="Generated types hold what the schema no longer has",
    severity="error", category="types", check=check,
    why="Stale types let code compile against tables or columns that no longer exist; it fails at run time.",
    fix="Regenerate the types after applying the migrations.",
)
