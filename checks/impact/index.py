"""Lookups over one `RepoModel` that every impact question needs, built once per model.

The one heuristic of the chain lives here: linking a route handler's call
(`Route.handler_calls`, e.g. `"users.findById"`, `"paymentRepo.listByOrder"`, `"store.record"`)
to a repository interface method. `resolve_call` tries, in order:

1. **name convention** — the receiver (the last identifier before the method: `users` in
   `c.var.repos.users.findById`) is normalised (lower case, `_` dropped, a leading
   `supabase`/`memory`/`inmemory` and a trailing `repository`/`repo`/`repos`/`store`/`dao`/
   `table` stripped) and compared with each repository's names: the interface name without its
   suffix (`UserRepository` → `user`), its plural (`users`), the table the convention maps it
   to (`OrderItemRepository` → `order_items` → `orderitems`) and any `naming.repository_tables`
   entry. The repository must declare the method.
2. **the method's type** — when the receiver names no repository (`store.record`, `r.find`), the
   method is looked up in every interface: if exactly one declares it, that is the receiver's
   type (a structural guess at the variable's type, which the model does not record).
3. otherwise the call is **unresolved** (ambiguous method names such as `findById` on an
   unknown receiver, or calls of services that are not repositories); unresolved calls whose
   method a repository declares are listed in the report's notes, never guessed.

The *primary* call of a handler is its last resolved repository call: guards and lookups
(`users.findById` before `orders.create`) come first and the result the endpoint answers
with comes last. A column change reaches an endpoint's contract only through its primary
call; the other calls can only make it fail at runtime (when their SQL names the column).
"""

from __future__ import annotations

from collections import defaultdict
from typing import NamedTuple

from ..config import Config
from ..model import ClientMethod, ConsumerCall, Implementation, RepoModel, RepositoryInterface, Route, TableUsage
from ..owners import OwnerIndex

IMPL_PREFIXES = ("supabase", "inmemory", "memory", "postgres", "pg", "fake", "mock", "stub", "cached")
RECV_SUFFIXES = ("repositories", "repository", "repos", "repo", "store", "dao", "table")


def qualify(table: str) -> str:
    return table if "." in table else f"public.{table}"


def _singular(w: str) -> str:
    if w.endswith("ies") and len(w) > 3:
        return w[:-3] + "y"
    if w.endswith(("sses", "xes", "ches", "shes")):
        return w[:-2]
    if w.endswith("s") and not w.endswith("ss"):
        return w[:-1]
    return w


def norm_receiver(name: str) -> str:
    n = name.rsplit(".", 1)[-1].lstrip("_#$").lower().replace("_", "")
    for p in IMPL_PREFIXES:
        if n.startswith(p) and len(n) > len(p) + 2:
            n = n[len(p):]
            break
    for s in RECV_SUFFIXES:
        if n.endswith(s) and len(n) > len(s):
            n = n[: -len(s)]
            break
    return n


class CallLink(NamedTuple):
    call: str  # as in Route.handler_calls
    repository: str | None  # interface name
    method: str
    how: str  # "name", "unique-method", "unresolved", "ambiguous"


class RouteLinks(NamedTuple):
    route: Route
    links: list[CallLink]
    primary: int | None  # index into links of the primary repository call


