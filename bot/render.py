"""What the App writes on GitHub, as pure functions: check-run outputs, comments, replies.

Check-run summaries and the sticky comment reuse ``checks.report.render_markdown`` (the same
renderer as the Action's job summary); the App's own texts are Jinja templates in
``templates/app/``. Nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import jinja2

from checks.config import ConfigError
from checks.engine import CheckResult
from checks.findings import Finding
from checks.report import MAX_MARKDOWN, counts_line, render_markdown, title_for
from checks.rules import get_rule

from .repo_reader import file_url

COMPLETENESS = "dlcm/completeness"
SAFETY = "dlcm/migration-safety"
CHECK_NAMES = (COMPLETENESS, SAFETY)
STICKY_MARKER = "completeness"  # → <!-- dlcm:completeness -->

ANNOTATION_LEVEL = {"error": "failure", "warning": "warning", "info": "notice"}
ICONS = {"success": "✅", "failure": "❌", "neutral": "⚪", "cancelled": "⚪", "skipped": "⚪"}
MAX_TITLE = 255
MAX_ANNOTATION_MESSAGE = 64 * 1024 - 1
COMMENT_ROOM = 1_500  # what the sticky comment adds around the report


_ENV: jinja2.Environment | None = None


def env() -> jinja2.Environment:
    global _ENV
    if _ENV is None:
        _ENV = jinja2.Environment(loader=jinja2.PackageLoader("templates", "app"), autoescape=False,
                                  keep_trailing_newline=False, undefined=jinja2.StrictUndefined)
    return _ENV


def _render(template: str, **values: Any) -> str:
    return env().get_template(template).render(**values).strip() + "\n"


def short(sha: str) -> str:
    return sha[:7]


def commit_url(html_url: str, sha: str) -> str:
    return f"{html_url.rstrip('/')}/commit/{sha}"


# -- check runs ---------------------------------------------------------------------------


def conclusion(result: CheckResult) -> str:
    """``failure`` when an error remains (blocking: never neutral), else ``success``."""
    return "success" if result.summary.passed else "failure"


def check_title(name: str, result: CheckResult) -> str:
    if name == SAFETY and result.summary.passed and not result.findings:
        return "no unsafe migration statements"
    return title_for(result)[:MAX_TITLE]


def link_to_head(html_url: str, head_sha: str) -> Callable[[Finding], str]:
    """Markdown link of a finding to its file and line at the head commit."""
    return lambda f: f"[`{f.file}:{f.line}`]({file_url(html_url, head_sha, f.file, f.line)})"


def annotation(f: Finding) -> dict[str, Any]:
    rule = get_rule(f.rule)
    title = f"{f.rule}: {f.title or (rule.title if rule else f.rule)}"
    end = f.end_line if f.end_line and f.end_line >= f.line else f.line
    return {
        "path": f.file,
        "start_line": f.line,
        "end_line": end,
        "annotation_level": ANNOTATION_LEVEL[f.severity],
        "title": title[:MAX_TITLE],
        "message": f.message[:MAX_ANNOTATION_MESSAGE],
    }


def check_output(name: str, result: CheckResult, *, html_url: str, head_sha: str) -> dict[str, Any]:
    """``output`` of a completed check run: title with counts, summary, every annotation."""
    title = check_title(name, result)
    summary = render_markdown(result, link=link_to_head(html_url, head_sha), title=title)
    return {"title": title, "summary": summary, "annotations": [annotation(f) for f in result.findings]}


def config_error_output(error: ConfigError) -> dict[str, Any]:
    where = f"{error.file}:{error.line}" if error.line else error.file
    title = f"invalid {where}" + (f" ({error.key})" if error.key else "")
    ann = {
        "path": error.file,
        "start_line": error.line or 1,
        "end_line": error.line or 1,
        "annotation_level": "failure",
        "title": f"dlcm configuration: {error.key or 'invalid file'}"[:MAX_TITLE],
        "message": error.message[:MAX_ANNOTATION_MESSAGE],
    }
    return {"title": title[:MAX_TITLE], "summary": _render("config_error.md.j2", error=error),
            "annotations": [ann]}


def internal_error_output(message: str, sha: str) -> dict[str, Any]:
    """A failing output when dlcm could not check the commit (its bug, or GitHub failing)."""
    return {"title": "dlcm could not check this commit",
            "summary": _render("internal_error.md.j2", message=message[:2000], sha=sha)}


# -- the sticky comment -------------------------------------------------------------------


@dataclass
class CheckLine:
    """One check as a line of a comment or reply."""

    name: str
    conclusion: str | None
    title: str
    url: str | None = None
    findings: int = 0
    status: str = "completed"

    @property
    def icon(self) -> str:
        return ICONS.get(self.conclusion or "", "⏳")

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "conclusion": self.conclusion, "title": self.title, "url": self.url,
                "findings": self.findings, "status": self.status}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CheckLine:
        return cls(**{k: d.get(k) for k in ("name", "conclusion", "title", "url", "findings", "status")
                      if k in d})


def sticky_comment(result: CheckResult, *, html_url: str, head_sha: str, details_url: str | None = None,
                   safety: CheckLine | None = None) -> str:
    """The sticky comment of a failing pull request (the marker is added by ``upsert_comment``)."""
    title = check_title(COMPLETENESS, result)
    report = render_markdown(result, link=link_to_head(html_url, head_sha), title=title,
                             limit=MAX_MARKDOWN - COMMENT_ROOM)
    return _render("sticky.md.j2", report=report.strip(), safety=safety, short_sha=short(head_sha),
                   commit_url=commit_url(html_url, head_sha), details_url=details_url)


def all_clear_comment(*, html_url: str, head_sha: str, details_url: str | None = None,
                      safety: CheckLine | None = None) -> str:
    return _render("all_clear.md.j2", short_sha=short(head_sha), commit_url=commit_url(html_url, head_sha),
                   details_url=details_url, safety=safety)


def blocked_comment(reasons: list[str], *, html_url: str, head_sha: str, details_url: str | None = None) -> str:
    """The sticky comment when only other features' blockers fail the check (no finding)."""
    lines = "".join(f"- {r}\n" for r in reasons)
    link = f" · [check run]({details_url})" if details_url else ""
    return (f"### ❌ dlcm: blocked\n\nThe data-layer change is complete, but the check is held:\n\n{lines}\n"
            f"<sub>dlcm checked [`{short(head_sha)}`]({commit_url(html_url, head_sha)}){link} · "
            "`/dlcm help` for commands</sub>\n")


