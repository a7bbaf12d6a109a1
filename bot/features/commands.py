"""Slash commands in issue and pull request comments: ``/dlcm <command> [args…]``.

One command per line; a line is a command when it starts with ``/dlcm`` (outside fenced or
indented code). Every command is acknowledged with a reaction on the comment (``+1``, or
``confused`` for one dlcm does not know) and answered in one reply per comment, edited in
place if the delivery is retried. Commands that change state need write access to the
repository (the collaborator permission API, not ``author_association``); others get a
polite refusal.

Built in: ``help`` (anywhere), ``status`` and ``check`` (pull requests). Other feature
modules add theirs to the registry::

    from bot.features.commands import CommandCall, command

    @command("approve", summary="Approve a breaking change request", changes_state=True,
             where="issue")
    async def approve(call: CommandCall) -> str:
        ...
        return f"Approved by @{call.sender}."

``where`` is ``"issue"``, ``"pull_request"`` or ``"any"``; one name may have a handler per
place (``status`` on a change request issue and on a pull request). The parser,
:func:`parse_commands`, is a pure function.
"""

from __future__ import annotations

import logging
import shlex
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from gidgethub.routing import Router

from bot import render
from bot.features import checks as checks_feature
from bot.render import CheckLine

log = logging.getLogger("dlcm.features.commands")

router = Router()

PREFIX = "/dlcm"
MAX_COMMANDS = 10  # per comment; the rest are ignored (and said so)
Where = Literal["any", "issue", "pull_request"]


# -- parsing (pure) -----------------------------------------------------------------------


@dataclass(frozen=True)
class Command:
    """One ``/dlcm`` line of a comment: ``name`` (lower case), its arguments, its line."""

    name: str
    args: tuple[str, ...] = ()
    line: int = 1
    text: str = ""


def _words(text: str) -> list[str]:
    try:
        return shlex.split(text)
    except ValueError:  # an unbalanced quote: plain words rather than nothing
        return text.split()


def parse_commands(body: str | None) -> list[Command]:
    """The commands of a comment body, in order. ``/dlcm`` alone means ``help``.

    Lines inside fenced (```` ``` ````/``~~~``) or indented (4 spaces) code blocks, quoted
    lines (``> /dlcm …``) and words that merely start with ``/dlcm`` (``/dlcmx``) are not
    commands.
    """
    commands: list[Command] = []
    fence: str | None = None
    for number, raw in enumerate((body or "").splitlines(), start=1):
        expanded = raw.expandtabs(4)
        stripped = expanded.strip()
        indent = len(expanded) - len(expanded.lstrip(" "))
        if stripped.startswith(("```", "~~~")) and indent < 4:
            marker = stripped[:3]
            if fence is None:
                fence = marker
            elif marker == fence:
                fence = None
            continue
        if fence is not None or indent >= 4 or not stripped.startswith(PREFIX):
            continue
        rest = stripped[len(PREFIX):]
        if rest and not rest[0].isspace():
            continue
        words = _words(rest)
        name = words[0].lower() if words else "help"
        commands.append(Command(name, tuple(words[1:]), number, stripped))
    return commands


# -- the registry -------------------------------------------------------------------------


@dataclass
class CommandCall:
    """Everything a command handler needs; ``reply`` text is what the handler returns."""

    command: Command
    event: Any
    gh: Any
    ctx: Any
    repo: str
    number: int
    is_pull: bool
    sender: str
    comment_id: int
    html_url: str
    _pull: dict[str, Any] | None = field(default=None, repr=False)

    @property
    def args(self) -> tuple[str, ...]:
        return self.command.args

    @property
    def delivery_id(self) -> str:
        return self.event.delivery_id

    async def pull(self) -> dict[str, Any]:
        """The pull request this comment is on (one API call, then cached)."""
        if self._pull is None:
            self._pull = await self.gh.getitem(f"/repos/{self.repo}/pulls/{self.number}")
        return self._pull


Handler = Callable[[CommandCall], Awaitable[str | None]]


@dataclass(frozen=True)
class Registration:
    name: str
    handler: Handler
    summary: str
    usage: str
    changes_state: bool
    where: Where


#: name → place → registration. Add to it with :func:`command` / :func:`register`.
COMMANDS: dict[str, dict[str, Registration]] = {}


def register(name: str, handler: Handler, *, summary: str, usage: str | None = None,
             changes_state: bool = False, where: Where = "any") -> Registration:
    """Add a command; a second handler for the same name and place is an error."""
    name = name.lower()
    if where not in ("any", "issue", "pull_request"):
        raise ValueError(f"where must be 'any', 'issue' or 'pull_request', not {where!r}")
    slot = COMMANDS.setdefault(name, {})
    old = slot.get(where)
    same = old is not None and (old.handler.__module__, old.handler.__qualname__) == (
        handler.__module__, handler.__qualname__)
    if old is not None and not same:
        raise ValueError(f"/dlcm {name} is already registered for {where} by {old.handler.__module__}")
    reg = Registration(name, handler, summary, usage or name, changes_state, where)
    slot[where] = reg
    return reg


def command(name: str, *, summary: str, usage: str | None = None, changes_state: bool = False,
            where: Where = "any") -> Callable[[Handler], Handler]:
    """Decorator form of :func:`register`."""

    def decorate(handler: Handler) -> Handler:
        register(name, handler, summary=summary, usage=usage, changes_state=changes_state, where=where)
        return handler

    return decorate


