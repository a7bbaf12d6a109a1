"""`plan(kind, args, model, read)`: every file a complete change needs, as FileChanges.

Pure: the repository model in, file contents read through the `read(path)` callback, changes
out. Nothing is written; the CLI and the App decide what to do with the plan.
"""

from __future__ import annotations

import datetime as dt
import posixpath
import re
from dataclasses import dataclass, field

from ..config import Config
from ..model import Column, RepoModel, Table
from .conventions import Conventions, detect, table_alias
from .errors import ScaffoldError
from .fieldprop import FieldCtx, extend_code
from .layers import (Endpoint, ensure_alias, ensure_client_input, Entity, Param, RepoMethod, add_aliases, add_client_cases, add_client_methods,
                     add_handlers, add_impl_methods, add_interface_method, add_parsers, client_types, col_param,
                     make_entity, register, router_files, write_implementations, write_interface, _declared)
from .names import camel, kebab, pascal, singular, snake
from .project import FileChange, Project, Reader
from .sqlgen import (enum_key, add_field_sql, check_identifier, check_type, detect_sql_conventions, migration_paths,
                     new_table_sql, next_version, parse_columns, replay_new, split_table, ts_default)
from .testgen import add_field_tests, endpoint_tests, new_table_tests
from .tsedit import Doc
from .typesgen import add_column, add_table, gen_ts_type

KINDS = ("add-field", "new-table", "api-endpoint")
HTTP_VERBS = ("GET", "POST", "PUT", "PATCH", "DELETE")


@dataclass
class AddField:
    table: str
    column: str
    type: str
    nullable: bool = False
    default: str | None = None


@dataclass
class NewTable:
    table: str
    columns: str
    owner: bool = True


@dataclass
class ApiEndpoint:
    method: str
    path: str
    table: str | None = None
    repository_method: str | None = None


class Plan(list):
    """The FileChanges, plus notes for the user (what could not be generated and why)."""

    def __init__(self, changes: list[FileChange], notes: list[str], summary: str):
        super().__init__(changes)
        self.notes = notes
        self.summary = summary


def plan(kind: str, args, model: RepoModel, read: Reader, config: Config | None = None,
         now: dt.datetime | None = None) -> Plan:
    config = config or Config()
    project = Project(model, config, read)
    if kind == "add-field":
        summary = _add_field(project, args, now)
    elif kind == "new-table":
        summary = _new_table(project, args, now)
    elif kind == "api-endpoint":
        summary = _api_endpoint(project, args)
    else:
        raise ScaffoldError(f"unknown change type `{kind}` (one of {', '.join(KINDS)})")
    return Plan(project.changes(), project.notes, summary)


def _find_table(model: RepoModel, name: str) -> Table | None:
    schema, table = split_table(name)
    return model.schema_.tables.get(f"{schema}.{table}")


def _types_files(project: Project, table: Table) -> list[str]:
    return [d.file for d in project.model.database_types if table.qualified in d.tables]


# --------------------------------------------------------------------------- add-field


