"""checks.sql.replay: the schema after migrations, warnings for impossible ops, schema differences."""

from __future__ import annotations

from pathlib import Path

import pytest

from checks.model import Column, Constraint, Diagnostic, Enum, Grant, Index, Policy, Schema, Table, Trigger
from checks.sql.migrations import build_migration, build_rollback
from checks.sql.parse import parse_sql
from checks.sql.replay import (
    SchemaDifference,
    default_constraint_name,
    diff_schemas,
    replay,
    replay_with_warnings,
    types_equal,
)

FIX = Path(__file__).parent / "fixtures" / "sql"
MIG = "supabase/migrations/"
RB = "supabase/rollbacks/"


def mig(name: str):
    return build_migration(MIG + name, (FIX / name).read_text(encoding="utf-8"))


def ops(sql: str):
    statements, diag = parse_sql("t.sql", sql)
    assert diag is None, diag
    return [op for st in statements for op in st.ops]


def run(sql: str, schema: Schema | None = None) -> tuple[Schema, list]:
    return replay_with_warnings(ops(sql), schema)


@pytest.fixture(scope="module")
def before() -> Schema:
    """Schema after the first two fixture migrations (what the rename migration starts from)."""
    schema, warnings = replay_with_warnings([mig("20240101000000_init.sql"), mig("20240102000000_orders.sql")])
    assert warnings == []
    return schema


@pytest.fixture(scope="module")
def after(before) -> Schema:
    schema, warnings = replay_with_warnings([mig("20240103000000_rename_things.sql")], before)
    assert warnings == []
    return schema


# --------------------------------------------------------------------------- replay of real migrations


def test_replay_initial_migrations_exact(before):
    assert list(before.tables) == ["public.users", "public.profiles", "public.Orders"]
    assert before.tables["public.users"] == Table(
        schema="public", name="users",
        columns={
            "id": Column(name="id", type="uuid", nullable=False, default="gen_random_uuid()", primary_key=True),
            "email": Column(name="email", type="varchar(320)", nullable=False, unique=True),
            "display_name": Column(name="display_name", type="text"),
            "created_at": Column(name="created_at", type="timestamptz", nullable=False, default="now()"),
        },
        constraints=[
            Constraint(name="users_pkey", kind="primary_key", columns=["id"]),
            Constraint(name="users_email_key", kind="unique", columns=["email"]),
        ],
    )
    orders = before.tables["public.Orders"]
    assert (orders.rls_enabled, orders.rls_forced) == (True, True)
    # `references public.users` resolved to the primary key of users
    assert orders.columns["user_id"].references == "public.users.id"
    assert [(c.name, c.kind, c.columns, c.ref_table, c.ref_columns) for c in orders.constraints] == [
        ("Orders_pkey", "primary_key", ["Id"], None, []),
        ("Orders_user_id_fkey", "foreign_key", ["user_id"], "public.users", ["id"]),
        ("orders_total_positive", "check", ["total"], None, []),
    ]
    profiles = before.tables["public.profiles"]
    assert [c.name for c in profiles.constraints] == ["profiles_id_fkey", "profiles_age_check", "profiles_pkey"]
    assert profiles.rls_enabled and not profiles.rls_forced
    assert before.indexes == {
        "public.users_created_at_idx": Index(name="users_created_at_idx", table="public.users", columns=["created_at"],
                                             method="btree"),
        "public.orders_user_note_key": Index(name="orders_user_note_key", table="public.Orders",
                                             columns=["user_id", "lower(note)"], unique=True,
                                             where="note IS NOT NULL", method="btree"),
    }
    assert before.policies == {
        "public.profiles.Users can view own": Policy(
            name="Users can view own", table="public.profiles", command="select", roles=["authenticated"],
            using="auth.uid() = id"),
        "public.profiles.Users can update own": Policy(
            name="Users can update own", table="public.profiles", command="update", roles=["authenticated"],
            using="auth.uid() = id", with_check="auth.uid() = id"),
    }
    fn = before.functions["public.handle_new_user()"]
    assert (fn.security_definer, fn.search_path, fn.returns, fn.language) == (True, "", "trigger", "plpgsql")
    # a trigger on Supabase's auth.users is recorded without a warning
    assert before.triggers == {"auth.users.on_auth_user_created": Trigger(
        name="on_auth_user_created", table="auth.users", function="public.handle_new_user",
        timing="after", events=["insert"])}
    assert before.enums == {"public.order_status": Enum(
        schema="public", name="order_status", values=["pending", "paid", "refunded", "shipped"])}
    assert before.grants == [Grant(privileges=["select"], object_kind="table", objects=["public.profiles"],
                                   roles=["authenticated"])]


