"""The SQL half of a scaffold: argument checks against the schema, the repository's SQL
conventions (owner column, updated_at trigger, index and policy names), the migration and
its rollback.
"""

from __future__ import annotations

import datetime as dt
import posixpath
from collections import Counter
from dataclasses import dataclass, field

import jinja2
import pglast
from pglast import ast
from pglast.parser import scan

from ..config import Config
from ..model import Column, RepoModel, Table
from ..sql.parse import parse_sql, parse_type
from .errors import ScaffoldError
from .names import human, is_snake

BUILTIN_TYPES = {
    "text", "varchar", "bpchar", "uuid", "smallint", "integer", "bigint", "numeric", "real", "double precision",
    "boolean", "date", "time", "timetz", "timestamp", "timestamptz", "interval", "json", "jsonb", "bytea",
    "inet", "cidr", "macaddr", "citext", "money", "tsvector", "xml", "bit", "varbit", "point", "serial",
    "bigserial", "smallserial", "oid", '"char"', "name",
}
NUMBER_TYPES = {"smallint", "integer", "bigint", "numeric", "real", "double precision", "money",
                "serial", "bigserial", "smallserial", "oid"}
JSON_TYPES = {"json", "jsonb"}
_FK_ACTIONS = {"c": "cascade", "n": "set null", "r": "restrict", "d": "set default"}

_ENV = jinja2.Environment(loader=jinja2.PackageLoader("templates", "scaffold"), autoescape=False,
                          trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
                          undefined=jinja2.StrictUndefined)


def render(template: str, **ctx) -> str:
    return _ENV.get_template(template).render(**ctx)


# --------------------------------------------------------------------------- types


def base_type(pg_type: str) -> str:
    """`varchar(20)[]` -> `varchar`; `public.order_status` stays qualified."""
    t = pg_type.removesuffix("[]").removesuffix("[]")
    if "(" in t:
        t = t[: t.index("(")]
    return t


def enum_key(model: RepoModel, pg_type: str) -> str | None:
    """`public.order_status` / `order_status` -> "public.order_status" when it is an enum of the schema."""
    b = base_type(pg_type)
    key = b if "." in b else f"public.{b}"
    return key if key in model.schema_.enums else None


def check_type(model: RepoModel, config: Config, text: str, what: str) -> str:
    norm = parse_type(text)
    if norm is None:
        raise ScaffoldError(f"{what}: `{text}` is not a PostgreSQL type")
    b = base_type(norm)
    if b not in BUILTIN_TYPES and enum_key(model, norm) is None:
        known = ", ".join(sorted(k.removeprefix("public.") for k in model.schema_.enums)) or "none"
        raise ScaffoldError(f"{what}: unknown type `{text}` (not a built-in type nor an enum of the schema; "
                            f"enums: {known})")
    forbidden = {t.lower() for t in config.business_rules.forbidden_types}
    if b in forbidden or norm in forbidden:
        better = {"json": "jsonb", "timestamp": "timestamptz", "money": "numeric", "serial": "bigint generated "
                  "always as identity", "char": "text"}.get(b, "another type")
        raise ScaffoldError(f"{what}: type `{norm}` is forbidden by business_rules.forbidden_types of "
                            f".github/dlcm.yml; use {better}")
    return norm


def check_identifier(name: str, what: str, config: Config | None = None, pattern: str | None = None) -> None:
    if not is_snake(name):
        raise ScaffoldError(f"{what} `{name}` is not a snake_case identifier (lower case letters, digits and `_`, "
                            f"starting with a letter, at most 63 characters)")
    import re

    if pattern and not re.search(pattern, name):
        raise ScaffoldError(f"{what} `{name}` does not match the naming rule `{pattern}` of .github/dlcm.yml")


def split_table(name: str) -> tuple[str, str]:
    if "." in name:
        schema, _, table = name.partition(".")
        return schema, table
    return "public", name


# --------------------------------------------------------------------------- default values


