"""``dlcm demo``: the whole App, offline, in under a minute.

A fake GitHub (real git repositories, every request checked against GitHub's OpenAPI
description, signed webhooks) is seeded with ``examples/shop-monorepo`` as ``acme/shop``;
an App is registered with a freshly generated RSA key; the real App server
(``bot.server.start``, temporary SQLite database) receives the webhooks. Then the story:

1. Alice opens a pull request adding a ``coupons`` table – migration, rollback with RLS and
   a policy, regenerated types – with a ``CouponRepository`` implemented only for Supabase
   and a ``/coupons`` endpoint the typed client cannot call;
2. ``dlcm/completeness`` fails with annotations on those files, the sticky comment lists
   what is missing, and the required check blocks the merge;
3. she pushes the fix (Memory implementation, client methods, tests): ``synchronize`` →
   the check passes and the comment turns into "all clear";
4. ``/dlcm status`` answers in the pull request;
5. the same broken change, checked on a laptop with ``dlcm check --base main``.

Around it, the change request (``bot/features/change_requests.py``): before the pull request
Carol asks for the change with the issue form (validated, numbered DLCM-1, assigned, labelled,
checklisted, impact report posted); the pull request names DLCM-1 and the request follows it
to ``validated``; the dashboard issue and the JSON API show it at the end.

The story is a list of small step functions (:data:`STEPS`); add one with :func:`step`
(``after=`` places it). Every step checks what it expects with :meth:`Demo.expect`; the
demo exits 0 only if the whole story happened.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "shop-monorepo"
REPO = "acme/shop"
BRANCH = "add-coupons"
AUTHOR = "alice"
COMPLETENESS = "dlcm/completeness"
SAFETY = "dlcm/migration-safety"
WEBHOOK_SECRET = "demo-webhook-secret"
APP_ID = 1_000_001

SERVICE = "apps/database-service/src"
CLIENT = "packages/database-client/src"
COUPON_INTERFACE = f"{SERVICE}/repositories/coupon-repository.ts"
COUPON_ROUTES = f"{SERVICE}/routes/coupons.ts"
MEMORY_COUPONS = f"{SERVICE}/repositories/memory/memory-coupon-repository.ts"


# -- the change -----------------------------------------------------------------------------

MIGRATION = ("supabase/migrations/20240401100000_create_coupons.sql", """\
-- Discount coupons customers can redeem at checkout.

create table public.coupons (
  id uuid primary key default gen_random_uuid(),
  code text not null unique check (code ~ '^[A-Z0-9_-]{3,32}$'),
  percent_off bigint not null check (percent_off between 1 and 100),
  valid_until timestamptz,
  created_at timestamptz not null default now()
);

comment on table public.coupons is 'Discount coupons, redeemed by code.';

alter table public.coupons enable row level security;

create policy "Signed-in users can read valid coupons"
  on public.coupons for select
  to authenticated
  using (valid_until is null or valid_until > now());
""")

ROLLBACK = ("supabase/rollbacks/20240401100000_create_coupons.down.sql", """\
-- Undo 20240401100000_create_coupons.sql
drop policy if exists "Signed-in users can read valid coupons" on public.coupons;
drop table if exists public.coupons;
""")

TYPES_BLOCK = """\
      coupons: {
        Row: {
          code: string
          created_at: string
          id: string
          percent_off: number
          valid_until: string | null
        }
        Insert: {
          code: string
          created_at?: string
          id?: string
          percent_off: number
          valid_until?: string | null
        }
        Update: {
          code?: string
          created_at?: string
          id?: string
          percent_off?: number
          valid_until?: string | null
        }
        Relationships: []
      }
"""

INTERFACE = """\
import type { Coupon, NewCoupon } from './types'

/** Discount coupons (`public.coupons`), redeemed by code. */
export interface CouponRepository {
  findByCode(code: string): Promise<Coupon | null>
  create(input: NewCoupon): Promise<Coupon>
}
"""

SUPABASE_IMPL = """\
import type { CouponRepository } from '../coupon-repository'
import { toRepositoryError } from '../errors'
import type { Coupon, NewCoupon } from '../types'
import type { Db } from './client'

export class SupabaseCouponRepository implements CouponRepository {
  constructor(private readonly db: Db) {}

  async findByCode(code: string): Promise<Coupon | null> {
    const { data, error } = await this.db
      .from('coupons')
      .select('id, code, percent_off, valid_until, created_at')
      .eq('code', code)
      .maybeSingle()
    if (error) throw toRepositoryError(error)
    return data
  }

