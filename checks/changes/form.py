"""Issue body → `ChangeRequest`, as GitHub renders an issue-form submission.

GitHub writes each answered field as `### <label>` followed by the answer (`_No response_` when
left empty, `- [X] option` / `- [ ] option` for checkboxes). People then edit the issue by
hand, so the parser is tolerant: any heading level or case, `**Label**` / `**Label:** value`
lines, CRLF, HTML comments, fenced code, bullets, missing or extra sections. The document
structure comes from a Markdown parser (markdown-it-py); the answers themselves are read
field by field (column definitions with the real PostgreSQL parser).

`parse_issue_body` never raises: whatever it cannot read becomes a `Problem`.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

import pglast
from markdown_it import MarkdownIt
from pglast import ast
from pglast.enums import ConstrType as CT
from pglast.parser import ParseError

from ..sql.parse import deparse, normalize_type
from .request import (
    CHANGE_TYPES,
    HTTP_METHODS,
    ChangeRequest,
    ColumnSpec,
    EndpointSpec,
    Problem,
    TableRef,
)

__all__ = ["FIELDS", "OPTIONS", "FormField", "parse_issue_body", "normalize_path", "parse_column_line",
           "parse_endpoint", "parse_tables", "normalize_label"]


@dataclass(frozen=True)
class FormField:
    id: str  # the issue form's element id and the ChangeRequest attribute
    label: str  # the label in templates/changes/data-layer-change.yml
    aliases: tuple[str, ...] = ()
    free_text: bool = False  # a hand-written heading inside it belongs to the answer


# One definition for the form template and the parser (a test keeps them equal).
FIELDS: tuple[FormField, ...] = (
    FormField("summary", "Summary", ("title", "what", "description", "change summary"), free_text=True),
    FormField("change_type", "Change type", ("type", "type of change", "kind", "kind of change")),
    FormField("tables", "Table(s)", ("tables", "table", "table name", "table names")),
    FormField("columns", "Column(s) with type", ("columns", "column", "column(s)", "fields", "field(s)", "column definitions")),
    FormField("endpoints", "Endpoint(s)", ("endpoints", "endpoint", "api endpoint(s)", "api endpoints", "routes", "route")),
    FormField("components", "Affected components", ("components", "component", "affected component(s)", "affected component")),
    FormField("breaking", "Breaking change", ("breaking", "is it breaking", "breaking?", "is this a breaking change")),
    FormField("motivation", "Motivation", ("why", "reason", "rationale"), free_text=True),
    FormField("rollback_plan", "Rollback plan", ("rollback", "rollback strategy", "how to roll back"), free_text=True),
    FormField("target_date", "Target date", ("date", "due date", "deadline", "target")),
    FormField("options", "Options", ("checklist", "flags")),
)

# Checkbox options of the `options` field: key -> label.
OPTIONS: dict[str, str] = {
    "expose-api": "Expose the change through the Database Service API and its typed client",
    "backfill": "Existing rows need a data backfill",
}

_EMPTY_ANSWERS = {"no response", "none", "n/a", "na", "-", "—", "tbd", "nothing"}


def normalize_label(text: str) -> str:
    """`### Column(s) with Type:` → `column with type` (case, punctuation, plurals folded)."""
    t = text.lower().replace("(s)", "")
    t = re.sub(r"[^a-z0-9]+", " ", t).strip()
    return " ".join(w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith("ss") else w for w in t.split())


_LABELS: dict[str, FormField] = {}
for _f in FIELDS:
    for _l in (_f.label, _f.id.replace("_", " "), *_f.aliases):
        _LABELS.setdefault(normalize_label(_l), _f)


def _field_for(label: str) -> FormField | None:
    return _LABELS.get(normalize_label(label))


# --------------------------------------------------------------------------- document structure

_md = MarkdownIt("commonmark")


def _inline_text(tok) -> str:
    """Plain text of an inline token: code spans kept, HTML comments and emphasis markers dropped."""
    out: list[str] = []
    for c in tok.children or ():
        if c.type in ("text", "code_inline"):
            out.append(c.content)
        elif c.type in ("softbreak", "hardbreak"):
            out.append("\n")
        elif c.type == "html_inline":
            if not c.content.startswith("<!--"):
                out.append(c.content)
        elif c.type == "image":
            out.append(c.content)
    return "".join(out)


@dataclass
class _Section:
    field: FormField
    lines: list[str] = field(default_factory=list)
    checkboxes: list[tuple[bool, str]] = field(default_factory=list)


def _split_label_paragraph(tok) -> tuple[str, str] | None:
    """`**Label**` or `**Label:** answer` at the start of a paragraph → (label, rest)."""
    ch = tok.children or []
    i = 0
    while i < len(ch) and ch[i].type == "text" and not ch[i].content.strip():
        i += 1
    if i >= len(ch) or ch[i].type != "strong_open":
        return None
    j = i + 1
    label = []
    while j < len(ch) and ch[j].type != "strong_close":
        if ch[j].type in ("text", "code_inline"):
            label.append(ch[j].content)
        j += 1
    if j >= len(ch):
        return None
    rest_tok = type(tok)(type="inline", tag="", nesting=0)
    rest_tok.children = ch[j + 1:]
    rest = _inline_text(rest_tok)
    rest = rest.lstrip()
    if rest.startswith(":"):
        rest = rest[1:]
    return "".join(label).strip().rstrip(":").strip(), rest


def _sections(body: str) -> tuple[dict[str, _Section], list[str], list[str]]:
    """Field id → its answer lines / checkboxes; field ids in order; unknown headings."""
    tokens = _md.parse(body)
    sections: dict[str, _Section] = {}
    order: list[str] = []
    unknown: list[str] = []
    current: _Section | None = None
    in_heading = False
    list_depth = 0
    item_first_para = False

    def start(f: FormField) -> _Section:
        nonlocal current
        if f.id not in sections:
            sections[f.id] = _Section(f)
            order.append(f.id)
        current = sections[f.id]
        return current

    def add_text(text: str, in_item: bool) -> None:
        if current is None:
            return
        lines = text.split("\n")
        if in_item and item_first_para:
            m = re.match(r"^\s*\[([ xX])\]\s*(.*)$", lines[0])
            if m:
                current.checkboxes.append((m.group(1) != " ", m.group(2).strip()))
                lines = lines[1:]
        current.lines.extend(lines)

    for tok in tokens:
        t = tok.type
        if t == "heading_open":
            in_heading = True
        elif t == "heading_close":
            in_heading = False
        elif t in ("bullet_list_open", "ordered_list_open"):
            list_depth += 1
        elif t in ("bullet_list_close", "ordered_list_close"):
            list_depth -= 1
        elif t == "list_item_open":
            item_first_para = True
        elif t == "inline":
            text = _inline_text(tok)
            if in_heading:
                f = _field_for(text)
                if f is not None:
                    start(f)
                elif current is not None and current.field.free_text:
                    current.lines.append(text)  # a heading the author wrote inside a free-text answer
                else:
                    unknown.append(text.strip())
                    current = None
                continue
            if list_depth == 0 and tok.level == 1:
                split = _split_label_paragraph(tok)
                if split is not None and _field_for(split[0]) is not None:
                    start(_field_for(split[0]))  # type: ignore[arg-type]
                    if split[1].strip():
                        add_text(split[1], False)
                    continue
            add_text(text, list_depth > 0)
            if list_depth > 0:
                item_first_para = False
        elif t in ("fence", "code_block"):
            if current is not None:
                current.lines.extend(tok.content.rstrip("\n").split("\n"))
        # html_block (comments, <details>), hr, tables: not part of an answer
    return sections, order, unknown


def _answer_lines(sec: _Section | None) -> list[str]:
    """Non-empty answer lines, `_No response_` and placeholders removed."""
    if sec is None:
        return []
    lines = [ln.strip() for ln in sec.lines]
    lines = [ln for ln in lines if ln]
    if len(lines) == 1 and lines[0].lower().strip(" .") in _EMPTY_ANSWERS:
        return []
    return [ln for ln in lines if ln.lower() != "no response"]


def _text(sec: _Section | None) -> str | None:
    lines = _answer_lines(sec)
    return "\n".join(lines) if lines else None


# --------------------------------------------------------------------------- answers

_IDENT = re.compile(r'^(?:[A-Za-z_][A-Za-z0-9_$]*|"[^"]+")$')
_ARROW = re.compile(r"\s*(?:->|→|=>|⇒)\s*|\s+to\s+", re.IGNORECASE)


def _unquote(name: str) -> str:
    name = name.strip().strip("`")
    if len(name) >= 2 and name[0] == '"' and name[-1] == '"':
        return name[1:-1]
    return name.lower()


def _split_items(lines: list[str]) -> list[str]:
    items: list[str] = []
    for ln in lines:
        for part in ln.split(","):
            part = part.strip().strip("`").strip()
            if part:
                items.append(part)
    return items


def parse_tables(lines: list[str], problems: list[Problem]) -> list[TableRef]:
    """`public.users, orders` / one per line / `old -> new` for a rename."""
    out: list[TableRef] = []
    for item in _split_items(lines):
        raw = item
        item = re.sub(r"\s*\(.*\)\s*$", "", item)  # "users (customers)" → "users"
        parts = _ARROW.split(item, maxsplit=1)
        old = parts[0].strip()
        new = parts[1].strip() if len(parts) > 1 else None
        names = [n for n in old.split(".")]
        if not 1 <= len(names) <= 2 or not all(_IDENT.match(n.strip()) for n in names) or (
                new is not None and not all(_IDENT.match(n.strip()) for n in new.split("."))):
            problems.append(Problem(field="tables", message=(
                f"`{raw}` is not a table name: write one table per line or comma separated, "
                "optionally schema-qualified (`public.users`), and `old_name -> new_name` for a rename")))
            continue
        schema = _unquote(names[0]) if len(names) == 2 else None
        out.append(TableRef(schema=schema, name=_unquote(names[-1]),
                            new_name=_unquote(new.split(".")[-1]) if new else None, raw=raw))
    return out


_PARAM_SEG = re.compile(r"^(?::[A-Za-z_][\w]*\??|\{[^/{}]*\}|\$\{[^}]*\}|<[^/<>]*>|\[[^/\[\]]*\])$")


def normalize_path(path: str) -> str:
    """`/users/:id`, `/users/{id}`, `` /users/${id} `` → `/users/{}` (query, trailing slash dropped)."""
    p = path.strip().strip("`'\"")
    p = re.sub(r"(:[A-Za-z_]\w*)\?(?=/|$)", r"\1", p)  # optional params (`:id?`) before the query is cut
    p = re.split(r"[?#]", p, maxsplit=1)[0]
    segs = [s for s in p.split("/") if s]
    out = []
    for s in segs:
        if _PARAM_SEG.match(s) or s == "{}":
            out.append("{}")
        else:
            out.append(re.sub(r"\$\{[^}]*\}|:[A-Za-z_]\w*", "{}", s))
    return "/" + "/".join(out)


def parse_endpoint(line: str) -> tuple[EndpointSpec | None, str | None]:
    """`GET /users/:id` → EndpointSpec, or (None, why it is not an endpoint)."""
    raw = line.strip().strip("`").strip()
    parts = raw.split()
    if len(parts) == 1 and parts[0].startswith("/"):
        return None, f"`{raw}`: add the HTTP method, e.g. `GET {parts[0]}`"
    if len(parts) != 2:
        return None, f"`{raw}`: write one endpoint per line as `METHOD /path`, e.g. `GET /users/:id`"
    method, path = parts[0].upper(), parts[1].strip("`")
    if method not in HTTP_METHODS:
        return None, f"`{raw}`: `{parts[0]}` is not an HTTP method (use one of {', '.join(HTTP_METHODS)})"
    if not path.startswith("/"):
        return None, f"`{raw}`: the path must start with `/`, e.g. `{method} /{path}`"
    if re.search(r"[\s\\]", path) or "//" in path:
        return None, f"`{raw}`: `{path}` is not a URL path"
    return EndpointSpec(method=method, path=path, normalized=normalize_path(path), raw=raw), None


def _column_defs(text: str) -> list[ast.ColumnDef] | None:
    """The column definitions of `text` as PostgreSQL reads them in `create table`, or None."""
    try:
        stmts = pglast.parse_sql(f"create table _dlcm_ ({text})")
    except ParseError:
        return None
    if len(stmts) != 1 or not isinstance(stmts[0].stmt, ast.CreateStmt):
        return None
    elts = stmts[0].stmt.tableElts or ()
    if not elts or not all(isinstance(e, ast.ColumnDef) for e in elts):
        return None
    return list(elts)


_UNTYPED = "_dlcm_untyped_"


def _spec_from_def(cd: ast.ColumnDef, table: str | None, raw: str, line: int) -> ColumnSpec:
    t = normalize_type(cd.typeName) if cd.typeName is not None else None
    spec = ColumnSpec(table=table, name=cd.colname, type=None if t == _UNTYPED else t, raw=raw, line=line)
    if cd.is_not_null:
        spec.nullable = False
    if cd.raw_default is not None:
        spec.default = deparse(cd.raw_default)
    for c in cd.constraints or ():
        k = c.contype
        if k == CT.CONSTR_NULL:
            spec.nullable = True
        elif k == CT.CONSTR_NOTNULL:
            spec.nullable = False
        elif k == CT.CONSTR_DEFAULT and c.raw_expr is not None:
            spec.default = deparse(c.raw_expr)
        elif k == CT.CONSTR_PRIMARY:
            spec.primary_key, spec.nullable = True, False
        elif k == CT.CONSTR_UNIQUE:
            spec.unique = True
        elif k == CT.CONSTR_IDENTITY:
            spec.nullable = False
            spec.default = spec.default or "generated as identity"
        elif k == CT.CONSTR_FOREIGN and c.pktable is not None:
            ref = f"{c.pktable.schemaname or 'public'}.{c.pktable.relname}"
            cols = [n.sval for n in (c.pk_attrs or ()) if isinstance(n, ast.String)]
            spec.references = f"{ref}.{cols[0]}" if cols else ref
    return spec


def _first_token(s: str) -> tuple[str, str]:
    """Split off the first (possibly quoted, possibly qualified) identifier."""
    s = s.strip()
    i, n = 0, len(s)
    while i < n and not s[i].isspace():
        if s[i] == '"':
            j = s.find('"', i + 1)
            i = n if j < 0 else j + 1
        else:
            i += 1
    return s[:i], s[i:].strip()


def parse_column_line(text: str, line: int = 1) -> tuple[list[ColumnSpec], str | None]:
    """One line of the columns field → specs (a line may hold several `a text, b int`), or an error."""
    raw = text.strip().strip("`").strip()
    raw = re.sub(r"\s+--\s.*$", "", raw).rstrip(",;").strip()  # trailing SQL comment / separator
    if not raw or raw.startswith("--"):  # empty, or an SQL comment line
        return [], None
    hint = ("write `name type [null|not null] [default X]`, e.g. `phone text null` "
            "(or just `name` to remove, `old -> new` to rename)")
    if ";" in raw:
        return [], f"`{raw}`: one column definition per line, without `;` — {hint}"
    head, rest = _first_token(raw)
    head = head.rstrip(":")  # `phone: text`
    arrow = _ARROW.split(raw, maxsplit=1)
    if len(arrow) == 2 and _first_token(arrow[0])[1] == "":
        head, new = arrow[0].strip(), arrow[1].strip().split()[0] if arrow[1].strip() else ""
        rest = ""
        if not new or not all(_IDENT.match(p) for p in new.split(".")):
            return [], f"`{raw}`: the new name is missing — write `old_name -> new_name`"
        new_name = _unquote(new.split(".")[-1])
    else:
        new_name = None
    parts = head.split(".")
    if not 1 <= len(parts) <= 3 or not all(_IDENT.match(p) for p in parts):
        return [], f"`{raw}`: `{head}` is not a column name — {hint}"
    table = ".".join(_unquote(p) for p in parts[:-1]) or None
    name = parts[-1]
    if new_name is not None or not rest:
        return [ColumnSpec(table=table, name=_unquote(name), new_name=new_name, raw=raw, line=line)], None
    defs = _column_defs(f"{name} {rest}")
    if defs is None:
        defs = _column_defs(f"{name} {_UNTYPED} {rest}")
        if defs is None or len(defs) != 1:
            return [], f"`{raw}`: PostgreSQL cannot read this column definition — {hint}"
    specs = [_spec_from_def(cd, table, raw, line) for cd in defs]
    return specs, None


def _parse_change_type(text: str | None) -> str | None:
    if not text:
        return None
    first = text.strip().splitlines()[0]
    head = re.split(r"\s+[—–-]\s+|[(:]", first, maxsplit=1)[0]
    key = re.sub(r"[\s_]+", "-", head.strip().lower()).strip("-`*")
    if key in CHANGE_TYPES:
        return key
    key2 = re.sub(r"[\s_]+", "-", first.lower())
    for ct in sorted(CHANGE_TYPES, key=len, reverse=True):
        if key2.startswith(ct) or key2.startswith(ct.replace("-", "")):
            return ct
    aliases = {"add-column": "add-field", "add-columns": "add-field", "new-column": "add-field",
               "create-table": "new-table", "table": "new-table", "endpoint": "api-endpoint",
               "new-endpoint": "api-endpoint", "change-column": "modify-field", "alter-column": "modify-field",
               "drop-column": "remove-field", "remove-column": "remove-field", "index": "add-index"}
    return aliases.get(key)


def _parse_breaking(text: str | None) -> str | None:
    if not text:
        return None
    line = " ".join(re.sub(r"[^a-z' ]", " ", text.strip().splitlines()[0].lower()).split())
    if not line:
        return None
    if line.startswith(("unsure", "not sure", "maybe", "unknown", "don't know", "dont know", "perhaps", "possibly",
                        "i don't know", "not certain", "uncertain")):
        return "unsure"
    w = line.split()[0]
    if w in ("yes", "y", "true", "breaking"):
        return "yes"
    if w in ("no", "n", "false", "non", "not", "none"):
        return "no"
    return None


def _parse_date(text: str) -> dt.date | None:
    s = text.strip().split()[0] if text.strip() else ""
    s = s.strip("`*_")
    for fmt in ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%d.%m.%Y"):
        try:
            return dt.datetime.strptime(s, fmt).date()
        except ValueError:
            continue
    return None


def parse_issue_body(body: str | None) -> ChangeRequest:
    """The change request an issue body describes; what cannot be read is in `.problems`."""
    cr = ChangeRequest()
    text = (body or "").replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    try:
        sections, order, unknown = _sections(text)
    except Exception as e:  # markdown-it is robust; this is a last line of defence
        cr.problems.append(Problem(field="body", message=f"the issue body could not be read as Markdown ({e})"))
        return cr
    cr.sections, cr.unknown_sections = order, unknown
    p = cr.problems

    cr.summary = _text(sections.get("summary"))
    raw_type = _text(sections.get("change_type"))
    cr.change_type_raw = raw_type
    cr.change_type = _parse_change_type(raw_type)  # type: ignore[assignment]
    if raw_type and cr.change_type is None:
        p.append(Problem(field="change_type", message=(
            f"`{raw_type.splitlines()[0]}` is not a change type: choose one of {', '.join(CHANGE_TYPES)}")))

    cr.tables = parse_tables(_answer_lines(sections.get("tables")), p)

    for i, ln in enumerate(_answer_lines(sections.get("columns")), 1):
        specs, err = parse_column_line(ln, i)
        if err:
            p.append(Problem(field="columns", message=err))
        cr.columns.extend(specs)

    for ln in _answer_lines(sections.get("endpoints")):
        ep, err = parse_endpoint(ln)
        if err:
            p.append(Problem(field="endpoints", message=err))
        elif ep is not None:
            cr.endpoints.append(ep)

    comps: list[str] = []
    for item in _split_items(_answer_lines(sections.get("components"))):
        name = re.split(r"\s+[—–(-]|\s+\(|:", item, maxsplit=1)[0].strip().strip("`*")
        if name and name not in comps:
            comps.append(name)
    cr.components = comps

    raw_breaking = _text(sections.get("breaking"))
    cr.breaking = _parse_breaking(raw_breaking)  # type: ignore[assignment]
    if raw_breaking and cr.breaking is None:
        p.append(Problem(field="breaking", message=f"`{raw_breaking.splitlines()[0]}`: answer yes, no or unsure"))

    cr.motivation = _text(sections.get("motivation"))
    cr.rollback_plan = _text(sections.get("rollback_plan"))

    raw_date = _text(sections.get("target_date"))
    cr.target_date_raw = raw_date
    if raw_date:
        cr.target_date = _parse_date(raw_date)
        if cr.target_date is None:
            p.append(Problem(field="target_date", message=f"`{raw_date.splitlines()[0]}` is not a date: write it as YYYY-MM-DD"))

    opt_sec = sections.get("options")
    if opt_sec is not None:
        by_label = {normalize_label(v): k for k, v in OPTIONS.items()}
        for ticked, label in opt_sec.checkboxes:
            key = by_label.get(normalize_label(label))
            if key is None:
                key = next((k for lab, k in by_label.items() if normalize_label(label).startswith(lab[:24])), None)
            cr.options[key or normalize_label(label).replace(" ", "-")[:60]] = ticked
    return cr