def resolve(name: str, *, is_pull: bool) -> Registration | None:
    """The handler of ``name`` for a pull request or an issue comment, if any."""
    slot = COMMANDS.get(name.lower()) or {}
    return slot.get("pull_request" if is_pull else "issue") or slot.get("any")


def available(*, is_pull: bool) -> list[Registration]:
    """Commands usable on a pull request (or an issue), in registration order."""
    out = []
    for name in COMMANDS:
        reg = resolve(name, is_pull=is_pull)
        if reg is not None:
            out.append(reg)
    return out


# -- the dispatcher -----------------------------------------------------------------------


@router.register("issue_comment", action="created")
async def comment_created(event: Any, gh: Any, ctx: Any) -> None:
    comment, issue = event.data["comment"], event.data["issue"]
    commands = parse_commands(comment.get("body"))
    if not commands:
        return
    repo = ctx.repo
    is_pull = bool(issue.get("pull_request"))
    sender = (comment.get("user") or {}).get("login") or event.data["sender"]["login"]
    resolved = [(cmd, resolve(cmd.name, is_pull=is_pull)) for cmd in commands[:MAX_COMMANDS]]

    # Acknowledge first: the reactions show up before a long command finishes.
    contents = []
    if any(reg is not None for _, reg in resolved):
        contents.append("+1")
    if any(reg is None for _, reg in resolved):
        contents.append("confused")
    for content in contents:
        await gh.add_reaction(repo, comment["id"], content)

    html_url = checks_feature.html_url_of(event.data, repo)
    answers: list[tuple[Command, str]] = []
    may_write: bool | None = None
    for cmd, reg in resolved:
        if reg is None:
            if cmd.name in COMMANDS:
                place = "issues" if is_pull else "pull requests"
                answers.append((cmd, f"`/dlcm {cmd.name}` works on {place} only.\n"))
            else:
                answers.append((cmd, render.unknown_command(cmd.name, [r.name for r in available(is_pull=is_pull)])))
            continue
        if reg.changes_state:
            if may_write is None:
                may_write = await gh.has_write(repo, sender)
            if not may_write:
                answers.append((cmd, render.refusal(sender, cmd.name, repo)))
                continue
        call = CommandCall(cmd, event, gh, ctx, repo, issue["number"], is_pull, sender, comment["id"], html_url)
        try:
            reply = await reg.handler(call)
        except checks_feature.TRANSIENT:
            raise  # GitHub or the network: the job is retried (every step is idempotent)
        except Exception as exc:
            log.exception("/dlcm %s on %s#%s failed", cmd.name, repo, issue["number"])
            reply = f"`/dlcm {cmd.name}` failed: {type(exc).__name__}: {exc}. This is a dlcm bug; please report it.\n"
        answers.append((cmd, reply or "Done.\n"))
    if len(commands) > MAX_COMMANDS:
        answers.append((Command("…"), f"Only the first {MAX_COMMANDS} commands of a comment are run.\n"))
    await gh.upsert_comment(repo, issue["number"], f"reply-{comment['id']}", reply_body(sender, answers))


def reply_body(sender: str, answers: list[tuple[Command, str]]) -> str:
    """One reply for every command of a comment: each answer under its quoted command."""
    parts = [f"@{sender}"]
    for cmd, answer in answers:
        quote = f"> {cmd.text}\n\n" if cmd.text else ""
        parts.append(quote + answer.strip())
    return "\n\n".join(parts) + "\n"


# -- built-in commands --------------------------------------------------------------------


@command("help", summary="List the dlcm commands you can use here.")
async def help_command(call: CommandCall) -> str:
    return render.help_reply(available(is_pull=call.is_pull), is_pull=call.is_pull)


@command("status", summary="Summarise the latest dlcm checks of this pull request's head.",
         where="pull_request")
async def status_command(call: CommandCall) -> str:
    pr = await call.pull()
    head = pr["head"]["sha"]
    record = await checks_feature.latest(call.ctx, call.repo, head)
    if record is None:
        record = await checks_feature.latest_of_pull(call.ctx, call.repo, call.number)
    if record is None:
        return render.status_reply([], html_url=call.html_url, checked_sha=head)
    lines = [CheckLine.from_dict(c) for c in record["checks"]]
    return render.status_reply(lines, html_url=call.html_url, checked_sha=record["head_sha"],
                               base_sha=record.get("base_sha"), head_sha=head)


@command("check", summary="Run the dlcm checks again on this pull request's head.",
         changes_state=True, where="pull_request")
async def check_command(call: CommandCall) -> str:
    pr = await call.pull()
    if pr.get("state") != "open":
        return "This pull request is closed; there is nothing to check.\n"
    target = checks_feature.Target(call.repo, call.html_url, pr["head"]["sha"], pr["base"]["sha"], call.number,
                                   rerun=call.delivery_id)
    outcome = await checks_feature.check(call.gh, call.ctx, target)
    sha = target.head_sha
    head = f"[`{sha[:7]}`]({render.commit_url(call.html_url, sha)})"
    return f"Checked {head} again:\n\n" + render.check_lines_text(outcome.checks)


__all__ = ["COMMANDS", "Command", "CommandCall", "Registration", "available", "command", "parse_commands",
           "register", "resolve", "router"]
