"""DLCM108: replaying a migration then its rollback must give back the schema before it (static)."""

from ..findings import CheckContext, Rule


def check(ctx: CheckContext):
    from ..sql.replay import Replayer, diff_schemas

    new = {m.path for m in ctx.new_migrations()}
    rollbacks = {r.path: r for r in ctx.head.rollbacks}
    r = Replayer()
    for m in ctx.head.migrations:
        rb = rollbacks.get(m.rollback) if m.rollback else None
        testable = m.path in new and rb is not None and not m.parse_error and not rb.parse_error
        before = r.snapshot() if testable else None
        r.apply([m])
        if not testable:
            continue
        trial = r.fork()
        trial.apply([rb])
        # PostgreSQL cannot drop an enum value: a rollback cannot undo `alter type ... add value`
        diffs = [d for d in diff_schemas(before, trial.schema) if d.kind != "enum_values_changed"
                 or not any(op.kind == "add_enum_value" for op in m.ops)]
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
