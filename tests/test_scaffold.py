"""`dlcm scaffold`: argument checks, the pure planner, style detection, the CLI (dry run, exit codes).

The heavy end-to-end checks (tsc, vitest, PostgreSQL, dlcm check) are in test_scaffold_example.py.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from checks.build import build_model
from checks.config import Config, parse_config
from checks.scaffold import AddField, ApiEndpoint, NewTable, ScaffoldError, plan
from checks.scaffold.names import camel, kebab, pascal, plural, singular
from checks.scaffold.style import Style, detect_style, restyle
from checks.scaffold.tsedit import Doc, add_import, error_count, insert_member
from checks.source import DirSource
from dlcm.cli import main
from tests.variants import EXAMPLE, git, make_repo, run_check

NOW = dt.datetime(2030, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)


@pytest.fixture(scope="module")
def example_model():
    return build_model(DirSource(str(EXAMPLE)))


def reader(root: Path, seen: list | None = None):
    def read(rel: str):
        if seen is not None:
            seen.append(rel)
        p = root / rel
        return p.read_text(encoding="utf-8") if p.is_file() else None

    return read


def run_plan(model, kind, args, root: Path = EXAMPLE, config: Config | None = None, now=NOW):
    return plan(kind, args, model, reader(root), config, now=now)


def by_path(changes) -> dict:
    return {ch.path: ch for ch in changes}


# --------------------------------------------------------------------------- names and style


def test_names():
    assert singular("coupons") == "coupon" and singular("order_items") == "order_item"
    assert singular("categories") == "category" and singular("addresses") == "address"
    assert plural("coupon") == "coupons" and plural("category") == "categories" and plural("box") == "boxes"
    assert camel("order_items") == "orderItems" and pascal("order_item") == "OrderItem"
    assert kebab("OrderItem") == "order-item" and kebab("telegramId") == "telegram-id"


def test_style_is_detected_from_the_code():
    semi = 'import { a } from "./a.js";\n\nexport function f(x: string): string {\n    return x;\n}\n'
    bare = "import { a } from './a'\n\nexport function f(x: string): string {\n  return x\n}\n"
    assert detect_style([semi, semi]) == Style(quote='"', semi=True, indent="    ", js_ext=True, width=80)
    s = detect_style([bare])
    assert (s.quote, s.semi, s.indent, s.js_ext) == ("'", False, "  ", False)


def test_restyle_turns_canonical_code_into_the_repository_style():
    code = ("import { Hono } from 'hono'\n\nexport const x = new Hono()\n\nx.get('/a', async (c) => {\n"
            "  const v = await f('it\\'s')\n  if (!v) return c.json({ error: 'nope' }, 404)\n  return c.json(v)\n})\n"
            "\nexport interface A {\n  a: string\n  b(x: number): void\n}\n")
    out = restyle(code, Style(quote='"', semi=True, indent="    "))
    assert error_count(out) == 0
    assert 'import { Hono } from "hono";' in out
    assert '    if (!v) return c.json({ error: "nope" }, 404);' in out
    assert 'f("it\'s")' in out  # an escaped quote is unescaped, as prettier does
    assert "    a: string;\n    b(x: number): void;\n}" in out
    assert out.count("});") == 1


def test_member_and_import_insertion_follow_the_file():
    doc = Doc("x.ts", "import type {\n  A,\n  C,\n} from './t'\n\nconst o = {\n  a: 1,\n  c: 3,\n}\n")
    add_import(doc, "./t", ["B"], type_only=True)
    obj = next(doc.walk("object"))
    insert_member(doc, obj, "b: 2", before=[m for m in obj.named_children if m.type == "pair"][1])
    assert doc.result() == "import type {\n  A,\n  B,\n  C,\n} from './t'\n\nconst o = {\n  a: 1,\n  b: 2,\n  c: 3,\n}\n"
    doc = Doc("y.ts", "import { z } from 'zod'\nimport { b } from './b'\n\nconst o = { a: 1 }\n")
    add_import(doc, "./a", ["a"], type_only=False)
    insert_member(doc, next(doc.walk("object")), "b: 2")
    assert doc.result() == "import { z } from 'zod'\nimport { a } from './a'\nimport { b } from './b'\n\nconst o = { a: 1, b: 2 }\n"


# --------------------------------------------------------------------------- argument checks


@pytest.mark.parametrize("kind,args,message", [
    ("add-field", AddField("nope", "x", "text", nullable=True), "table `nope` does not exist"),
    ("add-field", AddField("users", "phone", "text", nullable=True), "column `phone` already exists"),
    ("add-field", AddField("users", "Nick", "text", nullable=True), "not a snake_case identifier"),
    ("add-field", AddField("users", "nick", "txet", nullable=True), "unknown type `txet`"),
    ("add-field", AddField("users", "nick", "text;drop", nullable=True), "is not a PostgreSQL type"),
    ("add-field", AddField("users", "nick", "json", nullable=True), "forbidden by business_rules"),
    ("add-field", AddField("users", "nick", "text"), "needs a value for the rows already there"),
    ("add-field", AddField("users", "nick", "text", default="random()"), "cannot be reproduced by the Memory"),
    ("add-field", AddField("users", "nick", "text", default="{}"), "is not an SQL expression"),
    ("add-field", AddField("users", "nick", "text", default="'a'; drop table users"), "is not an SQL expression"),
    ("new-table", NewTable("orders", "x text"), "already exists"),
    ("new-table", NewTable("Coupons", "x text"), "not a snake_case identifier"),
    ("new-table", NewTable("coupons", ""), "no columns given"),
    ("new-table", NewTable("coupons", "code text,, x int"), "empty column definition"),
    ("new-table", NewTable("coupons", "code txet"), "unknown type `txet`"),
    ("new-table", NewTable("coupons", "code text, code text"), "given more than once"),
    ("new-table", NewTable("coupons", "primary key (x)"), "table constraints are not supported"),
    ("new-table", NewTable("coupons", "shop_id uuid references public.shops (id)"), "`public.shops`, which does not"),
    ("api-endpoint", ApiEndpoint("GET", "/users/:id/orders"), "already exists"),
    ("api-endpoint", ApiEndpoint("FETCH", "/products/by-sku/:sku"), "is not one of GET"),
    ("api-endpoint", ApiEndpoint("GET", "products"), "must start with `/`"),
    ("api-endpoint", ApiEndpoint("GET", "/Products/x y"), "is not a lower-case word"),
    ("api-endpoint", ApiEndpoint("GET", "/widgets/:id"), "cannot tell which table"),
    ("api-endpoint", ApiEndpoint("GET", "/orders/by-status/:status"), "only generates lookups by text"),
    ("api-endpoint", ApiEndpoint("GET", "/users/:id/products"), "cannot tell what GET"),
    ("api-endpoint", ApiEndpoint("GET", "/products/by-colour/:colour"), "has no column `colour`"),
])
def test_invalid_arguments_are_usage_errors_that_say_what_is_wrong(example_model, kind, args, message):
    with pytest.raises(ScaffoldError, match=re.escape(message)):
        run_plan(example_model, kind, args)


@pytest.mark.parametrize("argv,message", [
    (["add-field", "users", "nickname", "txt"], "unknown type `txt`"),
    (["add-field", "nope", "nickname", "text", "--nullable"], "table `nope` does not exist"),
    (["new-table", "users", "x text"], "already exists"),
    (["api-endpoint", "GET", "/users/:id"], "GET /users/:id already exists"),
])
def test_cli_usage_errors_exit_2_with_the_message(argv, message):
    res = CliRunner().invoke(main, ["scaffold", *argv, str(EXAMPLE), "--dry-run"])
    assert res.exit_code == 2, res.output
    assert message in res.output and "dlcm scaffold: error:" in res.output


def test_cli_refuses_a_path_that_is_not_a_directory(tmp_path):
    res = CliRunner().invoke(main, ["scaffold", "add-field", "users", "x", "text", "--nullable",
                                    str(tmp_path / "missing")])
    assert res.exit_code == 2 and "not a directory" in res.output


def test_nothing_is_written_outside_the_repository(tmp_path):
    from dlcm.scaffold_cli import ScaffoldUsage, safe_path

    root = tmp_path / "repo"
    (root / "src").mkdir(parents=True)
    (root / "escape").symlink_to(tmp_path)
    assert safe_path(str(root), "src/a.ts") == str((root / "src" / "a.ts").resolve())
    for bad in ("../x.ts", "/etc/passwd", "src/../../x.ts", "escape/x.ts", "", "a//b.ts"):
        with pytest.raises(ScaffoldUsage):
            safe_path(str(root), bad)


# --------------------------------------------------------------------------- the planner


def test_plan_is_pure_and_reads_through_the_callback(example_model):
    seen: list[str] = []
    before = {p: p.stat().st_mtime_ns for p in EXAMPLE.rglob("*.ts") if "node_modules" not in p.parts}
    changes = plan("add-field", AddField("users", "nickname", "text", nullable=True), example_model,
                   reader(EXAMPLE, seen), now=NOW)
    assert before == {p: p.stat().st_mtime_ns for p in EXAMPLE.rglob("*.ts") if "node_modules" not in p.parts}
    assert seen and all(not s.startswith(("/", "..")) for s in seen)
    for ch in changes:
        if not ch.created:
            assert ch.old == (EXAMPLE / ch.path).read_text()
            assert ch.path in seen


def test_migration_is_named_after_the_newest_version_and_never_collides(example_model):
    past = dt.datetime(2001, 1, 1, tzinfo=dt.timezone.utc)
    changes = run_plan(example_model, "add-field", AddField("users", "nickname", "text", nullable=True), now=past)
    paths = sorted(by_path(changes))
    newest = max(m.version for m in example_model.migrations)
    up = next(p for p in paths if p.startswith("supabase/migrations/"))
    assert up == f"supabase/migrations/{int(newest) + 1}_add_nickname_to_users.sql"
    assert f"supabase/rollbacks/{int(newest) + 1}_add_nickname_to_users.down.sql" in paths
    now = run_plan(example_model, "add-field", AddField("users", "nickname", "text", nullable=True))
    assert "supabase/migrations/20300102030405_add_nickname_to_users.sql" in by_path(now)


def test_add_field_extends_every_explicit_column_list_the_way_siblings_are_written(example_model):
    ch = by_path(run_plan(example_model, "add-field", AddField("products", "weight_grams", "bigint", default="0")))
    sup = ch["apps/database-service/src/repositories/supabase/supabase-product-repository.ts"].new
    mem = ch["apps/database-service/src/repositories/memory/memory-product-repository.ts"].new
    assert "      weight_grams: input.weight_grams ?? 0,\n    }" in sup  # like `stock: input.stock ?? 0`
    assert "      weight_grams: input.weight_grams ?? 0,\n      created_at: now," in mem
    val = ch["apps/database-service/src/validation.ts"].new
    assert "weight_grams: body.weight_grams === undefined ? undefined : int(body, 'weight_grams')," in val
    types = ch["apps/database-service/src/database.types.ts"].new
    assert "          updated_at: string\n          weight_grams: number\n        }" in types
    assert "          weight_grams?: number\n" in types
    # full-row fixtures everywhere get the column, mappings from foreign objects do not
    for fixture in ("apps/database-service/src/__tests__/helpers.ts", "apps/web/src/pages.test.ts",
                    "apps/telegram-bot/src/handlers.test.ts"):
        assert "weight_grams: 0," in ch[fixture].new, fixture
    assert "  weight_grams: number\n  created_at: string" in ch["packages/database-client/src/types.ts"].new
    migration = next(c.new for p, c in ch.items() if p.startswith("supabase/migrations/"))
    assert "alter table public.products\n  add column weight_grams bigint not null default 0;\n" in migration


def test_add_field_nullable_user_column(example_model):
    ch = by_path(run_plan(example_model, "add-field", AddField("users", "nickname", "text", nullable=True)))
    assert "apps/telegram-bot/src/customers.ts" not in ch  # maps a Telegram user, not ours
    sup = ch["apps/database-service/src/repositories/supabase/supabase-user-repository.ts"].new
    assert sup.count("phone, nickname, created_at, updated_at") == 4  # every explicit select list
    assert "        nickname: patch.nickname,\n" in sup
    val = ch["apps/database-service/src/validation.ts"].new
    assert "  if ('nickname' in body) patch.nickname = optStr(body, 'nickname')\n" in val
    assert "'language_code' | 'phone' | 'nickname'\n>" in ch["apps/database-service/src/repositories/types.ts"].new


def test_new_table_sql_follows_the_repository_conventions(example_model):
    ch = by_path(run_plan(example_model, "new-table", NewTable("coupons", "code text not null unique")))
    up = ch["supabase/migrations/20300102030405_create_coupons.sql"].new
    down = ch["supabase/rollbacks/20300102030405_create_coupons.down.sql"].new
    assert "  id uuid primary key default gen_random_uuid(),\n" in up
    assert "  user_id uuid not null references public.users (id) on delete cascade,\n" in up
    assert "  created_at timestamptz not null default now(),\n  updated_at timestamptz not null default now()\n);" in up
    assert "create index coupons_user_id_created_at_idx on public.coupons (user_id, created_at desc);" in up
    assert "for each row execute function public.handle_updated_at();" in up
    assert "alter table public.coupons enable row level security;" in up
    assert up.count("(select auth.uid())") == 5 and up.count("create policy") == 4
    assert down.splitlines()[0] == "-- Undo 20300102030405_create_coupons.sql"
    assert down.rstrip().endswith("drop table if exists public.coupons;")


def test_new_table_without_owner_is_server_only_and_passes_the_check(tmp_path):
    repo = make_repo(tmp_path)
    git(repo, "checkout", "-q", "-B", "change")
    res = CliRunner(env={"DLCM_CACHE_DIR": str(tmp_path / "cache")}).invoke(
        main, ["scaffold", "new-table", "settings", "key text not null unique, value jsonb", "--no-owner", str(repo)])
    assert res.exit_code == 0, res.output
    up = next((repo / "supabase" / "migrations").glob("*_create_settings.sql")).read_text()
    assert "user_id" not in up and "create policy" not in up
    assert "-- dlcm-ignore DLCM602: server-only table" in up
    routes = (repo / "apps/database-service/src/routes/settings.ts").read_text()
    assert "settings.get('/', async (c) => {" in routes  # list instead of list-by-owner
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "settings")
    result = run_check(repo)
    assert [(f.rule, f.file, f.message) for f in result.findings] == []


def test_the_repository_style_is_followed(example_model, tmp_path):
    """A copy of the example in another style: semicolons, double quotes, 4 spaces, `.js` imports."""
    from checks.scaffold.tsedit import string_value

    styled = tmp_path / "styled"
    import shutil

    shutil.copytree(EXAMPLE, styled, ignore=shutil.ignore_patterns("node_modules"))
    st = Style(quote='"', semi=True, indent="    ", js_ext=True)
    for p in styled.rglob("*.ts"):
        if p.name == "database.types.ts":
            continue
        doc = Doc(str(p), p.read_text())
        for n in doc.walk({"import_statement", "export_statement"}):
            src = n.child_by_field_name("source")
            mod = string_value(doc, src) if src is not None else None
            if mod and mod.startswith("."):
                suffix = ".js" if (p.parent / f"{mod}.ts").exists() else "/index.js"
                doc.replace(src, text=f"'{mod}{suffix}'")
        p.write_text(restyle(doc.result(), st))
    model = build_model(DirSource(str(styled)))
    changes = run_plan(model, "new-table", NewTable("coupons", "code text not null unique, note text"), styled)
    changes += run_plan(model, "api-endpoint", ApiEndpoint("GET", "/products/by-sku/:sku"), styled)
    ts = [c for c in changes if c.path.endswith(".ts") and "database.types" not in c.path]
    assert len(ts) > 15
    statements = {"import_statement", "expression_statement", "lexical_declaration", "return_statement",
                  "throw_statement", "type_alias_declaration"}
    checked = 0
    for ch in ts:
        assert error_count(ch.new) <= error_count(ch.old or ""), ch.path  # `export type *`: tree-sitter lags
        doc = Doc(ch.path, ch.new)
        for n in doc.walk(statements | {"string", "property_signature"}):
            text = doc.t(n)
            if ch.old is not None and text in ch.old:
                continue  # not ours
            checked += 1
            if n.type == "string":
                if text[:1] not in ("'", '"'):
                    continue  # the `string` keyword of a predefined type
                assert text.startswith('"'), (ch.path, text)
                if doc.t(n.parent.parent).startswith(("import", "export")) and text.startswith('".'):
                    assert text.endswith('.js"'), (ch.path, text)
            elif n.type == "property_signature":
                if n.parent.start_point[0] == n.parent.end_point[0]:
                    continue  # `(row: { id: string })` stays as prettier writes it
                nxt = n.next_sibling
                assert nxt is not None and doc.t(nxt) == ";", (ch.path, text)
            elif not (n.type == "lexical_declaration" and n.parent.type.startswith("for")):
                assert text.endswith(";"), (ch.path, text)
        for line in ch.diff().splitlines():
            if line.startswith("+") and not line.startswith("+++") and line[1:].strip():
                lead = len(line[1:]) - len(line[1:].lstrip(" "))
                assert lead % 4 == 0 or line[1:].lstrip().startswith("*"), (ch.path, line)
    assert checked > 200
    repo_file = by_path(changes)["apps/database-service/src/repositories/memory/memory-coupon-repository.ts"].new
    assert '            throw new ConflictError(`code ${input.code} already exists`);' in repo_file


def test_api_endpoint_inference(example_model):
    cases = {
        ("GET", "/products/by-sku/:sku"): "ProductRepository.findBySku",
        ("DELETE", "/products/:id"): "ProductRepository.delete",
        ("PATCH", "/products/:id"): "ProductRepository.update",
        ("GET", "/orders"): "OrderRepository.list",
        ("GET", "/users/{id}/coupons"): None,
    }
    for (verb, path), want in cases.items():
        if want is None:
            with pytest.raises(ScaffoldError):
                run_plan(example_model, "api-endpoint", ApiEndpoint(verb, path))
            continue
        p = run_plan(example_model, "api-endpoint", ApiEndpoint(verb, path))
        assert p.summary.endswith(want), p.summary
    # an existing method, by name: the handler calls it, nothing else is generated in the repositories
    p = run_plan(example_model, "api-endpoint", ApiEndpoint("GET", "/users/by-tg/:telegramId",
                                                             table="users", repository_method="findByTelegramId"))
    assert p.summary.endswith("UserRepository.findByTelegramId")
    assert not any("repositories/" in ch.path for ch in p)


# --------------------------------------------------------------------------- CLI


def test_dry_run_prints_a_unified_diff_that_applies_and_writes_nothing(tmp_path):
    repo = make_repo(tmp_path)
    res = CliRunner(env={"DLCM_CACHE_DIR": str(tmp_path / "cache")}).invoke(
        main, ["scaffold", "new-table", "coupons", "code text not null unique", str(repo), "--dry-run"])
    assert res.exit_code == 0, res.output
    diff = res.stdout
    assert diff.startswith("--- /dev/null\n+++ b/supabase/migrations/")
    assert git(repo, "status", "--porcelain") == ""  # nothing written
    patch = tmp_path / "scaffold.patch"
    patch.write_text(diff)
    check = subprocess.run(["git", "apply", "--check", "--verbose", str(patch)], cwd=repo, capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    files = re.findall(r"^\+\+\+ b/(.+)$", diff, re.M)
    assert len(files) == len(set(files)) > 10
    subprocess.run(["git", "apply", str(patch)], cwd=repo, check=True)
    assert "coupons: CouponRepository" in (repo / "apps/database-service/src/repositories/index.ts").read_text()


def test_cli_writes_the_files_and_lists_them(tmp_path):
    repo = make_repo(tmp_path)
    res = CliRunner(env={"DLCM_CACHE_DIR": str(tmp_path / "cache")}).invoke(
        main, ["scaffold", "api-endpoint", "DELETE", "/products/:id", str(repo)])
    assert res.exit_code == 0, res.output
    assert "dlcm scaffold api-endpoint: DELETE /products/:id -> ProductRepository.delete" in res.output
    listed = re.findall(r"^  (created|modified)\s+(\S+)$", res.output, re.M)
    status = {line[3:] for line in git(repo, "status", "--porcelain", "-uall").splitlines()}
    assert {p for _, p in listed} == status
    assert ("created", "apps/database-service/src/__tests__/products-delete.test.ts") in listed


def test_types_without_a_sibling_to_copy_get_validated_with_helpers(example_model):
    """users has no boolean column: the parser gets a generated `bool` helper next to the repo's own ones."""
    ch = by_path(run_plan(example_model, "add-field", AddField("users", "verified", "boolean", default="false")))
    val = ch["apps/database-service/src/validation.ts"].new
    assert "    verified: 'verified' in body ? bool(body, 'verified') : undefined,\n" in val
    assert "  if ('verified' in body) patch.verified = bool(body, 'verified')\n" in val
    assert "function bool(body: Body, key: string): boolean {" in val and val.count("function bool(") == 1
    mem = ch["apps/database-service/src/repositories/memory/memory-user-repository.ts"].new
    assert "      verified: input.verified ?? false,\n" in mem
    assert "      verified: patch.verified ?? current.verified,\n" in mem


def test_enum_and_array_columns_of_a_new_table(example_model):
    ch = by_path(run_plan(example_model, "new-table", NewTable(
        "gift_cards", "code text not null unique, status public.order_status not null default 'pending', "
                      "tags text[], scores numeric[] not null default '{1,2}'")))
    val = ch["apps/database-service/src/validation.ts"].new
    # enum values come from the generated `Constants`, as the repository's own parseOrderStatus does
    assert "status: 'status' in body ? oneOf(body, 'status', Constants.public.Enums.order_status) : undefined," in val
    assert "    tags: optStrList(body, 'tags'),\n" in val and "scores: 'scores' in body ? numList(body, 'scores')" in val
    mem = ch["apps/database-service/src/repositories/memory/memory-gift-card-repository.ts"].new
    assert "      status: input.status ?? 'pending',\n" in mem and "      scores: input.scores ?? [1, 2],\n" in mem
    types = ch["apps/database-service/src/database.types.ts"].new
    assert '          status: Database["public"]["Enums"]["order_status"]\n' in types
    client = ch["packages/database-client/src/types.ts"].new
    assert "  status: OrderStatus\n" in client and "  tags: string[] | null\n" in client
