"""add-field, TypeScript side: every place that lists a table's columns explicitly gets the new one.

Found in the syntax tree, not by text search:
  - `Pick<TablesInsert<'t'>, 'a' | 'b'>`-style column lists of insert/update/input types;
  - `.from('t').select('a, b, c')` column lists;
  - object literals whose keys are columns of the table: full rows (fixtures, Memory rows) must
    get the column, mappings (`{ a: input.a ?? null, ... }`) get it in the way a sibling column of
    the same kind is written (the sibling's value is cloned with the column renamed);
  - `if ('a' in body) patch.a = ...` parsing statements (cloned from a sibling of the same kind);
  - interfaces / object types that mirror the row (wire types of the client) or its insert input.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..model import Column, Table
from .project import Project
from .sqlgen import base_type
from .tsedit import Doc, Node, insert_member, member_name, members, string_value, union_literals
from .typesgen import base_ts, gen_ts_type, insert_optional

AUDIT = ("created_at", "updated_at")
_LITERALS = {"string", "number", "true", "false", "null", "object", "array", "template_string", "undefined"}


@dataclass
class FieldCtx:
    project: Project
    table: Table  # before the change
    col: Column
    default_ts: str | None  # TS expression of the SQL default (Memory rows), None without default
    cols: dict[str, Column] = field(default_factory=dict)
    impl_files: set[str] = field(default_factory=set)
    row_names: set[str] = field(default_factory=set)  # type names that are full rows of the table
    touched: list[str] = field(default_factory=list)  # "path: what" for the report
    service_prefix: str = ""  # the Database Service package: partial lists are only extended there
    client_prefix: str | None = None
    conv: object | None = None  # checks.scaffold.conventions.Conventions (validation helpers)
    validation: object | None = None  # layers.Validation, created on first use

    def owned(self, path: str, client: bool = False) -> bool:
        """Code whose inputs are the repository's own types (the service, or the client package)."""
        if path.startswith(self.service_prefix):
            return True
        return client and self.client_prefix is not None and path.startswith(self.client_prefix)

    def cls(self, c: Column) -> tuple:
        return (base_ts(self.project.model, c.type), c.nullable, c.default is not None)

    def sample(self) -> str:
        if self.col.nullable:
            return "null"
        if self.default_ts is not None:
            return "new Date().toISOString()" if self.default_ts == "now" else self.default_ts
        return sample_value(self.project, self.col)


def sample_value(project: Project, col: Column, n: int = 1, q: str = "'") -> str:
    """A plausible literal for a column (fixtures and tests)."""
    model = project.model
    t = gen_ts_type(model, col.type)
    b = base_type(col.type)
    name = col.name
    if t.startswith("Database["):
        from .sqlgen import enum_key

        values = model.schema_.enums[enum_key(model, col.type)].values
        return f"{q}{values[0]}{q}"
    if t.endswith("[]"):
        return "[]"
    if t == "number":
        return str(n)
    if t == "boolean":
        return "true"
    if t == "Json":
        return "{}"
    if b == "uuid":
        return "crypto.randomUUID()"
    if b in ("timestamptz", "timestamp"):
        return f"{q}2024-01-0{n}T00:00:00.000Z{q}" if b == "timestamp" else "new Date().toISOString()"
    if b == "date":
        return f"{q}2024-01-0{n}{q}"
    special = {"email": f"user{n}@example.com", "currency": "USD", "phone": f"+491511234567{n}",
               "url": f"https://example.com/{n}", "language_code": "en", "locale": "en", "country": "DE",
               "country_code": "DE"}
    for key, v in special.items():
        if name == key or name.endswith("_" + key):
            return f"{q}{v}{q}"
    return f"{q}{name.replace('_', '-')}-{n}{q}"


# --------------------------------------------------------------------------- helpers


def _value(m: Node) -> Node | None:
    return m.child_by_field_name("value") if m.type == "pair" else None


def _clone_value(doc: Doc, value: Node, old: str, new: str) -> tuple[str, int]:
    """The text of `value` with property names and strings equal to `old` renamed to `new`."""
    edits: list[tuple[int, int, str]] = []
    for n in doc.walk({"property_identifier", "string_fragment", "shorthand_property_identifier"}, value):
        if doc.t(n) == old:
            edits.append((n.start_byte - value.start_byte, n.end_byte - value.start_byte, new))
    raw = doc.data[value.start_byte:value.end_byte]
    for s, e, t in sorted(edits, reverse=True):
        raw = raw[:s] + t.encode() + raw[e:]
    return raw.decode(), len(edits)