def test_replay_renames_propagate(before, after):
    assert list(after.tables) == ["public.users", "public.profiles", "public.orders"]
    orders = after.tables["public.orders"]
    assert orders.name == "orders"
    assert after.indexes["public.orders_user_note_key"].table == "public.orders"
    assert "public.users_created_at_idx" not in after.indexes
    assert after.indexes["public.users_created_idx"].name == "users_created_idx"
    assert list(after.tables["public.profiles"].columns) == ["id", "handle", "tags", "age", "updated_at"]
    assert after.enums["public.order_status"].values == ["pending", "paid", "refunded", "sent"]
    users = after.tables["public.users"]
    assert users.columns["display_name"] == Column(name="display_name", type="text", nullable=False, default="'anonymous'")
    assert users.columns["nickname"] == Column(name="nickname", type="text")
    assert orders.constraints[-1] == Constraint(name="orders_note_len", kind="check", columns=["note"],
                                                expr="char_length(note) <= 20")
    # replay is pure: the input schema did not change
    assert "public.Orders" in before.tables and "nickname" not in before.tables["public.users"].columns


def test_rename_table_moves_policies_triggers_grants_and_foreign_keys():
    s, w = run(
        "create table a (id int primary key);\n"
        "create table b (id int primary key, a_id int references a);\n"
        "create index b_a_idx on b (a_id);\n"
        "create policy p on a using (true);\n"
        "create function touch() returns trigger language plpgsql as $$ begin return new; end $$;\n"
        "create trigger t before update on a for each row execute function touch();\n"
        "grant select on a to anon;\n"
        "alter table a rename to aa;\n"
        "alter table aa rename column id to key;\n"
    )
    assert w == []
    assert list(s.tables) == ["public.aa", "public.b"]
    assert s.tables["public.b"].constraints[1] == Constraint(
        name="b_a_id_fkey", kind="foreign_key", columns=["a_id"], ref_table="public.aa", ref_columns=["key"])
    assert s.tables["public.b"].columns["a_id"].references == "public.aa.key"
    assert list(s.policies) == ["public.aa.p"] and s.policies["public.aa.p"].table == "public.aa"
    assert list(s.triggers) == ["public.aa.t"] and s.triggers["public.aa.t"].table == "public.aa"
    assert s.grants == [Grant(privileges=["select"], object_kind="table", objects=["public.aa"], roles=["anon"])]
    assert s.tables["public.aa"].constraints == [Constraint(name="a_pkey", kind="primary_key", columns=["key"])]


def test_drop_table_removes_its_indexes_policies_triggers_and_grants():
    setup = (
        "create table a (id int primary key, email text);\n"
        "create table b (id int primary key, a_id int references a (id));\n"
        "create unique index a_email_idx on a (email);\n"
        "create index b_a_idx on b (a_id);\n"
        "alter table a enable row level security;\n"
        'create policy "read" on a for select using (true);\n'
        "create trigger t after insert on a for each row execute function f();\n"
        "grant select, insert on a, b to authenticated;\n"
    )
    s, w = run(setup + "drop table a cascade;")
    assert w == []
    assert list(s.tables) == ["public.b"]
    assert list(s.indexes) == ["public.b_a_idx"]
    assert s.policies == {} and s.triggers == {}
    # cascade drops the foreign key that referenced it
    assert [c.name for c in s.tables["public.b"].constraints] == ["b_pkey"]
    assert s.tables["public.b"].columns["a_id"].references is None
    assert sorted((g.privileges[0], g.objects[0]) for g in s.grants) == [("insert", "public.b"), ("select", "public.b")]
    # without cascade PostgreSQL would refuse: warned, applied anyway
    s2, w2 = run(setup + "drop table a;")
    assert [str(x) for x in w2] == [
        "line 9: drop table public.a: foreign keys still reference it (b_a_id_fkey on public.b); PostgreSQL needs cascade"]


