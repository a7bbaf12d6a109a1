"""Who owns a change, which labels it gets, its checklist, and evidence that steps are done.

- `plan_change(result, model, config)`: owning components (tables → the files that use them,
  endpoints → routes/client methods, named components), owners split into assignees (users)
  and team mentions, labels (`dlcm:type:*`, `dlcm:risk:*`, `dlcm:breaking`) and the checklist.
- `checklist_for(change, config)`: the steps for the change's type and complexity, each with
  a stable key and how it completes (automatically from a pull request, or by command).
- `auto_evidence(cr, pr_files, head_model, base_model, check_passed)`: the steps a linked pull
  request completes, with evidence (file and line). Pure: data in, data out.
"""

from __future__ import annotations

import datetime as dt
import posixpath
from typing import Literal

from pydantic import BaseModel, Field

from ..config import Config
from ..model import RepoModel
from ..owners import OwnerIndex
from .form import normalize_path
from .validate import NormalizedChange, ValidationResult

__all__ = ["Evidence", "ChecklistStep", "Plan", "STEPS", "plan_change", "checklist_for", "labels_for",
           "owning_components", "auto_evidence", "split_owners"]

LABEL_PREFIX = "dlcm:"
LABEL_BREAKING = "dlcm:breaking"
LABEL_NEEDS_INFO = "dlcm:needs-info"


class Evidence(BaseModel):
    """Why a checklist step is done: a file (and line), a commit, a check run, a link, an approval."""

    step: str
    kind: Literal["file", "commit", "check", "link", "approval", "command"]
    ref: str  # path, sha, check name, URL
    line: int | None = None
    detail: str = ""
    pr: int | None = None
    sha: str | None = None  # the commit the file/line refers to (a PR head)
    actor: str | None = None
    at: dt.datetime | None = None


class ChecklistStep(BaseModel):
    key: str
    title: str
    auto: str | None = None  # how dlcm sees it done; None: only `/dlcm done <key> <evidence>`
    required: bool = True


class Plan(BaseModel):
    components: list[str] = Field(default_factory=list)  # owning components, in board order
    owners: list[str] = Field(default_factory=list)  # "@org/team" and "@user"
    teams: list[str] = Field(default_factory=list)  # "@org/team" (mentioned; approvals come from them)
    assignees: list[str] = Field(default_factory=list)  # user logins, without "@"
    labels: list[str] = Field(default_factory=list)
    checklist: list[ChecklistStep] = Field(default_factory=list)
    files: dict[str, list[str]] = Field(default_factory=dict)  # component -> impacted files (sample)


# key -> (title, automatic completion rule or None)
STEPS: dict[str, tuple[str, str | None]] = {
    "migration": ("Migration in the migrations directory",
                  "the linked PR adds a migration that touches the change's table(s)"),
    "rollback": ("Rollback (down migration) for it", "that migration has its rollback file"),
    "rls": ("Row level security enabled, with policies", "every new table has RLS enabled and a policy"),
    "types": ("Database types regenerated (`database.types.ts`)",
              "the linked PR changes `database.types.ts` and it matches the change"),
    "repository": ("Repository interface for the new table", "a repository interface maps the new table"),
    "supabase-impl": ("Supabase repository implementation", "the linked PR changes the Supabase implementation of the table's repository"),
    "memory-impl": ("Memory repository implementation", "the linked PR changes the Memory implementation of the table's repository"),
    "endpoint": ("API endpoint in the Database Service", "the endpoint(s) exist in the PR head"),
    "client": ("Method in the typed client", "a client method calls the endpoint(s)"),
    "consumers": ("Consumers updated", "no code reads or writes the removed/renamed name any more"),
    "backfill": ("Data backfill planned and scripted", None),
    "tests": ("Tests added or updated, and passing", "the linked PR changes a test file and its checks pass"),
    "expand-contract": ("Expand/contract plan (old and new shape side by side, then remove)", None),
    "rollback-tested": ("Rollback tested (up → down → up)", "the rollback exists and the PR's dlcm checks pass"),
    "approvals": ("Approvals from the owning teams (`/dlcm approve`)", "enough `/dlcm approve` from members of the owning teams"),
}


def _step(key: str, required: bool = True) -> ChecklistStep:
    title, auto = STEPS[key]
    return ChecklistStep(key=key, title=title, auto=auto, required=required)


