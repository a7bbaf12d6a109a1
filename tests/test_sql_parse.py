"""checks.sql.parse / checks.sql.migrations: exact statements, ops and entities of real migrations."""

from __future__ import annotations

from pathlib import Path

import pytest

from checks.model import Column, Constraint, Diagnostic, Function, Policy, Suppression, Table, Trigger
from checks.sql.migrations import build_migration, build_rollback, parse_migration_name, rollback_stem
from checks.sql.parse import find_suppressions, parse_sql, parse_type

FIX = Path(__file__).parent / "fixtures" / "sql"


def read(name: str) -> str:
    # newline="" keeps CRLF line endings as they are in the file
    with open(FIX / name, encoding="utf-8", newline="") as f:
        return f.read()


def ops_of(sql: str) -> list[dict]:
    """Ops of a snippet without the statement text and line (compact for exact comparisons)."""
    statements, diag = parse_sql("t.sql", sql)
    assert diag is None, diag
    return [op.model_dump(by_alias=True, exclude={"sql", "line"}, exclude_defaults=True)
            for st in statements for op in st.ops]


def one_op(sql: str) -> dict:
    ops = ops_of(sql)
    assert len(ops) == 1, ops
    return ops[0]


# --------------------------------------------------------------------------- a realistic init migration


@pytest.fixture(scope="module")
def init():
    return build_migration("supabase/migrations/20240101000000_init.sql", read("20240101000000_init.sql"))


def test_init_statements_lines_and_kinds(init):
    assert init.parse_error is None and not init.empty
    assert init.version == "20240101000000" and init.name == "init" and init.stem == "20240101000000_init"
    got = [(st.line, st.end_line, [op.kind for op in st.ops]) for st in init.statements]
    assert got == [
        (4, 4, ["create_extension"]),  # after a non-ASCII line comment and a 2-line block comment
        (6, 6, ["create_enum"]),
        (8, 13, ["create_table"]),
        (15, 22, ["create_table"]),
        (24, 24, ["enable_rls"]),
        (26, 28, ["create_policy"]),
        (30, 33, ["create_policy"]),
        (36, 45, ["create_function"]),  # after a Japanese comment line
        (47, 49, ["create_trigger"]),
        (51, 51, ["create_index"]),
        (53, 53, ["comment"]),
        (55, 55, ["grant"]),
        (57, 63, ["do_block"]),
    ]
    # every op carries its statement's line and trimmed text
    for st in init.statements:
        assert st.sql == st.sql.strip() and not st.sql.endswith(";")
        for op in st.ops:
            assert op.line == st.line and op.sql == st.sql
    assert init.statements[0].sql == 'create extension if not exists "pgcrypto" with schema extensions'
    assert init.statements[8].sql.splitlines()[-1] == "  for each row execute procedure public.handle_new_user()"


def test_init_users_table_exact(init):
    op = init.statements[2].ops[0]
    assert (op.schema_, op.table, op.if_not_exists) == ("public", "users", False)
    assert Table.model_validate(op.detail) == Table(
        schema="public", name="users",
        columns={
            "id": Column(name="id", type="uuid", nullable=False, default="gen_random_uuid()", primary_key=True),
            "email": Column(name="email", type="varchar(320)", nullable=False, unique=True),
            "display_name": Column(name="display_name", type="text"),
            "created_at": Column(name="created_at", type="timestamptz", nullable=False, default="now()"),
        },
        constraints=[
            Constraint(kind="primary_key", columns=["id"]),
            Constraint(kind="unique", columns=["email"]),
        ],
    )
    assert list(op.detail["columns"]) == ["id", "email", "display_name", "created_at"]  # declaration order


def test_init_profiles_table_exact(init):
    op = init.statements[3].ops[0]
    assert (op.schema_, op.table, op.if_not_exists) == ("public", "profiles", True)
    assert Table.model_validate(op.detail) == Table(
        schema="public", name="profiles",
        columns={
            # table-level primary key: mirrored on the column, which becomes not null
            "id": Column(name="id", type="uuid", nullable=False, primary_key=True, references="public.users.id"),
            "username": Column(name="username", type="text"),
            "tags": Column(name="tags", type="text[]", default="'{}'"),
            "age": Column(name="age", type="integer"),  # int4 → integer
            "updated_at": Column(name="updated_at", type="timestamptz"),  # timestamp with time zone
        },
        constraints=[
            Constraint(kind="foreign_key", columns=["id"], ref_table="public.users", ref_columns=["id"]),
            Constraint(kind="check", columns=["age"], expr="age >= 0"),
            Constraint(kind="primary_key", columns=["id"]),
        ],
    )


