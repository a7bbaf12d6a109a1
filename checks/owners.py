"""Component board (`.github/components.yml` or a Markdown table) and CODEOWNERS.

file -> component -> owners. CODEOWNERS follows GitHub's semantics: the last
matching pattern wins, patterns are gitignore-style (pathspec's gitwildmatch).
"""

from __future__ import annotations

import posixpath

import pathspec
import yaml
from markdown_it import MarkdownIt

from .config import match
from .model import CodeOwners, CodeOwnersRule, Component, Diagnostic, RepoModel
from .source import Source, read_text


def _as_list(v) -> list[str]:
    if v is None:
        return []
    if isinstance(v, str):
        return [s.strip() for s in v.replace(";", ",").split(",") if s.strip()]
    if isinstance(v, list):
        return [str(x).strip() for x in v if str(x).strip()]
    return [str(v)]


def _norm_owner(o: str) -> str:
    o = o.strip().strip("`")
    return o if o.startswith("@") or "@" in o else "@" + o


def _component(name: str, d: dict) -> Component:
    paths = _as_list(d.get("paths") or d.get("path"))
    return Component(
        name=str(name),
        paths=paths,
        owners=[_norm_owner(o) for o in _as_list(d.get("owners") or d.get("owner"))],
        depends_on=_as_list(d.get("depends_on") or d.get("depends-on") or d.get("dependsOn")),
        status=str(d["status"]) if d.get("status") is not None else None,
        description=str(d["description"]) if d.get("description") is not None else None,
    )


def parse_components_yaml(text: str, file: str, diags: list[Diagnostic]) -> list[Component]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        diags.append(Diagnostic(file=file, line=(mark.line + 1) if mark else 1, kind="component-board-error",
                                message=f"invalid YAML: {getattr(e, 'problem', e)}"))
        return []
    if isinstance(data, dict) and "components" in data:
        data = data["components"]
    out: list[Component] = []
    if isinstance(data, list):
        for i, item in enumerate(data):
            if isinstance(item, dict) and item.get("name"):
                out.append(_component(item["name"], item))
            else:
                diags.append(Diagnostic(file=file, line=1, kind="component-board-error",
                                        message=f"component #{i + 1} has no `name`; it is skipped"))
    elif isinstance(data, dict):
        for name, item in data.items():
            out.append(_component(name, item if isinstance(item, dict) else {}))
    elif data is not None:
        diags.append(Diagnostic(file=file, line=1, kind="component-board-error",
                                message="expected a list of components (name, paths, owners, depends_on, status)"))
    return out


def parse_components_markdown(text: str, file: str, diags: list[Diagnostic]) -> list[Component]:
    """The first Markdown table whose header has a name/component column."""
    tokens = MarkdownIt("commonmark").enable("table").parse(text)
    rows: list[list[str]] = []
    row: list[str] | None = None
    in_table = False
    for t in tokens:
        if t.type == "table_open":
            if rows:
                break
            in_table, rows = True, []
        elif t.type == "table_close":
            in_table = False
            header = [h.lower() for h in rows[0]] if rows else []
            if any(h in ("name", "component") for h in header):
                break
            rows = []
        elif in_table and t.type == "tr_open":
            row = []
        elif in_table and t.type == "tr_close" and row is not None:
            rows.append(row)
        elif in_table and t.type == "inline" and row is not None:
            row.append(t.content.strip())
    if not rows:
        return []
    header = [h.lower().replace(" ", "_").replace("-", "_") for h in rows[0]]
    out = []
    for r in rows[1:]:
        d = dict(zip(header, r))
        name = d.get("name") or d.get("component")
        if not name:
            continue
        d = {k: v.replace("`", "") for k, v in d.items()}
        for k in ("paths", "path", "owners", "owner", "depends_on"):
            if k in d:
                d[k] = [s for s in d[k].replace("<br>", ",").replace(" ", ",").split(",") if s]
        out.append(_component(name.replace("`", "").strip(), d))
    return out


def parse_codeowners(text: str, file: str) -> CodeOwners:
    rules = []
    for i, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        # an inline " #" starts a comment; escaped "\#" is part of a pattern
        parts = line.split()
        pat, owners = parts[0], []
        for p in parts[1:]:
            if p.startswith("#"):
                break
            owners.append(p)
        rules.append(CodeOwnersRule(pattern=pat, owners=owners, line=i))
    return CodeOwners(file=file, rules=rules)


# pathspec 1.x calls git's pattern flavour "gitignore"; older releases "gitwildmatch"
_PATTERN_KIND = "gitignore" if "gitignore" in getattr(pathspec.util, "_registered_patterns", {}) else "gitwildmatch"


class OwnerIndex:
    """Answers file -> component(s) and file -> owners for a model."""

    def __init__(self, model: RepoModel):
        self.model = model
        self._co = [(r, pathspec.PathSpec.from_lines(_PATTERN_KIND, [r.pattern])) for r in model.codeowners.rules]
        self._by_name = {c.name: c for c in model.components}

    def codeowners_for(self, path: str) -> list[str]:
        owners: list[str] = []
        for rule, spec in self._co:
            if spec.match_file(path):
                owners = rule.owners  # last match wins
        return owners

    def component_for(self, path: str) -> Component | None:
        best, best_len = None, -1
        for c in self.model.components:
            for g in c.paths:
                g2 = g.rstrip("/")
                if match(path, [g2]) or match(path, [g2 + "/**"]):
                    # the most specific pattern wins
                    spec = len(g2.replace("*", ""))
                    if spec > best_len:
                        best, best_len = c, spec
        if best is None:
            pkg = self.model.package_of(path)
            if pkg is not None:
                best = self._by_name.get(pkg.name) or self._by_name.get(posixpath.basename(pkg.path) or pkg.name)
        return best

    def component_name(self, path: str) -> str | None:
        c = self.component_for(path)
        if c is not None:
            return c.name
        pkg = self.model.package_of(path)
        if pkg is not None and pkg.path:
            return posixpath.basename(pkg.path)
        return None

    def owners_for(self, path: str) -> list[str]:
        """Owners from CODEOWNERS; the component's owners when CODEOWNERS says nothing."""
        owners = self.codeowners_for(path)
        if owners:
            return owners
        c = self.component_for(path)
        return list(c.owners) if c else []


def load_owners(source: Source, files: list[str], paths_board: list[str], paths_codeowners: list[str],
                diags: list[Diagnostic]) -> tuple[list[Component], str | None, CodeOwners]:
    fileset = set(files)
    components: list[Component] = []
    board = None
    for p in paths_board:
        if p in fileset:
            text = read_text(source, p)
            if p.endswith((".yml", ".yaml")):
                components = parse_components_yaml(text, p, diags)
            else:
                components = parse_components_markdown(text, p, diags)
            board = p
            break
    codeowners = CodeOwners()
    for p in paths_codeowners:
        if p in fileset:
            codeowners = parse_codeowners(read_text(source, p), p)
            break
    return components, board, codeowners
