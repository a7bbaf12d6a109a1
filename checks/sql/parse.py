"""SQL files → statements and schema operations, with the real PostgreSQL parser (pglast).

Every file is parsed once with `pglast.parse_sql`; statement positions come from the parse
tree (`stmt_location`/`stmt_len`, which pglast gives as *character* offsets, so non-ASCII text
and CRLF line endings are safe). The scanner (`pglast.parser.scan`) is only used to find
comments (suppressions, trailing comments of the last statement) and to recover the statements
before a syntax error. No regular expressions are applied to SQL.

Conventions of the produced `Op`s (see `checks.model.Op`):

- names: quoted identifiers keep their case, unquoted ones are folded by the parser;
  `schema_` is the object's schema, `"public"` when not qualified (None for objects without a
  schema: grants, schemas, extensions, ...);
- `detail` holds the created entity as a plain dict of the matching model
  (`Table`, `Column`, `Constraint`, `Index`, `Policy`, `Function`, `Enum`, `Trigger`, `View`,
  `Grant`, dumped with `by_alias=True`), plus a few extra keys documented per kind below.

Extra detail keys:

- create_table: `as_select` (True for `create table ... as`), `partition_of` ("schema.parent"),
  `like` (list of {table, position, defaults, constraints, identity, generated});
- add_column: `constraints` (the column's inline constraints, as Constraint dicts);
- alter_column_type: `type`, `using`; set_default: `default`;
- add_constraint: the Constraint dict + `not_valid`;
- create_index / drop_index: `concurrently`; create_index: `name_generated` when PostgreSQL
  would choose the name;
- create_function: the Function dict + `procedure`, `volatility`;
  drop_function / alter_function / rename_function: `args` (None when not given);
  alter_function: only the changed keys among `security_definer`, `search_path`;
- create_trigger: the Trigger dict + `for_each` ("row"/"statement"), `columns`, `when`;
- add_enum_value: `value`, `before`, `after`; rename_enum_value: `value` (old) and `new_name`;
- drop_view / create_view: `materialized`;
- comment: `object_kind`, `object`, `comment`;
- create_extension: `schema`; do_block: `body`, `language`;
- other: `statement` (parse node name) and, for alter table sub-commands, `subcommand`;
- alter_table sub-commands on `alter table if exists`: `table_if_exists`.
"""

from __future__ import annotations

from typing import Any, Iterable

import pglast
from pglast import ast
from pglast.enums import (
    AlterTableType as AT,
    ConstrType as CT,
    DropBehavior,
    FunctionParameterMode as FPM,
    GrantTargetType,
    ObjectType as OT,
    RoleSpecType,
    VariableSetKind,
)
from pglast.parser import ParseError, scan
from pglast.stream import RawStream
from pglast.visitors import Visitor

from ..model import (
    Column,
    Constraint,
    Diagnostic,
    Enum,
    Function,
    Grant,
    Index,
    Op,
    Policy,
    Statement,
    Suppression,
    Table,
    Trigger,
    View,
)

__all__ = [
    "parse_sql",
    "find_suppressions",
    "parse_type",
    "normalize_type",
    "deparse",
    "line_of",
]

DEFAULT_SCHEMA = "public"

# --------------------------------------------------------------------------- helpers


_CAST_SIMPLE_ARGS = (ast.A_Const, ast.ColumnRef, ast.FuncCall, ast.TypeCast, ast.ParamRef,
                     ast.A_ArrayExpr, ast.SQLValueFunction)


def _negative_const(n: Any) -> bool:
    v = n.val if isinstance(n, ast.A_Const) else None
    if isinstance(v, ast.Integer):
        return v.ival < 0
    if isinstance(v, ast.Float):
        return str(v.fval).startswith("-")
    return False


class _Deparser(RawStream):
    """pglast's RawStream, with casts printed the way PostgreSQL shows them
    (`'pending'::public.order_status`, `nextval('seq'::regclass)`) instead of `CAST(x AS t)`."""

    def print_node(self, node: Any, is_name: bool = False, is_symbol: bool = False) -> None:
        if isinstance(node, ast.TypeCast) and node.typeName is not None and not (
            _names(node.typeName.names) == ["pg_catalog", "bpchar"] and not node.typeName.typmods
        ):
            if isinstance(node.arg, _CAST_SIMPLE_ARGS) and not _negative_const(node.arg):
                super().print_node(node.arg)
            else:
                self.write("(")
                super().print_node(node.arg)
                self.write(")")
            self.write("::")
            super().print_node(node.typeName)
            return
        super().print_node(node, is_name, is_symbol)


def deparse(node: Any) -> str:
    """SQL text of a parse-tree node (expression, type, query), as pglast prints it but with
    `x::type` casts."""
    return _Deparser()(node)


def line_of(text: str, offset: int) -> int:
    """1-based line of a character offset of `text`."""
    return text.count("\n", 0, max(0, offset)) + 1


def _names(seq: Iterable[Any] | None) -> list[str]:
    return [n.sval for n in (seq or ()) if isinstance(n, ast.String)]


def _split_qual(names: list[str], default: str | None = DEFAULT_SCHEMA) -> tuple[str | None, str]:
    """("schema", "name") from a possibly qualified name list (catalog prefix dropped)."""
    if not names:
        return default, ""
    if len(names) == 1:
        return default, names[0]
    return names[-2], names[-1]


def _rv(rv: ast.RangeVar | None) -> tuple[str, str]:
    if rv is None:
        return DEFAULT_SCHEMA, ""
    return rv.schemaname or DEFAULT_SCHEMA, rv.relname


NAMEDATALEN = 64


def make_object_name(name1: str, name2: str | None, label: str) -> str:
    """PostgreSQL's makeObjectName: `name1_name2_label`, shortened to fit in 63 bytes
    (how it names unnamed constraints, indexes and serial sequences)."""
    overhead = len(label) + 1 + (1 if name2 else 0)
    avail = NAMEDATALEN - 1 - overhead
    n1, n2 = len(name1.encode()), len((name2 or "").encode())
    while n1 + n2 > avail:
        if n1 > n2:
            n1 -= 1
        else:
            n2 -= 1
    out = name1.encode()[:n1].decode(errors="ignore")
    if name2:
        out += "_" + name2.encode()[:n2].decode(errors="ignore")
    return out + "_" + label


def quote_ident(name: str) -> str:
    """`name` as PostgreSQL prints an identifier: bare when it is a plain lower-case name."""
    plain = bool(name) and not name[0].isdigit() and all(
        c == "_" or (c.isascii() and (c.islower() or c.isdigit())) for c in name)
    return name if plain else '"' + name.replace('"', '""') + '"'


