"""Per-file facts of a TypeScript file, read with tree-sitter.

`extract_file(path, source)` is pure: it depends on the file content only (plus the
path it records), so its result is cached by content hash. Everything that needs other
files (imports, mounts across files, constants from other modules, which package is a
client) is resolved later by `checks.ts.link`.

Bulk facts are `NamedTuple`s (cheap to pickle, JSON-serialisable through pydantic);
entities that go into the model as they are (`TableUsage`, `Method`, `Suppression`,
`DatabaseTypes`, `Diagnostic`) are the model classes themselves.

A "path" (route or HTTP call) is kept as *pieces*: `("lit", "/users/")`, `("param", "id")`
(an interpolated value), `("ref", "USERS")` (a constant imported from another module,
resolved by the link step). Constants of the same file are inlined here.
"""

from __future__ import annotations

import os
import threading
from contextvars import ContextVar
from bisect import bisect_right
from operator import attrgetter
from typing import NamedTuple

import tree_sitter as ts
import tree_sitter_typescript as tst
from pydantic import BaseModel, Field

from ..model import DatabaseTypes, Diagnostic, Method, Param, Suppression, TableUsage, TypeColumn, TypeTable

# Bump when FileFacts changes shape or meaning: cached facts of an older version must be re-extracted.
FACTS_VERSION = 1

# --------------------------------------------------------------------------- tree-sitter objects (built once)

TS_LANGUAGE = ts.Language(tst.language_typescript())
TSX_LANGUAGE = ts.Language(tst.language_tsx())
_QUERY_DIR = os.path.join(os.path.dirname(__file__), "queries")


def _read_query(name: str) -> str:
    with open(os.path.join(_QUERY_DIR, name), encoding="utf-8") as f:
        return f.read()


_FACTS_SCM = _read_query("facts.scm")
_LANGUAGES = {"ts": TS_LANGUAGE, "tsx": TSX_LANGUAGE}


class _Fields(NamedTuple):
    """Field ids of a grammar: `child_by_field_id` skips the by-name lookup (ids differ between ts and tsx)."""

    arguments: int
    body: int
    constructor: int
    declaration: int
    function: int
    key: int
    name: int
    object: int
    parameter: int
    parameters: int
    pattern: int
    property: int
    return_type: int
    source: int
    type: int
    value: int


_FIELDS = {k: _Fields(*(lang.field_id_for_name(n) for n in _Fields._fields)) for k, lang in _LANGUAGES.items()}
_QUERIES = {"ts": ts.Query(TS_LANGUAGE, _FACTS_SCM), "tsx": ts.Query(TSX_LANGUAGE, _FACTS_SCM)}
# Comments only matter for `dlcm-ignore`: a second query, run on the files that mention it.
_COMMENTS_SCM = "(comment) @comment"
_COMMENT_QUERIES: dict[str, ts.Query] = {}  # compiled on first use (compiling costs ~10 ms)
_COMMENT_LOCK = threading.Lock()
# Parsers and query cursors hold state: one set per thread (the App extracts in worker threads).
_per_thread = threading.local()


def _tools(kind: str) -> tuple[ts.Parser, ts.QueryCursor]:
    tools = getattr(_per_thread, "tools", None)
    if tools is None:
        tools = _per_thread.tools = {
            k: (ts.Parser(_LANGUAGES[k]), ts.QueryCursor(_QUERIES[k])) for k in _LANGUAGES}
    return tools[kind]


def _comment_cursor(kind: str) -> ts.QueryCursor:
    cursors = getattr(_per_thread, "comments", None)
    if cursors is None:
        cursors = _per_thread.comments = {}
    cursor = cursors.get(kind)
    if cursor is None:
        with _COMMENT_LOCK:
            query = _COMMENT_QUERIES.get(kind)
            if query is None:
                query = _COMMENT_QUERIES[kind] = ts.Query(_LANGUAGES[kind], _COMMENTS_SCM)
        cursor = cursors[kind] = ts.QueryCursor(query)
    return cursor

# --------------------------------------------------------------------------- facts

Piece = tuple[str, str]  # ("lit", text) | ("param", expression) | ("ref", "NAME" or "NAME.key")
Pieces = tuple[Piece, ...]
ParamT = tuple[str, str | None, bool, bool]  # name, type, optional, rest
ExprRef = tuple[str, str, str]  # kind ("new", "call", "ident", "member", "object", "router"), text, scope


class ImportFact(NamedTuple):
    module: str
    line: int
    default: str | None = None  # local name of the default import
    namespace: str | None = None  # local name of `* as ns`
    names: tuple[tuple[str, str], ...] = ()  # (imported, local)
    type_only: bool = False


class ReexportFact(NamedTuple):
    module: str
    line: int
    names: tuple[tuple[str, str], ...] = ()  # (imported, exported)
    star: bool = False  # export * from
    namespace: str | None = None  # export * as ns from


class TypeDeclFact(NamedTuple):
    """An interface or an object type alias (repository interfaces are picked among them)."""

    name: str
    kind: str  # "interface" | "type"
    line: int
    end_line: int
    methods: tuple[Method, ...] = ()
    extends: tuple[str, ...] = ()


class ClassFact(NamedTuple):
    name: str
    line: int
    end_line: int
    implements: tuple[str, ...] = ()
    extends: str | None = None
    methods: tuple[Method, ...] = ()  # public instance methods (incl. arrow-function properties)
    members: tuple[str, ...] = ()  # every member name (fields, private methods, ...)
    abstract: bool = False


class FactoryFact(NamedTuple):
    """An object literal with methods, returned by a function or assigned to a variable."""

    name: str  # function or variable name
    line: int
    end_line: int
    returns: str | None = None  # the annotated type (`(): UserRepository => ({...})`)
    methods: tuple[Method, ...] = ()
    kind: str = "function"  # "function" | "object"


class FuncFact(NamedTuple):
    """A named function, arrow function or method; `name` is its scope key ("f", "C.m")."""

    name: str
    line: int
    params: tuple[ParamT, ...] = ()
    return_type: str | None = None
    returns: tuple[ExprRef, ...] = ()


class VarFact(NamedTuple):
    """A binding whose value may matter across files: `x = new C()`, `x = f()`, `x: T`."""

    name: str  # "db" or "this.db"
    scope: str  # scope key of the declaring function, class name for "this.x", "" for the module
    line: int
    init: ExprRef | None = None
    type: str | None = None  # annotated type name, generics dropped


class RouterFact(NamedTuple):
    name: str  # variable ("app", "this.app", "default", "return")
    scope: str
    line: int
    framework: str
    base: Pieces = ()  # `.basePath('/api')` in the creating chain


class RouteFact(NamedTuple):
    receiver: str
    scope: str
    method: str  # upper case, "ALL" for .all
    path: Pieces
    line: int
    chain: Pieces = ()  # prefixes from `.basePath()`/`.route('/x')` between receiver and call
    from_decl: bool = False  # the chain starts at the router's creation (its base is in `chain`)
    framework: str = "unknown"
    handler_calls: tuple[str, ...] = ()


class MountFact(NamedTuple):
    """`receiver` mounts a router under `prefix` (route/use/register/basePath/call)."""

    receiver: str
    scope: str
    prefix: Pieces
    line: int
    target_kind: str  # "ident" | "member" | "call" | "module" | "param"
    target: str
    target_scope: str = ""
    index: int = 0  # argument index for target_kind "param"
    from_decl: bool = False
    via: str = "route"


class HttpCallFact(NamedTuple):
    """An HTTP request made in code (client detection)."""

    method: str
    path: Pieces
    line: int
    owner: str | None  # class, factory function or object variable holding the method
    name: str  # member path within the owner ("getUser", "users.get") or the function name
    decl_line: int
    params: tuple[ParamT, ...] = ()


class MemberCallFact(NamedTuple):
    """`root.a.b(...)`: root is an identifier, `this.x`, a call `f()` or `new C()`."""

    root: str
    root_kind: str  # "ident" | "this" | "call" | "new"
    root_scope: str
    path: tuple[str, ...]
    line: int
    symbol: str | None = None


class CallFact(NamedTuple):
    """A call of an imported function: `getUser(1)`."""

    callee: str
    line: int
    symbol: str | None = None


class FileFacts(BaseModel):
    path: str
    framework: str | None = None  # "hono" | "express" | "fastify" from the imports
    imports: list[ImportFact] = Field(default_factory=list)
    reexports: list[ReexportFact] = Field(default_factory=list)
    exports: dict[str, str] = Field(default_factory=dict)  # exported name -> local name
    consts: dict[str, Pieces] = Field(default_factory=dict)  # module-level string constants ("A", "API.users")
    types: list[TypeDeclFact] = Field(default_factory=list)
    classes: list[ClassFact] = Field(default_factory=list)
    factories: list[FactoryFact] = Field(default_factory=list)
    functions: list[FuncFact] = Field(default_factory=list)
    variables: list[VarFact] = Field(default_factory=list)
    routers: list[RouterFact] = Field(default_factory=list)
    routes: list[RouteFact] = Field(default_factory=list)
    mounts: list[MountFact] = Field(default_factory=list)
    http_calls: list[HttpCallFact] = Field(default_factory=list)
    member_calls: list[MemberCallFact] = Field(default_factory=list)
    calls: list[CallFact] = Field(default_factory=list)
    table_usage: list[TableUsage] = Field(default_factory=list)
    database_types: DatabaseTypes | None = None
    paths: list[str] = Field(default_factory=list)  # path-like string literals ("/users/1")
    suppressions: list[Suppression] = Field(default_factory=list)
    diagnostics: list[Diagnostic] = Field(default_factory=list)


# --------------------------------------------------------------------------- vocabulary

FN_TYPES = frozenset({
    "function_declaration", "generator_function_declaration", "function_expression",
    "arrow_function", "method_definition", "function", "generator_function",
})
CLASS_TYPES = frozenset({"class_declaration", "abstract_class_declaration", "class"})
BLOCK_TYPES = frozenset({"statement_block", "program"})
SCOPE_TYPES = FN_TYPES | BLOCK_TYPES
# Nodes between a function and what names it, see `_Extractor._fn_info`.
_FN_INFO_PASS = frozenset({
    "arguments", "object", "parenthesized_expression", "as_expression", "satisfies_expression",
    "await_expression", "non_null_expression", "return_statement", "class_body",
    "lexical_declaration", "variable_declaration",
})
_UNSET = object()
WRAPPERS = frozenset({
    "parenthesized_expression", "as_expression", "satisfies_expression", "non_null_expression",
    "await_expression", "type_assertion",
})
ROUTE_VERBS = {"get": "GET", "post": "POST", "put": "PUT", "patch": "PATCH", "delete": "DELETE",
               "del": "DELETE", "all": "ALL", "options": "OPTIONS", "head": "HEAD"}
HTTP_VERBS = {"get": "GET", "post": "POST", "put": "PUT", "patch": "PATCH", "delete": "DELETE",
              "head": "HEAD", "options": "OPTIONS"}
HTTP_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})
FETCH_NAMES = frozenset({
    "fetch", "$fetch", "ofetch", "ky", "axios", "got", "request", "_request", "doRequest",
    "sendRequest", "fetchJson", "fetchJSON", "requestJson", "apiFetch", "apiRequest", "call",
})
DENY_ROOTS = frozenset({
    "console", "JSON", "Math", "Object", "Array", "Promise", "Number", "String", "Date", "Reflect",
    "Symbol", "Buffer", "process", "window", "document", "globalThis", "Error", "Map", "Set",
    "URL", "URLSearchParams", "Intl", "RegExp", "BigInt", "Boolean",
})
NOT_TABLE_ROOTS = frozenset({"Array", "Buffer", "Object", "Promise", "Uint8Array", "Set", "Map"})
FILTER_METHODS = frozenset({
    "eq", "neq", "gt", "gte", "lt", "lte", "like", "ilike", "is", "in", "contains", "containedBy",
    "overlaps", "textSearch", "filter", "not", "order", "rangeGt", "rangeGte", "rangeLt", "rangeLte",
    "rangeAdjacent", "likeAllOf", "likeAnyOf", "ilikeAllOf", "ilikeAnyOf", "isDistinct",
})
HANDLER_PARAM_MEMBERS = frozenset({"req", "res", "raw", "header", "status", "json", "text", "body",
                                   "params", "query", "send", "code"})
AGGREGATES = frozenset({"count", "sum", "avg", "min", "max"})


def framework_of_module(module: str) -> str | None:
    if module == "hono" or module.startswith(("hono/", "@hono/")):
        return "hono"
    if module == "express" or module.startswith("express/"):
        return "express"
    if module in ("fastify", "fastify-plugin") or module.startswith("@fastify/"):
        return "fastify"
    return None


def framework_of_type(type_text: str | None) -> str | None:
    if not type_text:
        return None
    name = type_text.split("<", 1)[0].strip().rsplit(".", 1)[-1]
    if name in ("Hono", "OpenAPIHono"):
        return "hono"
    if name in ("Router", "Express", "Application", "IRouter"):
        return "express"
    if name.startswith("Fastify"):
        return "fastify"
    return None


# --------------------------------------------------------------------------- small helpers


# The source being extracted (set by `extract_file`): slicing it is cheaper than `node.text`.
_SOURCE: ContextVar[bytes | None] = ContextVar("dlcm_ts_source", default=None)


def _text(node) -> str:
    if node is None:
        return ""
    src = _SOURCE.get()
    if src is None:
        return node.text.decode("utf-8", "replace")
    return src[node.start_byte:node.end_byte].decode("utf-8", "replace")


def _line(node) -> int:
    return node.start_point[0] + 1