def _coalesce_literal(doc: Doc, value: Node) -> Node | None:
    """The literal right side of `x ?? <literal>`."""
    if value.type == "binary_expression":
        op = value.child_by_field_name("operator")
        right = value.child_by_field_name("right")
        if op is not None and doc.t(op) == "??" and right is not None and right.type in _LITERALS:
            return right
    return None


def _analog(ctx: FieldCtx, doc: Doc, pairs: dict[str, Node]) -> str | None:
    """The new column's value cloned from a sibling column of the same kind, or None."""
    want = ctx.cls(ctx.col)
    best = None
    for key, m in pairs.items():
        c = ctx.cols.get(key)
        v = _value(m)
        if c is None or v is None or key in AUDIT or c.primary_key:
            continue
        if ctx.cls(c) != want:
            continue
        text, subs = _clone_value(doc, v, key, ctx.col.name)
        if subs == 0:
            continue
        lit = _coalesce_literal(doc, v)
        if lit is not None and doc.t(lit) not in ("null", "undefined"):
            if ctx.default_ts is None:
                continue
            # the sibling's default -> ours
            cloned_value, _ = _clone_value(doc, v.child_by_field_name("left"), key, ctx.col.name)
            dflt = "now" if ctx.default_ts == "now" and "now" in _scope_names(doc, m) else (
                "new Date().toISOString()" if ctx.default_ts == "now" else ctx.default_ts)
            text = f"{cloned_value} ?? {dflt}"
        score = subs
        if best is None or score > best[0]:
            best = (score, text)
    return best[1] if best else None


def _scope_names(doc: Doc, node: Node) -> set[str]:
    """Names declared with const/let in the function around `node`."""
    fn = node
    while fn is not None and fn.type not in ("function_declaration", "method_definition", "arrow_function",
                                             "function_expression"):
        fn = fn.parent
    out = set()
    if fn is None:
        return out
    for d in doc.walk("variable_declarator", fn):
        name = d.child_by_field_name("name")
        if name is not None and name.type == "identifier":
            out.add(doc.t(name))
    return out


def _source_var(doc: Doc, pairs: dict[str, Node]) -> str | None:
    """`input` in `{ a: input.a, b: input.b ?? null }`: the object the values are read from."""
    from collections import Counter

    votes: Counter[str] = Counter()
    for key, m in pairs.items():
        v = _value(m)
        if v is None:
            continue
        for n in doc.walk("member_expression", v):
            obj, prop = n.child_by_field_name("object"), n.child_by_field_name("property")
            if prop is not None and doc.t(prop) == key and obj is not None and obj.type == "identifier":
                votes[doc.t(obj)] += 1
                break
    if not votes:
        return None
    name, n = votes.most_common(1)[0]
    return name if n >= 2 else None


def _insert_pos(doc: Doc, container: Node) -> Node | None:
    """Insert before the trailing run of audit columns / spreads, if any."""
    ms = members(container)
    before = None
    for m in reversed(ms):
        if m.type == "spread_element" or member_name(doc, m) in AUDIT:
            before = m
        else:
            break
    return before


def _calls_update(doc: Doc, obj: Node) -> bool:
    p = obj.parent
    if p is not None and p.type == "arguments":
        call = p.parent
        fn = call.child_by_field_name("function") if call is not None else None
        if fn is not None and fn.type == "member_expression" and doc.t(fn.child_by_field_name("property")) in (
                "update", "upsert"):
            return True
    return False


# --------------------------------------------------------------------------- the passes


def _object_literals(ctx: FieldCtx, path: str, doc: Doc) -> None:
    colset = set(ctx.cols)
    for obj in list(doc.walk("object")):
        ms = members(obj)
        keys = [member_name(doc, m) for m in ms if m.type in ("pair", "shorthand_property_identifier")]
        if not keys or any(k is None or k not in colset for k in keys) or ctx.col.name in keys:
            continue
        kset = set(keys)
        full = kset >= colset
        if not full and (len(kset) < 2 or not ctx.owned(path)):
            continue
        pairs = {member_name(doc, m): m for m in ms if m.type == "pair"}
        text = _analog(ctx, doc, pairs)
        if text is None and _validation_like(doc, pairs) and ctx.owned(path):
            text = _parse_value(ctx, path, required=not insert_optional(ctx.col))
        if text is None:
            src = _source_var(doc, pairs) if path in ctx.impl_files else None
            spread = next((m for m in ms if m.type == "spread_element"), None)
            name = ctx.col.name
            if src is not None and _calls_update(doc, obj):
                text = f"{src}.{name}"
            elif src is not None and spread is not None:
                cur = doc.t(spread)[3:]
                text = (f"{src}.{name} !== undefined ? {src}.{name} : {cur}.{name}" if ctx.col.nullable
                        else f"{src}.{name} ?? {cur}.{name}")
            elif src is not None:
                dflt = "null" if ctx.col.nullable else ctx.sample()
                text = f"{src}.{name} ?? {dflt}"
            elif full:
                text = ctx.sample()
            else:
                continue
        insert_member(doc, obj, f"{ctx.col.name}: {text}", before=_insert_pos(doc, obj))
        ctx.touched.append(f"{path}:{obj.start_point[0] + 1}")