def ts_default(col: Column, ts_type: str) -> str | None:
    """A TypeScript expression for the column's SQL default (what the Memory repository stores),
    None when there is no default; raises when it cannot be translated."""
    d = col.default
    if d is None:
        return None
    try:
        node = pglast.parse_sql(f"select {d}")[0].stmt.targetList[0].val
    except Exception:
        node = None
    expr = _ts_expr(node, ts_type)
    if expr is None:
        raise ScaffoldError(f"the default `{d}` of `{col.name}` cannot be reproduced by the Memory repository; "
                            f"use a constant, now(), current_date or gen_random_uuid()")
    return expr


def _ts_expr(node, ts_type: str) -> str | None:
    while isinstance(node, ast.TypeCast):
        node = node.arg
    if ts_type.endswith("[]"):
        return _ts_array(node, ts_type[:-2])
    if isinstance(node, ast.A_Const):
        if node.isnull:
            return "null"
        v = node.val
        if isinstance(v, ast.String):
            if ts_type == "Json":
                import json

                try:
                    return _js_literal(json.loads(v.sval))
                except ValueError:
                    return None
            if ts_type == "number":
                return v.sval if _is_number(v.sval) else None
            if ts_type == "boolean":
                return {"t": "true", "true": "true", "f": "false", "false": "false"}.get(v.sval.lower())
            return "'" + v.sval.replace("\\", "\\\\").replace("'", "\\'") + "'"
        if isinstance(v, ast.Boolean):
            return "true" if v.boolval else "false"
        if isinstance(v, ast.Integer):
            return str(v.ival)
        if isinstance(v, ast.Float):
            return str(v.fval)
    if isinstance(node, ast.A_Expr) and node.kind.name == "AEXPR_OP" and node.lexpr is None:
        inner = _ts_expr(node.rexpr, ts_type)
        op = node.name[0].sval if node.name else ""
        return f"-{inner}" if inner is not None and op == "-" else None
    if isinstance(node, ast.FuncCall):
        name = node.funcname[-1].sval.lower()
        if name in ("now", "transaction_timestamp", "statement_timestamp", "clock_timestamp"):
            return "now"
        if name in ("gen_random_uuid", "uuid_generate_v4"):
            return "crypto.randomUUID()"
    if isinstance(node, ast.SQLValueFunction):
        op = node.op.name
        if op in ("SVFOP_CURRENT_TIMESTAMP", "SVFOP_LOCALTIMESTAMP", "SVFOP_CURRENT_TIMESTAMP_N"):
            return "now"
        if op == "SVFOP_CURRENT_DATE":
            return "now.slice(0, 10)"
    return None


def _ts_array(node, item_type: str) -> str | None:
    """`'{}'`, `'{a,b}'`, `array['a', 'b']` -> a TypeScript array literal."""
    if isinstance(node, ast.A_ArrayExpr):
        items = [_ts_expr(e, item_type) for e in node.elements or ()]
        return None if any(i is None for i in items) else "[" + ", ".join(items) + "]"
    if isinstance(node, ast.A_Const) and isinstance(node.val, ast.String):
        text = node.val.sval.strip()
        if not (text.startswith("{") and text.endswith("}")):
            return None
        inner = text[1:-1].strip()
        if not inner:
            return "[]"
        if any(ch in inner for ch in '"{}\\'):
            return None  # quoted or nested elements: not reproduced
        out = []
        for raw in inner.split(","):
            raw = raw.strip()
            if item_type == "number":
                if not _is_number(raw):
                    return None
                out.append(raw)
            elif item_type == "boolean":
                out.append("true" if raw.lower() in ("t", "true") else "false")
            else:
                out.append("'" + raw.replace("'", "\\'") + "'")
        return "[" + ", ".join(out) + "]"
    return None


def _is_number(s: str) -> bool:
    try:
        float(s)
        return True
    except ValueError:
        return False


def _js_literal(v) -> str:
    import json

    if isinstance(v, dict):
        if not v:
            return "{}"
        return "{ " + ", ".join(f"{json.dumps(k)}: {_js_literal(x)}" for k, x in v.items()) + " }"
    if isinstance(v, list):
        return "[" + ", ".join(_js_literal(x) for x in v) + "]"
    return json.dumps(v)


# --------------------------------------------------------------------------- conventions


@dataclass
class Owner:
    column: str
    type: str
    nullable: bool
    ref_table: str  # "public.users"
    ref_column: str
    on_delete: str | None
    policy_expr: str  # condition: the row belongs to the signed-in user

    def definition(self) -> str:
        s = f"{self.column} {self.type}{'' if self.nullable else ' not null'} references {self.ref_table} ({self.ref_column})"
        return s + (f" on delete {self.on_delete}" if self.on_delete else "")