def test_init_policies_exact(init):
    view, update = init.statements[5].ops[0], init.statements[6].ops[0]
    assert (view.kind, view.schema_, view.table, view.name) == ("create_policy", "public", "profiles", "Users can view own")
    assert Policy.model_validate(view.detail) == Policy(
        name="Users can view own", table="public.profiles", command="select", roles=["authenticated"],
        using="auth.uid() = id", with_check=None, permissive=True,
    )
    assert Policy.model_validate(update.detail) == Policy(
        name="Users can update own", table="public.profiles", command="update", roles=["authenticated"],
        using="auth.uid() = id", with_check="auth.uid() = id",
    )


def test_init_security_definer_function_exact(init):
    op = init.statements[7].ops[0]
    assert (op.kind, op.schema_, op.name, op.or_replace) == ("create_function", "public", "handle_new_user", True)
    f = Function.model_validate(op.detail)
    assert f == Function(
        schema="public", name="handle_new_user", args="", returns="trigger", language="plpgsql",
        security_definer=True, search_path="",
        body="\nbegin\n  insert into public.profiles (id) values (new.id);\n  return new;\nend;\n",
    )
    assert op.detail["procedure"] is False and op.detail["volatility"] is None


def test_init_trigger_on_auth_users(init):
    op = init.statements[8].ops[0]
    assert (op.kind, op.schema_, op.table, op.name) == ("create_trigger", "auth", "users", "on_auth_user_created")
    assert Trigger.model_validate(op.detail) == Trigger(
        name="on_auth_user_created", table="auth.users", function="public.handle_new_user",
        timing="after", events=["insert"],
    )
    assert op.detail["for_each"] == "row" and op.detail["when"] is None


def test_init_other_statements(init):
    st = init.statements
    assert one(st[0]) == {"kind": "create_extension", "name": "pgcrypto", "if_not_exists": True,
                          "detail": {"schema": "extensions"}}
    assert one(st[1]) == {"kind": "create_enum", "schema": "public", "name": "order_status",
                          "detail": {"schema": "public", "name": "order_status", "values": ["pending", "paid", "shipped"]}}
    assert one(st[9]) == {
        "kind": "create_index", "schema": "public", "table": "users", "name": "users_created_at_idx", "if_not_exists": True,
        "detail": {"name": "users_created_at_idx", "table": "public.users", "columns": ["created_at"], "unique": False,
                   "where": None, "method": "btree", "concurrently": False},
    }
    assert one(st[10]) == {"kind": "comment", "schema": "public", "table": "users",
                           "detail": {"object_kind": "table", "object": "public.users", "comment": "Application users"}}
    assert one(st[11]) == {"kind": "grant", "detail": {"privileges": ["select"], "object_kind": "table",
                                                       "objects": ["public.profiles"], "roles": ["authenticated"]}}
    do = one(st[12])
    assert do["kind"] == "do_block" and do["detail"]["language"] == "plpgsql"
    assert "create role reporting;" in do["detail"]["body"]


def one(statement) -> dict:
    assert len(statement.ops) == 1
    return statement.ops[0].model_dump(by_alias=True, exclude={"sql", "line"}, exclude_defaults=True)


# --------------------------------------------------------------------------- quoted identifiers, multi-op statements


def test_quoted_schema_qualified_identifiers_keep_case():
    m = build_migration("supabase/migrations/20240102000000_orders.sql", read("20240102000000_orders.sql"))
    assert m.parse_error is None
    assert [(s.line, s.end_line) for s in m.statements] == [(1, 8), (9, 9), (10, 10), (11, 11)]
    create = m.statements[0].ops[0]
    assert (create.schema_, create.table) == ("public", "Orders")
    t = Table.model_validate(create.detail)
    assert t.columns == {
        "Id": Column(name="Id", type="bigint", nullable=False, primary_key=True, identity=True),
        # `references public.users` without a column: the referenced key is resolved by replay
        "user_id": Column(name="user_id", type="uuid", nullable=False, references="public.users"),
        "status": Column(name="status", type="public.order_status", nullable=False, default="'pending'"),
        "total": Column(name="total", type="numeric(10,2)", nullable=False),
        "note": Column(name="note", type="varchar(20)"),
    }
    assert t.constraints == [
        Constraint(kind="primary_key", columns=["Id"]),
        Constraint(kind="foreign_key", columns=["user_id"], ref_table="public.users", ref_columns=[]),
        Constraint(name="orders_total_positive", kind="check", columns=["total"], expr="total >= 0"),
    ]
    idx = m.statements[1].ops[0]
    assert idx.model_dump(by_alias=True, exclude={"sql", "line"}, exclude_defaults=True) == {
        "kind": "create_index", "schema": "public", "table": "Orders", "name": "orders_user_note_key",
        "if_not_exists": True,
        "detail": {"name": "orders_user_note_key", "table": "public.Orders", "columns": ["user_id", "lower(note)"],
                   "unique": True, "where": "note IS NOT NULL", "method": "btree", "concurrently": True},
    }
    assert [o.kind for o in m.statements[2].ops] == ["enable_rls", "force_rls"]
    assert all((o.schema_, o.table) == ("public", "Orders") for o in m.statements[2].ops)
    assert one(m.statements[3]) == {
        "kind": "add_enum_value", "schema": "public", "name": "order_status", "if_not_exists": True,
        "detail": {"value": "refunded", "before": None, "after": "paid"},
    }