def _unwrap(node):
    while node is not None and node.type in WRAPPERS:
        inner = None
        for c in node.named_children:
            if c.type != "comment":
                inner = c
                break
        if inner is None:
            break
        node = inner
    return node


def _string_value(node) -> str | None:
    """Value of a string literal (or a template string without substitutions)."""
    if node is None:
        return None
    if node.type == "string":
        out = []
        for c in node.named_children:
            if c.type == "string_fragment":
                out.append(_text(c))
            elif c.type == "escape_sequence":
                t = _text(c)
                out.append({"\\n": "\n", "\\t": "\t", "\\r": "\r"}.get(t, t[1:]))
        return "".join(out)
    if node.type == "template_string":
        out = []
        for c in node.named_children:
            if c.type == "template_substitution":
                return None
            if c.type == "string_fragment":
                out.append(_text(c))
            elif c.type == "escape_sequence":
                out.append(_text(c)[1:])
        return "".join(out)
    if node.type == "literal_type":
        for c in node.named_children:
            return _string_value(c)
    return None


def _args(call, F: _Fields) -> list:
    a = call.child_by_field_id(F.arguments)
    if a is None or a.type != "arguments":
        return []
    return [c for c in a.named_children if c.type != "comment"]


def _prop_name(node) -> str | None:
    """Name of a property key: `a`, `'a'`, `#a`."""
    if node is None:
        return None
    t = node.type
    if t in ("property_identifier", "identifier", "private_property_identifier", "type_identifier",
             "shorthand_property_identifier"):
        return _text(node)
    if t == "string":
        return _string_value(node)
    if t == "number":
        return _text(node)
    return None


def _type_name(type_node) -> str | None:
    """`Foo`, `Foo<Bar>` -> "Foo"; `ns.Foo` -> "ns.Foo"; None for anything else."""
    if type_node is None:
        return None
    if type_node.type == "type_annotation":
        type_node = type_node.named_children[0] if type_node.named_children else None
        if type_node is None:
            return None
    t = type_node.type
    if t in ("type_identifier", "identifier"):
        return _text(type_node)
    if t == "nested_type_identifier":
        return _text(type_node)
    if t == "generic_type":
        return _type_name(type_node.child_by_field_name("name"))
    return None


def _annotation_text(type_annotation) -> str | None:
    if type_annotation is None:
        return None
    if type_annotation.type == "type_annotation":
        kids = type_annotation.named_children
        return _text(kids[0]) if kids else None
    return _text(type_annotation)


def _merge(pieces) -> Pieces:
    out: list[Piece] = []
    for k, v in pieces:
        if k == "lit" and out and out[-1][0] == "lit":
            out[-1] = ("lit", out[-1][1] + v)
        elif k == "lit" and not v:
            continue
        else:
            out.append((k, v))
    return tuple(out)


def pieces_text(pieces: Pieces) -> str:
    """Source-like rendering: literals as they are, everything else as `${...}`."""
    return "".join(v if k == "lit" else "${" + v + "}" for k, v in pieces)


def _pathish(pieces: Pieces, route: bool) -> bool:
    """A route path must start like one; an HTTP call path needs a literal with a slash."""
    if not pieces:
        return False
    if route:
        k, v = pieces[0]
        if k == "lit":
            return v.startswith("/") or v == "*" or v == ""
        return k == "ref"
    return any((k == "lit" and "/" in v) or k == "ref" for k, v in pieces)


def parse_params(params_node) -> tuple[ParamT, ...]:
    """Parameters of a function / method signature as (name, type, optional, rest)."""
    if params_node is None:
        return ()
    if params_node.type == "identifier":  # `x => ...`
        return ((_text(params_node), None, False, False),)
    out = []
    for p in params_node.named_children:
        if p.type not in ("required_parameter", "optional_parameter"):
            continue
        pat = p.child_by_field_name("pattern")
        typ = _annotation_text(p.child_by_field_name("type"))
        optional = p.type == "optional_parameter" or p.child_by_field_name("value") is not None
        rest = False
        if pat is not None and pat.type == "rest_pattern":
            rest = True
            inner = pat.named_children
            name = _text(inner[0]) if inner else _text(pat)
        else:
            name = _text(pat)
        if name == "this":
            continue
        out.append((name, typ, optional, rest))
    return tuple(out)


def _params_and_types(params_node, F: _Fields) -> tuple[tuple[ParamT, ...], dict]:
    """`parse_params(params_node)` and, by pattern text, the type node of the first parameter with that
    pattern (what `_type_name_from_text_node` finds), in one pass."""
    if params_node is None:
        return (), {}
    if params_node.type == "identifier":  # `x => ...`
        return ((_text(params_node), None, False, False),), {}
    out = []
    types: dict = {}
    for p in params_node.named_children:
        pt = p.type
        if pt != "required_parameter" and pt != "optional_parameter":
            continue
        pat = p.child_by_field_id(F.pattern)
        type_node = p.child_by_field_id(F.type)
        typ = _annotation_text(type_node)
        optional = pt == "optional_parameter" or p.child_by_field_id(F.value) is not None
        rest = False
        if pat is not None and pat.type == "rest_pattern":
            rest = True
            inner = pat.named_children
            name = _text(inner[0]) if inner else _text(pat)
            key = _text(pat)
        else:
            name = key = _text(pat)
        if pat is not None and key not in types:
            types[key] = type_node
        if name == "this":
            continue
        out.append((name, typ, optional, rest))
    return tuple(out), types


def _param_names(fn) -> list[tuple[str, object]]:
    """Identifiers bound by a function's parameters, with the node binding them."""
    single = fn.child_by_field_name("parameter")
    if single is not None:
        return [(_text(single), single)]
    params = fn.child_by_field_name("parameters")
    out = []
    if params is None:
        return out
    for p in params.named_children:
        if p.type not in ("required_parameter", "optional_parameter"):
            continue
        pat = p.child_by_field_name("pattern")
        if pat is None:
            continue
        for name in _pattern_names(pat):
            out.append((name, p))
    return out


def _pattern_names(pat) -> list[str]:
    t = pat.type
    if t in ("identifier", "shorthand_property_identifier_pattern"):
        return [_text(pat)]
    if t == "rest_pattern":
        return [n for c in pat.named_children for n in _pattern_names(c)]
    if t in ("object_pattern", "array_pattern"):
        out = []
        for c in pat.named_children:
            if c.type == "pair_pattern":
                v = c.child_by_field_name("value")
                if v is not None:
                    out += _pattern_names(v)
            elif c.type == "object_assignment_pattern":
                left = c.child_by_field_name("left")
                if left is not None:
                    out += _pattern_names(left)
            elif c.type == "assignment_pattern":
                left = c.child_by_field_name("left")
                if left is not None:
                    out += _pattern_names(left)
            else:
                out += _pattern_names(c)
        return out
    if t == "assignment_pattern":
        left = pat.child_by_field_name("left")
        return _pattern_names(left) if left is not None else []
    return []


def _to_params(ps: tuple[ParamT, ...]) -> list[Param]:
    return [Param(name=n, type=t, optional=o, rest=r) for n, t, o, r in ps]


def _method_from_fn(name: str, fn, decl, kind: str) -> Method:
    params = fn.child_by_field_name("parameters") or fn.child_by_field_name("parameter")
    rt = fn.child_by_field_name("return_type")
    return Method(name=name, params=_to_params(parse_params(params)), returns=_annotation_text(rt),
                  line=_line(decl), end_line=decl.end_point[0] + 1, kind=kind)


def parse_select(text: str) -> tuple[list[str], list[tuple[str, list[str]]]]:
    """PostgREST select string -> (columns, [(relation, columns), ...]) (nested relations flattened)."""
    cols: list[str] = []
    rels: list[tuple[str, list[str]]] = []
    for item in _split_top(text):
        item = item.strip()
        if not item:
            continue
        if item.startswith("..."):
            item = item[3:].strip()
        if "(" in item and item.endswith(")"):
            head, inner = item.split("(", 1)
            inner = inner[:-1]
            head = head.strip()
            if ":" in head:
                head = head.split(":", 1)[1]
            rel = head.split("!", 1)[0].strip()
            if not rel or (rel in AGGREGATES and not inner.strip()):
                if rel:
                    cols.append(rel)
                continue
            sub_cols, sub_rels = parse_select(inner)
            rels.append((rel, sub_cols))
            rels.extend(sub_rels)
            continue
        col = item.split("::", 1)[0]
        if ":" in col:
            col = col.split(":", 1)[1]
        col = col.split("->", 1)[0].split(".", 1)[0].strip().strip('"')
        if col and col not in cols:
            cols.append(col)
    return cols, rels


def _split_top(text: str) -> list[str]:
    out, depth, cur = [], 0, []
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            out.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    out.append("".join(cur))
    return out


def parse_suppression(body: str) -> tuple[list[str], str] | None:
    """`dlcm-ignore DLCM301, DLCM302: reason` -> (["DLCM301", "DLCM302"], "reason")."""
    mark = "dlcm-ignore"
    if not body.startswith(mark):
        return None
    rest = body[len(mark):]
    if rest and not rest[0].isspace() and rest[0] != ":":
        return None
    ids_part, _sep, reason = rest.partition(":")
    rules = [r for r in ids_part.replace(",", " ").split() if r]
    if not rules:
        return None
    return rules, reason.strip()


def _comment_body(raw: str) -> str:
    s = raw.strip()
    if s.startswith("//"):
        s = s[2:]
    elif s.startswith("/*"):
        s = s[2:]
        if s.endswith("*/"):
            s = s[:-2]
        s = s.strip().lstrip("*")
    return s.strip()


# --------------------------------------------------------------------------- extraction


# Anchors (see `_Extractor._anchors`): kinds, and the capture groups they come from.
_K_PROGRAM, _K_BLOCK, _K_FN, _K_CLASS = 0, 1, 2, 3  # scopes (program, blocks, functions) first
_ANCHOR_GROUPS = (("function", _K_FN), ("gen_function", _K_FN), ("block", _K_BLOCK), ("class", _K_CLASS),
                  ("class_expr", _K_CLASS))
_BYTE_RANGE = attrgetter("byte_range")


_POSITION = attrgetter("byte_range")  # (start_byte, end_byte), without a Python call per node


def _position(node) -> tuple[int, int]:
    return node.start_byte, node.end_byte  # a chain's inner calls first


def language_for(path: str) -> str:
    return "tsx" if path.endswith((".tsx", ".jsx")) else "ts"


def extract_file(path: str, source: bytes) -> FileFacts:
    """Everything dlcm needs from one `.ts`/`.tsx` file; never raises on bad syntax."""
    kind = language_for(path)
    parser, cursor = _tools(kind)
    if isinstance(source, (bytearray, memoryview)):
        source = bytes(source)
    tree = parser.parse(source)
    caps = _split_captures(cursor.captures(tree.root_node).get("node", ()), source, _FIELDS[kind])
    if b"dlcm-ignore" in source:  # else no comment can hold a suppression
        comments = _comment_cursor(kind).captures(tree.root_node).get("comment")
        if comments:
            comments.sort(key=_POSITION)
            caps["comment"] = comments
    token = _SOURCE.set(source)
    try:
        return _Extractor(path, tree.root_node, caps, source, kind).run()
    finally:
        _SOURCE.reset(token)


# node type -> group of `facts.scm` captures the extractor works on
_GROUP_OF = {
    "call_expression": "call", "variable_declarator": "var", "assignment_expression": "this_assign",
    "function_declaration": "function", "generator_function_declaration": "function",
    "function_expression": "function", "arrow_function": "function", "method_definition": "function",
    "return_statement": "return", "class_declaration": "class", "abstract_class_declaration": "class",
    "interface_declaration": "iface", "type_alias_declaration": "alias", "generic_type": "tables_generic",
    "lookup_type": "lookup", "string": "string", "template_string": "template",
    "generator_function": "gen_function", "statement_block": "block", "class": "class_expr",
}
_TABLES_GENERICS = frozenset({b"Tables", b"TablesInsert", b"TablesUpdate", b"TablesRow"})


def _split_captures(nodes, source: bytes, F: _Fields) -> dict[str, list]:
    """The query's nodes by group, each group in document order (a chain's inner calls first)."""
    caps: dict[str, list] = {}
    group_of = _GROUP_OF
    for node in nodes:
        group = group_of[node.type]
        if group == "this_assign":  # (assignment_expression left: (member_expression object: (this)))
            left = node.child_by_field_name("left")
            if left is None or left.type != "member_expression":
                continue
            obj = left.child_by_field_id(F.object)
            if obj is None or obj.type != "this":
                continue
        elif group == "tables_generic":  # (generic_type name: (type_identifier) (#any-of? ...))
            name = node.child_by_field_id(F.name)
            if name is None or name.type != "type_identifier" or \
                    source[name.start_byte:name.end_byte] not in _TABLES_GENERICS:
                continue
        got = caps.get(group)
        if got is None:
            caps[group] = [node]
        else:
            got.append(node)
    for group in caps.values():
        group.sort(key=_POSITION)
    return caps


