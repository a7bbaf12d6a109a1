"""The static replay (pglast + checks.sql.replay) against a real PostgreSQL server.

The same migrations are applied to a throwaway PostgreSQL (with Supabase's bootstrap) and
replayed statically; the catalog and the replayed `Schema` must agree on what the rules rely
on: tables, columns (order, type, nullability, identity), constraint names and kinds, explicit
indexes, RLS flags, policies, enums and functions. Rollbacks: the static `diff_schemas` and the
real catalog diff must agree on whether a rollback gives back the schema.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from checks.model import Schema
from checks.pgserver import diff_snapshots
from checks.sql.migrations import build_migration, build_rollback
from checks.sql.parse import parse_type
from checks.sql.replay import Replayer, diff_schemas, types_equal

pytest_plugins = ["tests.conftest_pg"]

FIX = Path(__file__).parent / "fixtures" / "sql"
EXAMPLE = Path(__file__).parent.parent / "examples" / "shop-monorepo" / "supabase"
UPS = ["20240101000000_init.sql", "20240102000000_orders.sql", "20240103000000_rename_things.sql"]

_CON_KIND = {"p": "primary_key", "u": "unique", "f": "foreign_key", "c": "check", "x": "exclude", "n": "not_null"}
_POLICY_CMD = {"ALL": "all", "SELECT": "select", "INSERT": "insert", "UPDATE": "update", "DELETE": "delete"}


def _unquote(name: str) -> str:
    return ".".join(part.strip('"') for part in name.split("."))


def assert_same(snapshot: dict, schema: Schema) -> None:
    """The parts of a catalog snapshot (schema `public`) that the replayed schema models."""
    tables = {_unquote(k): v for k, v in snapshot["tables"].items() if v["kind"] in ("table", "partitioned table")}
    assert sorted(tables) == sorted(k for k in schema.tables if k.startswith("public."))
    backing = set()  # indexes that back a primary key / unique constraint
    for key, real in tables.items():
        mine = schema.tables[key]
        assert list(real["columns"]) == list(mine.columns), key
        for name, rc in real["columns"].items():
            mc = mine.columns[name]
            where = f"{key}.{name}"
            assert types_equal(parse_type(rc["type"]), mc.type), (where, rc["type"], mc.type)
            assert rc["nullable"] == mc.nullable, where
            assert bool(rc["identity"]) == mc.identity, where
            assert bool(rc["generated"]) == mc.generated, where
            assert (rc["default"] is None) == (mc.default is None), (where, rc["default"], mc.default)
        real_cons = {n: _CON_KIND[c["type"]] for n, c in real["constraints"].items() if c["type"] != "n"}
        assert real_cons == {c.name: c.kind for c in mine.constraints if c.kind != "not_null"}, key
        backing |= {n for n, c in real["constraints"].items() if c["type"] in ("p", "u", "x")}
        assert (real["rls"], real["force_rls"]) == (mine.rls_enabled, mine.rls_forced), key
        mine_policies = {p.name: p for p in schema.policies.values() if p.table == key}
        assert sorted(real["policies"]) == sorted(mine_policies), key
        for name, rp in real["policies"].items():
            mp = mine_policies[name]
            assert (_POLICY_CMD[rp["command"]], sorted(rp["roles"]), rp["permissive"]) == (
                mp.command, sorted(mp.roles), mp.permissive), (key, name)
            assert (rp["using"] is None, rp["with_check"] is None) == (mp.using is None, mp.with_check is None)
    real_indexes = {
        f"public.{n}": (f"public.{_unquote(t)}".replace("public.public.", "public."), i["unique"])
        for t, v in snapshot["tables"].items() for n, i in v["indexes"].items() if n not in backing
    }
    assert real_indexes == {k: (i.table, i.unique) for k, i in schema.indexes.items() if k.startswith("public.")}
    assert {_unquote(k): v for k, v in snapshot["enums"].items()} == {
        k: e.values for k, e in schema.enums.items() if k.startswith("public.")}
    real_functions = {k.split("(")[0]: f for k, f in snapshot["functions"].items()}
    mine_functions = {k.split("(")[0]: f for k, f in schema.functions.items() if k.startswith("public.")}
    assert sorted(real_functions) == sorted(mine_functions)
    for k, rf in real_functions.items():
        mf = mine_functions[k]
        assert (rf["security_definer"], rf["language"]) == (mf.security_definer, mf.language), k
        has_path = any(c.startswith("search_path=") for c in rf.get("config") or [])
        assert has_path == (mf.search_path is not None), k


@pytest.mark.postgres
def test_fixture_migrations_match_the_real_catalog(pg_db):
    r = Replayer()
    for name in UPS:
        pg_db.apply_file(FIX / name, single_transaction=False)  # `create index concurrently` inside
        assert r.apply([build_migration(f"supabase/migrations/{name}", (FIX / name).read_text())]) == []
        assert_same(pg_db.catalog_snapshot(schemas=["public"]), r.schema)


@pytest.mark.postgres
@pytest.mark.parametrize("which, restores", [("good", True), ("bad", False)])
def test_rollback_verdict_matches_the_real_catalog(pg_db, which, restores):
    r = Replayer()
    for name in UPS[:2]:
        pg_db.apply_file(FIX / name, single_transaction=False)
        r.apply([build_migration(f"supabase/migrations/{name}", (FIX / name).read_text())])
    before_real = pg_db.catalog_snapshot(schemas=["public"])
    before = r.snapshot()
    pg_db.apply_file(FIX / UPS[2])
    r.apply([build_migration(f"supabase/migrations/{UPS[2]}", (FIX / UPS[2]).read_text())])
    text = (FIX / f"20240103000000_rename_things.{which}.down.sql").read_text()
    if which == "bad":  # PostgreSQL stops at the column that does not exist: leave that one out
        text = text.replace(",\n  drop column legacy_flag;", ";")
    pg_db.execute(text, single_transaction=True)
    r.apply([build_rollback("supabase/rollbacks/x.down.sql", text)])
    real_diff = diff_snapshots(before_real, pg_db.catalog_snapshot(schemas=["public"]))
    static_diff = diff_schemas(before, r.schema)
    assert (real_diff == []) == restores
    assert (static_diff == []) == restores
    assert_same(pg_db.catalog_snapshot(schemas=["public"]), r.schema)


@pytest.mark.postgres
def test_example_repository_matches_the_real_catalog(pg_db):
    r = Replayer()
    for path in sorted((EXAMPLE / "migrations").glob("*.sql")):
        pg_db.apply_file(path)
        assert r.apply([build_migration(str(path), path.read_text())]) == []
    assert_same(pg_db.catalog_snapshot(schemas=["public"]), r.schema)


@pytest.mark.postgres
def test_kitchen_sink_matches_the_real_catalog(pg_db):
    text = (FIX / "kitchen_sink.sql").read_text()
    pg_db.apply_file(FIX / "kitchen_sink.sql", single_transaction=False)  # new enum values are used
    r = Replayer()
    warnings = r.apply([build_migration("supabase/migrations/20240201000000_kitchen_sink.sql", text)])
    assert warnings == []
    snap = pg_db.catalog_snapshot(schemas=["public"])
    assert_same(snap, r.schema)
    # views (materialized included) and the trigger on a partition
    assert sorted(_unquote(k) for k in snap["views"]) == sorted(r.schema.views)
    assert sorted(f"{_unquote(t)}.{n}" for t, v in snap["tables"].items() for n in v["triggers"]) == sorted(
        r.schema.triggers)
