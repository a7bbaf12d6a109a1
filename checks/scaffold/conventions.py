"""How this repository writes its data layer, read from its existing code: where repository
interfaces and their Supabase/Memory implementations live and how they are named, the alias
names of row/insert/update types, the registry of repositories, how routers are created and
mounted, how handlers reach the repositories, the validation helpers, the typed client and
its transport, and the test helpers. Every detection has a conventional fallback.
"""

from __future__ import annotations

import posixpath
from collections import Counter
from dataclasses import dataclass, field

from ..model import Implementation, Package, RepositoryInterface
from .errors import ScaffoldError
from .names import kebab, pascal, singular
from .project import Project
from .tsedit import Doc, Node, imports, member_name, members, string_value, union_literals

HTTP = ("GET", "POST", "PUT", "PATCH", "DELETE")


def resolve(from_file: str, module: str, exists) -> str | None:
    """The .ts file a relative import points to."""
    if not module.startswith("."):
        return None
    base = posixpath.normpath(posixpath.join(posixpath.dirname(from_file), module))
    for stem in (base, base.removesuffix(".js"), base.removesuffix(".mjs")):
        for cand in (stem + ".ts", stem + ".tsx", stem + "/index.ts", stem):
            if exists(cand):
                return cand
    return None


def _pattern(path: str, word: str, fallback: str) -> str:
    d, base = posixpath.split(path)
    if word and word in base:
        return posixpath.join(d, base.replace(word, "{kebab}", 1))
    return fallback


@dataclass
class Import:
    name: str
    file: str  # the file that exports it (repository path); "" for a package import
    module: str = ""  # for package imports: the module specifier
    type_only: bool = False


@dataclass
class Conventions:
    service: Package
    repos_dir: str
    interface_file: str  # "{dir}/{kebab}-repository.ts"
    supabase_file: str
    memory_file: str
    interface_kind: str = "interface"
    method_kind: str = "method"  # "method": `f(x): T`; "property": `f: (x) => T`
    repo_suffix: str = "Repository"
    supabase_prefix: str = "Supabase"
    memory_prefix: str = "Memory"
    # row / insert / update type aliases
    types_file: str | None = None
    alias_style: str = "helpers"  # `Tables<'t'>` | "lookup": Database['public']['Tables']['t']['Row']
    alias_names: dict[str, str] = field(default_factory=lambda: {"Row": "{E}", "Insert": "New{E}",
                                                                  "Update": "{E}Patch"})
    database_types_file: str | None = None
    # registry of repositories
    registry_file: str | None = None
    registry_name: str | None = None
    registry_keys: dict[str, str] = field(default_factory=dict)  # table -> key
    key_style: str = "table"  # key = table name | "camel"
    # Supabase implementations
    db_param: str = "db"
    db_type: Import | None = None
    error_fn: Import | None = None
    select_all: bool = True
    # Memory implementations
    conflict_error: Import | None = None
    memory_seed: bool = True
    # API
    app_file: str | None = None
    mount_method: str = "route"
    app_var: str = "app"
    routes_dir: str | None = None
    router_creation: str = "new Hono()"
    router_imports: list[Import] = field(default_factory=list)
    chained_routes: bool = False
    ctx_param: str = "c"
    repos_access: str = "c.var.repos"
    validation_file: str | None = None
    validation_error: str | None = None
    body_fn: str | None = None  # object(value) -> Body
    body_type: str | None = None
    helpers: dict[str, str] = field(default_factory=dict)  # kind -> function name ("str", "optStr", "int")
    uuid_fn: str | None = None
    # client
    client_pkg: Package | None = None
    client_file: str | None = None
    client_class: str | None = None
    client_types_file: str | None = None
    request_fn: str = "this.request"
    or_null_fn: str | None = None
    create_input: str = "Create{E}Input"
    update_input: str = "Update{E}Input"
    client_test_file: str | None = None
    # tests
    tests_dir: str | None = None
    test_import: str | None = "vitest"
    helpers_file: str | None = None
    setup_fn: str | None = None
    call_fn: str | None = None


