"""``/dlcm scaffold <add-field|new-table|api-endpoint> <args…>`` in issue and pull request comments.

On a pull request the generated files are committed onto the pull request's branch through
the git data API (blobs, one tree on top of the head's, one commit whose parent is the head,
a fast-forward ref update: never a force push). On a change-request issue the commit goes on
a new branch ``dlcm/DLCM-<n>-<slug>`` from the default branch and a draft pull request linked
to the issue (``DLCM-<n>``, ``#<issue>`` in its body) is opened. ``--dry-run`` answers with
the diff and commits nothing. Write access is required (the command registry checks it).

Retries are safe: the commit carries a ``Dlcm-Scaffold: <comment>-<line>`` trailer, and a
command whose commit is already there answers from it instead of scaffolding twice.

The arguments are those of the CLI (``dlcm scaffold … --help``); on a change request, a bare
``/dlcm scaffold`` takes the change type, table, columns and endpoint from the request.
"""

from __future__ import annotations

import logging
import re
from typing import Any
from urllib.parse import quote

import click
import gidgethub
from gidgethub.routing import Router

from bot.features import commands as commands_feature
from bot.repo_reader import READER, ConfigError, in_builder

log = logging.getLogger("dlcm.features.scaffold")

router = Router()  # no webhook of its own: the command is dispatched by bot.features.commands

TRAILER = "Dlcm-Scaffold"
MAX_DIFF = 60_000
USAGE = ("scaffold add-field <table> <column> <type> [--nullable] [--default EXPR] | "
         "scaffold new-table <table> \"<col> <type>, …\" [--no-owner] | "
         "scaffold api-endpoint <METHOD> <path> [--table T] [--repository-method NAME] [--dry-run]")


class Refusal(Exception):
    """Why the command cannot run as asked; the text is the reply."""


# --------------------------------------------------------------------------- arguments (pure)


def parse_args(words: tuple[str, ...] | list[str]) -> tuple[str, Any, bool]:
    """(kind, checks.scaffold args, dry_run) from the words after ``/dlcm scaffold``, parsed by
    the CLI's own option definitions; Refusal with the usage problem otherwise."""
    from checks.scaffold import AddField, ApiEndpoint, NewTable
    from dlcm import scaffold_cli

    words = list(words)
    if not words:
        raise Refusal(f"Which change? `/dlcm {USAGE}`")
    kind, rest = words[0].lower(), words[1:]
    cmd = scaffold_cli.scaffold.commands.get(kind)
    if cmd is None:
        raise Refusal(f"`{kind}` is not a change type dlcm scaffolds (add-field, new-table, api-endpoint).")
    try:
        ctx = cmd.make_context(f"/dlcm scaffold {kind}", rest, resilient_parsing=False)
    except click.ClickException as exc:
        raise Refusal(f"`/dlcm scaffold {kind}`: {exc.format_message()}") from None
    p = ctx.params
    if p.get("path") not in (None, "."):
        raise Refusal(f"`/dlcm scaffold {kind}`: unexpected extra argument `{p['path']}`.")
    if kind == "add-field":
        args = AddField(p["table"], p["column"], p["pg_type"], nullable=p["nullable"], default=p["default"])
    elif kind == "new-table":
        args = NewTable(p["table"], p["columns"], owner=not p["no_owner"])
    else:
        args = ApiEndpoint(p["method"], p["route"], table=p["table"], repository_method=p["repository_method"])
    return kind, args, bool(p.get("dry_run"))


def words_from_request(request: dict[str, Any]) -> list[str] | None:
    """The scaffold words a valid change request implies (its type, table, columns, endpoint)."""
    kind = request.get("change_type")
    tables = request.get("tables") or []
    columns = request.get("columns") or []
    endpoints = request.get("endpoints") or []
    table = tables[0]["name"] if tables else None
    if kind == "add-field" and columns:
        c = columns[0]
        t = table or (c.get("table") or "").split(".")[-1] or None
        if not t or not c.get("type"):
            return None
        words = ["add-field", t, c["name"], c["type"]]
        if c.get("nullable") is not False:  # not said: nullable (NOT NULL needs a default anyway)
            words.append("--nullable")
        if c.get("default") is not None:
            words += ["--default", c["default"]]
        return words
    if kind == "new-table" and table and columns:
        defs = []
        for c in columns:
            if not c.get("type") or c.get("name") in ("id", "created_at", "updated_at"):
                continue
            d = f"{c['name']} {c['type']}"
            if c.get("nullable") is False:
                d += " not null"
            if c.get("unique"):
                d += " unique"
            if c.get("default") is not None:
                d += f" default {c['default']}"
            if c.get("references"):
                ref = c["references"].split(".")
                d += f" references {'.'.join(ref[:2])}" + (f" ({ref[2]})" if len(ref) > 2 else "")
            defs.append(d)
        return ["new-table", table, ", ".join(defs)] if defs else None
    if kind == "api-endpoint" and endpoints:
        e = endpoints[0]
        words = ["api-endpoint", e["method"], e["path"]]
        if table:
            words += ["--table", table]
        return words
    return None


