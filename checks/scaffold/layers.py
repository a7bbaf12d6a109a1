"""new-table and api-endpoint, TypeScript side: repository interface and both implementations,
registry, route handlers and their mounting, request validation, the typed client and its
types, and the tests (Memory repository unit tests, `app.request(...)` integration tests).

Generated code is written in the canonical style of the templates and restyled to the target
package's style; edits of existing files are positioned with tree-sitter.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field

from ..model import Column, Method, RepositoryInterface, Route, Table
from .conventions import Conventions, Import, alias_name, entity_name, registry_key
from .errors import ScaffoldError
from .fieldprop import sample_value
from .names import camel, human, kebab, pascal, plural, singular, snake
from .project import Project
from .sqlgen import _ENV, base_type, enum_key, render, ts_default
from .style import reindent
from .tsedit import (Doc, Node, add_import, imports, insert_member, member_name, members, separator_after,
                     string_value)
from .typesgen import gen_ts_type, insert_optional

AUDIT = ("created_at", "updated_at")


# --------------------------------------------------------------------------- entities and methods


@dataclass
class Entity:
    table: Table
    E: str  # "Coupon"
    key: str  # registry key "coupons"
    row: str
    insert: str
    update: str
    iface: str
    sup_cls: str
    mem_cls: str
    iface_file: str
    sup_file: str
    mem_file: str
    wire: str
    create_input: str
    update_input: str
    new: bool = False
    repo: RepositoryInterface | None = None

    @property
    def name(self) -> str:
        return self.table.name

    @property
    def var(self) -> str:
        return camel(self.E)

    @property
    def vars(self) -> str:
        return camel(plural(snake(self.E)))

    @property
    def Es(self) -> str:
        return pascal(plural(snake(self.E)))

    def writable(self) -> list[Column]:
        return [c for c in self.table.columns.values()
                if c.name != "id" and c.name not in AUDIT and not c.generated and not c.identity and not c.primary_key]


def make_entity(project: Project, conv: Conventions, table: Table, new: bool) -> Entity:
    E = entity_name(project, conv, table.name)
    repo = next((r for r in project.model.repositories if table.name in r.tables), None)
    iface = repo.name if repo is not None else f"{E}{conv.repo_suffix}"
    sup = next((i for i in project.model.implementations if i.interface == iface and i.flavour == "supabase"), None)
    mem = next((i for i in project.model.implementations if i.interface == iface and i.flavour == "memory"), None)
    k = kebab(E)
    return Entity(
        table=table, E=E, key=registry_key(conv, table.name),
        row=alias_name(conv, table.name, "Row", E), insert=alias_name(conv, table.name, "Insert", E),
        update=alias_name(conv, table.name, "Update", E),
        iface=iface, sup_cls=sup.name if sup else f"{conv.supabase_prefix}{E}{conv.repo_suffix}",
        mem_cls=mem.name if mem else f"{conv.memory_prefix}{E}{conv.repo_suffix}",
        iface_file=repo.file if repo else conv.interface_file.format(kebab=k),
        sup_file=sup.file if sup else conv.supabase_file.format(kebab=k),
        mem_file=mem.file if mem else conv.memory_file.format(kebab=k),
        wire=E, create_input=conv.create_input.format(E=E), update_input=conv.update_input.format(E=E),
        new=new, repo=repo,
    )


@dataclass
class Param:
    name: str
    type: str


@dataclass
class RepoMethod:
    name: str
    kind: str  # find_by_id | find_by | list | list_by | create | update | delete | existing
    param: Param | None = None
    column: str | None = None
    existing: Method | None = None
    parent: Entity | None = None  # list_by an owner/parent: the parent's entity


@dataclass
class Endpoint:
    verb: str
    path: str  # full raw path, params as `:name`
    entity: Entity
    method: RepoMethod
    client_name: str
    status: int = 200

    @property
    def params(self) -> list[str]:
        return [s[1:] for s in self.path.split("/") if s.startswith(":")]


def col_param(project: Project, table: Table, column: str) -> Param:
    t = gen_ts_type(project.model, table.columns[column].type, "'")
    if t.startswith("Database["):
        t = "string"
    return Param(camel(column), t)


# --------------------------------------------------------------------------- helpers


def _q(project: Project, path: str) -> str:
    return project.style(path).quote


def _import_line(project: Project, in_file: str, imp: Import | None = None, names: list[str] | None = None,
                 file: str | None = None, module: str | None = None, type_only: bool = False) -> str:
    names = sorted(set(names or [imp.name.split("<")[0]]), key=str.lower)
    if imp is not None:
        file = imp.file or None
        module = imp.module or module
        type_only = imp.type_only
    mod = project.module(in_file, file) if file else module
    return f"import {'type ' if type_only else ''}{{ {', '.join(names)} }} from '{mod}'"


def _ensure_import(project: Project, doc: Doc, names: list[str], file: str | None = None, module: str | None = None,
                   type_only: bool = False) -> None:
    from .conventions import resolve

    mod = project.module(doc.path, file) if file else module
    if file:
        for imp in imports(doc):  # `./repositories` for `./repositories/index.ts`: keep the file's spelling
            if imp.type_only == type_only and imp.named is not None and resolve(doc.path, imp.module, project.exists) == file:
                mod = imp.module
                break
    st = project.style(doc.path)
    add_import(doc, mod, names, type_only, quote=st.quote, semi=st.semicolon, width=st.width, indent=st.indent)


def _class_body(doc: Doc, name: str) -> Node | None:
    for cls in doc.walk("class_declaration"):
        if doc.t(cls.child_by_field_name("name")) == name:
            return cls.child_by_field_name("body")
    return None


def _type_body(doc: Doc, name: str) -> Node | None:
    for decl in doc.walk({"interface_declaration", "type_alias_declaration"}):
        if doc.t(decl.child_by_field_name("name")) == name:
            return decl.child_by_field_name("body") or decl.child_by_field_name("value")
    return None


def _append_block(doc: Doc, body: Node, text: str) -> None:
    """A method (multi-line, canonical 2-space indented) after the last member of a class body."""
    ms = [m for m in body.named_children if m.type != "comment"]
    anchor = ms[-1] if ms else body.children[0]
    indent = doc.indent_of(ms[-1]) if ms else doc.indent_of(body) + "  "
    text = reindent(_dedent(text), indent)
    doc.insert(anchor.end_byte, "\n\n" + text if ms else "\n" + text + "\n")


def _dedent(text: str) -> str:
    import textwrap

    return textwrap.dedent(text).strip("\n")


# --------------------------------------------------------------------------- type aliases


def _alias_lines(project: Project, conv: Conventions, path: str, e: Entity) -> tuple[list[str], list[str]]:
    q = _q(project, path)
    width = project.style(path).width
    ins = [c.name for c in e.writable()]
    upd = [c for c in ins if c not in _owner_cols(project, e)]
    if conv.alias_style == "lookup":
        base = f"Database[{q}public{q}][{q}Tables{q}][{q}{e.name}{q}]"
        row_t, ins_t, upd_t = f"{base}[{q}Row{q}]", f"{base}[{q}Insert{q}]", f"{base}[{q}Update{q}]"
        helpers = ["Database"]
    else:
        row_t, ins_t, upd_t = f"Tables<{q}{e.name}{q}>", f"TablesInsert<{q}{e.name}{q}>", f"TablesUpdate<{q}{e.name}{q}>"
        helpers = ["Tables", "TablesInsert", "TablesUpdate"]

    def pick(name: str, target: str, cols: list[str]) -> str:
        union = " | ".join(f"{q}{c}{q}" for c in cols)
        one = f"export type {name} = Pick<{target}, {union}>"
        if len(one) <= width:
            return one
        return f"export type {name} = Pick<\n  {target},\n  {union}\n>"

    lines = [f"export type {e.row} = {row_t}", pick(e.insert, ins_t, ins)]
    if upd:
        lines.append(pick(e.update, upd_t, upd))
    return lines, helpers


def _owner_cols(project: Project, e: Entity) -> set[str]:
    owner = getattr(project, "owner_column", None)
    return {owner} if owner and owner in e.table.columns else set()


def add_aliases(project: Project, conv: Conventions, e: Entity) -> str:
    """Row/insert/update aliases of a new table; returns the file they are in."""
    target = conv.types_file or e.iface_file
    lines, helpers = _alias_lines(project, conv, target, e)
    text = "\n".join(lines)
    if conv.types_file:
        doc = project.doc(target)
        doc.insert(len(doc.data.rstrip(b"\n")), "\n\n" + project.code(target, text))
        if conv.database_types_file:
            _ensure_import(project, doc, helpers, file=conv.database_types_file, type_only=True)
    return target


def ensure_alias(project: Project, conv: Conventions, e: Entity, kind: str) -> None:
    """The insert ("Insert") or update ("Update") alias of an existing table, when it has none yet."""
    name = e.insert if kind == "Insert" else e.update
    path = conv.types_file or e.iface_file
    doc = project.doc(path)
    if name in _declared(doc):
        return
    lines, helpers = _alias_lines(project, conv, path, e)
    line = next(x for x in lines if x.startswith(f"export type {name} ="))
    from .conventions import table_alias

    last = None  # after the table's other aliases, where a person would put it
    for a in doc.walk("type_alias_declaration"):
        if table_alias(doc, a.child_by_field_name("value"))[1] == e.name or doc.t(a.child_by_field_name("name")) == e.row:
            last = a.parent if a.parent is not None and a.parent.type == "export_statement" else a
    pos = last.end_byte if last is not None else len(doc.data.rstrip(b"\n"))
    doc.insert(pos, "\n" + project.code(path, line))
    if conv.database_types_file and path != conv.database_types_file:
        _ensure_import(project, doc, [h for h in helpers if kind in h or h == "Database"], file=conv.database_types_file,
                       type_only=True)


def _has_update(e: Entity, project: Project) -> bool:
    return bool([c for c in e.writable() if c.name not in _owner_cols(project, e)])


# --------------------------------------------------------------------------- repository interface


def method_signature(conv: Conventions, e: Entity, m: RepoMethod) -> tuple[str, list[str]]:
    """(`findById(id: string): Promise<Coupon | null>`, type names used), in the member style of the
    entity's interface (the repository's majority for a new one)."""
    R = e.row
    if m.kind in ("find_by_id", "find_by"):
        p = m.param or Param("id", "string")
        params, ret, types = f"{p.name}: {p.type}", f"{R} | null", [R]
    elif m.kind in ("list", "list_by"):
        params = f"{m.param.name}: {m.param.type}" if m.param else ""
        ret, types = f"{R}[]", [R]
    elif m.kind == "create":
        params, ret, types = f"input: {e.insert}", R, [R, e.insert]
    elif m.kind == "update":
        params, ret, types = f"id: string, patch: {e.update}", f"{R} | null", [R, e.update]
    elif m.kind == "delete":
        params, ret, types = "id: string", "boolean", []
    else:
        raise ValueError(m.kind)
    kind = conv.method_kind
    if e.repo is not None and e.repo.methods:
        from collections import Counter

        kind = Counter(x.kind for x in e.repo.methods).most_common(1)[0][0]
    if kind in ("property", "arrow"):
        return f"{m.name}: ({params}) => Promise<{ret}>", types
    return f"{m.name}({params}): Promise<{ret}>", types


def write_interface(project: Project, conv: Conventions, e: Entity, methods: list[RepoMethod], types_file: str) -> None:
    sigs, types = [], set()
    for m in methods:
        s, ts = method_signature(conv, e, m)
        sigs.append(s)
        types.update(ts)
    owner = getattr(project, "owner_ref", None)
    doc = f"{human(e.name)[:1].upper()}{human(e.name)[1:]} (`{e.table.qualified}`)" + (
        f", each belonging to a row of `{owner}`." if owner else ".")
    if types_file == e.iface_file:
        lines, helpers = _alias_lines(project, conv, e.iface_file, e)
        head = _import_line(project, e.iface_file, names=helpers, file=conv.database_types_file, type_only=True)
        text = render("repository_interface.ts.j2", type_imports=[], types_module="", doc=doc, kind=conv.interface_kind,
                      name=e.iface, methods=sigs)
        text = head + "\n\n" + "\n".join(lines) + "\n" + text.split("\n", 1)[1]
    else:
        text = render("repository_interface.ts.j2", type_imports=sorted(types, key=str.lower),
                      types_module=project.module(e.iface_file, types_file), doc=doc, kind=conv.interface_kind,
                      name=e.iface, methods=sigs)
    project.create(e.iface_file, project.code(e.iface_file, text))


def add_interface_method(project: Project, conv: Conventions, e: Entity, m: RepoMethod) -> None:
    doc = project.doc(e.iface_file)
    body = _type_body(doc, e.iface)
    if body is None:
        raise ScaffoldError(f"cannot find `{e.iface}` in {e.iface_file}")
    sig, types = method_signature(conv, e, m)
    sig = project.code(e.iface_file, f"type X = {{\n  {sig}\n}}").split("\n")[1].strip()
    if sig.endswith(";"):
        sig = sig[:-1]
    insert_member(doc, body, sig)
    _import_types(project, doc, e, types, conv)


def _import_types(project: Project, doc: Doc, e: Entity, types: list[str], conv: Conventions) -> None:
    have = {n for imp in imports(doc) for n in imp.names}
    missing = [t for t in types if t not in have and t not in _declared(doc)]
    if missing:
        src = conv.types_file or e.iface_file
        if src != doc.path:
            _ensure_import(project, doc, missing, file=src, type_only=True)


def _declared(doc: Doc) -> set[str]:
    return {doc.t(n.child_by_field_name("name")) for n in doc.walk({"type_alias_declaration", "interface_declaration",
                                                                     "class_declaration"})}


# --------------------------------------------------------------------------- implementations


def _supabase_method(project: Project, conv: Conventions, e: Entity, m: RepoMethod, path: str) -> str:
    mod = _ENV.get_template("supabase_methods.ts.j2").module
    q = f"this.{conv.db_param}"
    err = f"{conv.error_fn.name}(error)" if conv.error_fn else "error"
    width = project.style(path).width
    select = "'*'" if conv.select_all or True else "'*'"
    order = "created_at" if "created_at" in e.table.columns else None
    if m.kind == "find_by_id":
        return mod.find_one(m.name, q, e.name, "id", Param("id", "string"), e.row, err, width, select)
    if m.kind == "find_by":
        return mod.find_one(m.name, q, e.name, m.column, m.param, e.row, err, width, select)
    if m.kind == "list":
        return mod.list(m.name, q, e.name, None, None, order, e.row, err, width, select)
    if m.kind == "list_by":
        return mod.list(m.name, q, e.name, m.param, m.column, order, e.row, err, width, select)
    if m.kind == "create":
        return mod.create(m.name, q, e.name, e.insert, e.row, err, width, select)
    if m.kind == "update":
        return mod.update(m.name, q, e.name, e.update, e.row, err, width, select)
    if m.kind == "delete":
        return mod.delete(m.name, q, e.name, err, width)
    raise ValueError(m.kind)


def _memory_method(project: Project, conv: Conventions, e: Entity, m: RepoMethod) -> tuple[str, bool]:
    """(method text, uses the conflict error)."""
    mod = _ENV.get_template("memory_methods.ts.j2").module
    order = "created_at" if "created_at" in e.table.columns else None
    if m.kind == "find_by_id":
        return mod.find_by_id(m.name, e.var, e.row), False
    if m.kind == "find_by":
        return mod.find_one(m.name, e.var, m.column, m.param, e.row), False
    if m.kind in ("list", "list_by"):
        return mod.list(m.name, e.var, m.param, m.column, order, e.row), False
    if m.kind == "create":
        fields = []
        has_now = False
        insert_cols = {c.name for c in e.writable()}
        for c in e.table.columns.values():
            t = gen_ts_type(project.model, c.type, "'")
            d = ts_default(c, t)
            if d == "now":
                has_now = True
            if c.name in insert_cols:
                if insert_optional(c):
                    fields.append((c.name, f"input.{c.name} ?? {d if d is not None else 'null'}"))
                else:
                    fields.append((c.name, f"input.{c.name}"))
            else:
                fields.append((c.name, d if d is not None else "null"))
        unique = [c.name for c in e.table.columns.values() if c.unique and c.name in insert_cols and not c.nullable]
        conflict = conv.conflict_error.name if conv.conflict_error else None
        if conflict is None:
            unique = []
        return mod.create(m.name, e.var, e.insert, e.row, unique, conflict, fields, has_now), bool(unique)
    if m.kind == "update":
        fields = []
        for c in e.writable():
            if c.name in _owner_cols(project, e):
                continue
            if c.nullable:
                fields.append((c.name, f"patch.{c.name} !== undefined ? patch.{c.name} : current.{c.name}"))
            else:
                fields.append((c.name, f"patch.{c.name} ?? current.{c.name}"))
        touch = "updated_at" if "updated_at" in e.table.columns else None
        return mod.update(m.name, e.var, e.update, e.row, fields, touch), False
    if m.kind == "delete":
        return mod.delete(m.name), False
    raise ValueError(m.kind)


def write_implementations(project: Project, conv: Conventions, e: Entity, methods: list[RepoMethod],
                          types_file: str) -> None:
    types = set()
    for m in methods:
        types.update(method_signature(conv, e, m)[1])
    # Supabase
    path = e.sup_file
    lines = []
    if conv.error_fn is not None:
        lines.append(_import_line(project, path, conv.error_fn))
    lines.append(_import_line(project, path, names=[e.iface], file=e.iface_file, type_only=True))
    if types - {e.iface}:
        lines.append(_import_line(project, path, names=sorted(types), file=types_file, type_only=True))
    db_type = conv.db_type.name if conv.db_type else "SupabaseClient<Database>"
    if conv.db_type is not None:
        lines.append(_import_line(project, path, conv.db_type))
    else:
        lines.append("import type { SupabaseClient } from '@supabase/supabase-js'")
        lines.append(_import_line(project, path, names=["Database"], file=conv.database_types_file, type_only=True))
    text = render("supabase_repository.ts.j2", import_lines=_sorted_imports(lines), class_name=e.sup_cls,
                  interface=e.iface, db=conv.db_param, db_type=db_type,
                  methods=[_supabase_method(project, conv, e, m, path) for m in methods])
    project.create(path, project.code(path, text))
    # Memory
    path = e.mem_file
    bodies, conflict = [], False
    for m in methods:
        b, c = _memory_method(project, conv, e, m)
        bodies.append(b)
        conflict = conflict or c
    lines = []
    if conflict:
        lines.append(_import_line(project, path, conv.conflict_error))
    lines.append(_import_line(project, path, names=[e.iface], file=e.iface_file, type_only=True))
    lines.append(_import_line(project, path, names=sorted(types | {e.row}), file=types_file, type_only=True))
    text = render("memory_repository.ts.j2", import_lines=_sorted_imports(lines), class_name=e.mem_cls,
                  interface=e.iface, row_type=e.row, seed=conv.memory_seed, var=e.var, things=human(e.name),
                  methods=bodies)
    project.create(path, project.code(path, text))


def _sorted_imports(lines: list[str]) -> list[str]:
    def key(line: str):
        mod = line.rsplit("from ", 1)[-1].strip("'\";")
        return (1 if mod.startswith(".") else 0, mod)

    return sorted(dict.fromkeys(lines), key=key)


def add_impl_methods(project: Project, conv: Conventions, e: Entity, m: RepoMethod) -> None:
    for flavour, path, cls in (("supabase", e.sup_file, e.sup_cls), ("memory", e.mem_file, e.mem_cls)):
        if not project.exists(path):
            raise ScaffoldError(f"`{e.iface}` has no {flavour} implementation ({path}); add it first")
        doc = project.doc(path)
        body = _class_body(doc, cls)
        if body is None:
            raise ScaffoldError(f"cannot find class `{cls}` in {path}")
        if flavour == "supabase":
            text = _supabase_method(project, conv, e, m, path)
            # the query builder is whatever the class calls `.from(...)` on
            db = _db_expr(doc, body) or f"this.{conv.db_param}"
            text = text.replace(f"this.{conv.db_param}", db)
        else:
            text, _ = _memory_method(project, conv, e, m)
            store = _memory_store(doc, body, e)
            if store is None:
                raise ScaffoldError(f"cannot tell where `{cls}` keeps its rows (a `Map` field); add "
                                    f"`{m.name}` to it by hand")
            text = text.replace("this.rows", f"this.{store}")
        _append_block(doc, body, project.member_code(path, text))
        _import_types(project, doc, e, method_signature(conv, e, m)[1], conv)


def _db_expr(doc: Doc, body: Node) -> str | None:
    for call in doc.walk("call_expression", body):
        fn = call.child_by_field_name("function")
        if fn is not None and fn.type == "member_expression" and doc.t(fn.child_by_field_name("property")) == "from":
            obj = fn.child_by_field_name("object")
            if obj is not None and doc.t(obj).startswith("this."):
                return doc.t(obj)
    return None


def _memory_store(doc: Doc, body: Node, e: Entity) -> str | None:
    """The `Map<string, Row>` field of a Memory repository holding the table's rows."""
    best = None
    for f in body.named_children:
        if f.type != "public_field_definition":
            continue
        name = member_name(doc, f)
        value = f.child_by_field_name("value")
        text = doc.t(value) if value is not None else ""
        if "Map<string, " in text:
            inner = text.split("Map<string, ", 1)[1].split(">", 1)[0]
            if inner == e.row:
                return name
            best = best or name
    return best


