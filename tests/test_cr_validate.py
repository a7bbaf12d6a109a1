"""Validation of change requests against the example repository, ownership, labels, checklist, evidence."""

from __future__ import annotations

import datetime as dt

import pytest

from checks.changes.form import parse_issue_body
from checks.changes.plan import auto_evidence, checklist_for, plan_change, split_owners
from checks.changes.validate import validate, validate_body
from checks.config import BusinessRules, Config
from checks.model import DatabaseTypes, Route, TypeColumn, TypeTable
from checks.model import TestFile as ModelTestFile
from checks.sql.migrations import build_migration, build_rollback
from checks.sql.replay import replay
from tests.test_cr_helpers import example_model, fixture

SVC = "apps/database-service/src"


@pytest.fixture(scope="module")
def model():
    return example_model()


def run(name, model, config=None, today=None):
    return validate_body(fixture(name), model, config or Config(), today=today)


def errors(result, field=None):
    return [p.message for p in result.problems if p.severity == "error" and (field is None or p.field == field)]


def body(**fields) -> str:
    """A body as GitHub renders the form, from field id → answer."""
    labels = {"summary": "Summary", "change_type": "Change type", "tables": "Table(s)",
              "columns": "Column(s) with type", "endpoints": "Endpoint(s)", "components": "Affected components",
              "breaking": "Breaking change", "motivation": "Motivation", "rollback_plan": "Rollback plan"}
    base = {"summary": "A change", "breaking": "no", "motivation": "needed", "rollback_plan": "undo it"}
    base.update(fields)
    return "\n\n".join(f"### {labels[k]}\n\n{v or '_No response_'}" for k, v in base.items())


def test_valid_add_field(model):
    r = run("add_field.md", model)
    assert r.valid, r.problems
    assert r.problems == []
    assert (r.breaking, r.risk) == (False, "low")
    ch = r.change
    assert ch.type == "add-field" and ch.tables == ["public.users"]
    assert [(c.table, c.name, c.type, c.nullable) for c in ch.columns] == [
        ("public.users", "loyalty_points", "integer", False), ("public.users", "birthday", "date", True)]
    assert ch.components == ["database-service", "telegram-bot"] and ch.expose_api


def test_column_that_exists_cannot_be_added(model):
    r = run("add_field_existing_column.md", model)
    assert not r.valid
    [msg] = errors(r)
    assert "`users.phone` already exists (text, nullable)" in msg and "modify-field" in msg


def test_table_to_change_must_exist(model):
    r = run("add_field_missing_table.md", model)
    [msg] = errors(r, "tables")
    assert "`public.coupons` does not exist" in msg and "new-table" in msg and "public.users" in msg


def test_bad_and_forbidden_types(model):
    r = run("bad_types.md", model)
    msgs = errors(r, "columns")
    assert any("`weight numeric(10`" in m and "PostgreSQL cannot read" in m for m in msgs)
    assert any("`orders.shipped_at`: type `timestamp` is forbidden" in m and "timestamptz" in m for m in msgs)
    assert any("`orders.meta`: type `json` is forbidden" in m and "jsonb" in m for m in msgs)
    assert any("`strng` is not a PostgreSQL type" in m and "public.order_status" in m for m in msgs)
    assert r.change.breaking is False  # "unsure" resolved: nothing breaking found


def test_timestamp_spelled_out_is_forbidden_too(model):
    r = validate_body(body(change_type="add-field", tables="orders",
                           columns="a timestamp without time zone\nb timestamp(3)\nc serial\nd bigserial\ne char(2)"), model)
    msgs = errors(r, "columns")
    assert [m.split(":")[0] for m in msgs] == ["`orders.a`", "`orders.b`", "`orders.c`", "`orders.d`", "`orders.e`"]
    ok = validate_body(body(change_type="add-field", tables="orders",
                            columns="a timestamptz\nb jsonb\nc varchar(3)\nd bigint generated always as identity"), model)
    assert ok.valid, ok.problems


def test_remove_field_marked_not_breaking_is_breaking(model):
    r = run("remove_field_not_breaking.md", model)
    assert r.valid and r.breaking and r.change.breaking and r.risk == "high"
    assert r.breaking_reasons == ["`users.phone` is removed: every reader and writer of it breaks"]
    [w] = [p for p in r.problems if p.field == "breaking"]
    assert w.severity == "warning" and "says not breaking" in w.message


def test_rename_and_type_change_are_breaking(model):
    r = run("rename_column.md", model)
    assert r.valid and r.breaking
    assert [(c.name, c.new_name) for c in r.change.columns] == [("note", "customer_note")]
    m = run("modify_type.md", model)
    assert m.valid and m.breaking  # "unsure" resolved to breaking
    assert "changes type from `text` to `varchar(500)`" in m.breaking_reasons[0]


