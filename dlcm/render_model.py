"""Human-readable `dlcm model` output (rich; plain when not a TTY)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table as RichTable

from checks.model import RepoModel
from checks.owners import OwnerIndex


def render_model_text(model: RepoModel, console: Console | None = None) -> None:
    c = console or Console(highlight=False)
    owners = OwnerIndex(model)
    c.print(f"[bold]{model.root}[/bold]" + (f" @ {model.ref}" if model.ref else ""))
    c.print(f"config: {model.config_file or 'defaults (no .github/dlcm.yml)'}; supabase: {model.supabase_dir or 'not found'}")

    t = RichTable(title="Packages", show_lines=False)
    for col in ("name", "path", "workspace deps", "client"):
        t.add_column(col)
    for p in model.packages:
        t.add_row(p.name, p.path or ".", ", ".join(p.workspace_deps), "yes" if p.is_client else "")
    c.print(t)

    t = RichTable(title="Migrations")
    for col in ("version", "name", "ops", "rollback"):
        t.add_column(col)
    for m in model.migrations:
        t.add_row(m.version or "?", m.name, str(len(m.ops)), m.rollback or "[red]missing[/red]")
    c.print(t)

    t = RichTable(title="Schema (after replaying migrations)")
    for col in ("table", "columns", "RLS", "policies"):
        t.add_column(col)
    for key, tab in model.schema_.tables.items():
        pols = [p.name for p in model.schema_.policies.values() if p.table == key]
        cols = ", ".join(f"{n} {col.type}{'' if col.nullable else ' not null'}" for n, col in tab.columns.items())
        t.add_row(key, cols, "on" if tab.rls_enabled else "[red]off[/red]", str(len(pols)))
    c.print(t)

    t = RichTable(title="Repositories")
    for col in ("interface", "tables", "methods", "implementations"):
        t.add_column(col)
    for r in model.repositories:
        impls = [f"{i.name} ({i.flavour})" for i in model.implementations if i.interface == r.name]
        t.add_row(f"{r.name}\n{r.file}:{r.line}", ", ".join(r.tables), ", ".join(m.name for m in r.methods),
                  "\n".join(impls) or "[red]none[/red]")
    c.print(t)

    t = RichTable(title="API routes")
    for col in ("method", "path", "where", "component"):
        t.add_column(col)
    for r in sorted(model.routes, key=lambda r: (r.path, r.method)):
        t.add_row(r.method, r.raw_path, f"{r.file}:{r.line}", owners.component_name(r.file) or "")
    c.print(t)

    t = RichTable(title="Client methods")
    for col in ("method", "HTTP", "path", "where"):
        t.add_column(col)
    for m in model.client_methods:
        t.add_row(m.name, m.http_method, m.raw_path, f"{m.file}:{m.line}")
    c.print(t)

    t = RichTable(title="Consumers")
    for col in ("package", "calls", "where"):
        t.add_column(col)
    for cc in model.consumers:
        t.add_row(cc.package, cc.method, f"{cc.file}:{cc.line}")
    c.print(t)

    t = RichTable(title="Components")
    for col in ("name", "paths", "owners", "depends on"):
        t.add_column(col)
    for comp in model.components:
        t.add_row(comp.name, ", ".join(comp.paths), ", ".join(comp.owners), ", ".join(comp.depends_on))
    c.print(t)

    if model.diagnostics:
        c.print("[bold yellow]Diagnostics[/bold yellow]")
        for d in model.diagnostics:
            c.print(f"  {d.file}:{d.line}: {d.kind}: {d.message}")
