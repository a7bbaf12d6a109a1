"""Output formats of a check: text, json, sarif, github, markdown.

One Markdown renderer feeds the check-run summary, the sticky PR comment and
the Action's job summary, always within GitHub's 65,535-character limit.
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Callable

import jinja2

from .engine import CheckResult
from .findings import Finding
from .rules import get_rule

MAX_MARKDOWN = 65_535
ICONS = {"error": "❌", "warning": "⚠️", "info": "ℹ️"}


def _env() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.PackageLoader("templates", "reports"), autoescape=False,
                             keep_trailing_newline=True, trim_blocks=False, lstrip_blocks=False)
    env.filters["md_cell"] = lambda s: str(s).replace("|", "\\|").replace("\n", "<br>")
    return env


_ENV = None


def env() -> jinja2.Environment:
    global _ENV
    if _ENV is None:
        _ENV = _env()
    return _ENV


def counts_line(result: CheckResult) -> str:
    s = result.summary
    parts = [f"{s.errors} error{'s' if s.errors != 1 else ''}", f"{s.warnings} warning{'s' if s.warnings != 1 else ''}"]
    if s.infos:
        parts.append(f"{s.infos} info")
    return ", ".join(parts)


def title_for(result: CheckResult) -> str:
    s = result.summary
    if s.passed and not result.findings:
        return "complete"
    return ("passed with " if s.passed else "") + counts_line(result)


def render_markdown(result: CheckResult, link: Callable[[Finding], str] | None = None, title: str | None = None,
                    limit: int = MAX_MARKDOWN) -> str:
    """Markdown report; findings past the size limit become an "N more" tail."""
    link = link or (lambda f: f"`{f.file}:{f.line}`")
    tmpl = env().get_template("check.md.j2")
    findings = result.findings
    rules_help = []
    seen = set()
    for f in findings:
        r = get_rule(f.rule)
        if r and r.id not in seen:
            seen.add(r.id)
            rules_help.append(r)

    def render(n: int) -> str:
        return tmpl.render(summary=result.summary, findings=findings[:n], more=len(findings) - n, icons=ICONS,
                           link=link, title=title or title_for(result), counts_line=counts_line(result),
                           rules_help=rules_help if n == len(findings) else rules_help[:20])

    out = render(len(findings))
    if len(out) <= limit:
        return out
    lo, hi = 0, len(findings)  # the largest n that fits
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if len(render(mid)) <= limit:
            lo = mid
        else:
            hi = mid - 1
    return render(lo)


def render_json(result: CheckResult) -> str:
    return json.dumps({
        "findings": [
            {"rule": f.rule, "severity": f.severity, "message": f.message, "file": f.file, "line": f.line,
             "component": f.component, **({"end_line": f.end_line} if f.end_line else {}),
             **({"title": f.title} if f.title else {})}
            for f in result.findings],
        "summary": result.summary.model_dump(),
    }, indent=2)


SARIF_LEVEL = {"error": "error", "warning": "warning", "info": "note"}


def render_sarif(result: CheckResult, version: str = "0.1.0") -> str:
    rule_ids = sorted({f.rule for f in result.findings})
    rules = []
    for rid in rule_ids:
        r = get_rule(rid)
        entry = {"id": rid}
        if r:
            entry.update({"name": r.name, "shortDescription": {"text": r.title},
                          "fullDescription": {"text": r.why}, "help": {"text": r.fix},
                          "defaultConfiguration": {"level": SARIF_LEVEL[r.severity]}})
        else:
            entry.update({"shortDescription": {"text": rid}})
        rules.append(entry)
    index = {rid: i for i, rid in enumerate(rule_ids)}
    results = []
    for f in result.findings:
        region = {"startLine": f.line}
        if f.end_line and f.end_line >= f.line:
            region["endLine"] = f.end_line
        results.append({
            "ruleId": f.rule, "ruleIndex": index[f.rule], "level": SARIF_LEVEL[f.severity],
            "message": {"text": f.message},
            "locations": [{"physicalLocation": {"artifactLocation": {"uri": f.file, "uriBaseId": "%SRCROOT%"},
                                                "region": region}}],
            "partialFingerprints": {"dlcm/v1": "|".join(f.identity())},
            **({"properties": {"component": f.component}} if f.component else {}),
        })
    doc = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "dlcm", "version": version, "informationUri": "https://github.com/dlcm/dlcm",
                                "rules": rules}},
            "originalUriBaseIds": {"%SRCROOT%": {"uri": "file:///"}},
            "results": results,
        }],
    }
    return json.dumps(doc, indent=2)


def _escape_data(s: str) -> str:
    return s.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_prop(s: str) -> str:
    return _escape_data(s).replace(":", "%3A").replace(",", "%2C")


def render_github_annotations(result: CheckResult) -> str:
    """Workflow commands: one `::error file=..,line=..::msg` line per finding."""
    cmd = {"error": "error", "warning": "warning", "info": "notice"}
    lines = []
    for f in result.findings:
        props = f"file={_escape_prop(f.file)},line={f.line}"
        if f.end_line:
            props += f",endLine={f.end_line}"
        props += f",title={_escape_prop(f.rule + (' ' + f.title if f.title else ''))}"
        lines.append(f"::{cmd[f.severity]} {props}::{_escape_data(f.message)}")
    return "\n".join(lines)


def render_text(result: CheckResult, console=None) -> None:
    """Human output grouped by file (colour on a TTY, plain otherwise)."""
    from rich.console import Console
    from rich.markup import escape

    c = console or Console(highlight=False)
    style = {"error": "bold red", "warning": "yellow", "info": "cyan"}
    by_file: dict[str, list[Finding]] = defaultdict(list)
    for f in result.findings:
        by_file[f.file].append(f)
    for file, fs in by_file.items():
        comp = fs[0].component
        c.print(f"[bold]{escape(file)}[/bold]" + (f" [dim]({escape(comp)})[/dim]" if comp else ""))
        for f in fs:
            c.print(f"  {f.line:>4}  [{style[f.severity]}]{f.severity:<7}[/{style[f.severity]}] "
                    f"[bold]{escape(f.rule)}[/bold] {escape(f.message)}")
        c.print()
    s = result.summary
    verdict = "[bold green]passed[/bold green]" if s.passed else "[bold red]failed[/bold red]"
    extra = []
    if s.preexisting:
        extra.append(f"{s.preexisting} already on base")
    if s.suppressed:
        extra.append(f"{s.suppressed} suppressed")
    c.print(f"dlcm check {verdict}: {counts_line(result)}" + (f" ({', '.join(extra)})" if extra else ""))
