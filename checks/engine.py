"""Run the rules over a model: severities, components, suppressions, base filtering.

Pure apart from what individual rules do (Squawk runs a subprocess): models in,
findings out. The CLI, the Action and the App all call `run_checks`.
"""

from __future__ import annotations

import traceback
from collections import Counter

from pydantic import BaseModel, Field

from .config import Config
from .findings import SEVERITY_ORDER, CheckContext, Finding, Rule
from .model import RepoModel, Suppression
from .owners import OwnerIndex
from .rules import all_rules
from .source import Source, read_text


class Summary(BaseModel):
    errors: int = 0
    warnings: int = 0
    infos: int = 0
    suppressed: int = 0
    preexisting: int = 0  # present at base, not reported again
    rules_run: int = 0
    by_rule: dict[str, int] = Field(default_factory=dict)
    base: str | None = None
    passed: bool = True


class CheckResult(BaseModel):
    findings: list[Finding]
    summary: Summary
    suppressed: list[Finding] = Field(default_factory=list)


def select_rules(config: Config, only: list[str] | None = None, categories: list[str] | None = None) -> list[Rule]:
    out = []
    for r in all_rules():
        setting = config.rules.get(r.id)
        if setting is not None and not setting.enabled:
            continue
        if only and r.id not in only and r.name not in only:
            continue
        if categories and r.category not in categories:
            continue
        out.append(r)
    return out


def _run(rules: list[Rule], ctx: CheckContext) -> list[Finding]:
    out: list[Finding] = []
    for rule in rules:
        try:
            out.extend(rule.check(ctx))
        except Exception as e:  # a rule bug must not hide every other finding
            tb = traceback.extract_tb(e.__traceback__)[-1]
            out.append(Finding(rule="DLCM000", severity="warning", file=ctx.head.config_file or ".github/dlcm.yml",
                               message=f"rule {rule.id} ({rule.name}) failed and was skipped: {type(e).__name__}: {e} "
                                       f"[{tb.filename.rsplit('/', 1)[-1]}:{tb.lineno}]; please report this",
                               title="internal error", key=f"internal:{rule.id}"))
    return out


def _next_code_line(lines: list[str], after: int) -> int:
    for i in range(after, len(lines)):  # `after` is 1-based, so lines[after] is the next line
        s = lines[i].strip()
        if s and not s.startswith(("--", "//", "/*", "*")):
            return i + 1
    return after + 1


def _suppression_index(sups: list[Suppression], source: Source | None) -> dict[str, list[tuple[int, int, Suppression]]]:
    idx: dict[str, list[tuple[int, int, Suppression]]] = {}
    texts: dict[str, list[str]] = {}
    for s in sups:
        end = s.line + 1
        if source is not None:
            if s.file not in texts:
                try:
                    texts[s.file] = read_text(source, s.file).splitlines()
                except Exception:
                    texts[s.file] = []
            if texts[s.file]:
                end = _next_code_line(texts[s.file], s.line)
        idx.setdefault(s.file, []).append((s.line, end, s))
    return idx


def _suppressed_by(f: Finding, idx) -> Suppression | None:
    for start, end, s in idx.get(f.file, ()):
        if start <= f.line <= max(end, f.end_line or 0) and (f.rule in s.rules or "all" in s.rules) and s.reason.strip():
            if f.end_line and f.line < start:
                continue
            return s
    return None


def run_checks(head: RepoModel, config: Config, base: RepoModel | None = None, source: Source | None = None,
               only: list[str] | None = None, report_all: bool = False, categories: list[str] | None = None,
               options: dict | None = None) -> CheckResult:
    rules = select_rules(config, only, categories)
    owners = OwnerIndex(head)
    ctx = CheckContext(head=head, config=config, owners=owners, base=base, source=source, options=options or {})
    findings = _run(rules, ctx)

    preexisting = 0
    if base is not None and not report_all:
        repo_rules = [r for r in rules if r.scope == "repo"]
        base_ctx = CheckContext(head=base, config=config, owners=OwnerIndex(base), base=None, source=None,
                                options={**(options or {}), "is_base": True})
        seen = {f.identity() for f in _run(repo_rules, base_ctx)}
        repo_ids = {r.id for r in repo_rules}
        kept = []
        for f in findings:
            if f.rule in repo_ids and f.identity() in seen:
                preexisting += 1
            else:
                kept.append(f)
        findings = kept

    for f in findings:
        setting = config.rules.get(f.rule)
        if setting is not None and setting.severity:
            f.severity = setting.severity
        if f.component is None:
            f.component = owners.component_name(f.file)

    idx = _suppression_index(head.suppressions, source)
    reported, suppressed = [], []
    for f in findings:
        (suppressed if _suppressed_by(f, idx) else reported).append(f)

    reported = _dedupe(reported)
    reported.sort(key=lambda f: (f.file, f.line, SEVERITY_ORDER[f.severity], f.rule))
    counts = Counter(f.severity for f in reported)
    summary = Summary(errors=counts["error"], warnings=counts["warning"], infos=counts["info"],
                      suppressed=len(suppressed), preexisting=preexisting, rules_run=len(rules),
                      by_rule=dict(sorted(Counter(f.rule for f in reported).items())),
                      base=base.ref if base is not None else None, passed=counts["error"] == 0)
    return CheckResult(findings=reported, summary=summary, suppressed=suppressed)


def _dedupe(findings: list[Finding]) -> list[Finding]:
    seen, out = set(), []
    for f in findings:
        k = (f.rule, f.file, f.line, f.message)
        if k not in seen:
            seen.add(k)
            out.append(f)
    return out