def test_if_exists_and_if_not_exists_semantics():
    s, w = run(
        "create table if not exists t (id int);\n"
        "create table if not exists t (id bigint, other text);\n"
        "alter table t add column if not exists id text;\n"
        "alter table t drop column if exists nope;\n"
        "drop table if exists nope;\n"
        "drop index if exists nope_idx;\n"
        "drop policy if exists p on t;\n"
        "drop trigger if exists tr on t;\n"
        "drop function if exists f(int);\n"
        "drop type if exists e;\n"
        "drop view if exists v;\n"
        "alter table if exists nope add column x int;\n"
        "create index if not exists t_id_idx on t (id);\n"
        "create index if not exists t_id_idx on t (id);\n"
        "create type e as enum ('a');\n"
        "alter type e add value if not exists 'a';\n"
        "alter table t drop constraint if exists nope;\n"
    )
    assert w == []
    assert s.tables["public.t"].columns == {"id": Column(name="id", type="integer")}
    assert list(s.indexes) == ["public.t_id_idx"]
    assert s.enums["public.e"].values == ["a"]


def test_missing_objects_are_warnings_with_file_and_line():
    m = build_migration(MIG + "20240201000000_broken_refs.sql", (
        "create table t (id int);\n"
        "alter table nope add column x int;\n"
        "alter table t drop column nope;\n"
        "alter table t rename column nope to other;\n"
        "create table t (id int);\n"
        "drop index nope_idx;\n"
        "create index t_x_idx on t (id);\n"
        "create index t_x_idx on t (id);\n"
        "create policy p on missing using (true);\n"
        "drop policy nope on t;\n"
        "drop function nope(int);\n"
        "alter type nope add value 'x';\n"
        "drop trigger tr on t;\n"
        "alter table t drop constraint nope;\n"
        "create function f() returns int language sql as 'select 1';\n"
        "create function f() returns int language sql as 'select 2';\n"
        "alter table t alter column nope set not null;\n"
        "drop table t; drop table t;\n"
    ))
    schema, warnings = replay_with_warnings([m])
    assert all(isinstance(w, Diagnostic) and w.kind == "replay-warning" and w.file == m.path for w in warnings)
    assert [(w.line, w.message) for w in warnings] == [
        (2, "add column x: table public.nope does not exist"),
        (3, "drop column nope: column public.t.nope does not exist"),
        (4, "rename column nope: column public.t.nope does not exist"),
        (5, "create table public.t: it already exists"),
        (6, "drop index public.nope_idx: it does not exist"),
        (8, "create index public.t_x_idx: it already exists"),
        (9, 'create policy "p": table public.missing does not exist'),
        (10, 'drop policy "nope" on public.t: policy does not exist'),
        (11, "drop function public.nope(integer): function does not exist"),
        (12, "alter type add value 'x': enum type public.nope does not exist"),
        (13, "drop trigger tr on public.t: trigger does not exist"),
        (14, "drop constraint nope: constraint nope does not exist on public.t"),
        (16, "create function public.f(): it already exists (use create or replace)"),
        (17, "alter column nope set not null: column public.t.nope does not exist"),
        (18, "drop table public.t: it does not exist"),
    ]
    assert schema.tables == {} and schema.functions["public.f()"].body == "select 1"
    # ops given directly (no file): plain strings with the line
    _, plain = replay_with_warnings(m.ops[:2])
    assert plain == ["line 2: add column x: table public.nope does not exist"]


