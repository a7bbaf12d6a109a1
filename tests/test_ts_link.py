"""Cross-file TypeScript model (checks.ts.link) on the sample monorepo under tests/fixtures/ts/monorepo.

It has a Hono service (sub-routers mounted across files, a router factory, a tsconfig alias,
`index.ts` re-exports, `.js` import suffixes, basePath), an Express service (`app.use`
prefixes, `router.route('/x').get()`), a Fastify service (register prefixes, inline and
`import()` plugins), a client package (path constants in another module, base URL, query
strings, nested `users.orders`) and two consumers (through a helper returning the client,
an aliased import, a namespace import in a `.tsx` file).
"""

from __future__ import annotations

import os

import pytest

from checks.config import Config, Naming, Paths
from checks.model import Package
from checks.source import DirSource
from checks.ts.facts import extract_file
from checks.ts.link import link, normalise_path, pluralise, table_for
from checks.workspace import find_packages, tsconfig_paths

ROOT = os.path.join(os.path.dirname(__file__), "fixtures", "ts", "monorepo")
FACTS_DIR = os.path.join(os.path.dirname(__file__), "fixtures", "ts", "facts")
CONFIG = Config(naming=Naming(repository_tables={"OrderItemRepository": "order_items, order_item_history"}))


def load(root: str = ROOT, config: Config = CONFIG):
    src = DirSource(root)
    files = src.files()
    diags: list = []
    packages = find_packages(src, files, config, diags)
    facts = {f: extract_file(f, src.read_bytes(f)) for f in files if f.endswith((".ts", ".tsx"))}
    return facts, packages, tsconfig_paths(src, files, diags)


@pytest.fixture(scope="module")
def linked():
    facts, packages, tsp = load()
    return link(facts, packages, CONFIG, tsp)


# --------------------------------------------------------------------------- routes


def test_routes_with_prefixes_across_files(linked):
    got = [(r.method, r.path, r.raw_path, r.file, r.line, r.framework, r.package) for r in linked.routes]
    api, legacy, search = "@acme/api", "@acme/legacy", "@acme/search"
    assert got == [
        # registerHealth(app): a function given the app (not `api`) registers on it
        ("GET", "/health", "/health", "apps/api/src/routes/health.ts", 4, "hono", api),
        # createOrdersRouter(repos) mounted through the `@/routes/orders` alias under basePath('/api')
        ("GET", "/api/orders", "/api/orders", "apps/api/src/routes/orders.ts", 6, "hono", api),
        ("POST", "/api/orders", "/api/orders", "apps/api/src/routes/orders.ts", 7, "hono", api),
        ("PATCH", "/api/orders/{}/status", "/api/orders/:id/status", "apps/api/src/routes/orders.ts", 8, "hono", api),
        # usersRouter re-exported as `users` from routes/index.ts; chained routes; a path constant
        ("GET", "/api/users", "/api/users", "apps/api/src/routes/users.ts", 6, "hono", api),
        ("GET", "/api/users/{}", "/api/users/:userId", "apps/api/src/routes/users.ts", 7, "hono", api),
        ("GET", "/api/users/{}/orders/{}", "/api/users/:id/orders/:orderId?", "apps/api/src/routes/users.ts", 8, "hono", api),
        # a sub-router of a sub-router, `{id}` param style
        ("DELETE", "/api/users/admin/{}", "/api/users/admin/{id}", "apps/api/src/routes/users.ts", 11, "hono", api),
        # Express: app.use('/api/items', middleware, router) with router.route('/:id').get().delete()
        ("GET", "/api/items/{}", "/api/items/:id", "apps/legacy/src/routes/items.ts", 6, "express", legacy),
        ("DELETE", "/api/items/{}", "/api/items/:id", "apps/legacy/src/routes/items.ts", 7, "express", legacy),
        ("POST", "/api/items", "/api/items", "apps/legacy/src/routes/items.ts", 9, "express", legacy),
        ("GET", "/api/ping", "/api/ping", "apps/legacy/src/server.ts", 6, "express", legacy),
        # Fastify: register(plugin, { prefix }) with an import()ed plugin, a named one and an inline one
        ("GET", "/stats/daily", "/stats/daily", "apps/search/src/plugins/stats.ts", 4, "fastify", search),
        ("GET", "/search", "/search", "apps/search/src/routes/search.ts", 4, "fastify", search),
        ("POST", "/search/reindex", "/search/reindex", "apps/search/src/routes/search.ts", 5, "fastify", search),
        ("GET", "/x/inline", "/x/inline", "apps/search/src/server.ts", 8, "fastify", search),
    ]