def _if_statements(ctx: FieldCtx, path: str, doc: Doc) -> None:
    """`if ('a' in body) patch.a = parse(body, 'a')` lines: one more for the new column."""
    if not ctx.owned(path):
        return
    blocks: dict[int, list[tuple[str, Node]]] = {}
    for st in doc.walk("if_statement"):
        cond = st.child_by_field_name("condition")
        cons = st.child_by_field_name("consequence")
        if cond is None or cons is None or cons.type != "expression_statement" or st.child_by_field_name("alternative"):
            continue
        strs = [string_value(doc, s) for s in doc.walk("string", cond)]
        key = next((s for s in strs if s in ctx.cols), None)
        if key is None:
            continue
        props = {doc.t(p) for p in doc.walk("property_identifier", cons)}
        if key not in props:
            continue
        blocks.setdefault(st.parent.id, []).append((key, st))
    want = ctx.cls(ctx.col)
    for stmts in blocks.values():
        if len(stmts) < 2 or any(k == ctx.col.name for k, _ in stmts):
            continue
        clone = None
        for key, st in stmts:
            c = ctx.cols[key]
            if ctx.cls(c) == want or (ctx.cls(c)[:2] == want[:2]):
                text, subs = _clone_value(doc, st, key, ctx.col.name)
                if subs >= 2:
                    clone = text
                    break
        last = stmts[-1][1]
        if clone is None:
            target = _assign_target(doc, last)
            value = _parse_value(ctx, path, required=not ctx.col.nullable) if target else None
            if value is None:
                continue
            clone = f"if ('{ctx.col.name}' in body) {target}.{ctx.col.name} = {value}"
            clone = ctx.project.code(path, clone)
        doc.insert(last.end_byte, f"\n{doc.indent_of(last)}{clone}")
        ctx.touched.append(f"{path}:{last.start_point[0] + 1}")


def _validation_like(doc: Doc, pairs: dict[str, Node]) -> bool:
    """`{ a: str(body, 'a'), b: optStr(body, 'b') }`: values parsed from a request body by key."""
    n = 0
    for key, m in pairs.items():
        v = _value(m)
        call = v
        while call is not None and call.type in ("binary_expression", "ternary_expression", "as_expression"):
            call = next((c for c in call.named_children if c.type == "call_expression"), None)
        if call is None or call.type != "call_expression":
            continue
        args = call.child_by_field_name("arguments")
        if args is not None and any(string_value(doc, a) == key for a in args.named_children):
            n += 1
    return n >= 2


def _assign_target(doc: Doc, st: Node) -> str | None:
    """`patch` in `if ('a' in body) patch.a = ...`."""
    for a in doc.walk("assignment_expression", st):
        left = a.child_by_field_name("left")
        if left is not None and left.type == "member_expression":
            obj = left.child_by_field_name("object")
            if obj is not None and obj.type == "identifier":
                return doc.t(obj)
    return None


def _parse_value(ctx: FieldCtx, path: str, required: bool) -> str | None:
    """The request-parsing expression of the new column in the repository's validation module
    (its own helpers, or ones generated next to them)."""
    conv = ctx.conv
    if conv is None or path != getattr(conv, "validation_file", None) or not getattr(conv, "body_fn", None):
        return None
    from .errors import ScaffoldError
    from .layers import Validation, _parse_expr

    if ctx.validation is None:
        ctx.validation = Validation(conv.validation_file, f"new {conv.validation_error}", conv.body_fn,
                                    conv.body_type, helpers=dict(conv.helpers))
        doc = ctx.project.doc(path)
        ctx._declared = {doc.t(n.child_by_field_name("name")) for n in doc.walk("function_declaration")}
    try:
        return _parse_expr(ctx.project, ctx.validation, ctx._declared, ctx.col, required, ctx.project.style(path).quote)
    except ScaffoldError:
        return None