class _Extractor:
    def __init__(self, path: str, root, caps: dict, source: bytes = b"", kind: str = "ts"):
        self.path = path
        self.F = _FIELDS[kind]
        self.source = source
        self.root = root
        self.caps = caps
        self.f = FileFacts(path=path)
        self.imports: dict[str, tuple[str, str]] = {}  # local -> (module, imported | "default" | "*")
        self._fninfo: dict[int, tuple] = {}
        self._decls: dict[int, dict] = {}
        self._member_calls: list[tuple] = []  # (start_byte, root, kind, path, line, root_decl)
        self._routes: list[tuple] = []  # (RouteFact, start_byte, end_byte, handler param names)
        self._param_mounts: list[tuple] = []  # (call, callee, callee name, index, argument, its name)
        self._routerish: set[tuple[str, str]] = set()
        self._router_keys: set[tuple[str, str]] = set()
        self._returns: dict[int, list] = {}  # function node id -> its return statements
        self._returns_at: dict[int, list] = {}  # the same lists by anchor index
        self._lookups: dict[tuple[str, int], tuple] = {}
        self._params: dict[int, list] = {}
        self._funcs: list[tuple[FuncFact, tuple[str, ...]]] = []  # kept when they matter (see run)
        self._class_names: set[str] = set()
        # Whether anything in the file may create a router (see `_creation`); decided after the imports.
        self._may_create = True
        self._has_base_path = True  # `basePath` occurs in the source
        self._anc = _UNSET  # see _anchors
        self._lookups_i: dict[tuple[str, int], tuple] = {}
        self._par: dict[int, object] = {}  # node id -> parent node
        self._fn_memo: dict[int, object] = {}  # node id -> enclosing function node
        self._class_memo: dict[int, object] = {}
        self._scope_memo: dict[int, object] = {}  # node id -> enclosing function or block

    # ------------------------------------------------------------------ driver

    def run(self) -> FileFacts:
        f = self.f
        caps = self.caps
        steps = [
            (self._program, None),
            (self._comment, "comment"),
            (self._class_name, "class"),
            (self._class, "class"),
            (lambda n: self._type_decl(n, "interface"), "iface"),
            (lambda n: self._type_decl(n, "type"), "alias"),
            (self._return, "return"),
            (self._function, "function"),
            (self._var, "var"),
            (self._this_assign, "this_assign"),
            (self._call, "call"),
            (self._tables_generic, "tables_generic"),
            (self._lookup_type, "lookup"),
            (self._strings, None),
            (self._finish_routes, None),
            (self._finish_functions, None),
        ]
        failed: Exception | None = None
        for step, capture in steps:
            if capture is None:
                try:
                    step()
                except (RecursionError, ValueError, AttributeError, TypeError, KeyError, IndexError) as e:
                    failed = failed or e
                continue
            for node in caps.get(capture, ()):
                try:
                    step(node)
                except (RecursionError, ValueError, AttributeError, TypeError, KeyError, IndexError) as e:
                    failed = failed or e  # one odd construct must not cost the whole file
        f.types.sort(key=_by_line)
        f.table_usage.sort(key=_by_line)
        if self.root.has_error:
            self._syntax_error()
        if failed is not None:
            f.diagnostics.append(Diagnostic(file=self.path, line=1, kind="ts-extract-error",
                                            message=f"part of the file could not be analysed: {type(failed).__name__}: {failed}"[:300]))
        return f

    def _class_name(self, node) -> None:
        n = node.child_by_field_name("name")
        if n is not None:
            self._class_names.add(_text(n))

    def _return(self, node) -> None:
        i = self._anchor_at(node)
        if i == -2:
            fn = self._nearest(node, FN_TYPES, self._fn_memo)
            if fn is not None:
                self._returns.setdefault(fn.id, []).append(node)
            return
        if i >= 0:
            i = self._anc[6][i]
        if i >= 0:
            by_anchor = self._returns_at.get(i)
            if by_anchor is None:
                by_anchor = self._returns_at[i] = self._returns.setdefault(self._anc[0][i].id, [])
            by_anchor.append(node)

    def _finish_functions(self) -> None:
        for ff_, pnames in self._funcs:  # functions that return something or take a router
            if ff_.returns or ff_.return_type or any((ff_.name, p) in self._routerish for p in pnames):
                self.f.functions.append(ff_)

    # ------------------------------------------------------------------ program level

    def _program(self) -> None:
        f = self.f
        for child in self.root.named_children:
            t = child.type
            if t == "import_statement":
                self._import(child)
            elif t == "export_statement":
                self._export(child)
            elif t == "lexical_declaration":
                self._top_consts(child)
        fw = None
        for imp in f.imports:
            fw = framework_of_module(imp.module)
            if fw:
                break
        f.framework = fw
        self._may_create = _may_create(self.source, self.imports)
        self._has_base_path = b"basePath" in self.source

    def _import(self, node) -> None:
        F = self.F
        src = _string_value(node.child_by_field_id(F.source))
        if src is None:
            return
        type_only = any(c.type == "type" for c in node.children if not c.is_named)
        default = namespace = None
        names: list[tuple[str, str]] = []
        for clause in node.named_children:
            if clause.type != "import_clause":
                continue
            for c in clause.named_children:
                if c.type == "identifier":
                    default = _text(c)
                    self.imports[default] = (src, "default")
                elif c.type == "namespace_import":
                    ids = [x for x in c.named_children if x.type == "identifier"]
                    if ids:
                        namespace = _text(ids[0])
                        self.imports[namespace] = (src, "*")
                elif c.type == "named_imports":
                    for spec in c.named_children:
                        if spec.type != "import_specifier":
                            continue
                        name = _prop_name(spec.child_by_field_id(F.name))
                        alias = spec.child_by_field_name("alias")
                        local = _text(alias) if alias is not None else name
                        if name:
                            names.append((name, local))
                            self.imports[local] = (src, name)
        self.f.imports.append(ImportFact(module=src, line=_line(node), default=default, namespace=namespace,
                                         names=tuple(names), type_only=type_only))

    def _export(self, node) -> None:
        F = self.F
        f = self.f
        src_node = node.child_by_field_id(F.source)
        if src_node is not None:
            src = _string_value(src_node) or ""
            names, star, ns = [], False, None
            for c in node.named_children:
                if c.type == "export_clause":
                    for spec in c.named_children:
                        if spec.type == "export_specifier":
                            name = _prop_name(spec.child_by_field_id(F.name))
                            alias = spec.child_by_field_name("alias")
                            if name:
                                names.append((name, _prop_name(alias) if alias is not None else name))
                elif c.type == "namespace_export":
                    ids = [x for x in c.named_children if x.type in ("identifier", "string")]
                    ns = _prop_name(ids[0]) if ids else None
            if not names and ns is None:
                star = True
            f.reexports.append(ReexportFact(module=src, line=_line(node), names=tuple(names), star=star, namespace=ns))
            return
        decl = node.child_by_field_id(F.declaration)
        if decl is not None and b"default" not in self.source[node.start_byte:decl.start_byte]:
            is_default = False  # no `default` keyword before the declaration
        else:
            is_default = any(c.type == "default" for c in node.children if not c.is_named)
        if decl is not None:
            if decl.type in ("lexical_declaration", "variable_declaration"):
                for d in decl.named_children:
                    if d.type == "variable_declarator":
                        n = d.child_by_field_id(F.name)
                        if n is not None and n.type == "identifier":
                            name = _text(n)
                            f.exports[name] = name
                if decl.type == "lexical_declaration":
                    self._top_consts(decl)
            else:
                n = decl.child_by_field_id(F.name)
                if n is not None:
                    name = _text(n)
                    f.exports["default" if is_default else name] = name
                elif is_default:
                    f.exports["default"] = "default"
            return
        for c in node.named_children:
            if c.type == "export_clause":
                for spec in c.named_children:
                    if spec.type == "export_specifier":
                        name = _prop_name(spec.child_by_field_id(F.name))
                        alias = spec.child_by_field_name("alias")
                        if name:
                            f.exports[_prop_name(alias) if alias is not None else name] = name
                return
        if is_default:
            val = node.child_by_field_id(F.value)
            if val is None:
                for c in node.named_children:
                    if c.type != "comment":
                        val = c
                        break
            if val is None:
                return
            if val.type == "identifier":
                f.exports["default"] = _text(val)
            elif val.type in ("class_declaration", "function_declaration", "class", "function_expression") \
                    and val.child_by_field_id(F.name) is not None:
                f.exports["default"] = _text(val.child_by_field_id(F.name))
            else:
                f.exports["default"] = "default"

    def _top_consts(self, decl) -> None:
        """Module-level `const X = '/users'` and `const API = { users: '/users' }` (for other files)."""
        F = self.F
        if not decl.children or decl.children[0].type != "const":
            return
        for d in decl.named_children:
            if d.type != "variable_declarator":
                continue
            n = d.child_by_field_id(F.name)
            v = _unwrap(d.child_by_field_id(F.value))
            if n is None or v is None or n.type != "identifier":
                continue
            self._const_value(_text(n), v, 0)

    def _const_value(self, name: str, v, depth: int) -> None:
        F = self.F
        if depth > 3:
            return
        if v.type in ("string", "template_string", "binary_expression"):
            p = self._pieces(v)
            if any(k == "lit" for k, _ in p):
                self.f.consts[name] = p
        elif v.type == "object":
            for pair in v.named_children:
                if pair.type != "pair":
                    continue
                key = _prop_name(pair.child_by_field_id(F.key))
                val = _unwrap(pair.child_by_field_id(F.value))
                if key and val is not None:
                    self._const_value(f"{name}.{key}", val, depth + 1)

    # ------------------------------------------------------------------ scopes

    # Ancestor queries walk `.parent` (tree-sitter finds a parent by descending from the root), so
    # their answers are memoised by node id; every node on a walked path gets the answer too.

    def _up(self, node):
        """`node.parent`, memoised."""
        par = self._par
        nid = node.id
        p = par.get(nid, _UNSET)
        if p is _UNSET:
            p = par[nid] = node.parent
        return p

    def _nearest(self, node, types: frozenset, memo: dict):
        """Closest proper ancestor of `node` whose type is in `types` (None at the root)."""
        got = memo.get(node.id, _UNSET)
        if got is not _UNSET:
            return got
        path = [node.id]
        par = self._par
        a = node
        found = None
        while True:
            aid = a.id
            p = par.get(aid, _UNSET)
            if p is _UNSET:
                p = par[aid] = a.parent
            if p is None:
                break
            if p.type in types:
                found = p
                break
            got = memo.get(p.id, _UNSET)
            if got is not _UNSET:
                found = got
                break
            path.append(p.id)
            a = p
        for nid in path:
            memo[nid] = found
        return found

    def _anchors(self):
        """Functions, blocks and classes by byte range, for ancestor queries without `.parent` walks.

        Tree nodes nest by byte range, so the closest function/block/class around a node is the
        innermost captured one whose range holds the node's. None (use `_nearest`) when the tree has
        errors or two such nodes share a range (nesting not decidable by ranges).
        """
        root = self.root
        if root.has_error:
            return None
        caps = self.caps
        found = [root]
        codes = [_K_PROGRAM]
        for name, code in _ANCHOR_GROUPS:
            got = caps.get(name)
            if got:
                found.extend(got)
                codes.extend([code] * len(got))
        keys = [(st, -en, i) for i, (st, en) in enumerate(map(_BYTE_RANGE, found))]
        keys.sort()  # by start, outer first
        n = len(keys)
        nodes = [None] * n
        starts = [0] * n
        ends = [0] * n
        kinds = [0] * n
        parent = [-1] * n
        scope_up = [-1] * n  # index of the closest function or block, the anchor itself included
        fn_up = [-1] * n  # ... of the closest function
        stack: list[int] = []
        prev_st = prev_en = -1
        for i, (st, neg_en, j) in enumerate(keys):
            en = -neg_en
            if st >= en or (st == prev_st and en == prev_en):
                return None
            prev_st, prev_en = st, en
            nodes[i] = found[j]
            starts[i] = st
            ends[i] = en
            k = kinds[i] = codes[j]
            while stack and ends[stack[-1]] < en:
                stack.pop()
            if stack:
                p = parent[i] = stack[-1]
                scope_up[i] = i if k <= _K_FN else scope_up[p]
                fn_up[i] = i if k == _K_FN else fn_up[p]
            else:
                scope_up[i] = i if k <= _K_FN else -1
                fn_up[i] = i if k == _K_FN else -1
            stack.append(i)
        return nodes, starts, ends, parent, kinds, scope_up, fn_up

    def _anchor_at(self, node) -> int:
        """Index in `_anc` of the innermost anchor strictly around `node`: -1 none, -2 undecidable."""
        anc = self._anc
        if anc is _UNSET:
            anc = self._anc = self._anchors()
        if anc is None:
            return -2
        starts = anc[1]
        ends = anc[2]
        parent = anc[3]
        st = node.start_byte
        en = node.end_byte
        if st >= en:
            return -2
        i = bisect_right(starts, st) - 1
        while i >= 0 and ends[i] < en:
            i = parent[i]
        if i >= 0 and ends[i] == en and starts[i] == st:
            if anc[0][i].id != node.id:
                return -2  # same range: ancestor or descendant?
            i = parent[i]
        return i

    def _nearest_class(self, node):
        i = self._anchor_at(node)
        if i == -2:
            return self._nearest(node, CLASS_TYPES, self._class_memo)
        anc = self._anc
        kinds = anc[4]
        parent = anc[3]
        while i >= 0 and kinds[i] != _K_CLASS:
            i = parent[i]
        return anc[0][i] if i >= 0 else None

    def _enclosing_fn(self, node):
        i = self._anchor_at(node)
        if i == -2:
            return self._nearest(node, FN_TYPES, self._fn_memo)
        if i >= 0:
            i = self._anc[6][i]
        return self._anc[0][i] if i >= 0 else None

    def _enclosing_class(self, node) -> str:
        a = self._nearest_class(node)
        if a is None:
            return ""
        n = a.child_by_field_name("name")
        return _text(n) if n is not None else "<class>"

    def _fn_info(self, fn) -> tuple[tuple, bool, str]:
        """(frames, named, scope key) of a function node.

        frames: ((kind, name, node), ...) outer to inner; kind "class" | "fn" | "member" | "obj".
        """
        F = self.F
        got = self._fninfo.get(fn.id)
        if got is not None:
            return got
        inner: list[tuple] = []  # inner to outer
        named = False
        t = fn.type
        if t in ("function_declaration", "generator_function_declaration"):
            n = fn.child_by_field_id(F.name)
            name = _text(n)
            if self._anchor_at(fn) == 0:
                # directly in the module (maybe exported): nothing between it and the root adds a frame
                got = self._fninfo[fn.id] = ((("fn", name, fn),), True, name)
                return got
            inner.append(("fn", name, fn))
            named = True
        elif t == "method_definition":
            inner.append(("member", _prop_name(fn.child_by_field_id(F.name)) or "?", fn))
            named = True
        pending = not named
        via_call = False
        up = self._up
        prev, a = fn, up(fn)
        base: tuple = ()
        while a is not None:
            at = a.type
            if at in FN_TYPES:
                base = self._fn_info(a)[0]
                break
            if at in CLASS_TYPES:
                n = a.child_by_field_id(F.name)
                inner.append(("class", _text(n) if n is not None else "<class>", a))
                pending = False
            elif at == "pair":
                key = a.child_by_field_id(F.key)
                if key is not None and prev.id != key.id and (pending or prev.type == "object"):
                    k = _prop_name(key)
                    if k:
                        inner.append(("member", k, a))
                        if pending:
                            named = True
                    pending = False
            elif at == "public_field_definition":
                if pending or prev.type == "object":
                    k = _prop_name(a.child_by_field_id(F.name))
                    if k:
                        inner.append(("member", k, a))
                        if pending:
                            named = True
                pending = False
            elif at == "variable_declarator":
                n = a.child_by_field_id(F.name)
                if n is not None and n.type == "identifier" and prev.id != n.id:
                    if pending and (not via_call or up(up(a)) is None or up(up(a)).type in ("program", "export_statement")):
                        inner.append(("fn", _text(n), a))
                        named = True
                    elif prev.type == "object":
                        inner.append(("obj", _text(n), a))
                pending = False
            elif at == "export_statement":
                if pending:
                    inner.append(("fn", "default", a))
                    named = True
                pending = False
            elif at == "call_expression":
                if pending:
                    callee = a.child_by_field_id(F.function)
                    if callee is not None and callee.type == "identifier":
                        via_call = True
                    else:
                        pending = False
            elif at in _FN_INFO_PASS:
                pass
            else:
                pending = False
            prev, a = a, up(a)
        frames = tuple(base) + tuple(reversed(inner))
        if named:
            key = ".".join(x[1] for x in frames)
        else:
            prefix = ".".join(x[1] for x in frames)
            key = f"{prefix}@{fn.start_point[0] + 1}:{fn.start_point[1]}"
        got = (frames, named, key)
        self._fninfo[fn.id] = got
        return got

    def _fn_named(self, fn) -> bool:
        """`_fn_info(fn)[1]` without walking further than needed: mirrors its naming rules."""
        F = self.F
        t = fn.type
        if t in ("function_declaration", "generator_function_declaration", "method_definition"):
            return True
        up = self._up
        via_call = False
        prev, a = fn, up(fn)
        while a is not None:  # `pending` is true all along: the loop returns as soon as it is not
            at = a.type
            if at in FN_TYPES or at in CLASS_TYPES:
                return False
            if at == "pair":
                key = a.child_by_field_id(F.key)
                if key is not None and prev.id != key.id:
                    return bool(_prop_name(key))
            elif at == "public_field_definition":
                return bool(_prop_name(a.child_by_field_id(F.name)))
            elif at == "variable_declarator":
                n = a.child_by_field_id(F.name)
                if n is not None and n.type == "identifier" and prev.id != n.id:
                    return not via_call or up(up(a)) is None or up(up(a)).type in ("program", "export_statement")
                return False
            elif at == "export_statement":
                return True
            elif at == "call_expression":
                callee = a.child_by_field_id(F.function)
                if callee is not None and callee.type == "identifier":
                    via_call = True
                else:
                    return False
            elif at not in _FN_INFO_PASS:
                return False
            prev, a = a, up(a)
        return False

    def _scope_of_node(self, node) -> str:
        fn = node if node.type in FN_TYPES else self._enclosing_fn(node)
        return self._fn_info(fn)[2] if fn is not None else ""

    def _symbol(self, node) -> str | None:
        fn = self._enclosing_fn(node)
        if fn is None:
            return None
        frames = self._fn_info(fn)[0]
        return ".".join(x[1] for x in frames) or None

    def _block_decls(self, block) -> dict:
        got = self._decls.get(block.id)
        if got is not None:
            return got
        out: dict[str, tuple] = {}
        for c in block.named_children:
            self._collect_decl(c, out)
        if block.type == "program":
            for local in self.imports:
                out.setdefault(local, ("import", None))
        self._decls[block.id] = out
        return out

    def _collect_decl(self, c, out: dict) -> None:
        F = self.F
        t = c.type
        if t in ("lexical_declaration", "variable_declaration"):
            for d in c.named_children:
                if d.type == "variable_declarator":
                    n = d.child_by_field_id(F.name)
                    if n is not None:
                        for name in _pattern_names(n):
                            out[name] = ("var", d)
        elif t in ("function_declaration", "generator_function_declaration"):
            n = c.child_by_field_id(F.name)
            if n is not None:
                out[_text(n)] = ("func", c)
        elif t in ("class_declaration", "abstract_class_declaration"):
            n = c.child_by_field_id(F.name)
            if n is not None:
                out[_text(n)] = ("class", c)
        elif t == "export_statement":
            d = c.child_by_field_id(F.declaration)
            if d is not None:
                self._collect_decl(d, out)
            else:
                for x in c.named_children:
                    if x.type in ("class_declaration", "function_declaration"):
                        self._collect_decl(x, out)

    def lookup(self, name: str, node) -> tuple[str, str, object]:
        """Where `name` is declared as seen from `node`: (scope key, kind, declaring node).

        kind: "param" | "var" | "func" | "class" | "import" | "global".
        """
        i = self._anchor_at(node)
        if i == -2:
            a = self._nearest(node, SCOPE_TYPES, self._scope_memo)
            if a is None:
                return "", "global", None
            return self._lookup_at(name, a)
        if i >= 0:
            i = self._anc[5][i]
        if i < 0:
            return "", "global", None
        got = self._lookups_i.get((name, i))
        return got if got is not None else self._lookup_idx(name, i)

    def _lookup_idx(self, name: str, i: int) -> tuple[str, str, object]:
        """`_lookup_at` for the anchor at index `i` (a function or a block)."""
        key = (name, i)
        got = self._lookups_i.get(key)
        if got is not None:
            return got
        nodes, _starts, _ends, parent, kinds, scope_up, _fn_up = self._anc
        a = nodes[i]
        got = None
        if kinds[i] == _K_FN:
            for pname, pnode in self._params_of(a):
                if pname == name:
                    got = (self._fn_info(a)[2], "param", pnode)
                    break
        else:
            d = self._block_decls(a).get(name)
            if d is not None:
                owner = None
                if kinds[i] != _K_PROGRAM:
                    j = parent[i]
                    j = _fn_up[j] if j >= 0 else -1
                    owner = nodes[j] if j >= 0 else None
                got = ((self._fn_info(owner)[2] if owner is not None else ""), d[0], d[1])
        if got is None:
            j = parent[i]
            j = scope_up[j] if j >= 0 else -1
            got = self._lookup_idx(name, j) if j >= 0 else ("", "global", None)
        self._lookups_i[key] = got
        return got

    def _lookup_at(self, name: str, a) -> tuple[str, str, object]:
        key = (name, a.id)
        got = self._lookups.get(key)
        if got is not None:
            return got
        got = None
        if a.type in FN_TYPES:
            for pname, pnode in self._params_of(a):
                if pname == name:
                    got = (self._fn_info(a)[2], "param", pnode)
                    break
        else:
            d = self._block_decls(a).get(name)
            if d is not None:
                owner = self._enclosing_fn(a) if a.type != "program" else None
                got = ((self._fn_info(owner)[2] if owner is not None else ""), d[0], d[1])
        if got is None:
            got = self.lookup(name, a)
        self._lookups[key] = got
        return got

    def _params_of(self, fn) -> list:
        got = self._params.get(fn.id)
        if got is None:
            got = self._params[fn.id] = _param_names(fn)
        return got

    # ------------------------------------------------------------------ pieces (paths)

    def _pieces(self, node, depth: int = 0) -> Pieces:
        return _merge(self._pieces_raw(node, depth))

    def _pieces_raw(self, node, depth: int) -> list[Piece]:
        if node is None:
            return []
        t = node.type
        if t == "string":
            return [("lit", _string_value(node) or "")]
        if t == "template_string":
            out: list[Piece] = []
            for c in node.named_children:
                if c.type == "string_fragment":
                    out.append(("lit", _text(c)))
                elif c.type == "escape_sequence":
                    out.append(("lit", _text(c)[1:]))
                elif c.type == "template_substitution":
                    kids = [k for k in c.named_children if k.type != "comment"]
                    if kids:
                        out.extend(self._pieces_raw(kids[0], depth + 1))
            return out
        if t == "binary_expression":
            op = node.child_by_field_name("operator")
            if op is not None and _text(op) == "+":
                return self._pieces_raw(node.child_by_field_name("left"), depth) + \
                    self._pieces_raw(node.child_by_field_name("right"), depth)
            return [("param", _text(node)[:80])]
        if t in WRAPPERS:
            inner = _unwrap(node)
            return self._pieces_raw(inner, depth) if inner is not node else [("param", _text(node)[:80])]
        if depth > 6:
            return [("param", _text(node)[:80])]
        if t == "identifier":
            name = _text(node)
            scope, kind, decl = self.lookup(name, node)
            if kind == "var" and decl is not None and decl.type == "variable_declarator" and _is_const(decl):
                v = _unwrap(decl.child_by_field_name("value"))
                if v is not None and v.type in ("string", "template_string", "binary_expression", "identifier",
                                                "member_expression"):
                    return self._pieces_raw(v, depth + 1)
            if kind == "import":
                return [("ref", name)]
            return [("param", name)]
        if t == "member_expression":
            obj = node.child_by_field_name("object")
            prop = _prop_name(node.child_by_field_name("property"))
            if obj is not None and prop:
                if obj.type == "this":
                    v = self._class_field_value(node, prop)
                    if v is not None:
                        return self._pieces_raw(v, depth + 1)
                elif obj.type == "identifier":
                    oname = _text(obj)
                    scope, kind, decl = self.lookup(oname, node)
                    if kind == "var" and decl is not None and _is_const(decl):
                        v = _unwrap(decl.child_by_field_name("value"))
                        if v is not None and v.type == "object":
                            pv = _object_value(v, prop)
                            if pv is not None:
                                return self._pieces_raw(pv, depth + 1)
                    if kind == "import":
                        return [("ref", f"{oname}.{prop}")]
                elif obj.type == "member_expression":
                    # A.b.c on an imported namespace-like constant
                    root = obj
                    parts = [prop]
                    while root.type == "member_expression":
                        parts.append(_prop_name(root.child_by_field_name("property")) or "?")
                        root = root.child_by_field_name("object")
                    if root is not None and root.type == "identifier":
                        rname = _text(root)
                        scope, kind, decl = self.lookup(rname, node)
                        if kind == "import":
                            return [("ref", ".".join([rname] + list(reversed(parts))))]
                        if kind == "var" and decl is not None and _is_const(decl):
                            v = _unwrap(decl.child_by_field_name("value"))
                            for p in reversed(parts):
                                if v is None or v.type != "object":
                                    v = None
                                    break
                                v = _object_value(v, p)
                                v = _unwrap(v) if v is not None else None
                            if v is not None:
                                return self._pieces_raw(v, depth + 1)
            return [("param", _text(node)[:80])]
        return [("param", _text(node)[:80])]

    def _class_field_value(self, node, prop: str):
        a = node.parent
        while a is not None and a.type not in CLASS_TYPES:
            a = a.parent
        if a is None:
            return None
        body = a.child_by_field_name("body")
        if body is None:
            return None
        for m in body.named_children:
            if m.type == "public_field_definition" and _prop_name(m.child_by_field_name("name")) == prop:
                v = _unwrap(m.child_by_field_name("value"))
                if v is not None and v.type in ("string", "template_string", "binary_expression"):
                    return v
        return None

    # ------------------------------------------------------------------ comments, strings, errors

    def _comment(self, node) -> None:
        raw = _text(node)
        if "dlcm-ignore" not in raw:
            return
        parsed = parse_suppression(_comment_body(raw))
        if parsed is None:
            return
        self.f.suppressions.append(Suppression(file=self.path, line=_line(node), rules=parsed[0], reason=parsed[1]))

    def _strings(self) -> None:
        seen: dict[str, None] = {}
        src = self.source
        for node in self.caps.get("string", ()):
            sb = node.start_byte
            if src[sb:sb + 1] in (b"'", b'"') and src[sb + 1:sb + 2] not in (b"/", b"\\"):
                continue  # the value cannot start with "/"
            p = node.parent
            if p is not None and p.type in ("import_statement", "export_statement", "literal_type"):
                continue
            v = _string_value(node)
            if v and v.startswith("/") and len(v) <= 200 and not any(ch.isspace() for ch in v):
                seen[v] = None
        for node in self.caps.get("template", ()):
            sb = node.start_byte
            if src[sb:sb + 1] == b"`" and src[sb + 1:sb + 2] != b"/":
                continue  # no leading fragment starting with "/"
            kids = node.named_children
            if not kids or kids[0].type != "string_fragment" or not _text(kids[0]).startswith("/"):
                continue
            v = "".join(_text(k) if k.type == "string_fragment" else "${" + _text(k)[2:-1] + "}"
                        for k in kids if k.type in ("string_fragment", "template_substitution"))
            if len(v) <= 200 and not any(ch.isspace() for ch in v):
                seen[v] = None
        self.f.paths = list(seen)

    def _syntax_error(self) -> None:
        found = next(_error_nodes(self.root), None)
        if found is None:
            return
        while not found.is_missing:  # an ERROR wrapping a whole statement: the innermost problem
            inner = next(_error_nodes(found), None)
            if inner is None:
                break
            found = inner
        if found.is_missing:
            msg = f"syntax error: missing `{found.type}`"
        else:
            snippet = _text(found).strip().splitlines()[0][:40] if _text(found).strip() else ""
            msg = "syntax error" + (f" near `{snippet}`" if snippet else "")
        self.f.diagnostics.append(Diagnostic(file=self.path, line=_line(found), kind="ts-parse-error",
                                             message=msg + "; the rest of the file was read as far as possible"))

    # ------------------------------------------------------------------ types and classes

    def _class(self, node) -> None:
        F = self.F
        name_node = node.child_by_field_id(F.name)
        if name_node is None:
            return
        name = _text(name_node)
        implements: list[str] = []
        extends = None
        for c in node.named_children:
            if c.type != "class_heritage":
                continue
            for h in c.named_children:
                if h.type == "extends_clause":
                    v = h.child_by_field_id(F.value)
                    if v is not None:
                        extends = _text(v).split("<", 1)[0].strip()
                elif h.type == "implements_clause":
                    for ty in h.named_children:
                        tn = _type_name(ty)
                        if tn:
                            implements.append(tn.rsplit(".", 1)[-1])
        body = node.child_by_field_id(F.body)
        methods: list[Method] = []
        members: list[str] = []
        if body is not None:
            for m in body.named_children:
                t = m.type
                if t == "method_definition":
                    mname = _prop_name(m.child_by_field_id(F.name))
                    if not mname:
                        continue
                    members.append(mname)
                    if mname == "constructor":
                        self._ctor_params(m, name)
                        continue
                    if _hidden_member(m) or any(c.type in ("get", "set") for c in m.children if not c.is_named):
                        continue
                    methods.append(_method_from_fn(mname, m, m, "method"))
                elif t in ("abstract_method_signature",):
                    mname = _prop_name(m.child_by_field_id(F.name))
                    if mname:
                        members.append(mname)
                        if not _hidden_member(m):
                            methods.append(_method_from_fn(mname, m, m, "method"))
                elif t == "public_field_definition":
                    mname = _prop_name(m.child_by_field_id(F.name))
                    if not mname:
                        continue
                    members.append(mname)
                    v = _unwrap(m.child_by_field_id(F.value))
                    typ = m.child_by_field_id(F.type)
                    if v is not None and v.type in ("arrow_function", "function_expression", "function") \
                            and not _hidden_member(m):
                        methods.append(_method_from_fn(mname, v, m, "arrow"))
                    self._binding(f"this.{mname}", name, m, v, typ)
        self.f.classes.append(ClassFact(
            name=name, line=_line(node), end_line=node.end_point[0] + 1, implements=tuple(implements),
            extends=extends, methods=tuple(methods), members=tuple(members),
            abstract=node.type == "abstract_class_declaration"))

    def _ctor_params(self, ctor, cls: str) -> None:
        params = ctor.child_by_field_name("parameters")
        if params is None:
            return
        for p in params.named_children:
            if p.type not in ("required_parameter", "optional_parameter"):
                continue
            is_prop = any(c.type == "accessibility_modifier" for c in p.named_children) or \
                any(c.type in ("readonly", "override") for c in p.children if not c.is_named)
            pat = p.child_by_field_name("pattern")
            if not is_prop or pat is None or pat.type != "identifier":
                continue
            typ = _type_name(p.child_by_field_name("type"))
            if typ and self._interesting_type(typ):
                self.f.variables.append(VarFact(name=f"this.{_text(pat)}", scope=cls, line=_line(p), type=typ))

    def _type_decl(self, node, kind: str) -> None:
        name_node = node.child_by_field_name("name")
        if name_node is None:
            return
        name = _text(name_node)
        extends: list[str] = []
        bodies = []
        if kind == "interface":
            body = node.child_by_field_name("body")
            if body is not None:
                bodies.append(body)
            for c in node.named_children:
                if c.type == "extends_type_clause":
                    for ty in c.named_children:
                        tn = _type_name(ty)
                        if tn:
                            extends.append(tn.rsplit(".", 1)[-1])
        else:
            v = node.child_by_field_name("value")
            if v is None:
                return
            if v.type == "object_type":
                bodies.append(v)
            elif v.type == "intersection_type":
                for part in v.named_children:
                    if part.type == "object_type":
                        bodies.append(part)
                    else:
                        tn = _type_name(part)
                        if tn:
                            extends.append(tn.rsplit(".", 1)[-1])
            else:
                return
            if name == "Database" or (not bodies and not extends):
                if name == "Database":
                    self._database_types(v)
                if not bodies and not extends:
                    return
        if kind == "interface" and name == "Database" and bodies:
            self._database_types(bodies[0])
        methods: list[Method] = []
        for body in bodies:
            for m in body.named_children:
                if m.type == "method_signature":
                    mname = _prop_name(m.child_by_field_name("name"))
                    if mname:
                        methods.append(_method_from_fn(mname, m, m, "method"))
                elif m.type == "property_signature":
                    mname = _prop_name(m.child_by_field_name("name"))
                    ta = m.child_by_field_name("type")
                    ft = ta.named_children[0] if ta is not None and ta.named_children else None
                    if mname and ft is not None and ft.type == "function_type":
                        params = ft.child_by_field_name("parameters")
                        rt = ft.child_by_field_name("return_type")
                        methods.append(Method(name=mname, params=_to_params(parse_params(params)),
                                              returns=_annotation_text(rt), line=_line(m),
                                              end_line=m.end_point[0] + 1, kind="property"))
        if not methods and not extends:
            return  # plain data shapes (`interface User { id: string }`) are not contracts
        self.f.types.append(TypeDeclFact(name=name, kind=kind, line=_line(node), end_line=node.end_point[0] + 1,
                                         methods=tuple(methods), extends=tuple(extends)))

    # ------------------------------------------------------------------ database.types.ts

    def _database_types(self, obj) -> None:
        if obj is None or obj.type not in ("object_type", "interface_body"):
            return
        dt = DatabaseTypes(file=self.path)
        for schema_sig in _props(obj):
            schema = _prop_name(schema_sig.child_by_field_name("name"))
            sobj = _prop_type(schema_sig)
            if not schema or sobj is None or sobj.type != "object_type":
                continue
            for sect in _props(sobj):
                sname = _prop_name(sect.child_by_field_name("name"))
                sbody = _prop_type(sect)
                if sbody is None or sbody.type != "object_type":
                    continue
                if sname in ("Tables", "Views"):
                    for tsig in _props(sbody):
                        tname = _prop_name(tsig.child_by_field_name("name"))
                        tbody = _prop_type(tsig)
                        if not tname or tbody is None or tbody.type != "object_type":
                            continue
                        table = TypeTable(schema=schema, name=tname, kind="table" if sname == "Tables" else "view",
                                          line=_line(tsig))
                        for part in _props(tbody):
                            pname = _prop_name(part.child_by_field_name("name"))
                            pbody = _prop_type(part)
                            if pname not in ("Row", "Insert", "Update") or pbody is None or pbody.type != "object_type":
                                continue
                            cols = {}
                            for col in _props(pbody):
                                cname = _prop_name(col.child_by_field_name("name"))
                                ctype = _prop_type(col)
                                if not cname or ctype is None:
                                    continue
                                nullable = ctype.type == "union_type" and any(
                                    u.type == "literal_type" and u.named_children and u.named_children[0].type == "null"
                                    for u in _union_members(ctype))
                                cols[cname] = TypeColumn(
                                    name=cname, ts_type=_text(ctype), line=_line(col), nullable=nullable,
                                    optional=any(c.type == "?" for c in col.children if not c.is_named))
                            setattr(table, pname.lower(), cols)
                        dt.tables[f"{schema}.{tname}"] = table
                elif sname == "Enums":
                    for esig in _props(sbody):
                        ename = _prop_name(esig.child_by_field_name("name"))
                        etype = _prop_type(esig)
                        if not ename or etype is None:
                            continue
                        vals = [_string_value(u) for u in _union_members(etype)]
                        dt.enums[f"{schema}.{ename}"] = [v for v in vals if v is not None]
                elif sname == "Functions":
                    for fsig in _props(sbody):
                        fname = _prop_name(fsig.child_by_field_name("name"))
                        if fname:
                            dt.functions.append(f"{schema}.{fname}")
        if dt.tables or dt.enums or dt.functions:
            self.f.database_types = dt

    # ------------------------------------------------------------------ functions and bindings

    def _function(self, fn) -> None:
        F = self.F
        params = fn.child_by_field_id(F.parameters) or fn.child_by_field_id(F.parameter)
        ps = None
        typed = []
        if params is not None and params.type != "identifier" and any(
                p.child_by_field_id(F.type) is not None for p in params.named_children
                if p.type == "required_parameter" or p.type == "optional_parameter"):
            ps, type_nodes = _params_and_types(params, F)
            for pname, ptype, _o, _r in ps:
                if ptype:
                    tn = _type_name(type_nodes[pname]) if pname in type_nodes else None
                    if tn and self._interesting_type(tn):
                        typed.append((pname, tn))
        if not typed and not self._may_create and not self._fn_named(fn):
            return  # what an unnamed function returns does not matter (unless it creates a router)
        frames, named, key = self._fn_info(fn)
        for pname, tn in typed:
            self.f.variables.append(VarFact(name=pname, scope=key, line=_line(fn), type=tn))
        if not named and not self._may_create:
            return  # what it returns only matters for named functions (or when it creates a router)
        rets: list[ExprRef] = []
        body = fn.child_by_field_id(F.body)
        ret_nodes = []
        if body is not None and body.type != "statement_block":
            ret_nodes.append(body)
        for r in self._returns.get(fn.id, ()):
            kids = [k for k in r.named_children if k.type != "comment"]
            if kids:
                ret_nodes.append(kids[0])
        obj_returned = None
        for rn in ret_nodes:
            ref = self._expr_ref(rn)
            if ref is not None:
                rets.append(ref)
            u = _unwrap(rn)
            if u is not None and u.type == "object" and obj_returned is None:
                obj_returned = u
        if not named:
            return
        rt = fn.child_by_field_id(F.return_type)
        rtype = _type_name(rt)
        if rtype == "Promise" and rt is not None:
            rtype = _promise_arg(rt)
        if rtype is not None and not self._interesting_type(rtype):
            rtype = None
        if ps is None:
            ps = _params_and_types(params, F)[0]
        self._funcs.append((FuncFact(name=key, line=_line(fn), params=ps, return_type=rtype, returns=tuple(rets)),
                            tuple(p[0] for p in ps)))
        if obj_returned is not None and fn.type != "method_definition":
            methods = _object_methods(obj_returned)
            if methods:
                self.f.factories.append(FactoryFact(name=key, line=_line(fn), end_line=fn.end_point[0] + 1,
                                                    returns=rtype, methods=tuple(methods), kind="function"))

    def _interesting_type(self, name: str) -> bool:
        """A type that may be a client class or a router: imported, a class of this file, or qualified."""
        head = name.split(".", 1)[0]
        return head in self.imports or head in self._class_names or "." in name

    def _expr_ref(self, node) -> ExprRef | None:
        """What an expression evaluates to, as far as one file can tell."""
        F = self.F
        v = _unwrap(node)
        if v is None:
            return None
        t = v.type
        if t == "new_expression":
            ctor = v.child_by_field_id(F.constructor)
            if ctor is None:
                return None
            if self._creation(v):
                return ("router", *self._ensure_router(v))
            text = _dotted(ctor, self.F)
            if text is None:
                return None
            scope, kind, _d = self.lookup(text.split(".", 1)[0], v)
            return ("new", text, scope) if kind != "global" else None
        if t == "call_expression":
            if self._may_create:
                root_node, chain = self._chain(v)
                if self._creation(root_node):
                    return ("router", *self._ensure_router(root_node))
            text = _dotted(v.child_by_field_id(self.F.function), self.F)
            if text is None or text.count(".") > 1:
                return None
            head = text.split(".", 1)[0]
            if head == "this":
                return ("call", text, self._enclosing_class(v))
            scope, kind, _d = self.lookup(head, v)
            return ("call", text, scope) if kind != "global" else None
        if t == "identifier":
            scope, kind, _d = self.lookup(_text(v), v)
            return ("ident", _text(v), scope) if kind != "global" else None
        if t == "member_expression":
            text = _dotted(v, self.F)
            if text is None:
                return None
            head = text.split(".", 1)[0]
            if head == "this":
                return ("member", text, self._enclosing_class(v))
            scope, kind, _d = self.lookup(head, v)
            return ("member", text, scope) if kind != "global" else None
        if t == "object":
            return ("object", "", "")
        return None

    def _binding(self, name: str, scope: str | None, node, value, type_node) -> None:
        """Record a binding's value: router creation, instance, typed variable.

        `scope` None: the scope of `node` (only worked out when something is recorded).
        """
        if value is not None and self._may_create:
            root, chain = self._chain(value)
            if root is not None and self._creation(root):
                self._ensure_router(root)
                return
        ref = self._expr_ref(value) if value is not None else None
        typ = _type_name(type_node)
        if typ is not None and not self._interesting_type(typ):
            typ = None
        if ref is not None and ref[0] == "object":
            ref = None
        if ref is None and not typ:
            return
        if scope is None:
            scope = self._scope_of_node(node)
        self.f.variables.append(VarFact(name=name, scope=scope, line=_line(node), init=ref, type=typ))

    def _ensure_router(self, creation) -> tuple[str, str]:
        """Record the router created by `creation` (once) with the basePath of its creating chain."""
        owner = self._creation_owner(creation)
        if owner in self._router_keys:
            return owner
        base: list[Piece] = []
        top = creation
        while True:
            p = top.parent
            if p is None:
                break
            if p.type in WRAPPERS:
                top = p
                continue
            if p.type == "member_expression" and p.child_by_field_name("object").id == top.id:
                gp = p.parent
                if gp is not None and gp.type == "call_expression" and gp.child_by_field_name("function").id == p.id:
                    if _prop_name(p.child_by_field_name("property")) == "basePath":
                        a = _args(gp, self.F)
                        if a:
                            base.extend(self._pieces(a[0]))
                    top = gp
                    continue
            break
        self.f.routers.append(RouterFact(name=owner[0], scope=owner[1], line=_line(creation),
                                         framework=self._creation(creation) or "unknown", base=_merge(base)))
        self._router_keys.add(owner)
        self._routerish.add((owner[1], owner[0]))
        return owner

    def _var(self, d) -> None:
        F = self.F
        n = d.child_by_field_id(F.name)
        if n is None:
            return
        value = d.child_by_field_id(F.value)
        typ = d.child_by_field_id(F.type)
        if n.type != "identifier":
            return
        name = _text(n)
        v = _unwrap(value)
        if v is None:
            self._binding(name, None, d, v, typ)
            return
        vt = v.type
        if vt == "object":
            methods = _object_methods(v)
            if methods:
                scope = self._scope_of_node(d)
                self.f.factories.append(FactoryFact(name=name if not scope else f"{scope}.{name}", line=_line(d),
                                                    end_line=d.end_point[0] + 1, returns=_type_name(typ) or
                                                    _satisfies_type(value), methods=tuple(methods), kind="object"))
        # `const api = app.basePath('/api')`: api is app under a prefix
        elif vt == "call_expression" and self._has_base_path:
            root, chain = self._chain(v)
            if root is not None and root.type in ("identifier", "member_expression") and \
                    any(p == "basePath" for p, _c in chain):
                recv = self._receiver(root)
                if recv is not None:
                    scope = self._scope_of_node(d)
                    prefix: list[Piece] = []
                    for prop, call in chain:
                        a = _args(call, self.F)
                        if prop == "basePath" and a:
                            prefix.extend(self._pieces(a[0]))
                    self.f.mounts.append(MountFact(receiver=recv[0], scope=recv[1], prefix=_merge(prefix),
                                                   line=_line(d), target_kind="ident", target=name,
                                                   target_scope=scope, via="basePath"))
                    self._routerish.add((recv[1], recv[0]))
                    self._routerish.add((scope, name))
                    return
        self._binding(name, None, d, v, typ)

    def _this_assign(self, node) -> None:
        F = self.F
        left = node.child_by_field_name("left")
        prop = _prop_name(left.child_by_field_id(F.property)) if left is not None else None
        if not prop:
            return
        cls = self._enclosing_class(node)
        if not cls:
            return
        self._binding(f"this.{prop}", cls, node, _unwrap(node.child_by_field_name("right")), None)

    # ------------------------------------------------------------------ routers

    def _chain(self, node):
        return _chain(node, self._creation if self._may_create else None)

    def _creation(self, node) -> str | None:
        """Framework when `node` creates a router/app: new Hono(), express(), Router(), Fastify()."""
        if node is None or not self._may_create:
            return None
        t = node.type
        if t == "new_expression":
            ctor = node.child_by_field_name("constructor")
            if ctor is None:
                return None
            name = _text(ctor)
            imp = self.imports.get(name)
            if name in ("Hono", "OpenAPIHono"):
                return "hono"
            if imp and framework_of_module(imp[0]) == "hono" and imp[1] in ("Hono", "OpenAPIHono", "default"):
                return "hono"
            if name == "express.Router":
                return "express"
            return None
        if t == "call_expression":
            callee = node.child_by_field_name("function")
            if callee is None:
                return None
            if callee.type == "identifier":
                name = _text(callee)
                imp = self.imports.get(name)
                if imp:
                    fw = framework_of_module(imp[0])
                    if fw == "express" and imp[1] in ("default", "Router", "*"):
                        return "express"
                    if fw == "fastify" and imp[1] in ("default", "fastify", "Fastify") and imp[0] == "fastify":
                        return "fastify"
                    return None
                if name in ("express", "Router"):
                    return "express"
                if name in ("Fastify", "fastify"):
                    return "fastify"
                return None
            if callee.type == "member_expression" and _prop_name(callee.child_by_field_name("property")) == "Router":
                obj = callee.child_by_field_name("object")
                if obj is not None and obj.type == "identifier":
                    imp = self.imports.get(_text(obj))
                    if _text(obj) == "express" or (imp and framework_of_module(imp[0]) == "express"):
                        return "express"
        return None

    def _creation_owner(self, creation) -> tuple[str, str]:
        """(name, scope) of the router created by `creation`: the variable it ends up in."""
        top = creation
        while True:
            p = top.parent
            if p is None:
                break
            if p.type == "member_expression" and p.child_by_field_name("object") is not None \
                    and p.child_by_field_name("object").id == top.id:
                gp = p.parent
                if gp is not None and gp.type == "call_expression" and gp.child_by_field_name("function").id == p.id:
                    top = gp
                    continue
                break
            if p.type in WRAPPERS:
                top = p
                continue
            break
        p = top.parent
        if p is not None:
            if p.type == "variable_declarator":
                n = p.child_by_field_name("name")
                if n is not None and n.type == "identifier":
                    return _text(n), self._scope_of_node(p)
            if p.type == "assignment_expression":
                left = p.child_by_field_name("left")
                if left is not None and left.type == "member_expression" and _text(left.child_by_field_name("object")) == "this":
                    return f"this.{_prop_name(left.child_by_field_name('property'))}", self._enclosing_class(p)
                if left is not None and left.type == "identifier":
                    return _text(left), self.lookup(_text(left), p)[0]
            if p.type == "public_field_definition":
                return f"this.{_prop_name(p.child_by_field_name('name'))}", self._enclosing_class(p)
            if p.type == "return_statement" or (p.type == "arrow_function" and p.child_by_field_name("body") is not None
                                                 and p.child_by_field_name("body").id == top.id):
                fn = p if p.type == "arrow_function" else self._enclosing_fn(p)
                return "return", self._fn_info(fn)[2] if fn is not None else ""
            if p.type == "export_statement":
                return "default", ""
        return f"@{_line(creation)}:{creation.start_point[1]}", self._scope_of_node(creation)

    def _receiver(self, root) -> tuple[str, str] | None:
        """(name, scope) of the object a route/mount call is made on."""
        if root is None:
            return None
        if root.type == "identifier":
            name = _text(root)
            return name, self.lookup(name, root)[0]
        if root.type == "member_expression":
            obj = root.child_by_field_name("object")
            prop = _prop_name(root.child_by_field_name("property"))
            if obj is not None and obj.type == "this" and prop:
                return f"this.{prop}", self._enclosing_class(root)
            return None
        if self._creation(root):
            return self._ensure_router(root)
        return None

    def _receiver_framework(self, root, recv) -> str:
        if root is not None:
            fw = self._creation(root)
            if fw:
                return fw
            if root.type == "identifier":
                scope, kind, decl = self.lookup(_text(root), root)
                if kind == "param" and decl is not None:
                    fw = framework_of_type(_annotation_text(decl.child_by_field_name("type")))
                    if fw:
                        return fw
                if kind == "var" and decl is not None:
                    v = _unwrap(decl.child_by_field_name("value"))
                    r, _ch = self._chain(v) if v is not None else (None, None)
                    fw = self._creation(r) if r is not None else None
                    if fw:
                        return fw
                    fw = framework_of_type(_annotation_text(decl.child_by_field_name("type")))
                    if fw:
                        return fw
        return self.f.framework or "unknown"

    def _chain_prefix(self, chain) -> list[Piece]:
        out: list[Piece] = []
        for prop, call in chain:
            a = _args(call, self.F)
            if prop == "basePath" and a:
                out.extend(self._pieces(a[0]))
            elif prop == "route" and len(a) == 1 and a[0].type in ("string", "template_string", "identifier"):
                out.extend(self._pieces(a[0]))
        return out

    def _route_call(self, call, prop: str, obj, args) -> None:
        root, chain = self._chain(obj)
        recv = self._receiver(root)
        if recv is None:
            return
        from_decl = root is not None and root.type not in ("identifier", "member_expression")
        chain_prefix = self._chain_prefix(chain)
        express_chain = any(p == "route" and len(_args(c, self.F)) == 1 for p, c in chain)
        methods: list[str] = []
        path_node = None
        rest = args
        if prop == "on":
            if len(args) < 3:
                return
            m = args[0]
            vals = [_string_value(x) for x in m.named_children] if m.type == "array" else [_string_value(m)]
            methods = [v.upper() for v in vals if v]
            path_node, rest = args[1], args[2:]
        else:
            methods = [ROUTE_VERBS[prop]]
            if args and args[0].type in ("string", "template_string", "binary_expression", "identifier",
                                         "member_expression") and not (express_chain and args[0].type == "identifier"):
                path_node, rest = args[0], args[1:]
            elif express_chain:
                path_node, rest = None, args
            else:
                return
        if path_node is not None:
            path = self._pieces(path_node)
            if not _pathish(path, route=True):
                return
        else:
            path = ()
        if not rest:
            return
        last = _unwrap(rest[-1])
        if last.type not in ("arrow_function", "function_expression", "function", "identifier", "member_expression",
                             "call_expression", "array"):
            return
        fw = self._receiver_framework(root, recv)
        rf = RouteFact(receiver=recv[0], scope=recv[1], method="", path=path, line=_call_line(call),
                       chain=_merge(chain_prefix), from_decl=from_decl, framework=fw)
        hparams: set[str] = set()
        for a in rest:
            u = _unwrap(a)
            if u is not None and u.type in FN_TYPES:
                hparams.update(n for n, _ in _param_names(u))
        start = rest[0].start_byte
        for m in methods:
            self._routes.append((rf._replace(method=m), start, call.end_byte, hparams))
        self._routerish.add((recv[1], recv[0]))

    def _fastify_route(self, call, obj, opts) -> None:
        root, chain = self._chain(obj)
        recv = self._receiver(root)
        if recv is None:
            return
        method_node = _object_value(opts, "method")
        url_node = _object_value(opts, "url") or _object_value(opts, "path")
        if method_node is None or url_node is None:
            return
        method_node = _unwrap(method_node)
        vals = [_string_value(x) for x in method_node.named_children] if method_node.type == "array" \
            else [_string_value(method_node)]
        path = self._pieces(url_node)
        if not _pathish(path, route=True):
            return
        fw = self._receiver_framework(root, recv)
        rf = RouteFact(receiver=recv[0], scope=recv[1], method="", path=path, line=_call_line(call),
                       chain=_merge(self._chain_prefix(chain)),
                       from_decl=root is not None and root.type not in ("identifier", "member_expression"),
                       framework=fw if fw != "unknown" else "fastify")
        handler = _object_value(opts, "handler")
        hparams: set[str] = set()
        u = _unwrap(handler) if handler is not None else None
        if u is not None and u.type in FN_TYPES:
            hparams.update(n for n, _ in _param_names(u))
        start = handler.start_byte if handler is not None else call.end_byte
        for v in vals:
            if v:
                self._routes.append((rf._replace(method=v.upper()), start, call.end_byte, hparams))
        self._routerish.add((recv[1], recv[0]))

    def _mount(self, call, prop: str, obj, args) -> None:
        root, chain = self._chain(obj)
        recv = self._receiver(root)
        if recv is None:
            return
        from_decl = root is not None and root.type not in ("identifier", "member_expression")
        prefix: list[Piece] = list(self._chain_prefix(chain))
        targets = []
        if prop == "route":
            if len(args) < 2:
                return
            p = self._pieces(args[0])
            if not _pathish(p, route=True):
                return
            prefix.extend(p)
            targets = args[1:2]
        elif prop == "use":
            if args and args[0].type in ("string", "template_string"):
                p = self._pieces(args[0])
                if not _pathish(p, route=True):
                    return
                prefix.extend(p)
                targets = args[1:]
            else:
                targets = args
        elif prop == "register":
            if not args:
                return
            targets = args[:1]
            if len(args) > 1:
                opts = _unwrap(args[1])
                if opts is not None and opts.type == "object":
                    pv = _object_value(opts, "prefix")
                    if pv is not None:
                        prefix.extend(self._pieces(pv))
        for t in targets:
            tgt = self._mount_target(t, register=prop == "register")
            if tgt is None:
                continue
            kind, name, scope = tgt
            self.f.mounts.append(MountFact(receiver=recv[0], scope=recv[1], prefix=_merge(prefix), line=_call_line(call),
                                           target_kind=kind, target=name, target_scope=scope,
                                           from_decl=from_decl, via=prop))
            self._routerish.add((recv[1], recv[0]))
            if kind == "ident":
                self._routerish.add((scope, name))

    def _mount_target(self, node, register: bool) -> tuple[str, str, str] | None:
        u = _unwrap(node)
        if u is None:
            return None
        t = u.type
        if t == "identifier":
            name = _text(u)
            return "ident", name, self.lookup(name, u)[0]
        if t == "member_expression":
            obj = u.child_by_field_name("object")
            prop = _prop_name(u.child_by_field_name("property"))
            if obj is not None and obj.type == "this" and prop:
                return "ident", f"this.{prop}", self._enclosing_class(u)
            root = _root_ident(u)
            if root:
                return "member", _text(u), self.lookup(root, u)[0]
            return None
        if t in FN_TYPES and register:
            names = _param_names(u)
            if names:
                return "ident", names[0][0], self._fn_info(u)[2]
            return None
        if t == "call_expression":
            root, chain = self._chain(u)
            if self._creation(root):
                name, scope = self._ensure_router(root)
                return "ident", name, scope
            callee = u.child_by_field_name("function")
            if callee is None:
                return None
            if callee.type == "import":
                a = _args(u, self.F)
                spec = _string_value(a[0]) if a else None
                return ("module", spec, "") if spec else None
            a = _args(u, self.F)
            if register and callee.type == "identifier" and a:  # fp(plugin), fastifyPlugin(async (f) => ...)
                inner = self._mount_target(a[0], register)
                if inner is not None:
                    return inner
            if callee.type == "identifier":
                return "call", _text(callee), self.lookup(_text(callee), u)[0]
            if callee.type == "member_expression":
                root = _root_ident(callee)
                if root and not _root_is_this(callee):
                    return "call", _text(callee), self.lookup(root, u)[0]
            return None
        if t == "new_expression" and self._creation(u):
            name, scope = self._ensure_router(u)
            return "ident", name, scope
        return None

    def _finish_routes(self) -> None:
        mcs = self._member_calls
        for rf, start, end, hparams in self._routes:
            names: dict[str, None] = {}
            for (sb, root, kind, path, _line_, decl_at) in mcs:
                if sb < start or sb >= end:
                    continue
                if kind == "ident":
                    if root in DENY_ROOTS:
                        continue
                    if root in hparams and (len(path) == 1 or path[0] in HANDLER_PARAM_MEMBERS):
                        continue
                    if start <= decl_at < end and path[-1] in BUILTIN_METHODS:
                        continue  # items.push(...) on a local of the handler
                    parts = [root] + list(path)
                elif kind == "this":
                    parts = [root[5:]] + list(path)
                elif kind == "call":
                    if path[-1] in BUILTIN_METHODS:
                        continue  # repo.find(x).then(...)
                    if len(path) < 2:
                        if root.split(".", 1)[0] in hparams:
                            continue  # res.status(201).json(...)
                        parts = [root.rsplit(".", 1)[-1]] + list(path)
                    else:
                        parts = list(path)
                else:
                    continue
                names[".".join(parts[-2:])] = None
            self.f.routes.append(rf._replace(handler_calls=tuple(names)))
        # router-parameter mounts: `registerUserRoutes(app)` with a router (or an import) as argument
        if not self._param_mounts:
            return
        routerish = self._routerish
        router_names = {n for _s, n in routerish}
        for call, callee, name, i, a, aname in self._param_mounts:
            if aname not in router_names and aname not in self.imports:
                continue  # neither a router nor an import, wherever it is declared
            scope = self.lookup(aname, a)[0]
            if (scope, aname) in routerish or aname in self.imports:
                self.f.mounts.append(MountFact(
                    receiver=aname, scope=scope, prefix=(), line=_line(call), target_kind="param", target=name,
                    target_scope=self.lookup(name, callee)[0], index=i, via="call"))

    # ------------------------------------------------------------------ calls

    def _call(self, call) -> None:
        F = self.F
        callee = call.child_by_field_id(F.function)
        if callee is None:
            return
        args = _args(call, self.F)
        ct = callee.type
        if ct == "member_expression":
            prop_node = callee.child_by_field_id(F.property)
            prop = _prop_name(prop_node)
            obj = callee.child_by_field_id(F.object)
            if prop is None or obj is None:
                return
            if prop == "from" and args and args[0].type in ("string", "identifier", "member_expression", "template_string"):
                r = _root_ident(obj)
                o = _unwrap(obj)
                storage = o is not None and o.type == "member_expression" and \
                    _prop_name(o.child_by_field_id(F.property)) == "storage"
                if r not in NOT_TABLE_ROOTS and not storage:  # supabase.storage.from('bucket') is no table
                    self._table_chain(call, obj, args)
            elif prop == "rpc" and args and args[0].type == "string":
                fn_name = _string_value(args[0])
                if fn_name:
                    self.f.table_usage.append(TableUsage(table=fn_name, file=self.path, line=_call_line(call), kind="rpc",
                                                         symbol=self._symbol(call)))
            if prop in ROUTE_VERBS or prop == "on":
                self._route_call(call, prop, obj, args)
            elif prop in ("route", "use", "register"):
                if prop == "route" and len(args) == 1 and _unwrap(args[0]).type == "object":
                    self._fastify_route(call, obj, _unwrap(args[0]))
                else:
                    self._mount(call, prop, obj, args)
            if args and _may_be_http_call(prop, args):
                self._http_call(call, prop, args)
            self._member_call(call, prop, prop_node, obj)
        elif ct == "identifier":
            name = _text(callee)
            if args and _may_be_http_call(name, args):
                self._http_call(call, name, args)
            imp = self.imports.get(name)
            if imp is not None and not imp[0].startswith("."):
                self.f.calls.append(CallFact(callee=name, line=_call_line(call), symbol=self._symbol(call)))
            for i, a in enumerate(args):
                if a.type == "identifier":  # resolved in _finish_routes, when routers are known
                    self._param_mounts.append((call, callee, name, i, a, _text(a)))

    def _member_call(self, call, prop: str, prop_node, obj) -> None:
        """`call` is `obj.prop(...)` (`_call` has read the callee)."""
        F = self.F
        path: list[str] = [prop]
        node = obj
        while node.type == "member_expression":
            p = _prop_name(node.child_by_field_id(F.property))
            if p is None:
                return
            path.append(p)
            node = node.child_by_field_id(F.object)
            if node is None:
                return
        path.reverse()
        while node.type in WRAPPERS and node.named_child_count:  # (c as any).var.x(), (await f()).x()
            node = node.named_children[0]
        t = node.type
        decl_at = -1
        keep = True  # worth keeping for the link step (consumers, tests)
        if t == "identifier":
            root, kind = _text(node), "ident"
            if root in DENY_ROOTS:
                return
            scope, dkind, decl = self.lookup(root, node)
            if decl is not None:
                decl_at = decl.start_byte
            keep = _typed_binding(dkind, decl, self.F)
        elif t == "this":
            if len(path) < 1:
                return
            root, kind = f"this.{path[0]}", "this"
            path = path[1:]
            scope = self._enclosing_class(call)
        elif t == "call_expression":
            # getClient().x(), this.getClient().x(), Clients.create().x(): not longer chains
            root = _dotted(node.child_by_field_id(self.F.function), self.F)
            if root is None or root.count(".") > 1:
                return
            kind = "call"
            head = root.split(".", 1)[0]
            if head in DENY_ROOTS:
                return
            if path[-1] in BUILTIN_METHODS:
                keep = False  # getClient().then(...), rows.map(...).join(...)
            elif head == "this":
                scope = self._enclosing_class(call)
            else:
                scope, dkind, decl = self.lookup(head, node)
                keep = _typed_binding(dkind, decl, self.F) if "." in root else dkind in ("import", "func", "var", "param")
        elif t == "new_expression":
            root = _dotted(node.child_by_field_id(self.F.constructor), self.F)
            if root is None or root.split(".", 1)[0] in DENY_ROOTS:
                return
            kind = "new"
            scope, dkind, _d = self.lookup(root.split(".", 1)[0], node)
            keep = dkind != "global"
        else:
            return
        line = prop_node.start_point[0] + 1  # _call_line(call)
        self._member_calls.append((call.start_byte, root, kind, tuple(path), line, decl_at))
        if path and keep:
            self.f.member_calls.append(MemberCallFact(root=root, root_kind=kind, root_scope=scope, path=tuple(path),
                                                      line=line, symbol=self._symbol(call)))

    # ------------------------------------------------------------------ HTTP calls (clients)

    def _http_call(self, call, name: str, args) -> None:
        method = None
        path_node = None
        init = None
        if len(args) >= 2 and args[0].type == "string":
            v = _string_value(args[0])
            if v and v.upper() in HTTP_METHODS and len(args) >= 2 and v.upper() == v.strip().upper() and v.isalpha():
                method, path_node = v.upper(), args[1]
        if method is None:
            if name in HTTP_VERBS and args:
                method, path_node = HTTP_VERBS[name], args[0]
            elif name in FETCH_NAMES and args:
                first = _unwrap(args[0])
                if first.type == "object" and len(args) == 1:
                    init = first
                    path_node = _object_value(first, "url") or _object_value(first, "path")
                else:
                    path_node = args[0]
                    init = _unwrap(args[1]) if len(args) > 1 else None
                mv = _object_value(init, "method") if init is not None and init.type == "object" else None
                if mv is not None:
                    s = _string_value(_unwrap(mv))
                    if not s:
                        return
                    method = s.upper()
                else:
                    method = "GET"
            elif args and len(args) == 1 and _unwrap(args[0]).type == "object":
                first = _unwrap(args[0])
                mv = _object_value(first, "method")
                pv = _object_value(first, "url") or _object_value(first, "path")
                if mv is None or pv is None:
                    return
                s = _string_value(_unwrap(mv))
                if not s:
                    return
                method, path_node = s.upper(), pv
        if method is None or path_node is None or method not in HTTP_METHODS:
            return
        pu = _unwrap(path_node)
        if pu is None or pu.type in FN_TYPES or pu.type in ("object", "array", "number"):
            return
        pieces = self._pieces(path_node)
        if not _pathish(pieces, route=False):
            return
        fn = self._enclosing_fn(call)
        if fn is None:
            return
        frames = self._fn_info(fn)[0]
        owner, mname, decl = _owner_of(frames)
        if not mname:
            return
        fnode = decl
        if fnode is not None and fnode.type not in FN_TYPES:
            v = _unwrap(fnode.child_by_field_name("value"))
            fnode = v if v is not None and v.type in FN_TYPES else None
        params = ()
        if fnode is not None:
            params = parse_params(fnode.child_by_field_name("parameters") or fnode.child_by_field_name("parameter"))
        self.f.http_calls.append(HttpCallFact(method=method, path=pieces, line=_line(call), owner=owner, name=mname,
                                              decl_line=_line(decl) if decl is not None else _line(call),
                                              params=params))

    # ------------------------------------------------------------------ tables

    def _table_chain(self, call, obj, args) -> None:
        table = _string_value(args[0])
        if table is None:  # .from(TABLE) / .from(this.table) with a string constant
            p = self._pieces(args[0])
            table = p[0][1] if len(p) == 1 and p[0][0] == "lit" else None
        if not table:
            return
        schema = None
        o = _unwrap(obj)
        if o is not None and o.type == "call_expression":
            f = o.child_by_field_name("function")
            if f is not None and f.type == "member_expression" and _prop_name(f.child_by_field_name("property")) == "schema":
                a = _args(o, self.F)
                if a:
                    schema = _string_value(a[0])
        full = table if not schema or schema == "public" else f"{schema}.{table}"
        ops: list[tuple[str, object]] = []
        cur = call
        while True:
            p = cur.parent
            if p is None or p.type != "member_expression" or p.child_by_field_name("object").id != cur.id:
                break
            gp = p.parent
            if gp is None or gp.type != "call_expression" or gp.child_by_field_name("function").id != p.id:
                break
            ops.append((_prop_name(p.child_by_field_name("property")) or "", gp))
            cur = gp
        mutation = None
        keys: list[str] = []
        selects: list[str] | None = None
        rels: list[tuple[str, list[str]]] = []
        filters: list[str] = []
        for prop, c in ops:
            a = _args(c, self.F)
            if prop == "select":
                sv = _string_value(a[0]) if a else "*"
                if sv is None:
                    continue
                cols, rs = parse_select(sv)
                selects = (selects or []) + [x for x in cols if x not in (selects or [])]
                rels.extend(rs)
            elif prop in ("insert", "upsert", "update"):
                mutation = prop
                if a:
                    for k in self._object_keys(a[0]):
                        if k not in keys:
                            keys.append(k)
                    if prop == "upsert" and len(a) > 1:
                        o2 = _unwrap(a[1])
                        if o2 is not None and o2.type == "object":
                            oc = _string_value(_unwrap(_object_value(o2, "onConflict")))
                            if oc:
                                filters.extend(x.strip() for x in oc.split(",") if x.strip())
            elif prop == "delete":
                mutation = "delete"
            elif prop in FILTER_METHODS:
                if a:
                    col = _string_value(a[0])
                    if col:
                        filters.append(col)
            elif prop == "match":
                if a:
                    filters.extend(self._object_keys(a[0]))
            elif prop == "or":
                if a:
                    sv = _string_value(a[0]) or ""
                    for part in _split_top(sv):
                        col = part.strip().split(".", 1)[0]
                        if col and "(" not in col:
                            filters.append(col)
        filters = list(dict.fromkeys(filters))
        line = _call_line(call)
        sym = self._symbol(call)
        tu = self.f.table_usage
        if mutation:
            tu.append(TableUsage(table=full, file=self.path, line=line, kind=mutation, columns=keys, symbol=sym,
                                 filters=filters))
            if selects is not None:
                tu.append(TableUsage(table=full, file=self.path, line=line, kind="select", columns=selects, symbol=sym,
                                     filters=filters))
        elif selects is not None:
            tu.append(TableUsage(table=full, file=self.path, line=line, kind="select", columns=selects, symbol=sym,
                                 filters=filters))
        else:
            tu.append(TableUsage(table=full, file=self.path, line=line, kind="from", symbol=sym, filters=filters))
        for rel, cols in rels:
            tu.append(TableUsage(table=rel, file=self.path, line=line, kind="select", columns=cols, symbol=sym,
                                 embedded_in=full))

    def _object_keys(self, node, depth: int = 0) -> list[str]:
        u = _unwrap(node)
        if u is None or depth > 3:
            return []
        if u.type == "object":
            out = []
            for c in u.named_children:
                if c.type == "pair":
                    k = _prop_name(c.child_by_field_name("key"))
                    if k:
                        out.append(k)
                elif c.type == "shorthand_property_identifier":
                    out.append(_text(c))
                elif c.type == "method_definition":
                    k = _prop_name(c.child_by_field_name("name"))
                    if k:
                        out.append(k)
            return out
        if u.type == "array":
            out = []
            for el in u.named_children:
                for k in self._object_keys(el, depth + 1):
                    if k not in out:
                        out.append(k)
            return out
        if u.type == "identifier":
            scope, kind, decl = self.lookup(_text(u), u)
            if kind == "var" and decl is not None:
                return self._object_keys(decl.child_by_field_name("value"), depth + 1)
        if u.type == "call_expression":  # rows.map((r) => ({ ... }))
            f = u.child_by_field_name("function")
            a = _args(u, self.F)
            if f is not None and f.type == "member_expression" and _prop_name(f.child_by_field_name("property")) == "map" \
                    and a and _unwrap(a[0]).type in ("arrow_function", "function_expression"):
                fn = _unwrap(a[0])
                body = fn.child_by_field_name("body")
                if body is not None and body.type != "statement_block":
                    return self._object_keys(body, depth + 1)
                for r in self._returns.get(fn.id, ()):
                    kids = [k for k in r.named_children if k.type != "comment"]
                    if kids:
                        return self._object_keys(kids[0], depth + 1)
        return []

    def _tables_generic(self, node) -> None:
        targs = node.child_by_field_name("type_arguments")
        if targs is None:
            for c in node.named_children:
                if c.type == "type_arguments":
                    targs = c
        if targs is None or not targs.named_children:
            return
        table = _string_value(targs.named_children[0])
        if not table:
            return
        cols: list[str] = []
        p = node.parent
        if p is not None and p.type == "lookup_type" and p.named_children and p.named_children[0].id == node.id:
            keys = _lookup_keys(p)
            if keys and keys[0] is not None:
                cols.append(keys[0])
        self._type_ref(node, table, cols)

    def _lookup_type(self, node) -> None:
        p = node.parent
        if p is not None and p.type == "lookup_type":
            return  # only the outermost of `A['b']['c']`
        base, keys = _flatten_lookup(node)
        if base is None:
            return
        bname = _text(base) if base.type == "type_identifier" else None
        if bname is None:
            return
        seq = [bname] + keys
        schema = None
        idx = None
        for i, k in enumerate(seq):
            if k in ("Tables", "Views"):
                idx = i
                break
        if idx is None or idx + 1 >= len(seq) or seq[idx + 1] is None:
            return
        if idx >= 1 and seq[idx - 1] not in (None, "Database") and idx - 1 > 0:
            schema = seq[idx - 1]
        elif bname != "Database" and idx != 0:
            return
        table = seq[idx + 1]
        rest = seq[idx + 2:]
        cols = []
        if len(rest) >= 2 and rest[0] in ("Row", "Insert", "Update") and rest[1] is not None:
            cols.append(rest[1])
        full = table if not schema or schema == "public" else f"{schema}.{table}"
        self._type_ref(node, full, cols)

    def _type_ref(self, node, table: str, cols: list[str]) -> None:
        line = _line(node)
        for tu in self.f.table_usage:
            if tu.kind == "type_ref" and tu.line == line and tu.table == table:
                for c in cols:
                    if c not in tu.columns:
                        tu.columns.append(c)
                return
        self.f.table_usage.append(TableUsage(table=table, file=self.path, line=line, kind="type_ref", columns=cols,
                                             symbol=self._symbol(node)))