def test_replay_never_crashes_on_odd_ops():
    from checks.model import Op

    s, w = replay_with_warnings([Op(kind="add_column", line=3, table="t", column="c", detail={"bogus": 1}),
                                 Op(kind="create_table", line=4, table="t"),
                                 Op(kind="add_column", line=5, table="t", column="c", detail={"nonsense": True})])
    assert list(s.tables) == ["public.t"]
    assert [x.split(":")[0] for x in w] == ["line 3", "line 5"]


def test_create_or_replace_function_and_overloads():
    s, w = run(
        "create function f(a int) returns int language sql as 'select a';\n"
        "create function f(a text) returns text language sql as 'select a';\n"
        "create or replace function f(a int) returns int language sql security definer set search_path = '' as 'select a + 1';\n"
        "alter function f(text) set search_path = public;\n"
        "drop function f;\n"
    )
    assert [str(x) for x in w] == [
        "line 5: drop function public.f: function name is not unique (public.f(integer), public.f(text))"]
    assert s.functions["public.f(integer)"].body == "select a + 1"
    assert s.functions["public.f(integer)"].security_definer is True
    assert s.functions["public.f(text)"].search_path == "public"
    s2, w2 = run("drop function f(text); alter function f rename to g; drop function f;", s)
    assert list(s2.functions) == ["public.g(integer)"]
    assert [str(x) for x in w2] == ["line 1: drop function public.f: function does not exist"]


def test_enum_positions_and_type_rename_updates_columns():
    s, w = run(
        "create type public.mood as enum ('sad', 'happy');\n"
        "alter type mood add value 'ok' before 'happy';\n"
        "alter type mood add value 'ecstatic' after 'happy';\n"
        "alter type mood add value 'meh';\n"
        "alter type mood rename value 'sad' to 'blue';\n"
        "create table p (m public.mood, ms mood[], other text);\n"
        "alter type mood rename to feeling;\n"
    )
    assert w == []
    assert s.enums == {"public.feeling": Enum(schema="public", name="feeling",
                                              values=["blue", "ok", "happy", "ecstatic", "meh"])}
    cols = s.tables["public.p"].columns
    assert (cols["m"].type, cols["ms"].type, cols["other"].type) == ("public.feeling", "feeling[]", "text")
    s2, w2 = run("drop type feeling;", s)
    assert [str(x) for x in w2] == [
        "line 1: drop type public.feeling: columns still use it (public.p.m, public.p.ms); PostgreSQL needs cascade"]
    s3, w3 = run("drop type feeling cascade;", s)
    assert w3 == [] and list(s3.tables["public.p"].columns) == ["other"] and s3.enums == {}


def test_constraints_default_names_and_flags():
    s, w = run(
        "create table t (id int, email text, org int, n int check (n > 0), check (id > 0 and n > 0));\n"
        "alter table t add primary key (id);\n"
        "alter table t add unique (email);\n"
        "alter table t add foreign key (org) references orgs (id);\n"
        "alter table t add constraint t_email_nonempty check (email <> '');\n"
    )
    assert [str(x) for x in w] == []
    t = s.tables["public.t"]
    assert [c.name for c in t.constraints] == [
        "t_n_check", "t_check", "t_pkey", "t_email_key", "t_org_fkey", "t_email_nonempty"]
    assert (t.columns["id"].primary_key, t.columns["id"].nullable) == (True, False)
    assert t.columns["email"].unique and t.columns["org"].references == "public.orgs.id"
    s2, w2 = run("alter table t drop constraint t_pkey, drop constraint t_email_key, drop constraint t_org_fkey;", s)
    t2 = s2.tables["public.t"]
    assert w2 == []
    # PostgreSQL keeps NOT NULL after dropping a primary key
    assert (t2.columns["id"].primary_key, t2.columns["id"].nullable) == (False, False)
    assert not t2.columns["email"].unique and t2.columns["org"].references is None
    assert default_constraint_name("a" * 70, Constraint(kind="unique", columns=["b" * 70])) == (
        "a" * 29 + "_" + "b" * 29 + "_key")


