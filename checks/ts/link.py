"""Cross-file half of the TypeScript model: imports, mounts, clients and consumers.

`link(facts, packages, config, tsconfig_paths)` takes the per-file `FileFacts` of every
TypeScript file (see `checks.ts.facts`) and resolves what needs more than one file:

- module resolution: relative imports (`./x`, `./x/index`, `.js` written for `.ts`), workspace
  package names (the package's entry file, subpaths), tsconfig `paths` aliases, re-exports
  (`export * from`, `export { a as b } from`) and aliased imports;
- repositories and their implementations (classes and object-literal factories);
- routes with their full path (mount prefixes across files, sub-routers, basePath, Fastify
  register prefixes), normalised so `/users/:id`, `/users/{id}` and `/users/${id}` are equal;
- client methods (HTTP calls in client packages, path constants resolved, base URL dropped);
- consumer calls of client methods in every other package;
- test files, database types, table usage, suppressions and diagnostics.

Work is proportional to what matters: files without routes, client imports or tests cost a
few dictionary lookups, so a warm rebuild of a large repository stays fast.
"""

from __future__ import annotations

import posixpath
from typing import Callable

from pydantic import BaseModel, Field

from ..config import Config
from ..model import (
    ClientMethod, ConsumerCall, DatabaseTypes, Diagnostic, Implementation, Package, Param, RepositoryInterface,
    Route, Suppression, TableUsage, TestFile,
)
from .facts import FileFacts, Pieces, pieces_text

TS_EXTS = (".ts", ".tsx", ".mts", ".cts")
JS_TO_TS = {".js": (".ts", ".tsx"), ".jsx": (".tsx",), ".mjs": (".mts", ".ts"), ".cjs": (".cts", ".ts")}
FACTORY_PREFIXES = ("create", "make", "build", "new", "get")
MAX_PREFIXES = 32


class LinkedTs(BaseModel):
    repositories: list[RepositoryInterface] = Field(default_factory=list)
    implementations: list[Implementation] = Field(default_factory=list)
    table_usage: list[TableUsage] = Field(default_factory=list)
    routes: list[Route] = Field(default_factory=list)
    client_methods: list[ClientMethod] = Field(default_factory=list)
    consumers: list[ConsumerCall] = Field(default_factory=list)
    tests: list[TestFile] = Field(default_factory=list)
    database_types: list[DatabaseTypes] = Field(default_factory=list)
    suppressions: list[Suppression] = Field(default_factory=list)
    diagnostics: list[Diagnostic] = Field(default_factory=list)


def link(facts: dict[str, FileFacts], packages: list[Package], config: Config,
         tsconfig_paths: dict | None = None) -> LinkedTs:
    """Resolve the per-file facts of all TypeScript files into the model's TypeScript entities.

    `facts` maps each file (POSIX, relative to the root) to its `extract_file` result;
    `tsconfig_paths` is `{tsconfig dir: {"baseUrl": dir, "paths": {alias: [targets]}}}` (as
    `checks.workspace.tsconfig_paths` gives it) or a flat `{alias: [targets]}` for the root.
    Object identity: entities taken from the facts (TableUsage, Method, ...) are shared with
    the cache, so the model must be treated as read-only.
    """
    return _Linker(facts, packages, config, tsconfig_paths or {}).run()


# --------------------------------------------------------------------------- globs


_GLOB_CACHE: dict[tuple[str, ...], Callable[[str], bool]] = {}


def _glob_matcher(patterns: list[str]) -> Callable[[str], bool]:
    """A fast `config.match(path, patterns)`: each glob's longest literal part must be in the path
    before its regex runs (most paths fail that substring test)."""
    key = tuple(patterns)
    got = _GLOB_CACHE.get(key)
    if got is None:
        from ..config import _glob_re

        checks = []
        for p in patterns:
            chunks = [c.strip("/") for c in p.replace("?", "*").split("*")]
            checks.append((max(chunks, key=len), _glob_re(p).match))
        checks_t = tuple(checks)

        def got(path: str) -> bool:
            for lit, rx in checks_t:
                if lit in path and rx(path) is not None:
                    return True
            return False

        _GLOB_CACHE[key] = got
    return got


# --------------------------------------------------------------------------- naming


def snake(name: str) -> str:
    out = []
    for i, ch in enumerate(name):
        if ch.isupper() and i and (not name[i - 1].isupper() or (i + 1 < len(name) and name[i + 1].islower())):
            out.append("_")
        out.append(ch.lower())
    return "".join(out)


IRREGULAR = {"person": "people", "child": "children", "man": "men", "woman": "women", "mouse": "mice",
             "goose": "geese", "data": "data", "info": "info", "media": "media", "news": "news"}


def pluralise(word: str) -> str:
    if word in IRREGULAR:
        return IRREGULAR[word]
    if word.endswith(("ss", "us", "sh", "ch", "x", "z", "is")):
        return word + "es"
    if word.endswith("s"):
        return word
    if word.endswith("y") and len(word) > 1 and word[-2] not in "aeiou":
        return word[:-1] + "ies"
    return word + "s"


def table_for(repo_name: str, suffix: str) -> str:
    """`UserRepository` -> `users`, `OrderItemRepository` -> `order_items`, `CategoryRepository` -> `categories`."""
    stem = repo_name[: -len(suffix)] if suffix and repo_name.endswith(suffix) else repo_name
    if len(stem) > 2 and stem[0] == "I" and stem[1].isupper() and stem[2].islower():
        stem = stem[1:]  # IUserRepository
    parts = snake(stem).split("_")
    parts[-1] = pluralise(parts[-1])
    return "_".join(p for p in parts if p)


# --------------------------------------------------------------------------- paths