def test_alter_table_with_many_subcommands():
    ops = ops_of(
        "alter table if exists users\n"
        "  add column if not exists nickname varchar(20) not null default '' references public.nicks (name),\n"
        "  alter column age type bigint using age::bigint,\n"
        "  drop column if exists legacy cascade,\n"
        "  alter column email set not null,\n"
        "  alter column email drop not null,\n"
        "  alter column status set default 'new',\n"
        "  alter column status drop default,\n"
        "  add constraint users_age_check check (age > 0) not valid,\n"
        "  add unique (email),\n"
        "  drop constraint if exists old_fk,\n"
        "  validate constraint users_age_check,\n"
        "  disable row level security,\n"
        "  no force row level security,\n"
        "  owner to postgres;"
    )
    t = {"schema": "public", "table": "users"}
    x = {"table_if_exists": True}
    # in the order PostgreSQL runs them: drops, type changes, added columns, constraints,
    # column attributes, defaults, the rest
    assert ops == [
        {"kind": "drop_column", **t, "column": "legacy", "if_exists": True, "cascade": True, "detail": x},
        {"kind": "drop_not_null", **t, "column": "email", "detail": x},
        {"kind": "drop_default", **t, "column": "status", "detail": x},
        {"kind": "drop_constraint", **t, "name": "old_fk", "if_exists": True, "detail": x},
        {"kind": "alter_column_type", **t, "column": "age", "detail": {"type": "bigint", "using": "age::bigint", **x}},
        {"kind": "add_column", **t, "column": "nickname", "if_not_exists": True,
         "detail": {**Column(name="nickname", type="varchar(20)", nullable=False, default="''",
                             references="public.nicks.name").model_dump(),
                    "constraints": [Constraint(kind="foreign_key", columns=["nickname"], ref_table="public.nicks",
                                               ref_columns=["name"]).model_dump()], **x}},
        {"kind": "add_constraint", **t, "column": "age", "name": "users_age_check",
         "detail": {**Constraint(name="users_age_check", kind="check", columns=["age"], expr="age > 0").model_dump(),
                    "not_valid": True, **x}},
        {"kind": "add_constraint", **t, "column": "email",
         "detail": {**Constraint(kind="unique", columns=["email"]).model_dump(), "not_valid": False, **x}},
        {"kind": "set_not_null", **t, "column": "email", "detail": x},
        {"kind": "set_default", **t, "column": "status", "detail": {"default": "'new'", **x}},
        {"kind": "validate_constraint", **t, "name": "users_age_check", "detail": x},
        {"kind": "disable_rls", **t, "detail": x},
        {"kind": "no_force_rls", **t, "detail": x},
        {"kind": "other", **t, "detail": {"statement": "AlterTableStmt", "subcommand": "ChangeOwner", **x}},
    ]


