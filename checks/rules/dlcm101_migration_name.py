"""DLCM101: migration file names follow `<14-digit UTC timestamp>_<snake_case>.sql`."""

from __future__ import annotations

import posixpath
import re
from datetime import datetime, timedelta, timezone

from ..findings import CheckContext, Rule

_FMT = "%Y%m%d%H%M%S"


def valid_version(v: str | None) -> bool:
    if not v or len(v) != 14 or not v.isdigit():
        return False
    try:
        return datetime.strptime(v, _FMT).year >= 2000
    except ValueError:
        return False


def next_version(ctx: CheckContext) -> str:
    """A version later than every migration of base and head (one second after the newest)."""
    versions = [m.version for m in ctx.head.migrations if valid_version(m.version)]
    if ctx.base is not None:
        versions += [m.version for m in ctx.base.migrations if valid_version(m.version)]
    if not versions:
        return datetime.now(timezone.utc).strftime(_FMT)
    return (datetime.strptime(max(versions), _FMT) + timedelta(seconds=1)).strftime(_FMT)


def snake(name: str) -> str:
    s = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name)
    s = re.sub(r"[^0-9a-zA-Z]+", "_", s).strip("_").lower()
    s = re.sub(r"^[0-9_]+", "", s)  # a leading date-like part is not part of the name
    return s or "change"


def _problem(version: str | None, name: str) -> str | None:
    if version is None:
        return "does not start with a 14-digit UTC timestamp and `_`"
    if not valid_version(version):
        return f"starts with `{version}`, which is not a valid YYYYMMDDHHMMSS timestamp"
    if not name or not (name[0].isascii() and name[0].isalpha() and name[0].islower()) or \
            any(not (c.isascii() and (c.islower() or c.isdigit() or c == "_")) for c in name):
        return f"has the name part `{name}`, which is not snake_case (lower-case letters, digits, `_`)"
    return None


def check(ctx: CheckContext):
    for m in ctx.new_migrations():
        why = _problem(m.version, m.name)
        if not why:
            continue
        version = m.version if valid_version(m.version) else next_version(ctx)
        want = f"{version}_{snake(m.name)}.sql"
        also = ""
        if m.rollback:
            also = f" and its rollback to `{want[:-4]}{ctx.config.paths.rollback_suffix}`"
        yield RULE.finding(
            f"Migration file `{posixpath.basename(m.path)}` {why}: Supabase orders migrations by that timestamp and "
            f"may skip or misorder this one. Rename it to `{want}`{also} (`supabase migration new "
            f"{snake(m.name)}` creates correctly named files).",
            m.path, 1, key=m.path)


RULE = Rule(
    id="DLCM101", name="migration-file-name", title="Migration file name does not follow the convention",
    severity="error", category="migrations", check=check, scope="change",
    why="Supabase applies migrations in the order of their 14-digit UTC timestamp; a file that does not follow "
        "`<YYYYMMDDHHMMSS>_<snake_case>.sql` is skipped or applied out of order.",
    fix="Rename the file to `<YYYYMMDDHHMMSS>_<snake_case>.sql`, e.g. with `supabase migration new <name>`.",
)