  async create(input: NewCoupon): Promise<Coupon> {
    const { data, error } = await this.db
      .from('coupons')
      .insert({ code: input.code, percent_off: input.percent_off, valid_until: input.valid_until ?? null })
      .select('id, code, percent_off, valid_until, created_at')
      .single()
    if (error) throw toRepositoryError(error)
    return data
  }
}
"""

MEMORY_IMPL = """\
import type { CouponRepository } from '../coupon-repository'
import { ConflictError } from '../errors'
import type { Coupon, NewCoupon } from '../types'

/** In-memory coupons; `code` is unique like in the table. */
export class MemoryCouponRepository implements CouponRepository {
  private readonly rows = new Map<string, Coupon>()

  async findByCode(code: string): Promise<Coupon | null> {
    const coupon = this.rows.get(code)
    return coupon ? { ...coupon } : null
  }

  async create(input: NewCoupon): Promise<Coupon> {
    if (this.rows.has(input.code)) throw new ConflictError(`coupon ${input.code} already exists`)
    const coupon: Coupon = {
      id: crypto.randomUUID(),
      code: input.code,
      percent_off: input.percent_off,
      valid_until: input.valid_until ?? null,
      created_at: new Date().toISOString(),
    }
    this.rows.set(coupon.code, coupon)
    return { ...coupon }
  }
}
"""

ROUTES = """\
import { Hono } from 'hono'
import type { AppEnv } from '../env'
import { ValidationError } from '../validation'

export const coupons = new Hono<AppEnv>()

coupons.get('/:code', async (c) => {
  const coupon = await c.var.repos.coupons.findByCode(c.req.param('code').toUpperCase())
  if (!coupon) return c.json({ error: 'coupon_not_found' }, 404)
  return c.json(coupon)
})

coupons.post('/', async (c) => {
  const body = (await c.req.json()) as { code?: unknown; percent_off?: unknown; valid_until?: unknown }
  if (typeof body.code !== 'string' || !/^[A-Z0-9_-]{3,32}$/.test(body.code)) {
    throw new ValidationError('code must be 3-32 upper-case letters, digits, _ or -')
  }
  if (typeof body.percent_off !== 'number' || !Number.isInteger(body.percent_off) || body.percent_off < 1 || body.percent_off > 100) {
    throw new ValidationError('percent_off must be an integer between 1 and 100')
  }
  const validUntil = typeof body.valid_until === 'string' ? body.valid_until : null
  const coupon = await c.var.repos.coupons.create({ code: body.code, percent_off: body.percent_off, valid_until: validUntil })
  return c.json(coupon, 201)
})
"""

ROUTE_TESTS = """\
import { describe, expect, it } from 'vitest'
import { setup } from './helpers'

describe('coupons routes', () => {
  it('creates a coupon and looks it up by code, case-insensitively', async () => {
    const { call } = setup()
    const created = await call('POST', '/coupons', { code: 'SPRING10', percent_off: 10 })
    expect(created.status).toBe(201)
    expect(await created.json()).toMatchObject({ code: 'SPRING10', percent_off: 10, valid_until: null })

    const found = await call('GET', '/coupons/spring10')
    expect(found.status).toBe(200)
    expect((await found.json()).percent_off).toBe(10)
  })

  it('answers 404 for unknown codes, 409 for duplicates and 400 for invalid bodies', async () => {
    const { call } = setup()
    expect((await call('GET', '/coupons/NOPE')).status).toBe(404)
    await call('POST', '/coupons', { code: 'SPRING10', percent_off: 10 })
    expect((await call('POST', '/coupons', { code: 'SPRING10', percent_off: 20 })).status).toBe(409)
    expect((await call('POST', '/coupons', { code: 'x', percent_off: 500 })).status).toBe(400)
  })
})
"""

CLIENT_TYPES = """
export interface Coupon {
  id: string
  code: string
  percent_off: number
  valid_until: string | null
  created_at: string
}

export interface CreateCouponInput {
  code: string
  percent_off: number
  valid_until?: string | null
}
"""

CLIENT_METHODS = """
  // ------------------------------------------------------------------ coupons

  getCoupon(code: string): Promise<Coupon | null> {
    return this.orNull(this.request<Coupon>('GET', `/coupons/${encodeURIComponent(code)}`))
  }

  createCoupon(input: CreateCouponInput): Promise<Coupon> {
    return this.request('POST', '/coupons', input)
  }