def _add_field(project: Project, a: AddField, now) -> str:
    model, config = project.model, project.config
    schema, tname = split_table(a.table)
    check_identifier(tname, "table")
    table = _find_table(model, a.table)
    if table is None:
        known = ", ".join(sorted(k.removeprefix("public.") for k in model.schema_.tables)) or "none"
        raise ScaffoldError(f"table `{a.table}` does not exist (tables: {known}); use `new-table` to create it")
    check_identifier(a.column, "column", pattern=config.business_rules.column_name_pattern)
    if a.column in table.columns:
        raise ScaffoldError(f"column `{a.column}` already exists in {table.qualified}")
    pg_type = check_type(model, config, a.type, f"column `{a.column}`")
    if not a.nullable and a.default is None:
        raise ScaffoldError(f"a NOT NULL column added to the existing table {table.qualified} needs a value for the "
                            f"rows already there: pass --default EXPR, or --nullable")
    if a.default is not None:
        import pglast

        try:
            ok = len(pglast.parse_sql(f"select {a.default}")) == 1 and ";" not in a.default
        except pglast.parser.ParseError:
            ok = False
        if not ok:
            raise ScaffoldError(f"--default `{a.default}` is not an SQL expression (write string constants in "
                                f"single quotes: --default \"'en'\")")
    col_def = f"{a.column} {pg_type}" + ("" if a.nullable else " not null") + (
        f" default {a.default}" if a.default is not None else "")
    version = next_version(model, now)
    stem = f"{version}_add_{a.column}_to_{tname}"
    if len(stem) > 80:
        stem = f"{version}_add_{a.column}"
    up_path, down_path = migration_paths(model, config, stem)
    conv_sql = detect_sql_conventions(model, project.read)
    up, down = add_field_sql(model, config, conv_sql, table, a.column, col_def, stem)
    schema_after = replay_new(model, up_path, up)
    after = schema_after.tables[table.qualified]
    col = after.columns.get(a.column)
    if col is None:
        raise ScaffoldError(f"the default `{a.default}` does not parse as an SQL expression")
    default_ts = ts_default(col, gen_ts_type(model, col.type)) if col.default is not None else None
    project.create(up_path, up)
    project.create(down_path, down)
    for f in _types_files(project, table):
        add_column(project, f, table, col)
    conv = detect(project)
    impl_files = {i.file for i in model.implementations if tname in i.tables or
                  any(r.name == i.interface and tname in r.tables for r in model.repositories)}
    ctx = FieldCtx(project, table, col, default_ts, cols=dict(table.columns), impl_files=impl_files,
                   service_prefix=conv.service.path + "/" if conv.service.path else "",
                   client_prefix=(conv.client_pkg.path + "/") if conv.client_pkg and conv.client_pkg.path else None,
                   conv=conv)
    project.conv = conv  # type: ignore[attr-defined]
    e = make_entity(project, conv, table, new=False)
    ctx.row_names.add(e.row)
    extend_code(ctx, skip=set(_types_files(project, table)))
    via_api = bool(conv.validation_file) and any(t.startswith(conv.validation_file + ":") for t in ctx.touched)
    create_route = next((r.raw_path for r in model.routes if r.method == "POST" and f"{e.key}.create" in r.handler_calls),
                        None)
    update_route = next((r.raw_path for r in model.routes if r.method in ("PATCH", "PUT")
                         and f"{e.key}.update" in r.handler_calls), None)
    add_field_tests(project, conv, e, col, via_api, create_route, update_route)
    if not via_api and create_route:
        project.notes.append(f"the request parsing of POST {create_route} was not extended (dlcm found no field list "
                             f"of the table there to add to): accept `{a.column}` there by hand if clients may set it")
    return f"add {table.qualified}.{a.column} {pg_type}" + ("" if a.nullable else " not null")


# --------------------------------------------------------------------------- new-table