# --------------------------------------------------------------------------- registry


def register(project: Project, conv: Conventions, e: Entity) -> None:
    if not conv.registry_file:
        project.notes.append(f"no registry of repositories found: wire `{e.sup_cls}` and `{e.mem_cls}` where the "
                             f"app creates its repositories")
        return
    path = conv.registry_file
    doc = project.doc(path)
    body = _type_body(doc, conv.registry_name)
    insert_member(doc, body, f"{e.key}: {e.iface}")
    used = set()
    for fn in doc.walk({"function_declaration", "arrow_function"}):
        for obj in doc.walk("object", fn):
            ms = members(obj)
            keys = {member_name(doc, m) for m in ms}
            if not keys or not keys <= set(conv.registry_keys.values()) | {e.key} or len(keys) < 1:
                continue
            flavour = None
            for m in ms:
                v = m.child_by_field_name("value") if m.type == "pair" else None
                if v is not None and v.type == "new_expression":
                    cls = doc.t(v.child_by_field_name("constructor"))
                    impl = next((i for i in project.model.implementations if i.name == cls), None)
                    if impl is not None:
                        flavour = impl.flavour
                        sample_args = doc.t(v.child_by_field_name("arguments"))
            if flavour == "supabase":
                insert_member(doc, obj, f"{e.key}: new {e.sup_cls}{sample_args}")
                used.add("supabase")
            elif flavour == "memory":
                insert_member(doc, obj, f"{e.key}: new {e.mem_cls}()")
                used.add("memory")
    _ensure_import(project, doc, [e.iface], file=e.iface_file, type_only=True)
    if "supabase" in used:
        _ensure_import(project, doc, [e.sup_cls], file=e.sup_file)
    if "memory" in used:
        _ensure_import(project, doc, [e.mem_cls], file=e.mem_file)
    # `export type { UserRepository } from './user-repository'`
    reexports = [n for n in doc.root.named_children if n.type == "export_statement" and n.child_by_field_name("source")
                 and "Repository" in doc.t(n) and "*" not in doc.t(n)]
    if reexports:
        mod = project.module(path, e.iface_file)
        q = _q(project, path)
        line = f"export type {{ {e.iface} }} from {q}{mod}{q}{project.style(path).semicolon}"
        after = None
        for n in reexports:
            if string_value(doc, n.child_by_field_name("source")) < mod:
                after = n
        if after is None:
            doc.insert(doc.line_start(reexports[0].start_byte), line + "\n")
        else:
            doc.insert(after.end_byte, "\n" + line)
    if "memory" not in used or "supabase" not in used:
        project.notes.append(f"{path}: could not find where {'Memory' if 'memory' not in used else 'Supabase'} "
                             f"repositories are created; add `{e.key}` there")