def serial_default(schema: str, table: str, column: str) -> str:
    """The default PostgreSQL gives a serial column: `nextval('t_id_seq'::regclass)`."""
    seq = quote_ident(make_object_name(table, column, "seq"))
    if schema != DEFAULT_SCHEMA:
        seq = f"{quote_ident(schema)}.{seq}"
    return f"nextval('{seq}'::regclass)"


# builtin type names as the parser gives them (pg_catalog-qualified or bare) → normalised form
_TYPE_NAMES = {
    "int2": "smallint", "smallint": "smallint",
    "int4": "integer", "int": "integer", "integer": "integer",
    "int8": "bigint", "bigint": "bigint",
    "float4": "real", "real": "real",
    "float8": "double precision",
    "bool": "boolean", "boolean": "boolean",
    "varchar": "varchar",
    "bpchar": "char",
    "timestamptz": "timestamptz",
    "timestamp": "timestamp",
    "timetz": "timetz",
    "time": "time",
    "numeric": "numeric", "decimal": "numeric",
    "varbit": "varbit",
    "serial4": "serial", "serial": "serial",
    "serial8": "bigserial", "bigserial": "bigserial",
    "serial2": "smallserial", "smallserial": "smallserial",
    "char": '"char"',  # only the quoted internal type reaches us bare: `char(n)` is bpchar
}

SERIAL_TYPES = frozenset({"serial", "bigserial", "smallserial"})


def normalize_type(tn: ast.TypeName) -> str:
    """Normalised spelling of a parsed type: `integer`, `varchar(20)`, `timestamptz`, `text[]`,
    `public.order_status` (user types keep the qualification as written), `setof x`."""
    names = _names(tn.names)
    if len(names) == 2 and names[0] == "pg_catalog" or len(names) == 1:
        bare = names[-1]
        base = _TYPE_NAMES.get(bare, bare)
        builtin = True
    else:
        base = ".".join(names)
        builtin = False
    mods = tn.typmods or ()
    if getattr(tn, "pct_type", False):
        return deparse(tn)
    if mods:
        if builtin and bare == "interval":
            base = deparse(ast.TypeName(names=tn.names, typmods=tn.typmods))
        else:
            parts = []
            for m in mods:
                if isinstance(m, ast.A_Const) and isinstance(m.val, ast.Integer):
                    parts.append(str(m.val.ival))
                else:
                    parts.append(deparse(m))
            base = f"{base}({','.join(parts)})"
    if tn.arrayBounds:
        base += "[]" * len(tn.arrayBounds)
    if tn.setof:
        base = "setof " + base
    return base


def _role(r: Any) -> str:
    if isinstance(r, ast.RoleSpec):
        t = r.roletype
        if t == RoleSpecType.ROLESPEC_CSTRING:
            return r.rolename
        if t == RoleSpecType.ROLESPEC_PUBLIC:
            return "public"
        if t == RoleSpecType.ROLESPEC_CURRENT_USER:
            return "current_user"
        if t == RoleSpecType.ROLESPEC_SESSION_USER:
            return "session_user"
        if t == RoleSpecType.ROLESPEC_CURRENT_ROLE:
            return "current_role"
    if isinstance(r, ast.String):
        return r.sval
    return deparse(r)


def _opt_str(arg: Any) -> str | None:
    if arg is None:
        return None
    if isinstance(arg, ast.String):
        return arg.sval
    if isinstance(arg, (list, tuple)):
        return ", ".join(s for s in (_opt_str(a) for a in arg) if s is not None)
    if isinstance(arg, ast.Boolean):
        return "true" if arg.boolval else "false"
    if isinstance(arg, ast.Integer):
        return str(arg.ival)
    if isinstance(arg, ast.TypeName):
        return normalize_type(arg)
    return deparse(arg)


def _func_args(params: Iterable[ast.FunctionParameter] | None) -> str:
    """Identity argument list of a function: types of its input parameters."""
    out = []
    for p in params or ():
        if p.mode in (FPM.FUNC_PARAM_OUT, FPM.FUNC_PARAM_TABLE):
            continue
        out.append(normalize_type(p.argType))
    return ", ".join(out)


def _owa(o: ast.ObjectWithArgs) -> tuple[str, str, str | None]:
    """(schema, name, args | None) of an `ObjectWithArgs` (drop/alter/grant on functions)."""
    schema, name = _split_qual(_names(o.objname))
    if o.args_unspecified:
        return schema or DEFAULT_SCHEMA, name, None
    if o.objfuncargs:
        args = _func_args(o.objfuncargs)
    else:
        args = ", ".join(normalize_type(t) for t in (o.objargs or ()))
    return schema or DEFAULT_SCHEMA, name, args


def _obj_str(obj: Any) -> str:
    if isinstance(obj, ast.String):
        return obj.sval
    if isinstance(obj, ast.ObjectWithArgs):
        s, n, a = _owa(obj)
        return f"{s}.{n}" if a is None else f"{s}.{n}({a})"
    if isinstance(obj, ast.TypeName):
        return normalize_type(obj)
    if isinstance(obj, ast.RangeVar):
        s, n = _rv(obj)
        return f"{s}.{n}"
    if isinstance(obj, (list, tuple)):
        return ".".join(_names(obj))
    return deparse(obj)


def _kind_name(ot: OT) -> str:
    return ot.name.removeprefix("OBJECT_").lower().replace("_", " ")


# --------------------------------------------------------------------------- columns & constraints


class _ColumnRefs(Visitor):
    def __init__(self) -> None:
        self.cols: list[str] = []

    def visit_ColumnRef(self, parent: Any, node: ast.ColumnRef) -> None:
        f = node.fields[-1] if node.fields else None
        if isinstance(f, ast.String) and f.sval not in self.cols:
            self.cols.append(f.sval)


class _RenameColumn(Visitor):
    def __init__(self, old: str, new: str, table: str | None):
        self.old, self.new, self.table = old, new, table
        self.changed = False

    def visit_ColumnRef(self, parent: Any, node: ast.ColumnRef) -> None:
        f = list(node.fields or ())
        if not f or not isinstance(f[-1], ast.String) or f[-1].sval != self.old:
            return
        if len(f) == 1 or (len(f) >= 2 and isinstance(f[-2], ast.String) and f[-2].sval == self.table):
            f[-1] = ast.String(sval=self.new)
            node.fields = tuple(f)
            self.changed = True