def test_drop_column_removes_constraints_indexes_and_dependent_fks():
    s, w = run(
        "create table a (id int primary key, code text unique, x int);\n"
        "create table b (id int, a_code text references a (code));\n"
        "create index a_x_idx on a (x); create index a_code_x_idx on a (code, x);\n"
        "alter table a drop column code cascade;\n"
    )
    assert w == []
    assert [c.name for c in s.tables["public.a"].constraints] == ["a_pkey"]
    assert list(s.indexes) == ["public.a_x_idx"]
    assert s.tables["public.b"].constraints == [] and s.tables["public.b"].columns["a_code"].references is None


def test_grants_and_revokes_are_tracked_per_privilege():
    s, w = run(
        "create table a (id int); create table b (id int); create table x.c (id int);\n"
        "grant all on all tables in schema public to service_role;\n"
        "grant select, insert on a to anon, authenticated;\n"
        "revoke insert on a from anon;\n"
        "revoke all on b from service_role;\n"
        "create function f() returns int language sql as 'select 1';\n"
        "grant execute on function f to authenticated;\n"
        "revoke execute on function f() from authenticated;\n"
        "grant usage on schema api to anon;\n"
    )
    atoms = sorted((g.privileges[0], g.object_kind, g.objects[0], g.roles[0]) for g in s.grants)
    assert atoms == sorted(
        [(p, "table", "public.a", "service_role")
         for p in ("select", "insert", "update", "delete", "truncate", "references", "trigger")]
        + [("select", "table", "public.a", "anon"), ("select", "table", "public.a", "authenticated"),
           ("insert", "table", "public.a", "authenticated"), ("usage", "schema", "api", "anon")])


def test_views_and_materialized_views():
    s, w = run(
        "create table t (id int);\n"
        "create view v as select id from t;\n"
        "create or replace view v as select id, 1 as one from t;\n"
        "create materialized view mv as select count(*) from t;\n"
        "alter materialized view mv rename to stats;\n"
        "alter table v rename to w;\n"
        "create view w as select 1;\n"
    )
    assert [str(x) for x in w] == ["line 7: create view public.w: it already exists"]
    assert list(s.views) == ["public.w", "public.stats"]
    assert s.views["public.w"].definition == "SELECT id, 1 AS one FROM t"
    assert s.views["public.stats"].materialized


def test_types_equal():
    assert types_equal("public.order_status", "order_status")
    assert types_equal("serial", "integer") and types_equal("bigserial", "bigint")
    assert not types_equal("varchar(20)", "text")


# --------------------------------------------------------------------------- diff_schemas / rollback


def test_good_rollback_gives_back_the_schema(before, after):
    rb = build_rollback(RB + "20240103000000_rename_things.down.sql",
                        (FIX / "20240103000000_rename_things.good.down.sql").read_text())
    restored, warnings = replay_with_warnings([rb], after)
    assert warnings == []
    assert diff_schemas(before, restored) == []
    assert diff_schemas(before, before) == []


def test_bad_rollback_differences_are_precise(before, after):
    rb = build_rollback(RB + "20240103000000_rename_things.down.sql",
                        (FIX / "20240103000000_rename_things.bad.down.sql").read_text())
    restored, warnings = replay_with_warnings([rb], after)
    assert warnings == [Diagnostic(file=RB + "20240103000000_rename_things.down.sql", line=3, kind="replay-warning",
                                   message="drop column legacy_flag: column public.users.legacy_flag does not exist")]
    assert [(d.kind, d.object, d.detail) for d in diff_schemas(before, restored)] == [
        ("column_default_changed", "public.users.display_name", "expected no default, got default 'anonymous'"),
        ("rls_changed", "public.profiles", "expected row level security enabled, got disabled"),
        ("index_renamed", "public.users_created_at_idx",
         "expected index public.users_created_at_idx, found public.users_created_idx instead "
         "(index on public.users (created_at))"),
        ("policy_missing", "public.profiles.Users can view own",
         'expected policy "Users can view own" on public.profiles (for select to authenticated using '
         "(auth.uid() = id)), but it does not exist"),
        ("enum_values_changed", "public.order_status",
         "expected values 'pending', 'paid', 'refunded', 'shipped'; got 'pending', 'paid', 'refunded', 'sent' "
         "(extra: 'sent'; missing: 'shipped')"),
    ]


