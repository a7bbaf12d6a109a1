"""Per-file TypeScript facts (checks.ts.facts) on small real files under tests/fixtures/ts/facts."""

from __future__ import annotations

import json
import os

import pytest

from checks.model import Method, Param, Suppression, TableUsage
from checks.ts.facts import FileFacts, extract_file, parse_select, parse_suppression

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures", "ts", "facts")


def facts(name: str) -> FileFacts:
    with open(os.path.join(FIXTURES, name), "rb") as f:
        return extract_file(name, f.read())


def usage(ff: FileFacts) -> list[tuple]:
    return [(u.kind, u.table, u.columns, u.filters, u.line, u.symbol, u.embedded_in) for u in ff.table_usage]


def routes(ff: FileFacts) -> list[tuple]:
    return [(r.receiver, r.scope, r.method, r.path, r.chain, r.from_decl, r.line, r.framework, r.handler_calls)
            for r in ff.routes]


def mounts(ff: FileFacts) -> list[tuple]:
    return [(m.receiver, m.scope, m.prefix, m.target_kind, m.target, m.target_scope, m.line, m.via, m.from_decl)
            for m in ff.mounts]


def http(ff: FileFacts) -> list[tuple]:
    return [(h.owner, h.name, h.method, h.path, h.line, h.decl_line, [p[0] for p in h.params]) for h in ff.http_calls]


def m(name, params=(), returns=None, line=1, end_line=None, kind="method"):
    return Method(name=name, params=[Param(name=p[0], type=p[1], optional=p[2] if len(p) > 2 else False,
                                           rest=p[3] if len(p) > 3 else False) for p in params],
                  returns=returns, line=line, end_line=end_line if end_line is not None else line, kind=kind)


L = lambda s: ("lit", s)  # noqa: E731
P = lambda s: ("param", s)  # noqa: E731
R = lambda s: ("ref", s)  # noqa: E731


# --------------------------------------------------------------------------- repositories


def test_repository_interface_and_type_alias():
    ff = facts("repositories.ts")
    types = {t.name: t for t in ff.types}
    # data shapes without methods (ListOpts) are not recorded
    assert [t.name for t in ff.types] == ["UserRepository", "OrderItemRepository", "BaseRepository"]
    user = types["UserRepository"]
    assert (user.kind, user.line, user.end_line, user.extends) == ("interface", 10, 15, ("BaseRepository",))
    assert list(user.methods) == [
        m("findById", [("id", "string")], "Promise<User | null>", 11),
        m("list", [("opts", "ListOpts", True)], "Promise<User[]>", 12, kind="property"),
        m("create", [("input", "NewUser"), ("tags", "string[]", False, True)], "Promise<User>", 13),
    ]
    items = types["OrderItemRepository"]
    assert (items.kind, items.line) == ("type", 17)
    assert list(items.methods) == [m("listByOrder", [("orderId", "string")], "Promise<Tables<'order_items'>[]>", 18)]
    assert usage(ff) == [
        ("type_ref", "users", [], [], 3, None, None),
        ("type_ref", "users", [], [], 4, None, None),
        ("type_ref", "order_items", [], [], 18, None, None),
    ]
    assert ff.imports[0].type_only and ff.imports[0].names == (("Tables", "Tables"), ("TablesInsert", "TablesInsert"))