def rename_column_in_expr(expr: str | None, old: str, new: str, table: str | None = None) -> str | None:
    """A deparsed expression with column `old` renamed to `new` (as PostgreSQL shows policies,
    checks and index expressions after `alter table ... rename column`). Unchanged when it does
    not mention the column or cannot be parsed."""
    if not expr or old not in expr:
        return expr
    try:
        raws = pglast.parse_sql(f"select {expr}")
        target = raws[0].stmt.targetList[0].val
    except Exception:
        return expr
    v = _RenameColumn(old, new, table)
    v(target)
    return deparse(target) if v.changed else expr


def expr_columns(node: Any) -> list[str]:
    """Distinct column names referenced by an expression, in order of appearance."""
    v = _ColumnRefs()
    v(node)
    return v.cols

_FK_ACTIONS = {"a": "no action", "r": "restrict", "c": "cascade", "n": "set null", "d": "set default"}


def _constraint(c: ast.Constraint, column: str | None = None) -> Constraint | None:
    t = c.contype
    if t == CT.CONSTR_PRIMARY:
        kind = "primary_key"
        cols = _names(c.keys) or ([column] if column else [])
    elif t == CT.CONSTR_UNIQUE:
        kind = "unique"
        cols = _names(c.keys) or ([column] if column else [])
    elif t == CT.CONSTR_FOREIGN:
        kind = "foreign_key"
        cols = _names(c.fk_attrs) or ([column] if column else [])
    elif t == CT.CONSTR_CHECK:
        kind = "check"
        cols = [column] if column else (expr_columns(c.raw_expr) if c.raw_expr is not None else [])
    elif t == CT.CONSTR_EXCLUSION:
        kind = "exclude"
        cols = []
    elif t == CT.CONSTR_NOTNULL:
        kind = "not_null"
        cols = _names(c.keys) or ([column] if column else [])
    else:
        return None
    con = Constraint(name=c.conname, kind=kind, columns=cols)
    if t == CT.CONSTR_FOREIGN:
        s, n = _rv(c.pktable)
        con.ref_table = f"{s}.{n}"
        con.ref_columns = _names(c.pk_attrs)
    if c.raw_expr is not None:
        con.expr = deparse(c.raw_expr)
    elif t == CT.CONSTR_EXCLUSION and c.exclusions:
        try:
            con.expr = ", ".join(
                f"{deparse(e[0])} WITH {''.join(_names(e[1]))}" for e in c.exclusions
            )
        except Exception:  # pragma: no cover - exotic exclusion lists
            con.expr = None
    return con


def _column(cd: ast.ColumnDef, schema: str = DEFAULT_SCHEMA, table: str = "") -> tuple[Column, list[Constraint]]:
    """A column definition and its inline constraints (PK/unique/FK/check).

    A serial column keeps its declared type (`serial`, `bigserial`) and gets the not null and
    the `nextval(...)` default PostgreSQL gives it."""
    col = Column(name=cd.colname, type=normalize_type(cd.typeName) if cd.typeName else "")
    cons: list[Constraint] = []
    if cd.is_not_null:
        col.nullable = False
    if col.type in SERIAL_TYPES:
        col.nullable = False
        if table:
            col.default = serial_default(schema, table, cd.colname)
    if cd.raw_default is not None:
        col.default = deparse(cd.raw_default)
    for c in cd.constraints or ():
        t = c.contype
        if t == CT.CONSTR_NULL:
            col.nullable = True
        elif t == CT.CONSTR_NOTNULL:
            col.nullable = False
        elif t == CT.CONSTR_DEFAULT:
            col.default = deparse(c.raw_expr) if c.raw_expr is not None else None
        elif t == CT.CONSTR_IDENTITY:
            col.identity = True
            col.nullable = False
        elif t == CT.CONSTR_GENERATED:
            col.generated = True
        else:
            con = _constraint(c, cd.colname)
            if con is None:
                continue
            cons.append(con)
            if con.kind == "primary_key":
                col.primary_key = True
                col.nullable = False
            elif con.kind == "unique":
                col.unique = True
            elif con.kind == "foreign_key":
                col.references = _fk_target(con)
    return col, cons


def _fk_target(con: Constraint) -> str:
    """"schema.table.column" of a single-column foreign key; "schema.table" when the referenced
    column is implicit (the referenced table's primary key, resolved by replay)."""
    if con.ref_columns:
        return f"{con.ref_table}.{con.ref_columns[0]}"
    return con.ref_table or ""


def apply_constraint_flags(table: Table, con: Constraint) -> None:
    """Mirror a table constraint on its columns (PK → primary_key + not null, single-column
    unique → unique, single-column FK → references)."""
    if con.kind == "primary_key":
        for c in con.columns:
            if c in table.columns:
                table.columns[c].primary_key = True
                table.columns[c].nullable = False
    elif con.kind == "unique" and len(con.columns) == 1 and con.columns[0] in table.columns:
        table.columns[con.columns[0]].unique = True
    elif con.kind == "foreign_key" and len(con.columns) == 1 and con.columns[0] in table.columns:
        table.columns[con.columns[0]].references = _fk_target(con)
    elif con.kind == "not_null":
        for c in con.columns:
            if c in table.columns:
                table.columns[c].nullable = False


# --------------------------------------------------------------------------- statement handlers


class _Ctx:
    __slots__ = ("line", "sql")

    def __init__(self, line: int, sql: str):
        self.line = line
        self.sql = sql

    def op(self, kind: str, **kw: Any) -> Op:
        return Op(kind=kind, line=self.line, sql=self.sql, **kw)


def _dump(m: Any) -> dict[str, Any]:
    return m.model_dump(by_alias=True)


def _create_table(n: ast.CreateStmt, cx: _Ctx) -> list[Op]:
    schema, name = _rv(n.relation)
    table = Table(schema=schema, name=name)
    like: list[dict[str, Any]] = []
    for el in n.tableElts or ():
        if isinstance(el, ast.ColumnDef):
            col, cons = _column(el, schema, name)
            table.columns[col.name] = col
            table.constraints.extend(cons)
        elif isinstance(el, ast.TableLikeClause):
            s, t = _rv(el.relation)
            opts = int(el.options or 0)
            like.append({"table": f"{s}.{t}", "position": len(table.columns),
                         "defaults": bool(opts & 8), "constraints": bool(opts & 4),
                         "identity": bool(opts & 32), "generated": bool(opts & 16)})
    for el in n.tableElts or ():
        if isinstance(el, ast.Constraint):
            con = _constraint(el)
            if con is not None:
                table.constraints.append(con)
                apply_constraint_flags(table, con)
    detail = _dump(table)
    if like:
        detail["like"] = like
    if n.partbound is not None and n.inhRelations:
        s, p = _rv(n.inhRelations[0])
        detail["partition_of"] = f"{s}.{p}"
    return [cx.op("create_table", schema=schema, table=name, if_not_exists=bool(n.if_not_exists), detail=detail)]


