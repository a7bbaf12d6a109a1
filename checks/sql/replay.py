"""Replay schema operations into a `Schema`, and compare two schemas.

`replay` is pure: it works on a deep copy of the schema it is given. Operations PostgreSQL would
reject (a column that does not exist, a table created twice, a drop that other objects still
depend on without `cascade`, ...) do not raise: they are skipped (or applied as far as sensible)
and reported as warnings by `replay_with_warnings`.

Objects of the schemas Supabase manages (`auth`, `storage`, ...) are not created by migrations;
statements on them (a trigger on `auth.users`, a policy on `storage.objects`) are recorded
without a warning.
"""

from __future__ import annotations

from typing import Any, Iterable, Iterator

from pydantic import BaseModel

from ..model import (
    Column,
    Constraint,
    Diagnostic,
    Enum,
    Function,
    Grant,
    Index,
    Migration,
    Op,
    Policy,
    Rollback,
    Schema,
    Table,
    Trigger,
    View,
)
from .parse import apply_constraint_flags, make_object_name as _make_object_name, rename_column_in_expr

__all__ = [
    "SchemaDifference",
    "EXTERNAL_SCHEMAS",
    "replay",
    "replay_with_warnings",
    "diff_schemas",
    "default_constraint_name",
    "types_equal",
    "copy_schema",
    "Replayer",
]

EXTERNAL_SCHEMAS = frozenset({
    "auth", "storage", "realtime", "extensions", "graphql", "graphql_public", "pgsodium",
    "pgsodium_masks", "vault", "supabase_functions", "supabase_migrations", "net", "cron",
    "pgbouncer", "pg_catalog", "information_schema", "_realtime", "_analytics",
})

_ALL_PRIVILEGES = {
    "table": ("select", "insert", "update", "delete", "truncate", "references", "trigger"),
    "view": ("select", "insert", "update", "delete", "truncate", "references", "trigger"),
    "sequence": ("usage", "select", "update"),
    "function": ("execute",),
    "procedure": ("execute",),
    "routine": ("execute",),
    "schema": ("usage", "create"),
}


class SchemaDifference(BaseModel):
    """One way `after` differs from `before` (the expected schema)."""

    kind: str  # e.g. "table_added", "column_missing", "column_type_changed", "rls_changed", ...
    object: str  # "public.users.email"
    detail: str  # "expected text, got varchar(20)"

    def __str__(self) -> str:
        return f"{self.object}: {self.detail}"


# --------------------------------------------------------------------------- naming


def default_constraint_name(table: str, con: Constraint) -> str:
    """The name PostgreSQL gives an unnamed constraint (`users_pkey`, `users_email_key`,
    `orders_user_id_fkey`, `orders_total_check`)."""
    cols = con.columns
    if con.kind == "primary_key":
        return _make_object_name(table, None, "pkey")
    if con.kind == "unique":
        return _make_object_name(table, "_".join(cols) or None, "key")
    if con.kind == "foreign_key":
        return _make_object_name(table, "_".join(cols) or None, "fkey")
    if con.kind == "check":
        return _make_object_name(table, cols[0] if len(cols) == 1 else None, "check")
    if con.kind == "exclude":
        return _make_object_name(table, "_".join(cols) or None, "excl")
    if con.kind == "not_null":
        return _make_object_name(table, cols[0] if cols else None, "not_null")
    return _make_object_name(table, None, con.kind)


_SERIAL_BASE = {"serial": "integer", "bigserial": "bigint", "smallserial": "smallint"}


def _canon_type(t: str | None) -> str:
    t = (t or "").strip()
    t = _SERIAL_BASE.get(t, t)
    if t.startswith("public."):
        t = t[len("public."):]
    return t


def types_equal(a: str | None, b: str | None) -> bool:
    """Same type, ignoring `public.` qualification and serial ↔ integer."""
    return _canon_type(a) == _canon_type(b)


def _ws(s: str | None) -> str | None:
    return " ".join(s.split()) if s is not None else None


# --------------------------------------------------------------------------- replay


def copy_schema(s: Schema) -> Schema:
    """A deep copy of a schema (several times faster than `model_copy(deep=True)`)."""
    return Schema.model_construct(
        tables={
            k: Table.model_construct(
                schema_=t.schema_, name=t.name,
                columns={n: c.model_copy() for n, c in t.columns.items()},
                constraints=[c.model_copy(update={"columns": list(c.columns), "ref_columns": list(c.ref_columns)})
                             for c in t.constraints],
                rls_enabled=t.rls_enabled, rls_forced=t.rls_forced,
            )
            for k, t in s.tables.items()
        },
        indexes={k: i.model_copy(update={"columns": list(i.columns)}) for k, i in s.indexes.items()},
        policies={k: p.model_copy(update={"roles": list(p.roles)}) for k, p in s.policies.items()},
        functions={k: f.model_copy() for k, f in s.functions.items()},
        enums={k: e.model_copy(update={"values": list(e.values)}) for k, e in s.enums.items()},
        triggers={k: t.model_copy(update={"events": list(t.events)}) for k, t in s.triggers.items()},
        views={k: v.model_copy() for k, v in s.views.items()},
        grants=[g.model_copy(update={"privileges": list(g.privileges), "objects": list(g.objects),
                                     "roles": list(g.roles)}) for g in s.grants],
    )


