"""`dlcm rollback-test` against a real PostgreSQL (one server per session, see tests/conftest_pg.py)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from checks.rollback_test import RollbackTestError, describe_path, diff_catalog, render_text, run_rollback_test
from tests.variants import apply_variant, make_repo

pytest_plugins = ["tests.conftest_pg"]

M = "supabase/migrations"
R = "supabase/rollbacks"


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> Path:
    return make_repo(tmp_path_factory.mktemp("example"))


@pytest.fixture
def repo(pristine: Path, tmp_path: Path) -> Path:
    dest = tmp_path / "repo"
    shutil.copytree(pristine, dest, symlinks=True)
    return dest


def problems(res) -> list[tuple[str, str | None, int | None]]:
    return [(p.phase, p.file, p.line) for p in res.problems]


def test_good_rollback_passes(repo: Path, pg_server):
    apply_variant(repo, "sql-ok-add-column")
    res = run_rollback_test(str(repo), "main", server=pg_server)
    assert res.passed, render_text(res)
    assert [(t.migration, t.status) for t in res.tested] == [(f"{M}/20240401000000_add_product_weight.sql", "passed")]
    assert "PASSED: 1 passed, 0 failed" in render_text(res)


def test_rollback_missing_drop_index_fails_naming_the_index(repo: Path, pg_server):
    apply_variant(repo, "sql-rollback-missing-index")
    res = run_rollback_test(str(repo), "main", server=pg_server)
    assert not res.passed
    mig, rb = f"{M}/20240401000000_index_products_title.sql", f"{R}/20240401000000_index_products_title.down.sql"
    assert problems(res) == [("down-diff", rb, 1), ("up-again", mig, 2)]
    down = res.problems[0]
    assert down.diff == ["index products_title_idx on public.products is left behind (the rollback does not remove it)"]
    assert down.entries[0].raw == "tables[public.products][indexes][products_title_idx]"
    assert 'relation "products_title_idx" already exists' in res.problems[1].message
    text = render_text(res)
    assert "FAIL  " + mig in text and "index products_title_idx on public.products is left behind" in text


def test_rollback_syntax_error_gives_file_and_line(repo: Path, pg_server):
    apply_variant(repo, "sql-unparsable-rollback")
    res = run_rollback_test(str(repo), "main", server=pg_server)
    (p,) = res.problems
    assert (p.phase, p.file, p.line) == ("down", f"{R}/20240401000000_comment_products.down.sql", 2)
    assert 'syntax error at or near "coment"' in p.message and "42601" in p.message


def test_rollback_semantic_error_gives_file_and_line(repo: Path, pg_server):
    apply_variant(repo, {
        f"{M}/20240401000000_t.sql": "create table public.coupons (id uuid primary key);\n"
                                     "alter table public.coupons enable row level security;\n",
        f"{R}/20240401000000_t.down.sql": "-- undo\n\ndrop table public.copons;\n",
    })
    res = run_rollback_test(str(repo), "main", server=pg_server)
    (p,) = res.problems
    assert (p.phase, p.file, p.line) == ("down", f"{R}/20240401000000_t.down.sql", 3)
    assert 'table "copons" does not exist' in p.message


def test_up_again_failure_is_detected(repo: Path, pg_server):
    """A seed row the rollback does not delete: the catalog is the same, but the migration cannot run again."""
    apply_variant(repo, {
        f"{M}/20240401000000_seed_gift_card.sql":
            "-- The gift card product.\n"
            "insert into public.products (sku, title, price_cents)\n"
            "values ('GIFT-CARD', 'Gift card', 0);\n",
        f"{R}/20240401000000_seed_gift_card.down.sql": "-- forgot: delete from public.products where sku = 'GIFT-CARD';\nselect 1;\n",
    })
    res = run_rollback_test(str(repo), "main", server=pg_server)
    (p,) = res.problems
    assert (p.phase, p.file) == ("up-again", f"{M}/20240401000000_seed_gift_card.sql")
    assert p.line == 2  # the first line of the failing statement
    assert "duplicate key value violates unique constraint" in p.message and "23505" in p.message


def test_failing_migration_gives_file_and_line(repo: Path, pg_server):
    apply_variant(repo, {
        f"{M}/20240401000000_bad.sql": "alter table public.products\n  add column weight bigint;\n"
                                       "alter table public.prodcts add column x text;\n",
        f"{R}/20240401000000_bad.down.sql": "alter table public.products drop column weight;\n",
    })
    res = run_rollback_test(str(repo), "main", server=pg_server)
    assert problems(res) == [("up", f"{M}/20240401000000_bad.sql", 3)]


def test_missing_rollback_fails(repo: Path, pg_server):
    apply_variant(repo, "sql-missing-rollback")
    res = run_rollback_test(str(repo), "main", server=pg_server)
    (p,) = res.problems
    assert p.phase == "missing-rollback"
    assert f"add {R}/20240401000000_comment_products.down.sql" in p.message


def test_each_rollback_is_blamed_for_its_own_leftovers(repo: Path, pg_server):
    apply_variant(repo, {
        f"{M}/20240401000000_coupons.sql": "create table public.coupons (id uuid primary key, code text);\n"
                                           "alter table public.coupons enable row level security;\n",
        f"{M}/20240401000001_coupons_code.sql": "create index coupons_code_idx on public.coupons (code);\n"
                                                "create policy \"read\" on public.coupons for select to authenticated using (true);\n",
        f"{R}/20240401000000_coupons.down.sql": "drop table public.coupons;\n",
        f"{R}/20240401000001_coupons_code.down.sql": "drop policy \"read\" on public.coupons;\n",
    })
    res = run_rollback_test(str(repo), "main", server=pg_server)
    assert [(t.migration.rsplit("/", 1)[1], t.status) for t in res.tested] == [
        ("20240401000000_coupons.sql", "passed"), ("20240401000001_coupons_code.sql", "failed")]
    (p,) = res.problems
    assert p.file == f"{R}/20240401000001_coupons_code.down.sql"
    assert p.diff == ["index coupons_code_idx on public.coupons is left behind (the rollback does not remove it)"]


def test_rollback_that_drops_too_much(repo: Path, pg_server):
    apply_variant(repo, {
        f"{M}/20240401000000_phone_idx.sql": "create index users_phone_idx on public.users (phone);\n",
        f"{R}/20240401000000_phone_idx.down.sql": "drop index public.users_phone_idx;\nalter table public.users drop column phone;\n",
    })
    res = run_rollback_test(str(repo), "main", server=pg_server)
    down = next(p for p in res.problems if p.phase == "down-diff")
    assert "column public.users.phone is missing (the rollback removes something that existed before the migration)" in down.diff
    assert any("constraint users_phone_format on public.users is missing" in d for d in down.diff)


def test_enum_values_cannot_be_dropped_and_are_only_noted(repo: Path, pg_server):
    apply_variant(repo, {
        f"{M}/20240401000000_refunded.sql": "alter type public.order_status add value if not exists 'refunded';\n",
        f"{R}/20240401000000_refunded.down.sql": "-- PostgreSQL cannot drop an enum value\nselect 1;\n",
    })
    res = run_rollback_test(str(repo), "main", server=pg_server)
    assert res.passed, render_text(res)
    (t,) = res.tested
    assert t.notes and "refunded" in t.notes[0]


def test_enum_value_without_if_not_exists_cannot_run_again(repo: Path, pg_server):
    apply_variant(repo, {
        f"{M}/20240401000000_refunded.sql": "alter type public.order_status add value 'refunded';\n",
        f"{R}/20240401000000_refunded.down.sql": "select 1;\n",
    })
    res = run_rollback_test(str(repo), "main", server=pg_server)
    assert problems(res) == [("up-again", f"{M}/20240401000000_refunded.sql", 1)]
    assert "add value if not exists" in res.problems[0].message


def test_no_base_tests_every_migration_with_a_rollback(repo: Path, pg_server):
    res = run_rollback_test(str(repo), None, server=pg_server)
    assert res.passed and res.mode == "each"
    assert [t.status for t in res.tested] == ["passed"] * 5


def test_no_base_continues_after_a_failure(repo: Path, pg_server):
    apply_variant(repo, {
        f"{M}/20240401000000_index_products_title.sql": "create index products_title_idx on public.products (title);\n",
        f"{R}/20240401000000_index_products_title.down.sql": "select 1;\n",
        f"{M}/20240402000000_comment.sql": "comment on table public.products is 'Catalog';\n",
        f"{R}/20240402000000_comment.down.sql": "comment on table public.products is null;\n",
        f"{M}/20240403000000_no_rollback.sql": "comment on table public.orders is 'Orders';\n",
    })
    res = run_rollback_test(str(repo), None, server=pg_server)
    assert [t.status for t in res.tested] == ["passed"] * 5 + ["failed", "passed", "no-rollback"]
    assert problems(res) == [("down-diff", f"{R}/20240401000000_index_products_title.down.sql", 1),
                             ("up-again", f"{M}/20240401000000_index_products_title.sql", 1)]
    assert "1 without rollback" in render_text(res)


def test_cli_json_with_database_url(repo: Path, pg_server):
    from dlcm.cli import main

    apply_variant(repo, "sql-rollback-missing-policy")
    db = pg_server.new_database()
    try:
        out = CliRunner().invoke(main, ["rollback-test", str(repo), "--base", "main", "--database-url", db.url,
                                        "--format", "json"])
        assert out.exit_code == 1, out.output
        data = json.loads(out.output)
        assert data["passed"] is False and data["mode"] == "change"
        p, again = data["problems"]
        assert (again["phase"], again["line"]) == ("up-again", 1)
        assert "leaves this object behind" in again["message"]
        assert p["phase"] == "down-diff"
        assert p["diff"] == ['policy "Users can create their own profile" on public.users is left behind '
                             '(the rollback does not remove it)']
        # the database is not empty any more: a second run refuses to use it
        again = CliRunner().invoke(main, ["rollback-test", str(repo), "--base", "main", "--database-url", db.url])
        assert again.exit_code == 2 and "not empty" in again.output
    finally:
        db.drop()


def test_cli_text_passes_with_exit_0(repo: Path, pg_server):
    from dlcm.cli import main

    apply_variant(repo, "sql-ok-add-column")
    db = pg_server.new_database()
    try:
        out = CliRunner().invoke(main, ["rollback-test", str(repo), "--base", "main", "--database-url", db.url])
        assert out.exit_code == 0, out.output
        assert "ok    supabase/migrations/20240401000000_add_product_weight.sql" in out.output
    finally:
        db.drop()


def test_bad_database_url_is_an_error(repo: Path):
    with pytest.raises(RollbackTestError, match="cannot connect"):
        run_rollback_test(str(repo), None, database_url="postgresql://nobody@127.0.0.1:1/nothing")


def test_diff_helpers():
    before = {"tables": {"public.t": {"privileges": ["anon:SELECT"], "comment": None}}, "schemas": ["public"]}
    after = {"tables": {"public.t": {"privileges": ["anon:SELECT", "anon:INSERT"], "comment": "x"}},
             "schemas": ["public", "private"]}
    got = [(e.op, e.describe()) for e in diff_catalog(before, after)]
    assert got == [("+", "schema private"), ("~", "comment of table public.t"),
                   ("+", "privilege anon:INSERT on public.t")]
    assert describe_path(["publications", "supabase_realtime", "tables", "public.orders"]) == \
        "table public.orders in publication supabase_realtime"