"""


class DemoFailure(Exception):
    """The story did not happen as expected."""


def _edit(text: str, anchor: str, addition: str, *, before: bool = False, path: str = "") -> str:
    """Insert ``addition`` after (or before) the first line containing ``anchor``."""
    lines = text.splitlines(keepends=True)
    for i, line in enumerate(lines):
        if anchor in line:
            at = i if before else i + 1
            return "".join(lines[:at]) + addition + "".join(lines[at:])
    raise DemoFailure(f"{path}: the example changed, {anchor!r} not found")


def coupon_change(example: Path = EXAMPLE, *, complete: bool) -> dict[str, str]:
    """The coupons change on top of ``example``: broken (``complete=False``) or complete."""

    def read(path: str) -> str:
        return (example / path).read_text(encoding="utf-8")

    types_path = f"{SERVICE}/database.types.ts"
    repo_types = f"{SERVICE}/repositories/types.ts"
    wiring = f"{SERVICE}/repositories/index.ts"
    app = f"{SERVICE}/index.ts"

    index = read(wiring)
    index = _edit(index, "import { MemoryOrderRepository }", "import type { CouponRepository } from './coupon-repository'\n",
                  before=True, path=wiring)
    index = _edit(index, "import { SupabaseOrderRepository }",
                  "import { SupabaseCouponRepository } from './supabase/supabase-coupon-repository'\n",
                  before=True, path=wiring)
    index = _edit(index, "export type { OrderRepository }", "export type { CouponRepository } from './coupon-repository'\n",
                  before=True, path=wiring)
    index = _edit(index, "  orders: OrderRepository", "  coupons: CouponRepository\n", path=wiring)
    index = _edit(index, "orders: new SupabaseOrderRepository(db),", "    coupons: new SupabaseCouponRepository(db),\n",
                  path=wiring)
    if complete:
        index = _edit(index, "import { MemoryOrderRepository }",
                      "import { MemoryCouponRepository } from './memory/memory-coupon-repository'\n",
                      before=True, path=wiring)
        index = _edit(index, "orders: new MemoryOrderRepository(),", "    coupons: new MemoryCouponRepository(),\n",
                      path=wiring)

    files = {
        MIGRATION[0]: MIGRATION[1],
        ROLLBACK[0]: ROLLBACK[1],
        types_path: _edit(read(types_path), "Tables: {", TYPES_BLOCK, path=types_path),
        repo_types: read(repo_types).rstrip("\n") + "\n\nexport type Coupon = Tables<'coupons'>\n"
        "export type NewCoupon = Pick<TablesInsert<'coupons'>, 'code' | 'percent_off' | 'valid_until'>\n",
        COUPON_INTERFACE: INTERFACE,
        f"{SERVICE}/repositories/supabase/supabase-coupon-repository.ts": SUPABASE_IMPL,
        COUPON_ROUTES: ROUTES,
        app: _edit(_edit(read(app), "import { orders } from './routes/orders'",
                         "import { coupons } from './routes/coupons'\n", before=True, path=app),
                   "app.route('/orders', orders)", "  app.route('/coupons', coupons)\n", path=app),
        wiring: index,
    }
    if complete:
        client = read(f"{CLIENT}/client.ts")
        client = _edit(client, "  CreateOrderInput,", "  Coupon,\n  CreateCouponInput,\n", before=True,
                       path="client.ts")
        client = _edit(client, "// ------------------------------------------------------------------ transport",
                       CLIENT_METHODS.lstrip("\n") + "\n", before=True, path="client.ts")
        files.update({
            MEMORY_COUPONS: MEMORY_IMPL,
            f"{SERVICE}/__tests__/coupons.test.ts": ROUTE_TESTS,
            f"{CLIENT}/client.ts": client,
            f"{CLIENT}/types.ts": read(f"{CLIENT}/types.ts").rstrip("\n") + "\n" + CLIENT_TYPES,
        })
    return files


def fix_files(example: Path = EXAMPLE) -> dict[str, str]:
    """What the fix commit changes on top of the broken change."""
    broken, complete = coupon_change(example, complete=False), coupon_change(example, complete=True)
    return {p: t for p, t in complete.items() if broken.get(p) != t}


# -- the transcript ---------------------------------------------------------------------------

_HTML = [
    (re.compile(r"<!--.*?-->\s*", re.S), ""),
    (re.compile(r"<details><summary>(.*?)</summary>", re.S), r"**\1**"),
    (re.compile(r"</details>|</?sub>"), ""),
    (re.compile(r"<br>"), " · "),
]


def for_terminal(markdown: str) -> str:
    """GitHub Markdown as a terminal can show it: no hidden markers or HTML tags, and the
    findings table as a list (a four-column table wraps badly in 100 columns)."""
    for rx, repl in _HTML:
        markdown = rx.sub(repl, markdown)
    out = []
    for line in markdown.splitlines():
        if re.fullmatch(r"\|[-| ]+\|", line.strip()):
            continue  # a table's separator row
        cells = [c.strip() for c in line.strip().strip("|").split(" | ")] if line.startswith("| ") else None
        if cells is None or len(cells) != 4:
            out.append(line)
        elif cells[1] == "Rule":
            continue  # the header row
        else:
            icon, rule, where, what = cells
            out.append(f"- {icon} {rule} {where} — {what}")
    return "\n".join(out).strip()


@dataclass
class Demo:
    """Everything the steps share; ``say``/``show`` write the transcript."""

    workdir: Path
    console: Any
    fake: Any = None
    server: Any = None
    pull: Any = None
    heads: dict[str, str] = field(default_factory=dict)
    sticky_id: int | None = None
    started: float = field(default_factory=time.monotonic)
    data: dict[str, Any] = field(default_factory=dict)  # for steps added later

    def say(self, text: str = "", style: str | None = None) -> None:
        self.console.print(text, style=style, highlight=False, markup=False, soft_wrap=True)

    def show(self, markdown: str, title: str | None = None) -> None:
        from rich.markdown import Markdown
        from rich.markup import escape
        from rich.panel import Panel

        body = Markdown(for_terminal(markdown))
        self.console.print(Panel(body, title=escape(title) if title else None, title_align="left",
                                 border_style="dim"))

    def expect(self, condition: Any, what: str) -> None:
        if not condition:
            raise DemoFailure(what)
        self.say(f"  ✓ {what}", style="green")

    async def settle(self) -> None:
        """Wait until every webhook was delivered and every job handled."""
        for _ in range(5):
            await self.fake.wait_idle(30)
            await self.server.services.queue.wait_idle(30)

    def runs(self, name: str, head: str | None = None) -> list[Any]:
        return self.fake.check_runs(REPO, head, name=name)

    def sticky(self) -> list[Any]:
        return [c for c in self.fake.comments(REPO, self.pull.number) if "<!-- dlcm:completeness -->" in c.body]

    def show_run(self, run: Any) -> None:
        icon = {"success": "✅", "failure": "❌"}.get(run.conclusion or "", "⏳")
        self.say(f"{icon} {run.name} — {run.status}/{run.conclusion}: {run.output.get('title')}", style="bold")
        if run.annotations:
            self.say(f"  {len(run.annotations)} annotation(s), shown on these lines in \"Files changed\":")
            for a in run.annotations:
                self.say(f"    {a.path}:{a.start_line}  {a.annotation_level:<8} {a.title}")
        self.show(run.output.get("summary") or "", title=f"{run.name} · summary")

    def show_source(self, head: str) -> None:
        """Where the App's model came from (recorded by :func:`record_source`)."""
        src = self.data.get("source", {}).get(head)
        if src:
            self.say(
                f"  model: {src['repo']}@{src['head'][:7]} (head) vs @{(src['base'] or '')[:7]} (base), read through "
                f"the GitHub API: {src['tree_calls']} tree + {src['blob_calls']} blob call(s), "
                f"{src['blobs_cached']} blob(s) from the App's cache; {src['files']} files read for "
                f"head and base; built and checked in {src['seconds']:.2f}s", style="cyan")