class Replayer:
    """Incremental replay: `apply()` migrations one after the other on one schema (no copy per
    migration), `snapshot()` when a copy is needed, `fork()` to try something (e.g. a rollback)
    without touching this replayer's schema.

        r = Replayer()
        for m in migrations:
            before = r.snapshot()
            r.apply([m])
            trial = r.fork()
            trial.apply([rollback_of[m]])
            diffs = diff_schemas(before, trial.schema)
    """

    def __init__(self, schema: Schema | None = None, *, copy: bool = True):
        self.s = (copy_schema(schema) if copy else schema) if schema is not None else Schema()
        self.file: str | None = None
        self.warnings: list[Diagnostic | str] = []
        self.other_types: set[str] = set()
        self.grants: list[tuple[str, str, str, str]] = []  # (privilege, kind, object, role)
        seen: set[tuple[str, str, str, str]] = set()
        for g in self.s.grants:
            for atom in _grant_atoms(g):
                if atom not in seen:
                    seen.add(atom)
                    self.grants.append(atom)

    # ------------------------------------------------------------------ plumbing
    def warn(self, op: Op, message: str) -> None:
        if self.file is not None:
            self.warnings.append(Diagnostic(file=self.file, line=op.line, kind="replay-warning", message=message))
        else:
            self.warnings.append(f"line {op.line}: {message}")

    def result(self) -> Schema:
        self.s.grants = [Grant(privileges=[p], object_kind=k, objects=[o], roles=[r]) for p, k, o, r in self.grants]
        return self.s

    @property
    def schema(self) -> Schema:
        """The current schema (live: do not mutate it; see `snapshot`)."""
        return self.result()

    def snapshot(self) -> Schema:
        """A copy of the current schema."""
        return copy_schema(self.result())

    def fork(self) -> "Replayer":
        """An independent replayer starting from the current state."""
        r = Replayer(self.result())
        r.other_types = set(self.other_types)
        return r

    def apply(self, items: Iterable[Op | Migration | Rollback]) -> list[Diagnostic | str]:
        """Apply ops / migrations / rollbacks in order; returns the warnings of this call
        (all warnings so far are in `.warnings`)."""
        start = len(self.warnings)
        for path, op in _iter_ops(items):
            self.file = path
            self.apply_op(op)
        return self.warnings[start:]

    def apply_op(self, op: Op) -> None:
        h = getattr(self, "op_" + op.kind, None)
        if h is None:
            return
        try:
            h(op)
        except Exception as e:  # a malformed op must not stop the replay
            self.warn(op, f"{op.kind}: could not apply ({type(e).__name__}: {e})")

    @staticmethod
    def schema_of(op: Op) -> str:
        return op.schema_ or "public"

    def tkey(self, op: Op) -> str:
        return f"{self.schema_of(op)}.{op.table}"

    def table(self, op: Op, what: str) -> Table | None:
        """The table an op works on; warns (unless expected) when it does not exist."""
        t = self.s.tables.get(self.tkey(op))
        if t is None and not op.detail.get("table_if_exists") and self.schema_of(op) not in EXTERNAL_SCHEMAS:
            self.warn(op, f"{what}: table {self.tkey(op)} does not exist")
        return t

    # ------------------------------------------------------------------ tables
    def op_create_table(self, op: Op) -> None:
        key = self.tkey(op)
        if key in self.s.tables or key in self.s.views:
            if not op.if_not_exists:
                self.warn(op, f"create table {key}: it already exists")
            return
        t = Table.model_validate(op.detail) if op.detail else Table(schema=self.schema_of(op), name=op.table or "")
        t.schema_, t.name = self.schema_of(op), op.table or t.name
        self._copy_columns(op, t)
        for con in t.constraints:
            if con.name is None:
                con.name = self._unique_con_name(t, con)
        for con in t.constraints:
            self._resolve_fk(t, con)
            _apply_flags(t, con)
        self.s.tables[key] = t

    def _copy_columns(self, op: Op, t: Table) -> None:
        """Columns of `like other` clauses and of the parent of a partition."""
        parent = op.detail.get("partition_of")
        if parent:
            src = self.s.tables.get(parent)
            if src is None:
                if parent.split(".")[0] not in EXTERNAL_SCHEMAS:
                    self.warn(op, f"create table {t.qualified}: partitioned table {parent} does not exist")
                return
            # partitions get the parent's columns and defaults, not its identity
            t.columns = {k: c.model_copy(update={"identity": False}) for k, c in src.columns.items()} | t.columns
            return
        likes = op.detail.get("like") or []
        if not likes:
            return
        declared = list(t.columns.items())
        out: dict[str, Column] = {}
        pos = 0
        for lk in likes:
            while pos < lk.get("position", 0) and pos < len(declared):
                out[declared[pos][0]] = declared[pos][1]
                pos += 1
            src = self.s.tables.get(lk["table"])
            if src is None:
                if lk["table"].split(".")[0] not in EXTERNAL_SCHEMAS:
                    self.warn(op, f"create table {t.qualified}: table {lk['table']} of like does not exist")
                continue
            for k, c in src.columns.items():
                out[k] = c.model_copy(update={
                    "default": c.default if lk.get("defaults") else None,
                    "identity": c.identity and bool(lk.get("identity")),
                    "generated": c.generated and bool(lk.get("generated")),
                    "primary_key": False, "unique": False, "references": None,
                })
            if lk.get("constraints"):
                t.constraints.extend(c.model_copy() for c in src.constraints if c.kind in ("check", "not_null"))
        for k, c in declared[pos:]:
            out[k] = c
        t.columns = out

    def _unique_con_name(self, t: Table, con: Constraint) -> str:
        base = default_constraint_name(t.name, con)
        taken = {c.name for c in t.constraints if c.name}
        name, i = base, 0
        while name in taken:
            i += 1
            name = f"{base}{i}"
        return name

    def _resolve_fk(self, t: Table, con: Constraint) -> None:
        """`references users` without columns: the referenced table's primary key."""
        if con.kind != "foreign_key" or con.ref_columns or not con.ref_table:
            return
        ref = t if con.ref_table == t.qualified else self.s.tables.get(con.ref_table)
        if ref is None:
            return
        pk = next((c.columns for c in ref.constraints if c.kind == "primary_key"), None)
        if pk:
            con.ref_columns = list(pk)

    def op_drop_table(self, op: Op) -> None:
        key = self.tkey(op)
        if key not in self.s.tables:
            if not op.if_exists and self.schema_of(op) not in EXTERNAL_SCHEMAS:
                self.warn(op, f"drop table {key}: it does not exist")
            return
        dependants = [
            (ok, c) for ok, ot in self.s.tables.items() if ok != key
            for c in ot.constraints if c.kind == "foreign_key" and c.ref_table == key
        ]
        if dependants and not op.cascade:
            names = ", ".join(f"{c.name} on {ok}" for ok, c in dependants)
            self.warn(op, f"drop table {key}: foreign keys still reference it ({names}); PostgreSQL needs cascade")
        for ok, c in dependants:
            ot = self.s.tables[ok]
            ot.constraints = [x for x in ot.constraints if x is not c]
            _recompute_flags(ot, c.columns)
        del self.s.tables[key]
        self._drop_table_dependants(key)

    def _drop_table_dependants(self, key: str) -> None:
        self.s.indexes = {k: v for k, v in self.s.indexes.items() if v.table != key}
        self.s.policies = {k: v for k, v in self.s.policies.items() if v.table != key}
        self.s.triggers = {k: v for k, v in self.s.triggers.items() if v.table != key}
        self.grants = [g for g in self.grants if not (g[1] in ("table", "view") and g[2] == key)]

    def op_rename_table(self, op: Op) -> None:
        key = self.tkey(op)
        new_key = f"{self.schema_of(op)}.{op.new_name}"
        if key not in self.s.tables:
            if key in self.s.views:  # `alter table v rename to w` works on views too
                self._rename_view(key, new_key, op)
                return
            if not op.if_exists and self.schema_of(op) not in EXTERNAL_SCHEMAS:
                self.warn(op, f"rename table {key}: it does not exist")
            return
        if new_key in self.s.tables or new_key in self.s.views:
            self.warn(op, f"rename table {key} to {op.new_name}: {new_key} already exists")
            return
        t = self.s.tables[key]
        t.name = op.new_name or t.name
        self.s.tables = {(new_key if k == key else k): v for k, v in self.s.tables.items()}
        for i in self.s.indexes.values():
            if i.table == key:
                i.table = new_key
        self.s.policies = {
            (f"{new_key}.{p.name}" if p.table == key else k): p for k, p in self.s.policies.items()
        }
        for p in self.s.policies.values():
            if p.table == key:
                p.table = new_key
        self.s.triggers = {
            (f"{new_key}.{tr.name}" if tr.table == key else k): tr for k, tr in self.s.triggers.items()
        }
        for tr in self.s.triggers.values():
            if tr.table == key:
                tr.table = new_key
        for ot in self.s.tables.values():
            for c in ot.constraints:
                if c.ref_table == key:
                    c.ref_table = new_key
            for col in ot.columns.values():
                if col.references and (col.references == key or col.references.startswith(key + ".")):
                    col.references = new_key + col.references[len(key):]
        self.grants = [(p, k, new_key if k in ("table", "view") and o == key else o, r) for p, k, o, r in self.grants]

    # ------------------------------------------------------------------ columns
    def _column(self, op: Op, what: str) -> tuple[Table | None, Column | None]:
        t = self.table(op, what)
        if t is None:
            return None, None
        c = t.columns.get(op.column or "")
        if c is None and not op.if_exists:
            self.warn(op, f"{what}: column {t.qualified}.{op.column} does not exist")
        return t, c

    def op_add_column(self, op: Op) -> None:
        t = self.table(op, f"add column {op.column}")
        if t is None:
            return
        if op.column in t.columns:
            if not op.if_not_exists:
                self.warn(op, f"add column {t.qualified}.{op.column}: it already exists")
            return
        col = Column.model_validate(op.detail)
        t.columns[col.name] = col
        for cd in op.detail.get("constraints", ()):
            con = Constraint.model_validate(cd)
            if con.name is None:
                con.name = self._unique_con_name(t, con)
            self._resolve_fk(t, con)
            t.constraints.append(con)
            _apply_flags(t, con)

    def op_drop_column(self, op: Op) -> None:
        t, c = self._column(op, f"drop column {op.column}")
        if t is None or c is None:
            return
        name = c.name
        key = t.qualified
        # foreign keys of other tables that reference this column
        deps = [
            (ot, con) for ot in self.s.tables.values() if ot is not t
            for con in ot.constraints
            if con.kind == "foreign_key" and con.ref_table == key and name in con.ref_columns
        ]
        if deps and not op.cascade:
            names = ", ".join(f"{con.name} on {ot.qualified}" for ot, con in deps)
            self.warn(op, f"drop column {key}.{name}: foreign keys still reference it ({names}); PostgreSQL needs cascade")
        for ot, con in deps:
            ot.constraints = [x for x in ot.constraints if x is not con]
            _recompute_flags(ot, con.columns)
        del t.columns[name]
        dropped = [con for con in t.constraints if name in con.columns]
        t.constraints = [con for con in t.constraints if name not in con.columns]
        for con in dropped:
            _recompute_flags(t, con.columns)
        self.s.indexes = {
            k: i for k, i in self.s.indexes.items() if not (i.table == key and name in i.columns)
        }

    def op_rename_column(self, op: Op) -> None:
        t, c = self._column(op, f"rename column {op.column}")
        if t is None or c is None or not op.new_name:
            return
        old, new = c.name, op.new_name
        if new in t.columns:
            self.warn(op, f"rename column {t.qualified}.{old} to {new}: column {new} already exists")
            return
        c.name = new
        t.columns = {(new if k == old else k): v for k, v in t.columns.items()}
        for con in t.constraints:
            con.columns = [new if x == old else x for x in con.columns]
            if con.kind == "foreign_key" and con.ref_table == t.qualified:
                con.ref_columns = [new if x == old else x for x in con.ref_columns]
            if con.expr:
                con.expr = rename_column_in_expr(con.expr, old, new, t.name)
        key = t.qualified
        for i in self.s.indexes.values():
            if i.table == key:
                i.columns = [new if x == old else rename_column_in_expr(x, old, new, t.name) for x in i.columns]
                i.where = rename_column_in_expr(i.where, old, new, t.name)
        for p in self.s.policies.values():
            if p.table == key:
                p.using = rename_column_in_expr(p.using, old, new, t.name)
                p.with_check = rename_column_in_expr(p.with_check, old, new, t.name)
        for ot in self.s.tables.values():
            for con in ot.constraints:
                if con.kind == "foreign_key" and con.ref_table == key and ot is not t:
                    con.ref_columns = [new if x == old else x for x in con.ref_columns]
            for col in ot.columns.values():
                if col.references == f"{key}.{old}":
                    col.references = f"{key}.{new}"

    def op_alter_column_type(self, op: Op) -> None:
        _, c = self._column(op, f"alter column {op.column} type")
        if c is not None and op.detail.get("type"):
            c.type = op.detail["type"]

    def op_set_not_null(self, op: Op) -> None:
        _, c = self._column(op, f"alter column {op.column} set not null")
        if c is not None:
            c.nullable = False

    def op_drop_not_null(self, op: Op) -> None:
        _, c = self._column(op, f"alter column {op.column} drop not null")
        if c is not None:
            if c.primary_key:
                self.warn(op, f"alter column {op.column} drop not null: column is in the primary key")
                return
            c.nullable = True

    def op_set_default(self, op: Op) -> None:
        _, c = self._column(op, f"alter column {op.column} set default")
        if c is not None:
            c.default = op.detail.get("default")

    def op_drop_default(self, op: Op) -> None:
        _, c = self._column(op, f"alter column {op.column} drop default")
        if c is not None:
            c.default = None

    # ------------------------------------------------------------------ constraints
    def op_add_constraint(self, op: Op) -> None:
        t = self.table(op, "add constraint")
        if t is None:
            return
        con = Constraint.model_validate(op.detail)
        if con.name is None:
            con.name = self._unique_con_name(t, con)
        elif any(c.name == con.name for c in t.constraints):
            self.warn(op, f"add constraint {con.name} on {t.qualified}: it already exists")
            return
        missing = [c for c in con.columns if c not in t.columns]
        if missing:
            self.warn(op, f"add constraint {con.name} on {t.qualified}: column(s) {', '.join(missing)} do not exist")
        self._resolve_fk(t, con)
        t.constraints.append(con)
        _apply_flags(t, con)

    def _find_constraint(self, op: Op, what: str) -> tuple[Table | None, Constraint | None]:
        t = self.table(op, what)
        if t is None:
            return None, None
        con = next((c for c in t.constraints if c.name == op.name), None)
        if con is None and not op.if_exists:
            self.warn(op, f"{what}: constraint {op.name} does not exist on {t.qualified}")
        return t, con

    def op_drop_constraint(self, op: Op) -> None:
        t, con = self._find_constraint(op, f"drop constraint {op.name}")
        if t is None or con is None:
            return
        t.constraints = [c for c in t.constraints if c is not con]
        if con.kind in ("primary_key", "unique"):
            key = t.qualified
            deps = [
                (ot, c) for ot in self.s.tables.values() for c in ot.constraints
                if c.kind == "foreign_key" and c.ref_table == key and c.ref_columns == con.columns
            ]
            if deps and not op.cascade:
                names = ", ".join(f"{c.name} on {ot.qualified}" for ot, c in deps)
                self.warn(op, f"drop constraint {con.name} on {key}: foreign keys depend on it ({names}); PostgreSQL needs cascade")
            for ot, c in deps:
                ot.constraints = [x for x in ot.constraints if x is not c]
                _recompute_flags(ot, c.columns)
        _recompute_flags(t, con.columns, dropped=con)

    def op_validate_constraint(self, op: Op) -> None:
        self._find_constraint(op, f"validate constraint {op.name}")

    def op_rename_constraint(self, op: Op) -> None:
        t, con = self._find_constraint(op, f"rename constraint {op.name}")
        if t is None or con is None or not op.new_name:
            return
        if any(c.name == op.new_name for c in t.constraints):
            self.warn(op, f"rename constraint {op.name} on {t.qualified}: {op.new_name} already exists")
            return
        con.name = op.new_name

    # ------------------------------------------------------------------ indexes
    def op_create_index(self, op: Op) -> None:
        schema = self.schema_of(op)
        idx = Index.model_validate(op.detail)
        key = f"{schema}.{idx.name}"
        if key in self.s.indexes:
            if not op.if_not_exists:
                self.warn(op, f"create index {key}: it already exists")
            return
        t = self.s.tables.get(idx.table)
        if t is None and idx.table not in self.s.views:
            if schema not in EXTERNAL_SCHEMAS:
                self.warn(op, f"create index {key}: table {idx.table} does not exist")
                return
        self.s.indexes[key] = idx

    def op_drop_index(self, op: Op) -> None:
        key = f"{self.schema_of(op)}.{op.name}"
        if key not in self.s.indexes:
            if not op.if_exists and self.schema_of(op) not in EXTERNAL_SCHEMAS:
                self.warn(op, f"drop index {key}: it does not exist")
            return
        del self.s.indexes[key]

    def op_rename_index(self, op: Op) -> None:
        key = f"{self.schema_of(op)}.{op.name}"
        new_key = f"{self.schema_of(op)}.{op.new_name}"
        if key not in self.s.indexes:
            if not op.if_exists:
                self.warn(op, f"rename index {key}: it does not exist")
            return
        if new_key in self.s.indexes:
            self.warn(op, f"rename index {key} to {op.new_name}: {new_key} already exists")
            return
        idx = self.s.indexes.pop(key)
        idx.name = op.new_name or idx.name
        self.s.indexes[new_key] = idx

    # ------------------------------------------------------------------ row level security
    def _rls(self, op: Op, attr: str, value: bool, what: str) -> None:
        t = self.table(op, what)
        if t is not None:
            setattr(t, attr, value)

    def op_enable_rls(self, op: Op) -> None:
        self._rls(op, "rls_enabled", True, "enable row level security")

    def op_disable_rls(self, op: Op) -> None:
        self._rls(op, "rls_enabled", False, "disable row level security")

    def op_force_rls(self, op: Op) -> None:
        self._rls(op, "rls_forced", True, "force row level security")

    def op_no_force_rls(self, op: Op) -> None:
        self._rls(op, "rls_forced", False, "no force row level security")

    # ------------------------------------------------------------------ policies
    def _pkey(self, op: Op, name: str | None = None) -> str:
        return f"{self.tkey(op)}.{name if name is not None else op.name}"

    def op_create_policy(self, op: Op) -> None:
        key = self._pkey(op)
        if key in self.s.policies:
            self.warn(op, f'create policy "{op.name}" on {self.tkey(op)}: it already exists')
            return
        if self.tkey(op) not in self.s.tables and self.tkey(op) not in self.s.views:
            if self.schema_of(op) not in EXTERNAL_SCHEMAS:
                self.warn(op, f'create policy "{op.name}": table {self.tkey(op)} does not exist')
                return
        self.s.policies[key] = Policy.model_validate(op.detail)

    def _policy(self, op: Op, what: str) -> Policy | None:
        p = self.s.policies.get(self._pkey(op))
        if p is None and not op.if_exists and self.schema_of(op) not in EXTERNAL_SCHEMAS:
            self.warn(op, f'{what} "{op.name}" on {self.tkey(op)}: policy does not exist')
        return p

    def op_alter_policy(self, op: Op) -> None:
        p = self._policy(op, "alter policy")
        if p is None:
            return
        for k in ("roles", "using", "with_check"):
            if k in op.detail:
                setattr(p, k, op.detail[k])

    def op_drop_policy(self, op: Op) -> None:
        if self._policy(op, "drop policy") is not None:
            del self.s.policies[self._pkey(op)]

    def op_rename_policy(self, op: Op) -> None:
        p = self._policy(op, "rename policy")
        if p is None or not op.new_name:
            return
        new_key = self._pkey(op, op.new_name)
        if new_key in self.s.policies:
            self.warn(op, f'rename policy "{op.name}" on {self.tkey(op)}: "{op.new_name}" already exists')
            return
        p.name = op.new_name
        self.s.policies = {(new_key if k == self._pkey(op) else k): v for k, v in self.s.policies.items()}

    # ------------------------------------------------------------------ functions
    def _fkeys(self, op: Op) -> list[str]:
        """Keys of the function an op names (all overloads when its arguments are not given)."""
        schema = self.schema_of(op)
        args = op.detail.get("args")
        if args is not None:
            key = f"{schema}.{op.name}({args})"
            return [key] if key in self.s.functions else []
        prefix = f"{schema}.{op.name}("
        return [k for k in self.s.functions if k.startswith(prefix)]

    def _fdesc(self, op: Op) -> str:
        args = op.detail.get("args")
        return f"{self.schema_of(op)}.{op.name}" + (f"({args})" if args is not None else "")

    def _one_function(self, op: Op, what: str) -> str | None:
        keys = self._fkeys(op)
        if not keys:
            if not op.if_exists and self.schema_of(op) not in EXTERNAL_SCHEMAS:
                self.warn(op, f"{what} {self._fdesc(op)}: function does not exist")
            return None
        if len(keys) > 1:
            self.warn(op, f"{what} {self._fdesc(op)}: function name is not unique ({', '.join(sorted(keys))})")
            return None
        return keys[0]

    def op_create_function(self, op: Op) -> None:
        f = Function.model_validate(op.detail)
        key = f"{f.schema_}.{f.name}({f.args})"
        if key in self.s.functions and not op.or_replace:
            self.warn(op, f"create function {key}: it already exists (use create or replace)")
            return
        self.s.functions[key] = f

    def op_drop_function(self, op: Op) -> None:
        key = self._one_function(op, "drop function")
        if key is None:
            return
        f = self.s.functions.pop(key)
        qual = f"{f.schema_}.{f.name}"
        still = any(k.startswith(qual + "(") for k in self.s.functions)
        users = [k for k, tr in self.s.triggers.items() if tr.function == qual and not still]
        if users and not op.cascade:
            self.warn(op, f"drop function {key}: triggers still use it ({', '.join(users)}); PostgreSQL needs cascade")
        for k in users:
            del self.s.triggers[k]
        self.grants = [g for g in self.grants if not (g[1] in ("function", "procedure", "routine") and g[2] == key)]

    def op_alter_function(self, op: Op) -> None:
        key = self._one_function(op, "alter function")
        if key is None:
            return
        f = self.s.functions[key]
        if "security_definer" in op.detail:
            f.security_definer = op.detail["security_definer"]
        if "search_path" in op.detail:
            f.search_path = op.detail["search_path"]

    def op_rename_function(self, op: Op) -> None:
        key = self._one_function(op, "rename function")
        if key is None or not op.new_name:
            return
        f = self.s.functions[key]
        new_key = f"{f.schema_}.{op.new_name}({f.args})"
        if new_key in self.s.functions:
            self.warn(op, f"rename function {key} to {op.new_name}: {new_key} already exists")
            return
        del self.s.functions[key]
        old_qual = f"{f.schema_}.{f.name}"
        f.name = op.new_name
        self.s.functions[new_key] = f
        for tr in self.s.triggers.values():
            if tr.function == old_qual:
                tr.function = f"{f.schema_}.{f.name}"
        self.grants = [(p, k, new_key if o == key else o, r) for p, k, o, r in self.grants]

    # ------------------------------------------------------------------ enums & types
    def _ekey(self, op: Op, name: str | None = None) -> str:
        return f"{self.schema_of(op)}.{name if name is not None else op.name}"

    def op_create_enum(self, op: Op) -> None:
        key = self._ekey(op)
        if key in self.s.enums or key in self.other_types:
            self.warn(op, f"create type {key}: it already exists")
            return
        self.s.enums[key] = Enum.model_validate(op.detail)

    def _enum(self, op: Op, what: str) -> Enum | None:
        e = self.s.enums.get(self._ekey(op))
        if e is None and self.schema_of(op) not in EXTERNAL_SCHEMAS:
            self.warn(op, f"{what}: enum type {self._ekey(op)} does not exist")
        return e

    def op_add_enum_value(self, op: Op) -> None:
        value = op.detail.get("value")
        e = self._enum(op, f"alter type add value '{value}'")
        if e is None or value is None:
            return
        if value in e.values:
            if not op.if_not_exists:
                self.warn(op, f"alter type {self._ekey(op)} add value '{value}': it already exists")
            return
        before, after = op.detail.get("before"), op.detail.get("after")
        neighbour = before or after
        if neighbour is not None and neighbour not in e.values:
            self.warn(op, f"alter type {self._ekey(op)} add value '{value}': '{neighbour}' is not a value of the enum")
            e.values.append(value)
        elif before is not None:
            e.values.insert(e.values.index(before), value)
        elif after is not None:
            e.values.insert(e.values.index(after) + 1, value)
        else:
            e.values.append(value)

    def op_rename_enum_value(self, op: Op) -> None:
        old, new = op.detail.get("value"), op.detail.get("new_name", op.new_name)
        e = self._enum(op, f"alter type rename value '{old}'")
        if e is None:
            return
        if old not in e.values:
            self.warn(op, f"alter type {self._ekey(op)} rename value '{old}': it does not exist")
            return
        if new in e.values:
            self.warn(op, f"alter type {self._ekey(op)} rename value '{old}' to '{new}': '{new}' already exists")
            return
        e.values[e.values.index(old)] = new

    def _type_users(self, key: str) -> list[tuple[Table, Column]]:
        schema, _, name = key.partition(".")
        spellings = {key, f"{key}[]"}
        if schema == "public":
            spellings |= {name, f"{name}[]"}
        return [(t, c) for t in self.s.tables.values() for c in t.columns.values() if c.type in spellings]

    def op_drop_type(self, op: Op) -> None:
        key = self._ekey(op)
        if key in self.other_types:
            self.other_types.discard(key)
            return
        if key not in self.s.enums:
            if not op.if_exists and self.schema_of(op) not in EXTERNAL_SCHEMAS:
                self.warn(op, f"drop type {key}: it does not exist")
            return
        users = self._type_users(key)
        if users and not op.cascade:
            cols = ", ".join(f"{t.qualified}.{c.name}" for t, c in users)
            self.warn(op, f"drop type {key}: columns still use it ({cols}); PostgreSQL needs cascade")
        elif users:  # cascade drops the columns
            for t, c in users:
                t.columns.pop(c.name, None)
        del self.s.enums[key]

    def op_rename_type(self, op: Op) -> None:
        key = self._ekey(op)
        new_key = self._ekey(op, op.new_name)
        if key in self.other_types:
            self.other_types.discard(key)
            self.other_types.add(new_key)
            return
        if key not in self.s.enums:
            if not op.if_exists:
                self.warn(op, f"rename type {key}: it does not exist")
            return
        if new_key in self.s.enums or new_key in self.other_types:
            self.warn(op, f"rename type {key} to {op.new_name}: {new_key} already exists")
            return
        schema, _, old_name = key.partition(".")
        for _t, c in self._type_users(key):
            suffix = "[]" if c.type.endswith("[]") else ""
            base = c.type[: -len(suffix)] if suffix else c.type
            c.type = (new_key if "." in base else op.new_name) + suffix
        e = self.s.enums.pop(key)
        e.name = op.new_name or e.name
        self.s.enums[new_key] = e

    # ------------------------------------------------------------------ triggers
    def op_create_trigger(self, op: Op) -> None:
        key = f"{self.tkey(op)}.{op.name}"
        if key in self.s.triggers and not op.or_replace:
            self.warn(op, f"create trigger {op.name} on {self.tkey(op)}: it already exists")
            return
        if self.tkey(op) not in self.s.tables and self.tkey(op) not in self.s.views:
            if self.schema_of(op) not in EXTERNAL_SCHEMAS:
                self.warn(op, f"create trigger {op.name}: table {self.tkey(op)} does not exist")
                return
        self.s.triggers[key] = Trigger.model_validate(op.detail)

    def _trigger(self, op: Op, what: str) -> Trigger | None:
        tr = self.s.triggers.get(f"{self.tkey(op)}.{op.name}")
        if tr is None and not op.if_exists and self.schema_of(op) not in EXTERNAL_SCHEMAS:
            self.warn(op, f"{what} {op.name} on {self.tkey(op)}: trigger does not exist")
        return tr

    def op_drop_trigger(self, op: Op) -> None:
        if self._trigger(op, "drop trigger") is not None:
            del self.s.triggers[f"{self.tkey(op)}.{op.name}"]

    def op_rename_trigger(self, op: Op) -> None:
        tr = self._trigger(op, "rename trigger")
        if tr is None or not op.new_name:
            return
        key, new_key = f"{self.tkey(op)}.{op.name}", f"{self.tkey(op)}.{op.new_name}"
        if new_key in self.s.triggers:
            self.warn(op, f"rename trigger {op.name} on {self.tkey(op)}: {op.new_name} already exists")
            return
        tr.name = op.new_name
        self.s.triggers = {(new_key if k == key else k): v for k, v in self.s.triggers.items()}

    # ------------------------------------------------------------------ views
    def op_create_view(self, op: Op) -> None:
        key = f"{self.schema_of(op)}.{op.name}"
        if key in self.s.views or key in self.s.tables:
            if op.if_not_exists:
                return
            if not (op.or_replace and key in self.s.views):
                self.warn(op, f"create view {key}: it already exists")
                return
        self.s.views[key] = View.model_validate(op.detail)

    def op_drop_view(self, op: Op) -> None:
        key = f"{self.schema_of(op)}.{op.name}"
        if key not in self.s.views:
            if not op.if_exists and self.schema_of(op) not in EXTERNAL_SCHEMAS:
                self.warn(op, f"drop view {key}: it does not exist")
            return
        del self.s.views[key]
        self._drop_table_dependants(key)

    def _rename_view(self, key: str, new_key: str, op: Op) -> None:
        if new_key in self.s.views or new_key in self.s.tables:
            self.warn(op, f"rename view {key} to {op.new_name}: {new_key} already exists")
            return
        v = self.s.views[key]
        v.name = op.new_name or v.name
        self.s.views = {(new_key if k == key else k): x for k, x in self.s.views.items()}
        self.grants = [(p, k, new_key if k in ("table", "view") and o == key else o, r) for p, k, o, r in self.grants]

    def op_rename_view(self, op: Op) -> None:
        key = f"{self.schema_of(op)}.{op.name}"
        if key not in self.s.views:
            if not op.if_exists:
                self.warn(op, f"rename view {key}: it does not exist")
            return
        self._rename_view(key, f"{self.schema_of(op)}.{op.new_name}", op)

    # ------------------------------------------------------------------ grants
    def _expand(self, op: Op) -> list[tuple[str, str, str, str]]:
        g = Grant.model_validate(op.detail)
        kind = g.object_kind
        objects = list(g.objects)
        if kind.startswith("all ") and kind.endswith(" in schema"):
            what = kind[4:-10]
            if what == "tables":
                objects = [k for s in objects for k in self.s.tables if k.startswith(s + ".")]
                kind = "table"
            elif what in ("functions", "routines", "procedures"):
                objects = [k for s in objects for k in self.s.functions if k.startswith(s + ".")]
                kind = "function"
        elif kind in ("function", "procedure", "routine"):
            resolved = []
            for o in objects:
                if o.endswith(")"):
                    resolved.append(o)
                else:
                    matches = [k for k in self.s.functions if k.startswith(o + "(")]
                    resolved.extend(matches or [o])
            objects, kind = resolved, "function"
        privs: list[str] = []
        for p in g.privileges:
            if p in ("all", "all privileges") and kind in _ALL_PRIVILEGES:
                privs.extend(_ALL_PRIVILEGES[kind])
            else:
                privs.append(p)
        return [(p, kind, o, r) for p in privs for o in objects for r in g.roles]

    def op_grant(self, op: Op) -> None:
        have = set(self.grants)
        for atom in self._expand(op):
            if atom not in have:
                have.add(atom)
                self.grants.append(atom)

    def op_revoke(self, op: Op) -> None:
        remove = set(self._expand(op))
        self.grants = [g for g in self.grants if g not in remove]

    # ------------------------------------------------------------------ other
    def op_other(self, op: Op) -> None:
        if op.detail.get("object_kind") == "type" and op.name:
            self.other_types.add(f"{self.schema_of(op)}.{op.name}")
        sub = op.detail.get("subcommand")
        if sub in ("AddIdentity", "DropIdentity") and op.table and op.column:
            t = self.s.tables.get(self.tkey(op))
            c = t.columns.get(op.column) if t is not None else None
            if c is not None:
                c.identity = sub == "AddIdentity"
                if c.identity:
                    c.nullable = False