def _majority(values, default):
    c = Counter(v for v in values if v is not None)
    return c.most_common(1)[0][0] if c else default


def _docs(project: Project, files: list[str]) -> list[Doc]:
    out = []
    for f in files:
        text = project.read(f)
        if text is not None:
            out.append(Doc(f, text))
    return out


def _import_of(project: Project, doc: Doc, name: str) -> Import | None:
    for imp in imports(doc):
        if name in imp.names:
            target = resolve(doc.path, imp.module, project.exists)
            if target is not None:
                return Import(name, target, type_only=imp.type_only)
            return Import(name, "", module=imp.module, type_only=imp.type_only)
    return None


def entity_of_repo(repo: RepositoryInterface, suffix: str) -> str:
    return repo.name[: -len(suffix)] if repo.name.endswith(suffix) and repo.name != suffix else repo.name


def detect(project: Project) -> Conventions:
    model, config = project.model, project.config
    suffix = config.naming.repository_suffix
    repos = model.repositories
    if not repos:
        raise ScaffoldError("no repository interfaces found (`interface XRepository` under **/repositories/**): "
                            "dlcm scaffold follows the repository pattern of the target repository")
    service = model.package_of(repos[0].file)
    if service is None:
        raise ScaffoldError(f"{repos[0].file} is in no workspace package")
    repos = [r for r in repos if model.package_of(r.file) == service]
    impls = [i for i in model.implementations if model.package_of(i.file) == service]
    repos_dir = _majority([posixpath.dirname(r.file) for r in repos], posixpath.dirname(repos[0].file))

    def pat(items: list, fallback: str, entity) -> str:
        return _majority([_pattern(i.file, kebab(entity(i)), fallback) for i in items], fallback)

    sup = [i for i in impls if i.flavour == "supabase"]
    mem = [i for i in impls if i.flavour == "memory"]
    sp = config.naming.supabase_prefixes[0] if config.naming.supabase_prefixes else "Supabase"
    mp = config.naming.memory_prefixes[0] if config.naming.memory_prefixes else "Memory"

    def impl_entity(i: Implementation) -> str:
        n = i.name
        for p in (*config.naming.supabase_prefixes, *config.naming.memory_prefixes):
            if n.startswith(p):
                n = n[len(p):]
                break
        return n[: -len(suffix)] if n.endswith(suffix) else n

    conv = Conventions(
        service=service,
        repos_dir=repos_dir,
        interface_file=pat(repos, f"{repos_dir}/{{kebab}}-repository.ts", lambda r: entity_of_repo(r, suffix)),
        supabase_file=pat(sup, f"{repos_dir}/supabase/supabase-{{kebab}}-repository.ts", impl_entity),
        memory_file=pat(mem, f"{repos_dir}/memory/memory-{{kebab}}-repository.ts", impl_entity),
        interface_kind=_majority([r.kind for r in repos], "interface"),
        method_kind=_majority([m.kind for r in repos for m in r.methods], "method"),
        repo_suffix=suffix,
        supabase_prefix=_majority([p for i in sup for p in config.naming.supabase_prefixes if i.name.startswith(p)], sp),
        memory_prefix=_majority([p for i in mem for p in config.naming.memory_prefixes if i.name.startswith(p)], mp),
    )
    if model.database_types:
        in_service = [d.file for d in model.database_types if model.package_of(d.file) == service]
        conv.database_types_file = (in_service or [model.database_types[0].file])[0]
    service_files = [f for f in project.ts_files(service.path) if not _is_test(project, f)]
    sdocs = _docs(project, service_files)
    _detect_aliases(project, conv, sdocs)
    _detect_registry(project, conv, sdocs, repos)
    _detect_supabase(project, conv, sup)
    _detect_memory(project, conv, mem)
    _detect_api(project, conv, sdocs)
    _detect_validation(project, conv, sdocs)
    _detect_client(project, conv)
    _detect_tests(project, conv)
    return conv


