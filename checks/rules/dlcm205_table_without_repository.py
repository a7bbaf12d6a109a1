"""DLCM205: a table created by the change has no repository."""

import re
from collections import Counter

from ..config import match
from ..findings import CheckContext, Rule
from .dlcm2_shared import kebab, repository_name_for

META_COLUMNS = {"id", "created_at", "updated_at", "inserted_at", "deleted_at", "position", "sort_order"}


def _fk_columns(table) -> set[str]:
    cols = {c.name for c in table.columns.values() if c.references}
    for con in table.constraints:
        if con.kind == "foreign_key":
            cols.update(con.columns)
    return cols


def is_join_table(table) -> bool:
    """`product_tags(product_id, tag_id, primary key (product_id, tag_id))`: read through the repositories of
    both sides. A table with its own surrogate key is an entity, not a join table."""
    fks = _fk_columns(table)
    if len(fks) < 2:
        return False
    pk = {c.name for c in table.columns.values() if c.primary_key}
    for con in table.constraints:
        if con.kind == "primary_key":
            pk.update(con.columns)
    if not pk or not pk <= fks:
        return False
    return all(c in fks or c in META_COLUMNS - {"id"} for c in table.columns)


def written_by_database(ctx: CheckContext, table: str) -> bool:
    """Filled by a trigger or function (`insert into public.audit_log ...`): no application repository."""
    rx = re.compile(rf"\binsert\s+into\s+(?:\"?public\"?\.)?\"?{re.escape(table)}\"?[\s(]", re.I)
    return any(f.body and rx.search(f.body) for f in ctx.head.schema_.functions.values())


def covered_tables(ctx: CheckContext) -> set[str]:
    model = ctx.head
    out: set[str] = set()
    for r in model.repositories:
        out.update(r.tables)
    for i in model.implementations:
        out.update(i.tables)
    repo_globs = ctx.config.paths.repositories
    for u in model.table_usage:
        if u.kind not in ("type_ref", "rpc") and match(u.file, repo_globs):
            out.add(u.table)
    return out


def check(ctx: CheckContext):
    if ctx.base is None or not ctx.config.business_rules.new_table_needs_repository:
        return
    model = ctx.head
    if not model.repositories:
        return  # the repository does not use the repository pattern
    before = ctx.base.schema_.tables
    created: dict[str, tuple[str, int]] = {}
    for m in ctx.new_migrations():
        for op in m.ops:
            if op.kind == "create_table" and op.table:
                if op.detail.get("partition_of"):
                    continue  # a partition is read through its parent table
                created.setdefault(f"{op.schema_ or 'public'}.{op.table}", (m.path, op.line))
    covered = covered_tables(ctx)
    suffix = ctx.config.naming.repository_suffix
    iface_dir = Counter(r.file.rsplit("/", 1)[0] for r in model.repositories).most_common(1)[0][0]
    for key, table in model.schema_.tables.items():
        if table.schema_ != "public" or key in before or key not in created:
            continue
        if table.name in covered or is_join_table(table) or written_by_database(ctx, table.name):
            continue
        path, line = created[key]
        name = repository_name_for(table.name, suffix)
        where = f"`{iface_dir}/{kebab(name)}.ts`" if iface_dir else "the repositories folder"
        yield RULE.finding(
            f"New table `{key}` has no repository: no repository interface maps to it and no implementation "
            f"calls `.from('{table.name}')`. Add `interface {name}` in {where} with Supabase and in-memory "
            f"implementations, or map an existing repository to it in `.github/dlcm.yml` "
            f"(`naming.repository_tables: {{<Repository>: {table.name}}}`).",
            path, line, key=key)


RULE = Rule(
    id="DLCM205", name="table-without-repository", title="New table has no repository",
    severity="error", category="repositories", check=check, scope="change",
    why="Consumers reach the database only through the Database Service; a table no repository reads or writes "
        "is either unused or accessed around the architecture.",
    fix="Add a repository interface for the table with Supabase and in-memory implementations "
        "(or set `business_rules.new_table_needs_repository: false`).",
)