def test_renames_and_drops():
    ops = ops_of(
        'alter table "Orders" rename to orders;\n'
        "alter table public.orders rename column total to amount;\n"
        "alter index if exists orders_idx rename to orders_user_idx;\n"
        "alter table orders rename constraint a_check to amount_check;\n"
        'alter policy "Own" on orders rename to "Own orders";\n'
        "alter trigger t_upd on orders rename to orders_upd;\n"
        "alter type order_status rename to status;\n"
        "alter type order_status rename value 'shipped' to 'sent';\n"
        "alter view v rename to w;\n"
        "alter function f(int, text) rename to g;\n"
        "drop table if exists a, b.c cascade;\n"
        "drop index concurrently if exists public.ix;\n"
        'drop policy if exists "Own orders" on public.orders;\n'
        "drop trigger orders_upd on orders;\n"
        "drop function if exists public.f(uuid, text[]), g;\n"
        "drop type if exists public.status cascade;\n"
        "drop view v; drop materialized view if exists mv;\n"
        "drop schema legacy cascade;"
    )
    assert ops == [
        {"kind": "rename_table", "schema": "public", "table": "Orders", "new_name": "orders"},
        {"kind": "rename_column", "schema": "public", "table": "orders", "column": "total", "new_name": "amount"},
        {"kind": "rename_index", "schema": "public", "name": "orders_idx", "new_name": "orders_user_idx", "if_exists": True},
        {"kind": "rename_constraint", "schema": "public", "table": "orders", "name": "a_check", "new_name": "amount_check"},
        {"kind": "rename_policy", "schema": "public", "table": "orders", "name": "Own", "new_name": "Own orders"},
        {"kind": "rename_trigger", "schema": "public", "table": "orders", "name": "t_upd", "new_name": "orders_upd"},
        {"kind": "rename_type", "schema": "public", "name": "order_status", "new_name": "status"},
        {"kind": "rename_enum_value", "schema": "public", "name": "order_status", "new_name": "sent",
         "detail": {"value": "shipped", "new_name": "sent"}},
        {"kind": "rename_view", "schema": "public", "name": "v", "new_name": "w", "detail": {"materialized": False}},
        {"kind": "rename_function", "schema": "public", "name": "f", "new_name": "g", "detail": {"args": "integer, text"}},
        {"kind": "drop_table", "schema": "public", "table": "a", "if_exists": True, "cascade": True},
        {"kind": "drop_table", "schema": "b", "table": "c", "if_exists": True, "cascade": True},
        {"kind": "drop_index", "schema": "public", "name": "ix", "if_exists": True, "detail": {"concurrently": True}},
        {"kind": "drop_policy", "schema": "public", "table": "orders", "name": "Own orders", "if_exists": True},
        {"kind": "drop_trigger", "schema": "public", "table": "orders", "name": "orders_upd"},
        {"kind": "drop_function", "schema": "public", "name": "f", "if_exists": True, "detail": {"args": "uuid, text[]"}},
        {"kind": "drop_function", "schema": "public", "name": "g", "if_exists": True, "detail": {"args": None}},
        {"kind": "drop_type", "schema": "public", "name": "status", "if_exists": True, "cascade": True},
        {"kind": "drop_view", "schema": "public", "name": "v", "detail": {"materialized": False}},
        {"kind": "drop_view", "schema": "public", "name": "mv", "if_exists": True, "detail": {"materialized": True}},
        {"kind": "other", "name": "legacy", "cascade": True,
         "detail": {"statement": "DropStmt", "object_kind": "schema", "object": "legacy"}},
    ]


def test_policies_functions_views_grants():
    ops = ops_of(
        "create policy p on storage.objects as restrictive for insert to authenticated, anon with check (bucket_id = 'avatars');\n"
        "create policy q on t using (true);\n"
        "alter policy q on t to authenticated using (owner = auth.uid());\n"
        "create function public.add(a int, b integer default 1, out total bigint) returns bigint "
        "language sql immutable as 'select a + b';\n"
        "create function public.list_orders(uid uuid) returns table(id bigint, total numeric) language sql "
        "stable security invoker begin atomic select id, total from orders where user_id = uid; end;\n"
        "alter function public.add(int, int) security definer set search_path = public, extensions;\n"
        "create or replace view public.active_users with (security_invoker = true) as select id from users where active;\n"
        "create materialized view if not exists stats as select count(*) from users with no data;\n"
        "grant usage on schema api to anon;\n"
        "grant all privileges on all tables in schema public to service_role;\n"
        "revoke insert, update (email) on public.users from anon, public;\n"
        "grant execute on function public.add(int, int) to authenticated with grant option;"
    )
    assert ops[0] == {"kind": "create_policy", "schema": "storage", "table": "objects", "name": "p", "detail": Policy(
        name="p", table="storage.objects", command="insert", roles=["authenticated", "anon"],
        with_check="bucket_id = 'avatars'", permissive=False).model_dump()}
    assert ops[1]["detail"] == Policy(name="q", table="public.t", command="all", roles=["public"], using="TRUE").model_dump()
    assert ops[2] == {"kind": "alter_policy", "schema": "public", "table": "t", "name": "q",
                      "detail": {"roles": ["authenticated"], "using": "owner = auth.uid()"}}
    assert ops[3]["detail"] == {**Function(schema="public", name="add", args="integer, integer", returns="bigint",
                                           language="sql", body="select a + b").model_dump(by_alias=True),
                                "procedure": False, "volatility": "immutable"}
    assert ops[4]["detail"] == {**Function(schema="public", name="list_orders", args="uuid",
                                           returns="table(id bigint, total numeric)", language="sql",
                                           body="SELECT id, total FROM orders WHERE user_id = uid").model_dump(by_alias=True),
                                "procedure": False, "volatility": "stable"}
    assert ops[5] == {"kind": "alter_function", "schema": "public", "name": "add",
                      "detail": {"args": "integer, integer", "security_definer": True, "search_path": "public, extensions"}}
    assert ops[6] == {"kind": "create_view", "schema": "public", "name": "active_users", "or_replace": True,
                      "detail": {"schema": "public", "name": "active_users", "definition": "SELECT id FROM users WHERE active",
                                 "materialized": False}}
    assert ops[7] == {"kind": "create_view", "schema": "public", "name": "stats", "if_not_exists": True,
                      "detail": {"schema": "public", "name": "stats", "definition": "SELECT count(*) FROM users",
                                 "materialized": True}}
    assert [o["detail"] for o in ops[8:]] == [
        {"privileges": ["usage"], "object_kind": "schema", "objects": ["api"], "roles": ["anon"]},
        {"privileges": ["all"], "object_kind": "all tables in schema", "objects": ["public"], "roles": ["service_role"]},
        {"privileges": ["insert", "update(email)"], "object_kind": "table", "objects": ["public.users"], "roles": ["anon", "public"]},
        {"privileges": ["execute"], "object_kind": "function", "objects": ["public.add(integer, integer)"],
         "roles": ["authenticated"], "grant_option": True},
    ]
    assert [o["kind"] for o in ops[8:]] == ["grant", "grant", "revoke", "grant"]