# --------------------------------------------------------------------------- validation


VALIDATION_HELPERS = {
    "str": ("string", """function {name}(body: {Body}, key: string): string {
  const value = body[key]
  if (typeof value !== 'string' || value.trim() === '') throw {err}(`${key} must be a non-empty string`)
  return value
}"""),
    "opt_str": ("string | null | undefined", """function {name}(body: {Body}, key: string): string | null | undefined {
  const value = body[key]
  if (value === undefined || value === null) return value
  if (typeof value !== 'string') throw {err}(`${key} must be a string or null`)
  return value
}"""),
    "int": ("number", """function {name}(body: {Body}, key: string): number {
  const value = body[key]
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw {err}(`${key} must be an integer`)
  return value
}"""),
    "opt_int": ("number | null | undefined", """function {name}(body: {Body}, key: string): number | null | undefined {
  const value = body[key]
  if (value === undefined || value === null) return value
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw {err}(`${key} must be an integer or null`)
  return value
}"""),
    "num": ("number", """function {name}(body: {Body}, key: string): number {
  const value = body[key]
  if (typeof value !== 'number' || !Number.isFinite(value)) throw {err}(`${key} must be a number`)
  return value
}"""),
    "opt_num": ("number | null | undefined", """function {name}(body: {Body}, key: string): number | null | undefined {
  const value = body[key]
  if (value === undefined || value === null) return value
  if (typeof value !== 'number' || !Number.isFinite(value)) throw {err}(`${key} must be a number or null`)
  return value
}"""),
    "bool": ("boolean", """function {name}(body: {Body}, key: string): boolean {
  const value = body[key]
  if (typeof value !== 'boolean') throw {err}(`${key} must be true or false`)
  return value
}"""),
    "opt_bool": ("boolean | null | undefined", """function {name}(body: {Body}, key: string): boolean | null | undefined {
  const value = body[key]
  if (value === undefined || value === null) return value
  if (typeof value !== 'boolean') throw {err}(`${key} must be true, false or null`)
  return value
}"""),
    "json": ("Json", """function {name}(body: {Body}, key: string): Json {
  const value = body[key]
  if (value === undefined) throw {err}(`${key} is required`)
  return value as Json
}"""),
    "opt_json": ("Json | undefined", """function {name}(body: {Body}, key: string): Json | undefined {
  return body[key] as Json | undefined
}"""),
    "enum": ("T", """function {name}<T extends string>(body: {Body}, key: string, allowed: readonly T[]): T {
  const value = body[key]
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw {err}(`${key} must be one of ${allowed.join(', ')}`)
  }
  return value as T
}"""),
    "opt_enum": ("T | null | undefined", """function {name}<T extends string>(body: {Body}, key: string, allowed: readonly T[]): T | null | undefined {
  const value = body[key]
  if (value === undefined || value === null) return value
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw {err}(`${key} must be one of ${allowed.join(', ')} or null`)
  }
  return value as T
}"""),
    "str_list": ("string[]", """function {name}(body: {Body}, key: string): string[] {
  const value = body[key]
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
    throw {err}(`${key} must be an array of strings`)
  }
  return value
}"""),
    "opt_str_list": ("string[] | null | undefined", """function {name}(body: {Body}, key: string): string[] | null | undefined {
  const value = body[key]
  if (value === undefined || value === null) return value
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
    throw {err}(`${key} must be an array of strings or null`)
  }
  return value
}"""),
    "num_list": ("number[]", """function {name}(body: {Body}, key: string): number[] {
  const value = body[key]
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'number' && Number.isFinite(v))) {
    throw {err}(`${key} must be an array of numbers`)
  }
  return value
}"""),
    "opt_num_list": ("number[] | null | undefined", """function {name}(body: {Body}, key: string): number[] | null | undefined {
  const value = body[key]
  if (value === undefined || value === null) return value
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'number' && Number.isFinite(v))) {
    throw {err}(`${key} must be an array of numbers or null`)
  }
  return value
}"""),
}
_HELPER_NAMES = {"str": "str", "opt_str": "optStr", "int": "int", "opt_int": "optInt", "num": "num",
                 "opt_num": "optNum", "bool": "bool", "opt_bool": "optBool", "json": "json", "opt_json": "optJson",
                 "enum": "oneOf", "opt_enum": "optOneOf", "str_list": "strList", "opt_str_list": "optStrList",
                 "num_list": "numList", "opt_num_list": "optNumList"}