# --------------------------------------------------------------------------- module-level helpers


def _error_nodes(node):
    """ERROR / MISSING nodes in document order, minus newer syntax the grammar lacks (`export type *`)."""
    stack = list(reversed(node.children))
    while stack:
        c = stack.pop()
        if c.is_missing:
            yield c
        elif c.type == "ERROR":
            if c.parent is not None and c.parent.type == "export_statement" and _text(c).strip() in ("type", "type *"):
                continue
            yield c
        elif c.has_error:
            stack.extend(reversed(c.children))


_CREATION_WORDS = (b"Hono", b"express", b"Router", b"Fastify", b"fastify")


def _may_create(source: bytes, imports: dict) -> bool:
    """False when no node of the file can create a router (`_Extractor._creation` is None everywhere).

    A creation names Hono/express/Router/Fastify/fastify in the source, or calls/constructs an import
    from a framework module.
    """
    if any(w in source for w in _CREATION_WORDS):
        return True
    return any(framework_of_module(mod) for mod, _name in imports.values())


def _may_be_http_call(name: str, args: list) -> bool:
    """False when `_Extractor._http_call(call, name, args)` certainly finds no method (non-empty `args`)."""
    if name in HTTP_VERBS or name in FETCH_NAMES:
        return True
    n = len(args)
    t = args[0].type
    if n >= 2:
        return t == "string"
    return t == "object" or (t in WRAPPERS and _unwrap(args[0]).type == "object")


