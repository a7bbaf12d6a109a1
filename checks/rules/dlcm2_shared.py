"""Helpers shared by the TypeScript-side rules (DLCM2xx-5xx, DLCM7xx). Not a rule itself.

Everything here reads the model; a few refinements read head sources when the check has
them (`ctx.source`). Without a source (the engine's base pass) the helpers answer the
less conservative way, so a base pass never reports *less* than the head pass would for
the same code, and pre-existing findings are still recognised as such.
"""

from __future__ import annotations

import posixpath
import re
from collections import Counter
from functools import lru_cache
from typing import Iterable

from ..findings import CheckContext
from ..model import ClientMethod, Implementation, Method, RepoModel, RepositoryInterface, Route

HTTP_VERBS = {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}
TEST_DOUBLE_PREFIXES = ("Fake", "Stub", "Mock", "Dummy", "Test", "Noop", "InMem", "Memory", "InMemory")


# --------------------------------------------------------------------------- sources


def _cache(ctx: CheckContext) -> dict:
    """Per-check scratch space (one CheckContext is one run over one model)."""
    return ctx.__dict__.setdefault("_dlcm_ts_cache", {})


def has_source(ctx: CheckContext) -> bool:
    return ctx.source is not None and not ctx.options.get("is_base")


def source_lines(ctx: CheckContext, path: str) -> list[str] | None:
    """Lines of a head file, or None when the check has no source (base pass) or it is unreadable."""
    if ctx.source is None or ctx.options.get("is_base"):
        return None
    cache = _cache(ctx).setdefault("lines", {})
    if path not in cache:
        from ..source import read_text

        try:
            cache[path] = read_text(ctx.source, path).splitlines()
        except Exception:
            cache[path] = None
    return cache[path]


def file_facts(ctx: CheckContext, path: str):
    """Per-file TypeScript facts of a head file (re-extracted; cheap), None without a source."""
    if ctx.source is None or ctx.options.get("is_base"):
        return None
    cache = _cache(ctx).setdefault("facts", {})
    if path not in cache:
        from ..ts.facts import extract_file

        try:
            cache[path] = extract_file(path, ctx.source.read_bytes(path))
        except Exception:
            cache[path] = None
    return cache[path]


def find_line(lines: list[str] | None, pattern: str, start: int = 0, default: int = 1) -> int:
    if not lines:
        return default
    rx = re.compile(pattern)
    for i in range(max(0, start), len(lines)):
        if rx.search(lines[i]):
            return i + 1
    return default


# --------------------------------------------------------------------------- paths


def segments(path: str) -> list[str]:
    return [s for s in path.split("/") if s]


def display_path(raw: str) -> str:
    """`/users/:id/orders` -> `/users/{id}/orders` (what a client author writes)."""
    out = []
    for s in segments(raw):
        if s.startswith(":"):
            name = re.split(r"[{(?]", s[1:], maxsplit=1)[0] or "param"
            out.append("{" + name + "}")
        elif s.startswith("${") and s.endswith("}"):
            out.append("{" + _param_name(s[2:-1]) + "}")
        else:
            out.append(s)
    return "/" + "/".join(out)


def _param_name(expr: str) -> str:
    """`encodeURIComponent(id)` -> `id`, `order.id` -> `id`, `String(n)` -> `n`."""
    inner = expr
    while "(" in inner and inner.endswith(")"):
        inner = inner[inner.index("(") + 1:-1]
    inner = inner.split(",")[0].strip()
    name = re.split(r"[.\s?!]", inner)[-1] if inner else ""
    return name if re.fullmatch(r"[A-Za-z_$][\w$]*", name or "") else "param"


def _seg_match(a: str, b: str) -> bool:
    if a == b or a == "{}" or b == "{}":
        return True
    # `v{}` / `{}.json`: a partly parametrised segment
    if "{}" in a and "*" not in a:
        rx = "^" + ".*".join(re.escape(p) for p in a.split("{}")) + "$"
        return re.match(rx, b) is not None
    if "{}" in b and "*" not in b:
        rx = "^" + ".*".join(re.escape(p) for p in b.split("{}")) + "$"
        return re.match(rx, a) is not None
    return False