@dataclass
class Validation:
    file: str
    err: str  # `new ValidationError` / `new HTTPException(400, ...)` builder
    body_fn: str
    body_type: str
    helpers: dict[str, str] = field(default_factory=dict)
    new_helpers: list[str] = field(default_factory=list)
    imports: list[tuple[list[str], str, bool]] = field(default_factory=list)  # (names, file, type_only)

    def helper(self, kind: str, declared: set[str]) -> str:
        if kind in self.helpers:
            return self.helpers[kind]
        name = _HELPER_NAMES[kind]
        while name in declared:
            name += "Value"
        _, body = VALIDATION_HELPERS[kind]
        self.new_helpers.append(body.replace("{name}", name).replace("{Body}", self.body_type).replace("{err}", self.err))
        self.helpers[kind] = name
        declared.add(name)
        return name


def _col_kind(project: Project, c: Column) -> str:
    t = gen_ts_type(project.model, c.type)
    if t.startswith("Database["):
        return "other" if t.endswith("[]") else "enum"
    if t.endswith("[]"):
        return {"string[]": "str_list", "number[]": "num_list"}.get(t, "other")
    if t == "number":
        return "int" if base_type(c.type) in ("smallint", "integer", "bigint") else "num"
    if t == "boolean":
        return "bool"
    if t == "Json":
        return "json"
    return "str"