def _grant_atoms(g: Grant) -> Iterator[tuple[str, str, str, str]]:
    for p in g.privileges:
        for o in g.objects:
            for r in g.roles:
                yield (p, g.object_kind, o, r)


def _apply_flags(t: Table, con: Constraint) -> None:
    apply_constraint_flags(t, con)
    if con.kind == "foreign_key" and len(con.columns) == 1 and con.columns[0] in t.columns and con.ref_columns:
        t.columns[con.columns[0]].references = f"{con.ref_table}.{con.ref_columns[0]}"


def _recompute_flags(t: Table, columns: Iterable[str], dropped: Constraint | None = None) -> None:
    """Column flags derived from constraints, after constraints involving `columns` changed."""
    for name in columns:
        c = t.columns.get(name)
        if c is None:
            continue
        c.primary_key = any(k.kind == "primary_key" and name in k.columns for k in t.constraints)
        c.unique = any(k.kind == "unique" and k.columns == [name] for k in t.constraints)
        fk = next((k for k in t.constraints if k.kind == "foreign_key" and k.columns == [name]), None)
        if fk is None:
            c.references = None
        elif fk.ref_columns:
            c.references = f"{fk.ref_table}.{fk.ref_columns[0]}"
        else:
            c.references = fk.ref_table
        if dropped is not None and dropped.kind == "not_null" and not c.primary_key:
            c.nullable = True