def _is_test(project: Project, path: str) -> bool:
    from ..config import match

    return match(path, project.config.paths.tests)


# --------------------------------------------------------------------------- aliases


def table_alias(doc: Doc, value: Node | None) -> tuple[str | None, str | None, str]:
    """(kind, table, style) of an alias value: `Tables<'t'>`, `Pick<TablesInsert<'t'>, ...>`, lookups."""
    from .fieldprop import _table_arg

    if value is None:
        return None, None, ""
    node = value
    if node.type == "generic_type" and doc.t(node.child_by_field_name("name")) in ("Pick", "Omit", "Partial"):
        args = node.child_by_field_name("type_arguments")
        if args is not None and args.named_children:
            node = args.named_children[0]
    elif node.type == "intersection_type" and node.named_children:
        return table_alias(doc, node.named_children[0])
    kind, table = _table_arg(doc, node)
    return kind, table, ("lookup" if node.type == "lookup_type" else "helpers")


def _detect_aliases(project: Project, conv: Conventions, docs: list[Doc]) -> None:
    per_file: dict[str, dict[str, dict[str, str]]] = {}
    styles = Counter()
    for d in docs:
        names: dict[str, dict[str, str]] = {}
        for a in d.walk("type_alias_declaration"):
            if a.parent is None or a.parent.type != "export_statement":
                continue  # a file's private alias (`type UserRow = ...`) is not the convention
            kind, table, style = table_alias(d, a.child_by_field_name("value"))
            if kind in ("Row", "Insert", "Update") and table:
                names.setdefault(table, {}).setdefault(kind, d.t(a.child_by_field_name("name")))
                styles[style] += 1
        if names:
            per_file[d.path] = names
    if not per_file:
        conv._alias_by_table = {}  # type: ignore[attr-defined]
        return
    conv.types_file = max(per_file, key=lambda f: sum(len(v) for v in per_file[f].values()))
    names = {t: dict(ks) for t, ks in per_file[conv.types_file].items()}
    for f, other in per_file.items():
        for t, ks in other.items():
            for k, n in ks.items():
                names.setdefault(t, {}).setdefault(k, n)
    if styles:
        conv.alias_style = styles.most_common(1)[0][0]
    for kind in ("Insert", "Update"):
        votes = Counter()
        for table, ks in names.items():
            row = ks.get("Row")
            if row and kind in ks and row in ks[kind]:
                votes[ks[kind].replace(row, "{E}", 1)] += 1
        if votes:
            conv.alias_names[kind] = votes.most_common(1)[0][0]
    conv._alias_by_table = names  # type: ignore[attr-defined]


def entity_name(project: Project, conv: Conventions, table: str) -> str:
    names = getattr(conv, "_alias_by_table", {})
    if table in names and "Row" in names[table]:
        return names[table]["Row"]
    for r in project.model.repositories:
        if table in r.tables:
            return entity_of_repo(r, conv.repo_suffix)
    return pascal(singular(table))


def alias_name(conv: Conventions, table: str, kind: str, entity: str) -> str:
    names = getattr(conv, "_alias_by_table", {})
    if table in names and kind in names[table]:
        return names[table][kind]
    return conv.alias_names[kind].format(E=entity)


# --------------------------------------------------------------------------- registry


def _detect_registry(project: Project, conv: Conventions, docs: list[Doc], repos: list[RepositoryInterface]) -> None:
    repo_names = {r.name: r for r in repos}
    for d in docs:
        for decl in d.walk({"interface_declaration", "type_alias_declaration"}):
            body = decl.child_by_field_name("body") or decl.child_by_field_name("value")
            if body is None or body.type not in ("interface_body", "object_type"):
                continue
            keys = {}
            for m in members(body):
                ann = m.child_by_field_name("type")
                t = d.t(ann).lstrip(":").strip() if ann is not None else ""
                if t in repo_names:
                    keys[member_name(d, m)] = repo_names[t]
            if len(keys) >= 1 and len(keys) == len(members(body)):
                conv.registry_file = d.path
                conv.registry_name = d.t(decl.child_by_field_name("name"))
                camel_votes = 0
                for key, r in keys.items():
                    if r.tables:
                        conv.registry_keys[r.tables[0]] = key
                        from .names import camel

                        if key != r.tables[0] and key == camel(r.tables[0]):
                            camel_votes += 1
                conv.key_style = "camel" if camel_votes else "table"
                return