def optional_tail(raw_path: str) -> int:
    """How many trailing segments of a route are optional (`/:id?`)."""
    n = 0
    for s in reversed(segments(raw_path)):
        if s.startswith(":") and s.endswith("?"):
            n += 1
        else:
            break
    return n


def path_matches(route_path: str, path: str, optional: int = 0) -> bool:
    """A route pattern (params `{}`, wildcard `*`) against a concrete or normalised path."""
    rs, ps = segments(route_path), segments(path)
    for k in range(0, optional + 1):
        r = rs[: len(rs) - k] if k else rs
        if _match_segs(r, ps):
            return True
    return False


def _match_segs(rs: list[str], ps: list[str]) -> bool:
    for i, r in enumerate(rs):
        if r == "*" or r.endswith("*"):
            head = r[:-1]
            if i >= len(ps) and not head:
                return True
            return i < len(ps) and ps[i].startswith(head) if head else True
        if i >= len(ps) or not _seg_match(r, ps[i]):
            return False
    return len(rs) == len(ps)


class PathIndex:
    """Items by concrete or normalised path, found by a route pattern without scanning them all.

    Buckets are keyed by segment count and a literal first (or last) segment; a pattern is only
    compared with the items of the buckets it can match.
    """

    def __init__(self):
        self._first: dict[tuple[int, str | None], list] = {}
        self._last: dict[tuple[int, str | None], list] = {}
        self._all: dict[int, list] = {}

    def add(self, path: str, item) -> None:
        segs = segments(path)
        n = len(segs)
        entry = (path, item)
        self._all.setdefault(n, []).append(entry)
        first = segs[0] if segs and "{}" not in segs[0] else None
        last = segs[-1] if segs and "{}" not in segs[-1] else None
        self._first.setdefault((n, first), []).append(entry)
        self._last.setdefault((n, last), []).append(entry)

    def candidates(self, pattern: str):
        """(path, item) with the pattern's segment count whose first or last segment can match."""
        segs = segments(pattern)
        n = len(segs)
        if not segs:
            return self._all.get(0, [])
        first, last = segs[0], segs[-1]
        if "{}" not in first and "*" not in first:
            return self._first.get((n, first), []) + self._first.get((n, None), [])
        if "{}" not in last and "*" not in last:
            return self._last.get((n, last), []) + self._last.get((n, None), [])
        return self._all.get(n, [])

    def match(self, pattern: str, optional: int = 0):
        """Items whose path the route pattern matches (`{}` params, optional trailing params)."""
        segs = segments(pattern)
        for k in range(optional + 1):
            form = "/" + "/".join(segs[: len(segs) - k])
            for path, item in self.candidates(form):
                if path_matches(form, path):
                    yield item


def is_wildcard(route: Route) -> bool:
    return "*" in route.path


def methods_match(route_method: str, client_method: str) -> bool:
    rm, cm = route_method.upper(), client_method.upper()
    return rm == "ALL" or rm == cm or cm not in HTTP_VERBS or (rm == "GET" and cm == "HEAD")


# --------------------------------------------------------------------------- API <-> client