def _iter_ops(items: Iterable[Op | Migration | Rollback]) -> Iterator[tuple[str | None, Op]]:
    for it in items:
        if isinstance(it, Op):
            yield None, it
        else:
            for st in it.statements:
                for op in st.ops:
                    yield it.path, op


def replay_with_warnings(
    items: Iterable[Op | Migration | Rollback], schema: Schema | None = None
) -> tuple[Schema, list[Diagnostic | str]]:
    """Apply ops in order to a copy of `schema` (empty by default).

    `items` are `Op`s or whole `Migration`/`Rollback`s. Ops PostgreSQL would reject are
    skipped and reported: as `Diagnostic(kind="replay-warning", file, line)` when the file is
    known (items given as migrations/rollbacks), else as a string `"line N: message"`.
    """
    r = Replayer(schema)
    r.apply(items)
    return r.result(), r.warnings


def replay(items: Iterable[Op | Migration | Rollback], schema: Schema | None = None) -> Schema:
    """The schema after applying `items` (ops, migrations or rollbacks) to a copy of `schema`."""
    return replay_with_warnings(items, schema)[0]


# --------------------------------------------------------------------------- diff


def _q(v: Any) -> str:
    if v is None:
        return "none"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, (list, tuple)):
        return "(" + ", ".join(str(x) for x in v) + ")"
    return str(v)