def test_no_rollback_at_all_lists_every_change(before, after):
    diffs = diff_schemas(before, after)
    assert [(d.kind, d.object) for d in diffs] == [
        ("table_renamed", "public.Orders"),
        ("constraint_added", "public.Orders.orders_note_len"),
        ("column_nullability_changed", "public.users.display_name"),
        ("column_default_changed", "public.users.display_name"),
        ("column_added", "public.users.nickname"),
        ("column_renamed", "public.profiles.username"),
        ("index_renamed", "public.users_created_at_idx"),
        ("index_changed", "public.orders_user_note_key"),
        ("enum_values_changed", "public.order_status"),
    ]
    assert str(diffs[0]) == "public.Orders: expected table public.Orders, found public.orders instead (same columns)"
    assert diffs[2].detail == "expected nullable, got not null"
    assert diffs[5].detail == "expected column username, found handle instead (same definition: text)"


def test_diff_kinds_for_each_object_type():
    base, _ = run(
        "create table t (id uuid primary key, email text not null, n int);\n"
        "alter table t enable row level security;\n"
        "create index t_n_idx on t (n);\n"
        "create policy p on t for select to authenticated using (true);\n"
        "create function f() returns int language sql as 'select 1';\n"
        "create type e as enum ('a');\n"
        "create trigger tr before insert on t for each row execute function g();\n"
        "create view v as select 1;\n"
        "grant select on t to anon;\n"
    )
    changed, w = run(
        "alter table t alter column email type varchar(20), alter column email drop not null,\n"
        "  alter column n set default 0, add column extra int, drop column id, force row level security;\n"
        "drop index t_n_idx; create index t_n_idx on t (n) where n > 0;\n"
        "alter policy p on t to anon using (false);\n"
        "create or replace function f() returns int language plpgsql security definer as $$ begin return 2; end $$;\n"
        "create function h() returns void language sql as 'select';\n"
        "alter type e add value 'b';\n"
        "drop trigger tr on t;\n"
        "create or replace view v as select 2;\n"
        "revoke select on t from anon; grant insert on t to anon;\n", base)
    assert w == []
    assert [(d.kind, d.object, d.detail) for d in diff_schemas(base, changed)] == [
        ("column_missing", "public.t.id", "expected column id (uuid not null), but it does not exist"),
        ("column_type_changed", "public.t.email", "expected text, got varchar(20)"),
        ("column_nullability_changed", "public.t.email", "expected not null, got nullable"),
        ("column_default_changed", "public.t.n", "expected no default, got default 0"),
        ("column_added", "public.t.extra", "column extra (integer) exists but was not expected"),
        ("constraint_missing", "public.t.t_pkey", "expected constraint t_pkey: primary key (id), but it does not exist"),
        ("rls_changed", "public.t", "expected row level security not forced, got forced"),
        ("index_changed", "public.t_n_idx", "expected index on public.t (n), got index on public.t (n) where n > 0"),
        ("policy_changed", "public.t.p",
         "roles: expected (authenticated), got (anon); using: expected TRUE, got FALSE"),
        ("function_changed", "public.f()",
         "language: expected sql, got plpgsql; security definer: expected no, got yes; body differs"),
        ("function_added", "public.h()", "function public.h() exists but was not expected"),
        ("enum_values_changed", "public.e", "expected values 'a'; got 'a', 'b' (extra: 'b')"),
        ("trigger_missing", "public.t.tr",
         "expected trigger tr on public.t (before insert execute public.g), but it does not exist"),
        ("view_changed", "public.v", "definition: expected SELECT 1, got SELECT 2"),
        ("grant_missing", "public.t", "expected select on table public.t granted to anon, but it is not"),
        ("grant_added", "public.t", "insert on table public.t is granted to anon but was not expected"),
    ]
    assert isinstance(diff_schemas(base, Schema())[0], SchemaDifference)
    assert [d.kind for d in diff_schemas(Schema(), base)][:1] == ["table_added"]