Step = Callable[[Demo], Awaitable[None]]


@dataclass
class StepSpec:
    title: str
    run: Step

    @property
    def name(self) -> str:
        return self.run.__name__


#: The story, in order. Add steps with :func:`step`.
STEPS: list[StepSpec] = []


def step(title: str, *, after: str | None = None) -> Callable[[Step], Step]:
    """Register a step (at the end, or right after the step function named ``after``)."""

    def register(fn: Step) -> Step:
        spec = StepSpec(title, fn)
        if after is None:
            STEPS.append(spec)
        else:
            names = [s.name for s in STEPS]
            STEPS.insert(names.index(after) + 1, spec)
        return fn

    return register


async def record_source(demo: Demo, head: str) -> None:
    from bot.features.checks import KV_RESULTS

    store = demo.server.services.store
    record = await store.arun(store.kv_get, KV_RESULTS, f"{REPO}@{head}")
    if record and record.get("source"):
        demo.data.setdefault("source", {})[head] = record["source"]


# -- the steps --------------------------------------------------------------------------------


@step("A fake GitHub with acme/shop, and the dlcm App")
async def start_github_and_app(demo: Demo) -> None:
    from bot.fakegithub import FakeGitHub, generate_rsa_keypair
    from bot.server import start
    from bot.settings import Settings

    demo.expect(EXAMPLE.is_dir(), f"example repository found at {EXAMPLE.relative_to(ROOT)}")
    demo.fake = await FakeGitHub(base_dir=demo.workdir).start()
    private_pem, public_pem = generate_rsa_keypair()
    settings = Settings(app_id=APP_ID, private_key=private_pem, webhook_secret=WEBHOOK_SECRET,
                        db_path=demo.workdir / "dlcm.sqlite3", github_api_url=demo.fake.url, host="127.0.0.1",
                        port=0, workers=4, app_slug="dlcm", retention_days=0)
    demo.server = await start(settings, host="127.0.0.1", port=0, queue_options={"poll_interval": 0.05})
    demo.fake.register_app(APP_ID, public_pem, "dlcm", name="dlcm", webhook_url=f"{demo.server.url}/webhooks",
                           webhook_secret=WEBHOOK_SECRET)
    repo = demo.fake.create_repo(REPO, EXAMPLE, description="Shop monorepo (TypeScript + Supabase + pnpm)")
    demo.fake.set_permission(REPO, AUTHOR, "write")
    demo.fake.set_branch_protection(REPO, "main", required_checks=[COMPLETENESS])
    features = ", ".join(sorted({h.__module__.rsplit(".", 1)[-1] for h in _handlers(demo.server)
                                 if h.__module__.startswith("bot.features.")}))
    demo.say(f"  fake GitHub at {demo.fake.url} (requests validated against GitHub's OpenAPI description: "
             f"{'yes' if demo.fake.validating else 'no'})")
    demo.say(f"  {REPO}: {len(demo.fake.ls(REPO))} files from {EXAMPLE.relative_to(ROOT)}, "
             f"default branch {repo.default_branch}, {COMPLETENESS} required by branch protection")
    demo.say(f"  App {APP_ID} (fresh 2048-bit RSA key) serving {demo.server.url}/webhooks; features: {features}")
    health = await _get_json(f"{demo.server.url}/healthz")
    demo.expect(health.get("status") == "ok", "the App answers /healthz")