def _new_table(project: Project, a: NewTable, now) -> str:
    model, config = project.model, project.config
    schema, tname = split_table(a.table)
    check_identifier(tname, "table", pattern=config.business_rules.table_name_pattern)
    if _find_table(model, a.table) is not None:
        raise ScaffoldError(f"table `{schema}.{tname}` already exists; use `add-field` to change it")
    if tname == singular(tname) and tname != kebab(tname).replace("-", "_") + "s":
        pass
    specs = parse_columns(model, config, tname, a.columns)
    version = next_version(model, now)
    stem = f"{version}_create_{tname}"
    up_path, down_path = migration_paths(model, config, stem)
    conv_sql = detect_sql_conventions(model, project.read)
    sql = new_table_sql(model, conv_sql, schema, tname, specs, stem, with_owner=a.owner)
    schema_after = replay_new(model, up_path, sql.up)
    table = schema_after.tables.get(f"{schema}.{tname}")
    if table is None:
        raise ScaffoldError("internal error: the generated migration does not create the table; please report this")
    project.create(up_path, sql.up)
    project.create(down_path, sql.down)
    if sql.owner is not None:
        project.owner_column = sql.owner.column  # type: ignore[attr-defined]
        project.owner_ref = sql.owner.ref_table  # type: ignore[attr-defined]
    for d in model.database_types:
        add_table(project, d.file, table)
    conv = detect(project)
    project.conv = conv  # type: ignore[attr-defined]
    _check_hono(project, conv)
    e = make_entity(project, conv, table, new=True)
    for path in (e.iface_file, e.sup_file, e.mem_file):
        if project.exists(path):
            raise ScaffoldError(f"{path} already exists")
    # repository methods
    parent = None
    if sql.owner is not None and sql.owner.ref_table in schema_after.tables:
        ptable = model.schema_.tables.get(sql.owner.ref_table)
        if ptable is not None:
            parent = make_entity(project, conv, ptable, new=False)
    methods = [RepoMethod("findById", "find_by_id", Param("id", "string"), "id")]
    if parent is not None:
        methods.append(RepoMethod(f"listBy{parent.E}", "list_by", Param(camel(sql.owner.column), "string"),
                                  sql.owner.column, parent=parent))
    else:
        methods.append(RepoMethod("list", "list"))
    methods.append(RepoMethod("create", "create"))
    with_update = bool([c for c in e.writable() if c.name != (sql.owner.column if sql.owner else None)])
    if with_update:
        methods.append(RepoMethod("update", "update"))
    methods.append(RepoMethod("delete", "delete"))
    types_file = add_aliases(project, conv, e)
    project.types_file = types_file  # type: ignore[attr-defined]
    write_interface(project, conv, e, methods, types_file)
    write_implementations(project, conv, e, methods, types_file)
    register(project, conv, e)
    # API
    seg = kebab(tname)
    root = f"/{seg}"
    eps = []
    mounted = router_files(project, conv)
    router_file = mounted.get(root) or posixpath.join(conv.routes_dir or "src/routes", f"{seg}.ts")
    create_fn, update_fn, parse_file = add_parsers(project, conv, e, router_file, with_update)
    parse_fns = {"create": create_fn, "update": update_fn, "file": parse_file}
    for m in methods:
        if m.kind == "find_by_id":
            eps.append(Endpoint("GET", f"{root}/:id", e, m, f"get{e.E}"))
        elif m.kind == "list":
            eps.append(Endpoint("GET", root, e, m, f"list{e.Es}"))
        elif m.kind == "create":
            eps.append(Endpoint("POST", root, e, m, f"create{e.E}", 201))
        elif m.kind == "update":
            eps.append(Endpoint("PATCH", f"{root}/:id", e, m, f"update{e.E}"))
        elif m.kind == "delete":
            eps.append(Endpoint("DELETE", f"{root}/:id", e, m, f"delete{e.E}", 204))
    own = []
    if parent is not None:
        m = next(m for m in methods if m.kind == "list_by")
        prefix = _prefix_of(project, conv, parent)
        own.append(Endpoint("GET", f"{prefix}/:id/{seg}", e, m, f"list{parent.E}{e.Es}"))
    add_handlers(project, conv, eps, parse_fns)
    if own:
        add_handlers(project, conv, own, parse_fns)
    if conv.client_types_file and e.wire not in _declared(project.doc(conv.client_types_file)):
        client_types(project, conv, e, with_update)
    add_client_methods(project, conv, eps + own, section=tname.replace("_", " "))
    if not add_client_cases(project, conv, eps + own) and conv.client_pkg is not None:
        project.notes.append("the client's tests have no `[name, method, path, body, invoke]` table: add tests of "
                             "the new client methods by hand")
    new_table_tests(project, conv, e, eps + own)
    return f"create {schema}.{tname} ({', '.join(table.columns)})"


def _prefix_of(project: Project, conv: Conventions, e: Entity) -> str:
    """The prefix the entity's own router is mounted at (`/users`)."""
    from collections import Counter

    mounted = router_files(project, conv)
    for cand in ("/" + kebab(e.name), "/" + e.name):
        if cand in mounted:
            return cand
    votes = Counter("/" + r.raw_path.strip("/").split("/")[0] for r in project.model.routes
                    if r.file != conv.app_file and r.handler_calls and r.handler_calls[0].startswith(f"{e.key}."))
    return votes.most_common(1)[0][0] if votes else "/" + kebab(e.name)


def _check_hono(project: Project, conv: Conventions) -> None:
    fw = {r.framework for r in project.model.routes if project.model.package_of(r.file) == conv.service}
    if fw and "hono" not in fw:
        raise ScaffoldError(f"the API uses {', '.join(sorted(fw))}; dlcm scaffold generates Hono routers only")


# --------------------------------------------------------------------------- api-endpoint

_SEG = re.compile(r"^(?::[A-Za-z_][A-Za-z0-9_]*|\{[A-Za-z_][A-Za-z0-9_]*\}|[a-z0-9][a-z0-9._-]*)$")


def normalise_path(path: str) -> str:
    if not path.startswith("/"):
        raise ScaffoldError(f"path `{path}` must start with `/`")
    segs = [s for s in path.strip("/").split("/")]
    if not segs or segs == [""]:
        raise ScaffoldError("path `/` is not an endpoint of a resource; give e.g. /products/by-sku/:sku")
    out = []
    for s in segs:
        if not _SEG.match(s):
            raise ScaffoldError(f"path segment `{s}` of `{path}` is not a lower-case word or a `:param`")
        out.append(":" + s[1:-1] if s.startswith("{") else s)
    return "/" + "/".join(out)


