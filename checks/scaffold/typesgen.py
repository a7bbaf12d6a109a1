"""`database.types.ts` (output of `supabase gen types typescript`): a new column or a new table
written the way the generator writes it (columns sorted, Row/Insert/Update/Relationships, the
file's quotes and separators), at the position found in the syntax tree."""

from __future__ import annotations

from ..model import Column, RepoModel, Table
from .project import Project
from .sqlgen import JSON_TYPES, NUMBER_TYPES, base_type, enum_key
from .tsedit import Doc, Node, insert_member, member_map, members, separator_after


def gen_ts_type(model: RepoModel, pg_type: str, q: str = '"') -> str:
    """The TypeScript type `supabase gen types` gives a column of `pg_type` (without `| null`)."""
    arr = pg_type.endswith("[]")
    b = base_type(pg_type)
    ek = enum_key(model, pg_type)
    if ek is not None:
        schema, name = ek.split(".", 1)
        t = f"Database[{q}{schema}{q}][{q}Enums{q}][{q}{name}{q}]"
    elif b in NUMBER_TYPES:
        t = "number"
    elif b == "boolean":
        t = "boolean"
    elif b in JSON_TYPES:
        t = "Json"
    else:
        t = "string"
    return f"{t}[]" if arr else t


def base_ts(model: RepoModel, pg_type: str) -> str:
    """The TS base type as a class name for matching columns: string/number/boolean/Json/enum:<name>."""
    ek = enum_key(model, pg_type)
    if ek is not None:
        return "enum:" + ek
    return gen_ts_type(model, pg_type)


def insert_optional(col: Column) -> bool:
    return col.nullable or col.default is not None or col.identity or col.generated


# --------------------------------------------------------------------------- locating


def _prop_type(doc: Doc, obj: Node, name: str) -> Node | None:
    """The object type (or tuple) of property `name` of the object type `obj`."""
    m = member_map(doc, obj).get(name)
    if m is None:
        return None
    ann = m.child_by_field_name("type")
    if ann is None:
        return None
    for c in ann.named_children:
        return c
    return None


def database_object(doc: Doc) -> Node | None:
    for n in doc.walk({"type_alias_declaration", "interface_declaration"}):
        name = n.child_by_field_name("name")
        if doc.t(name) == "Database":
            body = n.child_by_field_name("value") or n.child_by_field_name("body")
            return body
    return None


def tables_object(doc: Doc, schema: str = "public") -> Node | None:
    db = database_object(doc)
    if db is None:
        return None
    sch = _prop_type(doc, db, schema)
    if sch is None or sch.type != "object_type":
        return None
    tables = _prop_type(doc, sch, "Tables")
    return tables if tables is not None and tables.type == "object_type" else None


def _quote(doc: Doc) -> str:
    return "'" if "['public']" in doc.text or "['Tables']" in doc.text else '"'


def _sep(doc: Doc, obj: Node) -> str:
    for m in members(obj):
        s = separator_after(m)
        if s is not None:
            return doc.t(s)
    return ""


def types_files(project: Project, schema: str = "public") -> list[str]:
    return [dt.file for dt in project.model.database_types]


# --------------------------------------------------------------------------- edits


def add_column(project: Project, path: str, table: Table, col: Column) -> bool:
    """Add `col` to Row/Insert/Update of `table` in the types file `path`; False if the table is not there."""
    doc = project.doc(path)
    tables = tables_object(doc, table.schema_)
    if tables is None:
        return False
    tobj = _prop_type(doc, tables, table.name)
    if tobj is None:
        return False
    q = _quote(doc)
    t = gen_ts_type(project.model, col.type, q) + (" | null" if col.nullable else "")
    for section in ("Row", "Insert", "Update"):
        sec = _prop_type(doc, tobj, section)
        if sec is None or sec.type != "object_type":
            continue
        optional = section == "Update" or (section == "Insert" and insert_optional(col))
        text = f"{col.name}{'?' if optional else ''}: {t}"
        ms = members(sec)
        before = next((m for m in ms if (doc.t(m.child_by_field_name('name')) or "") > col.name), None)
        insert_member(doc, sec, text, before=before)
    if col.references and not col.references.startswith("auth."):
        rel = _prop_type(doc, tobj, "Relationships")
        if rel is not None:
            _add_relationship(doc, rel, table, col, q)
    return True