def test_dml_schema_and_misc_statements():
    ops = ops_of(
        "create schema if not exists api;\n"
        "insert into public.settings (key, value) values ('a', '1') on conflict do nothing;\n"
        "update settings set value = '2' where key = 'a';\n"
        'delete from only "Audit" where true;\n'
        "comment on column public.users.email is 'login';\n"
        "comment on function public.add(int, int) is null;\n"
        "create sequence if not exists public.invoice_no;\n"
        "create domain public.email as text check (value like '%@%');\n"
        "select cron.schedule('nightly', '0 3 * * *', 'vacuum');\n"
        "begin; commit;"
    )
    assert ops == [
        {"kind": "create_schema", "name": "api", "if_not_exists": True},
        {"kind": "insert", "schema": "public", "table": "settings"},
        {"kind": "update", "schema": "public", "table": "settings"},
        {"kind": "delete", "schema": "public", "table": "Audit"},
        {"kind": "comment", "schema": "public", "table": "users", "column": "email",
         "detail": {"object_kind": "column", "object": "public.users.email", "comment": "login"}},
        {"kind": "comment", "detail": {"object_kind": "function", "object": "public.add(integer, integer)", "comment": None}},
        {"kind": "other", "schema": "public", "name": "invoice_no", "if_not_exists": True,
         "detail": {"statement": "CreateSeqStmt", "object_kind": "sequence"}},
        {"kind": "other", "schema": "public", "name": "email", "detail": {"statement": "CreateDomainStmt", "object_kind": "type"}},
        {"kind": "other", "detail": {"statement": "SelectStmt"}},
        {"kind": "other", "detail": {"statement": "TransactionStmt"}},
        {"kind": "other", "detail": {"statement": "TransactionStmt"}},
    ]


def test_create_schema_with_elements():
    ops = ops_of("create schema billing create table invoices (id int) create view open as select 1;")
    assert [(o["kind"], o.get("schema"), o.get("table") or o.get("name")) for o in ops] == [
        ("create_schema", None, "billing"), ("create_table", "billing", "invoices"), ("create_view", "billing", "open")]


def test_enum_and_trigger_details():
    ops = ops_of(
        "create type status as enum ();\n"
        "alter type public.status add value 'a';\n"
        "alter type status add value 'b' before 'a';\n"
        "create or replace trigger set_updated_at before update of name, email on public.users\n"
        "  for each row when (old.* is distinct from new.*) execute function extensions.moddatetime(updated_at);\n"
        "create trigger audit instead of delete or insert on v execute procedure audit();"
    )
    assert ops[0]["detail"] == {"schema": "public", "name": "status", "values": []}
    assert ops[1]["detail"] == {"value": "a", "before": None, "after": None}
    assert ops[2]["detail"] == {"value": "b", "before": "a", "after": None}
    assert ops[3] == {"kind": "create_trigger", "schema": "public", "table": "users", "name": "set_updated_at",
                      "or_replace": True, "detail": {
                          "name": "set_updated_at", "table": "public.users", "function": "extensions.moddatetime",
                          "timing": "before", "events": ["update"], "for_each": "row", "columns": ["name", "email"],
                          "when": "old.* IS DISTINCT FROM new.*", "constraint": False}}
    assert ops[4]["detail"]["timing"] == "instead of"
    assert ops[4]["detail"]["events"] == ["insert", "delete"]
    assert ops[4]["detail"]["for_each"] == "statement"
    assert ops[4]["detail"]["function"] == "public.audit"


def test_default_index_names_follow_postgres():
    ops = ops_of("create index on t (a, b); create unique index on s.t (lower(email)); create index on t ((a + 1));")
    assert [(o["schema"], o["name"], o["detail"]["name_generated"]) for o in ops] == [
        ("public", "t_a_b_idx", True), ("s", "t_lower_idx", True), ("public", "t_expr_idx", True)]