def _call_line(call) -> int:
    """Line of `.method(` in a chain spread over lines, else of the call."""
    f = call.child_by_field_name("function")
    if f is not None and f.type == "member_expression":
        p = f.child_by_field_name("property")
        if p is not None:
            return _line(p)
    return _line(call)


BUILTIN_METHODS = frozenset({
    "map", "filter", "forEach", "reduce", "push", "pop", "shift", "unshift", "find", "findIndex", "some", "every",
    "includes", "indexOf", "join", "slice", "splice", "sort", "concat", "flat", "flatMap", "keys", "values",
    "entries", "get", "set", "has", "add", "delete", "clear", "then", "catch", "finally", "toString", "toFixed",
    "trim", "split", "replace", "startsWith", "endsWith", "toLowerCase", "toUpperCase", "at", "fill", "toISOString",
})


def _typed_binding(kind: str, decl, F: _Fields) -> bool:
    """Whether calls on a binding may be calls on a client: imports, classes, typed or initialised variables."""
    if kind in ("import", "func", "class"):
        return True
    if kind == "param":
        return decl is not None and decl.child_by_field_id(F.type) is not None
    if kind == "var" and decl is not None and decl.type == "variable_declarator":
        if decl.child_by_field_id(F.type) is not None:
            return True
        v = _unwrap(decl.child_by_field_id(F.value))
        return v is not None and v.type in ("new_expression", "call_expression", "identifier", "member_expression")
    return False