def registry_key(conv: Conventions, table: str) -> str:
    from .names import camel

    if table in conv.registry_keys:
        return conv.registry_keys[table]
    return camel(table) if conv.key_style == "camel" else table


# --------------------------------------------------------------------------- implementations


def _detect_supabase(project: Project, conv: Conventions, sup: list[Implementation]) -> None:
    selects = Counter()
    for impl in sup:
        text = project.read(impl.file)
        if text is None:
            continue
        d = Doc(impl.file, text)
        for cls in d.walk("class_declaration"):
            if d.t(cls.child_by_field_name("name")) != impl.name:
                continue
            for m in d.walk("method_definition", cls):
                if d.t(m.child_by_field_name("name")) != "constructor":
                    continue
                params = m.child_by_field_name("parameters")
                for p in params.named_children if params is not None else []:
                    if any(c.type == "accessibility_modifier" for c in p.children):
                        conv.db_param = d.t(p.child_by_field_name("pattern"))
                        ann = p.child_by_field_name("type")
                        tname = d.t(ann).lstrip(":").strip() if ann is not None else ""
                        if tname and conv.db_type is None:
                            conv.db_type = _import_of(project, d, tname.split("<")[0]) or None
                            if conv.db_type is not None:
                                conv.db_type.name = tname
                        break
            for th in d.walk("throw_statement", cls):
                call = th.named_children[0] if th.named_children else None
                if call is not None and call.type == "call_expression":
                    fn = call.child_by_field_name("function")
                    if fn is not None and fn.type == "identifier" and conv.error_fn is None:
                        conv.error_fn = _import_of(project, d, d.t(fn))
        for u in project.model.table_usage:
            if u.file == impl.file and u.kind == "select":
                selects[u.columns == ["*"]] += 1
    conv.select_all = selects[True] >= selects[False]


def _detect_memory(project: Project, conv: Conventions, mem: list[Implementation]) -> None:
    seeds = Counter()
    for impl in mem:
        text = project.read(impl.file)
        if text is None:
            continue
        d = Doc(impl.file, text)
        for th in d.walk("throw_statement"):
            n = th.named_children[0] if th.named_children else None
            if n is not None and n.type == "new_expression" and conv.conflict_error is None:
                ctor = n.child_by_field_name("constructor")
                name = d.t(ctor)
                if "Conflict" in name or "Unique" in name or "Duplicate" in name:
                    conv.conflict_error = _import_of(project, d, name)
        has_ctor = False
        for m in d.walk("method_definition"):
            if d.t(m.child_by_field_name("name")) == "constructor":
                has_ctor = True
                seeds["seed" in d.t(m.child_by_field_name("parameters"))] += 1
        if not has_ctor:
            seeds[False] += 1
    conv.memory_seed = seeds[True] >= seeds[False] if seeds else True


# --------------------------------------------------------------------------- API


