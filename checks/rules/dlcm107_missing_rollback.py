"""DLCM107/DLCM110: every new migration has a rollback; every rollback has a migration."""

from __future__ import annotations

import difflib
import posixpath

from ..findings import CheckContext, Rule


def _rollback_dir(ctx: CheckContext) -> str:
    return posixpath.join(ctx.head.supabase_dir or "supabase", ctx.config.paths.rollbacks)


def _misnamed(ctx: CheckContext) -> list[str]:
    """`.sql` files in the rollbacks directory that are not `<stem><suffix>` (never read as rollbacks)."""
    rb_dir, suffix = _rollback_dir(ctx), ctx.config.paths.rollback_suffix
    return [f for f in ctx.head.files
            if posixpath.dirname(f) == rb_dir and f.endswith(".sql") and not f.endswith(suffix)]


def check_missing(ctx: CheckContext):
    suffix = ctx.config.paths.rollback_suffix
    misnamed = _misnamed(ctx)
    for m in ctx.new_migrations():
        if m.rollback is not None or m.empty:
            continue
        want = posixpath.join(_rollback_dir(ctx), m.stem + suffix)
        near = [f for f in misnamed if posixpath.basename(f).startswith(m.stem)]
        hint = (f" `{near[0]}` looks like it but is not named `<stem>{suffix}`: rename it." if near else
                f" Add `{want}` that undoes it, in reverse order (`dlcm scaffold` drafts one, `dlcm rollback-test` "
                f"proves it on a real PostgreSQL). If nothing can be undone (a data-only backfill), say so above the "
                f"first statement with `-- dlcm-ignore DLCM107: <reason>`.")
        line = m.statements[0].line if m.statements else 1
        yield MISSING.finding(f"Migration `{m.stem}` has no rollback.{hint}", m.path, line, key=m.path)


def check_orphan(ctx: CheckContext):
    stems = [m.stem for m in ctx.head.migrations]
    stem_set = set(stems)
    suffix = ctx.config.paths.rollback_suffix
    taken = {r.stem for r in ctx.head.rollbacks}
    without = [s for s in stems if s not in taken] or stems
    for r in ctx.head.rollbacks:
        if r.stem in stem_set or not (ctx.base is None or ctx.is_changed(r.path)):
            continue
        close = difflib.get_close_matches(r.stem, without, n=1, cutoff=0.6)
        hint = (f" Did you mean `{close[0]}{suffix}` (for migration `{close[0]}.sql`)?" if close else
                f" Rename it to `<migration stem>{suffix}`, or delete it if its migration is gone.")
        yield ORPHAN.finding(
            f"Rollback `{posixpath.basename(r.path)}` matches no migration: there is no `{r.stem}.sql` in the "
            f"migrations directory, so it is never used.{hint}", r.path, 1, key=r.path)
    for f in _misnamed(ctx):
        if ctx.base is not None and not ctx.is_changed(f):
            continue
        yield ORPHAN.finding(
            f"`{posixpath.basename(f)}` is in the rollbacks directory but does not end in `{suffix}`, so dlcm does "
            f"not treat it as a rollback. Name it `<migration stem>{suffix}`.", f, 1, key=f)


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