def test_new_table_without_required_columns(model):
    r = run("new_table_missing_required.md", model)
    msgs = errors(r, "columns")
    assert any("lacks the required column(s) id, created_at" in m and "gen_random_uuid()" in m for m in msgs)
    assert any("type `json` is forbidden" in m for m in msgs)
    assert any(p.severity == "warning" and "no primary key" in p.message for p in r.problems)


def test_valid_new_table(model):
    r = run("new_table.md", model)
    assert r.valid, r.problems
    assert r.change.new_tables == ["public.addresses"] and r.change.requires_rls
    assert r.risk == "medium" and not r.breaking


def test_new_table_that_exists_and_bad_names(model):
    r = validate_body(body(change_type="new-table", tables="users, OrderNotes",
                           columns="OrderNotes.id uuid primary key\nOrderNotes.created_at timestamptz\nOrderNotes.Body text"),
                      model, Config(business_rules=BusinessRules(column_name_pattern=r"^[a-z_]+$")))
    msgs = errors(r)
    assert any("`public.users` already exists" in m for m in msgs)
    # unquoted names fold to lower case, as PostgreSQL does; a quoted name keeps its case
    assert not any("ordernotes" in m and "naming rule" in m for m in msgs)
    r2 = validate_body(body(change_type="new-table", tables='"OrderNotes"', columns='id uuid primary key\ncreated_at timestamptz\n"Body" text'), model)
    assert any("Table name `OrderNotes` does not match" in m and "`order_notes`" in m for m in errors(r2))
    assert any("Column name `Body` does not match" in m for m in errors(r2))


def test_required_fields_per_type(model):
    r = validate_body(body(change_type="add-field", rollback_plan=""), model)
    msgs = errors(r)
    assert any(m.startswith("`Table(s)` is missing for a add-field change") for m in msgs)
    assert any(m.startswith("`Column(s) with type` is missing") for m in msgs)
    assert any(m.startswith("`Rollback plan` is missing") for m in msgs)
    e = validate_body(body(change_type="api-endpoint", rollback_plan=""), model)
    assert [p.field for p in e.problems if p.severity == "error"] == ["endpoints"]
    o = validate_body(body(change_type="other"), model)
    assert o.valid


def test_modify_and_remove_need_existing_columns(model):
    r = validate_body(body(change_type="modify-field", tables="orders", columns="nope text\nnote"), model)
    msgs = errors(r)
    assert any("`orders.nope` does not exist" in m and "add-field" in m for m in msgs)
    assert any("`orders.note` already is `text` null" in m and "say what changes" in m for m in msgs)
    r = validate_body(body(change_type="remove-field", tables="orders", columns="id\nghost"), model)
    msgs = errors(r)
    assert any("`orders.id` is the primary key" in m for m in msgs)
    assert any("`orders.ghost` does not exist" in m for m in msgs)


def test_not_null_without_default_on_existing_table_is_breaking(model):
    r = validate_body(body(change_type="add-field", tables="users", columns="tier text not null"), model)
    assert r.valid and r.breaking
    assert any(p.severity == "warning" and "expand/contract" in p.message for p in r.problems)


def test_rename_needs_old_to_new(model):
    r = validate_body(body(change_type="rename", tables="orders", columns="note"), model)
    assert any("`old_name -> new_name`" in m for m in errors(r))
    t = validate_body(body(change_type="rename", tables="orders -> purchases"), model)
    assert t.valid and t.breaking and t.change.renamed_tables == {"public.orders": "purchases"}
    clash = validate_body(body(change_type="rename", tables="orders -> users"), model)
    assert any("`public.users` already exists" in m for m in errors(clash))


def test_columns_must_be_qualified_with_several_tables(model):
    r = validate_body(body(change_type="add-index", tables="orders, order_items", columns="status"), model)
    assert any("qualify the column as `table.column`" in m for m in errors(r))
    ok = validate_body(body(change_type="add-index", tables="orders, order_items",
                            columns="orders.status\norder_items.quantity"), model)
    assert ok.valid, ok.problems
    dup = validate_body(body(change_type="add-index", tables="orders", columns="user_id"), model)
    assert any("`orders_user_id_idx`" in p.message for p in dup.problems if p.severity == "warning")


def test_endpoints_exist_check_normalises_paths(model):
    r = run("api_endpoint_exists.md", model)
    [msg] = errors(r, "endpoints")
    assert "`GET /users/{id}` already exists" in msg and "routes/users.ts" in msg
    assert [(e.method, e.path) for e in r.change.endpoints] == [("GET", "/users/{}"), ("GET", "/users/{}/addresses")]
    for spelling in ("/users/:userId", "/users/${id}", "/users/{user_id}/"):
        again = validate_body(body(change_type="api-endpoint", endpoints=f"GET {spelling}"), model)
        assert any("already exists" in m for m in errors(again)), spelling
    other_method = validate_body(body(change_type="api-endpoint", endpoints="DELETE /users/:id"), model)
    assert other_method.valid