def _route_key(path: str) -> str:
    return "/" + "/".join("{}" if s.startswith(":") else s for s in path.strip("/").split("/"))


def _api_endpoint(project: Project, a: ApiEndpoint) -> str:
    model = project.model
    verb = a.method.upper()
    if verb not in HTTP_VERBS:
        raise ScaffoldError(f"HTTP method `{a.method}` is not one of {', '.join(HTTP_VERBS)}")
    path = normalise_path(a.path)
    key = _route_key(path)
    for r in model.routes:
        if r.method == verb and r.path == key:
            raise ScaffoldError(f"{verb} {r.raw_path} already exists ({r.file}:{r.line})")
    segs = path.strip("/").split("/")
    words = [s for s in segs if not s.startswith(":")]
    tables = {t.name: t for t in model.schema_.tables.values() if t.schema_ == "public"}
    if a.table:
        check_identifier(split_table(a.table)[1], "table")
        table = _find_table(model, a.table)
        if table is None:
            raise ScaffoldError(f"table `{a.table}` does not exist")
    else:
        cands = [snake(w) for w in reversed(words) if snake(w) in tables]
        if not cands:
            raise ScaffoldError(f"cannot tell which table {verb} {path} serves; pass --table")
        table = tables[cands[0]]
    if a.repository_method is not None and not re.match(r"^[a-z][A-Za-z0-9]*$", a.repository_method):
        raise ScaffoldError(f"--repository-method `{a.repository_method}` is not a camelCase method name")
    conv = detect(project)
    project.conv = conv  # type: ignore[attr-defined]
    _check_hono(project, conv)
    e = make_entity(project, conv, table, new=False)
    if e.repo is None:
        raise ScaffoldError(f"no repository interface serves {table.qualified}; scaffold the table's repository "
                            f"first (`new-table` does it for new tables)")
    m = _infer_method(project, conv, e, verb, segs, a.repository_method)
    existing = {x.name: x for x in e.repo.methods}
    new_method = m.name not in existing
    if not new_method:
        m.existing = existing[m.name]
        if m.kind not in ("existing",) and a.repository_method is not None:
            pass
    ep = Endpoint(verb, path, e, m, _client_name(e, m, verb, segs), 201 if m.kind == "create" else 200)
    if new_method and m.kind in ("create", "update"):
        ensure_alias(project, conv, e, "Insert" if m.kind == "create" else "Update")
    if new_method:
        if m.kind == "existing":
            raise ScaffoldError(f"`{e.iface}` has no method `{m.name}` and {verb} {path} does not say what it does; "
                                f"name an existing method or use a path like /{words[0]}/:id")
        add_interface_method(project, conv, e, m)
        add_impl_methods(project, conv, e, m)
    parse_fns = {"create": None, "update": None, "file": None}
    if m.kind in ("create", "update"):
        parse_fns.update(_existing_parsers(project, conv, e))
        if parse_fns.get(m.kind) is None:
            router = router_files(project, conv).get("/" + segs[0]) or posixpath.join(conv.routes_dir, segs[0] + ".ts")
            c, u, f = add_parsers(project, conv, e, router, m.kind == "update", m.kind == "create")
            parse_fns.update({m.kind: c or u, "file": f})
    add_handlers(project, conv, [ep], parse_fns)
    if conv.client_types_file and e.wire not in _declared(project.doc(conv.client_types_file)):
        client_types(project, conv, e, True)
    if m.kind in ("create", "update"):
        ensure_client_input(project, conv, e, m.kind)
    add_client_methods(project, conv, [ep], section=None)
    add_client_cases(project, conv, [ep])
    endpoint_tests(project, conv, ep, new_method)
    return f"{verb} {path} -> {e.iface}.{m.name}"


def _existing_parsers(project: Project, conv: Conventions, e: Entity) -> dict:
    out = {}
    if not conv.validation_file:
        return out
    doc = project.doc(conv.validation_file)
    for fn in doc.walk("function_declaration"):
        ret = fn.child_by_field_name("return_type")
        rt = doc.t(ret).lstrip(":").strip() if ret is not None else ""
        if rt == e.insert:
            out["create"] = doc.t(fn.child_by_field_name("name"))
        elif rt == e.update:
            out["update"] = doc.t(fn.child_by_field_name("name"))
    if out:
        out["file"] = conv.validation_file
    return out