def _handlers(server: Any) -> list[Any]:
    router = server.services.router
    out = []
    for by_action in router._shallow_routes.values():  # noqa: SLF001 (only to list the features)
        for handlers in by_action.values() if isinstance(by_action, dict) else [by_action]:
            out.extend(handlers)
    for by_key in router._deep_routes.values():  # noqa: SLF001
        for by_value in by_key.values():
            for handlers in by_value.values():
                out.extend(handlers)
    return out


async def _get_json(url: str) -> dict[str, Any]:
    import aiohttp

    async with aiohttp.ClientSession() as session, session.get(url) as resp:
        return await resp.json()


@step("Alice opens a pull request: a coupons table, a repository, an endpoint")
async def open_broken_pull_request(demo: Demo) -> None:
    files = coupon_change(complete=False)
    for path in sorted(files):
        demo.say(f"  {'M' if (EXAMPLE / path).exists() else 'A'} {path}")
    demo.say("  (no Memory implementation of CouponRepository, no client method for /coupons, no tests)",
             style="dim")
    demo.pull = await demo.fake.open_pull_request(
        REPO, BRANCH, title="Add discount coupons", user=AUTHOR, files=files,
        body="Adds `public.coupons` and `GET/POST /coupons` for the checkout. Implements DLCM-1.")
    demo.heads["broken"] = demo.pull.head_sha
    await demo.settle()
    await record_source(demo, demo.pull.head_sha)
    demo.say(f"  pull request #{demo.pull.number} opened at {demo.pull.head_sha[:7]}; webhooks delivered, "
             "jobs handled")


@step("dlcm/completeness fails, with annotations")
async def completeness_fails(demo: Demo) -> None:
    head = demo.heads["broken"]
    runs = demo.runs(COMPLETENESS, head)
    demo.expect(len(runs) == 1, "exactly one dlcm/completeness check run on the head commit")
    run = runs[0]
    demo.show_run(run)
    for safety in demo.runs(SAFETY, head):
        demo.say(f"{'✅' if safety.conclusion == 'success' else '❌'} {SAFETY} — {safety.conclusion}: "
                 f"{safety.output.get('title')}", style="bold")
    demo.show_source(head)
    demo.expect(run.status == "completed" and run.conclusion == "failure", "the check run completed with failure")
    rules_at = {(a.title.split(":")[0], a.path) for a in run.annotations}
    demo.expect(("DLCM202", COUPON_INTERFACE) in rules_at,
                "DLCM202 on coupon-repository.ts: CouponRepository has no Memory implementation")
    demo.expect(("DLCM301", COUPON_ROUTES) in rules_at, "DLCM301 on routes/coupons.ts: no client method")
    blocked = demo.fake.merge_blocked_reasons(REPO, demo.pull.number)
    demo.expect(blocked, f"merging is blocked by branch protection ({'; '.join(blocked)})")