@dataclass
class SqlConventions:
    owner: Owner | None = None
    updated_at_function: str | None = None  # "public.handle_updated_at"
    trigger_name: str = "{table}_set_updated_at"
    index_name: str = "{table}_{column}_idx"
    rollback_header: str = "-- Undo {stem}.sql"
    policy_names: dict[str, str] = field(default_factory=lambda: {
        "select": "Users can view their own {things}", "insert": "Users can create their own {things}",
        "update": "Users can update their own {things}", "delete": "Users can delete their own {things}"})


def _fk_on_delete(model: RepoModel, table: Table, column: str) -> str | None:
    """`on delete ...` of the foreign key of `table.column`, read from the statement that made it."""
    for m in model.migrations:
        for op in m.ops:
            if op.table != table.name or (op.schema_ or "public") != table.schema_:
                continue
            if op.kind not in ("create_table", "add_column", "add_constraint"):
                continue
            try:
                stmts = pglast.parse_sql(op.sql)
            except Exception:
                continue
            for raw in stmts:
                for node in _walk(raw.stmt):
                    if isinstance(node, ast.ColumnDef) and node.colname == column:
                        for c in node.constraints or ():
                            if c.contype.name == "CONSTR_FOREIGN":
                                return _FK_ACTIONS.get(c.fk_del_action)
                    if isinstance(node, ast.Constraint) and node.contype.name == "CONSTR_FOREIGN" and \
                            [a.sval for a in (node.fk_attrs or ())] == [column]:
                        return _FK_ACTIONS.get(node.fk_del_action)
    return None


def _walk(node):
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, ast.Node):
            yield n
            for name in n:
                stack.append(getattr(n, name))
        elif isinstance(n, (list, tuple)):
            stack.extend(n)


def detect_owner(model: RepoModel) -> Owner | None:
    """The column that ties rows to a user in this repository's tables (e.g. `user_id` referencing
    `public.users`, whose `auth_user_id` references `auth.users`), if the tables use one."""
    tables = model.schema_.tables
    profiles: dict[str, str] = {}  # "public.users" -> its column referencing auth.users
    for key, t in tables.items():
        for c in t.columns.values():
            if c.references and c.references.rsplit(".", 1)[0] == "auth.users":
                profiles.setdefault(key, c.name)
    votes: Counter[tuple[str, str, str]] = Counter()
    examples: dict[tuple[str, str, str], tuple[Table, Column]] = {}
    for key, t in tables.items():
        if t.schema_ != "public":
            continue
        for c in t.columns.values():
            if not c.references:
                continue
            target, _, ref_col = c.references.rpartition(".")
            if target == "auth.users" and key in profiles and profiles[key] == c.name:
                continue  # the profile table's own link to auth
            if target == "auth.users" or target in profiles:
                k = (c.name, target, ref_col)
                votes[k] += 1
                examples.setdefault(k, (t, c))
    if not votes:
        return None
    (col, target, ref_col), _ = sorted(votes.items(), key=lambda kv: (-kv[1], kv[0][1] == "auth.users", kv[0]))[0]
    t, c = examples[(col, target, ref_col)]
    if target == "auth.users":
        expr = f"(select auth.uid()) = {col}"
    else:
        link = profiles[target]
        alias = target.split(".")[-1][0]
        expr = f"{col} in (select {alias}.{ref_col} from {target} {alias} where {alias}.{link} = (select auth.uid()))"
    return Owner(column=col, type=c.type, nullable=c.nullable, ref_table=target, ref_column=ref_col,
                 on_delete=_fk_on_delete(model, t, col), policy_expr=expr)