def _parse_expr(project: Project, v: Validation, declared: set[str], c: Column, required: bool, q: str) -> str:
    kind = _col_kind(project, c)
    extra = ""
    if kind == "enum":
        values = project.model.schema_.enums[enum_key(project.model, c.type)].values
        extra = ", " + _enum_values(project, v, c, values, q)
    elif kind == "other":
        raise ScaffoldError(f"column `{c.name}` ({c.type}): request validation for this type is not generated; "
                            f"use a text, number, boolean, json, enum or text[]/number[] column, or write the "
                            f"parser by hand")
    if required:
        return f"{v.helper(kind, declared)}(body, {q}{c.name}{q}{extra})"
    if c.nullable:
        return f"{v.helper('opt_' + kind, declared)}(body, {q}{c.name}{q}{extra})"
    # not null with a default: absent means "use the default"
    return f"{q}{c.name}{q} in body ? {v.helper(kind, declared)}(body, {q}{c.name}{q}{extra}) : undefined"


def _enum_values(project: Project, v: Validation, c: Column, values: list[str], q: str) -> str:
    """`Constants.public.Enums.order_status` when the generated types export it, else the literal list."""
    schema, name = enum_key(project.model, c.type).split(".", 1)
    types_file = getattr(project, "conv", None) and project.conv.database_types_file
    text = project.read(types_file) if types_file else None
    if text and "export const Constants" in text and f"{name}:" in text:
        v.imports.append((["Constants"], types_file, False))
        return f"Constants.{schema}.Enums.{name}"
    return "[" + ", ".join(f"{q}{x}{q}" for x in values) + "] as const"


def validation_for(project: Project, conv: Conventions, router_file: str) -> Validation:
    if conv.validation_file and conv.body_fn and conv.validation_error:
        return Validation(conv.validation_file, f"new {conv.validation_error}", conv.body_fn, conv.body_type,
                          helpers=dict(conv.helpers))
    # no validation module: parsers go into the router file and answer 400 through Hono's HTTPException
    return Validation(router_file, "badRequest", "object", "Record<string, unknown>")


_FALLBACK_PRELUDE = """function badRequest(message: string): HTTPException {
  return new HTTPException(400, { message })
}

function object(value: unknown): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw badRequest('expected a JSON object')
  return value as Record<string, unknown>
}"""


def add_parsers(project: Project, conv: Conventions, e: Entity, router_file: str,
                with_update: bool, with_create: bool = True) -> tuple[str | None, str | None, str]:
    """`parseNew<E>` / `parse<E>Patch` in the validation module; returns (create fn, update fn, file)."""
    v = validation_for(project, conv, router_file)
    path = v.file
    q = "'"
    in_router = path == router_file
    doc = None if in_router else project.doc(path)
    declared = {"badRequest", "object"} if in_router else \
        {doc.t(n.child_by_field_name("name")) for n in doc.walk("function_declaration")}
    create_fn = f"parseNew{e.E}" if with_create else None
    update_fn = f"parse{e.E}Patch" if with_update else None
    for fn in (create_fn, update_fn):
        if fn and fn in declared:
            raise ScaffoldError(f"{path} already has a function `{fn}`")
    lines = [f"export function {create_fn}(value: unknown): {e.insert} {{",
             f"  const body = {v.body_fn}(value)"]
    checks, fields = [], []
    for c in e.writable():
        required = not insert_optional(c)
        fields.append(f"    {c.name}: {_parse_expr(project, v, declared, c, required, q)},")
        if base_type(c.type) == "uuid" and conv.uuid_fn and not in_router:
            cond = f"!{conv.uuid_fn}(input.{c.name})" if required else \
                f"typeof input.{c.name} === 'string' && !{conv.uuid_fn}(input.{c.name})"
            checks.append(f"  if ({cond}) throw {v.err}('{c.name} must be a UUID')")
    lines.append(f"  const input: {e.insert} = {{")
    lines.extend(fields)
    lines.append("  }")
    lines.extend(checks)
    lines.append("  return input")
    lines.append("}")
    fns = ["\n".join(lines)] if create_fn else []
    if update_fn:
        ul = [f"export function {update_fn}(value: unknown): {e.update} {{",
              f"  const body = {v.body_fn}(value)",
              f"  const patch: {e.update} = {{}}"]
        for c in e.writable():
            if c.name in _owner_cols(project, e):
                continue
            expr = _parse_expr(project, v, declared, c, not c.nullable, q)
            ul.append(f"  if ('{c.name}' in body) patch.{c.name} = {expr}")
        ul.append(f"  if (Object.keys(patch).length === 0) throw {v.err}('nothing to update')")
        ul.append("  return patch")
        ul.append("}")
        fns.append("\n".join(ul))
    code = "\n\n".join(([_FALLBACK_PRELUDE] if in_router else []) + v.new_helpers + fns)
    needs_json = any("Json" in h for h in v.new_helpers)
    needs_db = "Database['public']" in code
    for names, file, type_only in v.imports:
        if not in_router:
            _ensure_import(project, doc, names, file=file, type_only=type_only)
    if in_router:
        project.router_extra = (code, needs_json, needs_db, v.imports)  # type: ignore[attr-defined]
        return create_fn, update_fn, path
    doc.insert(len(doc.data.rstrip(b"\n")), "\n\n" + project.code(path, code))
    if needs_json:
        _ensure_import(project, doc, ["Json"], file=conv.database_types_file, type_only=True)
    if needs_db:
        _ensure_import(project, doc, ["Database"], file=conv.database_types_file, type_only=True)
    via = _types_module_of(project, doc, conv) or conv.types_file or e.iface_file
    _ensure_import(project, doc, ([e.insert] if create_fn else []) + ([e.update] if update_fn else []), file=via,
                   type_only=True)
    return create_fn, update_fn, path


