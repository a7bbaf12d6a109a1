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


def check(ctx: CheckContext):
    from ..sql.replay import Replayer, diff_schemas

    new = {m.path for m in ctx.new_migrations()}
    rollbacks = {r.path: r for r in ctx.head.rollbacks}
    r = Replayer()
    for m in ctx.head.migrations:
        rb = rollbacks.get(m.rollback) if m.rollback else None
        if m.path not in new or rb is None or m.parse_error or rb.parse_error:
            r.apply([m])
            continue
        # one schema copy per tested migration (this is O(migrations x schema) without a base):
        # snapshot, then migration and rollback on the live replayer, compare, and rebuild the
        # state after the migration from the snapshot, which the comparison no longer needs
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
