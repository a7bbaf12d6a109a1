"""Dispatch stored deliveries to feature handlers (bedevere style).

Each feature module owns a ``gidgethub.routing.Router`` named ``router``::

    # bot/features/news.py
    from gidgethub.routing import Router
    router = Router()

    @router.register("pull_request", action="opened")
    async def pr_opened(event, gh, ctx):
        await gh.upsert_comment(ctx.repo, event.data["number"], "welcome", "Hello!")

Modules in the ``bot.features`` package are discovered automatically
(:func:`discover_features`); ``create_app(settings, handlers=[...])`` takes routers or
modules explicitly instead. All handlers registered for an (event, action) run for a
delivery; if one fails the whole job is retried, so handlers must be idempotent (use the
``gh.upsert_*`` helpers and the store's indexes).

The decisions – which events are ignored, what a delivery's ordering key is – are pure
functions of the payload.
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from gidgethub import sansio
from gidgethub.routing import Router

from .github import GitHubClient, InstallationAPI
from .metrics import Metrics
from .settings import Settings
from .store import Delivery, Store

log = logging.getLogger("dlcm.routing")

FEATURES_PACKAGE = "bot.features"

# Events a bot (even this App) may trigger that dlcm must still handle: a migration PR
# opened by Renovate or Dependabot needs its required check like any other.
# Deployments are mostly made by bots (GitHub Actions) and move change requests along.
BOT_EVENTS_HANDLED = frozenset({"pull_request", "push", "check_suite", "merge_group", "deployment_status"})

# The core router: App-level bookkeeping every deployment needs.
router = Router()


@router.register("installation", action="deleted")
@router.register("installation", action="suspend")
async def installation_gone(event: sansio.Event, gh: Any, ctx: Context) -> None:
    """Forget the token of an installation that was removed or suspended."""
    if ctx.github is not None and ctx.installation_id is not None:
        ctx.github.tokens.invalidate(ctx.installation_id)


@dataclass
class Context:
    """What a handler gets besides the event and the GitHub client."""

    store: Store
    settings: Settings
    metrics: Metrics
    delivery: Delivery
    github: GitHubClient | None
    log: logging.Logger

    @property
    def installation_id(self) -> int | None:
        return self.delivery.installation_id

    @property
    def repo(self) -> str | None:
        """``owner/name`` of the delivery's repository, if it has one."""
        return repository_of(self.delivery.payload)


def repository_of(payload: dict[str, Any]) -> str | None:
    repo = payload.get("repository")
    return repo.get("full_name") if isinstance(repo, dict) else None


def installation_of(payload: dict[str, Any]) -> int | None:
    inst = payload.get("installation")
    return inst.get("id") if isinstance(inst, dict) and isinstance(inst.get("id"), int) else None


def ordering_key(event: str, payload: dict[str, Any]) -> str | None:
    """Deliveries with the same key are handled in order, one at a time.

    Issues and pull requests (and their comments, reviews, checks) → ``owner/repo#n``;
    pushes → ``owner/repo@ref``; other repository events → ``owner/repo``; App events
    → ``installation:<id>``.
    """
    repo = repository_of(payload)
    number = None
    for key in ("pull_request", "issue"):
        if isinstance(payload.get(key), dict) and payload[key].get("number") is not None:
            number = payload[key]["number"]
            break
    if number is None and event in ("check_run", "check_suite"):
        subject = payload.get(event) or {}
        if event == "check_run":
            subject = subject.get("check_suite") or subject
        prs = subject.get("pull_requests") or (payload.get(event) or {}).get("pull_requests") or []
        if prs and isinstance(prs[0], dict) and prs[0].get("number") is not None:
            number = prs[0]["number"]
    if repo and number is not None:
        return f"{repo}#{number}"
    if repo and event == "push" and payload.get("ref"):
        return f"{repo}@{payload['ref']}"
    if repo:
        return repo
    inst = installation_of(payload)
    return f"installation:{inst}" if inst is not None else None


def ignore_reason(
    event: str, payload: dict[str, Any], *, bot_login: str | None = None
) -> str | None:
    """Why a delivery needs no work (stored as done/ignored), or None to handle it.

    Events sent by a bot – this App (``bot_login``, i.e. ``<slug>[bot]``) or any other – are
    ignored, so bots never answer each other in a loop; except :data:`BOT_EVENTS_HANDLED`:
    a pull request opened or pushed by a bot (Renovate, or dlcm's own scaffold) still needs
    its required check, or it could never be merged.
    """
    sender = payload.get("sender") if isinstance(payload.get("sender"), dict) else {}
    login = sender.get("login") or ""
    own = bool(bot_login) and login.lower() == (bot_login or "").lower()
    if not own and sender.get("type") != "Bot":
        return None
    if event in BOT_EVENTS_HANDLED:
        return None
    return "sent by this App" if own else f"sent by the bot {login}"


def _router_of(part: Router | ModuleType) -> Router:
    if isinstance(part, Router):
        return part
    feature_router = getattr(part, "router", None)
    if not isinstance(feature_router, Router):
        raise TypeError(f"{part!r} has no gidgethub Router named 'router'")
    return feature_router


def discover_features(package: str = FEATURES_PACKAGE) -> list[ModuleType]:
    """Import every module of ``package`` that exposes a ``router`` (none if it is absent)."""
    try:
        pkg = importlib.import_module(package)
    except ModuleNotFoundError as exc:
        if exc.name and package.startswith(exc.name):
            return []
        raise
    modules = []
    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{package}.{info.name}")
        if isinstance(getattr(module, "router", None), Router):
            modules.append(module)
    return modules


def compose(*parts: Router | ModuleType) -> Router:
    """One router from the core router and the given routers / feature modules."""
    return Router(router, *(_router_of(p) for p in parts))


class Dispatcher:
    """The job handler: turns a stored delivery into ``handler(event, gh, ctx)`` calls."""

    def __init__(
        self,
        router: Router,
        *,
        store: Store,
        settings: Settings,
        metrics: Metrics,
        github: GitHubClient | None,
    ) -> None:
        self.router, self.store, self.settings = router, store, settings
        self.metrics, self.github = metrics, github

    def client_for(self, delivery: Delivery) -> InstallationAPI | None:
        if self.github is None:
            return None
        if delivery.installation_id is not None:
            return self.github.installation(delivery.installation_id)
        return self.github.app()

    async def __call__(self, delivery: Delivery) -> str:
        event = sansio.Event(
            delivery.payload, event=delivery.event, delivery_id=delivery.delivery_id
        )
        if not self.router.fetch(event):
            return "no_handler"
        ctx = Context(
            store=self.store,
            settings=self.settings,
            metrics=self.metrics,
            delivery=delivery,
            github=self.github,
            log=log.getChild(delivery.event),
        )
        await self.router.dispatch(event, self.client_for(delivery), ctx)
        return "handled"
