"""DLCM701: a table or column the change drops or renames is still used by code."""

from ..findings import CheckContext, Rule

USES = {"select": "selects", "insert": "inserts", "update": "updates", "upsert": "upserts", "delete": "deletes from",
        "from": "queries", "type_ref": "references the type of"}


def _where(ctx: CheckContext, kinds: tuple[str, ...], table: str | tuple[str, ...], column: str | None = None) -> str:
    tables = (table,) if isinstance(table, str) else table
    for m in reversed(ctx.new_migrations()):
        for op in m.ops:
            if op.kind in kinds and (op.table in tables or op.name in tables) and (column is None or op.column == column):
                return f"{m.path}:{op.line}"
    return "a migration of this change"


def check(ctx: CheckContext):
    if ctx.base is None:
        return
    head, base = ctx.head, ctx.base
    types_files = {t.file for t in head.database_types}

    def rels(model):
        out = {k: t for k, t in model.schema_.tables.items() if t.schema_ == "public"}
        out.update({k: v for k, v in model.schema_.views.items() if v.schema_ == "public"})
        return out

    before, after = rels(base), rels(head)
    new_paths = {m.path for m in ctx.new_migrations()}
    renamed_tables: dict[str, str] = {}
    renamed_cols: dict[tuple[str, str], str] = {}
    for m in head.migrations:
        if m.path not in new_paths:
            continue
        for op in m.ops:
            if op.kind == "rename_table" and op.table and op.new_name:
                renamed_tables[op.table] = op.new_name
            elif op.kind == "rename_column" and op.table and op.column and op.new_name:
                renamed_cols[(op.table, op.column)] = op.new_name

    usages = [u for u in head.table_usage if u.kind != "rpc" and u.file not in types_files]

    # tables and views
    for key, rel in before.items():
        if key in after:
            continue
        name = key.split(".", 1)[1]
        new = renamed_tables.get(name)
        if new and f"public.{new}" in after:
            what = f"renamed to `{new}` by {_where(ctx, ('rename_table',), name)}"
            todo = f"use `{new}`"
        else:
            what = f"dropped by {_where(ctx, ('drop_table', 'drop_view'), name)}"
            todo = "remove the usage"
        for (file, line, symbol), verbs in _group((u, USES.get(u.kind, "uses")) for u in usages if u.table == name):
            yield RULE.finding(
                f"Table `{name}` is {what} but `{symbol or file}` still {_and(verbs)} it; {todo} in "
                f"the same change, or keep the table until no code uses it (expand/contract: stop using it in one "
                f"release, drop it in the next).",
                file, line, key=f"{name}:{file}:{symbol}")

    # columns
    for key, t_before in before.items():
        name = key.split(".", 1)[1]
        new_name = renamed_tables.get(name, name)
        t_after = after.get(f"public.{new_name}")
        cols_before = getattr(t_before, "columns", None)
        cols_after = getattr(t_after, "columns", None) if t_after is not None else None
        if not cols_before or cols_after is None:
            continue
        for col in cols_before:
            if col in cols_after:
                continue
            new_col = renamed_cols.get((name, col)) or renamed_cols.get((new_name, col))
            if new_col and new_col in cols_after:
                what = f"renamed to `{new_col}` by {_where(ctx, ('rename_column',), (name, new_name), col)}"
                todo = f"use `{new_col}`"
            else:
                what = f"dropped by {_where(ctx, ('drop_column',), (name, new_name), col)}"
                todo = "remove it from the query"
            hits = []
            for u in usages:
                if u.table != new_name:
                    continue
                if col in u.columns:
                    hits.append((u, USES.get(u.kind, "uses")))
                elif col in u.filters:
                    hits.append((u, "filters or sorts by"))
            for (file, line, symbol), verbs in _group(hits):
                yield RULE.finding(
                    f"Column `{name}.{col}` is {what} but `{symbol or file}` still {_and(verbs)} it; {todo} in the "
                    f"same change, or keep the column until no code uses it (expand/contract: stop using it in one "
                    f"release, drop it in the next).",
                    file, line, key=f"{name}.{col}:{file}:{symbol}")


def _group(pairs):
    """Usages on one line of one symbol (`.insert(...).select(...)`) make one finding."""
    out: dict[tuple, list[str]] = {}
    for u, verb in pairs:
        verbs = out.setdefault((u.file, u.line, u.symbol), [])
        if verb not in verbs:
            verbs.append(verb)
    return out.items()


def _and(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


RULE = Rule(
    id="DLCM701", name="dropped-still-used", title="Dropped or renamed table/column is still used",
    severity="error", category="breaking", check=check, scope="change",
    why="Code that still reads or writes a dropped or renamed table or column fails at run time as soon as the "
        "migration is deployed (PostgREST answers 400 for unknown columns).",
    fix="Update every usage in the same change, or keep the column/table and drop it in a later release "
        "(expand/contract).",
)
