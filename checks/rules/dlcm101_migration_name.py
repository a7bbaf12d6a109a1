"""DLCM101: migration file names follow `<14-digit UTC timestamp>_<snake_case>.sql`."""

from ..findings import CheckContext, Rule


def _problem(version: str | None, name: str, stem: str) -> str | None:
    if version is None:
        return "does not start with a 14-digit UTC timestamp and `_`"
    y, mo, d, h, mi, s = (int(version[i:j]) for i, j in ((0, 4), (4, 6), (6, 8), (8, 10), (10, 12), (12, 14)))
    if not (1 <= mo <= 12 and 1 <= d <= 31 and h < 24 and mi < 60 and s < 60 and y >= 2000):
        return f"`{version}` is not a valid YYYYMMDDHHMMSS timestamp"
    if not name or not (name[0].isascii() and name[0].isalpha() and name[0].islower()) or \
            any(not (c.isascii() and (c.islower() or c.isdigit() or c == "_")) for c in name):
        return f"the name part `{name}` is not snake_case (lower-case letters, digits, `_`)"
    return None


def check(ctx: CheckContext):
    for m in ctx.new_migrations():
        why = _problem(m.version, m.name, m.stem)
        if why:
            yield RULE.finding(
                f"Migration `{m.path.rsplit('/', 1)[-1]}` {why}. Rename it to `<YYYYMMDDHHMMSS>_<snake_case>.sql` "
                f"(e.g. `supabase migration new {m.name.lower().replace('-', '_') or 'change'}`) so it is applied in order.",
                m.path, 1, key=m.path)


RULE = Rule(
    id="DLCM101", name="migration-file-name", title="Migration file name does not follow the convention",
    severity="error", category="migrations", check=check, scope="change",
    why="Supabase applies migrations in the order of their 14-digit UTC timestamp; a file that does not follow "
        "`<YYYYMMDDHHMMSS>_<snake_case>.sql` is skipped or applied out of order.",
    fix="Rename the file to `<YYYYMMDDHHMMSS>_<snake_case>.sql`, e.g. with `supabase migration new <name>`.",
)
