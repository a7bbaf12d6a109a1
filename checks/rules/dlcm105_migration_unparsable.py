"""DLCM105/DLCM106: a migration or rollback that does not parse, or a migration with no statement."""

from ..findings import CheckContext, Rule


def check_parse(ctx: CheckContext):
    new = {m.path for m in ctx.new_migrations()}
    for m in ctx.head.migrations:
        if m.parse_error and (m.path in new or ctx.base is None):
            yield PARSE.finding(
                f"PostgreSQL cannot parse this migration: {m.parse_error.message}. Fix the SQL; the file would fail "
                f"when Supabase applies it.", m.path, m.parse_error.line, key=m.path)
    for r in ctx.head.rollbacks:
        if r.parse_error and (ctx.base is None or ctx.is_changed(r.path)):
            yield PARSE.finding(
                f"PostgreSQL cannot parse this rollback: {r.parse_error.message}. Fix the SQL so the change can be "
                f"rolled back.", r.path, r.parse_error.line, key=r.path)


def check_empty(ctx: CheckContext):
    for m in ctx.new_migrations():
        if m.empty and not m.parse_error:
            yield EMPTY.finding(
                "This migration contains no SQL statement. Add the change, or delete the file.", m.path, 1, key=m.path)


PARSE = Rule(
    id="DLCM105", name="migration-unparsable", title="Migration or rollback does not parse",
    severity="error", category="migrations", check=check_parse, scope="change",
    why="A file PostgreSQL cannot parse fails at deploy time and blocks every later migration.",
    fix="Correct the SQL at the reported line (run it against a local database with `supabase db reset`).",
)

EMPTY = Rule(
    id="DLCM106", name="migration-empty", title="Migration is empty",
    severity="error", category="migrations", check=check_empty, scope="change",
    why="An empty migration is usually a file created by `supabase migration new` and never filled.",
    fix="Write the migration's SQL or delete the file.",
)

RULE = PARSE
EXTRA_RULES = (EMPTY,)