def _types_module_of(project: Project, doc: Doc, conv: Conventions) -> str | None:
    """Where this file already imports repository types from (e.g. `./repositories`)."""
    from .conventions import resolve

    for imp in imports(doc):
        target = resolve(doc.path, imp.module, project.exists)
        if target and target.startswith(conv.repos_dir) and imp.type_only:
            return target
    return None


# --------------------------------------------------------------------------- routes


def router_files(project: Project, conv: Conventions) -> dict[str, str]:
    """Mount prefix (`/users`) -> router file, from the model's routes."""
    out: dict[str, str] = {}
    for r in project.model.routes:
        if r.file == conv.app_file or project.model.package_of(r.file) != conv.service:
            continue
        seg = "/" + r.raw_path.strip("/").split("/")[0]
        out.setdefault(seg, r.file)
    return out


def router_var(doc: Doc) -> str | None:
    for decl in doc.walk("variable_declarator"):
        value = decl.child_by_field_name("value")
        root = value
        while root is not None and root.type == "call_expression":
            fn = root.child_by_field_name("function")
            root = fn.child_by_field_name("object") if fn is not None and fn.type == "member_expression" else None
        if root is not None and root.type == "new_expression":
            return doc.t(decl.child_by_field_name("name"))
    return None


def handler_text(project: Project, conv: Conventions, ep: Endpoint, sub: str, head: str, parse_fns: dict) -> str:
    c = conv.ctx_param
    repos = conv.repos_access
    e, m = ep.entity, ep.method
    v = e.var
    nf = f"'{singular(e.name)}_not_found'"
    body: list[str] = []
    pname = ep.params[-1] if ep.params else None
    arg = f"{c}.req.param('{pname}')" if pname else None
    if m.kind in ("find_by_id", "find_by") or (m.kind == "existing" and m.existing and "null" in (m.existing.returns or "")):
        if m.param is not None and m.param.type == "number":
            body += [f"const {m.param.name} = Number({arg})",
                     f"if (!Number.isSafeInteger({m.param.name})) return {c}.json({{ error: 'invalid_{snake(m.param.name)}' }}, 400)"]
            arg = m.param.name
        body += [f"const {v} = await {repos}.{e.key}.{m.name}({arg or ''})",
                 f"if (!{v}) return {c}.json({{ error: {nf} }}, 404)",
                 f"return {c}.json({v})"]
    elif m.kind == "list_by" and m.parent is not None:
        p = m.parent
        body += [f"const {p.var} = await {repos}.{p.key}.findById({arg})",
                 f"if (!{p.var}) return {c}.json({{ error: '{singular(p.name)}_not_found' }}, 404)",
                 f"return {c}.json(await {repos}.{e.key}.{m.name}({p.var}.id))"]
    elif m.kind in ("list", "list_by", "existing"):
        args = ", ".join(f"{c}.req.param('{p}')" for p in ep.params)
        body += [f"return {c}.json(await {repos}.{e.key}.{m.name}({args}))"]
    elif m.kind == "create":
        body += [f"const {v} = await {repos}.{e.key}.{m.name}({parse_fns['create']}(await {c}.req.json()))",
                 f"return {c}.json({v}, 201)"]
    elif m.kind == "update":
        body += [f"const patch = {parse_fns['update']}(await {c}.req.json())",
                 f"const {v} = await {repos}.{e.key}.{m.name}({arg}, patch)",
                 f"if (!{v}) return {c}.json({{ error: {nf} }}, 404)",
                 f"return {c}.json({v})"]
    elif m.kind == "delete":
        body += [f"const deleted = await {repos}.{e.key}.{m.name}({arg})",
                 f"if (!deleted) return {c}.json({{ error: {nf} }}, 404)",
                 f"return {c}.body(null, 204)"]
    inner = "\n".join("  " + line for line in body)
    return f"{head}.{ep.verb.lower()}('{sub}', async ({c}) => {{\n{inner}\n}})"


def add_handlers(project: Project, conv: Conventions, eps: list[Endpoint], parse_fns: dict,
                 new_router_for: Entity | None = None) -> list[str]:
    """Add handlers to the routers mounted at their prefixes (new router files where none is)."""
    if conv.app_file is None:
        raise ScaffoldError("cannot find where the API mounts its routers (`app.route('/prefix', router)`)")
    mounted = router_files(project, conv)
    by_file: dict[str, list[tuple[Endpoint, str]]] = {}
    new_files: dict[str, str] = {}
    for ep in eps:
        segs = ep.path.strip("/").split("/")
        prefix = "/" + segs[0]
        sub = "/" + "/".join(segs[1:])
        f = mounted.get(prefix)
        if f is None:
            f = new_files.get(prefix) or posixpath.join(conv.routes_dir or posixpath.dirname(conv.app_file) + "/routes",
                                                        f"{segs[0]}.ts")
            new_files[prefix] = f
        by_file.setdefault(f, []).append((ep, sub))
    for prefix, f in new_files.items():
        name = camel(prefix.strip("/"))
        _new_router(project, conv, f, name, [h for h in by_file.pop(f)], parse_fns)
        _mount(project, conv, prefix, name, f)
    for f, items in by_file.items():
        doc = project.doc(f)
        var = router_var(doc) or "router"
        chained = _is_chained(doc, var)
        for ep, sub in items:
            if chained:
                text = handler_text(project, conv, ep, sub, "", parse_fns)
                decl = _router_decl(doc, var)
                code = project.code(f, f"x{text}").removeprefix("x").rstrip(";")
                doc.insert(decl.end_byte, "\n" + reindent(code, _chain_indent(doc, decl) or project.style(f).indent))
            else:
                text = handler_text(project, conv, ep, sub, var, parse_fns)
                doc.insert(len(doc.data.rstrip(b"\n")), "\n\n" + project.code(f, text))
        _router_imports(project, conv, doc, parse_fns)
    return list(new_files.values())


