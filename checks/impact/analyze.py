"""Impact of proposed data-layer changes: the chain from SQL to TypeScript, across HTTP.

    analyze(model, changes)                  # a change request or CLI question, on one model
    analyze(base, changes, after=head)       # a pull request: what depended on it (base), what is still missing (head)
    analyze_diff(base, head)                 # a pull request: changes read from the diff

How far a change travels (see `checks.impact.index` for the handler-call heuristic):

- a **repository method** is hit when one of its `.from('<table>')` usages reads or writes
  the column: it *carries* the column (in a select list, `select('*')`, insert/update keys)
  and/or *names* it (select list, keys, filters: its SQL fails once the column is gone). A
  table-level change hits every usage of the table. Memory (and other) implementations of
  the same interface method are hit with it: they must mirror the change.
- an **endpoint** is hit with effect `contract` when its primary repository call carries the
  column (its request or response changes), `runtime` when any of its calls names a dropped or
  renamed column (it fails until the repository is updated; its contract is unchanged).
- **client methods** follow contract endpoints (same HTTP method and normalised path);
  **consumers** follow client methods when the change is visible to them (removals, renames,
  type and nullability changes; an added column only when it is required on insert).
- **components** and owners come from the files of all of the above (`OwnerIndex`), plus the
  database component for the migration itself.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field

from ..config import Config
from ..model import Column, RepoModel, Table, TableUsage
from .index import ModelIndex, RouteLinks, index_for, qualify
from .model import (
    BreakingItem, ClientMethodItem, ColumnItem, ComponentItem, ConsumerItem, EndpointItem, ImpactReport,
    MissingItem, ProposedChange, RepositoryMethodItem, TableItem,
)
from .types import classify_type_change, ts_type_of

WRITE_KINDS = ("insert", "update", "upsert")
LAYER = {"database": 0, "service": 1, "client": 2, "consumer": 3}


class ImpactError(ValueError):
    """A change that cannot be analysed as asked (unknown table, missing column, ...)."""


# --------------------------------------------------------------------------- validation


def _close(name: str, options: list[str]) -> str:
    import difflib

    m = difflib.get_close_matches(name, options, n=3, cutoff=0.6)
    return f" (did you mean {', '.join(m)}?)" if m else ""


def validate_changes(model: RepoModel, changes: list[ProposedChange]) -> list[str]:
    """What is wrong with the changes against the model (empty when they can be analysed)."""
    from ..sql.parse import parse_type

    errors: list[str] = []
    tables = model.schema_.tables
    bare = sorted({k.split(".", 1)[1] for k in tables} | set(tables))
    for ch in changes:
        t = ch.qualified_table
        if ch.change == "api-endpoint":
            if not ch.endpoint or len(ch.endpoint.split()) != 2:
                errors.append(f"an api-endpoint change needs an endpoint as `METHOD /path` (got {ch.endpoint!r})")
            if t and t not in tables:
                errors.append(f"unknown table {ch.table}{_close(ch.table or '', bare)}")
            continue
        if not t:
            errors.append(f"a {ch.change} change needs a table")
            continue
        if ch.change == "new-table":
            if t in tables:
                errors.append(f"table {t} already exists")
            continue
        if t not in tables:
            errors.append(f"unknown table {ch.table}{_close(ch.table or '', bare)}")
            continue
        cols = tables[t].columns
        if ch.change == "add":
            if not ch.column:
                errors.append(f"add needs a column (`--column`) for table {t}")
            elif ch.column in cols:
                errors.append(f"column {t}.{ch.column} already exists")
            elif ch.to and _parse_column_def(ch.to)[0] is None:
                errors.append(f"`{ch.to}` is not a PostgreSQL column type")
            continue
        if ch.change == "add-index":
            for c in _index_columns(ch):
                if c not in cols:
                    errors.append(f"column {t}.{c} does not exist{_close(c, list(cols))}")
            continue
        if ch.column and ch.column not in cols:
            errors.append(f"column {t}.{ch.column} does not exist{_close(ch.column, list(cols))}")
            continue
        if ch.change in ("rename", "type", "nullability") and not ch.to:
            what = {"rename": "the new name", "type": "the new type", "nullability": "`null` or `not null`"}[ch.change]
            errors.append(f"{ch.change} needs `--to` with {what}")
            continue
        if ch.change == "type" and not ch.column:
            errors.append("a type change needs a column (`--column`)")
        elif ch.change == "type" and parse_type(ch.to or "") is None:
            errors.append(f"`{ch.to}` is not a PostgreSQL type")
        if ch.change == "nullability" and (ch.to or "").lower() not in ("null", "not null", "nullable"):
            errors.append(f"nullability `--to` must be `null` or `not null` (got {ch.to!r})")
        if ch.change == "rename" and ch.to:
            if ch.column and ch.to in cols:
                errors.append(f"column {t}.{ch.to} already exists")
            if not ch.column and qualify(ch.to) in tables:
                errors.append(f"table {qualify(ch.to)} already exists")
    return errors


def _parse_column_def(text: str | None) -> tuple[str | None, bool | None, str | None]:
    """`"text not null default ''"` → ("text", False, "''")."""
    from ..sql.parse import parse_type

    if not text:
        return None, None, None
    s = text.strip()
    default = None
    m = re.search(r"\s+default\s+(.+)$", s, re.I)
    if m:
        default, s = m.group(1).strip(), s[: m.start()]
    nullable = None
    m = re.search(r"\s+(not\s+null|null)\s*$", s, re.I)
    if m:
        nullable, s = (m.group(1).lower() == "null"), s[: m.start()]
    return parse_type(s.strip()), nullable, default


def _index_columns(ch: ProposedChange) -> list[str]:
    return [c.strip() for c in (ch.column or "").split(",") if c.strip()]


# --------------------------------------------------------------------------- hits


@dataclass
class MethodHit:
    """How one repository method (an implementation's, or an interface's through it) is hit."""

    symbol: str
    carries: bool = False  # its result or input holds the column
    names: bool = False  # its SQL names the column: fails once the column is gone
    writes: bool = False
    wiring: bool = False  # must be edited to carry an added column
    performance: bool = False
    touches: list[str] = field(default_factory=list)
    usages: list[TableUsage] = field(default_factory=list)

    @property
    def effect(self) -> str:
        if self.names and not self.carries:
            return "runtime"
        if self.carries:
            return "contract"
        if self.wiring:
            return "wiring"
        return "performance" if self.performance else "contract"


def _usage_desc(u: TableUsage, column: str | None) -> str:
    where = f"line {u.line}"
    emb = f" (embedded in {u.embedded_in})" if u.embedded_in else ""
    if u.kind == "type_ref":
        return f"type reference to {u.table} ({where})"
    if column is None:
        return f"{u.kind} {u.table}{emb} ({where})"
    star = u.kind == "select" and (not u.columns or "*" in u.columns)
    bits = ["select *"] if star else []
    if column in u.columns and not star:
        bits.append(f"{'select' if u.kind == 'select' else u.kind + ' key'} {column}")
    if column in u.filters:
        bits.append(f"filter/order on {column}")
    return f"{', '.join(bits) or u.kind}{emb} ({where})"


def _hit_usage(u: TableUsage, ch: ProposedChange, column_def: tuple, table: Table | None) -> MethodHit | None:
    """How a usage of the changed table takes the change (None: it does not)."""
    col = ch.column
    kind = ch.change
    h = MethodHit(symbol=u.symbol or "")
    if kind in ("drop", "rename", "modify", "new-table") and not col:
        h.carries = h.names = True
        h.writes = u.kind in WRITE_KINDS or u.kind == "delete"
        h.touches.append(_usage_desc(u, None))
        return h
    if kind == "api-endpoint" or u.kind == "type_ref":
        return None
    star = u.kind == "select" and (not u.columns or "*" in u.columns)
    in_cols = bool(col) and col in u.columns
    in_filters = bool(col) and col in u.filters
    if kind == "add-index":
        cols = _index_columns(ch)
        if any(c in u.filters for c in cols):
            h.performance = True
            h.touches.append(f"filters/orders on {', '.join(c for c in cols if c in u.filters)} (line {u.line})")
            return h
        return None
    if kind == "add":
        typ, nullable, default = column_def
        required = nullable is False and default is None
        if u.embedded_in:
            return None
        if u.kind == "select":
            if star:
                h.carries = True
                h.touches.append(f"select * returns {col} as soon as it exists (line {u.line})")
            elif in_cols:
                h.carries = True
                h.touches.append(f"select {col} (line {u.line})")
            else:
                h.wiring = True
                h.touches.append(f"select list must name {col} to return it (line {u.line})")
            return h
        if u.kind in ("insert", "upsert", "update") and in_cols:
            h.carries = h.writes = True
            h.touches.append(f"{u.kind} key {col} (line {u.line})")
            return h
        if u.kind in ("insert", "upsert"):
            h.wiring = h.writes = True
            if required:
                h.names = True  # fails without it
                h.touches.append(f"{u.kind} must write {col}: it is not null without a default (line {u.line})")
            else:
                h.touches.append(f"{u.kind} keys: add {col} to write it (line {u.line})")
            return h
        if u.kind == "update":
            h.wiring = h.writes = True
            h.touches.append(f"update keys: add {col} to let it change (line {u.line})")
            return h
        return None
    if kind == "nullability":
        tighten = (ch.to or "not null").lower() == "not null"
        has_default = bool(table and col in table.columns and table.columns[col].default)
        if u.kind in ("insert", "upsert"):
            h.writes = True
            if in_cols:
                h.carries = True
                h.touches.append(f"{u.kind} key {col} (line {u.line})")
            elif tighten and not has_default:
                h.names = True
                h.touches.append(f"{u.kind} does not write {col}, which becomes not null without a default (line {u.line})")
            else:
                return None
            return h
        if u.kind == "update" and in_cols:
            h.writes = h.carries = True
            h.touches.append(f"update key {col} (line {u.line})")
            return h
        if u.kind == "select" and (in_cols or star):
            h.carries = True
            h.touches.append(_usage_desc(u, col))
            return h
        return None
    # drop / rename / type / modify of a column
    carries = in_cols or star
    names = in_cols or in_filters
    if kind == "type":
        names = False  # the SQL still runs; values and their TypeScript type change
    if not (carries or names):
        return None
    h.carries, h.names = carries, names
    h.writes = u.kind in WRITE_KINDS and in_cols
    h.touches.append(_usage_desc(u, col))
    return h


# --------------------------------------------------------------------------- analysis


class _Builder:
    def __init__(self, model: RepoModel, idx: ModelIndex, after: RepoModel | None, after_idx: ModelIndex | None,
                 expose: bool):
        self.model = model
        self.idx = idx
        self.after = after
        self.after_idx = after_idx
        self.expose = expose
        self.r = ImpactReport()
        self._keys: dict[str, set] = defaultdict(set)
        self._files: dict[str, list[tuple[str, int, str]]] = defaultdict(list)  # component -> (layer, why)
        self._edges: dict[tuple[str, str], set[str]] = defaultdict(set)
        self._ep_items: dict[tuple, EndpointItem] = {}
        self._iface_hits: dict[tuple[str, str], MethodHit] = {}

    # -- bookkeeping

    def _once(self, group: str, key) -> bool:
        if key in self._keys[group]:
            return False
        self._keys[group].add(key)
        return True

    def _touch(self, file: str, layer: str, why: str, kind: str = "other", label: str | None = None) -> str | None:
        comp = self.idx.component(file)
        if comp is not None:
            self._files[comp].append((file, LAYER[layer], why, kind, label or why))
        return comp

    def _edge(self, a: str | None, b: str | None, label: str) -> None:
        if a and b and a != b:
            self._edges[(a, b)].add(label)

    # -- one change

    def add(self, ch: ProposedChange, model: RepoModel, idx: ModelIndex) -> None:
        self.r.changes.append(ch)
        if ch.change == "api-endpoint":
            self._api_change(ch, model, idx)
            return
        t = ch.qualified_table or ""
        table = model.schema_.tables.get(t)
        db_comp = self._database_component(model, idx, ch)
        self._table_item(ch, model, idx, table)
        self._type_entries(ch, model, t)
        if ch.change == "new-table":
            return
        column_def = _parse_column_def(ch.to) if ch.change == "add" else (None, None, None)
        if ch.change == "add" and ch.nullable is not None:
            column_def = (column_def[0], ch.nullable, ch.default if ch.default is not None else column_def[2])
        hits = self._method_hits(ch, idx, t, table, column_def)
        service_comps = self._repository_items(ch, idx, hits, db_comp)
        eps = self._endpoints(ch, idx, hits)
        visible = self._consumer_visible(ch, column_def)
        for ep, rl in eps:
            self._clients_and_consumers(ep, idx, visible, writes_only=self._writers_only(ch))

    def _database_component(self, model: RepoModel, idx: ModelIndex, ch: ProposedChange) -> str | None:
        sdir = model.supabase_dir or "supabase"
        f = f"{sdir}/migrations/_new_migration.sql"
        comp = idx.component(f)
        if comp is not None:
            self._files[comp].append(("", LAYER["database"], f"the migration ({ch.label()}) and its rollback",
                                      "migration", ch.label()))
        return comp

    def _table_item(self, ch: ProposedChange, model: RepoModel, idx: ModelIndex, table: Table | None) -> None:
        t = ch.qualified_table or ""
        if not self._once("tables", t):
            return
        mig_file = mig_line = None
        for m in model.migrations:
            for op in m.ops:
                if op.kind == "create_table" and f"{op.schema_ or 'public'}.{op.table}" == t:
                    mig_file, mig_line = m.path, op.line
        refs = [f"{u.file}:{u.line}" for u in idx.usages.get(t, []) if u.kind == "type_ref"]
        why = {
            "new-table": f"the new table {t}",
            "drop": f"{'dropped' if not ch.column else 'holds the dropped column ' + str(ch.column)}",
            "rename": f"{'renamed to ' + str(ch.to) if not ch.column else 'holds the renamed column ' + str(ch.column)}",
        }.get(ch.change, f"holds the changed column {ch.column}" if ch.column else "the changed table")
        sdir = model.supabase_dir or "supabase"
        self.r.tables.append(TableItem(table=t, exists=table is not None, file=mig_file, line=mig_line,
                                       type_refs=refs, db_objects=_db_objects(model, t, ch),
                                       component=idx.component(mig_file or f"{sdir}/migrations/_.sql"), why=why))

    def _type_entries(self, ch: ProposedChange, model: RepoModel, t: str) -> None:
        for dt in model.database_types:
            tt = dt.tables.get(t)
            if tt is None:
                continue
            comp = self.idx.component(dt.file)
            if ch.column and ch.change not in ("add", "add-index"):
                for part, cols in (("Row", tt.row), ("Insert", tt.insert), ("Update", tt.update)):
                    c = cols.get(ch.column)
                    if c is None or not self._once("columns", (dt.file, c.line)):
                        continue
                    why = f"generated type of {t}.{ch.column} ({part}): regenerate after the migration"
                    self.r.columns.append(ColumnItem(table=t, column=ch.column, part=part, file=dt.file,
                                                     line=c.line, ts_type=c.ts_type, why=why))
                    self._touch(dt.file, "service", f"`{dt.file}` types {t}.{ch.column}", "types", dt.file)
            elif ch.change in ("add", "drop", "rename", "modify", "type", "nullability") and self._once(
                    "columns", (dt.file, tt.line)):
                why = (f"regenerate: {ch.column} must appear in {t} Row/Insert/Update" if ch.change == "add"
                       else f"generated types of {t}: regenerate after the migration")
                self.r.columns.append(ColumnItem(table=t, column=None, part="Tables", file=dt.file, line=tt.line,
                                                 why=why))
                self._touch(dt.file, "service", f"`{dt.file}` types {t}", "types", dt.file)
            del comp

    def _method_hits(self, ch, idx: ModelIndex, t: str, table: Table | None, column_def) -> dict[str, MethodHit]:
        hits: dict[str, MethodHit] = {}
        for u in idx.usages.get(t, []):
            if not u.symbol:
                continue
            h = _hit_usage(u, ch, column_def, table)
            if h is None:
                continue
            cur = hits.get(u.symbol)
            if cur is None:
                h.usages.append(u)
                hits[u.symbol] = h
            else:
                cur.carries |= h.carries
                cur.names |= h.names
                cur.writes |= h.writes
                cur.wiring |= h.wiring
                cur.performance |= h.performance
                cur.touches += [x for x in h.touches if x not in cur.touches]
                cur.usages.append(u)
        return hits

    def _repository_items(self, ch, idx: ModelIndex, hits: dict[str, MethodHit], db_comp) -> set[str]:
        """Implementation methods hit, their interface methods, and sibling implementations."""
        self._iface_hits: dict[tuple[str, str], MethodHit] = {}
        target = ch.target if ch.change != "add" else ch.target_column()
        comps: set[str] = set()
        for sym, h in hits.items():
            impl, meth = idx.owner_of_symbol(sym)
            u0 = h.usages[0]
            verb = {"contract": "reads or writes", "runtime": "names", "wiring": "must be wired to",
                    "performance": "filters on"}[h.effect]
            why = f"{sym} {verb} {target}: {'; '.join(h.touches)}"
            if impl is None:
                # a function or helper outside any repository implementation: listed, not followed
                if self._once("repo", sym):
                    self.r.repository_methods.append(RepositoryMethodItem(
                        symbol=sym, repository="", method=sym.rsplit(".", 1)[-1], flavour="other", file=u0.file,
                        line=u0.line, touches=h.touches, effect=h.effect, why=why))
                    comp = self._touch(u0.file, "service", why, "repository", sym)
                    self._edge(db_comp, comp, "repository")
                continue
            m = next((x for x in impl.methods if x.name == meth), None)
            line = m.line if m else u0.line
            if self._once("repo", sym):
                self.r.repository_methods.append(RepositoryMethodItem(
                    symbol=sym, repository=impl.interface or "", method=meth or "", flavour=impl.flavour,
                    file=impl.file, line=line, touches=h.touches, effect=h.effect, why=why))
                comp = self._touch(impl.file, "service", why, "repository", sym)
                self._edge(db_comp, comp, "repository")
                if comp:
                    comps.add(comp)
            if not impl.interface or meth is None:
                continue
            key = (impl.interface, meth)
            prev = self._iface_hits.get(key)
            if prev is None:
                self._iface_hits[key] = MethodHit(symbol=f"{impl.interface}.{meth}", carries=h.carries,
                                                  names=h.names, writes=h.writes, wiring=h.wiring,
                                                  performance=h.performance, touches=list(h.touches))
            else:
                prev.carries |= h.carries
                prev.names |= h.names
                prev.writes |= h.writes
                prev.wiring |= h.wiring
        for (iface, meth), h in self._iface_hits.items():
            repo = idx.repos.get(iface)
            if repo is not None:
                m = next((x for x in repo.methods if x.name == meth), None)
                sym = f"{iface}.{meth}"
                if m is not None and self._once("repo", sym):
                    why = f"interface method implemented by a method that {h.effect == 'runtime' and 'names' or 'carries'} {target}"
                    self.r.repository_methods.append(RepositoryMethodItem(
                        symbol=sym, repository=iface, method=meth, flavour="interface", file=repo.file, line=m.line,
                        touches=[], effect=h.effect, why=why))
                    self._touch(repo.file, "service", why, "repository", sym)
            for impl in idx.impls_by_iface.get(iface, []):
                sym = f"{impl.name}.{meth}"
                m = next((x for x in impl.methods if x.name == meth), None)
                if m is None or not self._once("repo", sym):
                    continue
                why = (f"{impl.flavour} implementation of {iface}.{meth}: must mirror the change to {target}"
                       if impl.flavour != "supabase" else f"implementation of {iface}.{meth}")
                self.r.repository_methods.append(RepositoryMethodItem(
                    symbol=sym, repository=iface, method=meth, flavour=impl.flavour, file=impl.file, line=m.line,
                    touches=[], effect=h.effect, why=why))
                self._touch(impl.file, "service", why, "repository", sym)
        return comps

    def _endpoints(self, ch, idx: ModelIndex, hits) -> list[tuple[EndpointItem, RouteLinks]]:
        out: list[tuple[EndpointItem, RouteLinks]] = []
        found: dict[tuple[str, str, int], tuple[EndpointItem, RouteLinks]] = {}
        for key, h in self._iface_hits.items():
            if h.performance and not (h.carries or h.names or h.wiring):
                continue
            for rl, i in idx.routes_by_method.get(key, []):
                primary = rl.primary == i
                if primary and (h.carries or h.wiring):
                    effect = "contract" if h.carries else "wiring"
                elif h.names:
                    effect = "runtime"
                else:
                    continue
                rt = rl.route
                ln = rl.links[i]
                via = f"{ln.call} → {key[0]}.{key[1]}" + (" (by method name)" if ln.how == "unique-method" else "")
                rkey = (rt.method, rt.path, rt.line)
                cur = found.get(rkey)
                if cur is not None:
                    item = cur[0]
                    if via not in item.via:
                        item.via.append(via)
                    rank = {"contract": 0, "wiring": 1, "runtime": 2}
                    if rank[effect] < rank[item.effect]:
                        item.effect = effect
                        item.why = self._ep_why(effect, ln.call, key, ch)
                    continue
                item = EndpointItem(method=rt.method, path=rt.path, raw_path=rt.raw_path, file=rt.file, line=rt.line,
                                    effect=effect, via=[via], why=self._ep_why(effect, ln.call, key, ch))
                found[rkey] = (item, rl)
        rank = {"contract": 0, "wiring": 1, "runtime": 2}
        for item, rl in found.values():
            key = (item.method, item.path, item.file, item.line)
            prev = self._ep_items.get(key)
            if prev is None:
                self._ep_items[key] = item
                self.r.endpoints.append(item)
                self._touch(item.file, "service", item.why, "endpoint", f"{item.method} {item.raw_path}")
            else:
                prev.via += [v for v in item.via if v not in prev.via]
                if rank[item.effect] < rank[prev.effect]:
                    prev.effect, prev.why = item.effect, item.why
                item = prev
            out.append((item, rl))
        return [(e, rl) for e, rl in out if e.effect in ("contract", "wiring")]

    @staticmethod
    def _ep_why(effect: str, call: str, key: tuple[str, str], ch: ProposedChange) -> str:
        m = f"{key[0]}.{key[1]}"
        if effect == "contract":
            return f"answers with `{call}` ({m}), which carries {ch.target}"
        if effect == "wiring":
            return f"answers with `{call}` ({m}): exposes {ch.target_column()} once the repository returns it"
        return (f"calls `{call}` ({m}), whose SQL names {ch.target}: fails until the repository is updated "
                f"(its own response does not carry it)")

    def _consumer_visible(self, ch: ProposedChange, column_def) -> bool:
        if ch.change == "add":
            _, nullable, default = column_def
            return nullable is False and default is None
        return ch.change in ("drop", "rename", "type", "nullability", "modify")

    @staticmethod
    def _writers_only(ch: ProposedChange) -> bool:
        return ch.change == "add" or (ch.change == "nullability" and (ch.to or "").lower() == "not null")

    def _clients_and_consumers(self, ep: EndpointItem, idx: ModelIndex, visible: bool, writes_only: bool,
                               why_prefix: str = "") -> None:
        clients = list(idx.clients_by_endpoint.get((ep.method.upper(), ep.path), []))
        if ep.method.upper() == "ALL":
            clients = [c for (m, p), cs in idx.clients_by_endpoint.items() if p == ep.path for c in cs]
        ep_comp = idx.component(ep.file)
        if writes_only:
            hit = self._iface_hits_for(ep)
            visible = visible and any(h.writes and (h.names or h.carries) for h in hit)
        for c in clients:
            why = why_prefix or f"calls {ep.method} {ep.path} ({ep.effect}: {ep.why})"
            if self._once("clients", (c.package, c.name, c.file, c.line)):
                self.r.client_methods.append(ClientMethodItem(
                    name=c.name, http_method=c.http_method, path=c.path, file=c.file, line=c.line, package=c.package,
                    endpoint=f"{ep.method} {ep.path}", why=why))
                comp = self._touch(c.file, "client", f"{c.name} calls {ep.method} {ep.path}", "client", c.name)
                self._edge(ep_comp, comp, "HTTP")
            if not visible:
                continue
            for call in idx.consumers_by_method.get((c.package, c.name), []):
                if not self._once("consumers", (call.file, call.line, call.method)):
                    continue
                comp = idx.component(call.file)
                self.r.consumers.append(ConsumerItem(
                    file=call.file, line=call.line, component=comp, symbol=call.symbol, method=call.method,
                    package=call.package, why=f"calls {c.name} ({ep.method} {ep.path})"))
                self._touch(call.file, "consumer", f"{call.symbol or call.file} calls {c.name}", "consumer",
                            call.symbol or call.file)
                self._edge(idx.component(c.file), comp, "calls")

    def _iface_hits_for(self, ep: EndpointItem) -> list[MethodHit]:
        out = []
        for v in ep.via:
            target = v.split(" → ", 1)[1].split(" ", 1)[0]
            iface, _, meth = target.partition(".")
            h = self._iface_hits.get((iface, meth))
            if h is not None:
                out.append(h)
        return out

    # -- API changes (expose / remove an endpoint, client method changes)

    def _api_change(self, ch: ProposedChange, model: RepoModel, idx: ModelIndex) -> None:
        from ..changes.form import normalize_path

        method, _, raw = (ch.endpoint or "").partition(" ")
        method = method.upper()
        path = normalize_path(raw)
        routes = [rl for rl in idx.route_links if rl.route.method.upper() in (method, "ALL") and rl.route.path == path]
        self._iface_hits = {}
        for rl in routes:
            rt = rl.route
            removed = ch.to in ("removed", "client-method-removed", "client-method-changed")
            effect = "contract"
            why = {"removed": "the endpoint is removed", "changed": "the endpoint changes"}.get(
                ch.to or "", "the endpoint of the change")
            if ch.to in ("client-method-removed", "client-method-changed"):
                why = ch.detail or why
            if self._once("endpoints", (rt.method, rt.path, rt.file, rt.line)):
                item = EndpointItem(method=rt.method, path=rt.path, raw_path=rt.raw_path, file=rt.file, line=rt.line,
                                    effect=effect, via=[f"{ln.call} → {ln.repository}.{ln.method}" for ln in rl.links
                                                        if ln.repository], why=why)
                self.r.endpoints.append(item)
                self._touch(rt.file, "service", why, "endpoint", f"{rt.method} {rt.raw_path}")
                self._clients_and_consumers(item, idx, visible=removed, writes_only=False)
        if not routes and ch.to in ("removed", "client-method-removed", "client-method-changed"):
            # the endpoint is gone from the model analysed: follow its client methods only
            item = EndpointItem(method=method, path=path, raw_path=raw, file="", line=0, effect="contract",
                                via=[], why=ch.detail or "the endpoint is removed")
            self._clients_and_consumers(item, idx, visible=True, writes_only=False)
        if ch.to is None:
            comp = None
            for rl in routes:
                comp = idx.component(rl.route.file)
            if comp is None:
                # a new endpoint lands next to the routes sharing its first segment
                first = path.strip("/").split("/")[0]
                sib = [rl.route for rl in idx.route_links if rl.route.path.strip("/").split("/")[0] == first]
                for rt in sib[:1]:
                    self._touch(rt.file, "service", f"the new endpoint {method} {path} goes next to {rt.file}")
                if not sib and model.routes:
                    self._touch(model.routes[0].file, "service", f"the new endpoint {method} {path}")
                clients = [c for c in model.client_methods if c.path.strip("/").split("/")[0] == first]
                for c in (clients or model.client_methods)[:1]:
                    self._touch(c.file, "client", f"the client method of {method} {path} goes next to {c.name}")
            if ch.table:
                self._table_item(ch, model, idx, model.schema_.tables.get(ch.qualified_table or ""))

    # -- components

    def finish(self) -> ImpactReport:
        r = self.r
        comps: list[ComponentItem] = []
        order = {c.name: i for i, c in enumerate(self.model.components)}
        layer_of: dict[str, int] = {}
        for name, entries in self._files.items():
            files = sorted({e[0] for e in entries if e[0]})
            layer_of[name] = min(e[1] for e in entries)
            comps.append(ComponentItem(name=name, owners=self.idx.owners_of_component(name, files),
                                       why=_component_why(entries), files=files))
        comps.sort(key=lambda c: (layer_of[c.name], order.get(c.name, len(order)), c.name))
        r.components = comps
        for name, entries in self._files.items():
            for f, *_ in entries:
                if f:
                    r.file_components[f] = name
        pos = {c.name: i for i, c in enumerate(comps)}
        r.edges = [(a, b, ", ".join(sorted(ls))) for (a, b), ls in
                   sorted(self._edges.items(), key=lambda kv: (pos.get(kv[0][0], 99), pos.get(kv[0][1], 99)))]
        self._layer_of = layer_of
        return r


def _component_why(entries: list[tuple]) -> str:
    """"2 repository methods (A, B); 3 endpoints (GET /x, ...)" from the chain links that reached a component."""
    by_kind: dict[str, list[str]] = {}
    for _, _, why, kind, label in entries:
        labels = by_kind.setdefault(kind, [])
        if label not in labels:
            labels.append(label)

    def some(xs: list[str], n: int = 3) -> str:
        return ", ".join(f"`{x}`" for x in xs[:n]) + (f" and {len(xs) - n} more" if len(xs) > n else "")

    parts: list[str] = []
    for kind in ("migration", "types", "repository", "endpoint", "client", "consumer", "other"):
        xs = by_kind.get(kind)
        if not xs:
            continue
        k = len(xs)
        if kind == "migration":
            parts.append("the migration and its rollback")
        elif kind == "types":
            parts.append(f"generated types to regenerate ({some(xs)})")
        elif kind == "repository":
            parts.append(f"{k} repository method{'s' if k > 1 else ''} ({some(xs)})")
        elif kind == "endpoint":
            parts.append(f"{k} endpoint{'s' if k > 1 else ''} ({some(xs)})")
        elif kind == "client":
            parts.append(f"{k} client method{'s' if k > 1 else ''} ({some(xs)})")
        elif kind == "consumer":
            parts.append(f"calls from {some(xs)}")
        else:
            parts.append("; ".join(xs[:2]))
    return "; ".join(parts)


def _word(name: str, text: str | None) -> bool:
    return bool(text) and re.search(rf"(?<![\w.]){re.escape(name)}(?!\w)", text or "") is not None


def _mentions_table(t: str, text: str | None) -> bool:
    """`public.users` or (for public tables) a bare `users`, never `auth.users`."""
    return _word(t, text) or (t.startswith("public.") and _word(t.split(".", 1)[1], text))


def _db_objects(model: RepoModel, t: str, ch: ProposedChange) -> list[str]:
    """Indexes, constraints, FKs, policies, triggers, views and functions that depend on the table/column."""
    s = model.schema_
    bare = t.split(".", 1)[1]
    col = ch.column if ch.change not in ("add", "new-table", "add-index") else None
    if ch.change in ("add", "new-table", "add-index", "api-endpoint"):
        return []
    out: list[str] = []
    tab = s.tables.get(t)
    for k, ix in s.indexes.items():
        if ix.table == t and (col is None or any(_word(col, c) for c in ix.columns) or _word(col, ix.where)):
            out.append(f"index {ix.name} ({', '.join(ix.columns)})")
    if tab is not None:
        for con in tab.constraints:
            if con.kind in ("check", "unique", "primary_key", "foreign_key", "exclude") and (
                    col is None and con.kind == "check" or col is not None and (col in con.columns or _word(col, con.expr))):
                out.append(f"{con.kind.replace('_', ' ')} constraint {con.name or ''} {('(' + con.expr + ')') if con.expr else '(' + ', '.join(con.columns) + ')'}".replace("  ", " "))
    for k, other in s.tables.items():
        if k == t:
            continue
        for name, c in other.columns.items():
            ref = c.references or ""
            if ref == t or ref.startswith(t + ".") and (col is None or ref == f"{t}.{col}"):
                out.append(f"foreign key {k}.{name} → {ref}")
        for con in other.constraints:
            if con.kind == "foreign_key" and con.ref_table == t and (col is None or col in con.ref_columns):
                d = f"foreign key {k}({', '.join(con.columns)}) → {t}({', '.join(con.ref_columns)})"
                if not any(x.startswith(f"foreign key {k}.") for x in out):
                    out.append(d)
    for k, p in s.policies.items():
        if p.table == t:
            if col is None or _word(col, p.using) or _word(col, p.with_check):
                out.append(f'policy "{p.name}" on {p.table}')
        elif _mentions_table(t, p.using) or _mentions_table(t, p.with_check):
            if col is None or _word(col, p.using) or _word(col, p.with_check):
                out.append(f'policy "{p.name}" on {p.table} (reads {t})')
    for k, tr in s.triggers.items():
        if tr.table == t and col is None:
            out.append(f"trigger {tr.name}")
    for k, v in s.views.items():
        if _mentions_table(t, v.definition) and (col is None or _word(col, v.definition)):
            out.append(f"view {k}")
    for k, f in s.functions.items():
        if _mentions_table(t, f.body) and (col is None or _word(col, f.body)):
            out.append(f"function {k}")
    return out


# --------------------------------------------------------------------------- breaking


def _breaking(r: ImpactReport, ch: ProposedChange, model: RepoModel, after: RepoModel | None) -> None:
    from . import rules as R

    t = ch.qualified_table or ""
    table = model.schema_.tables.get(t)
    col = table.columns.get(ch.column) if (table and ch.column) else None
    enums = {k: e.values for k, e in model.schema_.enums.items()}
    add = r.breaking.append
    contract_eps = [e for e in r.endpoints if e.effect == "contract" and _endpoint_for(e, ch, r)]

    def per_endpoint(id_: str, rule: str, level: str, what: str) -> None:
        for e in contract_eps:
            add(BreakingItem(id=id_, rule=rule, level=level, object=f"{e.method} {e.raw_path}",
                             message=f"{what} ({ch.target})"))

    if ch.change == "drop" and not ch.column:
        add(BreakingItem(id="table-removed", rule=R.TABLE_REMOVED, level="error", object=t,
                         message=f"table {t} is dropped: its data is lost and every endpoint reading it must go first"))
        per_endpoint("endpoint-data-removed", R.RESPONSE_PROPERTY_REMOVED, "error",
                     f"the endpoint reads or writes {t}, which is dropped: remove or change it")
    elif ch.change == "drop":
        add(BreakingItem(id="column-removed", rule=R.COLUMN_REMOVED, level="error", object=t + "." + ch.column,
                         message=f"column {ch.column} is dropped: readers and writers of {t}.{ch.column} break and its data is lost"))
        per_endpoint("response-property-removed", R.RESPONSE_PROPERTY_REMOVED, "error",
                     f"request/response property `{ch.column}` is removed")
    elif ch.change == "rename" and not ch.column:
        add(BreakingItem(id="table-renamed", rule=R.TABLE_RENAMED, level="error", object=t,
                         message=f"table {t} is renamed to {ch.to}: every `.from('{t.split('.')[-1]}')` breaks"))
    elif ch.change == "rename":
        add(BreakingItem(id="column-renamed", rule=R.COLUMN_RENAMED, level="error", object=f"{t}.{ch.column}",
                         message=f"column {ch.column} is renamed to {ch.to}: SQL naming it breaks"))
        per_endpoint("response-property-renamed", R.RESPONSE_PROPERTY_REMOVED, "error",
                     f"property `{ch.column}` becomes `{ch.to}` unless the API keeps the old name")
    elif ch.change == "type" and col is not None:
        new = ch.to or ""
        kind = classify_type_change(col.type, new, enums)
        old_ts, new_ts = ts_type_of(col.type, enums), ts_type_of(new, enums)
        if ch.enum_removed:
            add(BreakingItem(id="enum-value-removed", rule=R.ENUM_VALUE_REMOVED, level="error", object=f"{t}.{ch.column}",
                             message=f"enum value(s) {', '.join(ch.enum_removed)} removed: rows and clients using them break"))
        if kind == "narrowing":
            add(BreakingItem(id="column-type-narrowed", rule=R.TYPE_NARROWED, level="error", object=f"{t}.{ch.column}",
                             message=f"{col.type} → {new} narrows the type: existing values may not fit (the migration fails) "
                                     f"and writers sending them get errors"))
        elif kind == "widening":
            level = "warning" if old_ts != new_ts else "info"
            add(BreakingItem(id="column-type-widened", rule=R.TYPE_WIDENED, level=level, object=f"{t}.{ch.column}",
                             message=f"{col.type} → {new} widens the type" + (
                                 f": readers get {new_ts} instead of {old_ts}" if old_ts != new_ts else
                                 " (same TypeScript type)")))
        elif kind == "incompatible":
            add(BreakingItem(id="column-type-changed", rule=R.TYPE_CHANGED, level="error", object=f"{t}.{ch.column}",
                             message=f"{col.type} → {new} changes the values' type ({old_ts} → {new_ts})"))
        if kind in ("narrowing", "incompatible") or (kind == "widening" and old_ts != new_ts):
            per_endpoint("response-property-type-changed", R.TYPE_CHANGED,
                         "error" if kind != "widening" else "warning",
                         f"property `{ch.column}` changes type {old_ts} → {new_ts}")
    elif ch.change == "nullability" and col is not None:
        if (ch.to or "").lower() == "not null" and col.nullable:
            add(BreakingItem(id="column-became-not-null", rule=R.BECAME_REQUIRED, level="error", object=f"{t}.{ch.column}",
                             message=f"{ch.column} becomes not null: writers omitting it or sending null fail, and the "
                                     f"migration fails while null rows exist (backfill first)"))
        elif (ch.to or "").lower() in ("null", "nullable") and not col.nullable:
            add(BreakingItem(id="column-became-nullable", rule=R.BECAME_NULLABLE, level="warning",
                             object=f"{t}.{ch.column}",
                             message=f"{ch.column} becomes nullable: readers must handle null"))
            per_endpoint("response-property-became-nullable", R.BECAME_NULLABLE, "warning",
                         f"response property `{ch.column}` may be null")
    elif ch.change == "add":
        typ, nullable, default = _parse_column_def(ch.to)
        if ch.nullable is not None:
            nullable = ch.nullable
        if ch.default is not None:
            default = ch.default
        if nullable is False and default is None:
            add(BreakingItem(id="column-added-required", rule=R.ADDED_REQUIRED, level="error", object=f"{t}.{ch.column}",
                             message=f"{ch.column} is not null without a default: the migration fails on a non-empty "
                                     f"table and every insert that does not write it fails"))
    elif ch.change == "api-endpoint" and ch.to == "removed":
        add(BreakingItem(id="endpoint-removed", rule=R.ENDPOINT_REMOVED, level="error", object=ch.endpoint or "",
                         message=f"{ch.endpoint} is removed: its client methods and their callers break"))
    elif ch.change == "api-endpoint" and ch.to == "client-method-removed":
        add(BreakingItem(id="client-method-removed", rule=R.CLIENT_METHOD_REMOVED, level="error",
                         object=ch.detail or "", message=f"client method {ch.detail} is removed: its callers break"))
    elif ch.change == "api-endpoint" and ch.to == "client-method-changed":
        required = "required" in (ch.detail or "")
        add(BreakingItem(id="client-method-new-required-param" if required else "client-method-signature-changed",
                         rule=R.CLIENT_SIGNATURE if required else R.CLIENT_SIGNATURE_OTHER,
                         level="error" if required else "warning", object=(ch.detail or "").split(":")[0],
                         message=ch.detail or ""))
    elif ch.change == "api-endpoint" and ch.to == "changed":
        add(BreakingItem(id="endpoint-changed", rule=R.ENDPOINT_REMOVED, level="warning", object=ch.endpoint or "",
                         message=ch.detail or f"{ch.endpoint} changes"))
    if ch.change in ("drop", "rename") and ch.column and col is not None and col.primary_key:
        add(BreakingItem(id="primary-key-removed", rule=R.COLUMN_REMOVED, level="error", object=f"{t}.{ch.column}",
                         message=f"{ch.column} is the primary key of {t}"))
    if ch.change in ("drop", "rename", "type") and table is not None:
        fks = [x for x in _db_objects(model, t, ch) if x.startswith("foreign key") and f"→ {t}" in x]
        for fk in fks:
            add(BreakingItem(id="referenced-by-foreign-key", rule=R.COLUMN_REMOVED, level="error", object=t,
                             message=f"{fk}: drop or change the reference first (or `cascade`, which drops it)"))


def _endpoint_for(e: EndpointItem, ch: ProposedChange, r: ImpactReport) -> bool:
    """Is the endpoint in the report because of this change? (reports may hold several)"""
    if len(r.changes) == 1:
        return True
    t = ch.qualified_table
    return any(t and (t.split(".")[-1] in v or ch.target in e.why) for v in e.via) or ch.target in e.why


# --------------------------------------------------------------------------- missing


def _missing(r: ImpactReport, ch: ProposedChange, model: RepoModel, idx: ModelIndex, after: RepoModel | None,
             aidx: ModelIndex | None, expose: bool, pr_mode: bool) -> None:
    head, hidx = (after, aidx) if after is not None else (model, idx)
    t = ch.qualified_table or ""
    add = r.missing.append
    seen = {(m.kind, m.object, m.file, m.line) for m in r.missing}

    def miss(kind: str, obj: str, msg: str, file: str | None = None, line: int | None = None) -> None:
        if (kind, obj, file, line) not in seen:
            seen.add((kind, obj, file, line))
            add(MissingItem(kind=kind, object=obj, message=msg, file=file, line=line))

    htable = head.schema_.tables.get(t)
    if ch.change == "add" and ch.column:
        col = ch.column
        obj = f"{t}.{col}"
        if htable is None or col not in htable.columns:
            miss("migration", obj, f"a migration adding {obj}" + (f" ({ch.to})" if ch.to else "") +
                 ", with its rollback (`alter table ... drop column`)")
        for dt in head.database_types:
            tt = dt.tables.get(t)
            if tt is not None and col not in tt.row:
                miss("database-types", obj, f"{dt.file} has no {col} in {t}: regenerate it "
                                            f"(`supabase gen types typescript`)", dt.file, tt.line)
        us = [u for u in hidx.usages.get(t, []) if u.symbol and not u.embedded_in]
        reads = [u for u in us if u.kind == "select" and (col in u.columns)]
        star = [u for u in us if u.kind == "select" and (not u.columns or "*" in u.columns)]
        writes = [u for u in us if u.kind in ("insert", "upsert", "update") and col in u.columns]
        repos = hidx.repositories_of_table(t)
        if not repos and not us:
            miss("table-without-repository", t, f"no repository reads or writes {t}")
        elif not reads and not star:
            sel = sorted({u.symbol for u in us if u.kind == "select"})
            miss("column-not-read", obj, f"no repository method selects {col}: add it to the select lists of "
                                          f"{', '.join(sel) or 'the ' + t + ' repository'}")
        if us and not writes:
            ins = sorted({u.symbol for u in us if u.kind in ("insert", "upsert", "update")})
            miss("column-not-written", obj, f"no repository method writes {col}: add it to the insert/update keys of "
                                             f"{', '.join(ins) or 'a ' + t + ' repository method'}")
        if expose:
            eps = [e for e in r.endpoints if e.effect == "contract" and obj in e.why]
            if not eps:
                cands = [f"{e.method} {e.raw_path}" for e in r.endpoints if e.effect == "wiring" and obj in e.why]
                miss("column-not-exposed", obj, f"the change asks for {col} in the API but no endpoint returns it" +
                     (f" yet: wire it through {', '.join(cands[:4])}" + (" ..." if len(cands) > 4 else "")
                      if cands else ": add an endpoint and its client method"))
    if ch.change == "new-table":
        repos = hidx.repositories_of_table(t)
        if htable is None:
            miss("migration", t, f"a migration creating {t} (with row level security enabled) and its rollback "
                                 f"(`drop table {t}`)")
        elif not htable.rls_enabled:
            miss("rls", t, f"row level security is not enabled on {t}: `alter table {t} enable row level security`")
        if not any(t in dt.tables for dt in head.database_types):
            miss("database-types", t, f"the generated database types have no {t}: regenerate them")
        if not repos:
            from ..ts.link import pluralise  # noqa: F401  (naming convention lives there)

            name = _repo_name_for(t)
            miss("table-without-repository", t, f"no repository for {t}: add `interface {name}` with its "
                                                f"Supabase{name} and Memory{name} implementations")
        for repo in repos:
            flav = {i.flavour for i in hidx.impls_by_iface.get(repo.name, [])}
            for need in ("supabase", "memory"):
                if need not in flav:
                    miss(f"repository-without-{need}", repo.name,
                         f"{repo.name} has no {need.capitalize()} implementation", repo.file, repo.line)
        if expose:
            names = {r_.name for r_ in repos}
            if not any(ln.repository in names for rl in hidx.route_links for ln in rl.links):
                miss("table-without-endpoint", t, f"no endpoint serves {t} although the change request asks for one")
    if ch.change in ("drop", "rename") and pr_mode and after is not None:
        old = ch.column
        for u in aidx.usages.get(t, []) if aidx else []:
            if u.kind == "type_ref" and old:
                continue
            if old is None or old in u.columns or old in u.filters:
                what = f"{t}.{old}" if old else t
                miss("still-referenced", what, f"{u.symbol or u.file} still uses {what}, which this change "
                                               f"{'drops' if ch.change == 'drop' else 'renames'}", u.file, u.line)
        for dt in after.database_types:
            tt = dt.tables.get(t)
            if tt is not None and (old is None or old in tt.row):
                miss("database-types", f"{t}.{old}" if old else t,
                     f"{dt.file} still has {f'{t}.{old}' if old else t}: regenerate it", dt.file,
                     tt.row[old].line if old and old in tt.row else tt.line)
    if ch.change == "api-endpoint" and ch.to is None and ch.endpoint:
        from ..changes.form import normalize_path

        method, _, raw = ch.endpoint.partition(" ")
        path = normalize_path(raw)
        routes = [rl for rl in hidx.route_links if rl.route.method.upper() in (method.upper(), "ALL")
                  and rl.route.path == path]
        if not routes:
            miss("endpoint", ch.endpoint, f"no route serves {method.upper()} {path}" +
                 (f" (it should expose {ch.target_column()})" if ch.column else ""))
        elif ch.column:
            repo_names = {r_.name for r_ in hidx.repositories_of_table(t)}
            prim = [rl.links[rl.primary] for rl in routes if rl.primary is not None]
            if not any(ln.repository in repo_names for ln in prim):
                miss("column-not-exposed", ch.target_column(),
                     f"{method.upper()} {path} does not answer with a {t} repository method")
        if not hidx.clients_by_endpoint.get((method.upper(), path)):
            miss("endpoint-without-client", f"{method.upper()} {path}",
                 f"no client method calls {method.upper()} {path}: add one to the client package")
    # endpoints of the analysis without a client method
    for e in r.endpoints:
        if e.effect in ("contract", "wiring") and e.file and not idx.clients_by_endpoint.get((e.method.upper(), e.path)):
            if e.method.upper() != "ALL":
                miss("endpoint-without-client", f"{e.method} {e.path}",
                     f"no client method calls {e.method} {e.raw_path}: consumers cannot reach it", e.file, e.line)


def _repo_name_for(t: str) -> str:
    bare = t.split(".")[-1]
    parts = bare.split("_")
    from .index import _singular

    parts[-1] = _singular(parts[-1])
    return "".join(p.capitalize() for p in parts) + "Repository"


# --------------------------------------------------------------------------- entry points


def analyze(model: RepoModel, changes: list[ProposedChange], *, after: RepoModel | None = None,
            config: Config | None = None, expose: bool = False, check: bool = True) -> ImpactReport:
    """The impact of `changes` on `model` (the repository before them).

    `after` is the repository with the change implemented (a pull request's head): the chain
    of removals is followed on `model`, the chain of additions on `after`, and what is still
    missing is judged on `after`. `expose` says the change must be reachable through the API
    (a change request's "expose via API" or endpoint fields). Raises `ImpactError` for changes
    that do not fit the model (unknown table, dropping a column that does not exist, ...)
    when `check` is true.
    """
    from .rollback import rollback_plans

    if check:
        errors = validate_changes(model, [c for c in changes if c.source != "diff"])
        if errors:
            raise ImpactError("; ".join(errors))
    idx = index_for(model, config)
    aidx = index_for(after, config) if after is not None else None
    b = _Builder(model, idx, after, aidx, expose)
    for ch in changes:
        forward = ch.change in ("add", "new-table", "add-index") or (ch.change == "api-endpoint" and ch.to is None)
        if forward and after is not None:
            b.idx = aidx  # additions are followed where they exist
            b.add(ch, after, aidx)
            b.idx = idx
        else:
            b.add(ch, model, idx)
    r = b.finish()
    for ch in changes:
        _breaking(r, ch, model, after)
    for ch in changes:
        _missing(r, ch, model, idx, after, aidx, expose or ch.change == "api-endpoint", after is not None)
    r.rollback = rollback_plans(r, model, after, b._layer_of)
    notes = []
    touched = {m.repository for m in r.repository_methods if m.repository}
    for cands, n in idx.ambiguous + (aidx.ambiguous if aidx is not None and aidx is not idx else []):
        if cands & touched and n not in notes:
            notes.append(n)
    r.notes = notes
    r.components = [c for c in r.components]
    return r


def analyze_diff(base: RepoModel, head: RepoModel, config: Config | None = None,
                 expose: bool = False) -> ImpactReport:
    """A pull request's impact: the changes read from base → head, analysed as `analyze(base, ..., after=head)`."""
    from .diff import changes_from_diff

    changes = changes_from_diff(base, head)
    return analyze(base, changes, after=head, config=config, expose=expose, check=False)


def analyze_request(model: RepoModel, change, *, after: RepoModel | None = None,
                    config: Config | None = None) -> ImpactReport:
    """A change request's impact, never raising: `change` is the validator's `NormalizedChange`
    (or a raw `ChangeRequest`); what cannot be analysed becomes a note of the report."""
    from .diff import changes_from_request

    changes = changes_from_request(change)
    problems = validate_changes(model, changes)
    expose = bool(getattr(change, "expose_api", False))
    r = analyze(model, changes, after=after, config=config, expose=expose, check=False)
    r.notes = [f"not analysed as asked: {p}" for p in problems] + r.notes
    return r