def slug(kind: str, args: Any) -> str:
    """`add-nickname-to-users`, `create-coupons`, `get-products-by-sku`: for branch names."""
    if kind == "add-field":
        s = f"add-{args.column}-to-{args.table.split('.')[-1]}"
    elif kind == "new-table":
        s = f"create-{args.table.split('.')[-1]}"
    else:
        s = args.method.lower() + "-" + "-".join(p for p in args.path.strip("/").split("/") if not p.startswith((":", "{")))
    s = re.sub(r"[^a-z0-9]+", "-", s.lower()).strip("-")
    return s[:48].rstrip("-") or kind


# --------------------------------------------------------------------------- git data API


async def read_plan(gh: Any, repo: str, sha: str, kind: str, args: Any):
    """Plan the change against commit ``sha`` (its model and files read through the API)."""
    from checks.scaffold import ScaffoldError, plan

    try:
        snap = await READER.snapshot(gh, repo, sha)
    except ConfigError as exc:
        raise Refusal(f"`.github/dlcm.yml` is broken at `{sha[:7]}`: {exc}") from None

    def read(path: str) -> str | None:
        try:
            return snap.source.read_bytes(path).decode("utf-8", errors="replace").lstrip("\ufeff")
        except KeyError:
            return None

    try:
        return await in_builder(plan, kind, args, snap.model, read, snap.config)
    except ScaffoldError as exc:
        raise Refusal(f"`/dlcm scaffold {kind}`: {exc}") from None


async def commit_changes(gh: Any, repo: str, parent: str, changes: list, message: str) -> str:
    """A commit of ``changes`` on top of ``parent`` (blobs, a tree on the parent's tree, the commit)."""
    base = await gh.getitem(f"/repos/{repo}/git/commits/{parent}")
    entries = []
    for ch in changes:
        blob = await gh.post(f"/repos/{repo}/git/blobs", data={"content": ch.new, "encoding": "utf-8"})
        entries.append({"path": ch.path, "mode": "100644", "type": "blob", "sha": blob["sha"]})
    tree = await gh.post(f"/repos/{repo}/git/trees", data={"base_tree": base["tree"]["sha"], "tree": entries})
    commit = await gh.post(f"/repos/{repo}/git/commits",
                           data={"message": message, "tree": tree["sha"], "parents": [parent]})
    return commit["sha"]


def commit_message(kind: str, summary: str, call: Any) -> str:
    return (f"dlcm scaffold {kind}: {summary}\n\nRequested by @{call.sender} in {call.html_url}/"
            f"{'pull' if call.is_pull else 'issues'}/{call.number}#issuecomment-{call.comment_id}\n\n"
            f"{TRAILER}: {call.comment_id}-{call.command.line}")


def trailer_of(call: Any) -> str:
    return f"{TRAILER}: {call.comment_id}-{call.command.line}"


async def _already(gh: Any, repo: str, sha: str, call: Any) -> dict[str, Any] | None:
    """The commit ``sha`` when it is this command's own scaffold (a retried delivery)."""
    c = await gh.getitem(f"/repos/{repo}/commits/{sha}")
    if trailer_of(call) in ((c.get("commit") or {}).get("message") or ""):
        return c
    return None


def _files_of_commit(c: dict[str, Any]) -> list[tuple[str, str]]:
    return [("created" if f.get("status") == "added" else "modified", f["filename"]) for f in c.get("files") or ()]


def _listing(files: list[tuple[str, str]], notes: list[str]) -> str:
    out = "\n".join(f"- {'🆕' if how == 'created' else '✏️'} `{path}`" for how, path in files)
    if notes:
        out += "\n\nLeft to do by hand:\n" + "\n".join(f"- {n}" for n in notes)
    return out


def _files(changes: list) -> list[tuple[str, str]]:
    return [("created" if ch.created else "modified", ch.path) for ch in changes]