def _is_const(decl) -> bool:
    p = decl.parent
    return p is not None and p.type == "lexical_declaration" and bool(p.children) and p.children[0].type == "const"


def _object_value(obj, key: str):
    if obj is None or obj.type != "object":
        return None
    for c in obj.named_children:
        if c.type == "pair" and _prop_name(c.child_by_field_name("key")) == key:
            return c.child_by_field_name("value")
        if c.type == "shorthand_property_identifier" and _text(c) == key:
            return c
    return None


def _object_methods(obj) -> list[Method]:
    out: list[Method] = []
    for c in obj.named_children:
        if c.type == "method_definition":
            n = _prop_name(c.child_by_field_name("name"))
            if n and not any(x.type in ("get", "set") for x in c.children if not x.is_named):
                out.append(_method_from_fn(n, c, c, "method"))
        elif c.type == "pair":
            n = _prop_name(c.child_by_field_name("key"))
            v = _unwrap(c.child_by_field_name("value"))
            if n and v is not None and v.type in ("arrow_function", "function_expression", "function"):
                out.append(_method_from_fn(n, v, c, "arrow"))
        elif c.type == "shorthand_property_identifier":
            out.append(Method(name=_text(c), line=_line(c), end_line=c.end_point[0] + 1, kind="property"))
    return out