def _infer_method(project: Project, conv: Conventions, e: Entity, verb: str, segs: list[str],
                  name: str | None) -> RepoMethod:
    model = project.model
    t = e.table
    tseg = kebab(e.name)
    m: RepoMethod | None = None
    # /<table>, /<table>/:id, /<table>/by-<col>/:x, /<parent>/:id/<table>
    if segs[0] in (tseg, e.name):
        rest = segs[1:]
        if not rest:
            m = RepoMethod("list", "list") if verb == "GET" else RepoMethod("create", "create") if verb == "POST" else None
        elif len(rest) == 1 and rest[0].startswith(":"):
            m = {"GET": RepoMethod("findById", "find_by_id", Param("id", "string"), "id"),
                 "PATCH": RepoMethod("update", "update"), "PUT": RepoMethod("update", "update"),
                 "DELETE": RepoMethod("delete", "delete")}.get(verb)
        elif len(rest) == 2 and rest[0].startswith("by-") and rest[1].startswith(":") and verb == "GET":
            col = _column_for(t, rest[0][3:], rest[1][1:])
            if col is None:
                raise ScaffoldError(f"{e.name} has no column `{snake(rest[0][3:])}` to look up by")
            c = t.columns[col]
            if enum_key(model, c.type) is not None or c.type.endswith("[]"):
                raise ScaffoldError(f"looking {e.name} up by `{col}` ({c.type}) needs the path value validated "
                                    f"against the type; dlcm scaffold only generates lookups by text, number and "
                                    f"uuid columns")
            unique = c.unique or c.primary_key or any(
                con.kind in ("unique", "primary_key") and con.columns == [col] for con in t.constraints)
            p = col_param(project, t, col)
            if unique:
                m = RepoMethod(f"findBy{pascal(col)}", "find_by", p, col)
            else:
                m = RepoMethod(f"listBy{pascal(col)}", "list_by", p, col)
    elif len(segs) == 3 and segs[1].startswith(":") and segs[2] in (tseg, e.name) and verb == "GET":
        parent_table = next((x for x in model.schema_.tables.values() if kebab(x.name) == segs[0] or x.name == segs[0]),
                            None)
        if parent_table is not None:
            fk = next((c for c in t.columns.values() if c.references and
                       c.references.rsplit(".", 1)[0] == parent_table.qualified), None)
            if fk is not None:
                parent = make_entity(project, conv, parent_table, new=False)
                if parent.repo is not None and any(x.name == "findById" for x in parent.repo.methods):
                    m = RepoMethod(f"listBy{parent.E}", "list_by", Param(camel(fk.name), "string"), fk.name,
                                   parent=parent)
                else:
                    m = RepoMethod(f"listBy{pascal(fk.name)}", "list_by", Param(camel(fk.name), "string"), fk.name)
    if name is not None:
        if m is None:
            m = RepoMethod(name, "existing")
        else:
            m.name = name
        existing = next((x for x in e.repo.methods if x.name == name), None) if e.repo else None
        if existing is not None and m.kind != "existing":
            # an existing method with the given name: call it as it is
            m.existing = existing
    if m is None:
        raise ScaffoldError(f"cannot tell what {verb} /{'/'.join(segs)} does with {e.name}: use /{tseg}, "
                            f"/{tseg}/:id, /{tseg}/by-<column>/:value or /<parent>/:id/{tseg}, or pass "
                            f"--repository-method with an existing method of {e.iface}")
    return m


def _column_for(t: Table, word: str, param: str) -> str | None:
    for cand in (snake(word), snake(param), snake(word) + "_id"):
        if cand in t.columns:
            return cand
    return None


def _client_name(e: Entity, m: RepoMethod, verb: str, segs: list[str]) -> str:
    if m.kind == "find_by_id":
        return f"get{e.E}"
    if m.kind == "find_by":
        return f"get{e.E}By{pascal(m.column)}"
    if m.kind == "list":
        return f"list{e.Es}"
    if m.kind == "list_by":
        if m.parent is not None:
            return f"list{m.parent.E}{e.Es}"
        return f"list{e.Es}By{pascal(m.column)}"
    if m.kind == "create":
        return f"create{e.E}"
    if m.kind == "update":
        return f"update{e.E}"
    if m.kind == "delete":
        return f"delete{e.E}"
    return camel(verb.lower() + "_" + "_".join(s for s in segs if not s.startswith(":")))
