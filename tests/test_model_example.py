"""The repository model of the example repo, checked by hand, and how it behaves on messy input."""

import json
import shutil
import subprocess
import sys

import pytest

from checks.build import Cache, build_model, find_supabase_dir
from checks.config import Config
from checks.source import DirSource, GitSource
from tests.variants import EXAMPLE, git, make_repo


@pytest.fixture(scope="module")
def model():
    return build_model(DirSource(str(EXAMPLE)))


def test_packages(model):
    assert {(p.name, p.path, tuple(p.workspace_deps), p.is_client) for p in model.packages} == {
        ("shop", "", (), False),
        ("@shop/database-service", "apps/database-service", (), False),
        ("@shop/telegram-bot", "apps/telegram-bot", ("@shop/database-client",), False),
        ("@shop/web", "apps/web", ("@shop/database-client",), False),
        ("@shop/database-client", "packages/database-client", (), True),
    }


def test_migrations_rollbacks_and_schema(model):
    assert [(m.version, m.name, m.rollback is not None) for m in model.migrations] == [
        ("20240115093000", "create_users", True),
        ("20240115094500", "create_products", True),
        ("20240116120000", "create_orders", True),
        ("20240210143000", "add_phone_to_users", True),
        ("20240305090000", "add_orders_status_index", True),
    ]
    s = model.schema_
    assert sorted(s.tables) == ["public.order_items", "public.orders", "public.products", "public.users"]
    users = s.tables["public.users"]
    assert list(users.columns) == ["id", "auth_user_id", "telegram_id", "username", "first_name", "last_name",
                                   "language_code", "created_at", "updated_at", "phone"]
    assert users.columns["id"].type == "uuid" and not users.columns["id"].nullable
    assert users.columns["id"].default == "gen_random_uuid()"
    assert users.columns["phone"].nullable and users.columns["created_at"].type == "timestamptz"
    assert all(t.rls_enabled for t in s.tables.values())
    assert s.tables["public.orders"].columns["status"].type == "public.order_status"
    assert s.enums["public.order_status"].values == ["pending", "paid", "shipped", "delivered", "cancelled"]
    assert {p.name for p in s.policies.values() if p.table == "public.users"} == {
        "Users can view their own profile", "Users can update their own profile"}
    fn = [f for f in s.functions.values() if f.name == "handle_updated_at"][0]
    assert fn.search_path == "''" or fn.search_path == ""
    assert not fn.security_definer


def test_routes_with_mounted_prefixes(model):
    got = {(r.method, r.path, r.raw_path, r.file.rsplit("/", 1)[-1], r.line) for r in model.routes}
    assert got == {
        ("GET", "/health", "/health", "index.ts", 20),
        ("POST", "/orders", "/orders", "orders.ts", 8),
        ("GET", "/orders/{}", "/orders/:id", "orders.ts", 36),
        ("PATCH", "/orders/{}/status", "/orders/:id/status", "orders.ts", 42),
        ("GET", "/orders/{}/items", "/orders/:id/items", "orders.ts", 49),
        ("GET", "/products", "/products", "products.ts", 6),
        ("GET", "/products/{}", "/products/:id", "products.ts", 9),
        ("POST", "/products", "/products", "products.ts", 14),
        ("GET", "/users/by-telegram/{}", "/users/by-telegram/:telegramId", "users.ts", 7),
        ("GET", "/users/{}", "/users/:id", "users.ts", 15),
        ("POST", "/users", "/users", "users.ts", 21),
        ("PATCH", "/users/{}", "/users/:id", "users.ts", 27),
        ("GET", "/users/{}/orders", "/users/:id/orders", "users.ts", 34),
    }


def test_client_methods_match_routes_one_to_one(model):
    client = {(c.name, c.http_method, c.path) for c in model.client_methods}
    assert client == {
        ("health", "GET", "/health"), ("getUser", "GET", "/users/{}"),
        ("getUserByTelegramId", "GET", "/users/by-telegram/{}"), ("createUser", "POST", "/users"),
        ("updateUser", "PATCH", "/users/{}"), ("listUserOrders", "GET", "/users/{}/orders"),
        ("listProducts", "GET", "/products"), ("getProduct", "GET", "/products/{}"),
        ("createProduct", "POST", "/products"), ("createOrder", "POST", "/orders"),
        ("getOrder", "GET", "/orders/{}"), ("updateOrderStatus", "PATCH", "/orders/{}/status"),
        ("listOrderItems", "GET", "/orders/{}/items"),
    }
    assert {(c.http_method, c.path) for c in model.client_methods} == {(r.method, r.path) for r in model.routes}