# --------------------------------------------------------------------------- types


@pytest.mark.parametrize("written, normal", [
    ("int4", "integer"), ("int", "integer"), ("integer", "integer"), ("int8", "bigint"), ("smallint", "smallint"),
    ("bool", "boolean"), ("float8", "double precision"), ("double precision", "double precision"), ("real", "real"),
    ("float", "double precision"), ("varchar(20)", "varchar(20)"), ("character varying(20)", "varchar(20)"),
    ("varchar", "varchar"), ("char(2)", "char(2)"), ("character(2)", "char(2)"),
    ("timestamptz", "timestamptz"), ("timestamp with time zone", "timestamptz"),
    ("timestamp(3) with time zone", "timestamptz(3)"), ("timestamp", "timestamp"),
    ("timestamp without time zone", "timestamp"), ("time with time zone", "timetz"),
    ("text[]", "text[]"), ("int[][]", "integer[][]"), ("integer[3]", "integer[]"),
    ("numeric(10, 2)", "numeric(10,2)"), ("decimal", "numeric"), ("uuid", "uuid"), ("jsonb", "jsonb"),
    ("public.order_status", "public.order_status"), ('"public"."OrderStatus"', "public.OrderStatus"),
    ("order_status", "order_status"), ("serial", "serial"), ("bigserial", "bigserial"),
    ("interval", "interval"), ("interval hour to minute", "interval hour to minute"),
    ("bit varying(8)", "varbit(8)"), ("extensions.citext", "extensions.citext"),
])
def test_parse_type_normalises(written, normal):
    assert parse_type(written) == normal
    # the same normalisation is used for column definitions
    assert ops_of(f"create table t (c {written})")[0]["detail"]["columns"]["c"]["type"] == normal


@pytest.mark.parametrize("bad", [
    "", "   ", "foo bar", "int from t", "int; drop table users", "varchar(abc)", "int, text", "int::text",
    "1", "text not null", "int) union select (1", "(int)",
])
def test_parse_type_rejects(bad):
    assert parse_type(bad) is None


def test_serial_is_kept_and_implies_not_null_and_a_sequence_default():
    col = ops_of("create table t (id serial primary key, n bigserial)")[0]["detail"]["columns"]
    assert (col["id"]["type"], col["id"]["nullable"], col["id"]["default"]) == (
        "serial", False, "nextval('t_id_seq'::regclass)")
    assert (col["n"]["type"], col["n"]["nullable"]) == ("bigserial", False)
    # names as PostgreSQL prints them
    col = ops_of('create table s."Orders" ("Id" smallserial)')[0]["detail"]["columns"]
    assert col["Id"]["default"] == """nextval('s."Orders_Id_seq"'::regclass)"""
    add = ops_of("alter table t add column k serial")[0]["detail"]
    assert (add["type"], add["default"]) == ("serial", "nextval('t_k_seq'::regclass)")


# --------------------------------------------------------------------------- line numbers, CRLF, errors, empties


def test_crlf_and_non_ascii_comments_keep_lines():
    text = read("20240104000000_crlf.sql")
    assert "\r\n" in text
    statements, diag = parse_sql("x.sql", text)
    assert diag is None
    assert [(s.line, s.end_line, [o.kind for o in s.ops]) for s in statements] == [
        (2, 6, ["create_table"]), (8, 9, ["add_column"])]
    assert statements[1].sql == "alter table public.crlf_t\r\n  add column age int"
    # same file with LF endings gives the same lines and ops
    lf, _ = parse_sql("x.sql", text.replace("\r\n", "\n"))
    assert [(s.line, s.end_line) for s in lf] == [(2, 6), (8, 9)]
    assert [o.detail for s in lf for o in s.ops] == [o.detail for s in statements for o in s.ops]
    assert find_suppressions("x.sql", text) == [
        Suppression(file="x.sql", line=1, rules=["DLCM101"], reason="fresh table, no rows")]


def test_non_ascii_before_statements_in_the_middle():
    text = "select 1;\n-- ünïcödé ✓ 日本語\n/* ü\n ö */ create table t (a int); -- tail ✓\n\n\ninsert into t values (1)\n-- trailing comment\n"
    statements, diag = parse_sql("x.sql", text)
    assert diag is None
    assert [(s.line, s.end_line, s.sql) for s in statements] == [
        (1, 1, "select 1"), (4, 4, "create table t (a int)"), (7, 7, "insert into t values (1)")]