def normalise_path(pieces: Pieces, client: bool = False) -> tuple[str, str] | None:
    """(normalised, raw) of a route or client path; None when nothing path-like is left."""
    ps = list(pieces)
    if client:
        # drop the base URL: leading interpolations and `http://host`
        while ps and ps[0][0] != "lit":
            ps.pop(0)
        if not ps:
            return None
        first = ps[0][1]
        if "://" in first:
            rest = first.split("://", 1)[1]
            slash = rest.find("/")
            first = rest[slash:] if slash >= 0 else ""
            ps[0] = ("lit", first)
        elif first.startswith("//"):
            rest = first[2:]
            slash = rest.find("/")
            ps[0] = ("lit", rest[slash:] if slash >= 0 else "")
        # query string and fragment
        cut: list = []
        for k, v in ps:
            if k == "lit" and ("?" in v or "#" in v):
                i = min(x for x in (v.find("?"), v.find("#")) if x >= 0)
                cut.append((k, v[:i]))
                break
            cut.append((k, v))
        ps = cut
        # `/users${query}`: a trailing interpolation glued to a segment is a query string
        if len(ps) >= 2 and ps[-1][0] != "lit" and ps[-2][0] == "lit" and not ps[-2][1].endswith("/"):
            ps.pop()
        if not any(k == "lit" and v.strip("/") for k, v in ps) and not any(k == "lit" and v == "/" for k, v in ps):
            if not any(k == "lit" for k, _ in ps):
                return None
        if ps and ps[0][0] == "lit" and not ps[0][1].startswith("/"):
            ps[0] = ("lit", "/" + ps[0][1])
    raw = pieces_text(tuple(ps))
    # split into segments of parts
    segs: list[list[tuple[str, str]]] = [[]]
    for k, v in ps:
        if k == "lit":
            bits = v.split("/")
            for j, b in enumerate(bits):
                if j:
                    segs.append([])
                if b:
                    segs[-1].append(("lit", b))
        else:
            segs[-1].append(("param", v))
    norm_segs: list[str] = []
    for seg in segs:
        if not seg:
            continue
        if len(seg) == 1 and seg[0][0] == "lit":
            s = seg[0][1]
            if s.startswith(":") or (s.startswith("{") and s.endswith("}")):
                s = "{}"
            norm_segs.append(s)
        else:
            s = "".join(v if k == "lit" else "{}" for k, v in seg)
            if s.startswith(":"):
                s = "{}"
            norm_segs.append(s)
    norm = "/" + "/".join(norm_segs)
    raw_segs = [s for s in raw.split("/") if s]
    raw = "/" + "/".join(raw_segs)
    return norm, raw


# --------------------------------------------------------------------------- linker