def test_consumers_through_helpers_aliases_and_reexports(model):
    got = {(c.package, c.method, c.file.rsplit("/", 1)[-1], c.line, c.symbol) for c in model.consumers}
    assert got == {
        ("@shop/telegram-bot", "listProducts", "catalog.ts", 14, "catalogMessage"),
        ("@shop/telegram-bot", "listProducts", "catalog.ts", 20, "findBySku"),
        ("@shop/telegram-bot", "getUserByTelegramId", "customers.ts", 6, "ensureCustomer"),
        ("@shop/telegram-bot", "createUser", "customers.ts", 8, "ensureCustomer"),
        ("@shop/telegram-bot", "updateUser", "handlers.ts", 22, "handleMessage"),
        ("@shop/telegram-bot", "createOrder", "handlers.ts", 38, "handleMessage"),
        ("@shop/telegram-bot", "listUserOrders", "handlers.ts", 45, "handleMessage"),
        ("@shop/telegram-bot", "health", "main.ts", 17, "main"),
        ("@shop/web", "updateOrderStatus", "admin.ts", 13, "advanceOrder"),
        ("@shop/web", "updateOrderStatus", "admin.ts", 20, "cancelOrder"),
        ("@shop/web", "createProduct", "admin.ts", 24, "addProduct"),
        ("@shop/web", "listProducts", "pages.ts", 14, "catalogPage"),
        ("@shop/web", "getProduct", "pages.ts", 18, "productPage"),
        ("@shop/web", "getOrder", "pages.ts", 31, "orderPage"),
        ("@shop/web", "listOrderItems", "pages.ts", 33, "orderPage"),
        ("@shop/web", "getProduct", "pages.ts", 35, "orderPage"),
        ("@shop/web", "getUser", "pages.ts", 41, "accountPage"),
    }


def test_repositories_and_implementations(model):
    repos = {r.name: r for r in model.repositories}
    assert set(repos) == {"UserRepository", "OrderRepository", "ProductRepository"}
    assert repos["ProductRepository"].kind == "type"
    assert repos["OrderRepository"].tables == ["orders", "order_items"]
    assert [m.name for m in repos["UserRepository"].methods] == ["findById", "findByTelegramId", "create", "update"]
    assert [p.name for p in repos["UserRepository"].methods[3].params] == ["id", "patch"]
    impls = {(i.name, i.interface, i.flavour) for i in model.implementations}
    assert impls == {
        ("SupabaseUserRepository", "UserRepository", "supabase"), ("MemoryUserRepository", "UserRepository", "memory"),
        ("SupabaseOrderRepository", "OrderRepository", "supabase"), ("MemoryOrderRepository", "OrderRepository", "memory"),
        ("SupabaseProductRepository", "ProductRepository", "supabase"),
        ("MemoryProductRepository", "ProductRepository", "memory"),
    }


def test_table_usage(model):
    u = [x for x in model.table_usage if x.file.endswith("supabase-user-repository.ts")]
    sel = [x for x in u if x.kind == "select" and x.symbol == "SupabaseUserRepository.findById"][0]
    assert sel.line == 14 and "phone" in sel.columns and "telegram_id" in sel.columns
    upd = [x for x in u if x.kind == "update"][0]
    assert upd.columns == ["auth_user_id", "username", "first_name", "last_name", "language_code", "phone"]
    assert {x.table for x in model.table_usage if x.kind == "type_ref"} == {"users", "products", "orders", "order_items"}
    ins = [x for x in model.table_usage if x.kind == "insert" and x.table == "order_items"][0]
    assert ins.columns == ["order_id", "product_id", "quantity", "unit_price_cents"]


def test_database_types(model):
    (types,) = model.database_types
    assert types.file == "apps/database-service/src/database.types.ts"
    users = types.tables["public.users"]
    assert users.row["phone"].nullable and not users.row["telegram_id"].nullable
    assert users.insert["id"].optional and not users.insert["telegram_id"].optional
    assert types.enums["public.order_status"] == ["pending", "paid", "shipped", "delivered", "cancelled"]


def test_owners(model):
    from checks.owners import OwnerIndex

    idx = OwnerIndex(model)
    assert idx.component_name("apps/telegram-bot/src/handlers.ts") == "telegram-bot"
    assert idx.component_name("supabase/migrations/20240115093000_create_users.sql") == "database"
    assert "@shop/data-team" in idx.owners_for("supabase/migrations/20240115093000_create_users.sql")
    assert model.diagnostics == []


