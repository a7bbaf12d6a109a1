"""Impact report renderers: Markdown (sticky comment, `--format markdown`), text and JSON.

The Markdown report follows `checks.report`'s conventions: one Jinja template
(`templates/impact/report.md.j2`), file links through a function passed in (so the App can
link at the exact commit), and never more than 65,535 characters: rows that do not fit move
to a collapsed `<details>` tail, which is itself cut with an "… and N more" line.
"""

from __future__ import annotations

import json
import re
from typing import Callable

import jinja2

from .model import ImpactReport

MAX_MARKDOWN = 65_535
MARKER = "<!-- dlcm:impact -->"
ICONS = {"error": "❌", "warning": "⚠️", "info": "ℹ️"}

Link = Callable[[str, int], str]

_ENV: jinja2.Environment | None = None


def env() -> jinja2.Environment:
    global _ENV
    if _ENV is None:
        e = jinja2.Environment(loader=jinja2.PackageLoader("templates", "impact"), autoescape=False,
                               keep_trailing_newline=True)
        e.filters["md_cell"] = lambda s: str(s).replace("|", "\\|").replace("\n", "<br>")
        _ENV = e
    return _ENV


def code_link(file: str, line: int) -> str:
    return f"`{file}:{line}`"


def github_link(repo: str, sha: str, server: str = "https://github.com") -> Link:
    """Links to `file#Lline` at an exact commit: `[file:line](https://github.com/o/r/blob/<sha>/file#L12)`."""

    def link(file: str, line: int) -> str:
        return f"[`{file}:{line}`]({server.rstrip('/')}/{repo}/blob/{sha}/{file}#L{line})"

    return link


def title_of(report: ImpactReport) -> str:
    if not report.changes:
        return "no data-layer change"
    first = report.changes[0].label()
    return first if len(report.changes) == 1 else f"{first} and {len(report.changes) - 1} more change(s)"


def counts_line(report: ImpactReport) -> str:
    errs = sum(1 for b in report.breaking if b.level == "error")
    warns = sum(1 for b in report.breaking if b.level == "warning")
    parts = ["**breaking**" if errs else ("potentially breaking" if warns else "not breaking")]

    def n(k: int, word: str) -> None:
        if k:
            parts.append(f"{k} {word}{'' if k == 1 else 's'}")

    n(len(report.components), "component")
    n(len(report.repository_methods), "repository method")
    n(len(report.endpoints), "endpoint")
    n(len(report.client_methods), "client method")
    n(len(report.consumers), "consumer call")
    n(len(report.missing), "missing piece")
    return " · ".join(parts)


def _rows(report: ImpactReport) -> list[tuple[str, dict]]:
    """(component, row) of every affected item, in chain order."""
    fc = report.file_components
    out: list[tuple[str, dict]] = []
    for t in report.tables:
        extra = f"; depends on it: {', '.join(t.db_objects)}" if t.db_objects else ""
        out.append((t.component or "", {"what": f"table `{t.table}`", "file": t.file, "line": t.line or 1,
                                        "why": t.why + extra}))
    for c in report.columns:
        what = f"generated type `{c.table}" + (f".{c.column}`" if c.column else "`") + f" ({c.part})"
        out.append((fc.get(c.file, ""), {"what": what, "file": c.file, "line": c.line, "why": c.why}))
    for m in report.repository_methods:
        kind = "interface" if m.flavour == "interface" else f"{m.flavour} implementation"
        out.append((fc.get(m.file, ""), {"what": f"`{m.symbol}` ({kind})", "file": m.file, "line": m.line,
                                         "why": m.why}))
    for e in report.endpoints:
        out.append((fc.get(e.file, ""), {"what": f"`{e.method} {e.raw_path}` ({e.effect})", "file": e.file,
                                         "line": e.line, "why": e.why + (f" — via {', '.join(e.via)}" if e.via else "")}))
    for c in report.client_methods:
        out.append((fc.get(c.file, ""), {"what": f"client `{c.name}`", "file": c.file, "line": c.line, "why": c.why}))
    for c in report.consumers:
        out.append((c.component or fc.get(c.file, ""),
                    {"what": f"`{c.symbol or '(module)'}` → `{c.method}`", "file": c.file, "line": c.line,
                     "why": c.why}))
    return out


def _mermaid(report: ImpactReport) -> tuple[list[dict], list[dict]]:
    ids: dict[str, str] = {}
    nodes = []
    for i, c in enumerate(report.components):
        ids[c.name] = f"c{i}"
        label = c.name + ("<br/>" + " ".join(c.owners) if c.owners else "")
        nodes.append({"id": f"c{i}", "label": label.replace('"', "#quot;")})
    edges = []
    for a, b, lbl in report.edges:
        if a in ids and b in ids:
            edges.append({"a": ids[a], "b": ids[b], "label": re.sub(r"[|\"]", "", lbl)})
    return nodes, edges