def _chain_indent(doc: Doc, chain: Node) -> str | None:
    """Indentation of the `.get(...)` lines of a chained router."""
    fn = chain.child_by_field_name("function") if chain.type == "call_expression" else None
    prop = fn.child_by_field_name("property") if fn is not None and fn.type == "member_expression" else None
    if prop is None or prop.start_point[0] == chain.start_point[0]:
        return None
    return doc.indent_of(prop)


def _router_decl(doc: Doc, var: str) -> Node:
    for decl in doc.walk("variable_declarator"):
        if doc.t(decl.child_by_field_name("name")) == var:
            return decl.child_by_field_name("value")
    raise ScaffoldError(f"{doc.path}: cannot find the router `{var}`")


def _is_chained(doc: Doc, var: str) -> bool:
    for n in doc.root.named_children:
        if n.type == "expression_statement" and doc.t(n).startswith(f"{var}."):
            return False
    value = _router_decl(doc, var)
    return value.type == "call_expression"


def _router_imports(project: Project, conv: Conventions, doc: Doc, parse_fns: dict) -> None:
    used = [fn for fn in (parse_fns.get("create"), parse_fns.get("update")) if fn and fn in doc.text + _pending(doc)]
    if used and parse_fns.get("file") and parse_fns["file"] != doc.path:
        _ensure_import(project, doc, used, file=parse_fns["file"])


def _pending(doc: Doc) -> str:
    return "".join(t for *_, t in doc.edits)


def _new_router(project: Project, conv: Conventions, path: str, name: str, items: list, parse_fns: dict) -> None:
    handlers = [handler_text(project, conv, ep, sub, name, parse_fns) for ep, sub in items]
    lines = []
    for imp in conv.router_imports:
        lines.append(_import_line(project, path, imp))
    extra_t = getattr(project, "router_extra", None)
    extra = extra_t[0] if extra_t else None
    used = [fn for fn in (parse_fns.get("create"), parse_fns.get("update")) if fn and any(fn in h for h in handlers)]
    if used and parse_fns.get("file") and parse_fns["file"] != path:
        lines.append(_import_line(project, path, names=used, file=parse_fns["file"]))
    if extra:
        lines.append("import { HTTPException } from 'hono/http-exception'")
        e0 = items[0][0].entity
        types = ([e0.insert] if parse_fns.get("create") else []) + ([e0.update] if parse_fns.get("update") else [])
        lines.append(_import_line(project, path, names=types, file=getattr(project, "types_file", None)
                                  or e0.iface_file, type_only=True))
        for names, file, type_only in extra_t[3]:
            lines.append(_import_line(project, path, names=names, file=file, type_only=type_only))
        if extra_t[1] or extra_t[2]:
            lines.append(_import_line(project, path, names=[n for n, f in (("Json", extra_t[1]), ("Database", extra_t[2]))
                                                            if f], file=project.conv.database_types_file,
                                      type_only=True))
    text = render("router.ts.j2", import_lines=_sorted_imports(lines), router=name, creation=conv.router_creation,
                  handlers=([extra] if extra else []) + handlers)
    project.create(path, project.code(path, text))


def _mount(project: Project, conv: Conventions, prefix: str, name: str, router_file: str) -> None:
    doc = project.doc(conv.app_file)
    calls = []
    for call in doc.walk("call_expression"):
        fn = call.child_by_field_name("function")
        if fn is not None and fn.type == "member_expression" and doc.t(fn.child_by_field_name("property")) == \
                conv.mount_method and doc.t(fn.child_by_field_name("object")) == conv.app_var:
            args = call.child_by_field_name("arguments")
            if args is not None and len(args.named_children) == 2 and string_value(doc, args.named_children[0]):
                calls.append(call)
    if not calls:
        raise ScaffoldError(f"{conv.app_file}: cannot find where routers are mounted")
    last = calls[-1].parent
    stmt = f"{conv.app_var}.{conv.mount_method}('{prefix}', {name})"
    doc.insert(last.end_byte, "\n" + doc.indent_of(last) + project.code(conv.app_file, stmt))
    _ensure_import(project, doc, [name], file=router_file)


# --------------------------------------------------------------------------- client


def client_type(project: Project, c: Column, path: str, json_known: bool) -> str:
    t = gen_ts_type(project.model, c.type)
    q = _q(project, path)
    if t.startswith("Database["):
        from .fieldprop import FieldCtx, _enum_alias

        values = project.model.schema_.enums[enum_key(project.model, c.type)].values
        fc = FieldCtx(project, None, c, None)  # type: ignore[arg-type]
        alias = _enum_alias(fc, path, values)
        t = alias or " | ".join(f"{q}{v}{q}" for v in values)
    elif "Json" in t and not json_known:
        t = t.replace("Json", "unknown")
    return t + (" | null" if c.nullable else "")


def ensure_client_input(project: Project, conv: Conventions, e: Entity, kind: str) -> None:
    """`Create<E>Input` / `Update<E>Input` of an existing table's wire type, when the client has none."""
    path = conv.client_types_file
    if path is None:
        return
    doc = project.doc(path)
    name = e.create_input if kind == "create" else e.update_input
    if name in _declared(doc):
        return
    json_known = "Json" in _declared(doc)
    if kind == "create":
        lines = [f"export interface {name} {{"]
        for c in e.writable():
            lines.append(f"  {c.name}{'?' if insert_optional(c) else ''}: {client_type(project, c, path, json_known)}")
        lines.append("}")
        text = "\n".join(lines)
    else:
        union = " | ".join(f"'{c.name}'" for c in e.writable() if c.name not in _owner_cols(project, e))
        text = f"export type {name} = Partial<Pick<{e.wire}, {union}>>"
        if len(text) > project.style(path).width:
            text = f"export type {name} = Partial<\n  Pick<{e.wire}, {union}>\n>"
    doc.insert(len(doc.data.rstrip(b"\n")), "\n\n" + project.code(path, text))


def client_types(project: Project, conv: Conventions, e: Entity, with_update: bool) -> None:
    path = conv.client_types_file
    if path is None:
        project.notes.append("no client types module found: add the wire types of the new table by hand")
        return
    doc = project.doc(path)
    json_known = "Json" in _declared(doc)
    lines = [f"export interface {e.wire} {{"]
    for c in e.table.columns.values():
        lines.append(f"  {c.name}: {client_type(project, c, path, json_known)}")
    lines.append("}")
    lines.append("")
    lines.append(f"export interface {e.create_input} {{")
    for c in e.writable():
        lines.append(f"  {c.name}{'?' if insert_optional(c) else ''}: {client_type(project, c, path, json_known)}")
    lines.append("}")
    if with_update:
        upd = [c.name for c in e.writable() if c.name not in _owner_cols(project, e)]
        union = " | ".join(f"'{c}'" for c in upd)
        one = f"export type {e.update_input} = Partial<Pick<{e.wire}, {union}>>"
        if len(one) > project.style(path).width:
            one = f"export type {e.update_input} = Partial<\n  Pick<{e.wire}, {union}>\n>"
        lines.append("")
        lines.append(one)
    doc.insert(len(doc.data.rstrip(b"\n")), "\n\n" + project.code(path, "\n".join(lines)))