def test_supabase_class_table_usage():
    ff = facts("supabase-user-repository.ts")
    (cls,) = ff.classes
    assert (cls.name, cls.line, cls.implements, cls.extends) == ("SupabaseUserRepository", 8, ("UserRepository",), None)
    # private helpers and the constructor are not interface methods; the arrow property is
    assert [(x.name, x.kind, x.line) for x in cls.methods] == [
        ("findById", "method", 11), ("list", "arrow", 20), ("create", "method", 25),
        ("importMany", "method", 31), ("count", "method", 43),
    ]
    assert cls.members == ("constructor", "findById", "list", "create", "importMany", "toEmail", "count")
    sym = "SupabaseUserRepository."
    assert usage(ff) == [
        ("type_ref", "users", [], [], 5, None, None),
        ("type_ref", "users", ["email"], [], 6, None, None),
        ("select", "users", ["id", "email", "name"], ["id"], 13, sym + "findById", None),
        ("select", "orders", ["id", "total_cents"], [], 13, sym + "findById", "users"),
        ("select", "profiles", ["avatar_url"], [], 13, sym + "findById", "users"),
        ("select", "users", ["*"], ["created_at"], 21, sym + "list", None),
        ("insert", "users", ["email", "name", "tags"], [], 27, sym + "create", None),
        ("select", "users", ["id"], [], 27, sym + "create", None),
        ("upsert", "users", ["email", "name", "phone"], ["email"], 32, sym + "importMany", None),
        ("update", "users", ["last_seen_at"], ["email"], 33, sym + "importMany", None),
        ("delete", "users", [], ["created_at"], 34, sym + "importMany", None),
        ("insert", "audit.events", ["kind", "email"], [], 35, sym + "importMany", None),
        ("rpc", "refresh_user_stats", [], [], 36, sym + "importMany", None),
    ]
    assert ff.variables[0].name == "this.db" and ff.variables[0].type == "SupabaseClient"


def test_memory_factory_and_class():
    ff = facts("memory-user-repository.ts")
    (fa,) = ff.factories
    assert (fa.name, fa.line, fa.end_line, fa.returns, fa.kind) == ("createMemoryUserRepo", 3, 10, "UserRepository", "function")
    assert list(fa.methods) == [
        m("findById", [("id", "string")], None, 4, 6),
        m("list", [], None, 7, kind="arrow"),
        m("create", [("input", None)], None, 8, kind="arrow"),
        m("count", [], None, 9, kind="property"),
    ]
    (cls,) = ff.classes
    assert cls.name == "InMemoryUserRepository"
    # static and private members are not methods of the implementation
    assert [(x.name, x.kind) for x in cls.methods] == [
        ("findById", "arrow"), ("list", "method"), ("create", "method"), ("count", "method")]
    assert ff.table_usage == []


def test_select_string_parser():
    assert parse_select("id, name, orders(id, total), author:users!fk(name, posts(title))") == (
        ["id", "name"], [("orders", ["id", "total"]), ("users", ["name"]), ("posts", ["title"])])
    assert parse_select("*, count") == (["*", "count"], [])
    assert parse_select("total:amount::text, data->settings->>theme, ...profiles(avatar)") == (
        ["amount", "data"], [("profiles", ["avatar"])])
    assert parse_select("id, count()") == (["id", "count"], [])


# --------------------------------------------------------------------------- routes


def test_hono_chained_routes_basepath_and_factory():
    ff = facts("hono-routes.ts")
    assert ff.framework == "hono"
    assert [(r.name, r.scope, r.line, r.framework, r.base) for r in ff.routers] == [
        ("users", "", 6, "hono", ()),
        ("api", "", 14, "hono", (L("/api"),)),
        ("admin", "createAdmin", 21, "hono", ()),
    ]
    assert routes(ff) == [
        ("users", "", "GET", (L("/"),), (), True, 7, "hono", ("users.list",)),
        ("users", "", "GET", (L("/:id"),), (), True, 8, "hono", ("users.findById",)),
        ("users", "", "POST", (L("/"),), (), True, 12, "hono", ("users.create",)),
        ("api", "", "GET", (L("/users/{id}/avatar"),), (), False, 16, "hono", ()),
        ("api", "", "GET", (L("/ping"),), (), False, 17, "hono", ()),
        ("api", "", "HEAD", (L("/ping"),), (), False, 17, "hono", ()),
        ("api", "", "GET", (R("ORDER_PATH"),), (), False, 18, "hono", ()),
        # local `ids.map` is not a repository call; `users` destructured from a closure is
        ("admin", "createAdmin", "DELETE", (L("/users/:userId?"),), (), False, 22, "hono", ("users.remove",)),
    ]
    assert mounts(ff) == [
        ("api", "", (L("/users"),), "ident", "users", "", 15, "route", False),
        ("api", "", (L("/admin"),), "call", "createAdmin", "", 32, "route", False),
    ]
    assert ff.exports == {"users": "users", "api": "api", "createAdmin": "createAdmin", "default": "api"}
    assert ff.consts == {"ITEM": (L("/:id"),)}
    (fn,) = [f for f in ff.functions if f.name == "createAdmin"]
    assert fn.returns == (("ident", "admin", "createAdmin"),)