def _short(s: str | None, n: int = 80) -> str:
    s = _ws(s) or ""
    return s if len(s) <= n else s[: n - 1] + "…"


def _col_desc(c: Column) -> str:
    bits = [c.type]
    if not c.nullable:
        bits.append("not null")
    if c.default is not None:
        bits.append(f"default {c.default}")
    return " ".join(bits)


def _con_desc(c: Constraint) -> str:
    label = {"primary_key": "primary key", "unique": "unique", "foreign_key": "foreign key",
             "check": "check", "exclude": "exclude", "not_null": "not null"}[c.kind]
    if c.kind == "check":
        return f"check ({c.expr})"
    s = f"{label} ({', '.join(c.columns)})"
    if c.kind == "foreign_key":
        s += f" references {c.ref_table}" + (f" ({', '.join(c.ref_columns)})" if c.ref_columns else "")
    return s


def _idx_shape(i: Index) -> str:
    s = f"on {i.table}"
    if i.method and i.method != "btree":
        s += f" using {i.method}"
    s += f" ({', '.join(i.columns)})"
    if i.where:
        s += f" where {i.where}"
    return s


def _idx_desc(i: Index) -> str:
    return ("unique index " if i.unique else "index ") + _idx_shape(i)


def _pol_desc(p: Policy) -> str:
    s = f"for {p.command} to {', '.join(p.roles)}"
    if not p.permissive:
        s = "restrictive " + s
    if p.using:
        s += f" using ({p.using})"
    if p.with_check:
        s += f" with check ({p.with_check})"
    return s