class ApiLinks:
    """Which client methods call which routes, with a common mount prefix tolerated.

    A client whose base URL already holds `/api` calls `/users` for the route `/api/users`;
    a gateway may add a prefix the service does not see. The prefix that explains most
    otherwise unmatched pairs is used, both ways.
    """

    def __init__(self, model: RepoModel):
        self.model = model
        self.routes = list(model.routes)
        self.clients = list(model.client_methods)
        self.route_prefix = ""  # routes are mounted under it, the client's base URL holds it
        self.client_prefix = ""  # client paths hold it, routes do not
        # routes by (segment count, first segment); wildcard and optional-tail routes are always candidates
        self._index = PathIndex()
        self._flex: list[int] = []
        for ri, rt in enumerate(self.routes):
            if "*" in rt.path or optional_tail(rt.raw_path):
                self._flex.append(ri)
            else:
                self._index.add(rt.path, ri)
        self._choose_prefix()
        self.by_client: dict[int, list[Route]] = {}
        self.by_route: dict[int, list[ClientMethod]] = {}
        for ci, cm in enumerate(self.clients):
            for ri in self._candidates(cm, self.route_prefix, self.client_prefix):
                rt = self.routes[ri]
                if self._matches(rt, cm):
                    self.by_client.setdefault(ci, []).append(rt)
                    self.by_route.setdefault(ri, []).append(cm)

    def _candidates(self, cm: ClientMethod, rp: str, cp: str):
        seen: set[int] = set()
        probes = [cm.path]
        if rp:
            probes.append(rp + cm.path)
        if cp and cm.path.startswith(cp + "/"):
            probes.append(cm.path[len(cp):])
        for probe in probes:
            for _p, ri in self._index.candidates(probe):
                if ri not in seen:
                    seen.add(ri)
                    yield ri
        yield from self._flex

    def _any_match(self, cm: ClientMethod, rp: str, cp: str) -> bool:
        return any(self._matches(self.routes[ri], cm, rp, cp) for ri in self._candidates(cm, rp, cp))

    def _matches(self, rt: Route, cm: ClientMethod, route_prefix: str | None = None,
                 client_prefix: str | None = None) -> bool:
        if not methods_match(rt.method, cm.http_method):
            return False
        opt = optional_tail(rt.raw_path)
        if path_matches(rt.path, cm.path, opt):
            return True
        rp = self.route_prefix if route_prefix is None else route_prefix
        cp = self.client_prefix if client_prefix is None else client_prefix
        if rp and rt.path.startswith(rp + "/") and path_matches(rt.path[len(rp):], cm.path, opt):
            return True
        if cp and cm.path.startswith(cp + "/") and path_matches(rt.path, cm.path[len(cp):], opt):
            return True
        return False

    def _choose_prefix(self) -> None:
        if not self.routes or not self.clients:
            return
        unmatched = [cm for cm in self.clients if not self._any_match(cm, "", "")]
        if not unmatched:
            return
        cands: Counter = Counter()
        for rt in self.routes:
            segs = segments(rt.path)
            for k in (1, 2):
                if len(segs) > k and all(s != "{}" and "*" not in s for s in segs[:k]):
                    cands[("route", "/" + "/".join(segs[:k]))] += 1
        for cm in unmatched:
            segs = segments(cm.path)
            for k in (1, 2):
                if len(segs) > k and all(s != "{}" for s in segs[:k]):
                    cands[("client", "/" + "/".join(segs[:k]))] += 1
        best, best_n = None, 0
        for (side, pre), _n in cands.most_common(40):
            rp, cp = (pre, "") if side == "route" else ("", pre)
            n = sum(1 for cm in unmatched if self._any_match(cm, rp, cp))
            if n > best_n:
                best, best_n = (side, pre), n
        # a prefix must explain at least two calls (or the only one): one coincidence is not a mount
        if best is not None and (best_n >= 2 or len(self.clients) == 1):
            if best[0] == "route":
                self.route_prefix = best[1]
            else:
                self.client_prefix = best[1]

    # what the rules ask

    def client_routes(self, ci: int) -> list[Route]:
        return self.by_client.get(ci, [])

    def route_clients(self, ri: int) -> list[ClientMethod]:
        return self.by_route.get(ri, [])

    def served_packages(self) -> set[str | None]:
        """API packages a client in the repository talks to (at least one route is called)."""
        return {self.routes[ri].package for ri in self.by_route}

    def linked_client_groups(self) -> set[tuple[str, str | None]]:
        """(package, class) of client methods of which at least one calls a route of the repository."""
        return {(self.clients[ci].package, self.clients[ci].class_name) for ci in self.by_client}

    def client_for_package(self, package: str | None) -> tuple[str | None, str] | None:
        """(class name, file) of the client that calls most routes of an API package."""
        memo = self.__dict__.setdefault("_client_for", {})
        if package not in memo:
            memo[package] = self._client_for_package(package)
        return memo[package]

    def _client_for_package(self, package: str | None) -> tuple[str | None, str] | None:
        c: Counter = Counter()
        for ri, cms in self.by_route.items():
            if self.routes[ri].package == package:
                for cm in cms:
                    c[(cm.class_name, cm.file)] += 1
        if not c:
            return None
        return c.most_common(1)[0][0]

    def unprefixed(self, path: str) -> str:
        """A route path without the mount prefix the client's base URL holds."""
        if self.route_prefix and path.startswith(self.route_prefix + "/"):
            return path[len(self.route_prefix):]
        return path

    def expected_client_path(self, rt: Route) -> str:
        """The path a client method of this route would call (the mount prefix the client omits removed)."""
        p = display_path(rt.raw_path)
        if self.route_prefix and p.startswith(self.route_prefix + "/"):
            p = p[len(self.route_prefix):]
        if self.client_prefix:
            p = self.client_prefix + p
        return p


