"""The world of the change-request tests: the fake GitHub with the example repository owned by the
organisation ``shop`` (whose teams own it in ``.github/components.yml``), the real App with the
checks, commands and change-request features, people with and without write access and team
membership, and a local receiver for the outgoing webhook.

People: ``carol`` (writer, opens the requests), ``alice`` (writer, member of ``@shop/backend``),
``dave`` (writer, member of ``@shop/data-team``), ``erin`` (writer, in no owning team), ``bob``
(read only, member of ``@shop/bot-team``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from bot.features import change_requests as cr_feature
from bot.features import checks as checks_feature
from bot.features import commands as commands_feature
from bot.github import GitHubClient
from bot.metrics import Metrics
from bot.server import RunningServer, start
from bot.store import Store

from .test_app_support import EXAMPLE, FAST_RETRIES, MIGRATION, ROLLBACK, TYPES, fixed_types
from .test_bot_support import APP_ID, SECRET, make_settings, public_key_pem

fakegithub = pytest.importorskip("bot.fakegithub")

REPO = "shop/monorepo"
AUTHOR, BACKEND, DATA, OUTSIDER, READONLY = "carol", "alice", "dave", "erin", "bob"
FEATURES = [checks_feature, commands_feature, cr_feature]

SUPABASE = "apps/database-service/src/repositories/supabase/supabase-user-repository.ts"
MEMORY = "apps/database-service/src/repositories/memory/memory-user-repository.ts"
TEST_FILE = "apps/database-service/src/__tests__/users.test.ts"

FORM_LABELS = {"summary": "Summary", "change_type": "Change type", "tables": "Table(s)",
               "columns": "Column(s) with type", "endpoints": "Endpoint(s)", "components": "Affected components",
               "breaking": "Breaking change", "motivation": "Motivation", "rollback_plan": "Rollback plan",
               "target_date": "Target date"}


def form_body(**fields: str | None) -> str:
    """An issue body exactly as GitHub renders the dlcm issue form."""
    base: dict[str, str | None] = {
        "summary": "Nickname on users", "change_type": "add-field", "tables": "public.users",
        "columns": "nickname text null", "endpoints": None, "components": "database-service", "breaking": "no",
        "motivation": "The Telegram bot greets people by their nickname.",
        "rollback_plan": "Drop the column (the down migration does it).", "target_date": None,
    }
    base.update(fields)
    return "\n\n".join(f"### {FORM_LABELS[k]}\n\n{v or '_No response_'}" for k, v in base.items()) + "\n"


def nickname_pr_files() -> dict[str, str]:
    """A complete implementation of "nickname on users": migration, rollback, types, both
    repository implementations and a test."""
    sup = (EXAMPLE / SUPABASE).read_text().replace("language_code, phone, created_at",
                                                   "language_code, phone, nickname, created_at")
    mem = (EXAMPLE / MEMORY).read_text().replace("      phone: input.phone ?? null,\n",
                                                 "      phone: input.phone ?? null,\n      nickname: null,\n")
    test = (EXAMPLE / TEST_FILE).read_text() + (
        "\ndescribe('nickname', () => {\n"
        "  it('is null for a new user', async () => {\n"
        "    const { call } = setup()\n"
        "    const user = await (await call('POST', '/users', alice)).json()\n"
        "    expect(user.nickname).toBeNull()\n"
        "  })\n"
        "})\n")
    return {
        MIGRATION: "alter table public.users add column nickname text;\n",
        ROLLBACK: "alter table public.users drop column if exists nickname;\n",
        TYPES: fixed_types(), SUPABASE: sup, MEMORY: mem, TEST_FILE: test,
    }


@dataclass
class Receiver:
    """A local HTTP endpoint standing for Slack (or any JSON webhook)."""

    url: str = ""
    received: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    runner: web.AppRunner | None = None

    async def start(self) -> Receiver:
        async def hook(request: web.Request) -> web.Response:
            self.received.append(json.loads(await request.text()))
            self.headers.append(dict(request.headers))
            return web.json_response({"ok": True})

        app = web.Application()
        app.router.add_post("/hook", hook)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}/hook"
        return self

    async def stop(self) -> None:
        if self.runner:
            await self.runner.cleanup()


@dataclass
class CRWorld:
    fake: Any
    server: RunningServer
    receiver: Receiver
    tmp: Path

    @property
    def store(self) -> Store:
        return self.server.services.store

    @property
    def crs(self):
        return cr_feature.crs_of(self.store)

    async def settle(self, rounds: int = 4) -> None:
        for _ in range(rounds):
            await self.fake.wait_idle(30)
            await self.server.services.queue.wait_idle(30)

    async def open_request(self, body: str | None = None, *, title: str = "[DLCM] Nickname on users",
                           user: str = AUTHOR) -> Any:
        issue = await self.fake.create_issue(REPO, title, body or form_body(), user=user,
                                             labels=["data-layer-change"])
        await self.settle()
        return issue

    def cr(self, issue: int):
        return self.crs.get(REPO, issue)

    def comments(self, number: int, marker: str) -> list:
        return [c for c in self.fake.comments(REPO, number) if f"<!-- dlcm:{marker} -->" in c.body]

    async def command(self, number: int, text: str, user: str) -> str:
        comment = await self.fake.create_comment(REPO, number, text, user=user)
        await self.settle()
        [reply] = [c for c in self.fake.comments(REPO, number) if f"<!-- dlcm:reply-{comment.id} -->" in c.body]
        return reply.body

    async def set_config(self, text: str) -> None:
        self.fake.commit(REPO, "main", {".github/dlcm.yml": text}, message="dlcm config")

    def assert_healthy(self) -> None:
        self.fake.assert_no_violations()
        counts = self.store.counts_by_status()
        assert counts["dead"] == 0 and counts["pending"] == 0 and counts["running"] == 0, counts
        stuck = self.store.db.conn.execute(
            "SELECT kind, last_error FROM cr_outbox WHERE status != 'done'").fetchall()
        assert not stuck, [dict(r) for r in stuck]


async def open_cr_world(tmp_path: Path, *, webhook: bool = True, **settings: Any) -> CRWorld:
    receiver = await Receiver().start()
    fake = fakegithub.FakeGitHub()
    await fake.start()
    config = make_settings(tmp_path, github_api_url=fake.url, **settings)
    store, metrics = Store(config.db_path), Metrics()
    github = GitHubClient.from_settings(config, store=store, metrics=metrics, policy=FAST_RETRIES)
    server = await start(config, FEATURES, host="127.0.0.1", port=0, store=store, metrics=metrics, github=github,
                         queue_options={"poll_interval": 0.05, "backoff_base": 0.05, "backoff_cap": 0.5})
    fake.register_app(APP_ID, public_key_pem(), "dlcm", webhook_url=f"{server.url}/webhooks",
                      webhook_secret=SECRET)
    files = {".github/dlcm.yml": f"change_requests:\n  notify_webhook: {receiver.url}\n"} if webhook else None
    fake.create_repo(REPO, EXAMPLE, files=files)
    for user in (AUTHOR, BACKEND, DATA, OUTSIDER):
        fake.set_permission(REPO, user, "write")
    fake.set_permission(REPO, READONLY, "read")
    fake.add_team("shop", "data-team", members=[DATA], repos={REPO: "push"})
    fake.add_team("shop", "backend", members=[BACKEND], repos={REPO: "push"})
    fake.add_team("shop", "bot-team", members=[READONLY], repos={REPO: "pull"})
    fake.add_team("shop", "web-team", members=[AUTHOR], repos={REPO: "push"})
    return CRWorld(fake, server, receiver, tmp_path)


async def close_cr_world(world: CRWorld) -> None:
    await world.server.stop()
    world.store.close()
    await world.fake.stop()
    await world.receiver.stop()


@pytest.fixture
async def cr_world(tmp_path):
    w = await open_cr_world(tmp_path)
    try:
        yield w
    finally:
        await close_cr_world(w)


__all__ = ["AUTHOR", "BACKEND", "CRWorld", "DATA", "MEMORY", "OUTSIDER", "READONLY", "REPO", "Receiver", "SUPABASE",
           "TEST_FILE", "close_cr_world", "cr_world", "form_body", "nickname_pr_files", "open_cr_world"]
