"""The status comment of a change request (one per issue, found by its hidden marker, edited in place)."""

from __future__ import annotations

import re

import jinja2

from .form import FIELDS
from .plan import Evidence
from .workflow import STATUS_MARKER, CRState, next_step

__all__ = ["render_status", "evidence_link", "STATUS_MARKER"]

STATE_ICONS = {
    "proposed": "📝", "needs-info": "❓", "approved": "👍", "in-progress": "🚧", "validated": "✅",
    "deployed": "🚀", "monitoring": "👀", "done": "🏁", "rolled-back": "↩️", "cancelled": "🚫",
}
MAX_COMMENT = 65_535

_ENV: jinja2.Environment | None = None


def evidence_link(ev: Evidence, repo_url: str | None = None) -> str:
    """Markdown for one piece of evidence: a link when dlcm can make one."""
    ref = ev.ref
    label = ev.detail or ref
    if ref.startswith(("http://", "https://")):
        return f"[{_md(label if ev.kind == 'link' and ev.detail and not ev.detail.startswith('marked') else ref)}]({ref})"
    if ev.kind == "file":
        where = f"{ref}:{ev.line}" if ev.line and ev.line > 1 else ref
        if repo_url:
            anchor = f"#L{ev.line}" if ev.line and ev.line > 1 else ""
            return f"[`{where}`]({repo_url}/blob/{ev.sha or 'HEAD'}/{ref}{anchor})"
        return f"`{where}`"
    if ev.kind == "commit" and repo_url:
        return f"[`{ref[:7]}`]({repo_url}/commit/{ref})"
    if ev.kind == "approval":
        return f"@{ev.actor or ref}"
    return f"{_md(label)}" if ev.kind == "check" else f"`{ref}`"


def _md(s: str) -> str:
    return s.replace("[", "\\[").replace("]", "\\]")


def _env() -> jinja2.Environment:
    global _ENV
    if _ENV is None:
        env = jinja2.Environment(loader=jinja2.PackageLoader("templates", "changes"), autoescape=False,
                                 keep_trailing_newline=True, undefined=jinja2.StrictUndefined)
        env.filters["oneline"] = lambda s: " ".join(str(s).split())
        _ENV = env
    return _ENV


def render_status(state: CRState, repo_url: str | None = None, marker: bool = True) -> str:
    """The Markdown body of the status comment (with the hidden marker unless `marker=False`)."""
    if repo_url is None and state.repo:
        repo_url = f"https://github.com/{state.repo}"
    text = _env().get_template("status.md.j2").render(
        s=state, marker=STATUS_MARKER if marker else "", link=lambda ev: evidence_link(ev, repo_url), state_icon=STATE_ICONS.get(state.state, ""),
        errors=[p for p in state.problems if p.severity == "error"],
        warnings=[p for p in state.problems if p.severity != "error"],
        approvals=state.valid_approvals(), labels={f.id: f.label for f in FIELDS}, next=next_step(state))
    text = re.sub(r"\n{3,}", "\n\n", text)
    if len(text) > MAX_COMMENT:
        tail = "\n\n… (truncated: the full status is in the dlcm dashboard)\n"
        text = text[: MAX_COMMENT - len(tail)] + tail
    return text