def _diff_reply(kind: str, changes: Any) -> str:
    diff = "".join(ch.diff() for ch in changes)
    if len(diff) > MAX_DIFF:
        diff = diff[:MAX_DIFF] + f"\n… ({len(diff) - MAX_DIFF} more characters; run `dlcm scaffold {kind} … --dry-run` " \
                                  f"locally for all of it)\n"
    return (f"Dry run of `dlcm scaffold {kind}`: {changes.summary} — {len(changes)} files, nothing committed.\n\n"
            f"<details><summary>diff</summary>\n\n```diff\n{diff}```\n\n</details>\n"
            + (("\nLeft to do by hand:\n" + "\n".join(f"- {n}" for n in changes.notes) + "\n") if changes.notes else ""))


# --------------------------------------------------------------------------- the commands


async def scaffold_on_pull(call: Any) -> str:
    kind, args, dry = parse_args(call.args)
    gh, repo = call.gh, call.repo
    pr = await gh.getitem(f"/repos/{repo}/pulls/{call.number}")  # fresh: the head may have moved
    if pr.get("state") != "open":
        raise Refusal("This pull request is closed; open a new one to scaffold onto.")
    head = pr["head"]
    if ((head.get("repo") or {}).get("full_name") or "").lower() != repo.lower():
        raise Refusal(f"The branch of this pull request lives in `{(head.get('repo') or {}).get('full_name')}`; "
                      f"dlcm can only commit to branches of `{repo}`. Run `dlcm scaffold` locally instead.")
    branch, head_sha = head["ref"], head["sha"]
    done = await _already(gh, repo, head_sha, call)
    if done is not None:
        return (f"Committed [`{done['sha'][:7]}`]({done.get('html_url', '')}) to `{branch}` "
                f"({len(done.get('files') or [])} files):\n\n{_listing(_files_of_commit(done), [])}\n")
    changes = await read_plan(gh, repo, head_sha, kind, args)
    if dry:
        return _diff_reply(kind, changes)
    sha = await commit_changes(gh, repo, head_sha, list(changes), commit_message(kind, changes.summary, call))
    try:
        await gh.patch(f"/repos/{repo}/git/refs/heads/{quote(branch, safe='/')}", data={"sha": sha, "force": False})
    except gidgethub.BadRequest as exc:
        if exc.status_code == 422:
            raise Refusal(f"`{branch}` moved while dlcm was scaffolding (it is no longer at `{head_sha[:7]}`); "
                          f"nothing was committed. Run the command again.") from None
        raise
    url = f"{call.html_url}/commit/{sha}"
    return (f"Committed [`{sha[:7]}`]({url}) to `{branch}`: {changes.summary} ({len(changes)} files). "
            f"The dlcm checks run again on the new head.\n\n{_listing(_files(changes), changes.notes)}\n")