def test_express_router_route_chain_and_use():
    ff = facts("express-app.ts")
    assert [(r.name, r.framework) for r in ff.routers] == [("app", "express"), ("v1", "express"), ("admin", "express")]
    assert routes(ff) == [
        ("v1", "", "GET", (L("/health"),), (), False, 7, "express", ()),
        ("v1", "", "GET", (), (L("/orders/:id"),), False, 9, "express", ("orderRepo.findById",)),
        ("v1", "", "PUT", (), (L("/orders/:id"),), False, 10, "express", ("orderRepo.update",)),
        ("admin", "", "POST", (L("/reindex"),), (), False, 13, "express", ()),
    ]
    assert mounts(ff) == [
        ("app", "", (L("/api/v1"),), "ident", "v1", "", 15, "use", False),
        ("v1", "", (L("/admin"),), "ident", "admin", "", 16, "use", False),
        ("app", "", (L("/api/v1/items"),), "ident", "itemsRouter", "", 17, "use", False),
        ("app", "", (), "call", "express.json", "", 18, "use", False),
    ]


def test_fastify_plugin_route_object_and_register():
    ff = facts("fastify-server.ts")
    assert routes(ff) == [
        ("fastify", "searchRoutes", "GET", (L("/"),), (), False, 5, "fastify", ("search.query",)),
        ("fastify", "searchRoutes", "GET", (L("/:term"),), (), False, 6, "fastify", ("search.byTerm",)),
        ("fastify", "searchRoutes", "HEAD", (L("/:term"),), (), False, 6, "fastify", ("search.byTerm",)),
        ("instance", "@15:19", "POST", (L("/reindex"),), (), False, 16, "fastify", ()),
    ]
    assert mounts(ff) == [
        ("server", "", (L("/search"),), "ident", "searchRoutes", "", 14, "register", False),
        ("server", "", (L("/admin"),), "ident", "instance", "@15:19", 15, "register", False),
        ("server", "", (L("/stats"),), "module", "./plugins/stats", "", 18, "register", False),
    ]
    assert [(f.name, f.params[0][:2]) for f in ff.functions if f.name == "searchRoutes"] == [
        ("searchRoutes", ("fastify", "FastifyInstance"))]


# --------------------------------------------------------------------------- clients and consumers


def test_client_http_calls():
    ff = facts("client.ts")
    base = P("this.baseUrl")
    assert http(ff) == [
        ("ShopClient", "getUser", "GET", (L("/api"), R("USERS"), L("/"), P("id")), 15, 14, ["id"]),
        ("ShopClient", "listUsers", "GET",
         (L("/api"), R("USERS"), L("?q="), P("encodeURIComponent(query ?? '')")), 19, 18, ["query"]),
        ("ShopClient", "deleteUser", "DELETE", (base, L("/api/users/"), P("id")), 23, 22, ["id"]),
        ("ShopClient", "listOrders", "GET", (L("/api/orders"),), 27, 26, []),
        ("ShopClient", "createOrder", "POST", (base, R("paths.ORDER_BASE")), 31, 30, ["body"]),
        ("ShopClient", "health", "GET", (base, L("/health?verbose=1")), 35, 34, []),
        ("ShopClient", "stats", "GET", (base, L("/v2/stats")), 39, 38, []),
        ("ShopClient", "search", "POST", (L("/api/search/"), P("term")), 43, 42, ["term"]),
        ("ShopClient", "users.get", "GET", (L("/api/users/"), P("id")), 47, 47, ["id"]),
        ("ShopClient", "users.remove", "DELETE", (base, L("/api/users/"), P("id")), 49, 48, ["id"]),
        ("createLightClient", "ping", "GET", (P("baseUrl"), L("/ping")), 60, 60, []),
        (None, "getProduct", "GET", (L("/api/products/"), P("id")), 65, 64, ["id"]),
    ]
    # the private transport (path is a parameter) is not an endpoint
    assert all(h.name != "request" for h in ff.http_calls)
    assert ff.consts == {"API": (L("/api"),), "ORDERS": (L("/api/orders"),)}


