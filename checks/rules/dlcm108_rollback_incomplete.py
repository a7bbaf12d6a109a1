"""DLCM108: replaying a migration then its rollback must give back the schema before it (static).

`dlcm rollback-test` proves the same on a real PostgreSQL; this rule needs no database and
runs on every check. The message lists every difference (what the rollback leaves behind
or does not restore). Statements of the rollback that would fail (dropping something that
does not exist at that point) are reported at their line.
"""

from __future__ import annotations

from ..findings import CheckContext, Rule
from ..model import Diagnostic

MAX_LISTED = 12


def _describe(diffs) -> str:
    shown = [str(d) for d in diffs[:MAX_LISTED]]
    text = "; ".join(shown)
    if len(diffs) > MAX_LISTED:
        text += f"; and {len(diffs) - MAX_LISTED} more (run `dlcm rollback-test` for the full list)"
    return text


def _q(name: str) -> str:
    return name if name.replace("_", "").isalnum() and name == name.lower() else '"' + name.replace('"', '""') + '"'


def _split(obj: str) -> tuple[str, str]:
    """"schema.table.name" -> ("schema.table", "name")."""
    parts = obj.split(".")
    return ".".join(parts[:2]), ".".join(parts[2:])


def suggest(d, after) -> str | None:
    """The statement a rollback is missing for one difference of kind `*_added` (left behind)."""
    k, o = d.kind, d.object
    if k == "table_added":
        return f"drop table {o};"
    if k == "column_added":
        t, c = _split(o)
        return f"alter table {t} drop column {_q(c)};"
    if k == "constraint_added":
        t, c = _split(o)
        return f"alter table {t} drop constraint {_q(c)};"
    if k == "index_added":
        return f"drop index {o};"
    if k == "policy_added" and o in after.policies:
        p = after.policies[o]
        return f"drop policy {_q(p.name)} on {p.table};"
    if k == "trigger_added" and o in after.triggers:
        t = after.triggers[o]
        return f"drop trigger {_q(t.name)} on {t.table};"
    if k == "function_added":
        return f"drop function {o};"
    if k == "view_added":
        return f"drop {'materialized ' if after.views[o].materialized else ''}view {o};" if o in after.views else None
    if k == "enum_added":
        return f"drop type {o};"
    return None


# Ops whose effect stays within the tables they name (and those tables' indexes, policies,
# triggers, grants) or within the schema-wide collections copied whole (functions, enums, views,
# grants). A migration + rollback made only of these can be replayed on the part of the schema
# they touch; anything else (renames, type and schema changes, unknown statements) replays on a
# copy of the whole schema.
_LOCAL_KINDS = frozenset({
    "create_table", "drop_table", "add_column", "drop_column", "alter_column_type", "set_not_null",
    "drop_not_null", "set_default", "drop_default", "add_constraint", "drop_constraint", "validate_constraint",
    "rename_constraint", "create_index", "drop_index", "rename_index", "enable_rls", "disable_rls", "force_rls",
    "no_force_rls", "create_policy", "drop_policy", "alter_policy", "rename_policy", "create_trigger",
    "drop_trigger", "rename_trigger", "create_function", "drop_function", "alter_function", "create_enum",
    "add_enum_value", "create_view", "drop_view", "grant", "revoke", "comment", "insert", "update", "delete",
    "create_schema", "create_extension",
})


def _table_of_ref(ref: str | None) -> str | None:
    """"schema.table.column" or "schema.table" -> "schema.table"."""
    if not ref:
        return None
    parts = ref.split(".")
    return ".".join(parts[:2]) if len(parts) >= 2 else None


_DEPENDANTS = frozenset({"drop_table", "drop_column", "alter_column_type", "drop_constraint"})


def _scope(ops, schema) -> tuple[set[str], set[str]] | None:
    """(tables, index keys) the ops can affect, or None when they may reach further.

    Tables named by an op, tables its new foreign keys reference, tables whose foreign keys
    point at a table an op drops (or drops a column or constraint of), tables whose triggers
    use a function an op drops or replaces."""
    tables: set[str] = set()
    dropping: set[str] = set()
    indexes: set[str] = set()
    functions: set[str] = set()
    for op in ops:
        if op.kind not in _LOCAL_KINDS:
            return None
        sch = op.schema_ or "public"
        named = None
        if op.table:
            named = f"{sch}.{op.table}" if "." not in op.table else op.table
            tables.add(named)
            if op.kind in _DEPENDANTS:
                dropping.add(named)
        d = op.detail or {}
        for key in ("table", "partition_of", "ref_table"):
            v = d.get(key)
            if isinstance(v, str) and "." in v:
                tables.add(v)
        for like in d.get("like") or []:
            if isinstance(like, dict) and like.get("table"):
                tables.add(like["table"])
        for c in d.get("constraints") or []:
            if isinstance(c, dict) and c.get("ref_table"):
                tables.add(c["ref_table"])
        cols = d.get("columns")
        for col in (cols.values() if isinstance(cols, dict) else []):
            t = _table_of_ref(col.get("references")) if isinstance(col, dict) else None
            if t:
                tables.add(t)
        t = _table_of_ref(d.get("references")) if isinstance(d.get("references"), str) else None
        if t:
            tables.add(t)
        if op.kind in ("create_index", "drop_index", "rename_index") and op.name:
            indexes.add(f"{sch}.{op.name}")
            if op.new_name:
                indexes.add(f"{sch}.{op.new_name}")
        if op.kind in ("drop_function", "create_function", "alter_function") and op.name:
            functions.add(f"{sch}.{op.name}")
    if dropping:
        for k, t in schema.tables.items():
            if k not in tables and (
                    any(c.ref_table in dropping for c in t.constraints)
                    or any(_table_of_ref(c.references) in dropping for c in t.columns.values() if c.references)):
                tables.add(k)
    if functions:
        tables |= {tr.table for tr in schema.triggers.values() if tr.function in functions}
    return tables, indexes