def test_route_handler_calls(linked):
    calls = {(r.method, r.path): r.handler_calls for r in linked.routes}
    assert calls[("GET", "/api/users/{}")] == ["users.findById"]
    assert calls[("PATCH", "/api/orders/{}/status")] == ["orders.setStatus"]
    assert calls[("POST", "/api/items")] == ["itemRepo.add"]  # not res.status(201).json
    assert calls[("GET", "/api/items/{}")] == ["itemRepo.find"]


# --------------------------------------------------------------------------- clients and consumers


def test_client_methods(linked):
    got = [(c.class_name, c.name, c.http_method, c.path, c.raw_path, c.line, [p.name for p in c.params])
           for c in linked.client_methods]
    assert got == [
        # a sub-API class the client exposes as `admin`
        ("AdminApi", "stats", "GET", "/api/admin/stats", "/api/admin/stats", 9, []),
        # `${PREFIX}${USERS}/${id}` with USERS imported from ./paths
        ("ApiClient", "getUser", "GET", "/api/users/{}", "/api/users/${id}", 19, ["id"]),
        # concatenation, query string dropped
        ("ApiClient", "listUsers", "GET", "/api/users", "/api/users", 23, ["limit"]),
        # fetch with the base URL interpolated and the method in the init object
        ("ApiClient", "deleteUser", "DELETE", "/api/users/{}/admin/{}", "/api/users/${id}/admin/${id}", 27, ["id"]),
        # a namespace import of an object of constants
        ("ApiClient", "listOrders", "GET", "/api/orders", "/api/orders", 31, []),
        ("ApiClient", "setOrderStatus", "PATCH", "/api/orders/{}/status", "/api/orders/${id}/status", 35, ["id", "status"]),
        ("ApiClient", "search", "GET", "/search", "/search", 39, ["q"]),
        ("ApiClient", "users.orders", "GET", "/api/users/{}/orders/x", "/api/users/${id}/orders/x", 44, ["id"]),
    ]
    assert {c.package for c in linked.client_methods} == {"@acme/api-client"}
    assert {c.file for c in linked.client_methods} == {"packages/api-client/src/client.ts"}


def test_every_client_method_has_a_route(linked):
    routes = {(r.method, r.path) for r in linked.routes}
    missing = [(c.http_method, c.path) for c in linked.client_methods if (c.http_method, c.path) not in routes]
    # the fixture has exactly these drifts on purpose
    assert missing == [("GET", "/api/admin/stats"), ("DELETE", "/api/users/{}/admin/{}"),
                       ("GET", "/api/users/{}/orders/x")]


def test_consumers(linked):
    got = [(c.package, c.client_package, c.method, c.file, c.line, c.symbol) for c in linked.consumers]
    bot, web, cl = "@acme/bot", "@acme/web", "@acme/api-client"
    assert got == [
        # `const client = getClient()` where getClient (./db) returns makeClient(...), an aliased
        # re-export of createApiClient; client.setToken is a helper, not an endpoint call
        (bot, cl, "getUser", "apps/bot/src/handlers.ts", 6, "onStart"),
        (bot, cl, "deleteUser", "apps/bot/src/handlers.ts", 8, "onStart"),
        # `private api = new Api(...)` (import alias) and a constructor parameter property
        (bot, cl, "listOrders", "apps/bot/src/handlers.ts", 17, "Bot.run"),
        (bot, cl, "users.orders", "apps/bot/src/handlers.ts", 18, "Bot.run"),
        # a method the client does not have (any more) is still a call on the client
        (bot, cl, "removedMethod", "apps/bot/src/handlers.ts", 19, "Bot.run"),
        # `this.api.admin.stats()`: the sub-API instance the client creates
        (bot, cl, "stats", "apps/bot/src/handlers.ts", 20, "Bot.run"),
        # `import * as sdk` and `new sdk.ApiClient()` in a .tsx file
        (web, cl, "search", "apps/web/src/Page.tsx", 6, "Page"),
    ]


# --------------------------------------------------------------------------- repositories


def test_repositories_and_tables(linked):
    got = [(r.name, r.kind, r.file, r.line, r.tables, [m.name for m in r.methods]) for r in linked.repositories]
    assert got == [
        # explicit naming.repository_tables, then the table used by the implementation
        ("OrderRepository", "type", "apps/api/src/repositories/order-repository.ts", 1, ["orders"],
         ["list", "create", "setStatus"]),
        ("OrderItemRepository", "interface", "apps/api/src/repositories/order-repository.ts", 7,
         ["order_items", "order_item_history"], ["listByOrder"]),
        ("CategoryRepository", "interface", "apps/api/src/repositories/order-repository.ts", 11,
         ["categories", "categories_v1"], ["all"]),
        ("UserRepository", "interface", "apps/api/src/repositories/user-repository.ts", 1, ["users"],
         ["list", "findById", "remove"]),
    ]