def _create_table_as(n: ast.CreateTableAsStmt, cx: _Ctx) -> list[Op]:
    schema, name = _rv(n.into.rel)
    if n.objtype == OT.OBJECT_MATVIEW:
        v = View(schema=schema, name=name, definition=deparse(n.query), materialized=True)
        d = _dump(v)
        return [cx.op("create_view", schema=schema, name=name, if_not_exists=bool(n.if_not_exists), detail=d)]
    cols = {c: Column(name=c, type="") for c in _names(n.into.colNames)}
    t = Table(schema=schema, name=name, columns=cols)
    d = _dump(t)
    d["as_select"] = True
    return [cx.op("create_table", schema=schema, table=name, if_not_exists=bool(n.if_not_exists), detail=d)]


_RLS = {
    AT.AT_EnableRowSecurity: "enable_rls",
    AT.AT_DisableRowSecurity: "disable_rls",
    AT.AT_ForceRowSecurity: "force_rls",
    AT.AT_NoForceRowSecurity: "no_force_rls",
}


def _alter_table(n: ast.AlterTableStmt, cx: _Ctx) -> list[Op]:
    schema, table = _rv(n.relation)
    if n.objtype not in (OT.OBJECT_TABLE, OT.OBJECT_FOREIGN_TABLE):
        return [cx.op("other", schema=schema, name=table,
                      detail={"statement": "AlterTableStmt", "object_kind": _kind_name(n.objtype)})]
    ops: list[Op] = []
    base: dict[str, Any] = {"schema": schema, "table": table}
    extra = {"table_if_exists": True} if n.missing_ok else {}
    for cmd in n.cmds or ():
        st = cmd.subtype
        cascade = cmd.behavior == DropBehavior.DROP_CASCADE
        if st == AT.AT_AddColumn:
            col, cons = _column(cmd.def_, schema, table)
            d = _dump(col)
            d["constraints"] = [_dump(c) for c in cons]
            ops.append(cx.op("add_column", **base, column=col.name, if_not_exists=bool(cmd.missing_ok), detail=d | extra))
        elif st == AT.AT_DropColumn:
            ops.append(cx.op("drop_column", **base, column=cmd.name, if_exists=bool(cmd.missing_ok), cascade=cascade, detail=dict(extra)))
        elif st == AT.AT_AlterColumnType:
            cd = cmd.def_
            d = {"type": normalize_type(cd.typeName), "using": deparse(cd.raw_default) if cd.raw_default is not None else None}
            ops.append(cx.op("alter_column_type", **base, column=cmd.name, detail=d | extra))
        elif st == AT.AT_SetNotNull:
            ops.append(cx.op("set_not_null", **base, column=cmd.name, detail=dict(extra)))
        elif st == AT.AT_DropNotNull:
            ops.append(cx.op("drop_not_null", **base, column=cmd.name, detail=dict(extra)))
        elif st == AT.AT_ColumnDefault:
            if cmd.def_ is None:
                ops.append(cx.op("drop_default", **base, column=cmd.name, detail=dict(extra)))
            else:
                ops.append(cx.op("set_default", **base, column=cmd.name, detail={"default": deparse(cmd.def_)} | extra))
        elif st == AT.AT_AddConstraint and isinstance(cmd.def_, ast.Constraint):
            con = _constraint(cmd.def_)
            if con is None:
                ops.append(cx.op("other", **base, detail={"statement": "AlterTableStmt", "subcommand": st.name} | extra))
                continue
            d = _dump(con)
            d["not_valid"] = bool(cmd.def_.skip_validation)
            ops.append(cx.op("add_constraint", **base, name=con.name,
                             column=con.columns[0] if len(con.columns) == 1 else None, detail=d | extra))
        elif st == AT.AT_DropConstraint:
            ops.append(cx.op("drop_constraint", **base, name=cmd.name, if_exists=bool(cmd.missing_ok), cascade=cascade, detail=dict(extra)))
        elif st == AT.AT_ValidateConstraint:
            ops.append(cx.op("validate_constraint", **base, name=cmd.name, detail=dict(extra)))
        elif st in _RLS:
            ops.append(cx.op(_RLS[st], **base, detail=dict(extra)))
        else:
            d = {"statement": "AlterTableStmt", "subcommand": st.name.removeprefix("AT_")}
            if cmd.name:
                d["column"] = cmd.name
            ops.append(cx.op("other", **base, column=cmd.name, detail=d | extra))
    # PostgreSQL runs the sub-commands of one ALTER TABLE in passes (drops first, then type
    # changes, added columns, constraints, column attributes, defaults, the rest): the ops are
    # given in that order, which is what replaying them must follow.
    if len(ops) > 1:
        ops.sort(key=_at_pass)
    return ops


_PASS_DROP, _PASS_ALTER_TYPE, _PASS_ADD_COL, _PASS_ADD_CONSTR, _PASS_COL_ATTRS, _PASS_OTHERCONSTR, _PASS_MISC = range(7)
_AT_PASSES = {
    "drop_column": _PASS_DROP, "drop_constraint": _PASS_DROP, "drop_default": _PASS_DROP,
    "drop_not_null": _PASS_DROP, "alter_column_type": _PASS_ALTER_TYPE, "add_column": _PASS_ADD_COL,
    "add_constraint": _PASS_ADD_CONSTR, "set_not_null": _PASS_COL_ATTRS, "set_default": _PASS_OTHERCONSTR,
}
_AT_OTHER_PASSES = {"DropIdentity": _PASS_DROP, "AddIdentity": _PASS_OTHERCONSTR}


def _at_pass(op: Op) -> int:
    if op.kind == "other":
        return _AT_OTHER_PASSES.get(op.detail.get("subcommand", ""), _PASS_MISC)
    return _AT_PASSES.get(op.kind, _PASS_MISC)