def test_parse_error_gives_diagnostic_line_and_statements_before():
    statements, diag = parse_sql("supabase/migrations/broken.sql", read("broken.sql"))
    assert diag == Diagnostic(file="supabase/migrations/broken.sql", line=5, kind="sql-parse-error",
                              message='syntax error at or near ","')
    assert [(s.line, s.sql) for s in statements] == [(1, "select 1")]
    m = build_migration("supabase/migrations/broken.sql", read("broken.sql"))
    assert m.parse_error == diag and m.version is None and not m.empty


@pytest.mark.parametrize("text, line, message_start", [
    # "at end of input" has no position: reported at the last token of the file
    ("create table t (\n  a int,\n  b text\n-- forgot the parenthesis\n", 3, "syntax error at end of input"),
    ("select 1;\n\nselect $$ never closed\n", 3, "unterminated dollar-quoted string"),
    ("-- é\ncreate tabel t (a int);", 2, 'syntax error at or near "tabel"'),
    ("select 'ö' from;", 1, 'syntax error at or near ";"'),
])
def test_parse_errors_never_raise(text, line, message_start):
    statements, diag = parse_sql("x.sql", text)
    assert diag is not None and diag.kind == "sql-parse-error"
    assert diag.line == line
    assert diag.message.startswith(message_start)


def test_statements_before_an_unfinished_last_statement():
    statements, diag = parse_sql("x.sql", "create table a (id int);\n\ncreate table b (\n  id int\n")
    assert (diag.line, diag.message) == (4, "syntax error at end of input")
    assert [(s.line, s.ops[0].table) for s in statements] == [(1, "a")]


def test_statements_before_an_unterminated_string():
    statements, diag = parse_sql("x.sql", "create table a (id int);\ncreate table b (id int);\ninsert into a values ('x);\n")
    assert diag.line == 3
    assert [o.table for s in statements for o in s.ops] == ["a", "b"]


def test_empty_and_comment_only_files():
    m = build_migration("supabase/migrations/20240105000000_empty.sql", read("20240105000000_empty.sql"))
    assert m.statements == [] and m.empty and m.parse_error is None
    assert build_migration("supabase/migrations/20240106000000_blank.sql", "").empty
    assert parse_sql("x.sql", ";;\n;") == ([], None)


def test_bom_is_ignored():
    statements, diag = parse_sql("x.sql", "\ufeffcreate table t (a int);")
    assert diag is None and statements[0].ops[0].table == "t" and statements[0].line == 1


# --------------------------------------------------------------------------- suppressions


def test_find_suppressions():
    text = (
        "-- dlcm-ignore DLCM101: backfilled in batches\n"
        "alter table t add column a int not null default 0;\n"
        "--dlcm-ignore DLCM102,DLCM103 : two rules, spaces\n"
        "/* dlcm-ignore prefer-robust-stmts, DLCM104: squawk rule and ours */\n"
        "-- dlcm-ignore DLCM105\n"
        "-- dlcm-ignored DLCM106: not the marker\n"
        "-- see dlcm-ignore DLCM107: not at the start\n"
        "select '-- dlcm-ignore DLCM108: inside a string';\n"
        "select 1; -- dlcm-ignore DLCM109: trailing comment é\n"
    )
    assert find_suppressions("m.sql", text) == [
        Suppression(file="m.sql", line=1, rules=["DLCM101"], reason="backfilled in batches"),
        Suppression(file="m.sql", line=3, rules=["DLCM102", "DLCM103"], reason="two rules, spaces"),
        Suppression(file="m.sql", line=4, rules=["prefer-robust-stmts", "DLCM104"], reason="squawk rule and ours"),
        Suppression(file="m.sql", line=5, rules=["DLCM105"], reason=""),
        Suppression(file="m.sql", line=9, rules=["DLCM109"], reason="trailing comment é"),
    ]
    assert find_suppressions("m.sql", "select 1;") == []


def test_suppressions_in_a_file_that_does_not_parse():
    text = "-- dlcm-ignore DLCM101: ok\ncreate table (;\n"
    assert [s.line for s in find_suppressions("m.sql", text)] == [1]


# --------------------------------------------------------------------------- file names


@pytest.mark.parametrize("name, expected", [
    ("20240101120000_add_users.sql", ("20240101120000", "add_users", "20240101120000_add_users")),
    ("supabase/migrations/20240101120000_add_users.sql", ("20240101120000", "add_users", "20240101120000_add_users")),
    ("20240101120000_AddUsers.sql", ("20240101120000", "AddUsers", "20240101120000_AddUsers")),
    ("2024010112000_short.sql", (None, "2024010112000_short", "2024010112000_short")),
    ("20240101120000.sql", (None, "20240101120000", "20240101120000")),
    ("20240101120000_.sql", (None, "20240101120000_", "20240101120000_")),
    ("add_users.sql", (None, "add_users", "add_users")),
    ("２０２４0101120000_x.sql", (None, "２０２４0101120000_x", "２０２４0101120000_x")),
])
def test_parse_migration_name(name, expected):
    assert parse_migration_name(name) == expected


