"""The code style of a target repository, detected from its own TypeScript files, and a
restyler that turns generated code (written in one canonical style) into that style.

Canonical style of the templates: single quotes, no semicolons, two-space indentation,
trailing commas in multi-line literals, extension-less relative imports.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from .tsedit import Doc

_SEMI_TYPES = {
    "import_statement", "expression_statement", "lexical_declaration", "variable_declaration",
    "return_statement", "throw_statement", "break_statement", "continue_statement",
    "type_alias_declaration", "public_field_definition",
}


@dataclass(frozen=True)
class Style:
    quote: str = "'"
    semi: bool = False
    indent: str = "  "
    js_ext: bool = False  # relative imports end in `.js` (NodeNext / ESM without a bundler)
    width: int = 120

    @property
    def semicolon(self) -> str:
        return ";" if self.semi else ""


def detect_style(texts: list[str]) -> Style:
    """Majority vote over the given TypeScript sources; defaults where they say nothing."""
    quotes: Counter[str] = Counter()
    semis: Counter[bool] = Counter()
    indents: Counter[str] = Counter()
    ext: Counter[bool] = Counter()
    longest: list[int] = []
    for text in texts:
        if not text:
            continue
        doc = Doc("", text)
        for n in doc.walk({"string", "import_statement", "export_statement", "expression_statement",
                           "lexical_declaration", "return_statement"}):
            if n.type == "string":
                raw = doc.t(n)
                if raw[:1] in ("'", '"'):
                    quotes[raw[0]] += 1
                continue
            if n.type in ("import_statement", "export_statement"):
                src = n.child_by_field_name("source")
                if src is not None:
                    mod = doc.t(src)[1:-1]
                    if mod.startswith("."):
                        ext[mod.endswith((".js", ".mjs", ".ts"))] += 1
                if n.type == "export_statement" and n.child_by_field_name("declaration") is not None:
                    continue
            if n.type == "lexical_declaration" and n.parent is not None and n.parent.type in (
                    "for_statement", "for_in_statement"):
                continue
            semis[doc.t(n).rstrip().endswith(";")] += 1
        prev = 0
        for line in text.splitlines():
            stripped = line.lstrip(" \t")
            if not stripped or stripped.startswith(("*", "//")):
                continue
            lead = line[: len(line) - len(stripped)]
            if lead.startswith("\t"):
                indents["\t"] += 1
            elif len(lead) > prev and len(lead) - prev in (2, 4):
                indents[" " * (len(lead) - prev)] += 1
            prev = len(lead.replace("\t", "    "))
            longest.append(len(line))
    longest.sort()
    width = 80
    if longest:
        p = longest[int(len(longest) * 0.995) - 1 if len(longest) > 1 else 0]
        width = 120 if p > 100 else 100 if p > 80 else 80
    return Style(
        quote=quotes.most_common(1)[0][0] if quotes else "'",
        semi=semis[True] > semis[False],
        indent=indents.most_common(1)[0][0] if indents else "  ",
        js_ext=ext[True] > ext[False],
        width=width,
    )


def restyle(code: str, style: Style) -> str:
    """Canonical generated code -> the repository's style (quotes, semicolons, indentation)."""
    if style.quote != "'" or style.semi:
        doc = Doc("", code)
        if style.quote != "'":
            for n in doc.walk("string"):
                raw = doc.t(n)
                if raw.startswith("'") and style.quote not in raw[1:-1]:
                    doc.replace(n, text=style.quote + raw[1:-1].replace("\\'", "'") + style.quote)
        if style.semi:
            for n in doc.walk(_SEMI_TYPES | {"property_signature", "method_signature", "export_statement"}):
                if n.type == "export_statement" and n.child_by_field_name("declaration") is not None:
                    continue
                if n.type == "lexical_declaration" and n.parent is not None and n.parent.type in (
                        "for_statement", "for_in_statement"):
                    continue
                if n.type in ("property_signature", "method_signature") and (
                        n.parent is None or n.parent.type not in ("interface_body", "object_type")):
                    continue
                if n.type in ("property_signature", "method_signature"):
                    nxt = n.next_sibling
                    if nxt is not None and nxt.type in (",", ";"):
                        continue
                    if not doc.t(n.parent).count("\n"):  # `{ a: string }` on one line stays as it is
                        continue
                if not doc.t(n).rstrip().endswith(";"):
                    doc.insert(n.end_byte, ";")
        code = doc.result()
    if style.indent != "  ":
        out = []
        for line in code.split("\n"):
            stripped = line.lstrip(" ")
            depth = (len(line) - len(stripped)) // 2
            rest = (len(line) - len(stripped)) % 2
            out.append(style.indent * depth + " " * rest + stripped)
        code = "\n".join(out)
    return code


def reindent(code: str, prefix: str) -> str:
    """Prefix every non-empty line (for snippets inserted into an indented body)."""
    return "\n".join((prefix + line) if line.strip() else line for line in code.split("\n"))