def _sub_schema(schema, tables: set[str], indexes: set[str]):
    from ..model import Schema

    return Schema.model_construct(
        tables={k: t for k, t in schema.tables.items() if k in tables},
        indexes={k: i for k, i in schema.indexes.items() if i.table in tables or k in indexes},
        policies={k: p for k, p in schema.policies.items() if p.table in tables},
        triggers={k: t for k, t in schema.triggers.items() if t.table in tables},
        functions=schema.functions, enums=schema.enums, views=schema.views, grants=schema.grants,
    )


def check(ctx: CheckContext):
    yield from _check(ctx, scoped=True)


def _check(ctx: CheckContext, scoped: bool = True):
    """`scoped`: replay each tested migration and its rollback on the part of the schema they can
    touch (a small copy) instead of a copy of the whole schema: without a base every migration
    is tested, and whole-schema copies make that quadratic in the number of migrations."""
    from ..sql.replay import Replayer, copy_schema, diff_schemas

    new = {m.path for m in ctx.new_migrations()}
    rollbacks = {r.path: r for r in ctx.head.rollbacks}
    r = Replayer()
    for m in ctx.head.migrations:
        rb = rollbacks.get(m.rollback) if m.rollback else None
        if m.path not in new or rb is None or m.parse_error or rb.parse_error:
            r.apply([m])
            continue
        scope = _scope(m.ops + [op for st in rb.statements for op in st.ops], r.schema) if scoped else None
        if scope is not None:
            sub = _sub_schema(r.schema, *scope)
            before = copy_schema(sub)
            trial = Replayer(sub)  # copies
            trial.other_types = set(r.other_types)
            trial.apply([m])
            out = list(_findings(m, rb, trial.apply([rb]), before, trial.schema, diff_schemas))
            r.apply([m])
            yield from out
            continue
        # one copy of the whole schema: snapshot, then migration and rollback on the live replayer,
        # compare, and rebuild the state after the migration from the snapshot
        before = r.snapshot()
        types_before = set(r.other_types)
        r.apply([m])
        out = list(_findings(m, rb, r.apply([rb]), before, r.schema, diff_schemas))
        r = Replayer(before, copy=False)
        r.other_types = types_before
        r.apply([m])
        yield from out


def _findings(m, rb, warnings, before, after, diff_schemas):
    for w in warnings:
        if isinstance(w, Diagnostic) and w.file == rb.path and "could not apply" not in w.message:
            yield RULE.finding(
                f"This statement of the rollback would fail after migration `{m.stem}`: {w.message}. Make it "
                f"match what the migration created (or use `if exists`).",
                rb.path, w.line, severity="warning", key=f"{rb.path}:{w.message}")
    # PostgreSQL cannot drop an enum value: a rollback cannot undo `alter type ... add value`
    diffs = [d for d in diff_schemas(before, after) if d.kind != "enum_values_changed"
             or not any(op.kind == "add_enum_value" for op in m.ops)]
    if not diffs:
        return
    fixes = [s for s in (suggest(d, after) for d in diffs) if s]
    add = (" Missing, e.g.: " + " ".join(f"`{s}`" for s in fixes[:MAX_LISTED]) + "." if fixes else "")
    yield RULE.finding(
        f"Rollback does not undo migration `{m.stem}`: after the migration and then this rollback, "
        f"{_describe(diffs)}.{add} Add what is missing to the rollback, in reverse order of the migration "
        f"(check with `dlcm rollback-test`).",
        rb.path, 1, key=rb.path)


RULE = Rule(
    id="DLCM108", name="rollback-incomplete", title="Rollback does not undo its migration",
    severity="error", category="migrations", check=check, scope="change",
    why="A rollback that leaves tables, columns, policies or functions behind fails the next deploy of the same "
        "migration, or leaves a schema nobody planned.",
    fix="Make the rollback drop/restore exactly what the migration created/changed, in reverse order.",
)