def _enum_vals(vals: list[str]) -> str:
    return ", ".join(f"'{v}'" for v in vals)


def _field_changes(before: BaseModel, after: BaseModel, fields: Iterable[str], norm: dict[str, Any] | None = None) -> list[str]:
    out = []
    for f in fields:
        a, b = getattr(before, f), getattr(after, f)
        fn = (norm or {}).get(f)
        if (fn(a) if fn else a) != (fn(b) if fn else b):
            label = f.replace("_", " ")
            if f == "body":
                out.append("body differs")
            elif isinstance(a, str) or isinstance(b, str):
                out.append(f"{label}: expected {_short(a) if a is not None else 'none'}, got {_short(b) if b is not None else 'none'}")
            else:
                out.append(f"{label}: expected {_q(a)}, got {_q(b)}")
    return out


def _pair_renames(before: dict[str, Any], after: dict[str, Any], sig: Any) -> list[tuple[str, str]]:
    """(old key, new key) of entries that look renamed: missing from `after`, added in `after`,
    with the same signature, and no other candidate either way."""
    missing = [k for k in before if k not in after]
    added = [k for k in after if k not in before]
    if not missing or not added:
        return []
    by_sig_m: dict[Any, list[str]] = {}
    by_sig_a: dict[Any, list[str]] = {}
    for k in missing:
        by_sig_m.setdefault(sig(before[k]), []).append(k)
    for k in added:
        by_sig_a.setdefault(sig(after[k]), []).append(k)
    return [(m[0], by_sig_a[g][0]) for g, m in by_sig_m.items() if len(m) == 1 and len(by_sig_a.get(g, ())) == 1]