def client_method_text(project: Project, conv: Conventions, ep: Endpoint) -> tuple[str, list[str]]:
    e, m = ep.entity, ep.method
    req = conv.request_fn
    params = []
    path = ""
    for seg in ep.path.strip("/").split("/"):
        if seg.startswith(":"):
            name = seg[1:]
            pname = m.param.name if (m.param is not None and m.kind in ("find_by",)) else (
                "id" if name == "id" and m.kind != "list_by" else camel(name))
            if m.kind == "list_by" and m.parent is not None:
                pname = f"{m.parent.var}Id"
            ptype = m.param.type if (m.param is not None and m.kind == "find_by") else "string"
            params.append(f"{pname}: {ptype}")
            path += "/${" + pname + "}"
        else:
            path += "/" + seg
    tpl = f"`{path}`" if "${" in path else f"'{path}'"
    types = [e.wire]
    if m.kind in ("find_by_id", "find_by") or (m.kind == "existing" and m.existing and "null" in (m.existing.returns or "")):
        ret = f"{e.wire} | null"
        call = f"{req}<{e.wire}>('GET', {tpl})"
        body = f"{conv.or_null_fn}({call})" if conv.or_null_fn else call
    elif m.kind in ("list", "list_by") or (m.kind == "existing"):
        ret, body = f"{e.wire}[]", f"{req}('GET', {tpl})"
    elif m.kind == "create":
        params.append(f"input: {e.create_input}")
        ret, body = e.wire, f"{req}('POST', {tpl}, input)"
        types.append(e.create_input)
    elif m.kind == "update":
        params.append(f"patch: {e.update_input}")
        ret, body = e.wire, f"{req}('{ep.verb}', {tpl}, patch)"
        types.append(e.update_input)
    elif m.kind == "delete":
        ret, body = "void", f"{req}('DELETE', {tpl})"
        types = []
    else:
        raise ValueError(m.kind)
    text = f"{ep.client_name}({', '.join(params)}): Promise<{ret}> {{\n  return {body}\n}}"
    return text, types


def add_client_methods(project: Project, conv: Conventions, eps: list[Endpoint], section: str | None) -> None:
    if conv.client_file is None or conv.client_class is None:
        project.notes.append("no typed client class found: add the client methods by hand")
        return
    path = conv.client_file
    doc = project.doc(path)
    body = _class_body(doc, conv.client_class)
    existing = {cm.name for cm in project.model.client_methods}
    texts, types = [], set()
    for ep in eps:
        if ep.client_name in existing:
            continue
        t, ts = client_method_text(project, conv, ep)
        texts.append(project.member_code(path, t))
        types.update(ts)
    if not texts:
        return
    ms = [m for m in body.named_children if m.type == "method_definition"]
    public = [m for m in ms if not any(c.type == "accessibility_modifier" for c in m.children)
              and doc.t(m.child_by_field_name("name")) != "constructor"]
    prefix = "/" + eps[0].path.strip("/").split("/")[0]
    same = [cm for cm in project.model.client_methods if cm.file == path and cm.raw_path.startswith(prefix + "/")
            or cm.file == path and cm.raw_path == prefix]
    indent = doc.indent_of(public[-1]) if public else doc.indent_of(body) + "  "
    block = "\n\n".join(reindent(_dedent(t), indent) for t in texts)
    anchor = None
    if same and section is None:
        last_line = max(cm.line for cm in same)
        anchor = next((m for m in public if m.start_point[0] + 1 <= last_line <= m.end_point[0] + 1), None)
    if anchor is None and public:
        anchor = public[-1]
        if section:
            comments = [c for c in body.named_children if c.type == "comment" and "---" in doc.t(c)]
            if comments:
                raw = doc.t(comments[0])
                head = raw[: raw.rfind("-") + 1]
                block = f"{indent}{head} {section}\n\n" + block
    if anchor is None:
        raise ScaffoldError(f"{path}: no public method in `{conv.client_class}` to add the new ones after")
    doc.insert(anchor.end_byte, "\n\n" + block)
    if conv.client_types_file and types:
        _ensure_import(project, doc, sorted(types), file=conv.client_types_file, type_only=True)


def add_client_cases(project: Project, conv: Conventions, eps: list[Endpoint]) -> bool:
    """Rows of the client test's `[name, method, path, body, invoke]` table, when it has one."""
    path = conv.client_test_file
    if path is None:
        return False
    doc = project.doc(path)
    names = {cm.name for cm in project.model.client_methods}
    for arr in doc.walk("array"):
        rows = [r for r in arr.named_children if r.type == "array"]
        if len(rows) < 2:
            continue
        good = [r for r in rows if len(r.named_children) == 5 and string_value(doc, r.named_children[0]) in names
                and string_value(doc, r.named_children[1]) in ("GET", "POST", "PATCH", "PUT", "DELETE")
                and r.named_children[4].type == "arrow_function"]
        if len(good) != len(rows):
            continue
        c = doc.t(good[0].named_children[4].child_by_field_name("parameters")).strip("()")
        new_rows = []
        for ep in eps:
            args, path_s, body = [], "", "undefined"
            for seg in ep.path.strip("/").split("/"):
                if seg.startswith(":"):
                    m = ep.method
                    val = "7" if (m.param is not None and m.kind == "find_by" and m.param.type == "number") else \
                        f"'{seg[1:2]}1'"
                    args.append(val)
                    path_s += "/" + val.strip("'")
                else:
                    path_s += "/" + seg
            m = ep.method
            if m.kind in ("create", "update"):
                sample = _client_sample(project, ep)
                args.append(sample)
                body = sample
            invoke = f"({c}) => {c}.{ep.client_name}({', '.join(args)})"
            new_rows.append(f"['{ep.client_name}', '{ep.verb}', '{path_s}', {body}, {invoke}]")
        for r in new_rows:
            insert_member_array(doc, arr, project.code(path, f"x = {r}").removeprefix("x = ").rstrip(";"))
        return True
    return False


def insert_member_array(doc: Doc, arr: Node, text: str) -> None:
    items = arr.named_children
    last = items[-1]
    s = separator_after(last)
    indent = doc.indent_of(last)
    if s is not None:
        doc.insert(s.end_byte, f"\n{indent}{text},")
    else:
        doc.insert(last.end_byte, f",\n{indent}{text}")


def _client_sample(project: Project, ep: Endpoint) -> str:
    e = ep.entity
    cols = [c for c in e.writable() if not insert_optional(c)] if ep.method.kind == "create" else \
        [c for c in e.writable() if c.name not in _owner_cols(project, e)][:1]
    parts = []
    for i, c in enumerate(cols):
        v = sample_value(project, c, 1)
        if v == "crypto.randomUUID()":
            v = "'u1'"
        elif v == "new Date().toISOString()":
            v = "'2024-01-01T00:00:00.000Z'"
        parts.append(f"{c.name}: {v}")
    return "{ " + ", ".join(parts) + " }" if parts else "{}"