def _rename(n: ast.RenameStmt, cx: _Ctx) -> list[Op]:
    rt = n.renameType
    ie = bool(n.missing_ok)
    if n.relation is not None:
        schema, rel = _rv(n.relation)
    else:
        schema, rel = DEFAULT_SCHEMA, ""
    if rt == OT.OBJECT_TABLE or rt == OT.OBJECT_FOREIGN_TABLE:
        return [cx.op("rename_table", schema=schema, table=rel, new_name=n.newname, if_exists=ie)]
    if rt == OT.OBJECT_COLUMN:
        d = {} if n.relationType == OT.OBJECT_TABLE else {"relation_kind": _kind_name(n.relationType)}
        return [cx.op("rename_column", schema=schema, table=rel, column=n.subname, new_name=n.newname, if_exists=ie, detail=d)]
    if rt == OT.OBJECT_INDEX:
        return [cx.op("rename_index", schema=schema, name=rel, new_name=n.newname, if_exists=ie)]
    if rt == OT.OBJECT_TABCONSTRAINT:
        return [cx.op("rename_constraint", schema=schema, table=rel, name=n.subname, new_name=n.newname, if_exists=ie)]
    if rt == OT.OBJECT_POLICY:
        return [cx.op("rename_policy", schema=schema, table=rel, name=n.subname, new_name=n.newname, if_exists=ie)]
    if rt == OT.OBJECT_TRIGGER:
        return [cx.op("rename_trigger", schema=schema, table=rel, name=n.subname, new_name=n.newname, if_exists=ie)]
    if rt in (OT.OBJECT_VIEW, OT.OBJECT_MATVIEW):
        return [cx.op("rename_view", schema=schema, name=rel, new_name=n.newname, if_exists=ie,
                      detail={"materialized": rt == OT.OBJECT_MATVIEW})]
    if rt in (OT.OBJECT_TYPE, OT.OBJECT_DOMAIN):
        s, t = _split_qual(_names(n.object))
        return [cx.op("rename_type", schema=s, name=t, new_name=n.newname, if_exists=ie)]
    if rt in (OT.OBJECT_FUNCTION, OT.OBJECT_PROCEDURE, OT.OBJECT_ROUTINE) and isinstance(n.object, ast.ObjectWithArgs):
        s, f, a = _owa(n.object)
        return [cx.op("rename_function", schema=s, name=f, new_name=n.newname, if_exists=ie, detail={"args": a})]
    obj = _obj_str(n.object) if n.object is not None else (f"{schema}.{rel}" if rel else "")
    return [cx.op("other", name=obj or None, new_name=n.newname,
                  detail={"statement": "RenameStmt", "object_kind": _kind_name(rt), "object": obj})]


def _drop(n: ast.DropStmt, cx: _Ctx) -> list[Op]:
    rt = n.removeType
    ie = bool(n.missing_ok)
    cascade = n.behavior == DropBehavior.DROP_CASCADE
    ops: list[Op] = []
    for obj in n.objects or ():
        if rt in (OT.OBJECT_TABLE, OT.OBJECT_FOREIGN_TABLE):
            s, t = _split_qual(_names(obj))
            ops.append(cx.op("drop_table", schema=s, table=t, if_exists=ie, cascade=cascade))
        elif rt == OT.OBJECT_INDEX:
            s, i = _split_qual(_names(obj))
            ops.append(cx.op("drop_index", schema=s, name=i, if_exists=ie, cascade=cascade,
                             detail={"concurrently": bool(n.concurrent)}))
        elif rt in (OT.OBJECT_POLICY, OT.OBJECT_TRIGGER):
            names = _names(obj)
            s, t = _split_qual(names[:-1])
            kind = "drop_policy" if rt == OT.OBJECT_POLICY else "drop_trigger"
            ops.append(cx.op(kind, schema=s, table=t, name=names[-1], if_exists=ie, cascade=cascade))
        elif rt in (OT.OBJECT_FUNCTION, OT.OBJECT_PROCEDURE, OT.OBJECT_ROUTINE) and isinstance(obj, ast.ObjectWithArgs):
            s, f, a = _owa(obj)
            ops.append(cx.op("drop_function", schema=s, name=f, if_exists=ie, cascade=cascade, detail={"args": a}))
        elif rt == OT.OBJECT_TYPE:
            s, t = _split_qual(_names(obj.names) if isinstance(obj, ast.TypeName) else _names(obj))
            ops.append(cx.op("drop_type", schema=s, name=t, if_exists=ie, cascade=cascade))
        elif rt in (OT.OBJECT_VIEW, OT.OBJECT_MATVIEW):
            s, v = _split_qual(_names(obj))
            ops.append(cx.op("drop_view", schema=s, name=v, if_exists=ie, cascade=cascade,
                             detail={"materialized": rt == OT.OBJECT_MATVIEW}))
        else:
            o = _obj_str(obj)
            ops.append(cx.op("other", name=o, if_exists=ie, cascade=cascade,
                             detail={"statement": "DropStmt", "object_kind": _kind_name(rt), "object": o}))
    return ops


def _index(n: ast.IndexStmt, cx: _Ctx) -> list[Op]:
    schema, table = _rv(n.relation)
    cols: list[str] = []
    name_parts: list[str] = []
    for el in n.indexParams or ():
        if el.name:
            cols.append(el.name)
            name_parts.append(el.name)
        elif el.expr is not None:
            cols.append(deparse(el.expr))
            if isinstance(el.expr, ast.FuncCall):
                name_parts.append(_names(el.expr.funcname)[-1])
            else:
                name_parts.append("expr")
    generated = not n.idxname
    name = n.idxname or "_".join([table, *name_parts, "idx"])
    idx = Index(name=name, table=f"{schema}.{table}", columns=cols, unique=bool(n.unique),
                where=deparse(n.whereClause) if n.whereClause is not None else None,
                method=n.accessMethod or None)
    d = _dump(idx)
    d["concurrently"] = bool(n.concurrent)
    if generated:
        d["name_generated"] = True
    return [cx.op("create_index", schema=schema, table=table, name=name, if_not_exists=bool(n.if_not_exists), detail=d)]


def _policy_roles(roles: Iterable[Any] | None) -> list[str]:
    return [_role(r) for r in roles or ()]


def _create_policy(n: ast.CreatePolicyStmt, cx: _Ctx) -> list[Op]:
    schema, table = _rv(n.table)
    p = Policy(
        name=n.policy_name, table=f"{schema}.{table}", command=(n.cmd_name or "all").lower(),
        roles=_policy_roles(n.roles) or ["public"],
        using=deparse(n.qual) if n.qual is not None else None,
        with_check=deparse(n.with_check) if n.with_check is not None else None,
        permissive=bool(n.permissive),
    )
    return [cx.op("create_policy", schema=schema, table=table, name=n.policy_name, detail=_dump(p))]