def api_links(ctx: CheckContext, model: RepoModel | None = None) -> ApiLinks:
    model = model or ctx.head
    cache = _cache(ctx).setdefault("links", {})
    got = cache.get(id(model))
    if got is None or got.model is not model:
        got = cache[id(model)] = ApiLinks(model)
    return got


def _client_files(ctx: CheckContext, package: str | None = None) -> list[str]:
    pkgs = [p for p in ctx.head.packages if p.is_client and (package is None or p.name == package)]
    out = []
    for f in ctx.head.files:
        if not f.endswith((".ts", ".tsx", ".mts", ".cts")) or f.endswith(".d.ts"):
            continue
        if any(x in f for x in (".test.", ".spec.", "/__tests__/", "/node_modules/")):
            continue
        if any(f.startswith(p.path + "/") for p in pkgs if p.path):
            out.append(f)
    return sorted(out)


_STR = re.compile(r"""(['"`])(/[^'"`\s]*)\1""")


def client_source_paths(ctx: CheckContext) -> list[str] | None:
    """Normalised paths written in client package sources (`'/orders/{id}/items'.replace(...)` included),
    for calls the extractor could not follow. None without a source."""
    if not has_source(ctx):
        return None
    cache = _cache(ctx)
    if "client_paths" not in cache:
        out = []
        for f in _client_files(ctx):
            for line in source_lines(ctx, f) or []:
                for m in _STR.finditer(line):
                    p = re.split(r"[?#]", m.group(2), maxsplit=1)[0]
                    segs = []
                    for seg in segments(p):
                        if seg.startswith(":") or (seg.startswith("{") and seg.endswith("}")) or seg.startswith("${"):
                            segs.append("{}")
                        else:
                            segs.append(re.sub(r"\$\{[^}]*\}|\{[A-Za-z_]\w*\}", "{}", seg))
                    if segs:
                        out.append("/" + "/".join(segs))
        cache["client_paths"] = out
    return cache["client_paths"]


def client_source_defines(ctx: CheckContext, package: str, name: str) -> bool:
    """A client package source still declares a member `name` (a method the extractor did not see)."""
    if not has_source(ctx):
        return False
    rx = re.compile(rf"(?<![\w$.]){re.escape(name.rsplit('.', 1)[-1])}\s*(?:<[^>]*>)?\s*(?:\(|=|:\s*(?:async\s*)?\()")
    for f in _client_files(ctx, package):
        for line in source_lines(ctx, f) or []:
            if rx.search(line) and not re.search(r"\.\s*" + re.escape(name.rsplit('.', 1)[-1]) + r"\s*\(", line):
                return True
    return False


# --------------------------------------------------------------------------- tests


class TestPaths:
    """Path-like identifiers of test files, indexed; route lookups are memoised."""

    def __init__(self, model: RepoModel):
        self.index = PathIndex()
        self.memo: dict[tuple[str, int], str | None] = {}
        for t in model.tests:
            for ident in t.identifiers:
                if ident.startswith("/") and len(ident) > 1:
                    p = re.split(r"[?#]", ident, maxsplit=1)[0]
                    p = re.sub(r"\$\{[^}]*\}", "{}", p)
                    if segments(p):
                        self.index.add(p, t.file)

    def find(self, route_path: str, optional: int = 0) -> str | None:
        key = (route_path, optional)
        if key not in self.memo:
            self.memo[key] = self._find(route_path, optional)
        return self.memo[key]

    def _find(self, route_path: str, optional: int) -> str | None:
        if "*" in route_path:
            return None
        for f in self.index.match(route_path, optional):
            return f
        # a sub-router tested on its own: `/1/orders` for `/users/{}/orders`
        rs = segments(route_path)
        for n in range(2, len(rs)):
            tail = "/" + "/".join(rs[-n:])
            for p, f in self.index.candidates(tail):
                if any(x != "{}" for x in segments(p)) and path_matches(tail, p):
                    return f
        return None


def test_paths(model: RepoModel) -> TestPaths:
    return TestPaths(model)


