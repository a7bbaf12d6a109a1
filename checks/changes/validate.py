"""Is a change request complete and consistent with the repository and its business rules?

`validate(cr, model, config)` checks the parsed request against the repository as it is on the
default branch (`RepoModel`) and `.github/dlcm.yml` (`business_rules`). It never raises; every
problem names the form field and says how to fix it. It also decides whether the change is
breaking (whatever the form says for removals, renames and type changes) and its risk, and
gives the change in normalised form (qualified names, normalised types and paths) with a
digest that approvals are bound to.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from typing import Literal

from pydantic import BaseModel, Field

from ..config import Config
from ..model import RepoModel, Table
from ..sql.parse import parse_type
from .form import FIELDS, normalize_path, parse_issue_body
from .request import ChangeRequest, ChangeType, ColumnSpec, Problem

__all__ = ["NormalizedColumn", "NormalizedEndpoint", "NormalizedChange", "ValidationResult", "validate",
           "validate_body", "base_type", "BUILTIN_TYPES"]

Risk = Literal["low", "medium", "high"]


class NormalizedColumn(BaseModel):
    table: str  # "schema.table"
    name: str
    new_name: str | None = None
    type: str | None = None
    nullable: bool | None = None
    default: str | None = None
    primary_key: bool = False
    unique: bool = False
    references: str | None = None
    current_type: str | None = None  # on the default branch, when the column exists
    current_nullable: bool | None = None


class NormalizedEndpoint(BaseModel):
    method: str
    path: str  # normalised, params as "{}"
    raw_path: str


class NormalizedChange(BaseModel):
    type: ChangeType | None = None
    summary: str | None = None
    tables: list[str] = Field(default_factory=list)  # every table involved, "schema.table"
    new_tables: list[str] = Field(default_factory=list)
    renamed_tables: dict[str, str] = Field(default_factory=dict)  # "schema.old" -> "new"
    columns: list[NormalizedColumn] = Field(default_factory=list)
    endpoints: list[NormalizedEndpoint] = Field(default_factory=list)
    components: list[str] = Field(default_factory=list)
    breaking: bool = False
    expose_api: bool = False
    backfill: bool = False
    requires_rls: bool = False  # new tables must enable row level security (business rule)
    target_date: dt.date | None = None

    def digest(self) -> str:
        """Stable hash of the change; an approval is for one digest."""
        data = self.model_dump(mode="json")
        return hashlib.sha256(json.dumps(data, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:16]


class ValidationResult(BaseModel):
    valid: bool
    problems: list[Problem] = Field(default_factory=list)
    breaking: bool = False
    breaking_reasons: list[str] = Field(default_factory=list)
    risk: Risk = "low"
    risk_reasons: list[str] = Field(default_factory=list)
    change: NormalizedChange = Field(default_factory=NormalizedChange)
    request: ChangeRequest = Field(default_factory=ChangeRequest)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]


# built-in types (normalised spellings) and common extension types
BUILTIN_TYPES = frozenset({
    "smallint", "integer", "bigint", "real", "double precision", "numeric", "boolean", "text", "varchar", "char",
    '"char"', "name", "uuid", "date", "time", "timetz", "timestamp", "timestamptz", "interval", "json", "jsonb",
    "bytea", "inet", "cidr", "macaddr", "macaddr8", "bit", "varbit", "money", "serial", "bigserial", "smallserial",
    "point", "line", "lseg", "box", "path", "polygon", "circle", "tsvector", "tsquery", "xml", "oid", "regclass",
    "int4range", "int8range", "numrange", "tsrange", "tstzrange", "daterange", "int4multirange", "int8multirange",
    "nummultirange", "tsmultirange", "tstzmultirange", "datemultirange", "pg_lsn",
    # extensions commonly enabled on Supabase
    "citext", "vector", "halfvec", "sparsevec", "geometry", "geography", "ltree", "hstore",
    "extensions.vector", "extensions.citext", "extensions.geometry", "extensions.geography",
})
SERIALS = {"serial", "bigserial", "smallserial"}
TYPE_ADVICE = {
    "json": "use `jsonb` (indexable, no duplicate keys, faster to query)",
    "timestamp": "use `timestamptz`: `timestamp` without time zone silently drops the offset",
    "money": "use `numeric(12,2)` or an integer amount in cents with a currency column",
    "serial": "use `bigint generated always as identity`, or `uuid default gen_random_uuid()`",
    "char": "use `text` (with a `check (char_length(x) = n)` if the length matters)",
}

_LABEL = {f.id: f.label for f in FIELDS}
_HOW = {
    "summary": "say in one line what changes, e.g. `Store the customer's phone number`",
    "change_type": "choose one of add-field, new-table, api-endpoint, modify-field, remove-field, rename, add-index, other",
    "tables": "list the table(s), e.g. `public.users` (`old_name -> new_name` for a rename)",
    "columns": "list the columns one per line as `name type [null|not null] [default X]`, e.g. `phone text null`",
    "endpoints": "list the endpoints one per line as `METHOD /path`, e.g. `GET /users/:id/orders`",
    "components": "name the components from the component board",
    "breaking": "answer yes, no or unsure",
    "motivation": "explain why the change is needed: who needs it, what it enables",
    "rollback_plan": "say how the change is undone, e.g. `drop the column; the down migration restores the old state`",
}
_SCHEMA_TYPES = {"add-field", "new-table", "modify-field", "remove-field", "rename", "add-index"}
REQUIRED: dict[str, tuple[str, ...]] = {
    "add-field": ("tables", "columns", "rollback_plan"),
    "new-table": ("tables", "columns", "rollback_plan"),
    "api-endpoint": ("endpoints",),
    "modify-field": ("tables", "columns", "rollback_plan"),
    "remove-field": ("tables", "columns", "rollback_plan"),
    "rename": ("tables", "rollback_plan"),
    "add-index": ("tables", "columns", "rollback_plan"),
    "other": (),
}
ALWAYS_REQUIRED = ("summary", "change_type", "breaking", "motivation")


def base_type(t: str) -> str:
    """`varchar(20)[]` → `varchar`; `timestamp(3)` → `timestamp`."""
    b = t.strip()
    while b.endswith("[]"):
        b = b[:-2]
    if "(" in b:
        b = b[: b.index("(")].strip()
    return b.removeprefix("setof ")


def _table_desc(t: Table) -> str:
    return f"`{t.qualified}`"


class _V:
    def __init__(self, cr: ChangeRequest, model: RepoModel, config: Config, today: dt.date | None):
        self.cr, self.model, self.config, self.today = cr, model, config, today
        self.rules = config.business_rules
        self.problems: list[Problem] = list(cr.problems)
        self.breaking: list[str] = []
        self.risk: list[tuple[Risk, str]] = []
        self.change = NormalizedChange(type=cr.change_type, summary=cr.summary, components=[],
                                       expose_api=cr.expose_api, backfill=bool(cr.options.get("backfill")),
                                       target_date=cr.target_date)
        self.tables = model.schema_.tables
        forbidden = set()
        for f in self.rules.forbidden_types:
            n = parse_type(f) or f.strip().lower()
            forbidden.add(base_type(n))
        if "serial" in forbidden:
            forbidden |= SERIALS
        self.forbidden = forbidden

    # ------------------------------------------------------------------ helpers
    def err(self, field: str, message: str) -> None:
        self.problems.append(Problem(field=field, message=message))

    def warn(self, field: str, message: str) -> None:
        self.problems.append(Problem(field=field, message=message, severity="warning"))

    def find_table(self, schema: str | None, name: str) -> Table | None:
        if schema:
            return self.tables.get(f"{schema}.{name}")
        t = self.tables.get(f"public.{name}")
        if t is not None:
            return t
        others = [t for t in self.tables.values() if t.name == name]
        return others[0] if len(others) == 1 else None

    def qualify(self, schema: str | None, name: str) -> str:
        t = self.find_table(schema, name)
        return t.qualified if t is not None else f"{schema or 'public'}.{name}"

    def check_type(self, spec: ColumnSpec, where: str) -> None:
        t = spec.type
        if t is None:
            return
        b = base_type(t)
        known = b in BUILTIN_TYPES or b in self.model.schema_.enums or f"public.{b}" in self.model.schema_.enums
        if not known:
            enums = ", ".join(sorted(self.model.schema_.enums)) or "none yet"
            self.err("columns", f"{where}: `{t}` is not a PostgreSQL type dlcm knows: use a built-in type "
                                f"(text, integer, bigint, boolean, uuid, timestamptz, jsonb, numeric(p,s), ...) "
                                f"or an enum created by a migration (existing enums: {enums})")
        if b in self.forbidden:
            advice = TYPE_ADVICE.get("serial" if b in SERIALS else b, "choose another type")
            self.err("columns", f"{where}: type `{t}` is forbidden by the business rules "
                                f"(`business_rules.forbidden_types` in .github/dlcm.yml): {advice}")

    def check_name(self, field: str, kind: str, name: str, pattern: str, setting: str) -> None:
        try:
            ok = re.search(pattern, name) is not None
        except re.error:
            self.warn(field, f"`business_rules.{setting}` in .github/dlcm.yml is not a valid regular expression")
            return
        if not ok:
            self.err(field, f"{kind} name `{name}` does not match the naming rule `{pattern}` "
                            f"(`business_rules.{setting}`): use lower snake_case, e.g. `{_snake(name)}`")

    # ------------------------------------------------------------------ required fields
    def required(self) -> None:
        cr = self.cr
        present = {
            "summary": bool(cr.summary), "change_type": cr.change_type is not None or bool(cr.change_type_raw),
            "breaking": cr.breaking is not None or any(p.field == "breaking" for p in cr.problems),
            "motivation": bool(cr.motivation), "rollback_plan": bool(cr.rollback_plan),
            "tables": bool(cr.tables) or any(p.field == "tables" for p in cr.problems),
            "columns": bool(cr.columns) or any(p.field == "columns" for p in cr.problems),
            "endpoints": bool(cr.endpoints) or any(p.field == "endpoints" for p in cr.problems),
        }
        need = list(ALWAYS_REQUIRED)
        if cr.change_type:
            need += [f for f in REQUIRED[cr.change_type] if f not in need]
        for f in need:
            if not present.get(f, True):
                why = f" for a {cr.change_type} change" if f not in ALWAYS_REQUIRED else ""
                self.err(f, f"`{_LABEL[f]}` is missing{why}: {_HOW[f]}")

    # ------------------------------------------------------------------ tables and columns
    def column_table(self, spec: ColumnSpec, tables: list[tuple[str | None, str]]) -> tuple[str | None, str] | None:
        if spec.table:
            parts = spec.table.split(".")
            schema, name = (parts[-2] if len(parts) > 1 else None), parts[-1]
            for s, n in tables:
                if n == name and (schema is None or s in (None, schema)):
                    return s or schema, n
            return schema, name
        if len(tables) == 1:
            return tables[0]
        if not tables:
            return None
        self.err("columns", f"`{spec.raw}`: more than one table is listed — qualify the column as "
                            f"`table.column`, e.g. `{tables[0][1]}.{spec.name}`")
        return None

    def columns(self, kind: str) -> None:
        cr = self.cr
        tables = [(t.schema_, t.name) for t in cr.tables]
        seen: set[tuple[str, str]] = set()
        for spec in cr.columns:
            tt = self.column_table(spec, tables)
            if tt is None:
                continue
            schema, tname = tt
            qual = self.qualify(schema, tname)
            if qual not in self.change.tables:
                self.change.tables.append(qual)
            key = (qual, spec.name)
            where = f"`{tname}.{spec.name}`"
            if key in seen:
                self.err("columns", f"{where} is listed twice: keep one line per column")
                continue
            seen.add(key)
            table = self.tables.get(qual)
            new_table = qual in self.change.new_tables
            existing = table.columns.get(spec.name) if table is not None else None
            nc = NormalizedColumn(table=qual, name=spec.name, new_name=spec.new_name, type=spec.type,
                                  nullable=spec.nullable, default=spec.default, primary_key=spec.primary_key,
                                  unique=spec.unique, references=spec.references,
                                  current_type=existing.type if existing else None,
                                  current_nullable=existing.nullable if existing else None)
            self.change.columns.append(nc)
            if (table is None and not new_table) or (kind == "new-table" and not new_table):
                continue  # the table problem is reported once, by tables_rules()
            if kind in ("add-field", "new-table"):
                self.add_column(spec, nc, table, existing, where, new_table)
            elif kind == "modify-field":
                self.modify_column(spec, nc, existing, where, table)
            elif kind == "remove-field":
                self.remove_column(spec, existing, where, table)
            elif kind == "rename":
                self.rename_column(spec, existing, where, table)
            elif kind == "add-index":
                if existing is None and table is not None:
                    self.err("columns", f"{where} does not exist: index existing columns of "
                                        f"{_table_desc(table)} ({_cols(table)})")
            if spec.references:
                ref = spec.references.split(".")
                ref_table = ".".join(ref[:2])
                if ref_table not in self.tables and ref_table not in self.change.new_tables:
                    self.err("columns", f"{where} references `{ref_table}`, which does not exist: "
                                        "check the table name or create it first")
        if kind == "add-index":
            self.index_exists()

    def add_column(self, spec, nc, table, existing, where, new_table) -> None:
        if existing is not None:
            self.err("columns", f"{where} already exists ({existing.type}, "
                                f"{'nullable' if existing.nullable else 'not null'}): choose `modify-field` to change "
                                "it, or pick another name")
            return
        if spec.new_name:
            self.err("columns", f"`{spec.raw}`: `old -> new` is for renames; choose `rename`, or write `name type`")
        if spec.type is None:
            self.err("columns", f"{where}: give the column's type, e.g. `{spec.name} text`")
        self.check_name("columns", "Column", spec.name, self.rules.column_name_pattern, "column_name_pattern")
        self.check_type(spec, where)
        if not new_table and spec.nullable is False and spec.default is None:
            self.breaking.append(f"{where} is added as NOT NULL without a default: every insert that does not "
                                 "set it fails, and the migration fails on a table with rows")
            self.warn("columns", f"{where} is NOT NULL without a default: add a default, or add it nullable, "
                                 "backfill, then set NOT NULL in a later migration (expand/contract)")
        if not new_table and spec.unique:
            self.risk.append(("medium", f"{where} is UNIQUE: existing rows must not collide"))

    def modify_column(self, spec, nc, existing, where, table) -> None:
        if existing is None:
            self.err("columns", f"{where} does not exist: choose `add-field` to add it "
                                f"(columns of {_table_desc(table)}: {_cols(table)})")
            return
        changed = False
        if spec.type is not None:
            self.check_type(spec, where)
            if spec.type != existing.type:
                changed = True
                self.breaking.append(f"{where} changes type from `{existing.type}` to `{spec.type}`: readers, "
                                     "writers and the generated types change")
        if spec.nullable is not None and spec.nullable != existing.nullable:
            changed = True
            if spec.nullable is False:
                self.breaking.append(f"{where} becomes NOT NULL: writes of null fail, existing nulls must be "
                                     "backfilled first")
            else:
                self.risk.append(("medium", f"{where} becomes nullable: readers must handle null"))
        if spec.default is not None and spec.default != existing.default:
            changed = True
        if spec.new_name:
            self.err("columns", f"`{spec.raw}`: choose `rename` to rename a column")
        if not changed and not spec.new_name:
            self.err("columns", f"{where} already is `{existing.type}` "
                                f"{'null' if existing.nullable else 'not null'}"
                                f"{' default ' + existing.default if existing.default else ''}: say what changes "
                                f"— the new type, `null`/`not null` or `default X`")

    def remove_column(self, spec, existing, where, table) -> None:
        if existing is None:
            self.err("columns", f"{where} does not exist (columns of {_table_desc(table)}: {_cols(table)})")
            return
        self.breaking.append(f"{where} is removed: every reader and writer of it breaks")
        if existing.primary_key:
            self.err("columns", f"{where} is the primary key of {_table_desc(table)}: it cannot be removed "
                                "without replacing the key first")
        idx = [i.name for i in self.model.schema_.indexes.values()
               if i.table == table.qualified and spec.name in i.columns]
        if idx:
            self.warn("columns", f"{where} is used by the index(es) {', '.join(idx)}: they are dropped with it")

    def rename_column(self, spec, existing, where, table) -> None:
        if not spec.new_name:
            self.err("columns", f"`{spec.raw}`: write the rename as `old_name -> new_name`")
            return
        if existing is None:
            self.err("columns", f"{where} does not exist (columns of {_table_desc(table)}: {_cols(table)})")
            return
        if spec.new_name in table.columns:
            self.err("columns", f"`{table.name}.{spec.new_name}` already exists: choose another new name")
        self.check_name("columns", "Column", spec.new_name, self.rules.column_name_pattern, "column_name_pattern")
        self.breaking.append(f"{where} is renamed to `{spec.new_name}`: every reader and writer of the old name breaks")

    def index_exists(self) -> None:
        by_table: dict[str, list[str]] = {}
        for c in self.change.columns:
            by_table.setdefault(c.table, []).append(c.name)
        for t, cols in by_table.items():
            for i in self.model.schema_.indexes.values():
                if i.table == t and i.columns == cols:
                    self.warn("columns", f"the index `{i.name}` on {t} ({', '.join(cols)}) already exists")

    def tables_rules(self, kind: str) -> None:
        cr = self.cr
        for ref in cr.tables:
            t = self.find_table(ref.schema_, ref.name)
            if kind == "new-table":
                qual = f"{ref.schema_ or 'public'}.{ref.name}"
                if t is not None:
                    self.err("tables", f"table {_table_desc(t)} already exists: choose `add-field` or "
                                       "`modify-field` to change it, or pick another name")
                    continue
                self.change.new_tables.append(qual)
                self.change.tables.append(qual)
                self.check_name("tables", "Table", ref.name, self.rules.table_name_pattern, "table_name_pattern")
                continue
            if t is None:
                known = ", ".join(sorted(self.tables)) or "none"
                fix = "choose `new-table` to create it" if kind in ("add-field", "other") else "check the name"
                self.err("tables", f"table `{ref.qualified}` does not exist on the default branch: {fix} "
                                   f"(existing tables: {known})")
                continue
            if t.qualified not in self.change.tables:
                self.change.tables.append(t.qualified)
            if ref.new_name:
                if kind != "rename":
                    self.err("tables", f"`{ref.raw}`: `old -> new` is for renames; choose `rename`")
                    continue
                new_q = f"{t.schema_}.{ref.new_name}"
                if new_q in self.tables:
                    self.err("tables", f"table `{new_q}` already exists: choose another new name")
                self.check_name("tables", "Table", ref.new_name, self.rules.table_name_pattern, "table_name_pattern")
                self.change.renamed_tables[t.qualified] = ref.new_name
                self.breaking.append(f"table {_table_desc(t)} is renamed to `{ref.new_name}`: every query of it breaks")
            if self.rules.rls_required and not t.rls_enabled and kind in _SCHEMA_TYPES:
                self.warn("tables", f"table {_table_desc(t)} has row level security disabled: enable it in this "
                                    "change (`alter table ... enable row level security` and policies)")

    def new_tables(self) -> None:
        if not self.change.new_tables:
            return
        self.change.requires_rls = self.rules.rls_required
        by_table: dict[str, list[NormalizedColumn]] = {t: [] for t in self.change.new_tables}
        for c in self.change.columns:
            if c.table in by_table:
                by_table[c.table].append(c)
        for t, cols in by_table.items():
            names = {c.name for c in cols}
            if not cols:
                continue  # "columns missing" is reported by required() / column_table()
            missing = [r for r in self.rules.required_columns if r not in names]
            if missing:
                sugg = "; ".join(_required_suggestion(m) for m in missing)
                self.err("columns", f"new table `{t}` lacks the required column(s) {', '.join(missing)} "
                                    f"(`business_rules.required_columns`): add {sugg}")
            if not any(c.primary_key for c in cols):
                self.warn("columns", f"new table `{t}` has no primary key: mark one, e.g. "
                                     "`id uuid primary key default gen_random_uuid()`")

    def rename_rules(self) -> None:
        if not self.change.renamed_tables and not any(c.new_name for c in self.cr.columns):
            if not any(p.field in ("tables", "columns") for p in self.problems):
                self.err("tables", "say what is renamed: `old_name -> new_name` in `Table(s)` for a table, or in "
                                   "`Column(s) with type` for a column")

    def endpoints(self) -> None:
        cr = self.cr
        routes = {(r.method.upper(), normalize_path(r.path)): r for r in self.model.routes}
        seen = set()
        for ep in cr.endpoints:
            key = (ep.method, ep.normalized)
            if key in seen:
                self.err("endpoints", f"`{ep.raw}` is listed twice")
                continue
            seen.add(key)
            self.change.endpoints.append(NormalizedEndpoint(method=ep.method, path=ep.normalized, raw_path=ep.path))
            r = routes.get(key)
            if r is not None and cr.change_type == "api-endpoint":
                self.err("endpoints", f"`{ep.method} {ep.path}` already exists ({r.file}:{r.line}, "
                                      f"`{r.method} {r.raw_path}`): choose another path, or describe the change to "
                                      "it as `modify-field`/`other`")

    def components(self) -> None:
        board = {c.name.lower(): c.name for c in self.model.components}
        pkgs: dict[str, str] = {}
        for p in self.model.packages:
            if not p.path:
                continue
            pkgs[p.name.lower()] = p.name
            pkgs[p.path.rsplit("/", 1)[-1].lower()] = p.name
        for name in self.cr.components:
            key = name.lower().lstrip("@")
            if key in board:
                self.change.components.append(board[key])
            elif not board and key in pkgs:
                self.change.components.append(pkgs[key])
            elif board or pkgs:
                where = self.model.component_board or "the workspace packages"
                known = ", ".join(sorted(board.values()) if board else sorted(set(pkgs.values())))
                self.err("components", f"unknown component `{name}`: use a name from {where} ({known})")
            else:
                self.change.components.append(name)

    def decide(self) -> tuple[bool, list[str], Risk, list[str]]:
        cr = self.cr
        reasons = list(self.breaking)
        if cr.change_type in ("remove-field", "rename") and not reasons and cr.change_type:
            reasons.append(f"a {cr.change_type} change is breaking whatever the form says")
        if cr.breaking == "yes" and not reasons:
            reasons.append("marked breaking on the form")
        breaking = bool(reasons)
        if breaking and cr.breaking == "no":
            self.warn("breaking", "the form says not breaking, but it is: " + "; ".join(reasons)
                      + ". dlcm treats it as breaking (approvals, expand/contract plan, tested rollback)")
        self.change.breaking = breaking
        risk_reasons: list[str] = []
        risk: Risk = "low"
        if breaking:
            risk, risk_reasons = "high", ["breaking change"]
        else:
            med = [why for lvl, why in self.risk if lvl == "medium"]
            if cr.change_type in ("new-table", "modify-field"):
                med.append(f"{cr.change_type} change")
            if self.change.backfill:
                med.append("needs a data backfill")
            if len(self.change.components) >= 3:
                med.append(f"{len(self.change.components)} components affected")
            if med:
                risk, risk_reasons = "medium", med
        return breaking, reasons, risk, risk_reasons

    def run(self) -> ValidationResult:
        cr = self.cr
        self.required()
        kind = cr.change_type
        if kind in _SCHEMA_TYPES or (kind in ("other", "api-endpoint") and cr.tables):
            self.tables_rules(kind)  # type: ignore[arg-type]
        if kind in _SCHEMA_TYPES:
            self.columns(kind)  # type: ignore[arg-type]
        if kind == "new-table":
            self.new_tables()
        if kind == "rename":
            self.rename_rules()
        self.endpoints()
        self.components()
        if self.today is not None and cr.target_date is not None and cr.target_date < self.today:
            self.warn("target_date", f"the target date {cr.target_date.isoformat()} is in the past: set a new one")
        breaking, reasons, risk, risk_reasons = self.decide()
        problems = _dedupe(self.problems)
        return ValidationResult(
            valid=not any(p.severity == "error" for p in problems), problems=problems, breaking=breaking,
            breaking_reasons=reasons, risk=risk, risk_reasons=risk_reasons, change=self.change, request=cr)


def _dedupe(problems: list[Problem]) -> list[Problem]:
    seen, out = set(), []
    for p in problems:
        k = (p.field, p.message, p.severity)
        if k not in seen:
            seen.add(k)
            out.append(p)
    # errors first, then warnings; stable within each
    return [p for p in out if p.severity == "error"] + [p for p in out if p.severity != "error"]


def _cols(table: Table | None) -> str:
    if table is None:
        return ""
    names = list(table.columns)
    return ", ".join(names[:12]) + (f", … ({len(names) - 12} more)" if len(names) > 12 else "")


def _snake(name: str) -> str:
    s = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name)
    s = re.sub(r"[^A-Za-z0-9]+", "_", s).strip("_").lower()
    if not s or not s[0].isalpha():
        s = "x_" + s
    return s


def _required_suggestion(name: str) -> str:
    return {
        "id": "`id uuid primary key default gen_random_uuid()`",
        "created_at": "`created_at timestamptz not null default now()`",
        "updated_at": "`updated_at timestamptz not null default now()`",
    }.get(name, f"`{name} <type>`")


def validate(cr: ChangeRequest, model: RepoModel, config: Config | None = None,
             today: dt.date | None = None) -> ValidationResult:
    """Check a parsed change request against the repository (default branch) and the business rules."""
    return _V(cr, model, config or Config(), today).run()


def validate_body(body: str, model: RepoModel, config: Config | None = None,
                  today: dt.date | None = None) -> ValidationResult:
    """`parse_issue_body` then `validate`."""
    return validate(parse_issue_body(body), model, config, today)
