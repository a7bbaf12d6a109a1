"""Proposed changes read from a pull request (base model → head model) or a change request.

`changes_from_diff(base, head)`: the schema difference (`checks.sql.replay.diff_schemas`),
enum values removed or added (per column of that enum type), routes that disappear, client
methods removed or whose signature changes (a new required parameter is breaking).

`changes_from_request(change)`: the fields of a validated change request
(`checks.changes.validate.NormalizedChange`) or of a raw `ChangeRequest`.
"""

from __future__ import annotations

import re

from ..model import ClientMethod, RepoModel
from .model import ProposedChange


def _split(obj: str) -> tuple[str, str | None]:
    """"public.users.phone" → ("public.users", "phone")."""
    parts = obj.split(".")
    if len(parts) >= 3:
        return ".".join(parts[:2]), parts[2]
    return obj, None


def changes_from_diff(base: RepoModel, head: RepoModel) -> list[ProposedChange]:
    from ..sql.replay import diff_schemas

    out: list[ProposedChange] = []
    bs, hs = base.schema_, head.schema_
    enum_cols: dict[str, list[tuple[str, str]]] = {}
    for tk, t in bs.tables.items():
        for cn, c in t.columns.items():
            enum_cols.setdefault(c.type.split(".")[-1], []).append((tk, cn))

    def mk(**kw) -> ProposedChange:
        return ProposedChange(source="diff", **kw)

    for d in diff_schemas(bs, hs):
        if d.kind == "table_missing":
            out.append(mk(table=d.object, change="drop"))
        elif d.kind == "table_added":
            out.append(mk(table=d.object, change="new-table"))
        elif d.kind == "table_renamed":
            m = re.search(r"found (\S+) instead", d.detail)
            out.append(mk(table=d.object, change="rename", to=(m.group(1).split(".")[-1] if m else None)))
        elif d.kind == "column_missing":
            t, c = _split(d.object)
            out.append(mk(table=t, column=c, change="drop"))
        elif d.kind == "column_added":
            t, c = _split(d.object)
            col = hs.tables[t].columns[c]
            out.append(mk(table=t, column=c, change="add", to=col.type + ("" if col.nullable else " not null"),
                          nullable=col.nullable, default=col.default))
        elif d.kind == "column_renamed":
            t, c = _split(d.object)
            m = re.search(r"found (\S+) instead", d.detail)
            out.append(mk(table=t, column=c, change="rename", to=m.group(1) if m else None))
        elif d.kind == "column_type_changed":
            t, c = _split(d.object)
            out.append(mk(table=t, column=c, change="type", to=hs.tables[t].columns[c].type, detail=d.detail))
        elif d.kind == "column_nullability_changed":
            t, c = _split(d.object)
            out.append(mk(table=t, column=c, change="nullability",
                          to="null" if hs.tables[t].columns[c].nullable else "not null"))
        elif d.kind == "index_added":
            ix = hs.indexes.get(d.object)
            if ix is not None:
                out.append(mk(table=ix.table, column=",".join(ix.columns), change="add-index", detail=ix.name))
        elif d.kind == "enum_values_changed":
            be, he = bs.enums.get(d.object), hs.enums.get(d.object)
            if be is None or he is None:
                continue
            removed = [v for v in be.values if v not in he.values]
            added = [v for v in he.values if v not in be.values]
            for t, c in enum_cols.get(d.object.split(".")[-1], []):
                if t in hs.tables and c in hs.tables[t].columns:
                    out.append(mk(table=t, column=c, change="type", to=hs.tables[t].columns[c].type,
                                  enum_removed=removed, enum_added=added,
                                  detail=f"enum {d.object}: " + "; ".join(
                                      x for x in (f"removed {', '.join(removed)}" if removed else "",
                                                  f"added {', '.join(added)}" if added else "") if x)))
    out += _api_changes(base, head)
    return out


def _sig(c: ClientMethod) -> list[tuple[str, bool]]:
    return [(p.name, not (p.optional or p.rest)) for p in c.params]


