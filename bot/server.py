"""The App's HTTP side: receive webhooks, store them, answer fast; health and metrics.

``POST /webhooks``
    401 bad or missing ``X-Hub-Signature-256`` (nothing stored) · 400 missing GitHub
    headers or a body that is not a JSON object · 413 over 25 MB · 200 ``pong`` for
    ``ping`` · 200 ``duplicate`` for a delivery id already stored · 200 ``ignored`` (stored
    as done) for events from bots / this App · otherwise 202 once the delivery is committed
    to SQLite (on the store's own ack connection, concurrent deliveries sharing one commit,
    see :class:`bot.store.GroupCommit`); workers handle it afterwards.
``GET /healthz``
    200 with queue depth when the database answers, 503 otherwise.
``GET /metrics``
    Prometheus text exposition.

Start it with :func:`run` (blocking, ``dlcm serve``), :func:`start` (inside an event loop,
returns a :class:`RunningServer`) or ``python -m bot.server`` (settings from the
environment; what a kill -9 test spawns).
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import socket
import sys
import time
import urllib.parse
from collections.abc import Iterable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from aiohttp import web
from gidgethub import ValidationFailure, sansio
from gidgethub.routing import Router

from . import metrics as metrics_mod
from .github import GitHubClient
from .metrics import Metrics
from .queue import JobQueue
from .routing import (
    Dispatcher,
    compose,
    discover_features,
    ignore_reason,
    installation_of,
    ordering_key,
)
from .settings import Settings, SettingsError, load_settings
from .store import DONE, PENDING, Store

log = logging.getLogger("dlcm.server")

MAX_PAYLOAD = 25 * 1024 * 1024  # GitHub caps webhook payloads at 25 MB
SWITCH_INTERVAL = 0.001  # seconds, sys.setswitchinterval of the serving process (see run)
WEBHOOK_PATH = "/webhooks"


@dataclass
class Services:
    """Everything the request handlers and the workers share."""

    settings: Settings
    store: Store
    metrics: Metrics
    github: GitHubClient
    router: Router
    queue: JobQueue
    own_store: bool = True


SERVICES = web.AppKey("dlcm", Services)
PRUNER = web.AppKey("dlcm-pruner", asyncio.Task)


def _json(http_status: int, /, **body: Any) -> web.Response:
    return web.json_response(body, status=http_status)


def _decode(content_type: str, body: bytes) -> tuple[str, Any]:
    """(JSON text, payload) of a JSON or form-encoded (``payload=``) delivery; ValueError else."""
    text = body.decode("utf-8")
    if content_type == "application/x-www-form-urlencoded":
        form = urllib.parse.parse_qs(text)
        if "payload" not in form:
            raise ValueError("form body without a 'payload' field")
        text = form["payload"][0]
    return text, json.loads(text)


async def webhook(request: web.Request) -> web.Response:
    svc = request.app[SERVICES]
    counted = svc.metrics.deliveries
    event = request.headers.get("X-GitHub-Event", "")
    # Until the signature is checked the event name is attacker-chosen: keep it off labels.
    label = "unverified"

    if request.content_length is not None and request.content_length > MAX_PAYLOAD:
        counted.inc(event=label, outcome="too_large")
        return _json(413, error=f"payload over {MAX_PAYLOAD} bytes")
    try:
        body = await request.read()
    except web.HTTPRequestEntityTooLarge:
        counted.inc(event=label, outcome="too_large")
        return _json(413, error=f"payload over {MAX_PAYLOAD} bytes")

    signature = request.headers.get("X-Hub-Signature-256")
    if not signature:
        counted.inc(event=label, outcome="bad_signature")
        return _json(401, error="missing X-Hub-Signature-256 header")
    if not signature.startswith("sha256="):
        counted.inc(event=label, outcome="bad_signature")
        return _json(401, error="X-Hub-Signature-256 must be 'sha256=<hex>'")
    try:
        sansio.validate_event(
            body, signature=signature, secret=svc.settings.webhook_secret.get_secret_value()
        )
    except ValidationFailure:
        counted.inc(event=label, outcome="bad_signature")
        return _json(401, error="X-Hub-Signature-256 does not match the payload and secret")

    delivery_id = request.headers.get("X-GitHub-Delivery", "")
    missing = [
        h for h, v in (("X-GitHub-Event", event), ("X-GitHub-Delivery", delivery_id)) if not v
    ]
    if missing:
        counted.inc(event=label, outcome="bad_request")
        return _json(400, error=f"missing header(s): {', '.join(missing)}")
    try:
        if len(body) > 1024 * 1024:
            raw, payload = await asyncio.to_thread(_decode, request.content_type, body)
        else:
            raw, payload = _decode(request.content_type, body)
    except ValueError as exc:  # UnicodeDecodeError and JSONDecodeError included
        counted.inc(event=event, outcome="bad_request")
        return _json(400, error=f"body is not valid JSON: {exc}")
    if not isinstance(payload, dict):
        counted.inc(event=event, outcome="bad_request")
        return _json(400, error="body must be a JSON object")

    action = payload.get("action") if isinstance(payload.get("action"), str) else None
    common = dict(
        delivery_id=delivery_id,
        event=event,
        action=action,
        payload=raw,
        installation_id=installation_of(payload),
        ordering_key=ordering_key(event, payload),
    )
    if event == "ping":
        await svc.queue.enqueue(**common, status=DONE, outcome="ping")
        counted.inc(event=event, outcome="ping")
        return _json(200, status="pong", zen=payload.get("zen"))

    reason = ignore_reason(event, payload, bot_login=svc.settings.bot_login)
    inserted = await svc.queue.enqueue(
        **common,
        status=DONE if reason else PENDING,
        outcome=f"ignored: {reason}" if reason else None,
    )
    if not inserted:
        counted.inc(event=event, outcome="duplicate")
        return _json(200, status="duplicate", delivery=delivery_id)
    if reason:
        counted.inc(event=event, outcome="ignored")
        return _json(200, status="ignored", reason=reason, delivery=delivery_id)
    counted.inc(event=event, outcome="accepted")
    return _json(202, status="queued", delivery=delivery_id)


async def healthz(request: web.Request) -> web.Response:
    svc = request.app[SERVICES]
    try:
        await svc.store.arun(svc.store.ping)
        counts = await svc.store.arun(svc.store.counts_by_status)
        # in a thread too: the event loop must never wait for the store's lock (acks!)
        version = await svc.store.arun(svc.store.schema_version)
    except Exception as exc:  # the point of a health check is to report, not to crash
        return _json(503, status="error", db=f"{type(exc).__name__}: {exc}")
    return _json(
        200,
        status="ok",
        db="ok",
        queue=counts,
        workers=svc.queue.worker_count,
        schema_version=version,
    )


async def metrics_endpoint(request: web.Request) -> web.Response:
    svc = request.app[SERVICES]
    counts = await svc.store.arun(svc.store.counts_by_status)
    for status, n in counts.items():
        svc.metrics.queue_depth.set(n, status=status)
    svc.metrics.dead_jobs.set(counts["dead"])
    return web.Response(
        body=svc.metrics.render().encode(), headers={"Content-Type": metrics_mod.CONTENT_TYPE}
    )


async def _prune_forever(svc: Services, every: float = 3600) -> None:
    """Delete done deliveries past the retention period, hourly (dead ones stay)."""
    while True:
        before = time.time() - svc.settings.retention_days * 86400
        try:
            if pruned := await svc.store.arun(svc.store.prune_done, before):
                log.info(
                    "pruned %d delivered jobs older than %d days",
                    pruned,
                    svc.settings.retention_days,
                )
        except Exception:
            log.exception("pruning old deliveries failed")
        await asyncio.sleep(every)


async def _on_startup(app: web.Application) -> None:
    svc = app[SERVICES]
    await svc.queue.start()
    if svc.settings.retention_days:
        app[PRUNER] = asyncio.create_task(_prune_forever(svc), name="dlcm-prune")
    log.info(
        "dlcm listening for webhooks; %d workers, database %s",
        svc.queue.workers,
        svc.settings.db_path,
    )


async def _on_cleanup(app: web.Application) -> None:
    svc = app[SERVICES]
    if (pruner := app.get(PRUNER)) is not None:
        pruner.cancel()
    await svc.queue.stop()
    await svc.github.close()
    if svc.own_store:
        svc.store.close()


def create_app(
    settings: Settings,
    handlers: Iterable[Router | ModuleType] | None = None,
    *,
    store: Store | None = None,
    github: GitHubClient | None = None,
    metrics: Metrics | None = None,
    queue_options: dict[str, Any] | None = None,
) -> web.Application:
    """The aiohttp application (workers start with the app, stop on cleanup).

    ``handlers``: routers or feature modules exposing ``router``; by default every module
    of ``bot.features``. ``queue_options`` are passed to :class:`JobQueue` (e.g.
    ``backoff_base`` for tests); ``github`` replaces the client built from the settings.
    """
    own_store = store is None
    store = store or Store(settings.db_path)
    metrics = metrics or Metrics()
    github = github or GitHubClient.from_settings(settings, store=store, metrics=metrics)
    features = list(discover_features() if handlers is None else handlers)
    router = compose(*features)
    dispatcher = Dispatcher(router, store=store, settings=settings, metrics=metrics, github=github)
    options = {
        "workers": settings.workers,
        "max_attempts": settings.max_attempts,
        **(queue_options or {}),
    }
    queue = JobQueue(store, dispatcher, metrics=metrics, **options)

    app = web.Application(client_max_size=MAX_PAYLOAD)
    app[SERVICES] = Services(settings, store, metrics, github, router, queue, own_store)
    app.router.add_post(WEBHOOK_PATH, webhook)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics_endpoint)
    app.on_startup.append(_on_startup)
    app.on_cleanup.append(_on_cleanup)
    for part in features:  # a feature may add HTTP routes and background work: setup_app(app)
        if callable(setup := getattr(part, "setup_app", None)):
            setup(app)
    return app


@dataclass
class RunningServer:
    """A server started by :func:`start`; ``await server.stop()`` shuts it down cleanly."""

    app: web.Application
    runner: web.AppRunner
    host: str
    port: int

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def services(self) -> Services:
        return self.app[SERVICES]

    async def stop(self) -> None:
        await self.runner.cleanup()


async def start(
    settings: Settings,
    handlers: Iterable[Router | ModuleType] | None = None,
    *,
    host: str | None = None,
    port: int | None = None,
    **kwargs: Any,
) -> RunningServer:
    """Start the App in the running event loop; ``port=0`` picks a free port."""
    app = create_app(settings, handlers, **kwargs)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    host = host or settings.host
    sock = socket.create_server((host, settings.port if port is None else port), reuse_port=False)
    site = web.SockSite(runner, sock)
    await site.start()
    bound_host, bound_port = sock.getsockname()[:2]
    return RunningServer(
        app, runner, "127.0.0.1" if bound_host == "0.0.0.0" else bound_host, bound_port
    )


def run(settings: Settings, handlers: Iterable[Router | ModuleType] | None = None) -> None:
    """Serve until interrupted (what ``dlcm serve`` calls)."""
    app = create_app(settings, handlers)
    # A full garbage collection walks every object of the process (every feature module is
    # loaded: 25-40 ms on the bench machine) and stops the event loop meanwhile, acks
    # included. It is rare (not once in a 20 s bench run) but a long-running server gets
    # them: collect once now and freeze what startup built, so that later full collections
    # only walk the objects made since.
    gc.collect()
    gc.freeze()
    # Threads hand the GIL over every 5 ms by default: a thread that needs it back (the
    # ack thread after its commit, or the event loop while a feature computes in a thread)
    # may wait that long each time. 1 ms bounds those waits at a small cost in switches.
    sys.setswitchinterval(SWITCH_INTERVAL)
    web.run_app(
        app,
        host=settings.host,
        port=settings.port,
        print=lambda *_: None,
        access_log=None,
    )


def main(argv: list[str] | None = None) -> int:
    """``python -m bot.server``: settings from the environment / ``.env``, serve forever."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        return 2
    print(f"dlcm listening on http://{settings.host}:{settings.port}{WEBHOOK_PATH}", flush=True)
    run(settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
