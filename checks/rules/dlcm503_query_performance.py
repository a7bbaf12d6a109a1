"""DLCM503: the change affects queries (new unindexed filter, index added or dropped): check performance."""

from ..findings import CheckContext, Rule


def indexed_columns(schema, table_key: str) -> set[str]:
    out: set[str] = set()
    for idx in schema.indexes.values():
        if idx.table == table_key:
            out.update(c.strip('"') for c in idx.columns)
    t = schema.tables.get(table_key)
    if t is not None:
        for c in t.columns.values():
            if c.primary_key or c.unique:
                out.add(c.name)
        for con in t.constraints:
            if con.kind in ("primary_key", "unique", "exclude"):
                out.update(con.columns)
    return out


def check(ctx: CheckContext):
    if ctx.base is None:
        return
    head, base = ctx.head, ctx.base
    # 1. filters/orderings on columns without an index that the change introduces
    old = {(u.table, c) for u in base.table_usage for c in u.filters}
    reported: set[tuple[str, str]] = set()
    for u in head.table_usage:
        key = f"public.{u.table}"
        table = head.schema_.tables.get(key)
        if table is None:
            continue
        cols = indexed_columns(head.schema_, key)
        if any(c in cols for c in u.filters):
            continue  # an index narrows the rows already (`.eq('order_id', x).order('created_at')`)
        for c in u.filters:
            if (u.table, c) in old or (u.table, c) in reported or c in cols or c not in table.columns:
                continue
            reported.add((u.table, c))
            yield RULE.finding(
                f"`{u.symbol or u.file}` now filters or sorts `{u.table}` by `{c}`, which no index covers; "
                f"check the query plan on production-sized data (`explain analyze`) and add an index on "
                f"`{u.table} ({c})` in a migration if the table is large.",
                u.file, u.line, key=f"filter:{u.table}.{c}")
    # 2. indexes added or dropped on tables that already hold data
    existing = set(base.schema_.tables)
    for m in ctx.new_migrations():
        for op in m.ops:
            if op.kind not in ("create_index", "drop_index"):
                continue
            table = f"{op.schema_ or 'public'}.{op.table}" if op.table else None
            if op.kind == "create_index" and (table is None or table not in existing):
                continue
            name = op.name or "an index"
            if op.kind == "create_index":
                cols = ", ".join(op.detail.get("columns") or [])
                msg = (f"Index `{name}` on `{table}` ({cols}) is added: confirm with `explain analyze` on "
                       f"production-sized data that the queries it is meant for use it, and how long it takes "
                       f"to build there.")
            else:
                msg = (f"Index `{name}` is dropped: check the queries that used it (`explain analyze` on "
                       f"production-sized data) before merging; a missing index turns lookups into scans.")
            yield RULE.finding(msg, m.path, op.line, key=f"index:{op.kind}:{name}")


RULE = Rule(
    id="DLCM503", name="query-performance-check", title="Query-affecting change needs a performance check",
    severity="info", category="tests", check=check, scope="change",
    why="New filters on unindexed columns and added or dropped indexes change query plans; they are cheap to "
        "check before release and expensive to discover in production.",
    fix="Run the affected queries with `explain analyze` on production-sized data; add or keep an index.",
)