def test_git_ref_gives_the_same_model_as_the_directory(tmp_path, model):
    repo = make_repo(tmp_path)
    (repo / "supabase" / "migrations" / "20990101000000_later.sql").write_text("alter table public.users add column x text;\n")
    at_ref = build_model(GitSource(str(repo), "main"))
    strip = lambda m: m.model_dump(exclude={"root", "ref", "files"})  # noqa: E731
    assert strip(at_ref) == strip(model)
    assert "x" not in at_ref.schema_.tables["public.users"].columns
    assert "x" in build_model(DirSource(str(repo))).schema_.tables["public.users"].columns


def test_messy_files_become_diagnostics_not_crashes(tmp_path):
    repo = make_repo(tmp_path)
    mig = repo / "supabase" / "migrations" / "20240401000000_broken.sql"
    mig.write_bytes(b"-- comment\r\ncreate table public.x (\r\n  id uuid primary key,\r\n  oops oops oops\r\n);\r\n")
    (repo / "apps" / "web" / "src" / "broken.ts").write_text("export function f( {\n  return 1\n")
    (repo / "apps" / "web" / "src" / "latin1.ts").write_bytes(b"export const s = '\xe9t\xe9'\n")
    (repo / "apps" / "web" / "package.json").write_text('{"name": "@shop/web",')
    m = build_model(DirSource(str(repo)))
    kinds = {(d.file, d.kind, d.line) for d in m.diagnostics}
    assert ("supabase/migrations/20240401000000_broken.sql", "sql-parse-error", 4) in kinds
    assert any(f == "apps/web/src/broken.ts" and k == "ts-parse-error" for f, k, _ in kinds)
    assert any(f == "apps/web/package.json" and k == "json-error" for f, k, _ in kinds)
    assert len(m.routes) == 13  # the rest of the model is intact


def test_supabase_dir_found_anywhere_and_configurable():
    files = ["apps/db/supabase/migrations/20240101000000_a.sql", "tools/supabase/README.md", "x.ts"]
    assert find_supabase_dir(files, Config()) == "apps/db/supabase"
    cfg = Config.model_validate({"paths": {"supabase_dir": "infra/sb"}})
    assert find_supabase_dir(files, cfg) == "infra/sb"


def test_cache_reuses_unchanged_files(tmp_path):
    repo = make_repo(tmp_path)
    cache = Cache()
    build_model(DirSource(str(repo)), cache=cache)
    cold_misses = cache.misses
    (repo / "apps" / "web" / "src" / "pages.ts").write_text((repo / "apps/web/src/pages.ts").read_text() + "\n// x\n")
    cache.hits = cache.misses = 0
    build_model(DirSource(str(repo)), cache=cache)
    assert cache.misses == 1 and cache.hits == cold_misses - 1


def run_cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "dlcm", *args], capture_output=True, text=True, cwd=cwd)


def test_cli_model_json_and_config_error(tmp_path):
    out = run_cli("model", str(EXAMPLE), "--format", "json", "--no-cache")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert len(data["routes"]) == 13 and data["schema"]["tables"]["public.users"]["rls_enabled"]
    repo = tmp_path / "r"
    shutil.copytree(EXAMPLE, repo, ignore=shutil.ignore_patterns("node_modules"))
    (repo / ".github" / "dlcm.yml").write_text("paths:\n  migratons: db\n")
    out = run_cli("model", str(repo), "--no-cache")
    assert out.returncode == 2
    assert ".github/dlcm.yml:2" in out.stderr and "paths.migratons" in out.stderr and "Traceback" not in out.stderr


def test_cached_migration_keeps_its_own_name_when_another_file_has_the_same_content():
    from checks.source import MemorySource

    cache, sql = Cache(), b"alter table public.t add column x text;\n"
    build_model(MemorySource({"supabase/migrations/20240101000000_a.sql": sql}), cache=cache)
    m = build_model(MemorySource({"supabase/migrations/20240202000000_b.sql": sql,
                                  "supabase/rollbacks/20240202000000_b.down.sql": b"select 1;\n"}), cache=cache)
    (mig,) = m.migrations
    assert (mig.stem, mig.version, mig.name) == ("20240202000000_b", "20240202000000", "b")
    assert mig.rollback == "supabase/rollbacks/20240202000000_b.down.sql"