def _detect_api(project: Project, conv: Conventions, docs: list[Doc]) -> None:
    model = project.model
    route_files = {r.file for r in model.routes if model.package_of(r.file) == conv.service}
    by_path = {d.path: d for d in docs}
    # where routers are mounted: `app.route('/users', users)` with `users` imported from a route file
    for d in docs:
        for call in d.walk("call_expression"):
            fn = call.child_by_field_name("function")
            args = call.child_by_field_name("arguments")
            if fn is None or fn.type != "member_expression" or args is None or len(args.named_children) != 2:
                continue
            prop = d.t(fn.child_by_field_name("property"))
            first, second = args.named_children
            if prop not in ("route", "use", "register") or string_value(d, first) is None or second.type != "identifier":
                continue
            imp = _import_of(project, d, d.t(second))
            if imp is not None and imp.file in route_files:
                conv.app_file, conv.mount_method = d.path, prop
                conv.app_var = d.t(fn.child_by_field_name("object"))
                conv.routes_dir = posixpath.dirname(imp.file)
                break
        if conv.app_file:
            break
    chained = Counter()
    access = Counter()
    keys = set(conv.registry_keys.values())
    for f in sorted(route_files):
        d = by_path.get(f)
        if d is None:
            continue
        for decl in d.walk("variable_declarator"):
            value = decl.child_by_field_name("value")
            if value is None:
                continue
            root = value
            depth = 0
            while root.type == "call_expression":
                fn = root.child_by_field_name("function")
                if fn is None or fn.type != "member_expression":
                    break
                root = fn.child_by_field_name("object")
                depth += 1
            if root.type == "new_expression":
                text = d.t(root)
                if conv.routes_dir and posixpath.dirname(f) == conv.routes_dir or not conv.router_imports:
                    conv.router_creation = text
                    conv.router_imports = [i for i in (_import_of(project, d, n) for n in _idents(d, root)) if i]
                chained[depth > 0] += 1
        for m in d.walk("member_expression"):
            obj = m.child_by_field_name("object")
            if obj is None or obj.type != "member_expression":
                continue
            if d.t(obj.child_by_field_name("property")) in keys:
                prefix = d.t(obj.child_by_field_name("object"))
                access[prefix] += 1
    conv.chained_routes = chained[True] > chained[False]
    if access:
        best = [p for p, _ in access.most_common() if "." in p]
        conv.repos_access = best[0] if best else access.most_common(1)[0][0]
        conv.ctx_param = conv.repos_access.split(".")[0]
    if conv.routes_dir is None and route_files:
        conv.routes_dir = posixpath.dirname(sorted(route_files)[0])


def _idents(d: Doc, node: Node) -> list[str]:
    return sorted({d.t(n) for n in d.walk({"identifier", "type_identifier"}, node)})


def _detect_validation(project: Project, conv: Conventions, docs: list[Doc]) -> None:
    for d in docs:
        for cls in d.walk("class_declaration"):
            name = d.t(cls.child_by_field_name("name"))
            if "Validation" in name and "extends Error" in d.t(cls):
                conv.validation_file, conv.validation_error = d.path, name
                break
        if conv.validation_file:
            break
    if conv.validation_file is None:
        return
    d = next(x for x in docs if x.path == conv.validation_file)
    for fn in d.walk("function_declaration"):
        name = d.t(fn.child_by_field_name("name"))
        params = fn.child_by_field_name("parameters")
        ret = fn.child_by_field_name("return_type")
        rt = " ".join(d.t(ret).lstrip(":").split()) if ret is not None else ""
        ps = [p for p in (params.named_children if params is not None else []) if p.type != "comment"]
        ptypes = [" ".join(d.t(p.child_by_field_name("type")).lstrip(":").split()) if p.child_by_field_name("type")
                  else "" for p in ps]
        if len(ps) == 1 and ptypes[0] == "unknown" and rt and rt not in ("boolean", "void") and \
                not name.startswith("parse"):
            conv.body_fn, conv.body_type = name, rt
        elif len(ps) == 1 and ptypes[0] == "string" and rt == "boolean" and "uuid" in name.lower():
            conv.uuid_fn = name
        elif len(ps) >= 2 and ptypes[1] == "string" and d.t(ps[1].child_by_field_name("pattern")) == "key":
            required = all(p.type == "required_parameter" or p.child_by_field_name("value") is not None
                           for p in ps[2:]) if len(ps) > 2 else True
            kind = {"string": "str", "string | null | undefined": "opt_str", "string | undefined | null": "opt_str",
                    "number": "int"}.get(rt)
            if kind and required and kind not in conv.helpers:
                conv.helpers[kind] = name