def checklist_for(change: NormalizedChange, config: Config | None = None) -> list[ChecklistStep]:
    """The steps of a change, by type and complexity (exposure, backfill, breaking)."""
    config = config or Config()
    t = change.type
    keys: list[str] = []
    expose = ["endpoint", "client"] if change.expose_api else []
    if t == "add-field" or t == "modify-field":
        keys = ["migration", "rollback", "types", "supabase-impl", "memory-impl", *expose, "tests"]
    elif t == "new-table":
        keys = ["migration", "rollback"]
        if change.requires_rls:
            keys.append("rls")
        keys.append("types")
        if config.business_rules.new_table_needs_repository:
            keys += ["repository", "supabase-impl", "memory-impl"]
        keys += [*expose, "tests"]
    elif t == "api-endpoint":
        keys = ["endpoint", "client", "tests"]
    elif t in ("remove-field", "rename"):
        keys = ["migration", "rollback", "types", "supabase-impl", "memory-impl", *expose, "consumers", "tests"]
    elif t == "add-index":
        keys = ["migration", "rollback"]
    else:
        keys = ["tests"]
    if change.backfill:
        keys.insert(keys.index("rollback") + 1 if "rollback" in keys else 0, "backfill")
    if change.breaking:
        if "consumers" not in keys and t != "api-endpoint":
            keys.append("consumers")
        keys += ["expand-contract", "rollback-tested", "approvals"]
    seen: list[str] = []
    for k in keys:
        if k not in seen:
            seen.append(k)
    return [_step(k) for k in seen]


def labels_for(result: ValidationResult) -> list[str]:
    out = []
    if result.change.type:
        out.append(f"dlcm:type:{result.change.type}")
    out.append(f"dlcm:risk:{result.risk}")
    if result.breaking:
        out.append(LABEL_BREAKING)
    return out


def split_owners(owners: list[str]) -> tuple[list[str], list[str]]:
    """(team mentions "@org/team", user logins without "@"); e-mail owners are dropped."""
    teams, users = [], []
    for o in owners:
        o = o.strip()
        if not o.startswith("@"):
            continue
        if "/" in o:
            if o not in teams:
                teams.append(o)
        elif o[1:] not in users:
            users.append(o[1:])
    return teams, users


# --------------------------------------------------------------------------- impacted files


def _bare(t: str) -> str:
    return t.rsplit(".", 1)[-1]


def _table_matches(name: str | None, qualified: str) -> bool:
    if not name:
        return False
    # code names public tables bare (`.from('users')`), others qualified
    return name == qualified or ("." not in name and name == _bare(qualified) and qualified.startswith("public."))


def _singular(w: str) -> str:
    if w.endswith("ies"):
        return w[:-3] + "y"
    if w.endswith("s") and not w.endswith("ss"):
        return w[:-1]
    return w


def _repo_aliases(model: RepoModel, table: str) -> set[str]:
    """Lower-case names code uses for the table's repository (`users`, `user`, `userrepository`)."""
    bare = _bare(table)
    names = {bare.lower(), _singular(bare).lower(), bare.replace("_", "").lower(), _singular(bare).replace("_", "").lower()}
    for r in model.repositories:
        if any(_table_matches(t, table) for t in r.tables):
            base = r.name[: -len("Repository")] if r.name.endswith("Repository") else r.name
            names |= {r.name.lower(), base.lower(), base.lower() + "s"}
    return names


def table_files(model: RepoModel, table: str) -> list[str]:
    """Files that use a table: migrations, generated types, repositories, implementations, routes."""
    files: list[str] = []

    def add(f: str | None) -> None:
        if f and f not in files:
            files.append(f)

    for m in model.migrations:
        if any(op.table and f"{op.schema_ or 'public'}.{op.table}" == table for op in m.ops):
            add(m.path)
            add(m.rollback)
    for dt_ in model.database_types:
        if table in dt_.tables:
            add(dt_.file)
    for u in model.table_usage:
        if _table_matches(u.table, table):
            add(u.file)
    repos = [r for r in model.repositories if any(_table_matches(t, table) for t in r.tables)]
    names = {r.name for r in repos}
    for r in repos:
        add(r.file)
    for i in model.implementations:
        if i.interface in names or any(_table_matches(t, table) for t in i.tables):
            add(i.file)
    aliases = _repo_aliases(model, table)
    for rt in model.routes:
        for call in rt.handler_calls:
            obj = call.rsplit(".", 1)[0].rsplit(".", 1)[-1].lower()
            if obj in aliases:
                add(rt.file)
                break
    return files


def endpoint_files(model: RepoModel, method: str, path: str, consumers: bool = False) -> list[str]:
    """Route and client files of an endpoint (or of its siblings when it does not exist yet)."""
    path = normalize_path(path)
    files: list[str] = []
    routes = [r for r in model.routes if r.method.upper() == method and normalize_path(r.path) == path]
    if not routes:  # a new endpoint lands next to the routes sharing its first segment
        first = path.strip("/").split("/")[0]
        routes = [r for r in model.routes if normalize_path(r.path).strip("/").split("/")[0] == first]
    for r in routes:
        if r.file not in files:
            files.append(r.file)
    clients = [c for c in model.client_methods if c.http_method.upper() == method and normalize_path(c.path) == path]
    if not clients:
        clients = [c for c in model.client_methods
                   if normalize_path(c.path).strip("/").split("/")[0] == path.strip("/").split("/")[0]]
    for c in clients:
        if c.file not in files:
            files.append(c.file)
    if consumers:
        names = {c.name for c in clients}
        for call in model.consumers:
            if call.method in names and call.file not in files:
                files.append(call.file)
    return files


