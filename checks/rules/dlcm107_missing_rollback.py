"""DLCM107/DLCM110: every new migration has a rollback; every rollback has a migration."""

import posixpath

from ..findings import CheckContext, Rule


def check_missing(ctx: CheckContext):
    cfg = ctx.config.paths
    for m in ctx.new_migrations():
        if m.rollback is None and not m.empty:
            sdir = ctx.head.supabase_dir or "supabase"
            want = posixpath.join(sdir, cfg.rollbacks, m.stem + cfg.rollback_suffix)
            yield MISSING.finding(
                f"Migration `{m.stem}` has no rollback. Add `{want}` that undoes it "
                f"(`dlcm scaffold` generates one; `dlcm rollback-test` proves it).",
                m.path, 1, key=m.path)


def check_orphan(ctx: CheckContext):
    stems = {m.stem for m in ctx.head.migrations}
    for r in ctx.head.rollbacks:
        if r.stem not in stems and (ctx.base is None or ctx.is_changed(r.path)):
            yield ORPHAN.finding(
                f"Rollback `{r.path.rsplit('/', 1)[-1]}` matches no migration (expected a migration named "
                f"`{r.stem}.sql`). Rename it to the stem of its migration.", r.path, 1, key=r.path)


MISSING = Rule(
    id="DLCM107", name="missing-rollback", title="New migration has no rollback",
    severity="error", category="migrations", check=check_missing, scope="change",
    why="Without a tested down-migration a failed deploy cannot be undone quickly.",
    fix="Add `<supabase>/rollbacks/<migration stem>.down.sql` that undoes the migration.",
)

ORPHAN = Rule(
    id="DLCM110", name="orphan-rollback", title="Rollback without a migration",
    severity="warning", category="migrations", check=check_orphan, scope="change",
    why="A rollback whose name matches no migration is never used; usually a typo in its name.",
    fix="Rename the rollback to `<migration stem>.down.sql`.",
)

RULE = MISSING
EXTRA_RULES = (ORPHAN,)