@step("The sticky comment on the pull request")
async def sticky_comment_lists_the_gaps(demo: Demo) -> None:
    comments = demo.sticky()
    demo.expect(len(comments) == 1, "one dlcm comment on the pull request")
    demo.sticky_id = comments[0].id
    demo.show(comments[0].body, title=f"comment by dlcm[bot] on #{demo.pull.number}")
    demo.expect("DLCM202" in comments[0].body and "DLCM301" in comments[0].body,
                "the comment names both gaps and how to fix them")
    impact = _marked(demo, demo.pull.number, "impact")
    demo.expect(len(impact) == 1 and "coupons" in impact[0].body,
                "the impact of the diff has its own comment (components, owners, what is missing, rollback)")
    demo.show(impact[0].body.split("#### Affected components")[0], title=f"impact comment on #{demo.pull.number} (beginning)")


@step("Alice asks for the status")
async def status_command(demo: Demo) -> None:
    comment = await demo.fake.create_comment(REPO, demo.pull.number, "/dlcm status", user=AUTHOR)
    await demo.settle()
    reactions = [r.content for r in demo.fake.reactions(REPO, comment_id=comment.id)]
    replies = [c for c in demo.fake.comments(REPO, demo.pull.number) if f"dlcm:reply-{comment.id}" in c.body]
    demo.say(f"  alice: /dlcm status   (reaction: {', '.join(reactions) or 'none'})")
    demo.expect("+1" in reactions and len(replies) == 1, "acknowledged with 👍 and answered")
    demo.show(replies[0].body, title="reply by dlcm[bot]")


@step("Alice pushes the fix: Memory implementation, client methods, tests")
async def push_fix(demo: Demo) -> None:
    files = fix_files()
    for path in sorted(files):
        demo.say(f"  {'M' if path in coupon_change(complete=False) or (EXAMPLE / path).exists() else 'A'} {path}")
    head = await demo.fake.push(REPO, BRANCH, files, message="Memory coupons, client methods, tests",
                                author=AUTHOR, sender=AUTHOR)
    demo.heads["fixed"] = head
    await demo.settle()
    await record_source(demo, head)
    demo.say(f"  pushed {head[:7]} → pull_request.synchronize (and check_suite.requested) delivered")


@step("dlcm/completeness passes; the comment says all clear")
async def completeness_passes(demo: Demo) -> None:
    head = demo.heads["fixed"]
    runs = demo.runs(COMPLETENESS, head)
    demo.expect(len(runs) == 1, "one dlcm/completeness check run on the new head (the push was checked once)")
    demo.show_run(runs[0])
    demo.show_source(head)
    demo.expect(runs[0].conclusion == "success", "the check run completed with success")
    comments = demo.sticky()
    demo.expect(len(comments) == 1 and comments[0].id == demo.sticky_id,
                "the same comment was edited in place (no second comment)")
    demo.show(comments[0].body, title=f"comment by dlcm[bot] on #{demo.pull.number} (edited)")
    demo.expect("all clear" in comments[0].body, "it now says all clear")
    demo.expect(not demo.fake.merge_blocked_reasons(REPO, demo.pull.number), "the pull request can be merged")
    demo.fake.assert_no_violations()
    calls = len(demo.fake.calls)
    demo.expect(True, f"the App made {calls} GitHub API calls, every one valid against GitHub's OpenAPI description")