def test_components_must_be_on_the_board(model):
    r = validate_body(body(change_type="other", components="web, billing, Telegram-Bot"), model)
    [msg] = errors(r, "components")
    assert "unknown component `billing`" in msg and ".github/components.yml" in msg and "database-client" in msg
    assert r.change.components == ["web", "telegram-bot"]


def test_target_date_in_the_past_is_a_warning(model):
    r = validate(parse_issue_body(fixture("add_field.md")), model, today=dt.date(2031, 1, 1))
    assert r.valid
    assert [p.field for p in r.problems] == ["target_date"]


def test_rls_disabled_on_a_touched_table_is_a_warning(model):
    m = model.model_copy(deep=True)
    m.schema_.tables["public.products"].rls_enabled = False
    r = validate_body(body(change_type="add-field", tables="products", columns="weight_grams integer"), m)
    assert r.valid and any("row level security disabled" in p.message for p in r.problems)
    off = validate_body(body(change_type="add-field", tables="products", columns="weight_grams integer"), m,
                        Config(business_rules=BusinessRules(rls_required=False)))
    assert off.problems == []


def test_digest_is_stable_and_follows_the_change(model):
    a = run("add_field.md", model).change.digest()
    assert a == run("add_field.md", model).change.digest()
    edited = fixture("add_field.md").replace("birthday date null", "birthday date not null default now()")
    assert validate_body(edited, model).change.digest() != a


# --------------------------------------------------------------------------- ownership & plan


def test_plan_of_a_breaking_removal_reaches_consumers(model):
    r = run("remove_field_not_breaking.md", model)
    p = plan_change(r, model)
    assert p.components[:2] == ["database", "database-service"]
    assert {"telegram-bot", "web"} <= set(p.components)
    assert "@shop/data-team" in p.teams and "@shop/backend" in p.teams
    assert set(p.assignees) >= {"alice"} and all(not a.startswith("@") for a in p.assignees)
    assert p.labels == ["dlcm:type:remove-field", "dlcm:risk:high", "dlcm:breaking"]
    keys = [s.key for s in p.checklist]
    assert keys[:2] == ["migration", "rollback"]
    assert keys[-3:] == ["expand-contract", "rollback-tested", "approvals"] and "consumers" in keys


def test_plan_of_an_additive_change_stays_with_the_data_layer(model):
    r = run("add_field.md", model)
    p = plan_change(r, model)
    assert p.components[:2] == ["database", "database-service"]
    assert "web" not in p.components  # not named, not breaking
    assert "telegram-bot" in p.components  # named on the form
    assert p.labels == ["dlcm:type:add-field", "dlcm:risk:low"]
    assert [s.key for s in p.checklist] == ["migration", "rollback", "types", "supabase-impl", "memory-impl",
                                            "endpoint", "client", "tests"]
    assert all(s.auto for s in p.checklist)


def test_checklists_by_type_and_complexity(model):
    nt = run("new_table.md", model)
    assert [s.key for s in plan_change(nt, model).checklist] == [
        "migration", "rollback", "rls", "types", "repository", "supabase-impl", "memory-impl", "endpoint", "client",
        "tests"]
    idx = validate_body(body(change_type="add-index", tables="orders", columns="note"), model)
    assert [s.key for s in checklist_for(idx.change)] == ["migration", "rollback"]
    ep = validate_body(body(change_type="api-endpoint", endpoints="GET /users/:id/addresses"), model)
    assert [s.key for s in checklist_for(ep.change)] == ["endpoint", "client", "tests"]
    assert plan_change(ep, model).components == ["database-service", "database-client"]
    bf = validate_body(body(change_type="add-field", tables="users", columns="tier text") + "\n\n### Options\n\n"
                       "- [ ] Expose\n- [X] Existing rows need a data backfill", model)
    assert [s.key for s in checklist_for(bf.change)][:3] == ["migration", "rollback", "backfill"] and bf.risk == "medium"


def test_owners_without_a_board_come_from_codeowners(model):
    m = model.model_copy(deep=True)
    m.components = []
    r = run("add_field.md", m)
    assert not errors(r, "components")  # package names / directories are accepted without a board
    p = plan_change(r, m)
    assert "@shop/data-team" in p.owners and "@shop/backend" in p.owners


def test_split_owners():
    assert split_owners(["@org/team", "@bob", "a@b.c", "@org/team", "@bob"]) == (["@org/team"], ["bob"])


# --------------------------------------------------------------------------- automatic evidence

