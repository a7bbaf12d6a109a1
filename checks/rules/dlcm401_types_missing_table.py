"""DLCM401: a table or view of the schema is missing from the generated types."""

from ..findings import CheckContext, Rule
from .dlcm4_shared import checked_types, regen_command, rel_tables, rel_views, schemas_of, section_line


def check(ctx: CheckContext):
    model = ctx.head
    for types in checked_types(model):
        have = {(t.schema_, t.name) for t in types.tables.values()}
        cmd = regen_command(model, types.file)
        for schema in sorted(schemas_of(types)):
            for kind, objs, section in (("table", rel_tables(model, schema), "Tables"),
                                        ("view", rel_views(model, schema), "Views")):
                for name in objs:
                    if (schema, name) in have:
                        continue
                    yield RULE.finding(
                        f"{kind.capitalize()} `{schema}.{name}` exists in the migrations but not in the generated "
                        f"types {types.file}; regenerate them: {cmd} (with the migrations applied locally).",
                        types.file, section_line(ctx, types, schema, section), key=f"{schema}.{name}")


RULE = Rule(
    id="DLCM401", name="types-missing-table", title="Generated types lack a table",
    severity="error", category="types", check=check,
    why="Code that uses a table the generated types do not know has no type checking (or does not compile); "
        "the types were not regenerated after the migration.",
    fix="Run `supabase gen types typescript --local > <types file>` after applying the migrations.",
)
