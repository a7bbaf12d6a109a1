"""DLCM102/DLCM103: a new migration older than the newest on base, or sharing a version."""

from __future__ import annotations

import posixpath

from ..findings import CheckContext, Rule
from .dlcm101_migration_name import next_version


def _rename(ctx: CheckContext, m) -> str:
    want = f"{next_version(ctx)}_{m.name}"
    text = f"`{want}.sql`"
    if m.rollback:
        text += f" (and its rollback to `{want}{ctx.config.paths.rollback_suffix}`)"
    return text


def check_order(ctx: CheckContext):
    if ctx.base is None:
        return
    base_versions = {m.version for m in ctx.base.migrations if m.version}
    if not base_versions:
        return
    newest = max(base_versions)
    newest_path = next(m.path for m in ctx.base.migrations if m.version == newest)
    for m in ctx.new_migrations():
        # a version already on base is DLCM103's (same fix, one finding)
        if m.version and m.version < newest and m.version not in base_versions:
            yield ORDER.finding(
                f"Migration {m.version} is older than `{posixpath.basename(newest_path)}`, the newest migration "
                f"on the base branch: databases that already applied that one will not apply this one in order "
                f"(`supabase db push` refuses it or needs `--include-all`). Rename it to {_rename(ctx, m)}.",
                m.path, 1, key=m.path)


def check_duplicate(ctx: CheckContext):
    seen: dict[str, str] = {}
    for m in (ctx.base.migrations if ctx.base else []):
        if m.version:
            seen.setdefault(m.version, m.path)
    new_paths = {m.path for m in ctx.new_migrations()}
    for m in ctx.head.migrations:
        if not m.version:
            continue
        other = seen.get(m.version)
        if other is None:
            seen[m.version] = m.path
        elif m.path in new_paths and other != m.path:
            yield DUPLICATE.finding(
                f"Migration version {m.version} is also used by `{other}`: Supabase records applied migrations by "
                f"version, so one of the two is never applied. Rename this one to {_rename(ctx, m)}.",
                m.path, 1, key=m.path)


ORDER = Rule(
    id="DLCM102", name="migration-out-of-order", title="New migration is older than the newest on base",
    severity="error", category="migrations", check=check_order, scope="change",
    why="Environments that already applied the newer migration will skip or misorder an older one.",
    fix="Rename the migration (and its rollback) with a timestamp later than the newest migration on the base branch.",
)

DUPLICATE = Rule(
    id="DLCM103", name="migration-duplicate-version", title="Two migrations share a version",
    severity="error", category="migrations", check=check_duplicate, scope="change",
    why="Supabase tracks applied migrations by version; a duplicate version means one file is never applied.",
    fix="Give the new migration a unique timestamp later than every existing one.",
)

RULE = ORDER
EXTRA_RULES = (DUPLICATE,)
