"""Shared helpers of the change-request tests (no tests here).

`example_model()` is the model of `examples/shop-monorepo`. It comes from `build_model`; while
the TypeScript half of the model (`checks.ts`) is not available it falls back to the SQL schema
(real migrations, `checks.sql`), the real workspace / component board / CODEOWNERS, and the
routes, repositories and client methods of the example written out by hand.
"""

from __future__ import annotations

import functools
import os
import posixpath

from checks.config import Config
from checks.model import (
    ClientMethod, ConsumerCall, Implementation, RepoModel, RepositoryInterface, Route, TableUsage,
)
from checks.source import DirSource, read_text

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLE = os.path.join(ROOT, "examples", "shop-monorepo")
FIXTURES = os.path.join(ROOT, "tests", "fixtures", "cr")
SVC = "apps/database-service/src"


def fixture(name: str) -> str:
    with open(os.path.join(FIXTURES, name), encoding="utf-8", newline="") as f:
        return f.read()


def _sql_only_model(root: str) -> RepoModel:
    from checks.owners import load_owners
    from checks.sql.migrations import build_migration, build_rollback
    from checks.sql.replay import replay
    from checks.workspace import find_packages

    src = DirSource(root)
    files = src.files()
    cfg = Config()
    model = RepoModel(root=root)
    model.packages = find_packages(src, files, cfg, [])
    model.supabase_dir = "supabase"
    model.migrations = sorted((build_migration(f, read_text(src, f)) for f in files
                               if posixpath.dirname(f) == "supabase/migrations"), key=lambda m: m.version or "")
    model.rollbacks = [build_rollback(f, read_text(src, f)) for f in files if posixpath.dirname(f) == "supabase/rollbacks"]
    rb = {r.stem: r.path for r in model.rollbacks}
    for m in model.migrations:
        m.rollback = rb.get(m.stem)
    model.schema_ = replay(model.migrations)
    model.components, model.component_board, model.codeowners = load_owners(
        src, files, cfg.paths.component_board, cfg.paths.codeowners, [])
    r = f"{SVC}/routes"
    model.routes = [
        Route(method="GET", path="/health", raw_path="/health", file=f"{SVC}/index.ts", line=21, framework="hono"),
        Route(method="GET", path="/users/by-telegram/{}", raw_path="/users/by-telegram/:telegramId", file=f"{r}/users.ts", line=7,
              framework="hono", handler_calls=["users.findByTelegramId"]),
        Route(method="GET", path="/users/{}", raw_path="/users/:id", file=f"{r}/users.ts", line=15, framework="hono",
              handler_calls=["users.findById"]),
        Route(method="POST", path="/users", raw_path="/users/", file=f"{r}/users.ts", line=21, framework="hono",
              handler_calls=["users.create"]),
        Route(method="PATCH", path="/users/{}", raw_path="/users/:id", file=f"{r}/users.ts", line=27, framework="hono",
              handler_calls=["users.update"]),
        Route(method="GET", path="/users/{}/orders", raw_path="/users/:id/orders", file=f"{r}/users.ts", line=34,
              framework="hono", handler_calls=["users.findById", "orders.listByUser"]),
        Route(method="POST", path="/orders", raw_path="/orders/", file=f"{r}/orders.ts", line=8, framework="hono",
              handler_calls=["orders.create"]),
        Route(method="GET", path="/orders/{}", raw_path="/orders/:id", file=f"{r}/orders.ts", line=36, framework="hono",
              handler_calls=["orders.findById"]),
        Route(method="PATCH", path="/orders/{}/status", raw_path="/orders/:id/status", file=f"{r}/orders.ts", line=42,
              framework="hono", handler_calls=["orders.updateStatus"]),
        Route(method="GET", path="/orders/{}/items", raw_path="/orders/:id/items", file=f"{r}/orders.ts", line=49,
              framework="hono", handler_calls=["orders.listItems"]),
        Route(method="GET", path="/products", raw_path="/products/", file=f"{r}/products.ts", line=60, framework="hono",
              handler_calls=["products.list"]),
        Route(method="GET", path="/products/{}", raw_path="/products/:id", file=f"{r}/products.ts", line=63,
              framework="hono", handler_calls=["products.findById"]),
        Route(method="POST", path="/products", raw_path="/products/", file=f"{r}/products.ts", line=68,
              framework="hono", handler_calls=["products.create"]),
    ]
    repo = f"{SVC}/repositories"
    model.repositories = [
        RepositoryInterface(name="UserRepository", file=f"{repo}/user-repository.ts", line=3, tables=["users"]),
        RepositoryInterface(name="OrderRepository", file=f"{repo}/order-repository.ts", line=3, tables=["orders", "order_items"]),
        RepositoryInterface(name="ProductRepository", file=f"{repo}/product-repository.ts", line=3, tables=["products"]),
    ]
    model.implementations = [
        Implementation(name="SupabaseUserRepository", file=f"{repo}/supabase/supabase-user-repository.ts", line=5,
                       interface="UserRepository", flavour="supabase", tables=["users"]),
        Implementation(name="MemoryUserRepository", file=f"{repo}/memory/memory-user-repository.ts", line=5,
                       interface="UserRepository", flavour="memory"),
        Implementation(name="SupabaseOrderRepository", file=f"{repo}/supabase/supabase-order-repository.ts", line=5,
                       interface="OrderRepository", flavour="supabase", tables=["orders", "order_items"]),
        Implementation(name="MemoryOrderRepository", file=f"{repo}/memory/memory-order-repository.ts", line=5,
                       interface="OrderRepository", flavour="memory"),
        Implementation(name="SupabaseProductRepository", file=f"{repo}/supabase/supabase-product-repository.ts", line=5,
                       interface="ProductRepository", flavour="supabase", tables=["products"]),
        Implementation(name="MemoryProductRepository", file=f"{repo}/memory/memory-product-repository.ts", line=5,
                       interface="ProductRepository", flavour="memory"),
    ]
    model.table_usage = [
        TableUsage(table="users", file=f"{repo}/supabase/supabase-user-repository.ts", line=10, kind="from"),
        TableUsage(table="orders", file=f"{repo}/supabase/supabase-order-repository.ts", line=10, kind="from"),
        TableUsage(table="order_items", file=f"{repo}/supabase/supabase-order-repository.ts", line=44, kind="from"),
        TableUsage(table="products", file=f"{repo}/supabase/supabase-product-repository.ts", line=12, kind="from"),
        TableUsage(table="users", file=f"{SVC}/database.types.ts", line=20, kind="type_ref"),
    ]
    cl = "packages/database-client/src/client.ts"
    model.client_methods = [
        ClientMethod(name="getUser", http_method="GET", path="/users/{}", raw_path="/users/${id}", file=cl, line=63,
                     package="@shop/database-client"),
        ClientMethod(name="updateUser", http_method="PATCH", path="/users/{}", raw_path="/users/' + id", file=cl, line=75,
                     package="@shop/database-client"),
        ClientMethod(name="listUserOrders", http_method="GET", path="/users/{}/orders", raw_path="/users/${userId}/orders",
                     file=cl, line=79, package="@shop/database-client"),
        ClientMethod(name="listProducts", http_method="GET", path="/products", raw_path="/products", file=cl, line=85,
                     package="@shop/database-client"),
    ]
    model.consumers = [
        ConsumerCall(file="apps/telegram-bot/src/customers.ts", line=10, package="@shop/telegram-bot",
                     client_package="@shop/database-client", method="getUser"),
        ConsumerCall(file="apps/web/src/pages.ts", line=20, package="@shop/web",
                     client_package="@shop/database-client", method="listUserOrders"),
    ]
    return model


@functools.lru_cache(maxsize=None)
def _example() -> RepoModel:
    if os.environ.get("DLCM_TEST_SQL_ONLY"):
        return _sql_only_model(EXAMPLE)
    try:
        from checks.build import build_model

        model = build_model(DirSource(EXAMPLE), Config())
        if model.routes and model.schema_.tables:
            return model
    except Exception:  # checks.ts not there yet (or broken mid-work): SQL + hand-written facts
        pass
    return _sql_only_model(EXAMPLE)


def example_model() -> RepoModel:
    """A private deep copy of the example repository's model."""
    return _example().model_copy(deep=True)