def _col_sig(c: Column) -> tuple:
    return (_canon_type(c.type), c.nullable, c.default, c.primary_key, c.unique, c.references, c.identity, c.generated)


def _diff_table(tb: Table, ta: Table, out: list[SchemaDifference]) -> None:
    key = tb.qualified
    renamed = _pair_renames(tb.columns, ta.columns, _col_sig)
    for old, new in renamed:
        out.append(SchemaDifference(
            kind="column_renamed", object=f"{key}.{old}",
            detail=f"expected column {old}, found {new} instead (same definition: {_col_desc(tb.columns[old])})"))
    skip_b = {o for o, _ in renamed}
    skip_a = {n for _, n in renamed}
    for name, cb in tb.columns.items():
        ca = ta.columns.get(name)
        obj = f"{key}.{name}"
        if name in skip_b:
            continue
        if ca is None:
            out.append(SchemaDifference(kind="column_missing", object=obj,
                                        detail=f"expected column {name} ({_col_desc(cb)}), but it does not exist"))
            continue
        if not types_equal(cb.type, ca.type):
            out.append(SchemaDifference(kind="column_type_changed", object=obj, detail=f"expected {cb.type}, got {ca.type}"))
        if cb.nullable != ca.nullable:
            exp = "nullable" if cb.nullable else "not null"
            got = "nullable" if ca.nullable else "not null"
            out.append(SchemaDifference(kind="column_nullability_changed", object=obj, detail=f"expected {exp}, got {got}"))
        if _ws(cb.default) != _ws(ca.default):
            exp = f"default {cb.default}" if cb.default is not None else "no default"
            got = f"default {ca.default}" if ca.default is not None else "no default"
            out.append(SchemaDifference(kind="column_default_changed", object=obj, detail=f"expected {exp}, got {got}"))
        changes = _field_changes(cb, ca, ("identity", "generated"))
        if changes:
            out.append(SchemaDifference(kind="column_changed", object=obj, detail="; ".join(changes)))
    for name, ca in ta.columns.items():
        if name not in tb.columns and name not in skip_a:
            out.append(SchemaDifference(kind="column_added", object=f"{key}.{name}",
                                        detail=f"column {name} ({_col_desc(ca)}) exists but was not expected"))
    cons_b = {c.name or _con_desc(c): c for c in tb.constraints}
    cons_a = {c.name or _con_desc(c): c for c in ta.constraints}
    for name, cb in cons_b.items():
        ca = cons_a.get(name)
        obj = f"{key}.{name}"
        if ca is None:
            out.append(SchemaDifference(kind="constraint_missing", object=obj,
                                        detail=f"expected constraint {name}: {_con_desc(cb)}, but it does not exist"))
        elif _con_desc(cb) != _con_desc(ca) and _ws(_con_desc(cb)) != _ws(_con_desc(ca)):
            out.append(SchemaDifference(kind="constraint_changed", object=obj,
                                        detail=f"expected {_con_desc(cb)}, got {_con_desc(ca)}"))
    for name, ca in cons_a.items():
        if name not in cons_b:
            out.append(SchemaDifference(kind="constraint_added", object=f"{key}.{name}",
                                        detail=f"constraint {name}: {_con_desc(ca)} exists but was not expected"))
    if tb.rls_enabled != ta.rls_enabled:
        exp, got = ("enabled", "disabled") if tb.rls_enabled else ("disabled", "enabled")
        out.append(SchemaDifference(kind="rls_changed", object=key, detail=f"expected row level security {exp}, got {got}"))
    if tb.rls_forced != ta.rls_forced:
        exp, got = ("forced", "not forced") if tb.rls_forced else ("not forced", "forced")
        out.append(SchemaDifference(kind="rls_changed", object=key, detail=f"expected row level security {exp}, got {got}"))