def owning_components(change: NormalizedChange, model: RepoModel) -> dict[str, list[str]]:
    """Component name → the impacted files that put it in charge (board order)."""
    idx = OwnerIndex(model)
    files: list[str] = []

    def add(fs: list[str]) -> None:
        files.extend(f for f in fs if f not in files)

    schema_change = change.type in ("add-field", "new-table", "modify-field", "remove-field", "rename", "add-index")
    if schema_change:
        sdir = model.supabase_dir or "supabase"
        add([posixpath.join(sdir, "migrations", "_.sql")])  # where the migration goes
    for t in change.tables:
        add(table_files(model, t))
    if change.new_tables and model.repositories:
        add([model.repositories[0].file])  # the new repository lands next to the others
    for e in change.endpoints:
        add(endpoint_files(model, e.method, e.path, consumers=change.breaking))
    if change.breaking:  # consumers of the tables' endpoints are impacted too
        for t in change.tables:
            aliases = _repo_aliases(model, t)
            for r in model.routes:
                if any(c.rsplit(".", 1)[0].rsplit(".", 1)[-1].lower() in aliases for c in r.handler_calls):
                    add(endpoint_files(model, r.method.upper(), r.path, consumers=True))
    out: dict[str, list[str]] = {}
    for f in files:
        name = idx.component_name(f)
        if name is None:
            continue
        out.setdefault(name, [])
        if f not in out[name] and not f.endswith("/_.sql"):
            out[name].append(f)
    for c in change.components:
        out.setdefault(c, [])
    order = {c.name: i for i, c in enumerate(model.components)}
    return dict(sorted(out.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0])))


def plan_change(result: ValidationResult, model: RepoModel, config: Config | None = None) -> Plan:
    """Owners, assignees, team mentions, labels and checklist of a validated change."""
    config = config or Config()
    change = result.change
    comps = owning_components(change, model)
    idx = OwnerIndex(model)
    by_name = {c.name: c for c in model.components}
    owners: list[str] = []
    for name, files in comps.items():
        comp = by_name.get(name)
        found = list(comp.owners) if comp is not None and comp.owners else []
        if not found:
            for f in files or []:
                found += [o for o in idx.codeowners_for(f) if o not in found]
        owners += [o for o in found if o not in owners]
    teams, users = split_owners(owners)
    return Plan(components=list(comps), owners=owners, teams=teams, assignees=users[:10],
                labels=labels_for(result), checklist=checklist_for(change, config),
                files={k: v[:20] for k, v in comps.items()})


# --------------------------------------------------------------------------- automatic evidence

_TEST_SUFFIXES = (".test.ts", ".spec.ts", ".test.tsx", ".spec.tsx", ".test.js", ".spec.js")


def _is_test(path: str, head: RepoModel) -> bool:
    return path.endswith(_TEST_SUFFIXES) or "/__tests__/" in path or any(t.file == path for t in head.tests)