class _Linker:
    def __init__(self, facts: dict[str, FileFacts], packages: list[Package], config: Config, tsconfig: dict):
        self.config = config
        ignored = _glob_matcher(config.paths.ignore)
        self.facts: dict[str, FileFacts] = {}
        self.bad: list[Diagnostic] = []
        for path, ff in facts.items():
            if ignored(path):
                continue
            if not isinstance(ff, FileFacts):  # a cache entry of another kind or an error object
                self.bad.append(Diagnostic(file=path, line=1, kind="unreadable",
                                           message=f"no TypeScript facts for this file ({type(ff).__name__})"))
                continue
            if ff.path != path:
                ff = _repath(ff, path)
            self.facts[path] = ff
        self.is_test = _glob_matcher(config.paths.tests)
        self.is_api = _glob_matcher(config.paths.api)
        self.is_repo = _glob_matcher(config.paths.repositories)
        self.is_dbtypes = _glob_matcher(config.paths.database_types)
        naming = config.naming
        self.packages = sorted(packages, key=lambda p: -len(p.path))
        self.pkg_by_name = {p.name: p for p in packages}
        self.client_pkgs = {p.name for p in packages
                            if p.is_client or p.name.endswith(naming.client_package_suffix)
                            or p.name in naming.client_packages}
        self._pkg_cache: dict[str, Package | None] = {}
        self._mod_cache: dict[tuple[str, str], str | None] = {}
        self._exp_cache: dict[tuple[str, str], tuple[str, str] | None] = {}
        self._imports: dict[str, dict[str, tuple[str, str]]] = {}
        self._tsconfig = _tsconfig_dirs(tsconfig)
        self.out = LinkedTs()

    # ------------------------------------------------------------------ lookups

    def pkg_of(self, path: str) -> Package | None:
        d = path.rpartition("/")[0]
        if d in self._pkg_cache:
            return self._pkg_cache[d]
        best = None
        for p in self.packages:  # longest path first
            if p.path == "" or d == p.path or d.startswith(p.path + "/"):
                best = p
                break
        self._pkg_cache[d] = best
        return best

    def import_map(self, file: str) -> dict[str, tuple[str, str]]:
        got = self._imports.get(file)
        if got is None:
            got = {}
            for imp in self.facts[file].imports:
                if imp.default:
                    got[imp.default] = (imp.module, "default")
                if imp.namespace:
                    got[imp.namespace] = (imp.module, "*")
                for imported, local in imp.names:
                    got[local] = (imp.module, imported)
            self._imports[file] = got
        return got

    def resolve_module(self, from_file: str, spec: str) -> str | None:
        """The file an import of `spec` from `from_file` refers to, None when outside the repo."""
        d = posixpath.dirname(from_file)
        key = (d, spec)
        if key in self._mod_cache:
            return self._mod_cache[key]
        out = None
        if spec.startswith("."):
            out = self._file_for(posixpath.normpath(posixpath.join(d, spec)) if d else posixpath.normpath(spec))
        else:
            out = self._package_module(spec)
            if out is None and self._tsconfig:
                out = self._alias_module(d, spec)
        self._mod_cache[key] = out
        return out

    def _file_for(self, base: str) -> str | None:
        facts = self.facts
        if base.endswith(TS_EXTS) and base in facts:
            return base
        for ext in TS_EXTS:
            if base + ext in facts:
                return base + ext
        for ext in (".ts", ".tsx"):
            if f"{base}/index{ext}" in facts:
                return f"{base}/index{ext}"
        stem, ext = posixpath.splitext(base)
        for alt in JS_TO_TS.get(ext, ()):
            if stem + alt in facts:
                return stem + alt
        return None

    def _package_module(self, spec: str) -> str | None:
        if spec.startswith("@"):
            parts = spec.split("/", 2)
            name, sub = "/".join(parts[:2]), (parts[2] if len(parts) > 2 else "")
        else:
            name, _, sub = spec.partition("/")
        pkg = self.pkg_by_name.get(name)
        if pkg is None:
            return None
        root = pkg.path
        join = (lambda x: posixpath.join(root, x)) if root else (lambda x: x)
        if not sub:
            if pkg.entry and pkg.entry in self.facts:
                return pkg.entry
            for c in ("src/index", "index", "lib/index"):
                got = self._file_for(join(c))
                if got:
                    return got
            return None
        for c in (sub, "src/" + sub, sub.replace("dist/", "src/", 1)):
            got = self._file_for(posixpath.normpath(join(c)))
            if got:
                return got
        return None

    def _alias_module(self, d: str, spec: str) -> str | None:
        for tdir, base_url, paths in self._tsconfig:
            if tdir and d != tdir and not d.startswith(tdir + "/"):
                continue
            for pat, targets in paths:
                if "*" in pat:
                    pre, _, post = pat.partition("*")
                    if not (spec.startswith(pre) and spec.endswith(post) and len(spec) >= len(pre) + len(post)):
                        continue
                    star = spec[len(pre): len(spec) - len(post)] if post else spec[len(pre):]
                else:
                    if spec != pat:
                        continue
                    star = ""
                for t in targets:
                    target = t.replace("*", star)
                    full = posixpath.normpath(posixpath.join(base_url, target)) if base_url else posixpath.normpath(target)
                    got = self._file_for(full)
                    if got:
                        return got
            if base_url is not None:
                got = self._file_for(posixpath.normpath(posixpath.join(base_url, spec)) if base_url else spec)
                if got:
                    return got
            return None  # the nearest tsconfig decides
        return None

    def resolve_binding(self, file: str, name: str, depth: int = 0) -> tuple[str, str] | None:
        """The declaration (file, local name) a module-scope `name` of `file` refers to.

        ("x.ts", "*") is the namespace of a module; None when it comes from outside the repo.
        """
        imp = self.import_map(file).get(name)
        if imp is None:
            return file, name
        module, imported = imp
        target = self.resolve_module(file, module)
        if target is None:
            return None
        if imported == "*":
            return target, "*"
        return self.resolve_export(target, imported, depth + 1)

    def resolve_export(self, file: str, name: str, depth: int = 0) -> tuple[str, str] | None:
        key = (file, name)
        if key in self._exp_cache:
            return self._exp_cache[key]
        self._exp_cache[key] = None  # cycle guard
        out = None
        if depth < 12:
            ff = self.facts[file]
            local = ff.exports.get(name)
            if local is not None:
                out = self.resolve_binding(file, local, depth + 1) if local in self.import_map(file) else (file, local)
            else:
                for rx in ff.reexports:
                    if rx.namespace == name:
                        t = self.resolve_module(file, rx.module)
                        out = (t, "*") if t else None
                        break
                    hit = next((imp for imp, exp in rx.names if exp == name), None)
                    if hit is not None:
                        t = self.resolve_module(file, rx.module)
                        out = self.resolve_export(t, hit, depth + 1) if t else None
                        break
                else:
                    for rx in ff.reexports:
                        if rx.star:
                            t = self.resolve_module(file, rx.module)
                            if t:
                                out = self.resolve_export(t, name, depth + 1)
                                if out:
                                    break
        self._exp_cache[key] = out
        return out

    def resolve_ref(self, file: str, ref: str, depth: int = 0) -> Pieces | None:
        """Pieces of an imported constant `NAME` / `NAME.key` used in `file`."""
        if depth > 6:
            return None
        parts = ref.split(".")
        r = self.resolve_binding(file, parts[0])
        if r is None:
            return None
        f2, local = r
        rest = parts[1:]
        if local == "*":
            if not rest:
                return None
            r = self.resolve_export(f2, rest[0])
            if r is None:
                return None
            f2, local = r
            rest = rest[1:]
        pieces = self.facts[f2].consts.get(".".join([local] + rest))
        if pieces is None:
            return None
        return self.resolve_pieces(f2, pieces, depth + 1)

    def resolve_pieces(self, file: str, pieces: Pieces, depth: int = 0) -> Pieces:
        if not any(k == "ref" for k, _ in pieces):
            return pieces
        out = []
        for k, v in pieces:
            if k == "ref":
                got = self.resolve_ref(file, v, depth)
                if got is None:
                    out.append(("param", v))
                else:
                    out.extend(got)
            else:
                out.append((k, v))
        merged: list = []
        for k, v in out:
            if k == "lit" and merged and merged[-1][0] == "lit":
                merged[-1] = ("lit", merged[-1][1] + v)
            else:
                merged.append((k, v))
        return tuple(merged)

    # ------------------------------------------------------------------ driver

    def run(self) -> LinkedTs:
        """One pass sorts the files into the few lists each later step needs."""
        out = self.out
        self.file_pkg: dict[str, str | None] = {}  # file -> package name
        self.test_files: set[str] = set()
        self.typed: list[str] = []  # files with interfaces / classes / factories
        self.routed: list[str] = []  # files with routers, routes or mounts
        self.client_files: set[str] = set()
        self.importers: list[str] = []  # non-test files outside client packages that import something
        self.api_pkgs: set[str | None] = set()
        is_test, is_api, client_pkgs = self.is_test, self.is_api, self.client_pkgs
        out.diagnostics.extend(self.bad)
        for path, ff in self.facts.items():
            if ff.table_usage:
                out.table_usage.extend(ff.table_usage)
            if ff.suppressions:
                out.suppressions.extend(ff.suppressions)
            if ff.diagnostics:
                out.diagnostics.extend(ff.diagnostics)
            if ff.database_types is not None and self.is_dbtypes(path):
                out.database_types.append(ff.database_types)
            pkg = self.pkg_of(path)
            pname = pkg.name if pkg is not None else None
            self.file_pkg[path] = pname
            if ff.types or ff.classes or ff.factories:
                self.typed.append(path)
            if is_test(path):
                self.test_files.add(path)
                continue
            if pname in client_pkgs:
                self.client_files.add(path)
                continue
            if ff.routes or ff.mounts or ff.routers:
                self.routed.append(path)
            if is_api(path):
                self.api_pkgs.add(pname)
            if ff.imports or ff.reexports:
                self.importers.append(path)
        self._repositories()
        self._routes()
        self._clients()
        self._consumers()
        self._tests()
        return out

    # ------------------------------------------------------------------ repositories

    def _repositories(self) -> None:
        cfg = self.config.naming
        suffix = cfg.repository_suffix
        ifaces: dict[str, tuple[str, object]] = {}
        all_types: dict[str, object] = {}
        for path in self.typed:
            ff = self.facts[path]
            for td in ff.types:
                all_types.setdefault(td.name, td)
                if td.name.endswith(suffix) and td.name != suffix and td.name not in ifaces and self.is_repo(path) \
                        and path not in self.test_files:
                    ifaces[td.name] = (path, td)
        # a base interface other repositories extend (`BaseRepository<T>`) is not a repository itself
        bases = {b for _p, td in ifaces.values() for b in td.extends}
        repos: dict[str, RepositoryInterface] = {}
        for name, (path, td) in ifaces.items():
            if name in bases:
                continue
            methods = list(td.methods)
            seen = {m.name for m in methods}
            stack, visited = list(td.extends), {name}
            while stack:
                base = stack.pop(0)
                if base in visited:
                    continue
                visited.add(base)
                btd = all_types.get(base)
                if btd is None:
                    continue
                for m in btd.methods:
                    if m.name not in seen:
                        methods.append(m)
                        seen.add(m.name)
                stack.extend(btd.extends)
            repos[name] = RepositoryInterface(name=name, file=path, line=td.line, methods=methods, kind=td.kind)

        sup_p, mem_p = tuple(cfg.supabase_prefixes), tuple(cfg.memory_prefixes)

        def by_name(n: str) -> str | None:
            for pre in sorted(sup_p + mem_p, key=len, reverse=True):
                if n.startswith(pre) and len(n) > len(pre):
                    rest = n[len(pre):]
                    for iname in repos:
                        stem = iname[: -len(suffix)]
                        if rest in (iname, stem, stem + "Repo", pluralise(stem) + suffix, pluralise(stem) + "Repo",
                                    stem + "Repository"):
                            return iname
            return None

        def flavour(n: str, tables: list[str]) -> str:
            if any(n.startswith(p) for p in sup_p):
                return "supabase"
            if any(n.startswith(p) for p in mem_p):
                return "memory"
            return "supabase" if tables else "other"

        impls: list[Implementation] = []
        for path in self.typed:
            ff = self.facts[path]
            for c in ff.classes:
                iface = next((i for i in c.implements if i in repos), None)
                if iface is None:
                    iface = next((i for i in c.implements if i.endswith(suffix) and i != suffix), None)
                if iface is None:
                    iface = by_name(c.name)
                if iface is None:
                    continue
                tables = self._tables_of(ff, c.name)
                impls.append(Implementation(name=c.name, file=path, line=c.line, interface=iface,
                                            flavour=flavour(c.name, tables), methods=list(c.methods), tables=tables))
            for fa in ff.factories:
                short = fa.name.rsplit(".", 1)[-1]
                stripped = short
                for pre in FACTORY_PREFIXES:
                    if short.startswith(pre) and len(short) > len(pre) and short[len(pre)].isupper():
                        stripped = short[len(pre):]
                        break
                stripped = stripped[:1].upper() + stripped[1:]
                iface = fa.returns if fa.returns and fa.returns.rsplit(".", 1)[-1].endswith(suffix) else None
                if iface is not None:
                    iface = iface.rsplit(".", 1)[-1]
                else:
                    iface = by_name(stripped)
                if iface is None:
                    continue
                tables = self._tables_of(ff, fa.name)
                impls.append(Implementation(name=short, file=path, line=fa.line, interface=iface,
                                            flavour=flavour(stripped, tables), methods=list(fa.methods), tables=tables))
        for r in repos.values():
            explicit = cfg.repository_tables.get(r.name)
            tables = [t.strip() for t in explicit.split(",") if t.strip()] if explicit else [table_for(r.name, suffix)]
            for im in impls:
                if im.interface == r.name:
                    for t in im.tables:
                        if t not in tables:
                            tables.append(t)
            r.tables = tables
        self.out.repositories = sorted(repos.values(), key=lambda r: (r.file, r.line))
        self.out.implementations = sorted(impls, key=lambda i: (i.file, i.line))

    @staticmethod
    def _tables_of(ff: FileFacts, owner: str) -> list[str]:
        out: list[str] = []
        pre = owner + "."
        for tu in ff.table_usage:
            if tu.kind in ("type_ref", "rpc") or tu.embedded_in is not None or tu.symbol is None:
                continue
            if (tu.symbol == owner or tu.symbol.startswith(pre)) and tu.table not in out:
                out.append(tu.table)
        return out

    # ------------------------------------------------------------------ routes

    def _routes(self) -> None:
        api_pkgs = self.api_pkgs
        if not api_pkgs:
            return
        files = [path for path in self.routed if self.file_pkg[path] in api_pkgs]
        if not files:
            return
        decls: dict[tuple, tuple[str, object]] = {}
        nodes: set[tuple] = set()
        for path in files:
            for rf in self.facts[path].routers:
                key = (path, rf.scope, rf.name)
                decls.setdefault(key, (path, rf))
                nodes.add(key)
        canon_cache: dict[tuple, tuple | None] = {}

        def canon(path: str, scope: str, name: str) -> tuple | None:
            k = (path, scope, name)
            if k in canon_cache:
                return canon_cache[k]
            out = k
            if scope == "" and not name.startswith("this."):
                r = self.resolve_binding(path, name)
                if r is None or r[1] == "*":
                    out = None
                else:
                    out = (r[0], "", r[1])
            canon_cache[k] = out
            return out

        routes: list[tuple[str, object, tuple]] = []
        for path in files:
            for rt in self.facts[path].routes:
                node = canon(path, rt.scope, rt.receiver)
                if node is not None:
                    nodes.add(node)
                    routes.append((path, rt, node))
        mounts: list[tuple[str, object, tuple]] = []
        for path in files:
            for m in self.facts[path].mounts:
                parent = canon(path, m.scope, m.receiver)
                if parent is not None:
                    nodes.add(parent)
                    mounts.append((path, m, parent))

        def fn_param_node(file: str, fn: str, index: int) -> tuple | None:
            for f in self.facts[file].functions:
                if f.name == fn and len(f.params) > index:
                    return file, fn, f.params[index][0]
            return None

        def fn_router_nodes(file: str, fn: str) -> list[tuple]:
            out = []
            for f in self.facts[file].functions:
                if f.name != fn:
                    continue
                for kind, text, scope in f.returns:
                    if kind in ("ident", "router"):
                        n = canon(file, scope, text)
                        if n is not None and n in nodes:
                            out.append(n)
            if not out:
                out = [k for k in decls if k[0] == file and k[1] == fn]
            return out

        edges: dict[tuple, list[tuple]] = {}
        for path, m, parent in mounts:
            children: list[tuple] = []
            kind = m.target_kind
            if kind == "ident":
                n = canon(path, m.target_scope, m.target)
                if n is not None and n in nodes:
                    children.append(n)
                elif n is not None:
                    c = fn_param_node(n[0], n[2], 0) if n[1] == "" else None
                    if c is not None:
                        children.append(c)
            elif kind == "member":
                root, _, rest = m.target.partition(".")
                r = self.resolve_binding(path, root) if m.target_scope == "" else None
                if r is not None and r[1] == "*" and rest and "." not in rest:
                    r2 = self.resolve_export(r[0], rest)
                    if r2 is not None:
                        n = (r2[0], "", r2[1])
                        if n in nodes:
                            children.append(n)
                        else:
                            c = fn_param_node(r2[0], r2[1], 0)
                            if c is not None:
                                children.append(c)
            elif kind == "call":
                n = canon(path, m.target_scope, m.target)
                if n is not None:
                    fname = n[2] if n[1] == "" else f"{n[1]}.{n[2]}"
                    children.extend(fn_router_nodes(n[0], fname))
            elif kind == "module":
                t = self.resolve_module(path, m.target)
                r = self.resolve_export(t, "default") if t else None
                if r is not None:
                    n = (r[0], "", r[1])
                    if n in nodes:
                        children.append(n)
                    else:
                        c = fn_param_node(r[0], r[1], 0)
                        if c is not None:
                            children.append(c)
            elif kind == "param":
                n = canon(path, m.target_scope, m.target)
                if n is not None:
                    fname = n[2] if n[1] == "" else f"{n[1]}.{n[2]}"
                    c = fn_param_node(n[0], fname, m.index)
                    if c is not None:
                        children.append(c)
            for c in children:
                if c != parent and c in nodes:
                    edges.setdefault(c, []).append((parent, m.prefix, m.from_decl, path))

        base_of = {k: v[1].base for k, v in decls.items()}
        fw_of = {k: v[1].framework for k, v in decls.items()}
        memo: dict[tuple, list[tuple]] = {}

        def prefixes(node: tuple, stack: frozenset) -> list[tuple]:
            """Prefixes of `node` from its mounts (without its own base)."""
            if node in memo:
                return memo[node]
            parents = edges.get(node)
            if not parents:
                res = [()]
            else:
                res = []
                for parent, prefix, from_decl, mpath in parents:
                    if parent in stack:
                        continue
                    pbase = () if from_decl else base_of.get(parent, ())
                    for pp in prefixes(parent, stack | {node}):
                        res.append(pp + tuple(self.resolve_pieces(mpath, pbase)) + tuple(self.resolve_pieces(mpath, prefix)))
                        if len(res) >= MAX_PREFIXES:
                            break
                res = res or [()]
            memo[node] = res
            return res

        def framework(node: tuple, depth: int = 0) -> str | None:
            fw = fw_of.get(node)
            if fw or depth > 8:
                return fw
            for parent, *_ in edges.get(node, ()):
                fw = framework(parent, depth + 1)
                if fw:
                    return fw
            return None

        out: list[Route] = []
        seen: set[tuple] = set()
        for path, rt, node in routes:
            own = tuple(self.resolve_pieces(path, rt.path))
            chain = tuple(self.resolve_pieces(path, rt.chain))
            base = () if rt.from_decl else tuple(self.resolve_pieces(node[0], base_of.get(node, ())))
            fw = framework(node) or rt.framework
            if fw not in ("hono", "express", "fastify"):
                fw = "unknown"
            pkg = self.file_pkg[path]
            for pre in prefixes(node, frozenset()):
                np = normalise_path(pre + base + chain + own)
                if np is None:
                    continue
                key = (rt.method, np[1], path, rt.line)
                if key in seen:
                    continue
                seen.add(key)
                out.append(Route(method=rt.method, path=np[0], raw_path=np[1], file=path, line=rt.line, framework=fw,
                                 handler_calls=list(rt.handler_calls), package=pkg))
        out.sort(key=lambda r: (r.file, r.line, r.method, r.path))
        self.out.routes = out

    # ------------------------------------------------------------------ clients

    def _clients(self) -> None:
        self.client_owner: dict[tuple[str, str], str] = {}  # (file, owner) -> package
        self.client_fns: dict[tuple[str, str], str] = {}  # (file, function) -> package
        self.methods_by_owner: dict[tuple[str, str], dict[str, ClientMethod]] = {}
        if not self.client_pkgs:
            return
        out: list[ClientMethod] = []
        for path in sorted(self.client_files):
            ff = self.facts[path]
            if not ff.http_calls:
                continue
            pname = self.file_pkg[path]
            seen: set[tuple] = set()
            for hc in ff.http_calls:
                pieces = self.resolve_pieces(path, hc.path)
                np = normalise_path(pieces, client=True)
                if np is None:
                    continue
                key = (hc.owner, hc.name, hc.method, np[0])
                if key in seen:
                    continue
                seen.add(key)
                cm = ClientMethod(name=hc.name, http_method=hc.method, path=np[0], raw_path=np[1], file=path,
                                  line=hc.decl_line, package=pname, class_name=hc.owner,
                                  params=[Param(name=n, type=t, optional=o, rest=r) for n, t, o, r in hc.params])
                out.append(cm)
                if hc.owner:
                    self.client_owner[(path, hc.owner)] = pname
                    self.methods_by_owner.setdefault((path, hc.owner), {}).setdefault(hc.name, cm)
                else:
                    self.client_fns[(path, hc.name)] = pname
        out.sort(key=lambda m: (m.package, m.file, m.line, m.name))
        self.out.client_methods = out

    # ------------------------------------------------------------------ consumers

    def _bearing_files(self) -> set[str]:
        """Files outside client packages that import a client package, directly or through local modules."""
        client_names = self.client_pkgs
        client_files = self.client_files
        client_stems = {_module_stem(f) for f in client_files}
        bearing: set[str] = set()
        by_stem: dict[str, list[str]] = {}  # relative import stem -> importing files
        by_pkg: dict[str, list[str]] = {}  # workspace package / alias import -> importing files
        for path in self.importers:
            hit = False
            for spec in _specs(self.facts[path]):
                if spec[0] == ".":
                    st = _spec_stem(spec)
                    by_stem.setdefault(st, []).append(path)
                    if hit or (st != "." and st not in client_stems):
                        continue
                else:
                    name = _package_name(spec)
                    if name in client_names:
                        hit = True
                        continue
                    if name not in self.pkg_by_name and not self._tsconfig:
                        continue  # an npm package
                    by_pkg.setdefault(name, []).append(path)
                    if hit:
                        continue
                t = self.resolve_module(path, spec)
                if t is not None and t in client_files:
                    hit = True
            if hit:
                bearing.add(path)
        # local modules re-exporting or wrapping the client (`src/db.ts`): their importers too
        frontier = set(bearing)
        for _round in range(8):
            if not frontier:
                break
            cands: set[str] = set(by_stem.get(".", ()))
            for b in frontier:
                cands.update(by_stem.get(_module_stem(b), ()))
                pname = self.file_pkg.get(b)
                if pname:
                    cands.update(by_pkg.get(pname, ()))
            if self._tsconfig:
                for name, paths in by_pkg.items():
                    if name not in self.pkg_by_name:
                        cands.update(paths)  # alias imports (`@/lib/db`)
            found: set[str] = set()
            for path in cands - bearing:
                for spec in _specs(self.facts[path]):
                    t = self.resolve_module(path, spec)
                    if t is not None and t in frontier:
                        found.add(path)
                        break
            bearing |= found
            frontier = found
        return bearing

    def _consumers(self) -> None:
        if not self.client_owner and not self.client_fns:
            return
        self._vars: dict[str, dict[tuple[str, str], object]] = {}
        self._funcs: dict[str, dict[str, object]] = {}
        self._classes: dict[str, dict[str, object]] = {}
        self._type_memo: dict[tuple, tuple | None] = {}
        out: list[ConsumerCall] = []
        for path in sorted(self._bearing_files()):
            ff = self.facts[path]
            pname = self.file_pkg[path] or ""
            for mc in ff.member_calls:
                t = self._root_type(path, mc.root, mc.root_kind, mc.root_scope)
                if t is None:
                    continue
                path_ = list(mc.path)
                while t is not None and t[0] == "ns" and path_:
                    r = self.resolve_export(t[1], path_.pop(0))
                    t = self.type_of(r[0], "", r[1]) if r else None
                if t is None or not path_:
                    continue
                if t[0] == "instance":
                    hit = self._method_on(t, path_)
                    if hit is not None:
                        out.append(ConsumerCall(file=path, line=mc.line, package=pname, client_package=hit[0],
                                                method=hit[1], symbol=mc.symbol))
            for c in ff.calls:
                t = self.type_of(path, "", c.callee)
                if t is not None and t[0] == "fn":
                    out.append(ConsumerCall(file=path, line=c.line, package=pname, client_package=t[1], method=t[2][1],
                                            symbol=c.symbol))
        out.sort(key=lambda c: (c.file, c.line, c.method))
        self.out.consumers = out

    def _method_on(self, t: tuple, path: list[str], depth: int = 0) -> tuple[str, str] | None:
        """(client package, method name) of `instance.a.b(...)`, None for a helper that makes no request."""
        owner = t[2]
        methods = self.methods_by_owner.get(owner, {})
        for k in range(len(path), 0, -1):
            name = ".".join(path[:k])
            if name in methods:
                return t[1], name
        file, oname = owner
        if len(path) > 1 and depth < 4:  # `client.admin.stats()` with `admin = new AdminApi(this)`
            sub = self.type_of(file, oname, "this." + path[0])
            if sub is not None and sub[0] == "instance":
                return self._method_on(sub, path[1:], depth + 1)
        # a member the owner has but that makes no request (helpers, fields): not an endpoint call
        cls = self._class_index(file).get(oname)
        if cls is not None and path[0] in cls.members:
            return None
        for fa in self.facts[file].factories:
            if fa.name == oname and any(m.name == path[0] for m in fa.methods):
                return None
        return t[1], ".".join(path)

    def _var_index(self, file: str) -> dict[tuple[str, str], object]:
        got = self._vars.get(file)
        if got is None:
            got = {}
            for v in self.facts[file].variables:
                got.setdefault((v.scope, v.name), v)
            self._vars[file] = got
        return got

    def _func_index(self, file: str) -> dict[str, object]:
        got = self._funcs.get(file)
        if got is None:
            got = {f.name: f for f in self.facts[file].functions}
            self._funcs[file] = got
        return got

    def _class_index(self, file: str) -> dict[str, object]:
        got = self._classes.get(file)
        if got is None:
            got = {c.name: c for c in self.facts[file].classes}
            self._classes[file] = got
        return got

    def _root_type(self, file: str, root: str, kind: str, scope: str) -> tuple | None:
        if kind in ("ident", "this"):
            return self.type_of(file, scope, root)
        if kind == "call":
            t = self.path_type(file, scope, root)
            return ("instance", t[1], t[2]) if t is not None and t[0] == "factory" else None
        if kind == "new":
            t = self.path_type(file, scope, root)
            return ("instance", t[1], t[2]) if t is not None and t[0] == "class" else None
        return None

    def path_type(self, file: str, scope: str, dotted: str) -> tuple | None:
        parts = dotted.split(".")
        if parts[0] == "this" and len(parts) > 1:
            t = self.type_of(file, scope, "this." + parts[1])
            rest = parts[2:]
        else:
            t = self.type_of(file, scope, parts[0])
            rest = parts[1:]
        for part in rest:
            if t is None:
                return None
            if t[0] == "ns":
                r = self.resolve_export(t[1], part)
                t = self.type_of(r[0], "", r[1]) if r else None
            elif t[0] == "instance":
                ofile, oname = t[2]
                t = self.type_of(ofile, oname, "this." + part)
            else:
                return None
        return t

    def type_of(self, file: str, scope: str, name: str) -> tuple | None:
        """What a binding is with respect to clients.

        ("class", pkg, owner) a client class; ("instance", pkg, owner) an instance of one (or a client
        object); ("factory", pkg, owner) a function returning an instance; ("fn", pkg, (file, name)) a
        client function; ("ns", file) a module namespace; None for anything else.
        """
        key = (file, scope, name)
        memo = self._type_memo
        if key in memo:
            return memo[key]
        memo[key] = None  # cycle guard
        t = self._type_of(file, scope, name)
        memo[key] = t
        return t

    def _type_of(self, file: str, scope: str, name: str) -> tuple | None:
        v = self._var_index(file).get((scope, name))
        if v is not None:
            t = None
            if v.init is not None:
                t = self._expr_type(file, v.init)
            if t is None and v.type:
                tt = self.path_type(file, "", v.type)
                if tt is not None and tt[0] == "class":
                    t = ("instance", tt[1], tt[2])
                elif tt is not None and tt[0] == "instance":
                    t = tt
            if t is not None:
                return t
        if name.startswith("this."):
            fkey = f"{scope}.{name[5:]}"
        else:
            fkey = f"{scope}.{name}" if scope else name
        if scope == "":
            pkg = self.client_owner.get((file, name))
            if pkg is not None:
                if name in self._class_index(file):
                    return "class", pkg, (file, name)
                if fkey in self._func_index(file):
                    return "factory", pkg, (file, name)
                return "instance", pkg, (file, name)
            pkg = self.client_fns.get((file, name))
            if pkg is not None:
                return "fn", pkg, (file, name)
        f = self._func_index(file).get(fkey)
        if f is not None:
            for ret in f.returns:
                t = self._expr_type(file, ret)
                if t is not None and t[0] == "instance":
                    return "factory", t[1], t[2]
            if f.return_type:
                tt = self.path_type(file, "", f.return_type)
                if tt is not None and tt[0] in ("class", "instance"):
                    return "factory", tt[1], tt[2]
            return None
        if scope == "":
            c = self._class_index(file).get(name)
            if c is not None:
                if c.extends:
                    tt = self.path_type(file, "", c.extends)
                    if tt is not None and tt[0] == "class":
                        return tt
                return None
            if name in self.import_map(file):
                r = self.resolve_binding(file, name)
                if r is None:
                    return None
                if r[1] == "*":
                    return "ns", r[0]
                return self.type_of(r[0], "", r[1])
        return None

    def _expr_type(self, file: str, ref: tuple) -> tuple | None:
        kind, text, scope = ref
        if kind == "new":
            t = self.path_type(file, scope, text)
            return ("instance", t[1], t[2]) if t is not None and t[0] == "class" else None
        if kind == "call":
            t = self.path_type(file, scope, text)
            return ("instance", t[1], t[2]) if t is not None and t[0] == "factory" else None
        if kind in ("ident", "member"):
            t = self.path_type(file, scope, text)
            return t if t is not None and t[0] in ("instance", "ns") else None
        return None

    # ------------------------------------------------------------------ tests

    def _tests(self) -> None:
        out: list[TestFile] = []
        for path in sorted(self.test_files):
            ff = self.facts[path]
            ids: set[str] = set()
            for imp in ff.imports:
                for imported, local in imp.names:
                    ids.add(imported)
                    ids.add(local)
                if imp.default:
                    ids.add(imp.default)
            for mc in ff.member_calls:
                ids.update(mc.path)
                if len(mc.path) > 1:
                    ids.add(".".join(mc.path))
            for c in ff.calls:
                ids.add(c.callee)
            for s in ff.paths:
                ids.add(s)
                np = normalise_path(_rendered_pieces(s), client=True)
                if np is not None:
                    ids.add(np[0])
                    # `/users/42`, `/users/<uuid>`: the concrete id of a `/users/{}` route
                    segs = np[0].split("/")
                    concrete = "/".join("{}" if _id_like(x) else x for x in segs)
                    if concrete != np[0]:
                        ids.add(concrete)
            for rt in ff.routes:
                np = normalise_path(rt.path)
                if np:
                    ids.add(np[0])
            p = self.pkg_of(path)
            out.append(TestFile(file=path, package=p.name if p else None, identifiers=sorted(ids)))
        self.out.tests = out