def _diff_dict(
    kind: str, before: dict[str, Any], after: dict[str, Any],
    phrase: Any, changed: Any, out: list[SchemaDifference], changed_kind: str | None = None,
) -> None:
    """Missing / added / changed entries of one kind; `phrase(key, obj)` names an entry in prose."""
    for k, b in before.items():
        a = after.get(k)
        if a is None:
            out.append(SchemaDifference(kind=f"{kind}_missing", object=k,
                                        detail=f"expected {phrase(k, b)}, but it does not exist"))
        else:
            d = changed(b, a)
            if d:
                out.append(SchemaDifference(kind=changed_kind or f"{kind}_changed", object=k, detail=d))
    for k, a in after.items():
        if k not in before:
            out.append(SchemaDifference(kind=f"{kind}_added", object=k,
                                        detail=f"{phrase(k, a)} exists but was not expected"))


def _idx_changed(b: Index, a: Index) -> str | None:
    return None if _idx_desc(b) == _idx_desc(a) else f"expected {_idx_desc(b)}, got {_idx_desc(a)}"


def _pol_changed(b: Policy, a: Policy) -> str | None:
    ch = _field_changes(b, a, ("command", "roles", "using", "with_check", "permissive"),
                        {"using": _ws, "with_check": _ws, "roles": sorted})
    return "; ".join(ch) or None


def _fn_changed(b: Function, a: Function) -> str | None:
    ch = _field_changes(b, a, ("returns", "language", "security_definer", "search_path", "body"),
                        {"returns": _canon_type, "body": _ws})
    return "; ".join(ch) or None


def _enum_changed(b: Enum, a: Enum) -> str | None:
    if b.values == a.values:
        return None
    extra = [v for v in a.values if v not in b.values]
    missing = [v for v in b.values if v not in a.values]
    d = f"expected values {_enum_vals(b.values)}; got {_enum_vals(a.values)}"
    notes = []
    if extra:
        notes.append(f"extra: {_enum_vals(extra)}")
    if missing:
        notes.append(f"missing: {_enum_vals(missing)}")
    if not notes:
        notes.append("different order")
    return f"{d} ({'; '.join(notes)})"


def _trg_changed(b: Trigger, a: Trigger) -> str | None:
    return "; ".join(_field_changes(b, a, ("function", "timing", "events"))) or None


def _view_changed(b: View, a: View) -> str | None:
    ch = []
    if b.materialized != a.materialized:
        ch.append(f"expected {'materialized ' if b.materialized else ''}view, got {'materialized ' if a.materialized else ''}view")
    if _ws(b.definition) != _ws(a.definition):
        ch.append(f"definition: expected {_short(b.definition)}, got {_short(a.definition)}")
    return "; ".join(ch) or None


def diff_schemas(before: Schema, after: Schema) -> list[SchemaDifference]:
    """How `after` differs from `before` (the expected schema): empty when they are the same.

    Used by the rollback check: replaying a migration and then its rollback must give back
    the schema before the migration.
    """
    out: list[SchemaDifference] = []
    renamed = _pair_renames(before.tables, after.tables,
                            lambda t: tuple((n, _col_sig(c)) for n, c in t.columns.items()))
    for old, new in renamed:
        out.append(SchemaDifference(kind="table_renamed", object=old,
                                    detail=f"expected table {old}, found {new} instead (same columns)"))
        _diff_table(before.tables[old], after.tables[new].model_copy(update={"name": before.tables[old].name}), out)
    skip_b = {o for o, _ in renamed}
    skip_a = {n for _, n in renamed}
    for k, tb in before.tables.items():
        if k in skip_b:
            continue
        ta = after.tables.get(k)
        if ta is None:
            out.append(SchemaDifference(kind="table_missing", object=k,
                                        detail=f"expected table {k} ({len(tb.columns)} columns), but it does not exist"))
        else:
            _diff_table(tb, ta, out)
    for k, ta in after.tables.items():
        if k not in before.tables and k not in skip_a:
            out.append(SchemaDifference(kind="table_added", object=k,
                                        detail=f"table {k} ({len(ta.columns)} columns) exists but was not expected"))
    ib, ia = dict(before.indexes), dict(after.indexes)
    for old, new in _pair_renames(ib, ia, _idx_desc):
        out.append(SchemaDifference(kind="index_renamed", object=old,
                                    detail=f"expected index {old}, found {new} instead ({_idx_desc(ib[old])})"))
        del ib[old], ia[new]
    _diff_dict("index", ib, ia,
               lambda k, i: f"{'unique ' if i.unique else ''}index {k} {_idx_shape(i)}",
               _idx_changed, out)
    _diff_dict("policy", before.policies, after.policies,
               lambda k, p: f'policy "{p.name}" on {p.table} ({_pol_desc(p)})', _pol_changed, out)
    _diff_dict("function", before.functions, after.functions,
               lambda k, f: f"function {k}" + (" (security definer)" if f.security_definer else ""), _fn_changed, out)
    _diff_dict("enum", before.enums, after.enums,
               lambda k, e: f"enum type {k} ({_enum_vals(e.values)})", _enum_changed, out,
               changed_kind="enum_values_changed")
    _diff_dict("trigger", before.triggers, after.triggers,
               lambda k, t: f"trigger {t.name} on {t.table} ({t.timing} {' or '.join(t.events)} execute {t.function})",
               _trg_changed, out)
    _diff_dict("view", before.views, after.views,
               lambda k, v: f"{'materialized ' if v.materialized else ''}view {k}", _view_changed, out)
    gb = {a for g in before.grants for a in _grant_atoms(g)}
    ga = {a for g in after.grants for a in _grant_atoms(g)}
    for p, k, o, r in sorted(gb - ga):
        out.append(SchemaDifference(kind="grant_missing", object=o, detail=f"expected {p} on {k} {o} granted to {r}, but it is not"))
    for p, k, o, r in sorted(ga - gb):
        out.append(SchemaDifference(kind="grant_added", object=o, detail=f"{p} on {k} {o} is granted to {r} but was not expected"))
    return out