def _relationship_lines(table: str, col: Column, q: str, indent: str, unit: str, sep: str) -> list[str]:
    target, _, ref_col = col.references.rpartition(".")
    ref_table = target.split(".")[-1]
    one = "true" if (col.unique or col.primary_key) else "false"
    return [
        f"{indent}{{",
        f"{indent}{unit}foreignKeyName: {q}{table}_{col.name}_fkey{q}{sep}",
        f"{indent}{unit}columns: [{q}{col.name}{q}]{sep}",
        f"{indent}{unit}isOneToOne: {one}{sep}",
        f"{indent}{unit}referencedRelation: {q}{ref_table}{q}{sep}",
        f"{indent}{unit}referencedColumns: [{q}{ref_col}{q}]{sep}",
        f"{indent}}},",
    ]


def _add_relationship(doc: Doc, rel: Node, table: Table, col: Column, q: str) -> None:
    unit = "  "
    indent = doc.indent_of(rel)  # the line `Relationships: [`
    sep = ""
    if rel.type != "tuple_type":
        return
    items = [c for c in rel.named_children]
    if items:
        last = items[-1]
        indent = doc.indent_of(last)
        sep = _sep(doc, last) if last.type == "object_type" else ""
        text = "\n".join(_relationship_lines(table.name, col, q, indent, unit, sep))
        s = last.next_sibling
        if s is not None and s.type == ",":
            doc.insert(s.end_byte, "\n" + text)
        else:
            doc.insert(last.end_byte, ",\n" + text.removesuffix(","))
        return
    # `Relationships: []`
    inner = doc.indent_of(rel) + unit
    text = "\n".join(_relationship_lines(table.name, col, q, inner, unit, sep))
    doc.replace(rel, text=f"[\n{text}\n{doc.indent_of(rel)}]")


def add_table(project: Project, path: str, table: Table) -> bool:
    doc = project.doc(path)
    tables = tables_object(doc, table.schema_)
    if tables is None:
        return False
    q = _quote(doc)
    ms = [m for m in members(tables) if m.type == "property_signature"]
    sep = _sep(doc, tables)
    if ms:
        indent = doc.indent_of(ms[0])
        sample = _prop_type(doc, tables, doc.t(ms[0].child_by_field_name("name")))
        row = _prop_type(doc, sample, "Row") if sample is not None else None
        row_members = members(row) if row is not None else []
        unit = doc.indent_of(row_members[0])[len(indent):] if row_members else "  "
        unit = unit[: len(unit) // 2] if len(unit) >= 2 else "  "
        inner_sep = _sep(doc, row) if row is not None else ""
    else:
        indent = doc.indent_of(tables) + "  "
        unit, inner_sep = "  ", ""
    i1, i2, i3 = indent + unit, indent + unit * 2, indent + unit * 3
    cols = sorted(table.columns.values(), key=lambda c: c.name)
    lines = [f"{table.name}: {{"]
    for section in ("Row", "Insert", "Update"):
        lines.append(f"{i1}{section}: {{")
        for c in cols:
            t = gen_ts_type(project.model, c.type, q) + (" | null" if c.nullable else "")
            opt = section == "Update" or (section == "Insert" and insert_optional(c))
            lines.append(f"{i2}{c.name}{'?' if opt else ''}: {t}{inner_sep}")
        lines.append(f"{i1}}}{inner_sep}")
    fks = [c for c in table.columns.values() if c.references and not c.references.startswith("auth.")]
    if fks:
        lines.append(f"{i1}Relationships: [")
        for c in sorted(fks, key=lambda c: f"{table.name}_{c.name}_fkey"):
            lines.extend(_relationship_lines(table.name, c, q, i2, unit, inner_sep))
        lines.append(f"{i1}]{inner_sep}")
    else:
        lines.append(f"{i1}Relationships: []{inner_sep}")
    lines.append(f"{indent}}}")
    text = "\n".join(lines)
    if not ms:
        # `Tables: { [_ in never]: never }`
        doc.replace(tables, text=f"{{\n{indent}{text}{sep}\n{doc.indent_of(tables)}}}")
        return True
    before = next((m for m in ms if doc.t(m.child_by_field_name("name")) > table.name), None)
    insert_member(doc, tables, text, before=before, sep=sep)
    return True