def finish_validation(ctx: FieldCtx) -> None:
    """Helpers the new column's parsing needs, appended to the validation module, and their imports."""
    v = ctx.validation
    if v is None or not (v.new_helpers or v.imports):
        return
    from .layers import _ensure_import

    doc = ctx.project.doc(v.file)
    if v.new_helpers:
        doc.insert(len(doc.data.rstrip(b"\n")), "\n\n" + ctx.project.code(v.file, "\n\n".join(v.new_helpers)))
    for names, file, type_only in v.imports:
        _ensure_import(ctx.project, doc, names, file=file, type_only=type_only)
    if any("Json" in h for h in v.new_helpers) and getattr(ctx.conv, "database_types_file", None):
        _ensure_import(ctx.project, doc, ["Json"], file=ctx.conv.database_types_file, type_only=True)


def _ts_type_for(ctx: FieldCtx, path: str, doc: Doc) -> str:
    """The column's TS type as written in `path` (named enum alias of the package, Json if known)."""
    model = ctx.project.model
    t = gen_ts_type(model, ctx.col.type)
    q = ctx.project.style(path).quote
    if t.startswith("Database["):
        from .sqlgen import enum_key

        values = model.schema_.enums[enum_key(model, ctx.col.type)].values
        alias = _enum_alias(ctx, path, values)
        t = alias or " | ".join(f"{q}{v}{q}" for v in values)
        if ctx.col.type.endswith("[]"):
            t = f"({t})[]" if alias is None else f"{t}[]"
    elif "Json" in t and "Json" not in doc.text:
        t = t.replace("Json", "unknown")
    return t + (" | null" if ctx.col.nullable else "")


def _enum_alias(ctx: FieldCtx, path: str, values: list[str]) -> str | None:
    pkg = ctx.project.package_of(path)
    for f in ctx.project.ts_files(pkg.path if pkg else ""):
        text = ctx.project.read(f) or ""
        if values[0] not in text:
            continue
        d = Doc(f, text)
        for n in d.walk("type_alias_declaration"):
            v = n.child_by_field_name("value")
            if v is not None and union_literals(d, v) == values:
                return d.t(n.child_by_field_name("name"))
    return None


def _type_literals(ctx: FieldCtx, path: str, doc: Doc) -> None:
    colset = set(ctx.cols)
    for obj in list(doc.walk({"interface_body", "object_type"})):
        ms = [m for m in members(obj) if m.type == "property_signature"]
        if len(ms) != len(members(obj)) or len(ms) < 3:
            continue
        keys = [member_name(doc, m) for m in ms]
        if any(k not in colset for k in keys) or ctx.col.name in keys:
            continue
        full = set(keys) >= colset
        optional = [m for m in ms if any(c.type == "?" for c in m.children)]
        if not full and (not optional or not ctx.owned(path, client=True)):
            continue
        t = _ts_type_for(ctx, path, doc)
        opt = "" if full else ("?" if insert_optional(ctx.col) else "")
        insert_member(doc, obj, f"{ctx.col.name}{opt}: {t}", before=_insert_pos(doc, obj) if full else None)
        ctx.touched.append(f"{path}:{obj.start_point[0] + 1}")
        decl = obj.parent
        if decl is not None and decl.type in ("interface_declaration", "type_alias_declaration") and full:
            ctx.row_names.add(doc.t(decl.child_by_field_name("name")))


def _table_arg(doc: Doc, node: Node) -> tuple[str | None, str | None]:
    """(`Row`/`Insert`/`Update`, table) of `Tables<'t'>`, `TablesInsert<'t'>`, `Database[..]['Tables']['t']['Row']`."""
    if node.type == "generic_type":
        name = doc.t(node.child_by_field_name("name"))
        args = node.child_by_field_name("type_arguments")
        if name in ("Tables", "TablesInsert", "TablesUpdate") and args is not None and args.named_children:
            lit = union_literals(doc, args.named_children[0])
            kind = {"Tables": "Row", "TablesInsert": "Insert", "TablesUpdate": "Update"}[name]
            return kind, (lit[0] if lit and len(lit) == 1 else None)
    if node.type == "lookup_type":
        strs = [string_value(doc, s) for s in doc.walk("string", node)]
        if "Tables" in strs:
            i = strs.index("Tables")
            table = strs[i + 1] if i + 1 < len(strs) else None
            kind = strs[i + 2] if i + 2 < len(strs) else None
            return kind, table
    return None, None