def detect_sql_conventions(model: RepoModel, read) -> SqlConventions:
    conv = SqlConventions(owner=detect_owner(model))
    schema = model.schema_
    for key, fn in schema.functions.items():
        if (fn.returns or "").lower() == "trigger" and fn.body and "updated_at" in fn.body:
            conv.updated_at_function = f"{fn.schema_}.{fn.name}"
            break
    if conv.updated_at_function:
        short = conv.updated_at_function.split(".")[-1]
        for trig in schema.triggers.values():
            if trig.function.split(".")[-1].removesuffix("()") == short:
                table = trig.table.split(".")[-1]
                if table in trig.name:
                    conv.trigger_name = trig.name.replace(table, "{table}", 1)
                    break
    for ix in schema.indexes.values():
        if len(ix.columns) == 1 and not ix.where:
            table = ix.table.split(".")[-1]
            name = ix.name
            col = ix.columns[0]
            if name == f"{table}_{col}_idx" or name == f"idx_{table}_{col}" or name == f"{table}_{col}_index":
                conv.index_name = name.replace(table, "{table}", 1).replace(col, "{column}", 1)
                break
    for rb in model.rollbacks:
        text = read(rb.path) or ""
        first = text.splitlines()[0] if text else ""
        if first.startswith("--") and rb.stem in first:
            conv.rollback_header = first.replace(rb.stem, "{stem}")
            break
    return conv


# --------------------------------------------------------------------------- file names


def next_version(model: RepoModel, now: dt.datetime | None = None) -> str:
    now = (now or dt.datetime.now(dt.timezone.utc)).astimezone(dt.timezone.utc)
    version = now.strftime("%Y%m%d%H%M%S")
    existing = sorted(m.version for m in model.migrations if m.version)
    if existing and version <= existing[-1]:
        last = dt.datetime.strptime(existing[-1], "%Y%m%d%H%M%S")
        version = (last + dt.timedelta(seconds=1)).strftime("%Y%m%d%H%M%S")
    taken = {m.version for m in model.migrations}
    while version in taken:
        version = (dt.datetime.strptime(version, "%Y%m%d%H%M%S") + dt.timedelta(seconds=1)).strftime("%Y%m%d%H%M%S")
    return version


def migration_paths(model: RepoModel, config: Config, stem: str) -> tuple[str, str]:
    sdir = model.supabase_dir or "supabase"
    up = posixpath.join(sdir, config.paths.migrations, f"{stem}.sql")
    down = posixpath.join(sdir, config.paths.rollbacks, f"{stem}{config.paths.rollback_suffix}")
    return up, down


# --------------------------------------------------------------------------- column specs


@dataclass
class ColumnSpec:
    name: str
    sql: str  # the definition as the user wrote it (normalised spacing)
    column: Column


def parse_columns(model: RepoModel, config: Config, table: str, spec: str) -> list[ColumnSpec]:
    """`"code text not null unique, percent_off bigint"` -> column specs, checked by PostgreSQL's parser."""
    if not spec.strip():
        raise ScaffoldError("no columns given: write them as \"<column> <type> [not null] [default ...], ...\"")
    try:
        tokens = scan(spec)
    except Exception as e:
        raise ScaffoldError(f"columns: {e}") from None
    parts, depth, start = [], 0, 0
    data = spec.encode("utf-8")
    for tok in tokens:
        ch = data[tok.start:tok.end + 1].decode("utf-8", "replace")
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(data[start:tok.start].decode("utf-8"))
            start = tok.end + 1
    parts.append(data[start:].decode("utf-8"))
    parts = [" ".join(p.split()) for p in parts]
    if any(not p for p in parts):
        raise ScaffoldError("columns: empty column definition (a stray comma?)")
    out: list[ColumnSpec] = []
    for p in parts:
        statements, diag = parse_sql("columns.sql", f"create table public.{table} ({p})")
        if diag is not None or not statements or not statements[0].ops:
            raise ScaffoldError(f"columns: `{p}` is not a column definition"
                                + (f" ({diag.message})" if diag is not None else ""))
        detail = statements[0].ops[0].detail
        cols = detail.get("columns", {})
        if len(cols) != 1:
            raise ScaffoldError(f"columns: `{p}` must define exactly one column (table constraints are not "
                                f"supported here; add them to the migration afterwards)")
        col = Column(**next(iter(cols.values())))
        check_identifier(col.name, "column", pattern=config.business_rules.column_name_pattern)
        col.type = check_type(model, config, col.type, f"column `{col.name}`")
        if col.references:
            target = col.references.rsplit(".", 1)[0]
            if target not in model.schema_.tables and not target.startswith("auth."):
                raise ScaffoldError(f"column `{col.name}` references `{target}`, which does not exist")
        out.append(ColumnSpec(col.name, p, col))
    names = [c.name for c in out]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ScaffoldError(f"columns: {', '.join(dupes)} given more than once")
    return out