def _alter_policy(n: ast.AlterPolicyStmt, cx: _Ctx) -> list[Op]:
    schema, table = _rv(n.table)
    d: dict[str, Any] = {}
    if n.roles:
        d["roles"] = _policy_roles(n.roles)
    if n.qual is not None:
        d["using"] = deparse(n.qual)
    if n.with_check is not None:
        d["with_check"] = deparse(n.with_check)
    return [cx.op("alter_policy", schema=schema, table=table, name=n.policy_name, detail=d)]


def _search_path(v: ast.VariableSetStmt) -> str | None:
    if v.kind == VariableSetKind.VAR_SET_VALUE:
        vals = []
        for a in v.args or ():
            if isinstance(a, ast.A_Const) and isinstance(a.val, ast.String):
                vals.append(a.val.sval)
            elif isinstance(a, ast.A_Const) and a.val is not None:
                vals.append(_opt_str(a.val) or "")
            else:
                vals.append(deparse(a))
        return ", ".join(vals)
    if v.kind == VariableSetKind.VAR_SET_CURRENT:
        return "from current"
    if v.kind == VariableSetKind.VAR_SET_DEFAULT:
        return "default"
    return None


def _function_options(options: Iterable[ast.DefElem] | None, into: dict[str, Any]) -> None:
    for o in options or ():
        dn = o.defname
        if dn == "language":
            into["language"] = _opt_str(o.arg)
        elif dn == "security":
            into["security_definer"] = bool(o.arg.boolval) if isinstance(o.arg, ast.Boolean) else False
        elif dn == "set" and isinstance(o.arg, ast.VariableSetStmt):
            if o.arg.name == "search_path":
                into["search_path"] = _search_path(o.arg)
        elif dn == "reset" and isinstance(o.arg, ast.VariableSetStmt):
            if o.arg.name in ("search_path", None) or o.arg.kind == VariableSetKind.VAR_RESET_ALL:
                into["search_path"] = None
        elif dn == "as":
            arg = o.arg
            if isinstance(arg, (list, tuple)):
                into["body"] = _names(arg)[0] if len(arg) == 1 else ", ".join(_names(arg))
            else:
                into["body"] = _opt_str(arg)
        elif dn == "volatility":
            into["volatility"] = _opt_str(o.arg)


def _create_function(n: ast.CreateFunctionStmt, cx: _Ctx) -> list[Op]:
    schema, name = _split_qual(_names(n.funcname))
    table_params = [p for p in n.parameters or () if p.mode == FPM.FUNC_PARAM_TABLE]
    if table_params:
        returns = "table(" + ", ".join(f"{p.name} {normalize_type(p.argType)}" for p in table_params) + ")"
    elif n.returnType is not None:
        returns = normalize_type(n.returnType)
    else:
        returns = None  # procedures, or functions with out parameters only
    opts: dict[str, Any] = {}
    _function_options(n.options, opts)
    if n.sql_body is not None and "body" not in opts:
        try:
            stmts = n.sql_body[0] if n.sql_body and isinstance(n.sql_body[0], (list, tuple)) else n.sql_body
            opts["body"] = "; ".join(deparse(s) for s in stmts if s is not None)
        except Exception:
            opts["body"] = None
        opts.setdefault("language", "sql")
    f = Function(schema=schema, name=name, args=_func_args(n.parameters), returns=returns,
                 language=opts.get("language"), security_definer=opts.get("security_definer", False),
                 search_path=opts.get("search_path"), body=opts.get("body"))
    d = _dump(f)
    d["procedure"] = bool(n.is_procedure)
    d["volatility"] = opts.get("volatility")
    return [cx.op("create_function", schema=schema, name=name, or_replace=bool(n.replace), detail=d)]


def _alter_function(n: ast.AlterFunctionStmt, cx: _Ctx) -> list[Op]:
    s, f, a = _owa(n.func)
    opts: dict[str, Any] = {}
    _function_options(n.actions, opts)
    d = {"args": a}
    for k in ("security_definer", "search_path"):
        if k in opts:
            d[k] = opts[k]
    return [cx.op("alter_function", schema=s, name=f, detail=d)]


def _create_enum(n: ast.CreateEnumStmt, cx: _Ctx) -> list[Op]:
    s, t = _split_qual(_names(n.typeName))
    e = Enum(schema=s, name=t, values=_names(n.vals))
    return [cx.op("create_enum", schema=s, name=t, detail=_dump(e))]


def _alter_enum(n: ast.AlterEnumStmt, cx: _Ctx) -> list[Op]:
    s, t = _split_qual(_names(n.typeName))
    if n.oldVal:
        return [cx.op("rename_enum_value", schema=s, name=t, new_name=n.newVal,
                      detail={"value": n.oldVal, "new_name": n.newVal})]
    d: dict[str, Any] = {"value": n.newVal, "before": None, "after": None}
    if n.newValNeighbor:
        d["after" if n.newValIsAfter else "before"] = n.newValNeighbor
    return [cx.op("add_enum_value", schema=s, name=t, if_not_exists=bool(n.skipIfNewValExists), detail=d)]


_TRIG_BEFORE, _TRIG_INSTEAD = 1 << 1, 1 << 6
_TRIG_EVENTS = ((1 << 2, "insert"), (1 << 4, "update"), (1 << 3, "delete"), (1 << 5, "truncate"))


def _create_trigger(n: ast.CreateTrigStmt, cx: _Ctx) -> list[Op]:
    schema, table = _rv(n.relation)
    fs, fn = _split_qual(_names(n.funcname))
    timing = "before" if n.timing & _TRIG_BEFORE else "instead of" if n.timing & _TRIG_INSTEAD else "after"
    events = [name for bit, name in _TRIG_EVENTS if n.events & bit]
    t = Trigger(name=n.trigname, table=f"{schema}.{table}", function=f"{fs}.{fn}", timing=timing, events=events)
    d = _dump(t)
    d["for_each"] = "row" if n.row else "statement"
    d["columns"] = _names(n.columns)
    d["when"] = deparse(n.whenClause) if n.whenClause is not None else None
    d["constraint"] = bool(n.isconstraint)
    return [cx.op("create_trigger", schema=schema, table=table, name=n.trigname, or_replace=bool(n.replace), detail=d)]


def _view(n: ast.ViewStmt, cx: _Ctx) -> list[Op]:
    s, v = _rv(n.view)
    view = View(schema=s, name=v, definition=deparse(n.query), materialized=False)
    return [cx.op("create_view", schema=s, name=v, or_replace=bool(n.replace), detail=_dump(view))]