def _picks(ctx: FieldCtx, path: str, doc: Doc) -> None:
    colset = set(ctx.cols)
    for g in list(doc.walk("generic_type")):
        if doc.t(g.child_by_field_name("name")) != "Pick":
            continue
        args = g.child_by_field_name("type_arguments")
        if args is None or len(args.named_children) != 2:
            continue
        target, union = args.named_children
        lits = union_literals(doc, union)
        if not lits or ctx.col.name in lits or not set(lits) <= colset:
            continue
        kind, table = _table_arg(doc, target)
        if table is not None:
            if table != ctx.table.name:
                continue
            writes = kind in ("Insert", "Update")
        elif target.type == "type_identifier" and doc.t(target) in ctx.row_names:
            writes = False
        else:
            continue
        parent = g.parent
        partial = parent is not None and parent.type == "type_arguments" and parent.parent is not None and \
            doc.t(parent.parent.child_by_field_name("name")) == "Partial"
        decl = g
        while decl is not None and decl.type != "type_alias_declaration":
            decl = decl.parent
        alias = doc.t(decl.child_by_field_name("name")) if decl is not None else ""
        inputish = any(w in alias for w in ("New", "Create", "Update", "Patch", "Input", "Insert"))
        if not (writes or partial or inputish):
            continue
        st = ctx.project.style(path)
        q = st.quote
        start = doc.line_start(union.start_byte)
        own_line = doc.data[start:union.start_byte].strip() == b""
        line_len = doc.line_end(union.end_byte) - start + len(ctx.col.name) + 5
        if own_line and union.start_point[0] == union.end_point[0] and line_len > st.width:
            ind = doc.indent_of(union)
            items = [doc.t(c) for c in union.named_children] if union.type == "union_type" else [doc.t(union)]
            items = _flatten_union(doc, union) + [f"{q}{ctx.col.name}{q}"]
            doc.replace(union, text=f"\n{ind}".join("| " + i for i in items))
        else:
            doc.insert(union.end_byte, f" | {q}{ctx.col.name}{q}")
        ctx.touched.append(f"{path}:{g.start_point[0] + 1}")


def _flatten_union(doc: Doc, node: Node) -> list[str]:
    if node.type == "union_type":
        out = []
        for c in node.named_children:
            out.extend(_flatten_union(doc, c))
        return out
    return [doc.t(node)]


def _selects(ctx: FieldCtx, path: str, doc: Doc) -> None:
    for call in list(doc.walk("call_expression")):
        fn = call.child_by_field_name("function")
        if fn is None or fn.type != "member_expression" or doc.t(fn.child_by_field_name("property")) != "select":
            continue
        args = call.child_by_field_name("arguments")
        if args is None or not args.named_children or args.named_children[0].type != "string":
            continue
        s = args.named_children[0]
        value = string_value(doc, s) or ""
        items = [p.strip() for p in value.split(",")]
        if len(items) < 2 or any(i not in ctx.cols for i in items) or ctx.col.name in items:
            continue
        if _from_table(doc, fn.child_by_field_name("object")) != ctx.table.name:
            continue
        pos = len(items)
        while pos > 0 and items[pos - 1] in AUDIT:
            pos -= 1
        items.insert(pos, ctx.col.name)
        raw = doc.t(s)
        doc.replace(s, text=raw[0] + ", ".join(items) + raw[-1])
        ctx.touched.append(f"{path}:{s.start_point[0] + 1}")


def _from_table(doc: Doc, node: Node | None) -> str | None:
    while node is not None:
        if node.type == "call_expression":
            fn = node.child_by_field_name("function")
            if fn is not None and fn.type == "member_expression" and doc.t(fn.child_by_field_name("property")) == "from":
                args = node.child_by_field_name("arguments")
                if args is not None and args.named_children:
                    return string_value(doc, args.named_children[0])
            node = fn.child_by_field_name("object") if fn is not None and fn.type == "member_expression" else None
        elif node.type == "member_expression":
            node = node.child_by_field_name("object")
        else:
            return None
    return None


def extend_code(ctx: FieldCtx, skip: set[str]) -> None:
    project = ctx.project
    files = [f for f in project.ts_files() if f not in skip]
    names = list(ctx.cols)
    for pass_ in (_type_literals, _picks, _selects, _object_literals, _if_statements):
        for path in files:
            text = project.read(path) or ""
            if sum(1 for n in names if n in text) < 2 and pass_ is not _picks:
                continue
            if pass_ is _picks and ctx.table.name not in text and not any(r in text for r in ctx.row_names):
                continue
            pass_(ctx, path, project.doc(path))
    finish_validation(ctx)