async def scaffold_on_issue(call: Any) -> str:
    from bot.cr_store import crs_of

    gh, repo, ctx = call.gh, call.repo, call.ctx
    rec = await ctx.store.arun(crs_of(ctx.store).get, repo, call.number)
    if rec is None:
        raise Refusal(f"#{call.number} is not a data-layer change request. `/dlcm scaffold` works on change "
                      f"requests (it opens a draft pull request for them) and on pull requests (it commits onto "
                      f"them).")
    if rec.number is None:
        raise Refusal(f"{rec.id} is not valid yet: fix the problems in its status comment first.")
    words = list(call.args)
    if not words:
        request = (rec.validation or {}).get("request") or {}
        words = words_from_request(request) or []
        if not words:
            raise Refusal(f"{rec.id} does not say enough to scaffold it (`{rec.state.change_type or 'no type'}`); "
                          f"give the change: `/dlcm {USAGE}`")
    kind, args, dry = parse_args(words)
    repo_data = call.event.data.get("repository") or await gh.getitem(f"/repos/{repo}")
    default = repo_data.get("default_branch") or "main"
    branch = f"dlcm/{rec.id}-{slug(kind, args)}"
    existing = await _ref(gh, repo, f"heads/{branch}")
    base_sha = existing or await _ref(gh, repo, f"heads/{default}")
    if base_sha is None:
        raise Refusal(f"The default branch `{default}` has no commit to start from.")
    if existing is not None and (await _already(gh, repo, existing, call)) is not None:
        sha, changes, notes = existing, None, []
    else:
        changes = await read_plan(gh, repo, base_sha, kind, args)
        if dry:
            return _diff_reply(kind, changes)
        sha = await commit_changes(gh, repo, base_sha, list(changes), commit_message(kind, changes.summary, call))
        if existing is None:
            await gh.post(f"/repos/{repo}/git/refs", data={"ref": f"refs/heads/{branch}", "sha": sha})
        else:
            await gh.patch(f"/repos/{repo}/git/refs/heads/{quote(branch, safe='/')}", data={"sha": sha, "force": False})
        notes = changes.notes
    pr = await _open_pull(gh, repo, branch)
    title = rec.state.summary or re.sub(r"^\s*\[[^\]]*\]\s*", "", rec.state.title or "") or f"{kind} {slug(kind, args)}"
    if pr is None:
        body = (f"Scaffolded by dlcm for {rec.id} (#{call.number}), requested by @{call.sender}.\n\n"
                f"`dlcm scaffold {kind}` generated every piece of the change; review it, complete what it could "
                f"not know (business rules, texts), and mark the pull request ready for review.\n\n"
                f"Change request: #{call.number} ({rec.id})\n")
        pr = await gh.post(f"/repos/{repo}/pulls", data={
            "title": f"[{rec.id}] {title}"[:250], "head": branch, "base": default, "body": body, "draft": True})
    files = _files(changes) if changes is not None else _files_of_commit(await gh.getitem(f"/repos/{repo}/commits/{sha}"))
    summary = f": {changes.summary}" if changes is not None else ""
    return (f"Opened draft pull request #{pr['number']} from `{branch}` with the scaffold of {rec.id}{summary} "
            f"({len(files)} files).\n\n{_listing(files, notes)}\n")


async def _ref(gh: Any, repo: str, ref: str) -> str | None:
    try:
        data = await gh.getitem(f"/repos/{repo}/git/ref/{quote(ref, safe='/')}")
    except gidgethub.BadRequest as exc:
        if exc.status_code == 404:
            return None
        raise
    return (data.get("object") or {}).get("sha")


async def _open_pull(gh: Any, repo: str, branch: str) -> dict[str, Any] | None:
    owner = repo.split("/")[0]
    pulls = await gh.getitem(f"/repos/{repo}/pulls?state=open&head={quote(owner)}:{quote(branch, safe='')}")
    return pulls[0] if pulls else None


def _guarded(handler):
    async def run(call: Any) -> str:
        try:
            return await handler(call)
        except Refusal as exc:
            return str(exc).rstrip() + "\n"

    run.__name__ = run.__qualname__ = handler.__name__
    run.__module__ = __name__
    return run


on_pull = _guarded(scaffold_on_pull)
on_issue = _guarded(scaffold_on_issue)

SUMMARY_PULL = "Generate the files of a data-layer change and commit them to this pull request (write access)."
SUMMARY_ISSUE = "Generate the change request's files on a new branch with a draft pull request (write access)."
_registered: list[str] = []


def register_commands() -> None:
    for where, handler, summary in (("pull_request", on_pull, SUMMARY_PULL), ("issue", on_issue, SUMMARY_ISSUE)):
        slot = commands_feature.COMMANDS.get("scaffold") or {}
        old = slot.get(where)
        if old is not None and old.handler is not handler:
            log.warning("/dlcm scaffold on %s is already registered by %s; keeping it", where, old.handler.__module__)
            continue
        commands_feature.register("scaffold", handler, summary=summary, usage=USAGE.split(" | ")[0] + " …",
                                  changes_state=True, where=where)
        if where not in _registered:
            _registered.append(where)


def unregister_commands() -> None:
    slot = commands_feature.COMMANDS.get("scaffold") or {}
    for where in _registered:
        reg = slot.get(where)
        if reg is not None and reg.handler.__module__ == __name__:
            slot.pop(where)
    if "scaffold" in commands_feature.COMMANDS and not commands_feature.COMMANDS["scaffold"]:
        commands_feature.COMMANDS.pop("scaffold")
    _registered.clear()


_users = 0


def setup_app(app: Any) -> None:
    """Called by ``bot.server.create_app``: adds ``/dlcm scaffold`` while this App runs."""
    global _users
    register_commands()
    _users += 1

    async def stop(app_: Any) -> None:
        global _users
        _users -= 1
        if _users <= 0:
            unregister_commands()

    app.on_cleanup.append(stop)


__all__ = ["Refusal", "parse_args", "register_commands", "router", "setup_app", "slug", "unregister_commands",
           "words_from_request"]