def test_consumer_member_calls_and_bindings():
    ff = facts("consumer.ts")
    assert [(v.name, v.scope, v.init, v.type) for v in ff.variables] == [
        ("this.light", "Notifier", ("call", "createLightClient", ""), None),
        ("this.api", "Notifier", None, "Client"),
        ("api", "Notifier.constructor", None, "Client"),
        ("client", "", ("new", "Client", ""), None),
    ]
    assert [(c.root, c.root_kind, c.root_scope, c.path, c.line, c.symbol) for c in ff.member_calls] == [
        ("this.api", "this", "Notifier", ("getUser",), 12, "Notifier.notify"),
        ("client", "ident", "", ("users", "get"), 13, "Notifier.notify"),
        ("this.light", "this", "Notifier", ("ping",), 14, "Notifier.notify"),
    ]
    assert [(c.callee, c.line, c.symbol) for c in ff.calls] == [
        ("createLightClient", 7, None), ("getProduct", 15, "Notifier.notify")]


def test_tsx_is_parsed_with_the_tsx_grammar():
    ff = facts("Page.tsx")
    assert ff.diagnostics == []
    assert [(c.root, c.path, c.line, c.symbol) for c in ff.member_calls] == [("api", ("deleteUser",), 6, "UserPage.onClick")]
    assert ff.paths == ["/", "/users/me", "/users/${id}"]


# --------------------------------------------------------------------------- generated types


def test_database_types():
    ff = facts("database.types.ts")
    dt = ff.database_types
    assert dt is not None and dt.file == "database.types.ts"
    assert list(dt.tables) == ["public.users", "public.active_users", "audit.events"]
    users = dt.tables["public.users"]
    assert (users.schema_, users.name, users.kind, users.line) == ("public", "users", "table", 9)
    assert [(c.name, c.ts_type, c.optional, c.nullable, c.line) for c in users.row.values()] == [
        ("id", "string", False, False, 11),
        ("email", "string", False, False, 12),
        ("name", "string | null", False, True, 13),
        ("status", 'Database["public"]["Enums"]["user_status"]', False, False, 14),
    ]
    assert [(c.name, c.optional, c.nullable) for c in users.insert.values()] == [
        ("id", True, False), ("email", False, False), ("name", True, True), ("status", True, False)]
    assert list(users.update) == ["id", "email", "name", "status"]
    view = dt.tables["public.active_users"]
    assert (view.kind, list(view.row), view.insert) == ("view", ["id", "email"], {})
    assert list(dt.tables["audit.events"].row) == ["id", "payload"]
    assert dt.enums == {"public.user_status": ["active", "blocked"]}
    assert dt.functions == ["public.refresh_user_stats"]
    assert ff.table_usage == []  # the generic helpers take type parameters, not table names


# --------------------------------------------------------------------------- comments, CRLF, errors


def test_suppressions():
    ff = facts("suppressions.ts")
    assert ff.suppressions == [
        Suppression(file="suppressions.ts", line=1, rules=["DLCM301"], reason="the bot still calls the old path"),
        Suppression(file="suppressions.ts", line=3, rules=["DLCM302", "DLCM303"], reason="migrated in DLCM-12"),
    ]
    assert parse_suppression("dlcm-ignore-next-line") is None
    assert parse_suppression("dlcm-ignore") is None
    assert parse_suppression("dlcm-ignore DLCM301") == (["DLCM301"], "")


