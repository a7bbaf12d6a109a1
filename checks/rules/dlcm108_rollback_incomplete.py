"""DLCM108: replaying a migration then its rollback must give back the schema before it (static)."""

from ..findings import CheckContext, Rule


def check(ctx: CheckContext):
    from ..sql.replay import diff_schemas, replay_with_warnings

    new = {m.path for m in ctx.new_migrations()}
    rollbacks = {r.path: r for r in ctx.head.rollbacks}
    schema = None
    for m in ctx.head.migrations:
        before = schema
        after, _ = replay_with_warnings(m.ops, before)
        schema = after
        if m.path not in new or m.rollback is None or m.parse_error:
            continue
        rb = rollbacks.get(m.rollback)
        if rb is None or rb.parse_error:
            continue
        down, _ = replay_with_warnings([op for st in rb.statements for op in st.ops], after)
        diffs = diff_schemas(before if before is not None else type(after)(), down)
        if not diffs:
            continue
        shown = "; ".join(str(d) for d in diffs[:6]) + (f"; and {len(diffs) - 6} more" if len(diffs) > 6 else "")
        yield RULE.finding(
            f"Rollback does not undo migration `{m.stem}`: after up then down, {shown}. "
            f"Add the missing statements to the rollback (check with `dlcm rollback-test`).",
            rb.path, 1, key=rb.path)


RULE = Rule(
    id="DLCM108", name="rollback-incomplete", title="Rollback does not undo its migration",
    severity="error", category="migrations", check=check, scope="change",
    why="A rollback that leaves tables, columns, policies or functions behind fails the next deploy of the same "
        "migration, or leaves a schema nobody planned.",
    fix="Make the rollback drop/restore exactly what the migration created/changed, in reverse order.",
)
