"""Generate a synthetic pnpm + Supabase monorepo of about N files with a realistic mix.

Each "domain" (a table) brings a migration and its rollback, a repository interface with
Supabase and Memory implementations, a Hono route file mounted in the service, a client
module, a consumer in the bot and one in the web app, and tests; the rest of the N files
are ordinary TypeScript modules (helpers, UI code) of typical size that dlcm must still read.

    python bench/gen.py OUT_DIR N
"""

from __future__ import annotations

import json
import sys
from datetime import datetime, timedelta
from pathlib import Path

DOMAIN_FILES = 11
START = datetime(2024, 1, 1)


def _w(root: Path, rel: str, text: str) -> None:
    p = root / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text, encoding="utf-8")


def _camel(name: str) -> str:
    return "".join(w.capitalize() for w in name.split("_"))


def generate(root: str | Path, n_files: int, domains: int | None = None) -> dict:
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    if domains is None:
        domains = max(2, n_files // 40)  # ~25% of files belong to domains, like real repos
    _w(root, "pnpm-workspace.yaml", "packages:\n  - 'apps/*'\n  - 'packages/*'\n")
    _w(root, "package.json", json.dumps({"name": "bench", "private": True}))
    for pkg, name, deps in (("apps/database-service", "@b/database-service", {"hono": "^4"}),
                            ("packages/database-client", "@b/database-client", {}),
                            ("apps/bot", "@b/bot", {"@b/database-client": "workspace:*"}),
                            ("apps/web", "@b/web", {"@b/database-client": "workspace:*"})):
        _w(root, f"{pkg}/package.json", json.dumps({"name": name, "dependencies": deps}))
    _w(root, ".github/CODEOWNERS", "* @b/platform\nsupabase/ @b/data\napps/bot/ @b/bot\n")
    _w(root, ".github/components.yml", "components:\n"
       "  - {name: database-service, paths: ['apps/database-service/**'], owners: ['@b/backend']}\n"
       "  - {name: database-client, paths: ['packages/database-client/**'], owners: ['@b/backend']}\n"
       "  - {name: bot, paths: ['apps/bot/**'], owners: ['@b/bot']}\n"
       "  - {name: web, paths: ['apps/web/**'], owners: ['@b/web']}\n")
    count = 9
    mounts, client_imports, client_mixins, types_tables = [], [], [], []
    for i in range(domains):
        t = f"thing_{i}s"
        c = _camel(f"thing_{i}")
        v = (START + timedelta(minutes=i)).strftime("%Y%m%d%H%M%S")  # valid UTC timestamps, in order
        _w(root, f"supabase/migrations/{v}_create_{t}.sql",
           f"create table public.{t} (\n  id uuid primary key default gen_random_uuid(),\n"
           f"  owner_id uuid not null references auth.users (id),\n  title text not null,\n"
           f"  amount integer not null default 0,\n  note text,\n"
           f"  created_at timestamptz not null default now()\n);\n\n"
           f"create index {t}_owner_id_idx on public.{t} (owner_id);\n\n"
           f"alter table public.{t} enable row level security;\n\n"
           f"create policy \"Owners read {t}\" on public.{t} for select to authenticated\n"
           f"  using ((select auth.uid()) = owner_id);\n")
        _w(root, f"supabase/rollbacks/{v}_create_{t}.down.sql", f"drop table public.{t};\n")
        base = "apps/database-service/src"
        _w(root, f"{base}/repositories/{t}-repository.ts",
           f"export interface {c} {{ id: string; title: string; amount: number; note: string | null }}\n\n"
           f"export interface {c}Repository {{\n  findById(id: string): Promise<{c} | null>;\n"
           f"  list(ownerId: string, limit?: number): Promise<{c}[]>;\n  create(input: Omit<{c}, 'id'>): Promise<{c}>;\n}}\n")
        _w(root, f"{base}/repositories/supabase/supabase-{t}-repository.ts",
           f"import type {{ {c}, {c}Repository }} from '../{t}-repository';\n\n"
           f"export class Supabase{c}Repository implements {c}Repository {{\n  constructor(private db: any) {{}}\n\n"
           f"  async findById(id: string): Promise<{c} | null> {{\n"
           f"    const {{ data }} = await this.db.from('{t}').select('id, title, amount, note').eq('id', id).maybeSingle();\n"
           f"    return data;\n  }}\n\n  async list(ownerId: string, limit = 50): Promise<{c}[]> {{\n"
           f"    const {{ data }} = await this.db.from('{t}').select('id, title, amount, note').eq('owner_id', ownerId).limit(limit);\n"
           f"    return data ?? [];\n  }}\n\n  async create(input: Omit<{c}, 'id'>): Promise<{c}> {{\n"
           f"    const {{ data }} = await this.db.from('{t}').insert({{ title: input.title, amount: input.amount, note: input.note }}).select().single();\n"
           f"    return data;\n  }}\n}}\n")
        _w(root, f"{base}/repositories/memory/memory-{t}-repository.ts",
           f"import type {{ {c}, {c}Repository }} from '../{t}-repository';\n\n"
           f"export class Memory{c}Repository implements {c}Repository {{\n  private rows = new Map<string, {c}>();\n\n"
           f"  async create(input: Omit<{c}, 'id'>): Promise<{c}> {{\n    const row = {{ ...input, id: String(this.rows.size + 1) }};\n"
           f"    this.rows.set(row.id, row);\n    return row;\n  }}\n\n"
           f"  async findById(id: string): Promise<{c} | null> {{\n    return this.rows.get(id) ?? null;\n  }}\n\n"
           f"  async list(ownerId: string, limit = 50): Promise<{c}[]> {{\n    return [...this.rows.values()].slice(0, limit);\n  }}\n}}\n")
        _w(root, f"{base}/routes/{t}.ts",
           f"import {{ Hono }} from 'hono';\n\nexport const {t}Routes = new Hono();\n\n"
           f"{t}Routes.get('/:id', async (c) => c.json(await (c as any).var.repos.{t}.findById(c.req.param('id'))));\n"
           f"{t}Routes.get('/', async (c) => c.json(await (c as any).var.repos.{t}.list(c.req.query('owner'))));\n"
           f"{t}Routes.post('/', async (c) => c.json(await (c as any).var.repos.{t}.create(await c.req.json()), 201));\n")
        mounts.append((t, f"./routes/{t}"))
        _w(root, f"packages/database-client/src/{t}.ts",
           f"import type {{ Requester }} from './request';\n\nconst PATH = '/{t}';\n\n"
           f"export class {c}Client {{\n  constructor(private request: Requester) {{}}\n\n"
           f"  get{c}(id: string) {{\n    return this.request('GET', `${{PATH}}/${{id}}`);\n  }}\n\n"
           f"  list{c}s(owner: string) {{\n    return this.request('GET', `${{PATH}}?owner=${{owner}}`);\n  }}\n\n"
           f"  create{c}(input: unknown) {{\n    return this.request('POST', PATH, input);\n  }}\n}}\n")
        client_imports.append((c, t))
        _w(root, f"apps/bot/src/{t}-handler.ts",
           f"import {{ {c}Client }} from '@b/database-client';\n\n"
           f"export async function show{c}(client: {c}Client, id: string) {{\n  const row = await client.get{c}(id);\n"
           f"  return `#${{id}}: ${{JSON.stringify(row)}}`;\n}}\n")
        _w(root, f"apps/web/src/{t}-page.ts",
           f"import {{ {c}Client }} from '@b/database-client';\n\n"
           f"export async function render{c}s(client: {c}Client, owner: string) {{\n"
           f"  const rows = await client.list{c}s(owner);\n  return `<ul>${{JSON.stringify(rows)}}</ul>`;\n}}\n")
        _w(root, f"{base}/__tests__/{t}.test.ts",
           f"import {{ describe, it, expect }} from 'vitest';\nimport {{ Memory{c}Repository }} from '../repositories/memory/memory-{t}-repository';\n\n"
           f"describe('{t}', () => {{\n  it('creates and finds', async () => {{\n    const repo = new Memory{c}Repository();\n"
           f"    const row = await repo.create({{ title: 'a', amount: 1, note: null }});\n"
           f"    expect(await repo.findById(row.id)).toEqual(row);\n    await repo.list('o');\n  }});\n\n"
           f"  it('serves GET /{t}/:id', () => expect('/{t}/1').toContain('{t}'));\n}});\n")
        types_tables.append(t)
        count += DOMAIN_FILES - 1
    _w(root, "apps/database-service/src/index.ts",
       "import { Hono } from 'hono';\n" + "".join(f"import {{ {t}Routes }} from '{p}';\n" for t, p in mounts)
       + "\nexport const app = new Hono();\n" + "".join(f"app.route('/{t}', {t}Routes);\n" for t, _ in mounts))
    _w(root, "packages/database-client/src/request.ts",
       "export type Requester = (method: string, path: string, body?: unknown) => Promise<unknown>;\n")
    _w(root, "packages/database-client/src/index.ts",
       "".join(f"export {{ {c}Client }} from './{t}';\n" for c, t in client_imports))
    cols = ("id: string\n          owner_id: string\n          title: string\n          amount: number\n"
            "          note: string | null\n          created_at: string")
    body = "".join(f"      {t}: {{\n        Row: {{\n          {cols}\n        }}\n        Insert: {{\n          title: string\n        }}\n"
                   f"        Update: {{\n          title?: string\n        }}\n        Relationships: []\n      }}\n" for t in types_tables)
    _w(root, "apps/database-service/src/database.types.ts",
       "export type Json = string | number | boolean | null | { [key: string]: Json | undefined } | Json[]\n\n"
       "export type Database = {\n  public: {\n    Tables: {\n" + body + "    }\n    Views: {}\n    Functions: {}\n"
       "    Enums: {}\n    CompositeTypes: {}\n  }\n}\n")
    count += 4
    i = 0
    while count < n_files:  # ordinary modules: helpers and UI code of typical size
        pkg = ("apps/web/src/ui", "apps/bot/src/lib", "packages/database-client/src/util", "apps/database-service/src/lib")[i % 4]
        _w(root, f"{pkg}/module_{i}.ts",
           f"import {{ format }} from './fmt_{i % 7}';\n\nexport interface Props{i} {{\n  id: string;\n  label: string;\n  count?: number;\n}}\n\n"
           + "".join(f"export function helper{i}_{k}(p: Props{i}, n: number): string {{\n"
                     f"  const parts = [p.id, p.label, String(p.count ?? n)];\n"
                     f"  if (n > {k}) {{\n    return parts.map((x) => format(x)).join('-');\n  }}\n"
                     f"  return `${{p.label}}:${{n * {k + 1}}}`;\n}}\n\n" for k in range(8))
           + f"export const DEFAULTS_{i} = {{ size: {i % 10}, mode: 'auto', tags: ['a', 'b'] }} as const;\n")
        i += 1
        count += 1
    return {"files": count, "domains": domains}


if __name__ == "__main__":
    out, n = sys.argv[1], int(sys.argv[2])
    info = generate(out, n)
    print(json.dumps(info))