def auto_evidence(cr: NormalizedChange | ValidationResult, pr_files: list[str], head_model: RepoModel,
                  base_model: RepoModel | None, check_passed: bool) -> list[Evidence]:
    """Evidence for the checklist steps a pull request completes (files changed + head/base models)."""
    change = cr.change if isinstance(cr, ValidationResult) else cr
    head, base = head_model, base_model or RepoModel(root="")
    changed = set(pr_files)
    ev: list[Evidence] = []
    steps = {s.key for s in checklist_for(change)} | {"rls", "repository", "endpoint", "client", "consumers",
                                                        "rollback-tested", "tests"}

    # migration + rollback
    mig_ev: list[Evidence] = []
    for m in head.migrations:
        if m.path not in changed:
            continue
        for op in m.ops:
            qual = f"{op.schema_ or 'public'}.{op.table}" if op.table else None
            if qual and (qual in change.tables or qual in change.new_tables):
                mig_ev.append(Evidence(step="migration", kind="file", ref=m.path, line=op.line,
                                       detail=f"`{op.kind}` on {qual}"))
                break
    ev += mig_ev
    for e in mig_ev:
        m = next(m for m in head.migrations if m.path == e.ref)
        if m.rollback:
            ev.append(Evidence(step="rollback", kind="file", ref=m.rollback, line=1, detail=f"rollback of {m.stem}"))

    # generated types reflect the change
    for dtypes in head.database_types:
        if dtypes.file not in changed:
            continue
        ok = True
        for c in change.columns:
            tt = dtypes.tables.get(c.table)
            if tt is None:
                ok = False
                break
            if change.type == "remove-field":
                ok = ok and c.name not in tt.row
            elif change.type == "rename" and c.new_name:
                ok = ok and c.new_name in tt.row
            else:
                ok = ok and c.name in tt.row
        for t in change.new_tables:
            ok = ok and t in dtypes.tables
        if ok:
            ev.append(Evidence(step="types", kind="file", ref=dtypes.file, line=1,
                               detail="generated types match the change"))
    if not head.database_types:
        for f in sorted(changed):
            if f.endswith("database.types.ts"):
                ev.append(Evidence(step="types", kind="file", ref=f, line=1, detail="generated types changed"))

    # repositories and implementations
    tables = change.tables or change.new_tables
    repos = [r for r in head.repositories if any(_table_matches(t, q) for t in r.tables for q in tables)]
    base_repos = {r.name for r in base.repositories}
    for r in repos:
        if any(_table_matches(t, q) for t in r.tables for q in change.new_tables) and (
                r.name not in base_repos or r.file in changed):
            ev.append(Evidence(step="repository", kind="file", ref=r.file, line=r.line, detail=f"`{r.name}`"))
    names = {r.name for r in repos}
    for impl in head.implementations:
        maps = impl.interface in names or any(_table_matches(t, q) for t in impl.tables for q in tables)
        if not maps or impl.file not in changed or impl.flavour == "other":
            continue
        ev.append(Evidence(step=f"{impl.flavour}-impl", kind="file", ref=impl.file, line=impl.line,
                           detail=f"`{impl.name}`"))

    # endpoints and client methods
    base_routes = {(r.method.upper(), normalize_path(r.path)) for r in base.routes}
    if change.endpoints:
        found = []
        for e in change.endpoints:
            r = next((r for r in head.routes if r.method.upper() == e.method and normalize_path(r.path) == e.path), None)
            if r is not None and ((e.method, e.path) not in base_routes or r.file in changed):
                found.append(Evidence(step="endpoint", kind="file", ref=r.file, line=r.line,
                                      detail=f"`{r.method} {r.raw_path}`"))
        if len(found) == len(change.endpoints):
            ev += found
        cfound = []
        for e in change.endpoints:
            c = next((c for c in head.client_methods
                      if c.http_method.upper() == e.method and normalize_path(c.path) == e.path), None)
            if c is not None:
                cfound.append(Evidence(step="client", kind="file", ref=c.file, line=c.line, detail=f"`{c.name}`"))
        if len(cfound) == len(change.endpoints):
            ev += cfound
    elif change.expose_api:
        for t in tables:
            aliases = _repo_aliases(head, t)
            for r in head.routes:
                if r.file in changed and any(c.rsplit(".", 1)[0].rsplit(".", 1)[-1].lower() in aliases
                                             for c in r.handler_calls):
                    ev.append(Evidence(step="endpoint", kind="file", ref=r.file, line=r.line,
                                       detail=f"`{r.method} {r.raw_path}`"))
                    break
        for c in head.client_methods:
            if c.file in changed:
                ev.append(Evidence(step="client", kind="file", ref=c.file, line=c.line, detail=f"`{c.name}`"))
                break

    # row level security on new tables
    if change.new_tables:
        ok = True
        for t in change.new_tables:
            tb = head.schema_.tables.get(t)
            has_policy = any(p.table == t for p in head.schema_.policies.values())
            ok = ok and tb is not None and tb.rls_enabled and has_policy
        if ok:
            ev.append(Evidence(step="rls", kind="check", ref="schema", detail="RLS enabled with policies on "
                                                                              + ", ".join(change.new_tables)))

    # consumers no longer use removed / renamed names
    if change.type in ("remove-field", "rename"):
        gone = {(c.table, c.name) for c in change.columns}
        left = [u for u in head.table_usage for (t, n) in gone
                if _table_matches(u.table, t) and (n in u.columns or n in u.filters)]
        renamed_tables = set(change.renamed_tables)
        left += [u for u in head.table_usage for t in renamed_tables if _table_matches(u.table, t)]
        if not left and changed:
            ev.append(Evidence(step="consumers", kind="check", ref="model",
                               detail="no code reads or writes the old name(s) any more"))

    # tests and the tested rollback need the PR's checks to pass
    if check_passed:
        tests = sorted(f for f in changed if _is_test(f, head))
        if tests:
            ev.append(Evidence(step="tests", kind="file", ref=tests[0], line=1,
                               detail=f"{len(tests)} test file(s) changed; checks passed"))
        if any(e.step == "rollback" for e in ev):
            ev.append(Evidence(step="rollback-tested", kind="check", ref="dlcm/completeness",
                               detail="rollback present and the PR's dlcm checks passed"))
    return [e for e in ev if e.step in steps]