def _satisfies_type(value) -> str | None:
    v = value
    while v is not None and v.type in WRAPPERS:
        if v.type in ("satisfies_expression", "as_expression"):
            kids = v.named_children
            if len(kids) >= 2:
                tn = _type_name(kids[-1])
                if tn:
                    return tn
        v = v.named_children[0] if v.named_children else None
    return None


def _promise_arg(rt) -> str | None:
    t = rt.named_children[0] if rt.type == "type_annotation" and rt.named_children else rt
    if t is None or t.type != "generic_type":
        return None
    targs = t.child_by_field_name("type_arguments")
    if targs is None or not targs.named_children:
        return None
    return _type_name(targs.named_children[0])


def _type_name_from_text_node(params, pname: str) -> str | None:
    if params is None or params.type == "identifier":
        return None
    for p in params.named_children:
        if p.type not in ("required_parameter", "optional_parameter"):
            continue
        pat = p.child_by_field_name("pattern")
        if pat is not None and _text(pat) == pname:
            return _type_name(p.child_by_field_name("type"))
    return None


def _hidden_member(m) -> bool:
    for c in m.children:
        if c.type == "accessibility_modifier" and _text(c) in ("private", "protected"):
            return True
        if c.type == "static":
            return True
    n = m.child_by_field_name("name")
    return n is not None and n.type == "private_property_identifier"