def test_build_rollback():
    rb = build_rollback("supabase/rollbacks/20240101120000_add_users.down.sql", "drop table users;")
    assert rb.stem == "20240101120000_add_users" and rb.parse_error is None
    assert [o.kind for s in rb.statements for o in s.ops] == ["drop_table"]
    assert rollback_stem("r/20240101120000_x.undo.sql", ".undo.sql") == "20240101120000_x"
    assert rollback_stem("r/20240101120000_x.sql") == "20240101120000_x"
    bad = build_rollback("r/x.down.sql", "drop tabel users;")
    assert bad.parse_error is not None and bad.parse_error.file == "r/x.down.sql"


def test_unknown_statements_become_other_never_raise():
    ops = ops_of("create role app; alter default privileges in schema public grant select on tables to anon; "
                 "vacuum analyze users; notify ch, 'x'; set statement_timeout = '5s';")
    assert [o["detail"]["statement"] for o in ops] == [
        "CreateRoleStmt", "AlterDefaultPrivilegesStmt", "VacuumStmt", "NotifyStmt", "VariableSetStmt"]
    assert all(o["kind"] == "other" for o in ops)


def test_expressions_are_deparsed_with_postgres_style_casts():
    cols = ops_of(
        "create table t (a public.order_status default 'pending'::public.order_status,"
        " b timestamptz default timezone('utc'::text, now()), c int default nextval('t_c_seq'::regclass),"
        " d text default (-1)::text, e int default (1 + 2)::int, f jsonb default '{}', g boolean default true,"
        " h timestamptz default current_timestamp)"
    )[0]["detail"]["columns"]
    assert {k: c["default"] for k, c in cols.items()} == {
        "a": "'pending'::public.order_status", "b": "timezone('utc'::text, now())",
        "c": "nextval('t_c_seq'::regclass)", "d": "(-1)::text", "e": "(1 + 2)::integer", "f": "'{}'",
        "g": "TRUE", "h": "CURRENT_TIMESTAMP",
    }


def test_pg_dump_style_migration():
    ops = ops_of(
        'CREATE TABLE IF NOT EXISTS "public"."todos" ("id" bigint NOT NULL, "user_id" "uuid" NOT NULL,\n'
        '  "tsv" tsvector GENERATED ALWAYS AS (to_tsvector(\'english\', "task")) STORED);\n'
        'ALTER TABLE "public"."todos" OWNER TO "postgres";\n'
        'ALTER TABLE "public"."todos" ALTER COLUMN "id" ADD GENERATED BY DEFAULT AS IDENTITY (\n'
        '  SEQUENCE NAME "public"."todos_id_seq" START WITH 1 INCREMENT BY 1 NO MINVALUE NO MAXVALUE CACHE 1);\n'
        'ALTER TABLE ONLY "public"."todos" ADD CONSTRAINT "todos_pkey" PRIMARY KEY ("id");\n'
        'CREATE POLICY "Own" ON "public"."todos" FOR INSERT WITH CHECK (("auth"."uid"() = "user_id"));\n'
        'CREATE OR REPLACE FUNCTION "public"."is_admin"("uid" "uuid") RETURNS boolean LANGUAGE "plpgsql"\n'
        "  SECURITY DEFINER SET \"search_path\" TO '' AS $$ begin return true; end $$;\n"
    )
    cols = ops[0]["detail"]["columns"]
    assert (cols["user_id"]["type"], cols["tsv"]["generated"]) == ("uuid", True)
    assert [o["kind"] for o in ops] == ["create_table", "other", "other", "add_constraint", "create_policy", "create_function"]
    assert ops[2]["detail"] == {"statement": "AlterTableStmt", "subcommand": "AddIdentity", "column": "id"}
    assert ops[4]["detail"]["with_check"] == "auth.uid() = user_id" and ops[4]["detail"]["roles"] == ["public"]
    fn = ops[5]["detail"]
    assert (fn["args"], fn["language"], fn["security_definer"], fn["search_path"]) == ("uuid", "plpgsql", True, "")


def test_like_and_partition_of_are_recorded():
    ops = ops_of("create table l (a int, like public.p including all, b int);"
                 " create table p1 partition of p for values from (1) to (10);")
    assert ops[0]["detail"]["like"] == [{"table": "public.p", "position": 1, "defaults": True, "constraints": True,
                                         "identity": True, "generated": True}]
    assert list(ops[0]["detail"]["columns"]) == ["a", "b"]
    assert ops[1]["detail"]["partition_of"] == "public.p" and ops[1]["detail"]["columns"] == {}