# --------------------------------------------------------------------------- helpers


def _id_like(seg: str) -> bool:
    if seg.isdigit():
        return True
    return len(seg) == 36 and seg.count("-") == 4 and all(c in "0123456789abcdefABCDEF-" for c in seg)


def _rendered_pieces(s: str) -> Pieces:
    """Pieces back from `pieces_text` output: `/users/${id}` -> lit, param."""
    out: list = []
    rest = s
    while "${" in rest:
        before, _, after = rest.partition("${")
        expr, closed, tail = after.partition("}")
        if not closed:
            break
        if before:
            out.append(("lit", before))
        out.append(("param", expr))
        rest = tail
    if rest:
        out.append(("lit", rest))
    return tuple(out)


def _specs(ff: FileFacts):
    for imp in ff.imports:
        if imp.module:
            yield imp.module
    for rx in ff.reexports:
        if rx.module:
            yield rx.module


def _package_name(spec: str) -> str:
    if spec.startswith("@"):
        return "/".join(spec.split("/", 2)[:2])
    return spec.split("/", 1)[0]


def _spec_stem(spec: str) -> str:
    parts = [p for p in spec.split("/") if p not in ("", ".", "..")]
    if not parts:
        return "."
    last = parts[-1].split(".", 1)[0]
    if last == "index" and len(parts) > 1:
        return parts[-2]
    return last