def route_tested(model: RepoModel, rt: Route, links: ApiLinks | None = None, ri: int | None = None,
                 _paths: TestPaths | None = None) -> str | None:
    """A test file that references the route (its path or a client method calling it), else None."""
    paths = _paths if _paths is not None else TestPaths(model)
    opt = optional_tail(rt.raw_path)
    forms = [rt.path]
    if links is not None and links.unprefixed(rt.path) != rt.path:
        forms.append(links.unprefixed(rt.path))  # tests often call through a helper that adds the prefix
    for form in forms:
        f = paths.find(form, opt)
        if f:
            return f
    if links is not None and ri is not None:
        names = {cm.name.rsplit(".", 1)[-1] for cm in links.route_clients(ri)}
        if names:
            for t in model.tests:
                if names & set(t.identifiers):
                    return t.file
    return None


# --------------------------------------------------------------------------- repositories


def is_test_double(name: str) -> bool:
    """`FakeUserRepository`, `createStubUserRepository` (not `TestimonialRepository`)."""
    short = re.sub(r"^(?:create|make|build|new)(?=[A-Z])", "", name)
    return any(short.startswith(p) and short[len(p):][:1].isupper() for p in TEST_DOUBLE_PREFIXES)


def impls_of(model: RepoModel, iface: str) -> list[Implementation]:
    return [i for i in model.implementations if i.interface == iface]


def is_data_repository(model: RepoModel, iface: RepositoryInterface) -> bool:
    """The interface is about database rows: it maps to a table of the schema, or an implementation queries one.

    A `FileRepository` or `GitRepository` next to the data repositories is not held to the Supabase/Memory pair.
    Without migrations there is no schema to ask, so every repository counts.
    """
    if not model.migrations:
        return True
    names = {t.name for t in model.schema_.tables.values()} | {v.name for v in model.schema_.views.values()}
    if any(t in names for t in iface.tables):
        return True
    impls = impls_of(model, iface.name)
    if any(i.tables for i in impls):
        return True
    # `Tables<'product_reviews'>` in the interface's or an implementation's file
    files = {iface.file} | {i.file for i in impls}
    return any(u.file in files and u.table in names for u in model.table_usage)


def is_factory(impl: Implementation) -> bool:
    return impl.name[:1].islower()


def method_declared_optional(ctx: CheckContext, iface: RepositoryInterface, m: Method) -> bool:
    """`find?(...)` / `find?: (...) => ...` in the interface (read from the head source)."""
    lines = source_lines(ctx, iface.file)
    if not lines or not (1 <= m.line <= len(lines)):
        return False
    text = lines[m.line - 1]
    return re.search(rf"(?<![\w$]){re.escape(m.name)}\s*\?\s*[:(<]", text) is not None


def declared_in(ctx: CheckContext, iface: RepositoryInterface, m: Method) -> tuple[str, int]:
    """Where an interface method is declared (its own file, or the interface line when inherited)."""
    lines = source_lines(ctx, iface.file)
    if lines is None:
        return iface.file, m.line
    if 1 <= m.line <= len(lines) and re.search(rf"(?<![\w$]){re.escape(m.name)}\b", lines[m.line - 1]) \
            and m.line >= iface.line:
        return iface.file, m.line
    return iface.file, iface.line


def _resolve_module(model: RepoModel, from_file: str, spec: str) -> str | None:
    if not spec.startswith("."):
        return None
    base = posixpath.normpath(posixpath.join(posixpath.dirname(from_file), spec))
    stem = re.sub(r"\.(m|c)?js$", "", base)
    for cand in (base, stem + ".ts", stem + ".tsx", stem + ".mts", stem + "/index.ts", stem + "/index.tsx"):
        if cand in model.files and cand.endswith((".ts", ".tsx", ".mts", ".cts")):
            return cand
    return None


def class_members(ctx: CheckContext, file: str, cls: str, depth: int = 0) -> set[str] | None:
    """Every member name of a class in a head file, inherited ones included.

    None when unknown: no source, class not found, or a base class outside the repository
    (it may provide any method).
    """
    try:
        return _class_members(ctx, file, cls, depth)
    except (AttributeError, TypeError, ValueError):  # facts changed shape: unknown, not a crash
        return None


