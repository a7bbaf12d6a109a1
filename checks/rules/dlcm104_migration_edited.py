"""DLCM104: a migration that already exists on base was edited (or deleted) by the change."""

from __future__ import annotations

import re

from ..findings import CheckContext, Rule


def _norm(sql: str) -> str:
    sql = re.sub(r"--[^\n]*", " ", sql)
    sql = re.sub(r"/\*.*?\*/", " ", sql, flags=re.S)
    return " ".join(sql.split()).rstrip(";").strip()


def _first_difference(old, new) -> tuple[int | None, bool]:
    """(line in the head file of the first statement that differs, whether only comments or
    whitespace changed)."""
    a = [_norm(s.sql) for s in old.statements]
    b = [_norm(s.sql) for s in new.statements]
    if old.parse_error or new.parse_error:
        line = new.parse_error.line if new.parse_error else 1
        return line, False
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return new.statements[i].line, False
    if len(b) > len(a):
        return new.statements[len(a)].line, False
    if len(a) > len(b):  # statements removed at the end
        return (new.statements[-1].end_line if new.statements else 1), False
    return None, True


def check(ctx: CheckContext):
    if ctx.base is None:
        return
    head = {m.path: m for m in ctx.head.migrations}
    for m in ctx.base.migrations:
        now = head.get(m.path)
        if now is not None and ctx.is_changed(m.path):
            line, cosmetic = _first_difference(m, now)
            if cosmetic:
                yield RULE.finding(
                    f"Migration `{m.stem}` already exists on the base branch and was edited, although only in "
                    f"comments or whitespace: harmless for databases, but the file no longer matches what was "
                    f"applied. Prefer reverting the edit.", m.path, 1, severity="warning", key=m.path)
                continue
            yield RULE.finding(
                f"Migration `{m.stem}` already exists on the base branch and was edited (first changed statement "
                f"here). Databases that applied it will never run the edit: revert this file and put the change in a "
                f"new migration (`supabase migration new <name>`).", m.path, line or 1, key=m.path)
        elif now is None and m.path not in ctx.head.files:
            yield RULE.finding(
                f"Migration `{m.stem}` exists on the base branch and was deleted. Databases that applied it keep its "
                f"effect and a fresh database will not get it: restore the file and undo its effect in a new "
                f"migration.", m.path, 1, key=m.path)


RULE = Rule(
    id="DLCM104", name="migration-edited", title="An applied migration was edited or deleted",
    severity="error", category="migrations", check=check, scope="change",
    why="Migrations on the base branch may already be applied; editing them makes environments diverge silently.",
    fix="Revert the edit and write a new migration with the change.",
)
