"""The fake GitHub: an aiohttp server backed by real bare git repositories.

See ``bot/fakegithub/__init__.py`` for an overview of the public API.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import os
import re
import secrets
import shutil
import string
import tempfile
import time
import uuid
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable
from urllib.parse import urlencode

from aiohttp import ClientSession, ClientTimeout, web
from multidict import MultiDict

from . import spec as specmod
from .git import NULL_SHA, GitRepo
from .models import (
    PERMISSION_ORDER, App, Call, CheckRun, CheckSuite, Comment, Delivery, Fault, Installation, Issue, Label,
    PullRequest, Reaction, Repo, Team, Token, User, Violation, now_iso,
)

log = logging.getLogger("dlcm.fakegithub")

DOCS = "https://docs.github.com/rest"

#: Events a registered App is subscribed to unless ``register_app(events=...)`` says otherwise.
DEFAULT_EVENTS = [
    "check_run", "check_suite", "issue_comment", "issues", "label", "pull_request", "pull_request_review",
    "push", "deployment", "deployment_status", "status", "member", "team", "repository",
]

#: Permissions of a registered App unless ``register_app(permissions=...)`` says otherwise.
DEFAULT_PERMISSIONS = {
    "metadata": "read", "contents": "write", "issues": "write", "pull_requests": "write", "checks": "write",
    "statuses": "write", "deployments": "write", "members": "read", "administration": "read",
    "actions": "read", "repository_hooks": "read", "pages": "read",
}

SECONDARY_LIMIT_MESSAGE = (
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. "
    "If you reach out to GitHub Support for help, please include the request ID {rid}."
)

JWT_ONLY = {
    "/app", "/app/installations", "/app/installations/{installation_id}",
    "/app/installations/{installation_id}/access_tokens", "/repos/{owner}/{repo}/installation",
    "/app/hook/deliveries", "/app/hook/deliveries/{delivery_id}", "/app/hook/deliveries/{delivery_id}/attempts",
}
ANY_AUTH = {"/rate_limit", "/users/{username}"}


class ApiError(Exception):
    """Raised by handlers: becomes a GitHub-style error response."""

    def __init__(self, status: int, message: str, *, errors: list | None = None, headers: dict | None = None,
                 violation: str | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = errors
        self.headers = headers or {}
        self.violation = violation  # kind of violation to record, if any


def not_found() -> ApiError:
    return ApiError(404, "Not Found")


def validation_failed(message: str = "Validation Failed", errors: list | None = None, *,
                      violation: str | None = None) -> ApiError:
    return ApiError(422, message, errors=errors or [], violation=violation)


@dataclass
class Raw:
    """A non-JSON response body (``application/vnd.github.raw``, ``.diff``...)."""

    data: bytes
    content_type: str


@dataclass
class Identity:
    kind: str  # app | installation | user | anonymous
    app: App | None = None
    installation: Installation | None = None
    token: Token | None = None
    login: str | None = None

    @property
    def actor(self) -> str | None:
        if self.kind == "installation" and self.app:
            return self.app.bot_login
        return self.login

    @property
    def app_id(self) -> int | None:
        return self.app.id if self.app else None

    @property
    def bucket(self) -> str:
        if self.installation:
            return f"installation:{self.installation.id}"
        if self.app:
            return f"app:{self.app.id}"
        if self.login:
            return f"user:{self.login}"
        return "anonymous"


@dataclass
class Ctx:
    fg: "FakeGitHub"
    request: web.Request
    method: str
    template: str
    params: dict
    query: MultiDict
    body: Any
    ident: Identity
    call: Call
    repo: Repo | None = None
    link: str | None = None

    def q(self, name: str, default=None, conv=None):
        v = self.query.get(name)
        if v is None:
            return default
        if conv is not None:
            try:
                return conv(v)
            except ValueError:
                raise validation_failed(f"Invalid value for {name}: {v!r}")
        return v

    def json(self, name: str, default=None):
        if isinstance(self.body, dict):
            return self.body.get(name, default)
        return default

    def has(self, name: str) -> bool:
        return isinstance(self.body, dict) and name in self.body

    def paginate(self, items: list) -> list:
        per_page = max(1, min(self.q("per_page", 30, int), 100))
        page = max(1, self.q("page", 1, int))
        total = len(items)
        last = max(1, math.ceil(total / per_page))
        rels = []

        def url(p):
            q = MultiDict(self.query)
            q["page"] = str(p)
            if "per_page" in self.query:
                q["per_page"] = self.query["per_page"]
            return f"{self.fg.url}{self.request.raw_path.split('?')[0]}?{urlencode(list(q.items()))}"

        if page > 1:
            rels.append((url(page - 1), "prev"))
        if page < last:
            rels.append((url(page + 1), "next"))
            rels.append((url(last), "last"))
        if page > 1:
            rels.append((url(1), "first"))
        self.link = ", ".join(f'<{u}>; rel="{r}"' for u, r in rels) or None
        return items[(page - 1) * per_page: page * per_page]

    @property
    def actor(self) -> str:
        return self.ident.actor or self.fg.default_user

    def media(self) -> str | None:
        """``raw``, ``diff``, ``patch``, ``html``, ``object`` from ``Accept: application/vnd.github.<x>``."""
        acc = self.request.headers.get("Accept", "")
        m = re.search(r"application/vnd\.github(?:\.v3)?\.?(raw|diff|patch|html|object|text)?", acc)
        if m and m.group(1):
            return m.group(1)
        return None


class FakeGitHub:
    """A fake GitHub REST API + webhook sender for a GitHub App, backed by real git repos.

    Usage::

        async with FakeGitHub(webhook_url=app_url, webhook_secret="s3cret") as fake:
            app = fake.register_app(1, public_pem, "dlcm")
            fake.create_repo("acme/shop", "tests/fixtures/shop")
            sha = await fake.push("acme/shop", "feature", {"a.sql": "select 1;"})
            pr = await fake.open_pull_request("acme/shop", "feature", title="Add a")
            ...
            fake.assert_no_violations()
    """

    def __init__(self, *, webhook_url: str | None = None, webhook_secret: str | None = "fake-webhook-secret",
                 send_webhooks: bool = True, api_webhooks: bool = True, validate: bool | None = None,
                 require_auth: bool = True, host: str = "127.0.0.1", port: int = 0,
                 html_url: str = "https://github.com", spec_dir: str | os.PathLike | None = None,
                 default_user: str = "octocat", rate_limit: int = 5000, webhook_timeout: float = 10.0,
                 base_dir: str | os.PathLike | None = None, validate_webhooks: bool = True):
        self.webhook_url = webhook_url
        self.webhook_secret = webhook_secret
        self.send_webhooks = send_webhooks
        self.api_webhooks = api_webhooks
        self.require_auth = require_auth
        self.host, self.port = host, port
        self.html_url = html_url.rstrip("/")
        self.default_user = default_user
        self.rate_limit = rate_limit
        self.webhook_timeout = webhook_timeout
        self.validate_webhooks = validate_webhooks and _importable("jsonschema")
        found = Path(spec_dir) if spec_dir else specmod.find_spec_dir()
        self.spec_dir: str | None = str(found) if found and (Path(found) / "rest-api.openapi.json").is_file() else None
        if validate is None:
            validate = self.spec_dir is not None and _importable("openapi_core")
            if not validate:
                log.warning("GitHub's OpenAPI description (set %s) or openapi-core not found: requests are "
                            "not validated", specmod.SPEC_DIR_ENV)
        if validate and not self.spec_dir:
            raise FileNotFoundError(f"rest-api.openapi.json not found; set {specmod.SPEC_DIR_ENV}")
        self.validating = bool(validate)

        self._tmp = Path(tempfile.mkdtemp(prefix="fakegithub-", dir=base_dir))
        (self._tmp / "home").mkdir()
        self._finalizer = weakref.finalize(self, shutil.rmtree, str(self._tmp), True)
        self.url: str | None = None

        # state
        self._ids = 1000
        self.users: dict[str, User] = {}
        self.apps: dict[int, App] = {}
        self.installations: dict[int, Installation] = {}
        self.tokens: dict[str, Token] = {}
        self.repos: dict[str, Repo] = {}  # key: lower-case full name
        self.teams: dict[tuple[str, str], Team] = {}
        self.calls: list[Call] = []
        self.violations: list[Violation] = []
        self.deliveries: list[Delivery] = []
        self.faults: list[Fault] = []
        self._buckets: dict[str, dict] = {}
        self._stats_cache: dict = {}

        from .handlers import HANDLERS

        self._handlers = HANDLERS
        templates = set(t for (_, t) in HANDLERS)
        if self.spec_dir:
            templates |= set(specmod.rest_document(self.spec_dir)["paths"])
        self.router = specmod.Router(templates)
        self._runner: web.AppRunner | None = None
        self._session: ClientSession | None = None
        self._queue: asyncio.Queue | None = None
        self._worker: asyncio.Task | None = None
        self._pending: set[asyncio.Future] = set()
        self.user_obj(default_user)
        if self.validating:
            specmod.openapi(self.spec_dir)  # load once, now rather than on the first request

    # ================================================================== lifecycle
    async def start(self) -> "FakeGitHub":
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        sock = site._server.sockets[0]  # type: ignore[union-attr]
        self.port = sock.getsockname()[1]
        self.url = f"http://{self.host}:{self.port}"
        self._session = ClientSession(timeout=ClientTimeout(total=self.webhook_timeout))
        self._queue = asyncio.Queue()
        self._worker = asyncio.create_task(self._delivery_worker())
        return self

    async def stop(self) -> None:
        try:
            await self.wait_idle(timeout=self.webhook_timeout + 1)
        except Exception:  # noqa: BLE001
            pass
        if self._worker:
            self._worker.cancel()
            try:
                await self._worker
            except (asyncio.CancelledError, Exception):  # noqa: BLE001
                pass
            self._worker = None
        if self._session:
            await self._session.close()
            self._session = None
        if self._runner:
            await self._runner.cleanup()
            self._runner = None
        self._finalizer()

    async def __aenter__(self) -> "FakeGitHub":
        return await self.start()

    async def __aexit__(self, *exc) -> None:
        await self.stop()

    # ================================================================== ids, users
    def _next_id(self) -> int:
        self._ids += 1
        return self._ids

    def user_obj(self, login: str, *, type: str | None = None) -> User:
        """The user (created on first use)."""
        u = self.users.get(login.lower())
        if u is None:
            t = type or ("Bot" if login.endswith("[bot]") else "User")
            u = User(self._next_id(), login, t)
            self.users[login.lower()] = u
        elif type:
            u.type = type
        return u

    def add_user(self, login: str, *, name: str | None = None, email: str | None = None,
                 type: str = "User", site_admin: bool = False) -> User:
        u = self.user_obj(login, type=type)
        u.name, u.email, u.site_admin = name, email, site_admin
        return u

    def add_org(self, login: str) -> User:
        return self.user_obj(login, type="Organization")

    # ================================================================== apps
    def register_app(self, app_id: int | None = None, public_key_pem: str | None = None, slug: str = "dlcm", *,
                     name: str | None = None, owner: str | None = None, permissions: dict | None = None,
                     events: Iterable[str] | None = None, webhook_url: str | None = None,
                     webhook_secret: str | None = None, private_key_pem: str | None = None) -> App:
        """Register a GitHub App. Without ``public_key_pem`` a key pair is generated and the
        private key is available as ``app.private_key_pem``.

        ``permissions`` given explicitly are enforced (403 "Resource not accessible by
        integration"); by default the App has write access to everything it may need.
        """
        from cryptography.hazmat.primitives.serialization import load_pem_public_key

        from .keys import generate_rsa_keypair

        if public_key_pem is None:
            private_key_pem, public_key_pem = generate_rsa_keypair()
        app_id = app_id or self._next_id()
        pub = load_pem_public_key(public_key_pem.encode() if isinstance(public_key_pem, str) else public_key_pem)
        owner = owner or self.default_user
        self.user_obj(owner)
        a = App(
            id=int(app_id), slug=slug, name=name or slug, owner=owner,
            public_key_pem=public_key_pem if isinstance(public_key_pem, str) else public_key_pem.decode(),
            public_key=pub, private_key_pem=private_key_pem,
            permissions=dict(permissions or DEFAULT_PERMISSIONS), events=list(events or DEFAULT_EVENTS),
            enforce_permissions=permissions is not None, webhook_url=webhook_url, webhook_secret=webhook_secret,
            hook_id=self._next_id(), client_id=f"Iv1.{secrets.token_hex(8)}",
        )
        self.apps[a.id] = a
        self.user_obj(a.bot_login, type="Bot")
        # install on every existing account with repositories
        for r in self.repos.values():
            self.install(a.id, r.owner)
        return a

    @property
    def app(self) -> App | None:
        """The first registered App."""
        return next(iter(self.apps.values()), None)

    def install(self, app_id: int, account: str, repos: Iterable[str] | None = None) -> int:
        """Install an App on an account (all its repositories, or only ``repos``). Returns the id."""
        for inst in self.installations.values():
            if inst.app_id == app_id and inst.account.lower() == account.lower():
                if repos is not None:
                    inst.repository_selection = "selected"
                    inst.repos |= {self._repo_key(x) for x in repos}
                return inst.id
        a = self.apps[app_id]
        self.user_obj(account)
        inst = Installation(
            id=self._next_id(), app_id=app_id, account=account,
            repository_selection="all" if repos is None else "selected",
            repos={self._repo_key(x) for x in repos or ()}, permissions=dict(a.permissions), events=list(a.events),
        )
        self.installations[inst.id] = inst
        return inst.id

    def installation_id(self, repo: str, app_id: int | None = None) -> int:
        """Installation id of the (first, or given) App on a repository."""
        r = self.repo(repo)
        for inst in self.installations.values():
            if (app_id is None or inst.app_id == app_id) and self._inst_has_repo(inst, r):
                return inst.id
        raise KeyError(f"no App installed on {repo}")

    def installation_token(self, installation_id: int, ttl: float = 3600) -> str:
        """Mint an installation token directly (tests that don't exercise the JWT exchange)."""
        inst = self.installations[installation_id]
        return self._mint_token(inst, ttl=ttl).token

    def user_token(self, login: str) -> str:
        """A personal token acting as ``login`` (e.g. to drive the API as a human)."""
        self.user_obj(login)
        t = Token("ghp_" + _rand(36), time.time() + 86400 * 365, login=login)
        self.tokens[t.token] = t
        return t.token

    def expire_tokens(self) -> None:
        """Expire every installation token (next use answers 401 Bad credentials)."""
        for t in self.tokens.values():
            if t.installation_id is not None:
                t.expires_at = 0

    def _mint_token(self, inst: Installation, *, ttl: float = 3600, permissions: dict | None = None,
                    repos: set[str] | None = None) -> Token:
        t = Token("ghs_" + _rand(36), time.time() + ttl, installation_id=inst.id,
                  permissions=dict(permissions or inst.permissions), repos=repos)
        self.tokens[t.token] = t
        return t

    def _inst_has_repo(self, inst: Installation, r: Repo) -> bool:
        if inst.repository_selection == "all":
            return inst.account.lower() == r.owner.lower()
        return r.full_name.lower() in inst.repos

    # ================================================================== repos
    @staticmethod
    def _repo_key(full_name: str) -> str:
        return full_name.lower()

    def repo(self, full_name: str | Repo) -> Repo:
        if isinstance(full_name, Repo):
            return full_name
        r = self.repos.get(self._repo_key(full_name))
        if r is None:
            raise KeyError(f"no repository {full_name}")
        return r

    def create_repo(self, full_name: str, source_dir: str | os.PathLike | None = None, *,
                    files: dict[str, str | bytes] | None = None, default_branch: str = "main",
                    private: bool = False, description: str | None = None, message: str = "Initial commit",
                    owner_type: str | None = None, install: bool = True, author: str | None = None) -> Repo:
        """Create a repository whose default branch has one commit with the files of
        ``source_dir`` (``.gitignore`` honoured) and/or ``files``.

        The owner becomes an Organization unless it is the default user or ``owner_type``
        says otherwise; every registered App gets installed on it (``install=False`` to skip).
        """
        owner, _, name = full_name.partition("/")
        if not name or "/" in name:
            raise ValueError("full_name must be owner/name")
        if self._repo_key(full_name) in self.repos:
            raise ValueError(f"{full_name} already exists")
        if owner_type is None:
            existing = self.users.get(owner.lower())
            owner_type = existing.type if existing else ("User" if owner == self.default_user else "Organization")
        self.user_obj(owner, type=owner_type)
        path = self._tmp / "repos" / owner / f"{name}.git"
        g = GitRepo.init(path, default_branch, str(self._tmp / "home"))
        r = Repo(id=self._next_id(), owner=owner, name=name, git=g, default_branch=default_branch,
                 private=private, description=description)
        tree = g.import_directory(Path(source_dir)) if source_dir else None
        if files:
            changes = {p: ("100644", g.hash_blob(_bytes(c))) for p, c in files.items() if c is not None}
            tree = g.build_tree(tree, changes)
        if tree is None:
            tree = g.build_tree(None, {})
        sha = g.commit_tree(tree, [], message, author=self._git_identity(author or owner))
        g.update_ref(f"refs/heads/{default_branch}", sha, NULL_SHA)
        self.repos[self._repo_key(full_name)] = r
        if install:
            for a in self.apps.values():
                self.install(a.id, owner)
        return r

    def _git_identity(self, login: str) -> tuple[str, str]:
        u = self.user_obj(login)
        return (u.name or u.login, u.email or f"{u.id}+{u.login}@users.noreply.github.com")

    def set_permission(self, repo: str, login: str, permission: str = "write") -> None:
        """Make ``login`` a collaborator: admin, maintain, write, triage, read (or none)."""
        if permission not in PERMISSION_ORDER:
            raise ValueError(permission)
        self.user_obj(login)
        r = self.repo(repo)
        if permission == "none":
            r.collaborators.pop(login, None)
        else:
            r.collaborators[login] = permission

    add_collaborator = set_permission

    def permission_of(self, repo: str | Repo, login: str) -> str:
        """Effective permission (admin/maintain/write/triage/read/none) of a user on a repo."""
        r = self.repo(repo)
        best = "none"
        u = self.users.get(login.lower())
        if u and u.login.lower() == r.owner.lower():
            return "admin"
        if login in r.collaborators:
            best = r.collaborators[login]
        team_map = {"pull": "read", "triage": "triage", "push": "write", "maintain": "maintain", "admin": "admin"}
        for t in self.teams.values():
            if login in t.members and r.full_name in t.repos:
                p = team_map.get(t.repos[r.full_name], "read")
                if PERMISSION_ORDER[p] > PERMISSION_ORDER[best]:
                    best = p
        if best == "none" and not r.private:
            best = "read"
        return best

    def add_team(self, org: str, slug: str, *, name: str | None = None, members: Iterable[str] = (),
                 maintainers: Iterable[str] = (), repos: dict[str, str] | Iterable[str] | None = None,
                 description: str | None = None, parent: str | None = None) -> Team:
        """Create a team; ``repos`` maps full names to pull/triage/push/maintain/admin (a list = push)."""
        self.user_obj(org, type="Organization")
        t = self.teams.get((org, slug))
        if t is None:
            t = Team(id=self._next_id(), org=org, slug=slug, name=name or slug, description=description, parent=parent)
            self.teams[(org, slug)] = t
        for m in members:
            self.user_obj(m)
            t.members[m] = t.members.get(m, "member")
        for m in maintainers:
            self.user_obj(m)
            t.members[m] = "maintainer"
        if repos:
            items = repos.items() if isinstance(repos, dict) else ((x, "push") for x in repos)
            for fn, perm in items:
                t.repos[self.repo(fn).full_name] = perm
        return t

    def add_team_member(self, org: str, slug: str, login: str, role: str = "member") -> None:
        self.user_obj(login)
        self.teams[(org, slug)].members[login] = role

    def create_label(self, repo: str, name: str, color: str = "ededed", description: str | None = None) -> Label:
        r = self.repo(repo)
        lb = r.label(name)
        if lb is None:
            lb = Label(self._next_id(), name, color.lstrip("#"), description)
            r.labels[name.lower()] = lb
        return lb

    def set_branch_protection(self, repo: str, branch: str, required_checks: Iterable[str] = (), *,
                              strict: bool = False, required_approving_review_count: int | None = None,
                              enforce_admins: bool = False) -> dict:
        r = self.repo(repo)
        prot = {
            "required_status_checks": {"strict": strict, "contexts": list(required_checks),
                                       "checks": [{"context": c, "app_id": None} for c in required_checks]},
            "enforce_admins": enforce_admins,
            "required_pull_request_reviews": (
                {"required_approving_review_count": required_approving_review_count}
                if required_approving_review_count is not None else None),
            "restrictions": None,
        }
        r.protections[branch] = prot
        return prot

    # ================================================================== git-backed reads
    def branch_sha(self, repo: str, branch: str) -> str | None:
        return self.repo(repo).git.ref_sha(f"refs/heads/{branch}")

    def file(self, repo: str, path: str, ref: str | None = None) -> str | None:
        """Text of a file at a ref (default branch by default), or None."""
        r = self.repo(repo)
        sha = r.git.resolve_branch_or_sha(ref or r.default_branch)
        if sha is None:
            return None
        data = r.git.file_at(sha, path)
        return None if data is None else data.decode("utf-8", "replace")

    def ls(self, repo: str, ref: str | None = None) -> list[str]:
        """Every file path at a ref."""
        r = self.repo(repo)
        sha = r.git.resolve_branch_or_sha(ref or r.default_branch)
        return [e.path for e in r.git.ls_tree(sha, recursive=True) if e.type == "blob"]

    def commit_files(self, r: Repo, branch: str, files: dict[str, str | bytes | None], *, message: str,
                     base: str | None = None, author: str | None = None) -> tuple[str | None, str]:
        """Write a commit on ``branch`` (created from ``base``); returns (before, after)."""
        g = r.git
        before = g.ref_sha(f"refs/heads/{branch}")
        parent = before
        if parent is None:
            start = base or r.default_branch
            parent = g.resolve_branch_or_sha(start)
            if parent is None:
                raise ValueError(f"base {start!r} does not exist in {r.full_name}")
        changes: dict[str, tuple[str, str] | None] = {}
        for path, content in files.items():
            if content is None:
                changes[path] = None
            else:
                changes[path] = ("100644", g.hash_blob(_bytes(content)))
        tree = g.build_tree(g.resolve(parent, "tree"), changes)
        who = self._git_identity(author or self.default_user)
        sha = g.commit_tree(tree, [parent], message, author=who, committer=who)
        g.update_ref(f"refs/heads/{branch}", sha, before or NULL_SHA)
        return before, sha

    def commit(self, repo: str, branch: str, files: dict[str, str | bytes | None], *,
               message: str = "Update files", base: str | None = None, author: str | None = None) -> str:
        """Synchronous :meth:`push` without any webhook (fixture setup). Returns the sha."""
        r = self.repo(repo)
        before, after = self.commit_files(r, branch, files, message=message, base=base, author=author)
        self._after_ref_update(r, f"refs/heads/{branch}", before, after, author or self.default_user,
                               webhook=False)
        return after

    # ================================================================== helpers that send webhooks
    async def push(self, repo: str, branch: str, files: dict[str, str | bytes | None], *,
                   message: str = "Update files", base: str | None = None, author: str | None = None,
                   sender: str | None = None, webhook: bool = True) -> str:
        """Commit ``files`` (path -> content, None deletes) on ``branch`` and return the sha.

        A new branch starts from ``base`` (default branch by default). Sends ``push``,
        ``check_suite.requested`` and, for an open PR's head branch, ``pull_request.synchronize``.
        """
        r = self.repo(repo)
        sender = sender or author or self.default_user
        before, after = self.commit_files(r, branch, files, message=message, base=base, author=author)
        futs = self._after_ref_update(r, f"refs/heads/{branch}", before, after, sender, webhook=webhook)
        await self._await(futs)
        return after

    async def open_pull_request(self, repo: str, head: str, base: str | None = None, *, title: str = "Change",
                                body: str | None = "", user: str | None = None, draft: bool = False,
                                files: dict[str, str | bytes | None] | None = None, labels: Iterable[str] = (),
                                message: str | None = None, webhook: bool = True) -> PullRequest:
        """Open a PR from ``head`` into ``base`` (default branch). With ``files``, the head
        branch gets a commit with them first (no webhooks for that push)."""
        r = self.repo(repo)
        user = user or self.default_user
        if files:
            self.commit_files(r, head, files, message=message or title, base=base, author=user)
        p = self.create_pull(r, head, base or r.default_branch, title=title, body=body, user=user, draft=draft)
        for lb in labels:
            self.create_label(repo, lb)
            p.issue.labels.append(self.repo(repo).label(lb).name)
        futs = []
        if webhook:
            futs += self.emit("pull_request", "opened", r, user, pull=p)
            for n in p.issue.labels:
                futs += self.emit("pull_request", "labeled", r, user, pull=p, label=r.label(n))
        await self._await(futs)
        return p

    def create_pull(self, r: Repo, head: str, base: str, *, title: str, body: str | None, user: str,
                    draft: bool = False, app_id: int | None = None) -> PullRequest:
        head_sha = r.git.ref_sha(f"refs/heads/{head}")
        base_sha = r.git.ref_sha(f"refs/heads/{base}")
        if head_sha is None or base_sha is None:
            raise ApiError(422, "Validation Failed", errors=[
                {"resource": "PullRequest", "field": "head" if head_sha is None else "base", "code": "invalid"}])
        for p in r.pulls.values():
            if p.state == "open" and p.head_ref == head and p.base_ref == base:
                raise ApiError(422, "Validation Failed", errors=[{
                    "resource": "PullRequest", "code": "custom",
                    "message": f"A pull request already exists for {r.owner}:{head}."}])
        if head == base or head_sha == base_sha and not r.git.count(f"{base_sha}..{head_sha}"):
            raise ApiError(422, "Validation Failed", errors=[{
                "resource": "PullRequest", "code": "custom", "message": f"No commits between {base} and {head}"}])
        self.user_obj(user)
        n = r.next_number
        r.next_number += 1
        issue = Issue(number=n, id=self._next_id(), title=title, body=body, user=user, app_id=app_id)
        p = PullRequest(number=n, id=self._next_id(), issue=issue, head_ref=head, base_ref=base, head_sha=head_sha,
                        base_sha=base_sha, draft=draft)
        issue.pull = p
        r.issues[n] = issue
        r.pulls[n] = p
        return p

    async def close_pull_request(self, repo: str, number: int, *, user: str | None = None,
                                 webhook: bool = True) -> PullRequest:
        r = self.repo(repo)
        p = r.pulls[number]
        user = user or self.default_user
        self._set_issue_state(r, p.issue, "closed", user)
        await self._await(self.emit("pull_request", "closed", r, user, pull=p) if webhook else [])
        return p

    async def merge_pull_request(self, repo: str, number: int, *, user: str | None = None,
                                 message: str | None = None, webhook: bool = True) -> str:
        """Merge with a merge commit (conflicts raise). Sends ``pull_request.closed``
        (merged) and ``push`` for the base branch. Returns the merge commit sha."""
        r = self.repo(repo)
        p = r.pulls[number]
        user = user or self.default_user
        if p.state != "open":
            raise ValueError("pull request is not open")
        g = r.git
        base_tip = g.ref_sha(f"refs/heads/{p.base_ref}")
        tree = g.merge_tree(base_tip, p.head_sha)
        if tree is None:
            raise ValueError("merge conflict")
        who = self._git_identity(user)
        sha = g.commit_tree(tree, [base_tip, p.head_sha],
                            message or f"Merge pull request #{number} from {r.owner}/{p.head_ref}\n\n{p.title}",
                            author=who, committer=who)
        g.update_ref(f"refs/heads/{p.base_ref}", sha, base_tip)
        p.merged, p.merged_at, p.merged_by, p.merge_commit_sha = True, now_iso(), user, sha
        self._set_issue_state(r, p.issue, "closed", user)
        futs = []
        if webhook:
            futs += self.emit("pull_request", "closed", r, user, pull=p)
        futs += self._after_ref_update(r, f"refs/heads/{p.base_ref}", base_tip, sha, user, webhook=webhook)
        await self._await(futs)
        return sha

    async def create_issue(self, repo: str, title: str, body: str | None = "", *, user: str | None = None,
                           labels: Iterable[str] = (), assignees: Iterable[str] = (),
                           webhook: bool = True) -> Issue:
        r = self.repo(repo)
        user = user or self.default_user
        i = self.new_issue(r, title, body, user, labels=labels, assignees=assignees)
        futs = []
        if webhook:  # like GitHub: opened, then one labeled/assigned per label/assignee set at creation
            futs += self.emit("issues", "opened", r, user, issue=i)
            for n in i.labels:
                futs += self.emit("issues", "labeled", r, user, issue=i, label=r.label(n))
            for a in i.assignees:
                futs += self.emit("issues", "assigned", r, user, issue=i, assignee=a)
        await self._await(futs)
        return i

    def new_issue(self, r: Repo, title: str, body: str | None, user: str, *, labels: Iterable[str] = (),
                  assignees: Iterable[str] = (), app_id: int | None = None) -> Issue:
        self.user_obj(user)
        n = r.next_number
        r.next_number += 1
        i = Issue(number=n, id=self._next_id(), title=title, body=body, user=user, app_id=app_id)
        for lb in labels:
            i.labels.append(self.create_label(r.full_name, lb).name)
        for a in assignees:
            if self.assignable(r, a) and a not in i.assignees:
                i.assignees.append(a)
        r.issues[n] = i
        return i

    async def edit_issue(self, repo: str, number: int, *, title: str | None = None, body: str | None = None,
                         state: str | None = None, state_reason: str | None = None, user: str | None = None,
                         webhook: bool = True) -> Issue:
        """Edit title/body (``issues.edited`` with ``changes``) and/or state (``closed``/``reopened``)."""
        r = self.repo(repo)
        i = r.issues[number]
        user = user or i.user
        futs = []
        changes = {}
        if title is not None and title != i.title:
            changes["title"] = {"from": i.title}
            i.title = title
        if body is not None and body != i.body:
            changes["body"] = {"from": i.body or ""}
            i.body = body
        if changes:
            i.updated_at = now_iso()
            if webhook:
                futs += self._issue_event(r, i, "edited", user, changes=changes)
        if state is not None and state != i.state:
            self._set_issue_state(r, i, state, user, state_reason)
            if webhook:
                futs += self._issue_event(r, i, "closed" if state == "closed" else "reopened", user)
        await self._await(futs)
        return i

    async def add_label(self, repo: str, number: int, name: str, *, user: str | None = None,
                        webhook: bool = True) -> None:
        r = self.repo(repo)
        i = r.issues[number]
        lb = self.create_label(repo, name)
        if lb.name in i.labels:
            return
        i.labels.append(lb.name)
        i.updated_at = now_iso()
        await self._await(self._issue_event(r, i, "labeled", user or self.default_user, label=lb) if webhook else [])

    async def remove_label(self, repo: str, number: int, name: str, *, user: str | None = None,
                           webhook: bool = True) -> None:
        r = self.repo(repo)
        i = r.issues[number]
        lb = r.label(name)
        if lb is None or lb.name not in i.labels:
            return
        i.labels.remove(lb.name)
        await self._await(self._issue_event(r, i, "unlabeled", user or self.default_user, label=lb) if webhook else [])

    async def create_comment(self, repo: str, number: int, body: str, *, user: str | None = None,
                             webhook: bool = True) -> Comment:
        """A comment on an issue or PR by ``user`` (sends ``issue_comment.created``)."""
        r = self.repo(repo)
        user = user or self.default_user
        c = self.new_comment(r, r.issues[number], body, user)
        await self._await(self.emit("issue_comment", "created", r, user, issue=r.issues[number], comment=c)
                          if webhook else [])
        return c

    def new_comment(self, r: Repo, i: Issue, body: str, user: str, app_id: int | None = None) -> Comment:
        self.user_obj(user)
        c = Comment(id=self._next_id(), issue_number=i.number, body=body, user=user, app_id=app_id)
        r.comments[c.id] = c
        i.comment_ids.append(c.id)
        i.updated_at = now_iso()
        return c

    async def edit_comment(self, repo: str, comment_id: int, body: str, *, user: str | None = None,
                           webhook: bool = True) -> Comment:
        r = self.repo(repo)
        c = r.comments[comment_id]
        old = c.body
        c.body, c.updated_at = body, now_iso()
        await self._await(self.emit("issue_comment", "edited", r, user or c.user, issue=r.issues[c.issue_number],
                                    comment=c, changes={"body": {"from": old}}) if webhook else [])
        return c

    async def request_check_run_action(self, repo: str, check_run_id: int, identifier: str, *,
                                       user: str | None = None) -> None:
        """A user clicked a check run's requested action button."""
        r = self.repo(repo)
        c = r.check_runs[check_run_id]
        await self._await(self.emit("check_run", "requested_action", r, user or self.default_user, check_run=c,
                                    requested_action={"identifier": identifier}, apps={c.app_id}))

    async def rerequest_check_run(self, repo: str, check_run_id: int, *, user: str | None = None) -> None:
        r = self.repo(repo)
        c = r.check_runs[check_run_id]
        await self._await(self.emit("check_run", "rerequested", r, user or self.default_user, check_run=c,
                                    apps={c.app_id}))

    async def deliver(self, event: str, action: str | None = None, payload_overrides: dict | None = None, *,
                      repo: str | None = None, sender: str | None = None, example: int = 0,
                      pull: int | None = None, issue: int | None = None, comment: int | None = None,
                      check_run: int | None = None, check_suite: int | None = None,
                      label: str | None = None) -> Delivery:
        """Send any webhook built from GitHub's example ``<event>.<action>.json``, rewritten
        to ``repo`` (default: the first repository): repository/organization/installation/
        sender, and the entities named by ``pull``/``issue``/``comment``/``check_run``/
        ``check_suite``/``label`` taken from the fake's state (without them, the example's own
        entity is kept with its repository, refs and shas pointed at ``repo``'s default
        branch). Then ``payload_overrides`` is deep-merged in. Ignores event subscriptions.
        """
        from .webhooks import build_payload, retarget_example

        r = self.repo(repo) if repo else next(iter(self.repos.values()), None)
        sender = sender or self.default_user
        extra: dict = {}
        if r is not None:
            if pull is not None:
                extra["pull"] = r.pulls[pull]
            if issue is not None:
                i = r.issues[issue]
                extra["issue"] = i
            if comment is not None:
                c = r.comments[comment]
                extra["comment"] = c
                extra.setdefault("issue", r.issues[c.issue_number])
            if check_run is not None:
                extra["check_run"] = r.check_runs[check_run]
            if check_suite is not None:
                extra["check_suite"] = r.check_suites[check_suite]
            if label is not None:
                extra["label"] = self.create_label(r.full_name, label)
        targets = self._webhook_targets(r, event, subscribed_only=False)
        delivery = None
        futs = []
        for app, inst, url, secret in targets:
            payload = build_payload(self, event, action, repo=r, sender=sender, installation=inst, extra=extra,
                                    example=example)
            if r is not None:
                payload = retarget_example(self, r, payload, keep=set(extra))
            if payload_overrides:
                from .webhooks import deep_merge

                payload = deep_merge(payload, payload_overrides)
            delivery, fut = self._enqueue(event, action, payload, app, inst, url, secret, r,
                                          validate=not payload_overrides)
            futs.append(fut)
        await self._await(futs)
        return delivery

    async def ping(self) -> Delivery | None:
        out = None
        for a in self.apps.values():
            from .webhooks import build_payload

            payload = build_payload(self, "ping", None, repo=None, sender=a.owner, installation=None,
                                    extra={"hook_id": a.hook_id, "zen": "Keep it logically awesome."})
            payload.pop("repository", None)
            d, fut = self._enqueue("ping", None, payload, a, None, a.webhook_url or self.webhook_url,
                                   a.webhook_secret or self.webhook_secret, None)
            await fut
            out = d
        return out

    async def wait_idle(self, timeout: float = 10.0) -> None:
        """Wait until every queued webhook delivery (including the ones triggered by API
        calls of the App) has been answered."""
        deadline = time.monotonic() + timeout
        while self._pending:
            rest = deadline - time.monotonic()
            if rest <= 0:
                raise TimeoutError(f"{len(self._pending)} webhook deliveries still pending")
            await asyncio.wait(list(self._pending), timeout=rest)
        # let the App's handlers that were triggered run a tick
        await asyncio.sleep(0)

    async def _await(self, futs: list) -> None:
        if futs:
            await asyncio.gather(*futs)

    # ================================================================== state changes used by handlers too
    def _set_issue_state(self, r: Repo, i: Issue, state: str, user: str, reason: str | None = None) -> None:
        if state == i.state:
            return
        i.state = state
        i.updated_at = now_iso()
        if state == "closed":
            i.closed_at, i.closed_by = now_iso(), user
            i.state_reason = reason or ("completed" if not i.pull else None)
        else:
            i.closed_at, i.closed_by = None, None
            i.state_reason = "reopened" if not i.pull else None
            if i.pull:
                sha = r.git.ref_sha(f"refs/heads/{i.pull.head_ref}")
                if sha:
                    i.pull.head_sha = sha

    def _issue_event(self, r: Repo, i: Issue, action: str, sender: str, **extra) -> list:
        if i.pull is not None:
            return self.emit("pull_request", action, r, sender, pull=i.pull, **extra)
        return self.emit("issues", action, r, sender, issue=i, **extra)

    def _after_ref_update(self, r: Repo, ref: str, before: str | None, after: str | None, sender: str, *,
                          webhook: bool = True, forced: bool = False) -> list:
        """Bookkeeping + webhooks after a ref moved (push, merge, git refs API)."""
        r.pushed_at = now_iso()
        futs: list = []
        branch = ref[len("refs/heads/"):] if ref.startswith("refs/heads/") else None
        synced = []
        if branch:
            for p in r.pulls.values():
                if p.state != "open":
                    continue
                if p.base_ref == branch and after:
                    p.base_sha = after
                if p.head_ref == branch and after and after != p.head_sha:
                    p.head_sha = after
                    p.issue.updated_at = now_iso()
                    synced.append((p, before))
        if not webhook:
            return futs
        futs += self.emit("push", None, r, sender, ref=ref, before=before or NULL_SHA, after=after or NULL_SHA,
                          forced=forced)
        if after and branch:
            for a in self.apps.values():
                inst = self._installation_for(a, r)
                if inst is None or "check_suite" not in a.events or a.permissions.get("checks") not in ("read", "write"):
                    continue
                suite = self.suite_for(r, a.id, after, branch, before=before)
                futs += self.emit("check_suite", "requested", r, sender, check_suite=suite, apps={a.id})
        for p, b in synced:
            futs += self.emit("pull_request", "synchronize", r, sender, pull=p, before=b or NULL_SHA, after=p.head_sha)
        return futs

    def suite_for(self, r: Repo, app_id: int | None, head_sha: str, head_branch: str | None = None, *,
                  before: str | None = None) -> CheckSuite:
        for s in r.check_suites.values():
            if s.app_id == app_id and s.head_sha == head_sha:
                return s
        if head_branch is None:
            for p in r.pulls.values():
                if p.head_sha == head_sha:
                    head_branch = p.head_ref
            for name, sha in r.git.refs("refs/heads/").items():
                if sha == head_sha:
                    head_branch = name[len("refs/heads/"):]
        s = CheckSuite(id=self._next_id(), head_sha=head_sha, head_branch=head_branch, app_id=app_id,
                       before=before, after=head_sha)
        r.check_suites[s.id] = s
        return s

    def refresh_suite(self, r: Repo, suite_id: int) -> list:
        """Recompute a suite's status after a check run changed; sends check_suite.completed."""
        s = r.check_suites.get(suite_id)
        if s is None:
            return []
        runs = [c for c in r.check_runs.values() if c.check_suite_id == suite_id]
        if not runs:
            return []
        s.updated_at = now_iso()
        if all(c.status == "completed" for c in runs):
            order = ["action_required", "cancelled", "timed_out", "failure", "neutral", "skipped", "stale", "success"]
            concl = min((c.conclusion or "neutral" for c in runs), key=lambda x: order.index(x) if x in order else 99)
            was = s.status
            s.status, s.conclusion = "completed", concl
            if was != "completed" and self.api_webhooks:
                return self.emit("check_suite", "completed", r, self.apps[s.app_id].bot_login if s.app_id in self.apps
                                 else self.default_user, check_suite=s, apps={s.app_id})
        else:
            s.status = "in_progress" if any(c.status == "in_progress" for c in runs) else "queued"
            s.conclusion = None
        return []

    def assignable(self, r: Repo, login: str) -> bool:
        if login.lower() == r.owner.lower():
            return True
        if login in r.collaborators:
            return True
        return any(login in t.members and r.full_name in t.repos for t in self.teams.values())

    def open_pulls_for_sha(self, r: Repo, sha: str) -> list[PullRequest]:
        return [p for p in r.pulls.values() if p.state == "open" and p.head_sha == sha]

    def pull_stats(self, r: Repo, p: PullRequest) -> dict:
        key = (r.id, p.base_sha, p.head_sha)
        st = self._stats_cache.get(key)
        if st is None:
            g = r.git
            mb = g.merge_base(p.base_sha, p.head_sha) or p.base_sha
            files = g.diff(mb, p.head_sha)
            tree = g.merge_tree(p.base_sha, p.head_sha)
            st = {
                "commits": g.count(f"{p.base_sha}..{p.head_sha}"),
                "additions": sum(f.additions for f in files), "deletions": sum(f.deletions for f in files),
                "changed_files": len(files), "mergeable": tree is not None,
                "mergeable_state": "clean" if tree is not None else "dirty",
            }
            self._stats_cache[key] = st
        st = dict(st)
        if p.merged or p.state == "closed":
            st["mergeable_state"] = "unknown" if not p.merged else st["mergeable_state"]
        if st["mergeable"] and p.state == "open":
            st["mergeable_state"] = self._protection_state(r, p)
        return st

    def _protection_state(self, r: Repo, p: PullRequest) -> str:
        prot = r.protections.get(p.base_ref)
        if not prot or not prot.get("required_status_checks"):
            return "clean"
        for ctx_name in prot["required_status_checks"].get("contexts", []):
            runs = [c for c in r.check_runs.values() if c.head_sha == p.head_sha and c.name == ctx_name]
            stats = [s for s in r.statuses if s.sha == p.head_sha and s.context == ctx_name]
            ok = (runs and max(runs, key=lambda c: c.id).conclusion in ("success", "neutral", "skipped")) or \
                 (stats and stats[-1].state == "success")
            if not ok:
                return "blocked"
        return "clean"

    def merge_blocked_reasons(self, repo: str, number: int) -> list[str]:
        """Required status checks of the base branch that don't pass on the PR head."""
        r = self.repo(repo)
        p = r.pulls[number]
        prot = r.protections.get(p.base_ref) or {}
        reasons = []
        for ctx_name in (prot.get("required_status_checks") or {}).get("contexts", []):
            runs = [c for c in r.check_runs.values() if c.head_sha == p.head_sha and c.name == ctx_name]
            stats = [s for s in r.statuses if s.sha == p.head_sha and s.context == ctx_name]
            if runs:
                latest = max(runs, key=lambda c: c.id)
                if latest.conclusion not in ("success", "neutral", "skipped"):
                    reasons.append(f"{ctx_name}: {latest.status}/{latest.conclusion}")
            elif stats:
                if stats[-1].state != "success":
                    reasons.append(f"{ctx_name}: {stats[-1].state}")
            else:
                reasons.append(f"{ctx_name}: expected, not reported")
        return reasons

    # ================================================================== webhooks
    def _installation_for(self, a: App, r: Repo | None) -> Installation | None:
        if r is None:
            return None
        for inst in self.installations.values():
            if inst.app_id == a.id and self._inst_has_repo(inst, r):
                return inst
        return None

    def _webhook_targets(self, r: Repo | None, event: str, *, subscribed_only: bool = True,
                         apps: set | None = None) -> list:
        targets = []
        installed_any = False
        for a in self.apps.values():
            if apps is not None and a.id not in apps:
                continue
            inst = self._installation_for(a, r)
            if r is not None and inst is None:
                continue
            installed_any = True
            if subscribed_only and event not in a.events:
                continue
            targets.append((a, inst, a.webhook_url or self.webhook_url, a.webhook_secret or self.webhook_secret))
        if not installed_any and apps is None:
            targets.append((None, None, self.webhook_url, self.webhook_secret))
        return targets

    def emit(self, event: str, action: str | None, r: Repo | None, sender: str | None, *,
             apps: set | None = None, **extra) -> list:
        """Build and queue the delivery of ``event.action`` to every subscribed App."""
        from .webhooks import build_payload

        futs = []
        for a, inst, url, secret in self._webhook_targets(r, event, apps=apps):
            payload = build_payload(self, event, action, repo=r, sender=sender or self.default_user,
                                    installation=inst, extra=extra)
            _, fut = self._enqueue(event, action, payload, a, inst, url, secret, r)
            futs.append(fut)
        return futs

    def _enqueue(self, event, action, payload, app, inst, url, secret, r, *,
                 validate: bool = True) -> tuple[Delivery, asyncio.Future]:
        from .webhooks import signed_headers

        body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
        guid = str(uuid.uuid4())
        headers = signed_headers(event, guid, body, secret, hook_id=app.hook_id if app else 1,
                                 app_id=app.id if app else None)
        d = Delivery(id=self._next_id(), guid=guid, event=event, action=action, payload=payload, body=body,
                     headers=headers, url=url, installation_id=inst.id if inst else None,
                     repository_id=r.id if r else None)
        self.deliveries.append(d)
        if self.validate_webhooks and self.spec_dir and validate:
            try:
                errs = specmod.validate_webhook_payload(event, action, payload, self.spec_dir)
            except LookupError:
                errs = []
            if errs:
                self._violation("webhook", "POST", url or "<no webhook url>",
                                f"{event}.{action} payload does not match webhooks.openapi.json: "
                                + "; ".join(errs[:5]))
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = asyncio.new_event_loop()
        fut = loop.create_future()
        if not self.send_webhooks or url is None or self._queue is None:
            if self._queue is None and self.send_webhooks and url is not None:
                d.error = "fake GitHub not started"
            fut.set_result(d)
            return d, fut
        self._pending.add(fut)
        fut.add_done_callback(self._pending.discard)
        self._queue.put_nowait((d, fut))
        return d, fut

    async def _delivery_worker(self) -> None:
        assert self._queue is not None
        while True:
            d, fut = await self._queue.get()
            try:
                await self._send(d)
            except Exception as exc:  # noqa: BLE001
                d.error = repr(exc)
            finally:
                if not fut.done():
                    fut.set_result(d)

    async def _send(self, d: Delivery) -> None:
        assert self._session is not None
        t0 = time.monotonic()
        d.sent = True
        try:
            async with self._session.post(d.url, data=d.body, headers=d.headers) as resp:
                d.status = resp.status
                d.response_body = (await resp.read())[:10000].decode("utf-8", "replace")
        except Exception as exc:  # noqa: BLE001
            d.error = f"{type(exc).__name__}: {exc}"
            log.warning("webhook %s.%s to %s failed: %s", d.event, d.action, d.url, d.error)
        d.duration = time.monotonic() - t0

    async def redeliver(self, delivery: Delivery) -> Delivery:
        from .webhooks import signed_headers

        guid = delivery.guid
        app = next((a for a in self.apps.values() if a.hook_id == int(delivery.headers.get("X-GitHub-Hook-ID", 0))),
                   None)
        secret = (app.webhook_secret if app else None) or self.webhook_secret
        headers = signed_headers(delivery.event, guid, delivery.body, secret, hook_id=app.hook_id if app else 1,
                                 app_id=app.id if app else None)
        d = Delivery(id=self._next_id(), guid=guid, event=delivery.event, action=delivery.action,
                     payload=delivery.payload, body=delivery.body, headers=headers, url=delivery.url,
                     installation_id=delivery.installation_id, repository_id=delivery.repository_id, redelivery=True)
        self.deliveries.append(d)
        if self.send_webhooks and d.url and self._session:
            await self._send(d)
        return d

    def deliveries_of(self, event: str, action: str | None = None) -> list[Delivery]:
        return [d for d in self.deliveries if d.event == event and (action is None or d.action == action)]

    # ================================================================== faults
    def inject(self, method: str, path_pattern: str, kind: str | int, times: int | None = 1, *,
               delay: float = 1.0, status: int | None = None, reset_in: float = 1.0, retry_after: int = 1) -> Fault:
        """Make matching requests fail.

        ``method``: HTTP method or ``"*"``. ``path_pattern``: an OpenAPI template
        (``/repos/{owner}/{repo}/check-runs``), a concrete path, or a mix; ``{x}`` matches
        one path segment. ``kind``: ``"500"``, ``"502"``, ``"401"`` (Bad credentials),
        ``"secondary_rate_limit"`` (403 + Retry-After), ``"primary_rate_limit"`` (403, or
        ``status=429``, with x-ratelimit-remaining 0 until ``reset_in`` seconds pass),
        ``"slow"`` (sleep ``delay`` seconds, then answer normally), ``"drop"`` (close the
        connection without answering), or any status code. ``times=None``: forever.
        """
        kind = str(kind)
        known = {"500", "502", "401", "secondary_rate_limit", "primary_rate_limit", "slow", "drop"}
        if kind not in known and not kind.isdigit():
            raise ValueError(f"unknown fault kind {kind!r}")
        f = Fault(method.upper(), path_pattern, kind, times, delay=delay, status=status, reset_in=reset_in,
                  retry_after=retry_after)
        self.faults.append(f)
        return f

    def clear_faults(self) -> None:
        self.faults.clear()

    def _take_fault(self, method: str, path: str, template: str | None) -> Fault | None:
        for f in list(self.faults):
            if f.method not in ("*", method):
                continue
            if not (path_matches(f.pattern, path) or (template and specmod.template_matches(template, f.pattern))):
                continue
            f.hits += 1
            if f.times is not None:
                f.times -= 1
                if f.times <= 0:
                    self.faults.remove(f)
            return f
        return None

    # ================================================================== recording
    def calls_to(self, method: str | None, path_pattern: str) -> list[Call]:
        """Calls whose method matches (None/"*" = any) and whose path matches the pattern
        (OpenAPI template like ``/repos/{owner}/{repo}/check-runs``, a concrete path, or a mix)."""
        out = []
        for c in self.calls:
            if method not in (None, "*") and c.method != method.upper():
                continue
            if path_matches(path_pattern, c.path) or (c.template and specmod.template_matches(c.template, path_pattern)):
                out.append(c)
        return out

    def _violation(self, kind: str, method: str, path: str, message: str, template: str | None = None) -> None:
        v = Violation(kind, method, path, message, template)
        log.warning("fake GitHub violation: %s", v)
        self.violations.append(v)

    def assert_no_violations(self) -> None:
        """Raise AssertionError listing every invalid request/response seen so far."""
        if self.violations:
            lines = "\n".join(f"  {i + 1}. {v}" for i, v in enumerate(self.violations))
            raise AssertionError(f"{len(self.violations)} GitHub API violation(s):\n{lines}")

    def clear(self) -> None:
        """Forget recorded calls, violations and deliveries."""
        self.calls.clear()
        self.violations.clear()
        self.deliveries.clear()

    # ================================================================== state accessors
    def issue(self, repo: str, number: int) -> Issue:
        return self.repo(repo).issues[number]

    def issues(self, repo: str, *, state: str = "all", pulls: bool = False) -> list[Issue]:
        return [i for i in self.repo(repo).issues.values()
                if (state == "all" or i.state == state) and (pulls or i.pull is None)]

    def pull_request(self, repo: str, number: int) -> PullRequest:
        return self.repo(repo).pulls[number]

    def comments(self, repo: str, number: int) -> list[Comment]:
        r = self.repo(repo)
        return [r.comments[c] for c in r.issues[number].comment_ids if c in r.comments]

    def labels(self, repo: str, number: int | None = None) -> list[str]:
        """Label names of an issue/PR, or every label of the repo."""
        r = self.repo(repo)
        if number is None:
            return [lb.name for lb in r.labels.values()]
        return list(r.issues[number].labels)

    def check_runs(self, repo: str, head_sha: str | None = None, *, name: str | None = None) -> list[CheckRun]:
        return [c for c in self.repo(repo).check_runs.values()
                if (head_sha is None or c.head_sha == head_sha) and (name is None or c.name == name)]

    def check_run(self, repo: str, check_run_id: int) -> CheckRun:
        return self.repo(repo).check_runs[check_run_id]

    def check_suites(self, repo: str, head_sha: str | None = None) -> list[CheckSuite]:
        return [s for s in self.repo(repo).check_suites.values() if head_sha is None or s.head_sha == head_sha]

    def statuses(self, repo: str, sha: str | None = None):
        return [s for s in self.repo(repo).statuses if sha is None or s.sha == sha]

    def deployments(self, repo: str):
        return list(self.repo(repo).deployments.values())

    def reactions(self, repo: str, *, issue: int | None = None, comment_id: int | None = None) -> list[Reaction]:
        r = self.repo(repo)
        if comment_id is not None:
            return list(r.comments[comment_id].reactions)
        return list(r.issues[issue].reactions)

    # ================================================================== HTTP pipeline
    def rest_fill(self, component: str, obj: dict) -> dict:
        if not self.spec_dir:
            return obj
        f = specmod.rest_filler(self.spec_dir)
        return f.fill(f.component(component), obj)

    def _bucket(self, key: str) -> dict:
        b = self._buckets.get(key)
        now = time.time()
        if b is None or now >= b["reset"]:
            limit = 60 if key == "anonymous" else self.rate_limit
            b = {"limit": limit, "used": 0, "reset": int(now) + 3600}
            self._buckets[key] = b
        return b

    def _rate_headers(self, b: dict) -> dict:
        return {
            "x-ratelimit-limit": str(b["limit"]), "x-ratelimit-remaining": str(max(0, b["limit"] - b["used"])),
            "x-ratelimit-reset": str(int(math.ceil(b["reset"]))), "x-ratelimit-used": str(b["used"]),
            "x-ratelimit-resource": "core",
        }

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        t0 = time.monotonic()
        rid = f"{secrets.token_hex(4).upper()}:{secrets.token_hex(3).upper()}:{secrets.token_hex(4).upper()}"
        method = request.method.upper()
        raw_path = request.raw_path.split("?", 1)[0]
        body_bytes = await request.read()
        match = self.router.match(raw_path)
        template = match.template if match else None
        params = match.params if match else {}
        query = MultiDict(request.query)
        call = Call(method=method, path=request.path, template=template, path_params=params,
                    query={k: v for k, v in query.items()}, json=None,
                    headers={k: v for k, v in request.headers.items() if k.lower() != "authorization"},
                    started=time.time())
        self.calls.append(call)
        auth_header = request.headers.get("Authorization", "")
        call.token = auth_header.split(None, 1)[1].strip() if " " in auth_header else (auth_header or None)
        extra_headers: dict = {"x-github-request-id": rid}
        bucket_key = "anonymous"

        def finish(status: int, body: Any = None, headers: dict | None = None, *, raw: bytes | None = None,
                   content_type: str = "application/json; charset=utf-8", validate_response: bool = True,
                   count: bool = True) -> web.Response:
            hdrs = dict(extra_headers)
            b = self._bucket(bucket_key)
            if count and template != "/rate_limit":
                b["used"] = min(b["limit"], b["used"] + 1) if b["used"] < b["limit"] else b["used"]
            hdrs.update(self._rate_headers(b))
            hdrs.update({"X-GitHub-Media-Type": "github.v3; format=json", "X-GitHub-Api-Version-Selected": "2022-11-28",
                         "Server": "GitHub.com"})
            if headers:
                hdrs.update(headers)
            if raw is not None:
                data = raw
            elif body is None:
                data = b""
            else:
                data = json.dumps(body, ensure_ascii=False).encode()
            call.status = status
            call.response = body
            call.duration = time.monotonic() - t0
            if status == 204 or (body is None and raw is None):
                resp = web.Response(status=status, headers=hdrs)
                ct = ""
            else:
                resp = web.Response(status=status, body=data, headers=hdrs)
                resp.headers["Content-Type"] = content_type
                ct = content_type.split(";")[0]
            if validate_response and self.validating and template and (method, template) in self._handlers:
                self._check_response(method, template, params, status, data, ct, hdrs, request.path)
            return resp

        def error(status: int, message: str, *, errors=None, headers=None, validate_response=True, doc=DOCS):
            body = {"message": message, "documentation_url": doc, "status": str(status)}
            if errors is not None:
                body["errors"] = self._shape_errors(method, template, status, errors)
            return finish(status, body, headers, validate_response=validate_response)

        # ---- parse body
        body: Any = None
        if body_bytes:
            try:
                body = json.loads(body_bytes)
            except ValueError:
                self._violation("json", method, request.path, "request body is not JSON", template)
                return error(400, "Problems parsing JSON", validate_response=False)
        call.json = body

        # ---- route
        if match is None:
            self._violation("unknown_path", method, request.path,
                            "no such path in GitHub's REST description", None)
            return error(404, "Not Found", validate_response=False)
        op_known = (not self.spec_dir) or specmod.operation(self.spec_dir, method, template) is not None
        if not op_known and (method, template) not in self._handlers:
            self._violation("unknown_path", method, request.path, f"{method} {template} is not an operation of the "
                            "REST description", template)
            return error(404, "Not Found", validate_response=False)

        # ---- validate the request
        invalid = None
        if self.validating and op_known:
            ct = request.headers.get("Content-Type", "application/json" if body_bytes else "")
            invalid = specmod.validate_request(self.spec_dir, method, template, params, query,
                                               {k: v for k, v in request.headers.items()}, body_bytes or None,
                                               ct.split(";")[0].strip() or "application/json")
            if invalid:
                self._violation("request", method, request.path, invalid, template)

        # ---- faults
        fault = self._take_fault(method, request.path, template)
        if fault is not None:
            call.fault = fault.kind
            resp = await self._apply_fault(fault, request, finish, error, rid)
            if resp is not None:
                return resp

        # ---- authenticate
        try:
            ident = self._authenticate(auth_header, template)
        except ApiError as e:
            return error(e.status, e.message, validate_response=False)
        bucket_key = ident.bucket
        call.auth = ident.kind if ident.kind != "anonymous" else None
        call.installation_id = ident.installation.id if ident.installation else None
        call.app_id = ident.app_id
        call.actor = ident.actor

        b = self._bucket(bucket_key)
        if b["used"] >= b["limit"] and template != "/rate_limit":
            who = f"installation ID {ident.installation.id}" if ident.installation else "your identity"
            return error(b.get("status", 403), f"API rate limit exceeded for {who}. If you reach out to GitHub "
                         "Support for help, please include the request ID " + rid + ".", validate_response=False,
                         doc="https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"
                             "#about-primary-rate-limits")

        if invalid:
            return error(422, "Invalid request.\n\n" + invalid, validate_response=False,
                         doc="https://docs.github.com/rest")

        handler = self._handlers.get((method, template))
        if handler is None:
            self._violation("unimplemented", method, request.path,
                            f"{method} {template} is valid but not implemented by the fake", template)
            return error(404, "Not Found", validate_response=False)

        ctx = Ctx(self, request, method, template, params, query, body, ident, call)
        try:
            if "{owner}" in template and "{repo}" in template:
                ctx.repo = self._authorize_repo(ident, params["owner"], params["repo"], method, template)
            elif template.startswith("/orgs/{org}"):
                self._authorize_org(ident, params["org"], method, template)
            result = handler(ctx)
            if asyncio.iscoroutine(result):
                result = await result
        except ApiError as e:
            if e.violation:
                self._violation(e.violation, method, request.path, e.message, template)
            return error(e.status, e.message, errors=e.errors, headers=e.headers)
        except (asyncio.CancelledError, KeyboardInterrupt):
            raise
        except Exception as e:  # noqa: BLE001 - a bug of the fake must fail the test, loudly
            log.exception("fake GitHub handler crashed on %s %s", method, request.path)
            self._violation("internal", method, request.path, f"the fake crashed: {type(e).__name__}: {e}",
                            template)
            return error(500, f"fake GitHub internal error: {type(e).__name__}: {e}", validate_response=False)
        status, rbody, *rest = result
        headers = dict(rest[0]) if rest else {}
        if ctx.link:
            headers["Link"] = ctx.link
        if isinstance(rbody, Raw):
            headers["Content-Type"] = rbody.content_type
            return finish(status, None, headers, raw=rbody.data, content_type=rbody.content_type,
                          validate_response=False)
        return finish(status, rbody, headers)

    def _shape_errors(self, method, template, status, errors: list) -> list:
        """``errors`` as strings or objects, whichever the endpoint documents."""
        name = specmod.response_schema_name(self.spec_dir, method, template, status) \
            if self.spec_dir and template else None
        if name == "validation-error-simple":
            return [e if isinstance(e, str) else (e.get("message") or e.get("code") or str(e)) for e in errors]
        return [e if isinstance(e, dict) else {"code": "custom", "message": str(e)} for e in errors]

    def _check_response(self, method, template, params, status, data, ct, hdrs, path) -> None:
        documented = specmod.documented_statuses(self.spec_dir, method, template)
        if status not in documented:
            if status < 400:
                self._violation("response", method, path, f"status {status} is not documented for {method} {template}",
                                template)
            return
        err = specmod.validate_response(self.spec_dir, method, template, params, status, data, ct or "", hdrs)
        if err:
            self._violation("response", method, path, f"fake answered an invalid {status}: {err}", template)

    async def _apply_fault(self, fault: Fault, request, finish, error, rid):
        k = fault.kind
        if k == "slow":
            await asyncio.sleep(fault.delay)
            return None
        if k == "drop":
            if request.transport is not None:
                request.transport.abort()
            raise asyncio.CancelledError()
        if k == "401":
            return error(401, "Bad credentials", validate_response=False)
        if k == "500":
            return error(500, "Server Error", validate_response=False)
        if k == "502":
            return finish(502, None, raw=b"<html><body><h1>502 Bad Gateway</h1></body></html>",
                          content_type="text/html; charset=utf-8", validate_response=False)
        if k == "secondary_rate_limit":
            return error(fault.status or 403, SECONDARY_LIMIT_MESSAGE.format(rid=rid),
                         headers={"Retry-After": str(fault.retry_after)}, validate_response=False,
                         doc="https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"
                             "#about-secondary-rate-limits")
        if k == "primary_rate_limit":
            ident_key = self._bucket_key_for(request.headers.get("Authorization", ""))
            b = self._bucket(ident_key)
            b["used"] = b["limit"]
            b["reset"] = time.time() + fault.reset_in
            b["status"] = fault.status or 403
            return None  # the bucket check answers
        status = int(k)
        from http import HTTPStatus

        try:
            msg = HTTPStatus(status).phrase
        except ValueError:
            msg = "Error"
        return error(status, msg, validate_response=False)

    def _bucket_key_for(self, auth_header: str) -> str:
        try:
            return self._authenticate(auth_header, "/rate_limit").bucket
        except ApiError:
            return "anonymous"

    # ================================================================== auth
    def _authenticate(self, header: str, template: str) -> Identity:
        scheme, _, cred = header.partition(" ")
        scheme = scheme.lower()
        cred = cred.strip()
        jwt_only = template in JWT_ONLY
        if not header:
            if jwt_only:
                raise ApiError(401, "A JSON web token could not be decoded")
            if self.require_auth and template not in ANY_AUTH:
                raise ApiError(401, "Requires authentication")
            return Identity("anonymous")
        if scheme not in ("bearer", "token"):
            raise ApiError(401, "Bad credentials")
        if cred.count(".") == 2 and not cred.startswith(("ghs_", "ghp_", "gho_", "ghu_")):
            app = self._verify_jwt(cred)
            if not jwt_only and template not in ANY_AUTH:
                raise ApiError(401, "A JSON web token can only be used for /app endpoints; "
                                    "use an installation access token")
            return Identity("app", app=app)
        tok = self.tokens.get(cred)
        if tok is None or tok.expires_at <= time.time():
            if jwt_only:
                raise ApiError(401, "A JSON web token could not be decoded")
            raise ApiError(401, "Bad credentials")
        if jwt_only:
            raise ApiError(401, "A JSON web token could not be decoded")
        if tok.installation_id is not None:
            inst = self.installations.get(tok.installation_id)
            if inst is None:
                raise ApiError(401, "Bad credentials")
            return Identity("installation", app=self.apps[inst.app_id], installation=inst, token=tok)
        return Identity("user", token=tok, login=tok.login)

    def _verify_jwt(self, token: str) -> App:
        import jwt as pyjwt

        try:
            header = pyjwt.get_unverified_header(token)
            claims = pyjwt.decode(token, options={"verify_signature": False})
        except pyjwt.PyJWTError:
            raise ApiError(401, "A JSON web token could not be decoded")
        if header.get("alg") != "RS256":
            raise ApiError(401, "A JSON web token could not be decoded")
        iss = claims.get("iss")
        app = None
        for a in self.apps.values():
            if str(iss) == str(a.id) or str(iss) == a.client_id:
                app = a
        if app is None:
            raise ApiError(401, "'Issuer' claim ('iss') must be an Integer" if not str(iss).isdigit()
                           else "Integration not found")
        try:
            pyjwt.decode(token, app.public_key, algorithms=["RS256"],
                         options={"verify_exp": False, "verify_iat": False, "verify_nbf": False, "verify_aud": False})
        except pyjwt.PyJWTError:
            raise ApiError(401, "A JSON web token could not be decoded")
        now = time.time()
        iat, exp = claims.get("iat"), claims.get("exp")
        if not isinstance(iat, (int, float)):
            raise ApiError(401, "'Issued at' claim ('iat') must be an Integer representing the time that the "
                                "assertion was issued.")
        if not isinstance(exp, (int, float)) or exp <= now:
            raise ApiError(401, "'Expiration time' claim ('exp') must be a numeric value representing the future "
                                "time at which the assertion expires.")
        if iat > now + 60:
            raise ApiError(401, "'Issued at' claim ('iat') must be an Integer representing a time in the past.")
        if exp - iat > 600:
            raise ApiError(401, "'Expiration time' claim ('exp') is too far in the future.")
        return app

    # permission needed per (template prefix)
    def _required_permission(self, method: str, template: str) -> tuple[str, str] | None:
        t = template
        level = "read" if method in ("GET", "HEAD") else "write"
        rules = [
            ("/check-runs", "checks"), ("/check-suites", "checks"), ("/statuses", "statuses"),
            ("/status", "statuses"), ("/protection", "administration"), ("/pulls", "pull_requests"),
            ("/issues", "issues"), ("/labels", "issues"), ("/milestones", "issues"),
            ("/deployments", "deployments"), ("/dispatches", "contents"), ("/actions", "actions"),
            ("/hooks", "repository_hooks"), ("/pages", "pages"), ("/releases", "contents"),
            ("/contents", "contents"), ("/git/", "contents"), ("/commits", "contents"), ("/compare", "contents"),
            ("/branches", "contents"), ("/collaborators", "metadata" if level == "read" else "administration"),
            ("/teams", "metadata"),
        ]
        if t.startswith("/orgs/"):
            return ("members", level)
        rest = t[len("/repos/{owner}/{repo}"):]
        if not rest:
            return ("metadata", "read") if level == "read" else ("administration", "write")
        for key, perm in rules:
            if key in rest:
                if perm == "metadata":
                    return (perm, "read")
                return (perm, level)
        return ("metadata", "read")

    def _check_permission(self, ident: Identity, method: str, template: str) -> None:
        if ident.kind != "installation" or not ident.app or not ident.app.enforce_permissions:
            return
        need = self._required_permission(method, template)
        if need is None:
            return
        perm, level = need
        have = (ident.token.permissions if ident.token else ident.installation.permissions).get(perm)
        alt = None
        if perm == "issues":  # PR comments/labels may use pull_requests permission instead
            alt = (ident.token.permissions if ident.token else {}).get("pull_requests")
        ok = lambda h: h == "write" or (h == "read" and level == "read") or (perm == "metadata" and h)  # noqa: E731
        if not (ok(have) or ok(alt)):
            raise ApiError(403, "Resource not accessible by integration",
                           headers={"x-accepted-github-permissions": f"{perm}={level}"})

    def _authorize_repo(self, ident: Identity, owner: str, name: str, method: str, template: str) -> Repo:
        r = self.repos.get(self._repo_key(f"{owner}/{name}"))
        if r is None:
            raise not_found()
        if ident.kind == "installation":
            if not self._inst_has_repo(ident.installation, r):
                raise not_found()
            if ident.token and ident.token.repos is not None and r.full_name.lower() not in ident.token.repos:
                raise not_found()
        elif ident.kind == "app":
            if template != "/repos/{owner}/{repo}/installation":
                raise not_found()
        elif ident.kind == "anonymous" and r.private and self.require_auth:
            raise not_found()
        self._check_permission(ident, method, template)
        return r

    def _authorize_org(self, ident: Identity, org: str, method: str, template: str) -> None:
        u = self.users.get(org.lower())
        if u is None or u.type != "Organization":
            raise not_found()
        if ident.kind == "installation" and ident.installation.account.lower() != org.lower():
            raise not_found()
        self._check_permission(ident, method, template)


# ---------------------------------------------------------------------- utilities


def _importable(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def _rand(n: int) -> str:
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(n))


def _bytes(content: str | bytes) -> bytes:
    return content.encode("utf-8") if isinstance(content, str) else bytes(content)


_pattern_cache: dict[str, re.Pattern] = {}


def path_matches(pattern: str, path: str) -> bool:
    """``/repos/{owner}/{repo}/issues/{n}`` matches ``/repos/a/b/issues/3``; ``*`` matches anything."""
    rx = _pattern_cache.get(pattern)
    if rx is None:
        out = ""
        for part in re.split(r"({[^}]*}|\*)", pattern.split("?")[0].rstrip("/") or "/"):
            if part == "*":
                out += ".*"
            elif part.startswith("{") and part.endswith("}"):
                out += ".+" if part[1:-1] in specmod.GREEDY_PARAMS else "[^/]+"
            else:
                out += re.escape(part)
        rx = re.compile("^" + out + "/?$")
        _pattern_cache[pattern] = rx
    return bool(rx.match(path))