# -- command replies ----------------------------------------------------------------------


def help_reply(commands: Iterable[Any], *, is_pull: bool) -> str:
    return _render("help.md.j2", commands=list(commands), is_pull=is_pull)


def status_reply(checks: list[CheckLine], *, html_url: str, checked_sha: str, base_sha: str | None = None,
                 head_sha: str | None = None) -> str:
    head_sha = head_sha or checked_sha
    return _render("status.md.j2", checks=checks, short_sha=short(checked_sha),
                   commit_url=commit_url(html_url, checked_sha), base_sha=base_sha,
                   stale=head_sha != checked_sha, head_sha=head_sha, head_url=commit_url(html_url, head_sha))


def refusal(user: str, command: str, repo: str) -> str:
    return (f"Sorry @{user}, `/dlcm {command}` changes state, so it needs write access to `{repo}`. "
            "Ask someone with write access to run it; `/dlcm status` and `/dlcm help` work for everyone.\n")


def unknown_command(command: str, known: Iterable[str]) -> str:
    names = ", ".join(f"`{n}`" for n in sorted(set(known)))
    return f"I don't know `/dlcm {command}`. Known commands: {names} (`/dlcm help` explains them).\n"


def check_lines_text(lines: list[CheckLine]) -> str:
    return "\n".join(f"- **{c.name}**: {c.icon} {c.conclusion or c.status} — {c.title}"
                     + (f" · [details]({c.url})" if c.url else "") for c in lines) + "\n"


__all__ = [
    "CHECK_NAMES", "COMPLETENESS", "SAFETY", "STICKY_MARKER", "CheckLine", "all_clear_comment", "annotation",
    "check_lines_text", "check_output", "check_title", "commit_url", "conclusion", "config_error_output",
    "counts_line", "help_reply", "internal_error_output", "link_to_head", "refusal", "status_reply",
    "sticky_comment", "unknown_command",
]