def test_replay_accepts_schema_and_is_pure():
    s0 = replay(ops("create table t (id int);"))
    s1 = replay(ops("alter table t add column x int;"), s0)
    assert list(s0.tables["public.t"].columns) == ["id"]
    assert list(s1.tables["public.t"].columns) == ["id", "x"]


def test_like_partition_and_identity():
    s, w = run(
        "create table p (id int not null default 1, v text check (v <> 'x'), primary key (id)) partition by range (id);\n"
        "create table p1 partition of p for values from (1) to (10);\n"
        "create table l (a int, like p including defaults including constraints, extra int);\n"
        "create table m (like p);\n"
        "alter table l alter column extra add generated always as identity;\n"
    )
    assert w == []
    assert list(s.tables["public.p1"].columns) == ["id", "v"]
    l = s.tables["public.l"]
    assert [(c.name, c.default, c.nullable, c.identity) for c in l.columns.values()] == [
        ("a", None, True, False), ("id", "1", False, False), ("v", None, True, False), ("extra", None, False, True)]
    assert [c.name for c in l.constraints] == ["p_v_check"]
    assert s.tables["public.m"].columns["id"].default is None and s.tables["public.m"].constraints == []


def test_copy_schema_is_deep(before):
    from checks.sql.replay import copy_schema

    c = copy_schema(before)
    assert c == before and c.model_dump(by_alias=True) == before.model_dump(by_alias=True)
    c.tables["public.users"].columns["email"].type = "text"
    c.tables["public.users"].constraints[0].columns.append("x")
    c.enums["public.order_status"].values.append("x")
    c.policies["public.profiles.Users can view own"].roles.append("anon")
    assert before.tables["public.users"].columns["email"].type == "varchar(320)"
    assert before.tables["public.users"].constraints[0].columns == ["id"]
    assert "x" not in before.enums["public.order_status"].values
    assert before.policies["public.profiles.Users can view own"].roles == ["authenticated"]


def test_incremental_replayer_snapshot_and_fork():
    from checks.sql.replay import Replayer

    r = Replayer()
    assert r.apply([mig("20240101000000_init.sql"), mig("20240102000000_orders.sql")]) == []
    before = r.snapshot()
    r.apply([mig("20240103000000_rename_things.sql")])
    good, bad = r.fork(), r.fork()
    good.apply([build_rollback(RB + "x.down.sql", (FIX / "20240103000000_rename_things.good.down.sql").read_text())])
    w = bad.apply([build_rollback(RB + "x.down.sql", (FIX / "20240103000000_rename_things.bad.down.sql").read_text())])
    assert [x.line for x in w] == [3]
    assert diff_schemas(before, good.schema) == []
    assert len(diff_schemas(before, bad.schema)) == 5
    assert "public.orders" in r.schema.tables  # forks did not touch the main replayer
    # state beyond the schema (types tracked by name only) survives across apply() and fork()
    r.apply(ops("create type public.pair as (a int, b int);"))
    f = r.fork()
    assert f.apply(ops("drop type public.pair;")) == []


def test_rename_column_rewrites_policies_checks_and_index_expressions():
    s, w = run(
        "create table t (id uuid primary key, owner uuid, note text check (char_length(note) < 10));\n"
        "create index t_note_idx on t (lower(note)) where note is not null and t.owner is not null;\n"
        "create policy p on t using (auth.uid() = owner) with check (t.owner = auth.uid() and noter is null);\n"
        "alter table t rename column owner to owner_id;\n"
        "alter table t rename column note to body;\n"
    )
    assert w == []
    assert s.policies["public.t.p"].using == "auth.uid() = owner_id"
    assert s.policies["public.t.p"].with_check == "t.owner_id = auth.uid() AND noter IS NULL"
    assert s.tables["public.t"].constraints[1].expr == "char_length(body) < 10"
    i = s.indexes["public.t_note_idx"]
    assert (i.columns, i.where) == (["lower(body)"], "body IS NOT NULL AND t.owner_id IS NOT NULL")
