"""DLCM104: a migration that already exists on base was edited (or deleted) by the change."""

from ..findings import CheckContext, Rule


def check(ctx: CheckContext):
    if ctx.base is None:
        return
    head_paths = {m.path for m in ctx.head.migrations}
    for m in ctx.base.migrations:
        if m.path in head_paths and ctx.is_changed(m.path):
            yield RULE.finding(
                f"Migration `{m.stem}` already exists on the base branch and was edited. Environments that applied "
                f"it will never see the edit: revert the change to this file and put it in a new migration.",
                m.path, 1, key=m.path)
        elif m.path not in head_paths and m.path not in ctx.head.files:
            yield RULE.finding(
                f"Migration `{m.stem}` exists on the base branch and was deleted. Applied migrations are history: "
                f"restore the file and undo its effect in a new migration.",
                m.path, 1, key=m.path)


RULE = Rule(
    id="DLCM104", name="migration-edited", title="An applied migration was edited or deleted",
    severity="error", category="migrations", check=check, scope="change",
    why="Migrations on the base branch may already be applied; editing them makes environments diverge silently.",
    fix="Revert the edit and write a new migration with the change.",
)