_ALL_KINDS = {
    OT.OBJECT_TABLE: "tables", OT.OBJECT_SEQUENCE: "sequences", OT.OBJECT_FUNCTION: "functions",
    OT.OBJECT_PROCEDURE: "procedures", OT.OBJECT_ROUTINE: "routines",
}


def _grant(n: ast.GrantStmt, cx: _Ctx) -> list[Op]:
    privs: list[str] = []
    for p in n.privileges or ():
        name = (p.priv_name or "all").lower()
        cols = _names(p.cols)
        privs.append(f"{name}({', '.join(cols)})" if cols else name)
    if not privs:
        privs = ["all"]
    if n.targtype == GrantTargetType.ACL_TARGET_ALL_IN_SCHEMA:
        kind = f"all {_ALL_KINDS.get(n.objtype, _kind_name(n.objtype) + 's')} in schema"
        objects = [_obj_str(o) for o in n.objects or ()]
    else:
        kind = _kind_name(n.objtype)
        objects = []
        for o in n.objects or ():
            if isinstance(o, ast.RangeVar):
                s, t = _rv(o)
                objects.append(f"{s}.{t}")
            else:
                objects.append(_obj_str(o))
    g = Grant(privileges=privs, object_kind=kind, objects=objects, roles=[_role(r) for r in n.grantees or ()])
    d = _dump(g)
    if n.grant_option:
        d["grant_option"] = True
    return [cx.op("grant" if n.is_grant else "revoke", cascade=n.behavior == DropBehavior.DROP_CASCADE, detail=d)]


def _comment(n: ast.CommentStmt, cx: _Ctx) -> list[Op]:
    ot = n.objtype
    kw: dict[str, Any] = {}
    if ot in (OT.OBJECT_TABLE, OT.OBJECT_VIEW, OT.OBJECT_MATVIEW, OT.OBJECT_FOREIGN_TABLE):
        s, t = _split_qual(_names(n.object))
        kw = {"schema": s, "table": t}
        obj = f"{s}.{t}"
    elif ot == OT.OBJECT_COLUMN:
        names = _names(n.object)
        s, t = _split_qual(names[:-1])
        kw = {"schema": s, "table": t, "column": names[-1]}
        obj = f"{s}.{t}.{names[-1]}"
    else:
        obj = _obj_str(n.object)
    return [cx.op("comment", **kw, detail={"object_kind": _kind_name(ot), "object": obj, "comment": n.comment})]


def _dml(kind: str):
    def handler(n: Any, cx: _Ctx) -> list[Op]:
        s, t = _rv(n.relation)
        return [cx.op(kind, schema=s, table=t)]
    return handler


def _do(n: ast.DoStmt, cx: _Ctx) -> list[Op]:
    d: dict[str, Any] = {"body": None, "language": "plpgsql"}
    for a in n.args or ():
        if a.defname == "as":
            d["body"] = _opt_str(a.arg)
        elif a.defname == "language":
            d["language"] = _opt_str(a.arg)
    return [cx.op("do_block", detail=d)]


def _create_schema(n: ast.CreateSchemaStmt, cx: _Ctx) -> list[Op]:
    ops = [cx.op("create_schema", name=n.schemaname or (_role(n.authrole) if n.authrole else None),
                 if_not_exists=bool(n.if_not_exists))]
    for el in n.schemaElts or ():  # `create schema x create table ...`: objects go in x
        for attr in ("relation", "view", "sequence"):
            rv = getattr(el, attr, None)
            if isinstance(rv, ast.RangeVar) and not rv.schemaname and n.schemaname:
                rv.schemaname = n.schemaname
        h = _HANDLERS.get(type(el))
        if h is not None:
            ops.extend(h(el, cx))
    return ops


def _create_extension(n: ast.CreateExtensionStmt, cx: _Ctx) -> list[Op]:
    d: dict[str, Any] = {"schema": None}
    for o in n.options or ():
        if o.defname == "schema":
            d["schema"] = _opt_str(o.arg)
    return [cx.op("create_extension", name=n.extname, if_not_exists=bool(n.if_not_exists), detail=d)]


def _other_type(n: Any, cx: _Ctx) -> list[Op]:
    """`create type x as (...)`, `create domain`, `create type x as range`: tracked only by name."""
    if isinstance(n, ast.CompositeTypeStmt):
        s, t = _rv(n.typevar)
    elif isinstance(n, ast.CreateDomainStmt):
        s, t = _split_qual(_names(n.domainname))
    else:
        s, t = _split_qual(_names(n.typeName))
    return [cx.op("other", schema=s, name=t, detail={"statement": type(n).__name__, "object_kind": "type"})]


def _create_sequence(n: ast.CreateSeqStmt, cx: _Ctx) -> list[Op]:
    s, q = _rv(n.sequence)
    return [cx.op("other", schema=s, name=q, if_not_exists=bool(n.if_not_exists),
                  detail={"statement": "CreateSeqStmt", "object_kind": "sequence"})]


_HANDLERS: dict[type, Any] = {
    ast.CreateStmt: _create_table,
    ast.CreateTableAsStmt: _create_table_as,
    ast.AlterTableStmt: _alter_table,
    ast.RenameStmt: _rename,
    ast.DropStmt: _drop,
    ast.IndexStmt: _index,
    ast.CreatePolicyStmt: _create_policy,
    ast.AlterPolicyStmt: _alter_policy,
    ast.CreateFunctionStmt: _create_function,
    ast.AlterFunctionStmt: _alter_function,
    ast.CreateEnumStmt: _create_enum,
    ast.AlterEnumStmt: _alter_enum,
    ast.CreateTrigStmt: _create_trigger,
    ast.ViewStmt: _view,
    ast.GrantStmt: _grant,
    ast.CommentStmt: _comment,
    ast.InsertStmt: _dml("insert"),
    ast.UpdateStmt: _dml("update"),
    ast.DeleteStmt: _dml("delete"),
    ast.DoStmt: _do,
    ast.CreateSchemaStmt: _create_schema,
    ast.CreateExtensionStmt: _create_extension,
    ast.CompositeTypeStmt: _other_type,
    ast.CreateDomainStmt: _other_type,
    ast.CreateRangeStmt: _other_type,
    ast.CreateSeqStmt: _create_sequence,
}


def statement_ops(node: Any, line: int, sql: str) -> list[Op]:
    """The schema operations of one parsed statement (never raises: falls back to `other`)."""
    cx = _Ctx(line, sql)
    h = _HANDLERS.get(type(node))
    if h is not None:
        try:
            return h(node, cx)
        except Exception as e:  # an unexpected tree shape must not lose the statement
            return [cx.op("other", detail={"statement": type(node).__name__, "error": f"{type(e).__name__}: {e}"})]
    return [cx.op("other", detail={"statement": type(node).__name__})]