@step("The same check on a laptop: dlcm check --base main")
async def cli_check(demo: Demo) -> None:
    repo = demo.workdir / "shop"
    shutil.copytree(EXAMPLE, repo, ignore=shutil.ignore_patterns("node_modules", ".turbo", "dist"))
    env = {**os.environ, "GIT_AUTHOR_NAME": "Alice", "GIT_AUTHOR_EMAIL": "alice@example.com",
           "GIT_COMMITTER_NAME": "Alice", "GIT_COMMITTER_EMAIL": "alice@example.com", "GIT_CONFIG_NOSYSTEM": "1",
           "HOME": str(demo.workdir), "DLCM_CACHE_DIR": str(demo.workdir / "cache"), "NO_COLOR": "1",
           "COLUMNS": str(max(80, demo.console.width - 2))}

    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True)

    git("init", "-q", "-b", "main")
    git("add", "-A")
    git("commit", "-qm", "shop")
    git("checkout", "-qb", BRANCH)
    for path, text in coupon_change(repo, complete=False).items():
        (repo / path).parent.mkdir(parents=True, exist_ok=True)
        (repo / path).write_text(text, encoding="utf-8")
    demo.say(f"  $ cd {repo}")
    demo.say("  $ dlcm check . --base main")
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "dlcm", "check", ".", "--base", "main"], cwd=repo, env=env,
                          capture_output=True, text=True, timeout=120)
    elapsed = time.monotonic() - started
    for line in (proc.stdout + proc.stderr).rstrip().splitlines():
        demo.say(f"  {line}")
    demo.say(f"  (exit code {proc.returncode}, {elapsed:.1f}s; model: head = working tree {repo}, "
             "base = git ref main read with git plumbing; same checks core as the App)", style="cyan")
    demo.expect(proc.returncode == 1, "dlcm check exits 1: an error remains")
    demo.expect("DLCM202" in proc.stdout and "DLCM301" in proc.stdout, "it reports the same gaps as the App")


# -- change requests (bot/features/change_requests.py) ---------------------------------------

CR_AUTHOR = "carol"
CR_TITLE = "[DLCM] Discount coupons"
CR_BODY = """\
### Summary

Discount coupons customers redeem at checkout

### Change type

new-table

### Table(s)

public.coupons

### Column(s) with type

id uuid primary key default gen_random_uuid()
code text not null unique
percent_off bigint not null
valid_until timestamptz null
created_at timestamptz not null default now()

### Endpoint(s)

GET /coupons/:code
POST /coupons

### Affected components

database-service, database-client

### Breaking change

no

### Motivation

Marketing wants spring discount codes; the checkout looks them up by code.

### Rollback plan

Drop the table (the down migration does it); no other table references it.

### Target date

_No response_

### Options

- [X] Expose the change through the Database Service API and its typed client
- [ ] Existing rows need a data backfill
"""


def _change_request(demo: Demo) -> Any:
    from bot.cr_store import crs_of

    return crs_of(demo.server.services.store).get(REPO, demo.data["cr_issue"])


def _marked(demo: Demo, number: int, marker: str) -> list[Any]:
    return [c for c in demo.fake.comments(REPO, number) if f"<!-- dlcm:{marker} -->" in c.body]


@step("Carol asks for the change with the data-layer change issue form", after="start_github_and_app")
async def open_change_request(demo: Demo) -> None:
    demo.fake.set_permission(REPO, CR_AUTHOR, "write")
    issue = await demo.fake.create_issue(REPO, CR_TITLE, CR_BODY, user=CR_AUTHOR, labels=["data-layer-change"])
    demo.data["cr_issue"] = issue.number
    demo.say(f"  carol opens issue #{issue.number} “{CR_TITLE}” (new-table public.coupons, GET/POST /coupons, "
             "exposed through the client)")
    await demo.settle()
    rec = _change_request(demo)
    gh_issue = demo.fake.issue(REPO, issue.number)
    demo.expect(rec is not None and rec.id == "DLCM-1" and rec.state.state == "approved",
                "validated against main (tables, types, business rules) and numbered DLCM-1")
    demo.expect(gh_issue.title.startswith("[DLCM-1] "), f"retitled “{gh_issue.title}”")
    demo.expect(gh_issue.assignees, f"assigned to {', '.join('@' + a for a in gh_issue.assignees)} "
                                     f"(owners: {' '.join(rec.state.owners)})")
    demo.expect({"dlcm:type:new-table", "dlcm:risk:medium"} <= set(gh_issue.labels),
                f"labelled {', '.join(sorted(lb for lb in gh_issue.labels if lb.startswith('dlcm:')))}")
    [status] = _marked(demo, issue.number, "status")
    demo.show(status.body, title=f"status comment by dlcm[bot] on #{issue.number}")
    demo.expect(len(rec.state.checklist) >= 8, f"a checklist of {len(rec.state.checklist)} steps for a new table "
                                              "exposed through the API")
    impact = _marked(demo, issue.number, "impact")
    if impact:
        head = impact[0].body.split("#### Affected components")[0]
        demo.show(head, title=f"impact report on #{issue.number} (beginning)")
        demo.expect(True, "the impact report is posted on the request")