def _by_line(x) -> int:
    return x.line


def _dotted(node, F: _Fields) -> str | None:
    """`a.b.c` / `this.a` as text without whitespace; None for anything else."""
    parts: list[str] = []
    while node is not None and node.type == "member_expression":
        p = _prop_name(node.child_by_field_id(F.property))
        if p is None:
            return None
        parts.append(p)
        node = node.child_by_field_id(F.object)
    if node is None or node.type not in ("identifier", "this"):
        return None
    parts.append(_text(node))
    return ".".join(reversed(parts))


def _root_ident(node) -> str | None:
    while node is not None and node.type == "member_expression":
        node = node.child_by_field_name("object")
    if node is not None and node.type == "identifier":
        return _text(node)
    return None


def _root_is_this(node) -> bool:
    while node is not None and node.type == "member_expression":
        node = node.child_by_field_name("object")
    return node is not None and node.type == "this"


def _chain(node, stop=None):
    """Descend `a.x(...).y(...)` to its root: (root node, [(prop, call node), ...] from root outwards).

    `stop(node)` ends the descent at a call that is a root itself (`express.Router()`).
    """
    calls: list[tuple[str, object]] = []
    node = _unwrap(node)
    while node is not None and node.type == "call_expression":
        if stop is not None and stop(node):
            break
        f = node.child_by_field_name("function")
        if f is None or f.type != "member_expression":
            break
        calls.append((_prop_name(f.child_by_field_name("property")) or "", node))
        node = _unwrap(f.child_by_field_name("object"))
    calls.reverse()
    return node, calls


def _owner_of(frames) -> tuple[str | None, str | None, object]:
    """Client method naming from frames: (owner, member path, declaring node)."""
    frames = [f for f in frames]
    if not frames:
        return None, None, None
    first = frames[0]
    members = []
    decl = None
    for kind, name, node in frames[1:]:
        if kind != "member":
            break
        members.append(name)
        decl = node
    if first[0] in ("class", "obj") or (first[0] == "fn" and members):
        if not members:
            return first[1], None, None
        return first[1], ".".join(members), decl
    if first[0] == "fn":
        return None, first[1], first[2]
    if first[0] == "member":  # object literal passed somewhere: name by its member path
        ms = [first[1]]
        decl = first[2]
        for kind, name, node in frames[1:]:
            if kind != "member":
                break
            ms.append(name)
            decl = node
        return None, ".".join(ms), decl
    return None, None, None


def _props(obj):
    return [c for c in obj.named_children if c.type == "property_signature"]


def _prop_type(sig):
    ta = sig.child_by_field_name("type")
    if ta is None:
        return None
    kids = ta.named_children
    return kids[0] if kids else None


def _union_members(node) -> list:
    if node.type != "union_type":
        return [node]
    out = []
    for c in node.named_children:
        out.extend(_union_members(c))
    return out


def _flatten_lookup(node) -> tuple[object, list[str | None]]:
    keys: list[str | None] = []
    while node is not None and node.type == "lookup_type":
        kids = node.named_children
        if len(kids) < 2:
            return None, []
        keys.append(_string_value(kids[1]) if kids[1].type == "literal_type" else None)
        node = kids[0]
    keys.reverse()
    return node, keys


def _lookup_keys(node) -> list[str | None]:
    return _flatten_lookup(node)[1]


__all__ = [
    "FACTS_VERSION", "FileFacts", "ImportFact", "ReexportFact", "TypeDeclFact", "ClassFact", "FactoryFact", "FuncFact", "VarFact",
    "RouterFact", "RouteFact", "MountFact", "HttpCallFact", "MemberCallFact", "CallFact",
    "extract_file", "parse_select", "parse_suppression", "pieces_text", "framework_of_module",
]