# --------------------------------------------------------------------------- migrations


def add_field_sql(model: RepoModel, config: Config, conv: SqlConventions, table: Table, column: str,
                  col_def: str, stem: str) -> tuple[str, str]:
    up = render("add_field.sql.j2", description=f"Add {table.name}.{column}.", table=table.qualified,
                column=column, column_def=col_def, comment=None)
    down = render("add_field.down.sql.j2", header=conv.rollback_header.format(stem=stem), table=table.qualified,
                  column=column)
    return up, down


@dataclass
class NewTableSql:
    up: str
    down: str
    owner: Owner | None
    indexes: list[dict]
    policies: list[dict]


def new_table_sql(model: RepoModel, conv: SqlConventions, schema: str, table: str, specs: list[ColumnSpec],
                  stem: str, with_owner: bool = True) -> NewTableSql:
    qualified = f"{schema}.{table}"
    given = {s.name for s in specs}
    lines: list[str] = []
    if "id" not in given:
        lines.append("id uuid primary key default gen_random_uuid()")
    owner = conv.owner if with_owner else None
    if owner is not None and owner.column not in given:
        lines.append(owner.definition())
    lines.extend(s.sql for s in specs)
    if "created_at" not in given:
        lines.append("created_at timestamptz not null default now()")
    if "updated_at" not in given:
        lines.append("updated_at timestamptz not null default now()")
    owner_col = owner.column if owner is not None and owner.column not in given else None
    fks = ([owner_col] if owner_col else []) + \
        [s.name for s in specs if s.column.references and not s.column.unique and not s.column.primary_key]
    indexes = []
    for c in fks:
        # the owner's rows are listed newest first: one index serves the foreign key and that order
        sort = c == owner_col and "created_at" not in given
        cols = f"{c}, created_at desc" if sort else c
        name = conv.index_name.format(table=table, column=f"{c}_created_at" if sort else c)
        indexes.append({"name": name, "column": cols, "qualified": f"{schema}.{name}"})
    if owner_col is None and "created_at" not in given:
        # without an owner the rows are listed newest first across the table
        name = conv.index_name.format(table=table, column="created_at")
        indexes.append({"name": name, "column": "created_at desc", "qualified": f"{schema}.{name}"})
    trigger = None
    if conv.updated_at_function:
        trigger = {"name": conv.trigger_name.format(table=table), "function": conv.updated_at_function}
    things = human(table)
    policies: list[dict] = []
    if owner is not None:
        expr = owner.policy_expr
        if len(expr) > 60:
            using = f"  using (\n    {expr}\n  )"
            check = f"  with check (\n    {expr}\n  )"
        else:
            using, check = f"  using ({expr})", f"  with check ({expr})"
        for cmd in ("select", "insert", "update", "delete"):
            policies.append({
                "name": conv.policy_names[cmd].format(things=things), "command": cmd, "roles": "authenticated",
                "using": using if cmd != "insert" else None,
                "with_check": check if cmd in ("insert", "update") else None,
            })
    description = f"{things[:1].upper()}{things[1:]}" + (
        f", each owned by a row of {owner.ref_table}." if owner is not None else ".")
    up = render("new_table.sql.j2", description=description, table=qualified, column_lines=lines,
                indexes=indexes, trigger=trigger, policies=policies)
    down = render("new_table.down.sql.j2", header=conv.rollback_header.format(stem=stem), table=qualified,
                  policies=policies, trigger=trigger, indexes=indexes)
    return NewTableSql(up, down, owner, indexes, policies)


def replay_new(model: RepoModel, path: str, text: str) -> Table | None:
    """The schema after the existing migrations plus `text` (as `path`): the table it creates."""
    from ..sql.migrations import build_migration
    from ..sql.replay import replay_with_warnings

    mig = build_migration(path, text)
    if mig.parse_error is not None:
        raise ScaffoldError(f"generated migration does not parse: {mig.parse_error.message}")
    schema, _ = replay_with_warnings([*model.migrations, mig])
    return schema