# --------------------------------------------------------------------------- files

_COMMENT_TOKENS = ("SQL_COMMENT", "C_COMMENT")


def _strip_trailing_comments(s: str) -> str:
    """`s` without trailing comments/whitespace (the scanner finds where the last token ends)."""
    s = s.rstrip()
    if "--" not in s and "/*" not in s:
        return s
    try:
        toks = scan(s)
    except ParseError:
        return s
    for t in reversed(toks):
        if t.name not in _COMMENT_TOKENS:
            return s[: t.end + 1].rstrip()
    return ""


def _statements(text: str, raws: Iterable[Any], offset: int = 0) -> list[Statement]:
    out: list[Statement] = []
    pos, line = 0, 1  # running line count: O(len(text)) over the whole file
    for raw in raws:
        loc = raw.stmt_location + offset
        end = loc + raw.stmt_len if raw.stmt_len else len(text)
        sql = text[loc:end]
        # pglast points at the first token; skip whitespace defensively anyway
        stripped = sql.lstrip()
        loc += len(sql) - len(stripped)
        sql = _strip_trailing_comments(stripped)
        if not sql:
            continue
        line += text.count("\n", pos, loc)
        pos = loc
        end_line = line + sql.count("\n")
        out.append(Statement(line=line, end_line=end_line, sql=sql, ops=statement_ops(raw.stmt, line, sql)))
    return out


def _error_position(e: ParseError, text: str | None = None) -> int:
    """Character offset of a parse error; "at end of input" errors (no location) point at the
    last token of the file."""
    if len(e.args) > 1 and isinstance(e.args[1], int):
        return e.args[1]
    if text is None:
        return 0
    try:
        toks = scan(text)
    except ParseError:
        return len(text.rstrip())
    for t in reversed(toks):
        if t.name not in _COMMENT_TOKENS:
            return t.start
    return 0


def parse_sql(path: str, text: str) -> tuple[list[Statement], Diagnostic | None]:
    """Statements of a SQL file with their ops; a syntax error gives a `sql-parse-error`
    diagnostic (at the line of the error) and the statements before it."""
    if text.startswith("\ufeff"):
        text = " " + text[1:]  # keep offsets; PostgreSQL would not accept a BOM either
    try:
        raws = pglast.parse_sql(text)
    except ParseError as e:
        pos = _error_position(e, text)
        msg = str(e.args[0]) if e.args else str(e)
        diag = Diagnostic(file=path, line=line_of(text, pos), kind="sql-parse-error", message=msg)
        return _statements_before(text, pos), diag
    except Exception as e:  # pragma: no cover - pglast internal failure
        return [], Diagnostic(file=path, line=1, kind="sql-parse-error", message=f"{type(e).__name__}: {e}")
    return _statements(text, raws), None


def _statements_before(text: str, pos: int) -> list[Statement]:
    """Complete statements that end before the error position `pos`."""
    prefix = text[:pos]
    try:
        toks = scan(prefix)
    except ParseError:
        return []
    cut = None
    for t in reversed(toks):
        if t.name == "ASCII_59":  # ';'
            cut = t.end + 1
            break
    if cut is None:
        return []
    try:
        raws = pglast.parse_sql(text[:cut])
    except ParseError:
        return []
    return _statements(text, raws)


# --------------------------------------------------------------------------- suppressions

_MARK = "dlcm-ignore"


def _comment_body(tok_text: str) -> str:
    if tok_text.startswith("--"):
        return tok_text[2:].strip()
    if tok_text.startswith("/*"):
        return tok_text[2:].removesuffix("*/").strip(" \t\r\n*")
    return tok_text.strip()


def parse_suppression(body: str) -> tuple[list[str], str] | None:
    """`dlcm-ignore DLCM101, DLCM102: reason` → (["DLCM101", "DLCM102"], "reason")."""
    if not body.startswith(_MARK):
        return None
    rest = body[len(_MARK):]
    if rest and not rest[0].isspace() and rest[0] != ":":
        return None
    ids_part, sep, reason = rest.partition(":")
    rules = [r for r in ids_part.replace(",", " ").split() if r]
    if not rules:
        return None
    return rules, reason.strip()


def find_suppressions(path: str, text: str) -> list[Suppression]:
    """`-- dlcm-ignore DLCM101: reason` (or `/* ... */`) comments of a SQL file."""
    if _MARK not in text:
        return []
    try:
        toks = scan(text)
    except ParseError as e:
        try:
            toks = scan(text[: _error_position(e)])
        except ParseError:
            return []
    out: list[Suppression] = []
    pos, line = 0, 1
    for t in toks:
        if t.name not in _COMMENT_TOKENS:
            continue
        raw = text[t.start : t.end + 1]
        if _MARK not in raw:
            continue
        parsed = parse_suppression(_comment_body(raw))
        if parsed is None:
            continue
        line += text.count("\n", pos, t.start)
        pos = t.start
        out.append(Suppression(file=path, line=line, rules=parsed[0], reason=parsed[1]))
    return out


# --------------------------------------------------------------------------- types


def parse_type(text: str) -> str | None:
    """Normalised form of a PostgreSQL type name (`int4` → `integer`, `character varying(20)` →
    `varchar(20)`), or None when `text` is not a type name."""
    if not text or not text.strip() or ";" in text:
        return None
    try:
        raws = pglast.parse_sql(f"select null::{text}")
    except ParseError:
        return None
    if len(raws) != 1:
        return None
    sel = raws[0].stmt
    if not isinstance(sel, ast.SelectStmt) or len(sel.targetList or ()) != 1:
        return None
    for attr in ("fromClause", "whereClause", "groupClause", "havingClause", "sortClause",
                 "limitCount", "limitOffset", "distinctClause", "windowClause", "valuesLists",
                 "withClause", "lockingClause", "intoClause"):
        if getattr(sel, attr, None):
            return None
    if sel.op is not None and sel.op.name != "SETOP_NONE":
        return None
    rt = sel.targetList[0]
    if rt.name or not isinstance(rt.val, ast.TypeCast):
        return None
    tc = rt.val
    if not (isinstance(tc.arg, ast.A_Const) and tc.arg.isnull):
        return None
    tn = tc.typeName
    for m in tn.typmods or ():
        if not (isinstance(m, ast.A_Const) and isinstance(m.val, ast.Integer)):
            return None
    return normalize_type(tn)