@step("The pull request names DLCM-1: the change request follows it", after="completeness_fails")
async def change_request_follows_the_pull_request(demo: Demo) -> None:
    rec = _change_request(demo)
    demo.expect(rec.state.state == "in-progress" and [p.number for p in rec.state.prs] == [demo.pull.number],
                f"DLCM-1 is in-progress, linked to #{demo.pull.number}")
    done = [s.key for s in rec.state.checklist if s.done]
    todo = [s.key for s in rec.state.checklist if not s.done]
    demo.say(f"  steps with evidence from the pull request: {', '.join(done) or 'none'}")
    demo.say(f"  still open: {', '.join(todo)}")
    demo.expect(rec.state.prs[0].check == "failed", "the failing check is recorded on the request")


@step("DLCM-1 is validated; the dashboards")
async def change_request_validated(demo: Demo) -> None:
    rec = _change_request(demo)
    number = demo.data["cr_issue"]
    demo.expect(rec.state.state == "validated", "DLCM-1 is validated: every step has evidence, the checks pass")
    [status] = _marked(demo, number, "status")
    demo.show(status.body, title=f"status comment on #{number} (edited in place)")
    board = [i for i in demo.fake.issues(REPO) if "<!-- dlcm:dashboard -->" in (i.body or "")]
    demo.expect(len(board) == 1, f"one dashboard issue, #{board[0].number if board else '?'} “Data layer changes”")
    demo.show(board[0].body, title=f"dashboard issue #{board[0].number}")
    url = demo.server.url
    data = await _get_json(f"{url}/api/{REPO}/changes/DLCM-1")
    demo.say(f"  HTML dashboard (served while the demo runs): {url}/dashboard/{REPO}  ·  this request: "
             f"{url}/dashboard/{REPO}/DLCM-1")
    demo.say(f"  JSON: {url}/api/{REPO}/changes/DLCM-1 →")
    change = data["change"]
    brief = {k: change[k] for k in ("id", "state", "risk", "owners", "steps_done", "steps")}
    brief["prs"] = [{k: p[k] for k in ("number", "check", "merged")} for p in change["prs"]]
    demo.say("  " + json.dumps(brief), style="cyan")
    demo.expect(data["audit_verified"], f"{len(data['audit'])} audit events, hash chain verified "
                                        f"(`dlcm audit DLCM-1 --repo {REPO} --db <dlcm.sqlite3>` prints them)")


# -- running ----------------------------------------------------------------------------------


async def run(steps: list[StepSpec] | None = None, *, workdir: Path | None = None, console: Any = None) -> int:
    """Play ``steps`` (default :data:`STEPS`); 0 when the story happened, 1 otherwise."""
    from rich.console import Console

    console = console or Console(highlight=False, width=min(120, shutil.get_terminal_size((100, 20)).columns))
    steps = STEPS if steps is None else steps
    owned = workdir is None
    workdir = Path(tempfile.mkdtemp(prefix="dlcm-demo-")) if owned else workdir
    demo = Demo(workdir=workdir, console=console)
    failed: str | None = None
    try:
        for n, spec in enumerate(steps, start=1):
            console.rule(f"[bold]{n}. {spec.title}", align="left")
            try:
                await spec.run(demo)
            except DemoFailure as exc:
                failed = f"step {n} ({spec.title}): {exc}"
                break
            except Exception as exc:  # noqa: BLE001 - the demo reports, never tracebacks at users
                logging.getLogger("dlcm.demo").exception("step %s crashed", spec.name)
                failed = f"step {n} ({spec.title}) crashed: {type(exc).__name__}: {exc}"
                break
    finally:
        if demo.server is not None:
            await demo.server.stop()
        if demo.fake is not None:
            await demo.fake.stop()
        if owned:
            shutil.rmtree(workdir, ignore_errors=True)
    elapsed = time.monotonic() - demo.started
    console.rule()
    if failed:
        console.print(f"DEMO FAILED after {elapsed:.1f}s — {failed}", style="bold red", markup=False)
        return 1
    console.print(f"Demo complete in {elapsed:.1f}s: the story happened as expected.", style="bold green")
    return 0


@click.command("demo")
@click.option("--keep", is_flag=True, help="Keep the working directory (git repositories, SQLite database).")
def demo(keep: bool) -> None:
    """Play the end-to-end demo offline: fake GitHub, the App, a pull request, the CLI."""
    logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s: %(message)s")
    workdir = Path(tempfile.mkdtemp(prefix="dlcm-demo-")) if keep else None
    code = asyncio.run(run(workdir=workdir))
    if keep and workdir is not None:
        click.echo(f"kept {workdir}")
    sys.exit(code)