class ModelIndex:
    """Per-model lookups: usages by table, implementations, route links, client matches, owners."""

    def __init__(self, model: RepoModel, config: Config | None = None):
        self.model = model
        naming = config.naming if config is not None else None
        self.suffix = naming.repository_suffix if naming else "Repository"
        self.repo_tables_cfg = dict(naming.repository_tables) if naming else {}
        self.repos: dict[str, RepositoryInterface] = {r.name: r for r in model.repositories}
        self.repo_methods: dict[str, set[str]] = {r.name: {m.name for m in r.methods} for r in model.repositories}
        self.impls: dict[str, Implementation] = {i.name: i for i in model.implementations}
        self.impls_by_iface: dict[str, list[Implementation]] = defaultdict(list)
        for i in model.implementations:
            if i.interface:
                self.impls_by_iface[i.interface].append(i)
        self.usages: dict[str, list[TableUsage]] = defaultdict(list)
        for u in model.table_usage:
            self.usages[qualify(u.table)].append(u)
        self.method_owners: dict[str, list[str]] = defaultdict(list)  # method name -> interfaces
        for r in model.repositories:
            for m in r.methods:
                if r.name not in self.method_owners[m.name]:
                    self.method_owners[m.name].append(r.name)
        self._aliases: dict[str, list[str]] = defaultdict(list)  # normalised alias -> interfaces
        for r in model.repositories:
            for a in self._repo_aliases(r):
                if r.name not in self._aliases[a]:
                    self._aliases[a].append(r.name)
        self.ambiguous: list[tuple[set[str], str]] = []  # (candidate interfaces, note) of unresolved calls
        self.route_links: list[RouteLinks] = [self._link_route(rt) for rt in model.routes]
        self.routes_by_method: dict[tuple[str, str], list[tuple[RouteLinks, int]]] = defaultdict(list)
        for rl in self.route_links:
            for i, ln in enumerate(rl.links):
                if ln.repository:
                    self.routes_by_method[(ln.repository, ln.method)].append((rl, i))
        self.clients_by_endpoint: dict[tuple[str, str], list[ClientMethod]] = defaultdict(list)
        for c in model.client_methods:
            self.clients_by_endpoint[(c.http_method.upper(), c.path)].append(c)
        self.consumers_by_method: dict[tuple[str, str], list[ConsumerCall]] = defaultdict(list)
        for call in model.consumers:
            self.consumers_by_method[(call.client_package, call.method)].append(call)
        self.owners = OwnerIndex(model)
        self._component_cache: dict[str, str | None] = {}

    # ------------------------------------------------------------------ naming

    def _repo_aliases(self, r: RepositoryInterface) -> set[str]:
        from ..ts.link import table_for

        stem = r.name[: -len(self.suffix)] if self.suffix and r.name.endswith(self.suffix) else r.name
        base = stem.lower()
        out = {base, base + "s", _singular(base)}
        conv = table_for(r.name, self.suffix)
        out |= {conv.replace("_", ""), _singular(conv.replace("_", ""))}
        cfg = self.repo_tables_cfg.get(r.name)
        if cfg:
            t = cfg.split(".")[-1].replace("_", "").lower()
            out |= {t, _singular(t)}
        return {a for a in out if a}

    def table_of_repository(self, name: str) -> str | None:
        """The table a repository maps to by name convention (or configuration)."""
        from ..ts.link import table_for

        cfg = self.repo_tables_cfg.get(name)
        return qualify(cfg) if cfg else qualify(table_for(name, self.suffix))

    def resolve_call(self, call: str) -> CallLink:
        recv, _, method = call.rpartition(".")
        if not recv:
            return CallLink(call, None, method, "unresolved")
        cands = [r for r in self._aliases.get(norm_receiver(recv), []) if method in self.repo_methods[r]]
        if len(cands) == 1:
            return CallLink(call, cands[0], method, "name")
        owners = self.method_owners.get(method, [])
        if len(cands) > 1:
            return CallLink(call, None, method, "ambiguous")
        if len(owners) == 1:
            return CallLink(call, owners[0], method, "unique-method")
        return CallLink(call, None, method, "ambiguous" if owners else "unresolved")

    def _link_route(self, rt: Route) -> RouteLinks:
        links = [self.resolve_call(c) for c in rt.handler_calls]
        primary = None
        for i, ln in enumerate(links):
            if ln.repository:
                primary = i
            elif ln.how == "ambiguous":
                owners = self.method_owners.get(ln.method, [])
                self.ambiguous.append((set(owners),
                    f"`{ln.call}` in {rt.method} {rt.raw_path} ({rt.file}:{rt.line}) could be "
                    f"{' or '.join(owners)}.{ln.method}: the receiver's name does not say which repository it "
                    f"is, so this call is not followed"))
        return RouteLinks(rt, links, primary)

    # ------------------------------------------------------------------ lookups

    def repositories_of_table(self, table: str) -> list[RepositoryInterface]:
        """Interfaces mapped to the table (their `tables`, or the name convention)."""
        out = []
        for r in self.model.repositories:
            if any(qualify(t) == table for t in r.tables) or self.table_of_repository(r.name) == table:
                out.append(r)
        return out

    def owner_of_symbol(self, symbol: str | None) -> tuple[Implementation | None, str | None]:
        """`SupabaseUserRepository.findById` → (its implementation, "findById")."""
        if not symbol or "." not in symbol:
            return None, None
        cls, _, meth = symbol.rpartition(".")
        cls = cls.rsplit(".", 1)[-1]
        return self.impls.get(cls), meth

    def component(self, path: str) -> str | None:
        if path not in self._component_cache:
            self._component_cache[path] = self.owners.component_name(path)
        return self._component_cache[path]

    def owners_of_component(self, name: str, files: list[str]) -> list[str]:
        for c in self.model.components:
            if c.name == name and c.owners:
                return list(c.owners)
        out: list[str] = []
        for f in files:
            for o in self.owners.owners_for(f):
                if o not in out:
                    out.append(o)
        return out


_CACHE: list[tuple[RepoModel, int, ModelIndex]] = []


def index_for(model: RepoModel, config: Config | None = None) -> ModelIndex:
    """The (cached) index of a model; a model is treated as read-only once indexed."""
    key = id(config) if config is not None else 0
    for m, k, idx in _CACHE:
        if m is model and k == key:
            return idx
    idx = ModelIndex(model, config)
    _CACHE.append((model, key, idx))
    del _CACHE[:-8]
    return idx