def test_implementations(linked):
    got = [(i.name, i.interface, i.flavour, i.file, i.line, i.tables, [m.name for m in i.methods])
           for i in linked.implementations]
    assert got == [
        # an arrow factory returning an object literal typed as the interface
        ("createMemoryUserRepo", "UserRepository", "memory", "apps/api/src/repositories/memory/users.ts", 3, [],
         ["list", "findById", "remove"]),
        # no `implements`: found by the Supabase prefix + interface name
        ("SupabaseOrderItemRepository", "OrderItemRepository", "supabase",
         "apps/api/src/repositories/supabase/order-items.ts", 1, ["order_items"], ["listByOrder"]),
        # no prefix: Supabase because it calls .from(); CategoryStore implements nothing
        ("LegacyCategoryRepository", "CategoryRepository", "supabase",
         "apps/api/src/repositories/supabase/order-items.ts", 15, ["categories_v1"], ["all"]),
        ("SupabaseUserRepository", "UserRepository", "supabase", "apps/api/src/repositories/supabase/users.ts", 3,
         ["users"], ["list", "findById", "remove"]),
    ]


# --------------------------------------------------------------------------- tests, misc


def test_test_files(linked):
    got = {t.file: (t.package, t.identifiers) for t in linked.tests}
    assert got == {
        "apps/api/src/__tests__/users.test.ts": ("@acme/api", [
            "/api/users", "/api/users/1", "/api/users/{}", "/api/users?limit=${10}", "createApp",
            "createMemoryUserRepo", "describe", "expect", "it", "request", "toBe"]),
        "packages/api-client/src/client.test.ts": ("@acme/api-client", ["ApiClient", "getUser"]),
    }
    # tests are neither routes, clients nor consumers
    assert not any("test" in r.file for r in linked.routes)


def test_table_usage_passes_through(linked):
    assert [(u.kind, u.table, u.file, u.line, u.symbol) for u in linked.table_usage if u.table == "users"] == [
        ("select", "users", "apps/api/src/repositories/supabase/users.ts", 6, "SupabaseUserRepository.list"),
        ("select", "users", "apps/api/src/repositories/supabase/users.ts", 9, "SupabaseUserRepository.findById"),
        ("delete", "users", "apps/api/src/repositories/supabase/users.ts", 12, "SupabaseUserRepository.remove"),
    ]
    assert linked.diagnostics == [] and linked.suppressions == [] and linked.database_types == []


def test_ignored_files_and_identical_content_at_two_paths():
    facts, packages, tsp = load()
    same = facts["apps/api/src/repositories/supabase/users.ts"]
    facts["apps/api/src/repositories/supabase/copy.ts"] = same  # the cache hands out one object per content
    facts["apps/api/node_modules/x/repositories/users.ts"] = same
    out = link(facts, packages, CONFIG, tsp)
    files = sorted({u.file for u in out.table_usage if u.table == "users"})
    assert files == ["apps/api/src/repositories/supabase/copy.ts", "apps/api/src/repositories/supabase/users.ts"]
    assert same.path == "apps/api/src/repositories/supabase/users.ts"  # the cached object is untouched
    assert [i.file for i in out.implementations if i.name == "SupabaseUserRepository"] == [
        "apps/api/src/repositories/supabase/copy.ts", "apps/api/src/repositories/supabase/users.ts"]


def test_packages_without_entry_and_flat_tsconfig_paths():
    """Hand-made packages (no `entry`): `src/index.ts` is the entry; a flat `paths` map applies at the root."""
    facts, _packages, _tsp = load()
    pkgs = [Package(name="@acme/api", path="apps/api"), Package(name="@acme/bot", path="apps/bot"),
            Package(name="@acme/web", path="apps/web"), Package(name="@acme/api-client", path="packages/api-client")]
    out = link(facts, pkgs, CONFIG, {"@/*": ["apps/api/src/*"]})
    assert ("GET", "/api/orders") in {(r.method, r.path) for r in out.routes}
    assert [c.method for c in out.consumers] == [
        "getUser", "deleteUser", "listOrders", "users.orders", "removedMethod", "stats", "search"]


def test_configured_paths_and_client_packages():
    cfg = Config(paths=Paths(repositories=["**/nowhere/**"], api=["**/routes/**/*.ts"]),
                 naming=Naming(client_package_suffix="-sdk", client_packages=[]))
    facts, packages, tsp = load(config=cfg)
    out = link(facts, packages, cfg, tsp)
    assert out.repositories == []
    assert out.client_methods == [] and out.consumers == []
    # apps/api is still an api package (it has routes/); registerHealth etc. found the same way
    assert len([r for r in out.routes if r.package == "@acme/api"]) == 8


