"""checks.impact: the chain, breaking classification, missing pieces, rollback plans, diff mode, CLI."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from checks.build import build_model
from checks.impact import (
    ImpactError, ProposedChange, analyze, analyze_diff, changes_from_diff, changes_from_request, classify_type_change,
    github_link, render_markdown, render_text,
)
from checks.source import DirSource, GitSource
from dlcm.cli import main
from tests.variants import apply_variant, make_repo

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "shop-monorepo"
JSON_KEYS = ["changes", "tables", "columns", "repository_methods", "endpoints", "client_methods", "consumers",
             "components", "breaking", "missing", "rollback"]


@pytest.fixture(scope="module")
def model():
    return build_model(DirSource(str(EXAMPLE)))


# --------------------------------------------------------------------------- the chain


def test_column_change_only_hits_methods_that_mention_it(model):
    r = analyze(model, [ProposedChange("orders", "note", change="drop")])
    # note: written by create (insert keys) and read by every select('*') of orders
    syms = {m.symbol for m in r.repository_methods if m.flavour == "supabase"}
    assert syms == {"SupabaseOrderRepository.findById", "SupabaseOrderRepository.listByUser",
                    "SupabaseOrderRepository.create", "SupabaseOrderRepository.updateStatus"}
    assert "SupabaseOrderRepository.listItems" not in syms
    create = next(m for m in r.repository_methods if m.symbol == "SupabaseOrderRepository.create")
    assert any("insert key note" in t for t in create.touches)


def test_database_types_entries_and_db_objects(model):
    r = analyze(model, [ProposedChange("orders", "status", change="type", to="text")])
    assert [(c.part, c.line) for c in r.columns] == [("Row", 65), ("Insert", 75), ("Update", 85)]
    assert any(o.startswith("index orders_status_created_at_idx") for o in r.tables[0].db_objects)
    r = analyze(model, [ProposedChange("users", change="drop")])
    objs = r.tables[0].db_objects
    assert any("foreign key public.orders.user_id" in o for o in objs)
    assert any('policy "Users can view their own orders" on public.orders (reads public.users)' == o for o in objs)
    assert any(b.id == "referenced-by-foreign-key" for b in r.breaking)


def test_endpoint_effects_primary_call_and_runtime(model):
    r = analyze(model, [ProposedChange("users", "phone", change="drop")])
    eff = {f"{e.method} {e.path}": e.effect for e in r.endpoints}
    assert eff["GET /users/{}"] == "contract"
    assert eff["POST /orders"] == "runtime"  # users.findById is a lookup there
    assert "createOrder" not in {c.name for c in r.client_methods}
    post = next(e for e in r.endpoints if e.path == "/orders")
    assert post.via == ["users.findById → UserRepository.findById"]


def test_components_and_owners(model):
    r = analyze(model, [ProposedChange("products", "title", change="rename", to="name")])
    comps = {c.name: c for c in r.components}
    assert [c.name for c in r.components] == ["database", "database-service", "database-client", "telegram-bot", "web"]
    assert comps["database-service"].owners == ["@shop/backend", "@alice"]
    assert comps["telegram-bot"].owners == ["@shop/bot-team", "@bob"]
    assert "catalogMessage" in comps["telegram-bot"].why
    assert ("database-client", "telegram-bot", "calls") in r.edges
    consumer = next(c for c in r.consumers if c.symbol == "catalogMessage")
    assert consumer.component == "telegram-bot" and "listProducts" in consumer.why


def test_new_table_reports_what_is_missing(model):
    r = analyze(model, [ProposedChange("public.coupons", change="new-table")], expose=True)
    kinds = {m.kind for m in r.missing}
    assert {"migration", "database-types", "table-without-repository"} <= kinds
    msg = next(m.message for m in r.missing if m.kind == "table-without-repository")
    assert "CouponRepository" in msg and "MemoryCouponRepository" in msg
    assert r.rollback.plans[0].down_migration.sql == "drop table if exists public.coupons;"
    assert not r.breaking


def test_api_endpoint_request_missing_endpoint_and_client(model):
    r = analyze(model, [ProposedChange("users", "phone", change="api-endpoint", endpoint="GET /users/{id}/phone")])
    kinds = {(m.kind, m.object) for m in r.missing}
    assert ("endpoint", "GET /users/{id}/phone") in kinds
    assert ("endpoint-without-client", "GET /users/{}/phone") in kinds
    assert {c.name for c in r.components} >= {"database-service", "database-client"}
    # an endpoint that exists and answers with the users repository
    r = analyze(model, [ProposedChange("users", "phone", change="api-endpoint", endpoint="GET /users/:id")])
    assert not [m for m in r.missing if m.kind in ("endpoint", "column-not-exposed", "endpoint-without-client")]


def test_add_index_is_database_only(model):
    r = analyze(model, [ProposedChange("orders", "user_id", change="add-index")])
    assert [c.name for c in r.components][:1] == ["database"]
    assert {m.effect for m in r.repository_methods} == {"performance"}
    assert not r.endpoints and not r.consumers and not r.breaking
    assert r.rollback.plans[0].data_loss == "none"
    assert "drop index concurrently" in r.rollback.plans[0].down_migration.sql


def test_nullability_tightened(model):
    r = analyze(model, [ProposedChange("users", "username", change="nullability", to="not null")])
    assert [b.id for b in r.breaking] == ["column-became-not-null"]
    # writers break: the insert of create does not always send it (it sends null)
    assert "SupabaseUserRepository.create" in {m.symbol for m in r.repository_methods}
    assert r.rollback.plans[0].down_migration.sql == "alter table public.users alter column username drop not null;"


def test_bad_changes_raise(model):
    with pytest.raises(ImpactError, match="unknown table user .did you mean users"):
        analyze(model, [ProposedChange("user", "phone", change="drop")])
    with pytest.raises(ImpactError, match="column public.users.email does not exist"):
        analyze(model, [ProposedChange("users", "email", change="drop")])
    with pytest.raises(ImpactError, match="already exists"):
        analyze(model, [ProposedChange("users", "phone", change="add")])
    with pytest.raises(ImpactError, match="not a PostgreSQL type"):
        analyze(model, [ProposedChange("users", "phone", change="type", to="strnig;")])
    with pytest.raises(ImpactError, match="rename needs `--to`"):
        analyze(model, [ProposedChange("users", "phone", change="rename")])


# --------------------------------------------------------------------------- breaking


@pytest.mark.parametrize("old,new,kind", [
    ("integer", "bigint", "widening"), ("bigint", "integer", "narrowing"), ("varchar(20)", "text", "widening"),
    ("text", "varchar(20)", "narrowing"), ("varchar(20)", "varchar(40)", "widening"), ("numeric(10,2)", "numeric(12,2)", "widening"),
    ("numeric(10,2)", "numeric(10,1)", "narrowing"), ("public.order_status", "text", "widening"),
    ("text", "public.order_status", "narrowing"), ("timestamp", "timestamptz", "incompatible"), ("uuid", "text", "widening"),
    ("text", "uuid", "narrowing"), ("integer[]", "bigint[]", "widening"), ("integer", "integer", "same"),
])
def test_type_lattice(old, new, kind):
    assert classify_type_change(old, new, {"public.order_status": ["a", "b"]}) == kind


def test_breaking_classification(model):
    r = analyze(model, [ProposedChange("orders", "total_cents", change="type", to="smallint")])
    assert r.breaking[0].id == "column-type-narrowed" and r.breaking[0].level == "error"
    assert r.breaking[0].rule == "DLCM755"
    r = analyze(model, [ProposedChange("orders", "total_cents", change="type", to="bigint")])
    assert [(b.id, b.level) for b in r.breaking] == [("column-type-widened", "info")]  # number either way
    r = analyze(model, [ProposedChange("users", "email", change="add", to="text not null default ''")])
    assert not r.breaking and not r.consumers
    r = analyze(model, [ProposedChange("users", "first_name", change="nullability", to="null")])
    assert r.breaking[0].id == "column-became-nullable" and r.breaking[0].level == "warning"


# --------------------------------------------------------------------------- rollback


def test_rollback_expand_contract_for_removals(model):
    r = analyze(model, [ProposedChange("users", "phone", change="drop")])
    plan = r.rollback.plans[0]
    assert plan.strategy == "expand/contract" and plan.data_loss == "high"
    assert plan.steps[0].startswith("telegram-bot, web: stop reading/writing public.users.phone")
    assert plan.steps[-1].startswith("database: archive the values")
    assert "alter table public.users add column phone text;" in plan.down_migration.sql
    assert "add constraint users_phone_format check" in plan.down_migration.sql
    assert r.rollback.order[0] in ("telegram-bot", "web") and r.rollback.order[-1] == "database"
    assert "dlcm rollback-test" in r.rollback.test and "pnpm --filter @shop/web test" in r.rollback.test


def test_rollback_of_dropped_table_recreates_it(model):
    r = analyze(model, [ProposedChange("order_items", change="drop")])
    sql = r.rollback.plans[0].down_migration.sql
    assert "create table public.order_items (" in sql
    assert "order_id uuid not null references public.orders (id)" in sql
    assert "create index order_items_order_id_idx on public.order_items (order_id);" in sql
    assert "alter table public.order_items enable row level security;" in sql
    assert 'create policy "Users can view items of their own orders"' in sql


def test_rollback_sql_replays_with_the_real_parser(model):
    """Generated down-migrations are valid PostgreSQL (parsed by pglast)."""
    import pglast

    for ch in (ProposedChange("users", "phone", change="drop"), ProposedChange("order_items", change="drop"),
               ProposedChange("orders", "status", change="type", to="text"),
               ProposedChange("users", "email", change="add", to="text"),
               ProposedChange("products", "title", change="rename", to="name")):
        sql = analyze(model, [ch]).rollback.plans[0].down_migration.sql
        pglast.parse_sql(sql)


# --------------------------------------------------------------------------- change requests


def test_changes_from_request():
    from checks.changes.validate import NormalizedChange, NormalizedColumn, NormalizedEndpoint

    nc = NormalizedChange(type="add-field", tables=["public.users"],
                          columns=[NormalizedColumn(table="public.users", name="email", type="text", nullable=False)],
                          endpoints=[NormalizedEndpoint(method="GET", path="/users/{}/email", raw_path="/users/{id}/email")])
    chs = changes_from_request(nc)
    assert [(c.change, c.table, c.column, c.to) for c in chs] == [
        ("add", "public.users", "email", "text not null"), ("api-endpoint", "public.users", "email", None)]
    assert chs[1].endpoint == "GET /users/{id}/email"
    nc = NormalizedChange(type="rename", tables=["public.products"],
                          columns=[NormalizedColumn(table="public.products", name="title", new_name="name")])
    assert [(c.change, c.to) for c in changes_from_request(nc)] == [("rename", "name")]
    nc = NormalizedChange(type="remove-field", tables=["public.order_items"])
    assert [(c.change, c.table, c.column) for c in changes_from_request(nc)] == [("drop", "public.order_items", None)]


def test_change_request_impact_lists_missing_endpoint(model):
    from checks.changes.validate import NormalizedChange, NormalizedColumn, NormalizedEndpoint

    nc = NormalizedChange(type="add-field", tables=["public.users"], expose_api=True,
                          columns=[NormalizedColumn(table="public.users", name="email", type="text")],
                          endpoints=[NormalizedEndpoint(method="PUT", path="/users/{}/email", raw_path="/users/:id/email")])
    r = analyze(model, changes_from_request(nc), expose=True)
    objs = {(m.kind, m.object) for m in r.missing}
    assert ("endpoint", "PUT /users/:id/email") in objs
    assert ("endpoint-without-client", "PUT /users/{}/email") in objs
    assert ("column-not-read", "public.users.email") in objs


# --------------------------------------------------------------------------- pull requests


DROP_PHONE = {
    "supabase/migrations/20240501000000_drop_users_phone.sql": "alter table public.users drop column phone;\n",
    "supabase/rollbacks/20240501000000_drop_users_phone.down.sql": "alter table public.users add column phone text;\n",
}


def _models(repo: Path):
    return build_model(GitSource(str(repo), "main")), build_model(DirSource(str(repo)))


def test_pr_drop_column_without_code_changes(tmp_path):
    repo = make_repo(tmp_path)
    apply_variant(repo, DROP_PHONE)
    base, head = _models(repo)
    r = analyze_diff(base, head)
    assert [(c.change, c.table, c.column) for c in r.changes] == [("drop", "public.users", "phone")]
    still = {(m.file, m.line) for m in r.missing if m.kind == "still-referenced"}
    f = "apps/database-service/src/repositories/supabase/supabase-user-repository.ts"
    assert still == {(f, 14), (f, 26), (f, 38), (f, 57)}
    assert any(m.kind == "database-types" for m in r.missing)
    dm = r.rollback.plans[0].down_migration
    assert dm.exists and dm.path == "supabase/rollbacks/20240501000000_drop_users_phone.down.sql"
    assert dm.sql == "alter table public.users add column phone text;"
    assert {c.symbol for c in r.consumers} == {
        "accountPage", "ensureCustomer", "handleMessage"}


def test_pr_client_and_route_changes(tmp_path):
    repo = make_repo(tmp_path)
    client = (EXAMPLE / "packages/database-client/src/client.ts").read_text()
    client = client.replace(
        "  getUser(id: string): Promise<User | null> {\n    return this.orNull(this.request<User>('GET', `/users/${id}`))\n  }\n\n", "")
    client = client.replace("listProducts(): Promise<Product[]> {\n    return this.request('GET', '/products')",
                            "listProducts(category: string): Promise<Product[]> {\n    return this.request('GET', `/products?category=${category}`)")
    routes = (EXAMPLE / "apps/database-service/src/routes/users.ts").read_text()
    routes = routes[: routes.index("users.get('/:id/orders'")]
    apply_variant(repo, {"packages/database-client/src/client.ts": client,
                         "apps/database-service/src/routes/users.ts": routes})
    base, head = _models(repo)
    chs = changes_from_diff(base, head)
    assert {(c.to, c.detail) for c in chs} >= {
        ("client-method-removed", "getUser"), ("client-method-changed", "listProducts: new required parameter category")}
    assert ("removed", "GET /users/{} /orders") not in {(c.to, c.endpoint) for c in chs}
    assert any(c.to == "removed" and c.endpoint == "GET /users/:id/orders" for c in chs)
    r = analyze_diff(base, head)
    ids = {(b.id, b.object) for b in r.breaking}
    assert ("client-method-removed", "getUser") in ids
    assert ("client-method-new-required-param", "listProducts") in ids
    assert ("endpoint-removed", "GET /users/:id/orders") in ids
    calls = {(c.symbol, c.method) for c in r.consumers}
    assert ("accountPage", "getUser") in calls
    assert ("catalogMessage", "listProducts") in calls
    assert ("handleMessage", "listUserOrders") in calls


def test_pr_add_column_missing_pieces(tmp_path):
    repo = make_repo(tmp_path)
    apply_variant(repo, {
        "supabase/migrations/20240501000000_add_users_email.sql": "alter table public.users add column email text;\n"})
    base, head = _models(repo)
    r = analyze_diff(base, head)
    assert [(c.change, c.column) for c in r.changes] == [("add", "email")]
    kinds = {m.kind for m in r.missing}
    assert {"database-types", "column-not-read", "column-not-written"} <= kinds
    assert "migration" not in kinds  # the PR has it
    assert not r.rollback.plans[0].down_migration.exists  # no rollback file: what it must contain
    assert r.rollback.plans[0].down_migration.sql == "alter table public.users drop column if exists email;"


# --------------------------------------------------------------------------- rendering


def test_markdown_report(model):
    r = analyze(model, [ProposedChange("users", "phone", change="drop")])
    md = render_markdown(r, link=github_link("shop/monorepo", "a" * 40))
    assert md.startswith("<!-- dlcm:impact -->\n")
    assert "```mermaid\ngraph LR\n" in md
    assert re.search(r'c0\["database<br/>@shop/data-team"\]', md)
    assert "-->|HTTP|" in md and "-->|calls|" in md
    assert "**telegram-bot** — @shop/bot-team @bob" in md
    assert f"(https://github.com/shop/monorepo/blob/{'a' * 40}/apps/web/src/pages.ts#L41)" in md
    assert "#### Breaking changes" in md and "`column-removed`" in md
    assert "#### Rollback" in md and "```sql" in md and "expand/contract" in md
    assert len(md) < 65_535


def test_markdown_long_report_is_cut_with_details_tail(model):
    from checks.impact.model import ConsumerItem

    r = analyze(model, [ProposedChange("users", "phone", change="drop")])
    r.consumers = [ConsumerItem(file=f"apps/web/src/generated/page_{i}.ts", line=i + 1, component="web",
                                symbol=f"page{i}", method="getUser", why="calls getUser (GET /users/{})")
                   for i in range(3000)]
    md = render_markdown(r)
    assert len(md) <= 65_535
    assert "<details><summary>" in md and "more affected item" in md
    assert "… and" in md and "more (run `dlcm impact --format json`" in md
    assert md.rstrip().endswith("</details>") or "#### Rollback" in md
    small = render_markdown(r, limit=8000)
    assert len(small) <= 8000 and small.startswith("<!-- dlcm:impact -->")


def test_text_report(model):
    out = render_text(analyze(model, [ProposedChange("order_items", change="drop")]))
    assert "drop table public.order_items" in out and "POST /orders [contract]" in out


# --------------------------------------------------------------------------- CLI


def test_cli_json_shape():
    res = CliRunner().invoke(main, ["impact", str(EXAMPLE), "--table", "users", "--column", "phone",
                                    "--change", "drop", "--format", "json", "--no-cache"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert list(data) == JSON_KEYS
    assert set(data["consumers"][0]) >= {"file", "line", "component", "symbol"}
    assert all(set(c) == {"name", "owners", "why"} for c in data["components"])
    assert data["changes"] == [{"table": "users", "column": "phone", "change": "drop"}]
    assert set(data["rollback"]) == {"plans", "order", "test"}


@pytest.mark.parametrize("args,msg", [
    (["--table", "nope"], "unknown table nope"),
    (["--table", "users", "--column", "nope", "--change", "drop"], "column public.users.nope does not exist"),
    (["--table", "users", "--column", "phone", "--change", "rename"], "rename needs `--to`"),
    ([], "say what changes"),
    (["--column", "phone"], "need --table"),
])
def test_cli_bad_arguments_exit_2(args, msg):
    res = CliRunner().invoke(main, ["impact", str(EXAMPLE), "--no-cache", *args])
    assert res.exit_code == 2, res.output
    assert msg in res.output


def test_cli_base_ref(tmp_path):
    repo = make_repo(tmp_path)
    apply_variant(repo, DROP_PHONE)
    res = CliRunner().invoke(main, ["impact", str(repo), "--base", "main", "--format", "markdown", "--no-cache",
                                    "--link-base", "https://github.com/o/r/blob/abc"])
    assert res.exit_code == 0, res.output
    assert res.output.startswith("<!-- dlcm:impact -->")
    assert "drop column public.users.phone" in res.output
    assert "still-referenced" in res.output
    assert "(https://github.com/o/r/blob/abc/supabase/rollbacks/20240501000000_drop_users_phone.down.sql#L1)" in res.output


# --------------------------------------------------------------------------- handler receivers


@pytest.mark.parametrize("call,repo,how", [
    ("users.findById", "UserRepository", "name"),
    ("userRepo.findById", "UserRepository", "name"),
    ("userRepository.findById", "UserRepository", "name"),
    ("supabaseUserRepository.findById", "UserRepository", "name"),
    ("user_repo.findByTelegramId", "UserRepository", "name"),
    ("orders.listItems", "OrderRepository", "name"),
    ("store.listItems", "OrderRepository", "unique-method"),  # only OrderRepository declares it
    ("r.findById", None, "ambiguous"),  # three repositories declare findById
    ("users.listItems", "OrderRepository", "unique-method"),  # the name says users, the method says orders
    ("mailer.send", None, "unresolved"),
])
def test_receiver_heuristic(model, call, repo, how):
    from checks.impact import index_for

    link = index_for(model).resolve_call(call)
    assert (link.repository, link.how) == (repo, how)


def test_ambiguous_receiver_is_a_note_not_a_guess(tmp_path):
    from tests.variants import write_files

    repo = make_repo(tmp_path)
    users = (EXAMPLE / "apps/database-service/src/routes/users.ts").read_text()
    users = users.replace("  const user = await c.var.repos.users.findById(c.req.param('id'))",
                          "  const r = c.var.repos.users\n  const user = await r.findById(c.req.param('id'))")
    write_files(repo, {"apps/database-service/src/routes/users.ts": users})
    m = build_model(DirSource(str(repo)))
    r = analyze(m, [ProposedChange("users", "phone", change="drop")])
    assert "GET /users/{}" not in {f"{e.method} {e.path}" for e in r.endpoints}
    assert any("`r.findById` in GET /users/:id" in n for n in r.notes)
    assert "Analysis notes" in render_markdown(r)


def test_pr_add_column_complete_has_nothing_missing(tmp_path):
    repo = make_repo(tmp_path)
    types = (EXAMPLE / "apps/database-service/src/database.types.ts").read_text()
    types = types.replace("          phone: string | null\n", "          email: string | null\n          phone: string | null\n")
    types = types.replace("          phone?: string | null\n", "          email?: string | null\n          phone?: string | null\n")
    sup = (EXAMPLE / "apps/database-service/src/repositories/supabase/supabase-user-repository.ts").read_text()
    sup = sup.replace("language_code, phone, created_at", "language_code, phone, email, created_at")
    sup = sup.replace("        phone: input.phone ?? null,\n", "        phone: input.phone ?? null,\n        email: input.email ?? null,\n")
    sup = sup.replace("        phone: patch.phone,\n", "        phone: patch.phone,\n        email: patch.email,\n")
    apply_variant(repo, {
        "supabase/migrations/20240501000000_add_users_email.sql": "alter table public.users add column email text;\n",
        "supabase/rollbacks/20240501000000_add_users_email.down.sql": "alter table public.users drop column email;\n",
        "apps/database-service/src/database.types.ts": types,
        "apps/database-service/src/repositories/supabase/supabase-user-repository.ts": sup})
    base, head = _models(repo)
    r = analyze_diff(base, head, expose=True)
    assert not r.missing, r.missing
    assert {e.effect for e in r.endpoints} == {"contract"}
    assert {f"{e.method} {e.path}" for e in r.endpoints} == {
        "GET /users/{}", "GET /users/by-telegram/{}", "POST /users", "PATCH /users/{}"}
    assert not r.consumers and not r.breaking
    dm = r.rollback.plans[0].down_migration
    assert dm.exists and dm.sql == "alter table public.users drop column email;"


def test_analyze_request_from_issue_body(model):
    """From the issue form's fields (parsed, not validated) to a report, without raising."""
    from checks.changes.form import parse_issue_body
    from checks.impact import analyze_request

    body = ("### Summary\n\nDrop the phone number\n\n### Change type\n\nremove-field\n\n### Table(s)\n\nusers\n\n"
            "### Column(s)\n\nphone\n\n### Breaking\n\nyes\n")
    cr = parse_issue_body(body)
    r = analyze_request(model, cr)
    assert [(c.change, c.table, c.column) for c in r.changes] == [("drop", "public.users", "phone")]
    assert {c.name for c in r.components} == {"database", "database-service", "database-client", "telegram-bot", "web"}
    bad = parse_issue_body(body.replace("phone", "fax"))
    r = analyze_request(model, bad)
    assert r.notes[0].startswith("not analysed as asked: column public.users.fax does not exist")