def _class_members(ctx: CheckContext, file: str, cls: str, depth: int = 0) -> set[str] | None:
    if depth > 6:
        return None
    ff = file_facts(ctx, file)
    if ff is None:
        return None
    c = next((c for c in ff.classes if c.name == cls), None)
    if c is None:
        return None
    out = set(c.members) | {m.name for m in c.methods}
    if c.extends:
        name = c.extends.split(".")[-1]
        target = None
        if any(k.name == name for k in ff.classes):
            target = (file, name)
        else:
            for imp in ff.imports:
                for imported, local in imp.names:
                    if local == name:
                        t = _resolve_module(ctx.head, file, imp.module)
                        if t is not None:
                            target = (t, imported)
                if imp.default == name:
                    t = _resolve_module(ctx.head, file, imp.module)
                    if t is not None:
                        target = (t, name)
        if target is None:
            return None
        inherited = _class_members(ctx, target[0], target[1], depth + 1)
        if inherited is None:
            return None
        out |= inherited
    return out


def factory_is_open(ctx: CheckContext, impl: Implementation) -> bool:
    """The factory's object spreads another object (`...base`) or is not an object literal we read."""
    try:
        return _factory_is_open(ctx, impl)
    except (AttributeError, TypeError, ValueError):
        return True


def _factory_is_open(ctx: CheckContext, impl: Implementation) -> bool:
    ff = file_facts(ctx, impl.file)
    if ff is None:
        return False
    fa = next((f for f in ff.factories if f.line == impl.line), None)
    lines = source_lines(ctx, impl.file) or []
    if fa is None:
        return True
    body = lines[fa.line - 1: fa.end_line]
    if any("Object.assign" in ln for ln in body):
        return True
    # a spread among the object's own members (same indentation as its methods), not inside a method
    indents = {len(lines[m.line - 1]) - len(lines[m.line - 1].lstrip()) for m in impl.methods
               if 1 <= m.line <= len(lines)}
    return any(ln.lstrip().startswith("...") and len(ln) - len(ln.lstrip()) in indents for ln in body)


def repositories_dir_hint(model: RepoModel, flavour: str) -> str | None:
    dirs = Counter(posixpath.dirname(i.file) for i in model.implementations if i.flavour == flavour)
    return dirs.most_common(1)[0][0] if dirs else None


def strip_prefix(name: str, prefixes: Iterable[str]) -> str:
    for p in sorted(prefixes, key=len, reverse=True):
        if name.startswith(p) and len(name) > len(p):
            return name[len(p):]
    return name


@lru_cache(maxsize=256)
def singular(word: str) -> str:
    irregular = {"people": "person", "children": "child", "men": "man", "women": "woman", "mice": "mouse",
                 "geese": "goose", "data": "data", "info": "info", "media": "media", "news": "news",
                 "statuses": "status", "addresses": "address", "aliases": "alias"}
    if word in irregular:
        return irregular[word]
    if word.endswith("ies") and len(word) > 3:
        return word[:-3] + "y"
    if word.endswith(("sses", "shes", "ches", "xes", "zes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def repository_name_for(table: str, suffix: str = "Repository") -> str:
    parts = [p for p in table.split("_") if p]
    if parts:
        parts[-1] = singular(parts[-1])
    return "".join(p[:1].upper() + p[1:] for p in parts) + suffix


def kebab(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "-", name).lower()


# --------------------------------------------------------------------------- types

PRIMITIVES = {"string", "number", "boolean", "bigint"}


def norm_type(t: str | None) -> str | None:
    if t is None:
        return None
    return re.sub(r"\s+", "", t)


def primitive_of(t: str | None) -> str | None:
    """`string`, `number[]`, `string | null` -> the primitive (with `[]`); None for anything else."""
    t = norm_type(t)
    if not t:
        return None
    parts = [p for p in t.split("|") if p not in ("null", "undefined")]
    if len(parts) != 1:
        return None
    p = parts[0]
    m = re.fullmatch(r"(?:Array<(\w+)>|(\w+)((?:\[\])*))", p)
    if not m:
        return None
    if m.group(1):
        base, arr = m.group(1), "[]"
    else:
        base, arr = m.group(2), m.group(3)
    return base + arr if base in PRIMITIVES else None


def required_count(params) -> int:
    return sum(1 for p in params if not p.optional and not p.rest)


def has_rest(params) -> bool:
    return any(p.rest for p in params)