def test_link_single_files_from_facts_fixtures():
    """The facts fixtures as one flat package: cross-file import of a path constant, default re-export."""
    names = ["hono-routes.ts", "express-app.ts", "fastify-server.ts", "crlf.ts", "broken.ts", "suppressions.ts",
             "database.types.ts", "supabase-user-repository.ts", "repositories.ts", "memory-user-repository.ts"]
    routes_dir = {"hono-routes.ts", "express-app.ts", "fastify-server.ts", "crlf.ts", "broken.ts"}
    facts = {}
    for n in names:
        with open(os.path.join(FACTS_DIR, n), "rb") as f:
            facts[("src/routes/" if n in routes_dir else "src/repositories/") + n] = extract_file(n, f.read())
    facts["src/routes/paths.ts"] = extract_file("paths.ts", b"export const ORDER_PATH = `/orders/${':id'}`\n")
    out = link(facts, [Package(name="svc", path="")], Config(), None)
    hono = sorted((r.method, r.path) for r in out.routes if r.file == "src/routes/hono-routes.ts")
    assert hono == [
        ("DELETE", "/api/admin/users/{}"), ("GET", "/api/orders/{}"), ("GET", "/api/ping"),
        ("GET", "/api/users"), ("GET", "/api/users/{}"), ("GET", "/api/users/{}/avatar"),
        ("HEAD", "/api/ping"), ("POST", "/api/users"),
    ]
    express = sorted((r.method, r.path) for r in out.routes if r.file == "src/routes/express-app.ts")
    assert express == [("GET", "/api/v1/health"), ("GET", "/api/v1/orders/{}"), ("POST", "/api/v1/admin/reindex"),
                       ("PUT", "/api/v1/orders/{}")]
    # the facts of each file carry their own path; the link step re-labels them by key
    assert {d.file for d in out.diagnostics} == {"src/routes/broken.ts"}
    assert [s.file for s in out.suppressions] == ["src/routes/crlf.ts", "src/repositories/suppressions.ts",
                                                  "src/repositories/suppressions.ts"]
    assert [d.file for d in out.database_types] == ["src/repositories/database.types.ts"]
    # BaseRepository, which UserRepository extends, is not a repository of its own
    assert [(r.name, r.tables) for r in out.repositories] == [
        ("UserRepository", ["users", "audit.events"]), ("OrderItemRepository", ["order_items"])]
    assert [r.methods[-1].name for r in out.repositories][:1] == ["count"]  # inherited from BaseRepository
    assert sorted((i.name, i.flavour) for i in out.implementations) == [
        ("InMemoryUserRepository", "memory"), ("SupabaseUserRepository", "supabase"),
        ("createMemoryUserRepo", "memory")]


def test_missing_facts_become_diagnostics():
    out = link({"src/a.ts": None}, [], Config())
    assert [(d.file, d.kind) for d in out.diagnostics] == [("src/a.ts", "unreadable")]


# --------------------------------------------------------------------------- pure helpers


@pytest.mark.parametrize("pieces, client, expected", [
    ((("lit", "/users/:id"),), False, ("/users/{}", "/users/:id")),
    ((("lit", "/users/{id}"),), False, ("/users/{}", "/users/{id}")),
    ((("lit", "/users/"), ("param", "id")), False, ("/users/{}", "/users/${id}")),
    ((("lit", "/users/:userId?"),), False, ("/users/{}", "/users/:userId?")),
    ((("lit", "/users/"),), False, ("/users", "/users")),
    ((("lit", "//api//users/"),), False, ("/api/users", "/api/users")),
    ((("lit", "/"),), False, ("/", "/")),
    ((("lit", ""),), False, ("/", "/")),
    ((("param", "this.baseUrl"), ("lit", "/users?x=1")), True, ("/users", "/users")),
    ((("lit", "https://api.example.com/v1/users/"), ("param", "id")), True, ("/v1/users/{}", "/v1/users/${id}")),
    ((("lit", "/users"), ("param", "qs")), True, ("/users", "/users")),
    ((("lit", "/files/"), ("param", "name"), ("lit", ".json")), True, ("/files/{}.json", "/files/${name}.json")),
    ((("lit", "users"),), True, ("/users", "/users")),
    ((("param", "path"),), True, None),
])
def test_normalise_path(pieces, client, expected):
    assert normalise_path(pieces, client=client) == expected


@pytest.mark.parametrize("name, table", [
    ("UserRepository", "users"), ("OrderItemRepository", "order_items"), ("CategoryRepository", "categories"),
    ("AddressRepository", "addresses"), ("StatusRepository", "statuses"), ("PersonRepository", "people"),
    ("DayRepository", "days"), ("HTTPLogRepository", "http_logs"), ("UsersRepository", "users"),
    ("IUserRepository", "users"), ("IORepository", "ios"),
])
def test_table_naming_convention(name, table):
    assert table_for(name, "Repository") == table


def test_pluralise():
    assert [pluralise(w) for w in ("box", "key", "city", "bus", "child")] == ["boxes", "keys", "cities", "buses", "children"]
