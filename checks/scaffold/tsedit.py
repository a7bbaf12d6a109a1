"""Edit TypeScript source text at positions found with tree-sitter (never with regexes over code).

A `Doc` is one file: its text, its syntax tree and a list of pending edits (byte ranges of
the original text). Edits never overlap; `Doc.result()` applies them from the end.
Helpers insert a member into an object literal, an interface/object type or a class body
the way the file already writes its members (indentation, separators, trailing comma).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator

import tree_sitter as ts

from ..ts.facts import TS_LANGUAGE

_PARSER = ts.Parser(TS_LANGUAGE)

Node = ts.Node

MEMBER_TYPES = {
    "pair", "shorthand_property_identifier", "spread_element", "method_definition",  # object / class
    "property_signature", "method_signature", "index_signature", "call_signature",  # interface / type
    "public_field_definition", "abstract_method_signature",
}


def parse(text: str) -> ts.Tree:
    return _PARSER.parse(text.encode("utf-8"))


def has_errors(text: str) -> bool:
    return parse(text).root_node.has_error


def error_count(text: str) -> int:
    """ERROR / MISSING nodes (tree-sitter's grammar lags behind TypeScript: `export type *` is one)."""
    n = 0
    stack = [parse(text).root_node]
    while stack:
        node = stack.pop()
        if node.type == "ERROR" or node.is_missing:
            n += 1
        if node.has_error:
            stack.extend(node.children)
    return n


@dataclass
class Doc:
    path: str
    text: str
    data: bytes = field(init=False)
    tree: ts.Tree = field(init=False)
    edits: list[tuple[int, int, int, str]] = field(default_factory=list, init=False)

    def __post_init__(self) -> None:
        self.data = self.text.encode("utf-8")
        self.tree = _PARSER.parse(self.data)
        self._seq = 0

    @property
    def root(self) -> Node:
        return self.tree.root_node

    # ------------------------------------------------------------------ reading

    def t(self, node: Node | None) -> str:
        if node is None:
            return ""
        return self.data[node.start_byte:node.end_byte].decode("utf-8")

    def line_start(self, pos: int) -> int:
        i = self.data.rfind(b"\n", 0, pos)
        return i + 1

    def line_end(self, pos: int) -> int:
        i = self.data.find(b"\n", pos)
        return len(self.data) if i < 0 else i

    def indent_of(self, node: Node) -> str:
        start = self.line_start(node.start_byte)
        line = self.data[start:node.start_byte].decode("utf-8")
        return line[: len(line) - len(line.lstrip(" \t"))]

    def walk(self, types: str | set[str] | None = None, node: Node | None = None) -> Iterator[Node]:
        if isinstance(types, str):
            types = {types}
        stack = [node or self.root]
        while stack:
            n = stack.pop()
            if types is None or n.type in types:
                yield n
            stack.extend(reversed(n.children))

    # ------------------------------------------------------------------ editing

    def insert(self, pos: int, text: str) -> None:
        self._add(pos, pos, text)

    def replace(self, node_or_start, end: int | None = None, text: str = "") -> None:
        if isinstance(node_or_start, Node):
            self._add(node_or_start.start_byte, node_or_start.end_byte, text)
        else:
            self._add(node_or_start, end if end is not None else node_or_start, text)

    def _add(self, start: int, end: int, text: str) -> None:
        for s, e, _, _ in self.edits:
            if start < e and s < end:
                raise ValueError(f"{self.path}: overlapping edits at bytes {start}-{end}")
        self._seq += 1
        self.edits.append((start, end, self._seq, text))

    @property
    def changed(self) -> bool:
        return bool(self.edits)

    def result(self) -> str:
        out = self.data
        for start, end, _, text in sorted(self.edits, key=lambda e: (e[0], e[2]), reverse=True):
            out = out[:start] + text.encode("utf-8") + out[end:]
        return out.decode("utf-8")


# --------------------------------------------------------------------------- node helpers


def child_by_field(node: Node, name: str) -> Node | None:
    return node.child_by_field_name(name)


def string_value(doc: Doc, node: Node | None) -> str | None:
    """The value of a plain string literal (or a template string without substitutions)."""
    if node is None:
        return None
    if node.type == "string":
        return "".join(doc.t(c) for c in node.named_children if c.type in ("string_fragment", "escape_sequence"))
    if node.type == "template_string" and not any(c.type == "template_substitution" for c in node.named_children):
        return doc.t(node)[1:-1]
    return None


def member_name(doc: Doc, node: Node) -> str | None:
    """The key of an object/interface/class member."""
    if node.type == "shorthand_property_identifier":
        return doc.t(node)
    key = node.child_by_field_name("key") or node.child_by_field_name("name")
    if key is None:
        return None
    if key.type == "string":
        return string_value(doc, key)
    return doc.t(key)


def members(container: Node) -> list[Node]:
    return [c for c in container.named_children if c.type in MEMBER_TYPES]


def member_map(doc: Doc, container: Node) -> dict[str, Node]:
    out = {}
    for m in members(container):
        name = member_name(doc, m)
        if name is not None:
            out[name] = m
    return out


def separator_after(node: Node) -> Node | None:
    nxt = node.next_sibling
    if nxt is not None and nxt.type in (",", ";"):
        return nxt
    return None


def is_multiline(container: Node) -> bool:
    return container.start_point[0] != container.end_point[0]


def insert_member(doc: Doc, container: Node, text: str, after: Node | None = None, before: Node | None = None,
                  sep: str | None = None) -> None:
    """Insert `text` (one member, without separator) into an object literal, object type,
    interface body or class body, on its own line with the siblings' indentation.

    `after`/`before` choose the position (default: after the last member). The separator is
    the one the siblings use (`,` in objects; `;` or nothing in types; nothing in classes)."""
    ms = members(container)
    kind = container.type
    if sep is None:
        if kind == "object":
            sep = ","
        elif kind == "class_body":
            sep = ""
        else:  # object_type / interface_body: whatever the members use
            seps = [separator_after(m) for m in ms]
            sep = doc.t(next((s for s in seps if s is not None), None)) if any(seps) else ""
            if not ms:
                sep = ""
    if not ms:
        open_ = container.children[0]
        indent = doc.indent_of(container) + "  "
        if is_multiline(container):
            doc.insert(open_.end_byte, f"\n{indent}{text}{sep if kind == 'object' else sep}")
        else:
            doc.insert(open_.end_byte, f"\n{indent}{text}{sep}\n{doc.indent_of(container)}")
        return
    if not is_multiline(container):
        # `{ a: 1, b }` stays on one line
        if before is not None:
            doc.insert(before.start_byte, f"{text}{sep or ','} ")
            return
        anchor = after or ms[-1]
        s = separator_after(anchor)
        if kind == "object":
            doc.insert(anchor.end_byte, f", {text}")
        elif s is not None:
            doc.insert(s.end_byte, f" {text}{sep}")
        else:
            doc.insert(anchor.end_byte, f"{sep or ';'} {text}")
        return
    if before is not None:
        indent = doc.indent_of(before)
        start = doc.line_start(before.start_byte)
        # keep a leading comment of `before` attached to it
        prev = before.prev_sibling
        while prev is not None and prev.type == "comment" and prev.end_point[0] == before.start_point[0] - 1:
            start = doc.line_start(prev.start_byte)
            prev = prev.prev_sibling
        doc.insert(start, f"{indent}{text}{sep}\n")
        return
    anchor = after or ms[-1]
    indent = doc.indent_of(anchor)
    s = separator_after(anchor)
    if kind == "object":
        trailing = anchor is ms[-1] and s is not None
        if s is None:
            # the last member had no trailing comma: give it one, keep the file's habit for ours
            doc.insert(anchor.end_byte, ",")
            doc.insert(anchor.end_byte, f"\n{indent}{text}")
        else:
            end = _line_comment_end(doc, s)
            doc.insert(end, f"\n{indent}{text}{',' if (trailing or anchor is not ms[-1]) else ''}")
        return
    end = _line_comment_end(doc, s or anchor)
    doc.insert(end, f"\n{indent}{text}{sep}")


def _line_comment_end(doc: Doc, node: Node) -> int:
    """End of `node`, or of a `// comment` that follows it on the same line."""
    nxt = node.next_sibling
    if nxt is not None and nxt.type == "comment" and nxt.start_point[0] == node.end_point[0]:
        return nxt.end_byte
    return node.end_byte


def add_union_member(doc: Doc, union_or_literal: Node, text: str) -> None:
    """`'a' | 'b'` -> `'a' | 'b' | <text>` (inserted after the last member)."""
    doc.insert(union_or_literal.end_byte, f" | {text}")


def union_literals(doc: Doc, node: Node) -> list[str] | None:
    """The string literals of a union of literal types (`'a' | 'b'`), None if it is something else."""
    if node.type == "literal_type":
        v = string_value(doc, node.named_children[0]) if node.named_children else None
        return [v] if v is not None else None
    if node.type == "union_type":
        out: list[str] = []
        for c in node.named_children:
            sub = union_literals(doc, c)
            if sub is None:
                return None
            out.extend(sub)
        return out
    return None


# --------------------------------------------------------------------------- imports


@dataclass
class ImportInfo:
    node: Node
    module: str
    type_only: bool
    names: list[str]  # imported names (local names)
    named: Node | None  # the `{ ... }` node


def imports(doc: Doc) -> list[ImportInfo]:
    out = []
    for n in doc.root.named_children:
        if n.type != "import_statement":
            continue
        src = n.child_by_field_name("source")
        module = string_value(doc, src) or ""
        type_only = any(c.type == "type" for c in n.children)
        names: list[str] = []
        named = None
        for clause in n.named_children:
            if clause.type != "import_clause":
                continue
            for c in clause.named_children:
                if c.type == "named_imports":
                    named = c
                    for spec in c.named_children:
                        if spec.type == "import_specifier":
                            alias = spec.child_by_field_name("alias") or spec.child_by_field_name("name")
                            names.append(doc.t(alias))
                elif c.type == "identifier":
                    names.append(doc.t(c))
        out.append(ImportInfo(n, module, type_only, names, named))
    return out


def _import_sort_key(module: str) -> tuple[int, str]:
    return (1 if module.startswith(".") else 0, module)


def add_import(doc: Doc, module: str, names: list[str], type_only: bool, quote: str = "'", semi: str = "",
               width: int = 0, indent: str = "  ") -> None:
    """Import `names` from `module`: extend an existing import of the module (keeping its names
    sorted when they are) or add an import statement where the file's sorted order puts it."""
    existing = imports(doc)
    for imp in existing:
        if imp.module == module and imp.type_only == type_only and imp.named is not None:
            missing = sorted((n for n in names if n not in imp.names), key=str.lower)
            if not missing:
                return
            specs = [c for c in imp.named.named_children if c.type == "import_specifier"]
            spec_names = [doc.t(s) for s in specs]
            sorted_ = spec_names == sorted(spec_names, key=str.lower)
            multiline = is_multiline(imp.named)
            line_len = len(doc.t(imp.node)) + sum(len(n) + 2 for n in missing) + len(doc.indent_of(imp.node))
            if not multiline and width and line_len > width:
                # prettier's way: one name per line
                allnames = spec_names + missing
                if sorted_:
                    allnames = sorted(allnames, key=str.lower)
                body = "".join(f"\n{indent}{n}," for n in allnames)
                doc.replace(imp.named, text="{" + body + "\n}")
                return
            for name in missing:
                target = None
                if sorted_:
                    target = next((s for s in specs if doc.t(s).lower() > name.lower()), None)
                if multiline:
                    if target is not None:
                        doc.insert(doc.line_start(target.start_byte), f"{doc.indent_of(target)}{name},\n")
                    else:
                        last = specs[-1]
                        s = separator_after(last)
                        if s is not None:
                            doc.insert(s.end_byte, f"\n{doc.indent_of(last)}{name},")
                        else:
                            doc.insert(last.end_byte, f",\n{doc.indent_of(last)}{name}")
                else:
                    if target is not None:
                        doc.insert(target.start_byte, f"{name}, ")
                    else:
                        doc.insert(specs[-1].end_byte, f", {name}")
            return
        if imp.module == module and not type_only and imp.type_only and set(names) <= set(imp.names):
            return
    stmt = f"import {'type ' if type_only else ''}{{ {', '.join(sorted(names, key=str.lower))} }} from {quote}{module}{quote}{semi}"
    insert_statement_sorted(doc, stmt, module)


def insert_statement_sorted(doc: Doc, stmt: str, module: str) -> None:
    existing = imports(doc)
    if not existing:
        first = doc.root.named_children[0] if doc.root.named_children else None
        if first is not None and first.type == "comment":  # keep a file header comment first
            doc.insert(first.end_byte, f"\n{stmt}")
        else:
            doc.insert(0, f"{stmt}\n\n" if first is not None else f"{stmt}\n")
        return
    mods = [i.module for i in existing]
    sorted_ = mods == sorted(mods, key=_import_sort_key) or mods == sorted(mods)
    if sorted_:
        key = _import_sort_key(module)
        for imp in existing:
            if _import_sort_key(imp.module) > key:
                doc.insert(doc.line_start(imp.node.start_byte), f"{stmt}\n")
                return
    doc.insert(existing[-1].node.end_byte, f"\n{stmt}")


def relative_module(from_file: str, to_file: str, js_ext: bool = False) -> str:
    """Import specifier of `to_file` (a .ts path) from `from_file`: `./x`, `../y/z` (or `.js`)."""
    import posixpath

    target = to_file
    for suf in (".tsx", ".ts"):
        if target.endswith(suf):
            target = target[: -len(suf)]
            break
    if target.endswith("/index") and not js_ext:
        pass
    rel = posixpath.relpath(target, posixpath.dirname(from_file) or ".")
    if not rel.startswith("."):
        rel = "./" + rel
    return rel + (".js" if js_ext else "")
