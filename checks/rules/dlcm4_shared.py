"""Generated types (`database.types.ts`) against the replayed schema, shared by DLCM401-405. Not a rule."""

from __future__ import annotations

import re

from ..findings import CheckContext
from ..model import DatabaseTypes, RepoModel
from .dlcm2_shared import find_line, source_lines

# what `supabase gen types typescript` (postgres-meta) writes; other types (interval, inet, ...) become
# `unknown` and are not compared
STRING = {"text", "varchar", "character varying", "char", "character", "bpchar", "uuid", "date", "time", "timetz",
          "time with time zone", "time without time zone", "timestamp", "timestamptz", "timestamp with time zone",
          "timestamp without time zone", "citext", "bytea", "vector"}
NUMBER = {"smallint", "integer", "int", "int2", "int4", "int8", "bigint", "real", "double precision", "float4",
          "float8", "numeric", "decimal", "serial", "bigserial", "smallserial"}
BOOLEAN = {"boolean", "bool"}
JSON = {"json", "jsonb"}


def applicable(model: RepoModel) -> bool:
    """Types and a schema to compare them with: migrations that all parsed."""
    if not model.database_types or not model.migrations:
        return False
    return not any(m.parse_error for m in model.migrations)


def describes_schema(model: RepoModel, types: DatabaseTypes) -> bool:
    """The types file is generated from this repository's database (not a second project's)."""
    if not types.tables:
        return False  # nothing we could read (hand-written, another generator): no comparison
    known = {(t.schema_, t.name) for t in model.schema_.tables.values()} | \
        {(v.schema_, v.name) for v in model.schema_.views.values()}
    common = sum(1 for t in types.tables.values() if (t.schema_, t.name) in known)
    return common > 0 and common * 2 >= len(types.tables)


def checked_types(model: RepoModel) -> list[DatabaseTypes]:
    return [t for t in model.database_types if describes_schema(model, t)] if applicable(model) else []


def schemas_of(types: DatabaseTypes) -> set[str]:
    out = {k.split(".", 1)[0] for k in types.tables} | {k.split(".", 1)[0] for k in types.enums}
    return out or {"public"}


def regen_command(model: RepoModel, types_file: str) -> str:
    """The command that regenerates a types file, as Markdown (the package script when there is one)."""
    name = types_file.rsplit("/", 1)[-1]
    plain = f"supabase gen types typescript --local > {types_file}"
    for p in sorted(model.packages, key=lambda p: -len(p.path)):
        if p.path and not types_file.startswith(p.path + "/"):
            continue
        for script, cmd in p.scripts.items():
            if "gen types" in cmd and name in cmd:
                run = f"pnpm --filter {p.name} run {script}" if p.path else f"pnpm run {script}"
                return f"`{run}` (`{plain}`)"
    return f"`{plain}`"


def section_line(ctx: CheckContext, types: DatabaseTypes, schema: str, section: str) -> int:
    """Line of `<schema>: { ... Tables: {` (or `Views: {`) in the types file; 1 without a source."""
    lines = source_lines(ctx, types.file)
    if not lines:
        return 1
    start = find_line(lines, rf"^\s*{re.escape(schema)}\s*:\s*\{{", 0, 0)
    return find_line(lines, rf"^\s*{section}\s*:\s*\{{", start, max(start, 1))


def expected_ts(model: RepoModel, pg_type: str) -> str | None:
    """What `supabase gen types` writes for a column type (without `| null`); None when unsure."""
    t = pg_type.strip().lower()
    arr = ""
    while t.endswith("[]"):
        arr += "[]"
        t = t[:-2].strip()
    base = re.sub(r"\s*\(.*\)$", "", t)
    if base in STRING:
        return "string" + arr
    if base in NUMBER:
        return "number" + arr
    if base in BOOLEAN:
        return "boolean" + arr
    if base in JSON:
        return "Json" + arr
    for key, enum in model.schema_.enums.items():
        if base in (key.lower(), enum.name.lower()) or base == f'"{enum.name}"'.lower():
            return f'enum:{enum.schema_}.{enum.name}' + arr
    return None


def actual_ts(ts_type: str) -> str | None:
    t = re.sub(r"\s+", "", ts_type)
    parts = [p for p in t.split("|") if p != "null"]
    if len(parts) != 1:
        return None
    p = parts[0]
    arr = ""
    while p.endswith("[]"):
        arr += "[]"
        p = p[:-2]
    if p.startswith("(") and p.endswith(")"):
        return None
    m = re.fullmatch(r"""Database\[["'](\w+)["']\]\[["']Enums["']\]\[["'](\w+)["']\]""", p)
    if m:
        return f"enum:{m.group(1)}.{m.group(2)}" + arr
    if p in ("string", "number", "boolean", "Json"):
        return p + arr
    return None


def rel_tables(model: RepoModel, schema: str) -> dict[str, object]:
    """Tables of a schema by bare name."""
    return {t.name: t for t in model.schema_.tables.values() if t.schema_ == schema}


def rel_views(model: RepoModel, schema: str) -> dict[str, object]:
    return {v.name: v for v in model.schema_.views.values() if v.schema_ == schema}


def matched_tables(model: RepoModel):
    """(types file, regen command, table in the types, table in the schema) for every table both describe."""
    for types in checked_types(model):
        cmd = regen_command(model, types.file)
        for tt in types.tables.values():
            if tt.kind != "table" or tt.schema_ not in schemas_of(types):
                continue
            table = rel_tables(model, tt.schema_).get(tt.name)
            if table is not None:
                yield types, cmd, tt, table


def matched_columns(model: RepoModel):
    """(types file, regen command, table in the types, Row column, schema column) for every column both describe."""
    for types, cmd, tt, table in matched_tables(model):
        for name, tc in tt.row.items():
            col = table.columns.get(name)
            if col is not None:
                yield types, cmd, tt, tc, col