def test_crlf_file():
    with open(os.path.join(FIXTURES, "crlf.ts"), "rb") as f:
        data = f.read()
    assert b"\r\n" in data
    ff = extract_file("crlf.ts", data)
    assert ff.diagnostics == []
    assert ff.suppressions == [Suppression(file="crlf.ts", line=3, rules=["DLCM301"],
                                           reason="legacy route kept for old bots")]
    assert routes(ff) == [("legacy", "", "GET", (L("/legacy/:id"),), (), False, 6, "hono", ())]
    assert usage(ff) == [("select", "legacy_items", ["id", "name"], ["active"], 11, "load", None)]
    # the same file with LF endings gives the same facts
    lf = extract_file("crlf.ts", data.replace(b"\r\n", b"\n"))
    assert lf.model_dump() == ff.model_dump()


def test_syntax_error_gives_a_diagnostic_and_the_rest():
    ff = facts("broken.ts")
    assert [(d.kind, d.file, d.line) for d in ff.diagnostics] == [("ts-parse-error", "broken.ts", 7)]
    assert "syntax error" in ff.diagnostics[0].message
    # extraction goes on around the error
    assert [(r.method, r.path, r.line) for r in ff.routes] == [("GET", (L("/ok"),), 4), ("POST", (L("/after"),), 10)]
    assert usage(ff) == [("from", "things", [], [], 7, None, None)]


@pytest.mark.parametrize("source", [b"", b"\xff\xfe\x00garbage", b"}}}}", b"export type * from './types'\n"])
def test_degenerate_input_never_raises(source):
    ff = extract_file("x.ts", source)
    assert isinstance(ff, FileFacts)
    if source.startswith(b"export type *"):
        assert ff.diagnostics == [] and ff.reexports[0].star  # TS 5 syntax the grammar lacks is not an error


def test_deep_nesting_is_reported_not_raised():
    src = b"const P = " + b" + ".join([b"'/a'"] * 3000) + b";\n" + b"f(" * 2000 + b")" * 2000 + b"\n"
    ff = extract_file("deep.ts", src)
    assert [d.kind for d in ff.diagnostics] == ["ts-extract-error"]


def test_storage_buckets_and_array_from_are_not_tables():
    ff = extract_file("x.ts", b"await supabase.storage.from('avatars').upload(p, f)\n"
                              b"Array.from('abc'); Buffer.from('x')\n"
                              b"await supabase.from('profiles').select('avatar_url')\n")
    assert usage(ff) == [("select", "profiles", ["avatar_url"], [], 3, None, None)]


def test_table_name_from_a_constant():
    ff = extract_file("x.ts", b"const TABLE = 'orders'\n"
                              b"class SupabaseOrderRepository {\n"
                              b"  private readonly table = 'order_items'\n"
                              b"  a() { return this.db.from(TABLE).select('id') }\n"
                              b"  b(t: string) { return this.db.from(this.table).delete().eq('id', 1).from(t) }\n"
                              b"}\n")
    assert usage(ff) == [("select", "orders", ["id"], [], 4, "SupabaseOrderRepository.a", None),
                         ("delete", "order_items", [], ["id"], 5, "SupabaseOrderRepository.b", None)]


# --------------------------------------------------------------------------- contract


def test_facts_are_json_serialisable():
    for name in sorted(os.listdir(FIXTURES)):
        ff = facts(name)
        again = FileFacts.model_validate_json(ff.model_dump_json())
        assert again == ff, name
        json.loads(ff.model_dump_json())


def test_table_usage_objects_are_model_objects():
    ff = facts("crlf.ts")
    assert all(isinstance(u, TableUsage) for u in ff.table_usage)


def test_extraction_in_threads():
    from concurrent.futures import ThreadPoolExecutor

    names = sorted(os.listdir(FIXTURES))
    want = {n: facts(n).model_dump() for n in names}
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(lambda n: (n, facts(n).model_dump()), names * 3))
    assert all(want[n] == d for n, d in got)


def test_handler_calls_through_casts_and_parentheses():
    ff = extract_file("r.ts", b"import { Hono } from 'hono'\nexport const r = new Hono()\n"
                              b"r.get('/:id', async (c) => c.json(await (c as any).var.repos.things.findById(c.req.param('id'))))\n")
    assert [(x.method, x.handler_calls) for x in ff.routes] == [("GET", ("things.findById",))]
