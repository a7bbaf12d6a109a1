"""Workspace packages: pnpm-workspace.yaml globs (or package.json `workspaces`), tsconfig paths."""

from __future__ import annotations

import json
import posixpath

import json5
import yaml

from .config import Config, match
from .model import Diagnostic, Package
from .source import Source, read_text

DEP_FIELDS = ("dependencies", "devDependencies", "peerDependencies", "optionalDependencies")


def _workspace_globs(source: Source, files: set[str], diags: list[Diagnostic]) -> list[str] | None:
    if "pnpm-workspace.yaml" in files:
        try:
            data = yaml.safe_load(read_text(source, "pnpm-workspace.yaml")) or {}
            globs = data.get("packages") if isinstance(data, dict) else None
            if isinstance(globs, list):
                return [str(g) for g in globs]
            diags.append(Diagnostic(file="pnpm-workspace.yaml", line=1, kind="workspace-error",
                                    message="no `packages:` list; every package.json is taken as a package"))
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None)
            diags.append(Diagnostic(file="pnpm-workspace.yaml", line=(mark.line + 1) if mark else 1,
                                    kind="workspace-error", message=f"invalid YAML: {getattr(e, 'problem', e)}"))
    if "package.json" in files:
        root = _read_json(source, "package.json", diags) or {}
        ws = root.get("workspaces")
        if isinstance(ws, dict):
            ws = ws.get("packages")
        if isinstance(ws, list):
            return [str(g) for g in ws]
    return None


def _read_json(source: Source, path: str, diags: list[Diagnostic]) -> dict | None:
    text = read_text(source, path)
    try:
        data = json.loads(text)
    except ValueError as e:
        line = getattr(e, "lineno", 1)
        diags.append(Diagnostic(file=path, line=line, kind="json-error", message=f"invalid JSON: {e.msg if hasattr(e, 'msg') else e}"))
        return None
    return data if isinstance(data, dict) else None


def find_packages(source: Source, files: list[str], config: Config, diags: list[Diagnostic]) -> list[Package]:
    fileset = set(files)
    globs = _workspace_globs(source, fileset, diags)
    manifests = [f for f in files if f.endswith("package.json") and posixpath.basename(f) == "package.json"
                 and not match(f, config.paths.ignore)]
    include = [g.strip().rstrip("/") for g in (globs or []) if not g.startswith("!")]
    exclude = [g[1:].strip().rstrip("/") for g in (globs or []) if g.startswith("!")]
    chosen: list[str] = []
    for m in manifests:
        d = posixpath.dirname(m)
        if d == "":
            chosen.append(m)
        elif globs is None or (match(d, include) and not match(d, exclude)):
            chosen.append(m)
    pkgs: list[Package] = []
    for m in chosen:
        data = _read_json(source, m, diags)
        if data is None:
            continue
        d = posixpath.dirname(m)
        name = data.get("name") or (posixpath.basename(d) if d else "root")
        deps: dict[str, str] = {}
        for f in DEP_FIELDS:
            v = data.get(f)
            if isinstance(v, dict):
                deps.update({str(k): str(s) for k, s in v.items()})
        pkgs.append(Package(name=str(name), path=d, deps=deps,
                            scripts={str(k): str(v) for k, v in (data.get("scripts") or {}).items()}
                            if isinstance(data.get("scripts"), dict) else {},
                            entry=_entry_point(data, d, fileset)))
    names = {p.name for p in pkgs}
    for p in pkgs:
        p.workspace_deps = sorted(n for n, spec in p.deps.items()
                                  if n in names and n != p.name)
        p.is_client = p.name.endswith(config.naming.client_package_suffix) or p.name in config.naming.client_packages
    pkgs.sort(key=lambda p: p.path)
    return pkgs


def _entry_point(data: dict, d: str, files: set[str]) -> str | None:
    """The TypeScript file an import of the package resolves to (types/exports/main, then src/index.ts)."""
    cands: list[str] = []
    exports = data.get("exports")
    if isinstance(exports, str):
        cands.append(exports)
    elif isinstance(exports, dict):
        dot = exports.get(".", exports)
        if isinstance(dot, str):
            cands.append(dot)
        elif isinstance(dot, dict):
            cands += [v for k, v in dot.items() if isinstance(v, str) and k in ("types", "import", "default", "require")]
    cands += [data[k] for k in ("types", "typings", "main", "module") if isinstance(data.get(k), str)]
    cands += ["src/index.ts", "index.ts", "src/index.tsx", "lib/index.ts"]
    for c in cands:
        p = posixpath.normpath(posixpath.join(d, c)) if d else posixpath.normpath(c)
        for variant in (p, p.removesuffix(".js") + ".ts", p.removesuffix(".d.ts") + ".ts",
                        p.replace("dist/", "src/").removesuffix(".js").removesuffix(".d.ts") + ".ts"):
            if variant in files:
                return variant
    return None


def tsconfig_paths(source: Source, files: list[str], diags: list[Diagnostic]) -> dict[str, dict]:
    """`compilerOptions.paths` per tsconfig directory: {dir: {"baseUrl": dir, "paths": {...}}}.

    tsconfig files are JSONC (comments, trailing commas), so they are read with json5.
    `extends` of a relative file is followed one level at a time.
    """
    out: dict[str, dict] = {}
    fileset = set(files)
    raw: dict[str, dict] = {}
    for f in files:
        base = posixpath.basename(f)
        if not (base.startswith("tsconfig") and base.endswith(".json")):
            continue
        try:
            data = json5.loads(read_text(source, f))
        except ValueError as e:
            diags.append(Diagnostic(file=f, line=1, kind="json-error", message=f"tsconfig does not parse: {e}"))
            continue
        if isinstance(data, dict):
            raw[f] = data

    def resolve(f: str, depth: int = 0) -> tuple[str | None, dict]:
        data = raw.get(f, {})
        co = data.get("compilerOptions") or {}
        base_url, paths = None, None
        if isinstance(co, dict):
            if isinstance(co.get("paths"), dict):
                paths = co["paths"]
            if isinstance(co.get("baseUrl"), str):
                base_url = posixpath.normpath(posixpath.join(posixpath.dirname(f), co["baseUrl"]))
        ext = data.get("extends")
        if (paths is None or base_url is None) and isinstance(ext, str) and ext.startswith(".") and depth < 5:
            target = posixpath.normpath(posixpath.join(posixpath.dirname(f), ext))
            if not target.endswith(".json"):
                target += ".json"
            if target in fileset:
                pb, pp = resolve(target, depth + 1)
                if paths is None and pp:
                    paths = pp
                    base_url = base_url or pb or posixpath.dirname(target)
                base_url = base_url or pb
        return (base_url if base_url is not None else (posixpath.dirname(f) if paths else None)), (paths or {})

    for f in raw:
        b, p = resolve(f)
        if p:
            d = posixpath.dirname(f)
            out[d] = {"baseUrl": "" if b in (None, ".") else b, "paths": p}
    return out