def render_markdown(report: ImpactReport, link: Link | None = None, title: str | None = None,
                    limit: int = MAX_MARKDOWN) -> str:
    """The impact report as Markdown (with the `<!-- dlcm:impact -->` marker), at most `limit` characters."""
    link = link or code_link
    tmpl = env().get_template("report.md.j2")
    rows = _rows(report)
    order = [c.name for c in report.components]
    by_name = {c.name: c for c in report.components}
    nodes, edges = _mermaid(report)
    errs = any(b.level == "error" for b in report.breaking)

    def sections(n: int) -> list[dict]:
        secs: dict[str, dict] = {}
        for name in order:
            c = by_name[name]
            secs[name] = {"name": name, "owners": c.owners, "why": c.why, "rows": []}
        shown = 0
        for comp, row in sorted(rows, key=lambda x: order.index(x[0]) if x[0] in order else len(order)):
            if shown >= n:
                break
            key = comp if comp in secs else "(no component)"
            if key not in secs:
                secs[key] = {"name": key, "owners": [], "why": "files outside every component", "rows": []}
            secs[key]["rows"].append(row)
            shown += 1
        return list(secs.values())

    ordered = sorted(rows, key=lambda x: order.index(x[0]) if x[0] in order else len(order))

    def tail_lines(n: int) -> list[str]:
        return [f"{comp or '(no component)'}: {r['what']} — {link(r['file'], r['line']) if r['file'] else ''}"
                for comp, r in ordered[n:]]

    state = {"plans": len(report.rollback.plans), "breaking": len(report.breaking), "missing": len(report.missing)}

    def render(n: int, tail: list[str], tail_more: int, notes: list[str]) -> str:
        p, b, m = state["plans"], state["breaking"], state["missing"]
        return tmpl.render(report=report, title=title or title_of(report), counts=counts_line(report),
                           nodes=nodes, edges=edges, icons=ICONS, sections=sections(n), link=link,
                           tail=tail, tail_more=tail_more, tail_count=len(tail) + tail_more,
                           rollback=report.rollback, plans=report.rollback.plans[:p],
                           plans_more=report.rollback.plans[p:], breaking=report.breaking[:b],
                           breaking_more=len(report.breaking) - b, missing=report.missing[:m],
                           missing_more=len(report.missing) - m, notes=notes, breaking_errors=errs)

    notes = list(report.notes)
    out = render(len(rows), [], 0, notes)
    if len(out) <= limit:
        return out
    notes = notes[:5] + ([f"… and {len(report.notes) - 5} more notes"] if len(report.notes) > 5 else [])
    # what gives way, in order: component tables (to a tail), rollback plans, breaking and missing lists
    for key in ("plans", "breaking", "missing"):
        if len(render(0, [], max(1, len(rows)), notes)) <= limit:
            break
        lo, hi = 0, state[key]
        while lo < hi:
            mid = (lo + hi + 1) // 2
            state[key] = mid
            if len(render(0, [], max(1, len(rows)), notes)) <= limit:
                lo = mid
            else:
                hi = mid - 1
        state[key] = lo
    # the largest number of table rows that leaves room for a one-line tail
    lo, hi = 0, len(rows)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if len(render(mid, [], max(1, len(rows) - mid), notes)) <= limit:
            lo = mid
        else:
            hi = mid - 1
    n = lo
    rest = tail_lines(n)
    base = len(render(n, [], len(rest), notes))
    budget = limit - base - 16
    tail: list[str] = []
    for line in rest:
        cost = len(line) + 3
        if cost > budget:
            break
        tail.append(line)
        budget -= cost
    out = render(n, tail, len(rest) - len(tail), notes)
    while len(out) > limit and tail:  # the "N more" digits may tip it over
        tail.pop()
        out = render(n, tail, len(rest) - len(tail), notes)
    if len(out) > limit:  # pathological (a huge mermaid graph): cut
        out = out[: limit - 80].rsplit("\n", 1)[0] + "\n\n… (report cut at 65,535 characters)\n"
    return out


def render_json(report: ImpactReport) -> str:
    return json.dumps(report.to_json_dict(), indent=2)


def render_text(report: ImpactReport) -> str:
    """Plain text for a terminal."""
    L: list[str] = [f"dlcm impact: {title_of(report)}", re.sub(r"\*\*", "", counts_line(report)), ""]

    def sec(name: str, items: list[str]) -> None:
        if items:
            L.append(name)
            L.extend("  " + i for i in items)
            L.append("")

    sec("Tables", [f"{t.table}{'' if t.exists else ' (new)'} — {t.why}" +
                   (f"; depends on it: {', '.join(t.db_objects)}" if t.db_objects else "") for t in report.tables])
    sec("Generated types", [f"{c.file}:{c.line}  {c.table}{'.' + c.column if c.column else ''} ({c.part})"
                            for c in report.columns])
    sec("Repository methods", [f"{m.file}:{m.line}  {m.symbol} [{m.flavour}, {m.effect}] — {m.why}"
                               for m in report.repository_methods])
    sec("Endpoints", [f"{e.file}:{e.line}  {e.method} {e.raw_path} [{e.effect}] — {e.why}" for e in report.endpoints])
    sec("Client methods", [f"{c.file}:{c.line}  {c.name} ({c.endpoint})" for c in report.client_methods])
    sec("Consumers", [f"{c.file}:{c.line}  {c.symbol or '(module)'} → {c.method} [{c.component or '-'}]"
                      for c in report.consumers])
    sec("Components", [f"{c.name} {' '.join(c.owners)} — {c.why}" for c in report.components])
    sec("Breaking", [f"{b.level:<7} {b.id} {b.object}: {b.message}" for b in report.breaking])
    sec("Missing", [f"{m.kind} {m.object}: {m.message}" for m in report.missing])
    for p in report.rollback.plans:
        L.append(f"Rollback: {p.change} — {p.strategy}, data loss {p.data_loss} ({p.data_loss_why})")
        L.extend(f"  {i}. {s}" for i, s in enumerate(p.steps, 1))
        L.append("  down-migration" + (f" {p.down_migration.path}" if p.down_migration.exists else " (to write)") + ":")
        L.extend("    " + s for s in p.down_migration.sql.splitlines())
        L.append("")
    if report.rollback.test:
        L.append(f"Test: {report.rollback.test}")
    if report.notes:
        L.append("")
        sec("Notes", report.notes)
    return "\n".join(L).rstrip() + "\n"
