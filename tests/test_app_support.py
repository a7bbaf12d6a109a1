"""The world the App tests run in: the fake GitHub seeded with the example repository
(``acme/shop``) and the real App server with its real features, talking over loopback.

Changes are plain dicts of files; the broken one needs only rules that are stable (a
migration without its rollback, types not regenerated), the fix adds both.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bot.features import checks as checks_feature
from bot.features import commands as commands_feature
from bot.render import COMPLETENESS, SAFETY
from bot.github import GitHubClient, RetryPolicy
from bot.metrics import Metrics
from bot.server import RunningServer, start
from bot.store import Store

from .test_bot_support import APP_ID, SECRET, make_settings, public_key_pem

fakegithub = pytest.importorskip("bot.fakegithub")

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "shop-monorepo"
REPO = "acme/shop"
WRITER, READER_USER = "alice", "bob"
FEATURES = [checks_feature, commands_feature]

MIGRATION = "supabase/migrations/20240401120000_add_nickname.sql"
ROLLBACK = "supabase/rollbacks/20240401120000_add_nickname.down.sql"
TYPES = "apps/database-service/src/database.types.ts"

BROKEN = {MIGRATION: "alter table public.users add column nickname text;\n"}


def fixed_types() -> str:
    text = (EXAMPLE / TYPES).read_text()
    # regenerated types: the new column in Row, Insert and Update of users
    out, in_users = [], False
    for line in text.splitlines(keepends=True):
        if line.strip() == "users: {":
            in_users = True
        if in_users and line.strip() in ("Row: {", "Insert: {", "Update: {"):
            out.append(line)
            indent = line[: len(line) - len(line.lstrip())] + "  "
            opt = "" if line.strip() == "Row: {" else "?"
            out.append(f"{indent}nickname{opt}: string | null\n")
            if line.strip() == "Update: {":
                in_users = False
            continue
        out.append(line)
    return "".join(out)


FIX = {ROLLBACK: "alter table public.users drop column if exists nickname;\n"}


def fix_files() -> dict[str, str]:
    return {**FIX, TYPES: fixed_types()}


@dataclass
class World:
    fake: Any
    server: RunningServer
    tmp: Path

    @property
    def store(self):
        return self.server.services.store

    async def settle(self, rounds: int = 4) -> None:
        for _ in range(rounds):  # our calls trigger webhooks, which trigger handlers…
            await self.fake.wait_idle(30)
            await self.server.services.queue.wait_idle(30)

    def runs(self, name: str = COMPLETENESS, head: str | None = None) -> list:
        return self.fake.check_runs(REPO, head, name=name)

    def comments(self, number: int, marker: str = "completeness") -> list:
        return [c for c in self.fake.comments(REPO, number) if f"<!-- dlcm:{marker} -->" in c.body]

    def replies(self, number: int) -> list:
        return [c for c in self.fake.comments(REPO, number) if "<!-- dlcm:reply-" in c.body]

    def assert_healthy(self) -> None:
        self.fake.assert_no_violations()
        counts = self.store.counts_by_status()
        assert counts["dead"] == 0 and counts["pending"] == 0 and counts["running"] == 0, counts


# GitHub's waits, scaled down for tests (a secondary limit still waits its Retry-After).
FAST_RETRIES = RetryPolicy(backoff_base=0.05, backoff_cap=0.5, secondary_wait=1.0, timeout=10.0)


async def open_world(tmp_path: Path, **settings: Any):
    fake = fakegithub.FakeGitHub()
    await fake.start()
    config = make_settings(tmp_path, github_api_url=fake.url, **settings)
    store, metrics = Store(config.db_path), Metrics()
    github = GitHubClient.from_settings(config, store=store, metrics=metrics, policy=FAST_RETRIES)
    server = await start(
        config,
        FEATURES,
        host="127.0.0.1",
        port=0,
        store=store,
        metrics=metrics,
        github=github,
        queue_options={"poll_interval": 0.05, "backoff_base": 0.05, "backoff_cap": 0.5},
    )
    fake.register_app(APP_ID, public_key_pem(), "dlcm", webhook_url=f"{server.url}/webhooks",
                      webhook_secret=SECRET)
    fake.create_repo(REPO, EXAMPLE)
    fake.set_permission(REPO, WRITER, "write")
    fake.set_permission(REPO, READER_USER, "read")
    return World(fake, server, tmp_path)


async def close_world(world: World) -> None:
    await world.server.stop()
    world.store.close()
    await world.fake.stop()


@pytest.fixture
async def world(tmp_path):
    w = await open_world(tmp_path)
    try:
        yield w
    finally:
        await close_world(w)


__all__ = ["BROKEN", "COMPLETENESS", "FIX", "MIGRATION", "REPO", "ROLLBACK", "SAFETY", "TYPES", "World",
           "fix_files", "world"]