def _api_changes(base: RepoModel, head: RepoModel) -> list[ProposedChange]:
    out: list[ProposedChange] = []
    head_routes = {(r.method.upper(), r.path) for r in head.routes}
    seen = set()
    for r in base.routes:
        key = (r.method.upper(), r.path)
        if key not in head_routes and key not in seen:
            seen.add(key)
            out.append(ProposedChange(change="api-endpoint", endpoint=f"{key[0]} {r.raw_path}", to="removed",
                                      source="diff", detail=f"{key[0]} {r.path} is no longer served"))
    head_clients = {(c.package, c.name): c for c in head.client_methods}
    for c in base.client_methods:
        h = head_clients.get((c.package, c.name))
        ep = f"{c.http_method.upper()} {c.raw_path}"
        if h is None:
            out.append(ProposedChange(change="api-endpoint", endpoint=ep, to="client-method-removed", source="diff",
                                      detail=f"{c.name}"))
            continue
        if (h.http_method.upper(), h.path) != (c.http_method.upper(), c.path):
            out.append(ProposedChange(change="api-endpoint", endpoint=ep, to="client-method-changed", source="diff",
                                      detail=f"{c.name}: now calls {h.http_method.upper()} {h.raw_path}"))
            continue
        old, new = _sig(c), _sig(h)
        if old != new:
            old_names = {n for n, _ in old}
            required_new = [n for n, req in new if req and n not in old_names]
            became_req = [n for n, req in new if req and (n, False) in old]
            if len([1 for _, r in new if r]) > len([1 for _, r in old if r]) or required_new or became_req:
                what = ", ".join(required_new + became_req) or "a parameter"
                detail = f"{c.name}: new required parameter {what}"
            else:
                detail = f"{c.name}: parameters ({', '.join(n for n, _ in old)}) → ({', '.join(n for n, _ in new)})"
            out.append(ProposedChange(change="api-endpoint", endpoint=ep, to="client-method-changed", source="diff",
                                      detail=detail))
    return out


# --------------------------------------------------------------------------- change requests

_TYPE_TO_KIND = {
    "add-field": "add", "remove-field": "drop", "rename": "rename", "modify-field": "type",
    "new-table": "new-table", "add-index": "add-index", "api-endpoint": "api-endpoint", "other": "modify",
}


def changes_from_request(change) -> list[ProposedChange]:
    """`ProposedChange`s of a change request: a `NormalizedChange` (validated) or a `ChangeRequest`."""
    from ..changes.request import ChangeRequest

    if isinstance(change, ChangeRequest):
        return _from_raw(change)
    kind = _TYPE_TO_KIND.get(change.type or "other", "modify")
    out: list[ProposedChange] = []

    def mk(**kw) -> ProposedChange:
        return ProposedChange(source="request", **kw)

    if kind == "new-table":
        for t in change.new_tables or change.tables:
            out.append(mk(table=t, change="new-table"))
    elif kind == "rename" and change.renamed_tables and not change.columns:
        for old, new in change.renamed_tables.items():
            out.append(mk(table=old, change="rename", to=new.split(".")[-1]))
    elif kind == "add-index":
        by_table: dict[str, list[str]] = {}
        for c in change.columns:
            by_table.setdefault(c.table, []).append(c.name)
        for t, cols in by_table.items():
            out.append(mk(table=t, column=",".join(cols), change="add-index"))
        if not by_table:
            out += [mk(table=t, change="add-index") for t in change.tables]
    elif kind != "api-endpoint":
        for c in change.columns:
            if kind == "add":
                to = (c.type or "") + ("" if c.nullable in (None, True) else " not null")
                out.append(mk(table=c.table, column=c.name, change="add", to=to.strip() or None,
                              nullable=c.nullable, default=c.default))
            elif kind == "rename":
                out.append(mk(table=c.table, column=c.name, change="rename", to=c.new_name))
            elif kind == "type":
                if c.type and c.type != c.current_type:
                    out.append(mk(table=c.table, column=c.name, change="type", to=c.type))
                if c.nullable is not None and c.current_nullable is not None and c.nullable != c.current_nullable:
                    out.append(mk(table=c.table, column=c.name, change="nullability",
                                  to="null" if c.nullable else "not null"))
                if not c.type and c.nullable is None:
                    out.append(mk(table=c.table, column=c.name, change="modify"))
            else:
                out.append(mk(table=c.table, column=c.name, change=kind))
        if not change.columns:
            out += [mk(table=t, change=kind) for t in change.tables]
    col_of = {c.table: c.name for c in change.columns}
    for e in change.endpoints:
        t = change.tables[0] if change.tables else None
        out.append(mk(table=t, column=col_of.get(t) if t else None, change="api-endpoint",
                      endpoint=f"{e.method} {e.raw_path or e.path}"))
    return out


def _from_raw(cr) -> list[ProposedChange]:
    """A change request as written (names not validated): best effort."""
    from ..changes.validate import NormalizedChange, NormalizedColumn, NormalizedEndpoint

    tables = [t.qualified for t in cr.tables]
    default_table = tables[0] if len(tables) == 1 else None
    cols = []
    for c in cr.columns:
        t = c.table or default_table
        if t is None:
            continue
        cols.append(NormalizedColumn(table=t if "." in t else f"public.{t}", name=c.name, new_name=c.new_name,
                                     type=c.type, nullable=c.nullable, default=c.default))
    nc = NormalizedChange(
        type=cr.change_type, tables=tables,
        new_tables=tables if cr.change_type == "new-table" else [],
        renamed_tables={t.qualified: t.new_name for t in cr.tables if t.new_name},
        columns=cols, endpoints=[NormalizedEndpoint(method=e.method, path=e.normalized, raw_path=e.path)
                                 for e in cr.endpoints],
        expose_api=cr.expose_api)
    return changes_from_request(nc)