def _module_stem(path: str) -> str:
    d, name = posixpath.split(path)
    stem = name.split(".", 1)[0]
    if stem == "index":
        return posixpath.basename(d)
    return stem


def _tsconfig_dirs(tsconfig: dict) -> list[tuple[str, str | None, list[tuple[str, list[str]]]]]:
    """[(dir, baseUrl, [(pattern, targets)])] deepest directory first."""
    if not tsconfig:
        return []
    entries: dict[str, dict] = {}
    if all(isinstance(v, list) for v in tsconfig.values()):
        entries[""] = {"baseUrl": "", "paths": tsconfig}
    else:
        for d, v in tsconfig.items():
            if not isinstance(v, dict):
                continue
            if "paths" in v or "baseUrl" in v:
                entries[d] = v
            else:
                entries[d] = {"baseUrl": d, "paths": v}
    out = []
    for d, v in entries.items():
        paths = v.get("paths") or {}
        pats = [(k, [t for t in (vals if isinstance(vals, list) else [vals]) if isinstance(t, str)])
                for k, vals in paths.items()]
        # longest (most specific) pattern first, like TypeScript
        pats.sort(key=lambda kv: -len(kv[0].split("*", 1)[0]))
        base = v.get("baseUrl")
        out.append((d.strip("/"), base.strip("/") if isinstance(base, str) else None, pats))
    out.sort(key=lambda e: -len(e[0]))
    return out


def _repath(ff: FileFacts, path: str) -> FileFacts:
    """The facts of identical content found at another path."""
    upd: dict = {"path": path}
    if ff.table_usage:
        upd["table_usage"] = [t.model_copy(update={"file": path}) for t in ff.table_usage]
    if ff.suppressions:
        upd["suppressions"] = [s.model_copy(update={"file": path}) for s in ff.suppressions]
    if ff.diagnostics:
        upd["diagnostics"] = [d.model_copy(update={"file": path}) for d in ff.diagnostics]
    if ff.database_types is not None:
        upd["database_types"] = ff.database_types.model_copy(update={"file": path})
    return ff.model_copy(update=upd)


__all__ = ["LinkedTs", "link", "normalise_path", "table_for", "pluralise", "snake"]
