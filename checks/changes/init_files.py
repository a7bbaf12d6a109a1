"""The files `dlcm init` writes into a target repository (content only; the CLI writes them).

- `.github/ISSUE_TEMPLATE/data-layer-change.yml` — the change-request issue form;
- `.github/dlcm.yml` — the configuration with its defaults, commented;
- `.github/workflows/dlcm.yml` — a workflow running the dlcm Action on pull requests;
- `.github/components.yml` — the component board, derived from the workspace packages and
  CODEOWNERS (and from an existing board, whose owners/descriptions are kept).
"""

from __future__ import annotations

import json
import posixpath
from importlib import resources

import jinja2
import yaml

from ..build import find_supabase_dir
from ..config import Config, load_config
from ..model import Component, Diagnostic, RepoModel
from ..owners import OwnerIndex, load_owners
from ..source import Source, read_text
from ..workspace import find_packages

__all__ = ["ISSUE_FORM_PATH", "CONFIG_PATH", "WORKFLOW_PATH", "COMPONENTS_PATH", "DEFAULT_ACTION",
           "issue_form_text", "config_text", "workflow_text", "derive_components", "components_text", "init_files"]

ISSUE_FORM_PATH = ".github/ISSUE_TEMPLATE/data-layer-change.yml"
CONFIG_PATH = ".github/dlcm.yml"
WORKFLOW_PATH = ".github/workflows/dlcm.yml"
COMPONENTS_PATH = ".github/components.yml"
DEFAULT_ACTION = "your-org/dlcm/action@v1"


def _template_text(name: str) -> str:
    return resources.files("templates").joinpath("changes", name).read_text(encoding="utf-8")


def _env() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.PackageLoader("templates", "changes"), autoescape=False,
                             keep_trailing_newline=True, undefined=jinja2.StrictUndefined)
    env.filters["q"] = lambda v: json.dumps(v, ensure_ascii=False)  # a JSON string is a YAML double-quoted scalar
    env.filters["flow"] = lambda v: json.dumps(v, ensure_ascii=False)  # ... and a JSON list a YAML flow sequence
    return env


def issue_form_text() -> str:
    """The issue form (`templates/changes/data-layer-change.yml`)."""
    return _template_text("data-layer-change.yml")


def config_text(config: Config | None = None) -> str:
    """`.github/dlcm.yml` with the given (default) settings and a comment on each."""
    c = config or Config()
    return _env().get_template("dlcm.yml.j2").render(
        config=c, br=c.business_rules, cr=c.change_requests, paths=c.paths, naming=c.naming, squawk=c.squawk)


def workflow_text(action: str = DEFAULT_ACTION, test_command: str = "pnpm test", package_manager: bool = True) -> str:
    """`.github/workflows/dlcm.yml` running the Action (`package_manager`: package.json pins pnpm)."""
    return _env().get_template("workflow.yml.j2").render(action=action, test_command=test_command,
                                                         package_manager=package_manager)


def derive_components(source: Source, config: Config | None = None) -> list[Component]:
    """A component per workspace package (+ `database` for the Supabase directory), owners from
    CODEOWNERS; an existing board's owners, description and status win for the same name."""
    files = source.files()
    fileset = set(files)
    if config is None:
        try:
            config, _ = load_config(lambda p: read_text(source, p), lambda p: p in fileset)
        except Exception:
            config = Config()
    diags: list[Diagnostic] = []
    packages = find_packages(source, files, config, diags)
    existing, _board, codeowners = load_owners(source, files, config.paths.component_board,
                                               config.paths.codeowners, diags)
    idx = OwnerIndex(RepoModel(root=getattr(source, "label", ""), codeowners=codeowners))
    old = {c.name: c for c in existing}
    out: list[Component] = []
    names: dict[str, str] = {}  # package name -> component name

    sdir = find_supabase_dir(files, config)
    db_name = None
    if sdir is not None:
        db_name = "database"
        owners = idx.codeowners_for(posixpath.join(sdir, config.paths.migrations, "x.sql"))
        out.append(Component(name=db_name, paths=[f"{sdir}/**"], owners=owners,
                             description="Supabase schema, migrations and rollbacks", status="active"))

    for p in packages:
        if not p.path:
            continue
        name = posixpath.basename(p.path)
        if any(c.name == name for c in out):
            name = p.name.lstrip("@").replace("/", "-")
        names[p.name] = name
        desc = None
        try:
            data = json.loads(read_text(source, posixpath.join(p.path, "package.json")))
            desc = data.get("description") if isinstance(data, dict) else None
        except Exception:
            pass
        out.append(Component(name=name, paths=[f"{p.path}/**"],
                             owners=idx.codeowners_for(posixpath.join(p.path, "package.json")),
                             description=str(desc) if desc else None, status="active"))
    for c in out:
        pkg = next((p for p in packages if p.path and c.paths == [f"{p.path}/**"]), None)
        if pkg is None:
            continue
        deps = [names[d] for d in pkg.workspace_deps if d in names]
        if db_name and ("@supabase/supabase-js" in pkg.deps or (sdir or "").startswith(pkg.path + "/")):
            deps.insert(0, db_name)
        c.depends_on = deps
    for c in out:
        prev = old.get(c.name)
        if prev is not None:
            c.owners = prev.owners or c.owners
            c.description = prev.description or c.description
            c.status = prev.status or c.status
            c.depends_on = prev.depends_on or c.depends_on
    return out


def components_text(components: list[Component]) -> str:
    items = []
    for c in components:
        d: dict = {"name": c.name}
        if c.description:
            d["description"] = c.description
        d["paths"] = list(c.paths)
        d["owners"] = list(c.owners)
        if c.depends_on:
            d["depends_on"] = list(c.depends_on)
        if c.status:
            d["status"] = c.status
        items.append(d)
    head = ("# Component board (written by `dlcm init` from the workspace packages and CODEOWNERS).\n"
            "# dlcm routes change requests to the owners of the components a change touches and\n"
            "# follows `depends_on` for impact. Owners: \"@org/team\" or \"@user\".\n")
    return head + yaml.safe_dump({"components": items}, sort_keys=False, allow_unicode=True, width=100)


def init_files(source: Source, action: str = DEFAULT_ACTION) -> dict[str, str]:
    """Path → content of every file `dlcm init` writes."""
    fileset = set(source.files())
    try:
        config, _ = load_config(lambda p: read_text(source, p), lambda p: p in fileset)
    except Exception:
        config = Config()
    pinned = False
    if "package.json" in fileset:
        try:
            pinned = "packageManager" in json.loads(read_text(source, "package.json"))
        except Exception:
            pinned = False
    return {
        ISSUE_FORM_PATH: issue_form_text(),
        CONFIG_PATH: config_text(),
        WORKFLOW_PATH: workflow_text(action, config.test_command, pinned),
        COMPONENTS_PATH: components_text(derive_components(source, config)),
    }