# --------------------------------------------------------------------------- client


def _detect_client(project: Project, conv: Conventions) -> None:
    model = project.model
    cms = model.client_methods
    if not cms:
        clients = [p for p in model.packages if p.is_client]
        conv.client_pkg = clients[0] if clients else None
        return
    file = _majority([c.file for c in cms], cms[0].file)
    conv.client_file = file
    conv.client_class = _majority([c.class_name for c in cms if c.file == file], None)
    conv.client_pkg = model.package_of(file)
    text = project.read(file)
    if text is None:
        return
    d = Doc(file, text)
    for call in d.walk("call_expression"):
        args = call.child_by_field_name("arguments")
        if args is None or not args.named_children:
            continue
        if string_value(d, args.named_children[0]) in HTTP:
            fn = call.child_by_field_name("function")
            conv.request_fn = d.t(fn).split("<")[0]
            break
    for m in d.walk("method_definition"):
        ret = m.child_by_field_name("return_type")
        if ret is None or "null" not in d.t(ret):
            continue
        for call in d.walk("call_expression", m.child_by_field_name("body")):
            fn = call.child_by_field_name("function")
            inner = call.child_by_field_name("arguments")
            if fn is not None and inner is not None and inner.named_children and \
                    inner.named_children[0].type == "call_expression" and d.t(fn) != conv.request_fn:
                conv.or_null_fn = d.t(fn)
                break
        if conv.or_null_fn:
            break
    for imp in imports(d):
        target = resolve(file, imp.module, project.exists)
        if target is not None and imp.type_only and target != file:
            conv.client_types_file = target
    # Create/Update input type names: `createUser(input: CreateUserInput)`
    for cm in cms:
        for p in cm.params:
            for verb, attr, methods in (("create", "create_input", ("POST",)), ("update", "update_input", ("PATCH", "PUT"))):
                e = cm.name[len(verb):]
                if p.type and cm.http_method in methods and cm.name.startswith(verb) and e and e in p.type \
                        and p.type != e and p.type.isidentifier():
                    setattr(conv, attr, p.type.replace(e, "{E}", 1))
    tests = [t.file for t in model.tests if conv.client_pkg and model.package_of(t.file) == conv.client_pkg]
    conv.client_test_file = tests[0] if tests else None


# --------------------------------------------------------------------------- tests


def _detect_tests(project: Project, conv: Conventions) -> None:
    model = project.model
    tests = [t for t in model.tests if model.package_of(t.file) == conv.service]
    test_files = [t.file for t in tests if t.file.endswith((".test.ts", ".spec.ts"))]
    if test_files:
        conv.tests_dir = _majority([posixpath.dirname(f) for f in test_files], None)
        text = project.read(test_files[0]) or ""
        d = Doc(test_files[0], text)
        conv.test_import = None
        for imp in imports(d):
            if imp.module in ("vitest", "@jest/globals", "bun:test", "node:test"):
                conv.test_import = imp.module
    else:
        conv.tests_dir = posixpath.join(conv.service.path, "src", "__tests__") if conv.service.path else "src/__tests__"
    for t in tests:
        if t.file.endswith((".test.ts", ".spec.ts")):
            continue
        text = project.read(t.file) or ""
        d = Doc(t.file, text)
        for fn in d.walk("function_declaration"):
            if fn.parent is None or fn.parent.type != "export_statement":
                continue
            body = d.t(fn.child_by_field_name("body"))
            if "Memory" not in body and "memory" not in body:
                continue
            for ret in d.walk("return_statement", fn):
                obj = ret.named_children[0] if ret.named_children else None
                if obj is None or obj.type != "object":
                    continue
                keys = [member_name(d, m) for m in members(obj)]
                if "repos" in keys:
                    conv.helpers_file = t.file
                    conv.setup_fn = d.t(fn.child_by_field_name("name"))
                    conv.call_fn = next((k for k in keys if k in ("call", "request", "req", "send", "api")), None)
            if conv.setup_fn:
                return