MIG = "supabase/migrations/20250101000000_add_loyalty_points.sql"
RB = "supabase/rollbacks/20250101000000_add_loyalty_points.down.sql"


def _head(base):
    head = base.model_copy(deep=True)
    m = build_migration(MIG, "alter table public.users\n  add column loyalty_points integer not null default 0;\n"
                             "alter table public.users add column birthday date;\n")
    m.rollback = RB
    head.migrations.append(m)
    head.rollbacks.append(build_rollback(RB, "alter table public.users drop column birthday, drop column loyalty_points;"))
    head.schema_ = replay(head.migrations)
    row = {n: TypeColumn(name=n, ts_type="string", line=1) for n in [*head.schema_.tables["public.users"].columns]}
    head.database_types = [DatabaseTypes(file=f"{SVC}/database.types.ts",
                                         tables={"public.users": TypeTable(name="users", row=row, line=1)})]
    head.routes.append(Route(method="GET", path="/users/{}/loyalty", raw_path="/users/:id/loyalty",
                             file=f"{SVC}/routes/users.ts", line=50, framework="hono", handler_calls=["users.findById"]))
    head.tests.append(ModelTestFile(file=f"{SVC}/__tests__/users.test.ts"))
    return head


def test_auto_evidence_from_a_complete_pull_request(model):
    r = run("add_field.md", model)
    head = _head(model)
    files = [MIG, RB, f"{SVC}/database.types.ts", f"{SVC}/repositories/supabase/supabase-user-repository.ts",
             f"{SVC}/repositories/memory/memory-user-repository.ts", f"{SVC}/routes/users.ts",
             "packages/database-client/src/client.ts", f"{SVC}/__tests__/users.test.ts"]
    ev = auto_evidence(r, files, head, model, check_passed=True)
    by = {}
    for e in ev:
        by.setdefault(e.step, e)
    assert by["migration"].ref == MIG and by["migration"].line == 1 and "public.users" in by["migration"].detail
    assert by["rollback"].ref == RB
    assert by["types"].ref.endswith("database.types.ts")
    assert by["supabase-impl"].ref.endswith("supabase-user-repository.ts")
    assert by["memory-impl"].ref.endswith("memory-user-repository.ts")
    assert by["endpoint"].ref.endswith("routes/users.ts")
    assert by["client"].ref == "packages/database-client/src/client.ts"
    assert by["tests"].ref.endswith("users.test.ts")
    assert "rollback-tested" in by
    steps = {s.key for s in plan_change(r, model).checklist}
    assert steps <= set(by)  # every step of this add-field is evidenced


def test_auto_evidence_is_strict(model):
    r = run("add_field.md", model)
    head = _head(model)
    # nothing changed → nothing done
    assert auto_evidence(r, [], head, model, check_passed=True) == []
    # a migration on another table does not count; tests need passing checks
    other = run("new_table.md", model)
    ev = auto_evidence(other, [MIG, f"{SVC}/__tests__/users.test.ts"], head, model, check_passed=False)
    assert [e.step for e in ev] == []
    # types that do not contain the new column do not count
    stale = head.model_copy(deep=True)
    stale.database_types[0].tables["public.users"].row.pop("birthday")
    ev = auto_evidence(r, [MIG, f"{SVC}/database.types.ts"], stale, model, check_passed=False)
    assert {e.step for e in ev} == {"migration", "rollback"}


def test_auto_evidence_for_new_table_rls_and_removed_names(model):
    nt = run("new_table.md", model)
    head = model.model_copy(deep=True)
    sql = ("create table public.addresses (id uuid primary key, user_id uuid not null, line1 text not null,"
           " city text not null, created_at timestamptz not null default now());\n"
           "alter table public.addresses enable row level security;\n"
           "create policy \"own\" on public.addresses for select to authenticated using (true);\n")
    mig = build_migration("supabase/migrations/20250102000000_addresses.sql", sql)
    head.migrations.append(mig)
    head.schema_ = replay(head.migrations)
    ev = auto_evidence(nt, [mig.path], head, model, check_passed=False)
    assert {e.step for e in ev} == {"migration", "rls"}
    rm = run("remove_field_not_breaking.md", model)
    assert any(e.step == "consumers" for e in auto_evidence(rm, [f"{SVC}/x.ts"], model, model, check_passed=False)) \
        == (not any("phone" in u.columns for u in model.table_usage))


def test_fuzz_validate_against_an_empty_repository():
    from hypothesis import HealthCheck, given, settings

    from checks.model import RepoModel
    from tests.test_cr_form import bodies

    empty = RepoModel(root="")

    @settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(bodies())
    def check(text):
        r = validate_body(text, empty)
        assert r.valid == (not [p for p in r.problems if p.severity == "error"])
        assert r.risk in ("low", "medium", "high")

    check()
