"""Migration rules (DLCM101-110), Squawk findings and Supabase security rules (DLCM6xx) on
variants of the example repository (`tests/fixtures/variants/sql-*`), through the same code
path as `dlcm check --base main`.

Each variant's `_expected.json` is the exact set of findings `dlcm check --base main`
reports today. The comparison here is on the rules this file owns (DLCM1xx, DLCM6xx and
Squawk's rule names): findings of the other rule families (e.g. DLCM205 "new table has no
repository" on the DLCM601 variant) are listed in `_expected.json` but checked by their
own tests, so that a change in those rules does not break these.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.variants import VARIANTS, apply_variant, expected, git, make_repo, run_check

SQL_VARIANTS = sorted(p.name for p in VARIANTS.iterdir() if p.is_dir() and p.name.startswith("sql-"))


def mine(rule: str) -> bool:
    return rule.startswith(("DLCM1", "DLCM6")) or not rule.startswith("DLCM")


def triples(findings) -> set[tuple[str, str, int]]:
    return {(f.rule, f.file, f.line) for f in findings if mine(f.rule)}


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> Path:
    return make_repo(tmp_path_factory.mktemp("example"))


@pytest.fixture
def repo(pristine: Path, tmp_path: Path) -> Path:
    """A fresh copy of the example repository on `main` (copying is faster than committing it)."""
    import shutil

    dest = tmp_path / "repo"
    shutil.copytree(pristine, dest, symlinks=True)
    return dest


def check_variant(repo: Path, name: str):
    apply_variant(repo, name)
    return run_check(repo, base="main")


def by_rule(res, rule: str):
    return [f for f in res.findings if f.rule == rule]


# --------------------------------------------------------------------------- every variant


@pytest.mark.parametrize("name", SQL_VARIANTS)
def test_variant_reports_exactly_the_expected_findings(repo: Path, name: str):
    res = check_variant(repo, name)
    want = {(e["rule"], e["file"], e["line"]) for e in expected(name)}
    assert triples(res.findings) == {t for t in want if mine(t[0])}, "\n".join(
        f"{f.rule} {f.file}:{f.line} {f.message}" for f in res.findings)
    assert not by_rule(res, "DLCM000"), [f.message for f in by_rule(res, "DLCM000")]
    for f in res.findings:
        if mine(f.rule):
            assert f.message and f.severity in ("error", "warning", "info")
            assert f.component is not None or f.file.startswith("supabase/")


def test_every_variant_has_an_expected_file():
    for name in SQL_VARIANTS:
        assert (VARIANTS / name / "_expected.json").exists(), name
        json.loads((VARIANTS / name / "_expected.json").read_text())


# --------------------------------------------------------------------------- messages


def test_bad_name_suggests_a_concrete_name(repo: Path):
    (f,) = by_rule(check_variant(repo, "sql-bad-name"), "DLCM101")
    assert "`20240305090001_add_product_comment.sql`" in f.message
    assert "20240305090001_add_product_comment.down.sql" in f.message  # the rollback too
    assert f.severity == "error"


def test_out_of_order_and_duplicate_name_the_other_migration(repo: Path):
    (f,) = by_rule(check_variant(repo, "sql-out-of-order"), "DLCM102")
    assert "20240305090000_add_orders_status_index.sql" in f.message
    assert "`20240305090001_comment_products.sql`" in f.message


def test_duplicate_version_is_one_finding(repo: Path):
    res = check_variant(repo, "sql-duplicate-version")
    (f,) = by_rule(res, "DLCM103")
    assert "supabase/migrations/20240210143000_add_phone_to_users.sql" in f.message
    assert not by_rule(res, "DLCM102")  # older than the newest too, but one finding for one fix


def test_edited_migration_points_at_the_changed_statement(repo: Path):
    (f,) = by_rule(check_variant(repo, "sql-edited-applied"), "DLCM104")
    assert f.line == 6 and f.severity == "error"
    assert "new migration" in f.message


def test_comment_only_edit_is_a_warning(repo: Path):
    (f,) = by_rule(check_variant(repo, "sql-edited-comment-only"), "DLCM104")
    assert f.severity == "warning" and "comments" in f.message


def test_deleted_migration(repo: Path):
    (f,) = by_rule(check_variant(repo, "sql-deleted-applied"), "DLCM104")
    assert "deleted" in f.message and "restore" in f.message


def test_unparsable_gives_postgres_message_and_line(repo: Path):
    res = check_variant(repo, "sql-unparsable")
    (f,) = by_rule(res, "DLCM105")
    assert f.line == 5 and '"chek"' in f.message
    assert not [x for x in res.findings if x.rule == "syntax-error"]  # Squawk does not repeat it


def test_unparsable_rollback(repo: Path):
    (f,) = by_rule(check_variant(repo, "sql-unparsable-rollback"), "DLCM105")
    assert f.file.endswith(".down.sql") and f.line == 2 and '"coment"' in f.message


def test_missing_rollback_names_the_file_to_add(repo: Path):
    (f,) = by_rule(check_variant(repo, "sql-missing-rollback"), "DLCM107")
    assert "`supabase/rollbacks/20240401000000_comment_products.down.sql`" in f.message
    assert f.line == 3  # the first statement: a `dlcm-ignore` in the header covers it


def test_orphan_rollback_suggests_the_migration(repo: Path):
    (f,) = by_rule(check_variant(repo, "sql-orphan-rollback"), "DLCM110")
    assert "Did you mean `20240401000000_comment_products.down.sql`" in f.message
    assert f.severity == "warning"


@pytest.mark.parametrize("name, present, absent, fix", [
    ("sql-rollback-missing-index", ["index public.products_title_idx"], [],
     "`drop index public.products_title_idx;`"),
    ("sql-rollback-missing-policy", ['policy "Users can create their own profile"'],
     ["Users can delete their own profile"], '`drop policy "Users can create their own profile" on public.users;`'),
    ("sql-rollback-missing-column", ["column weight_grams (bigint)"], ["products_weight_grams_check"],
     "`alter table public.products drop column weight_grams;`"),
])
def test_incomplete_rollback_lists_exactly_what_differs(repo: Path, name, present, absent, fix):
    (f,) = by_rule(check_variant(repo, name), "DLCM108")
    assert f.file.startswith("supabase/rollbacks/")
    for p in present:
        assert p in f.message
    for a in absent:
        assert a not in f.message
    assert fix in f.message
    assert f.message.count("exists but was not expected") == len(present)


def test_suppressed_finding_is_kept_with_its_reason(repo: Path):
    res = check_variant(repo, "sql-ok-suppressed")
    assert not triples(res.findings)
    assert [(f.rule, f.line) for f in res.suppressed] == [("DLCM107", 3)]
    assert res.summary.suppressed == 1


def test_suppression_without_reason_does_not_suppress(repo: Path):
    apply_variant(repo, {"supabase/migrations/20240401000000_backfill.sql":
                         "-- dlcm-ignore DLCM107\nupdate public.users set language_code = 'en' where language_code = '';\n"})
    res = run_check(repo)
    assert [(f.rule, f.line) for f in by_rule(res, "DLCM107")] == [("DLCM107", 2)]


def test_misnamed_rollback_file(repo: Path):
    apply_variant(repo, {
        "supabase/migrations/20240401000000_comment_products.sql": "comment on table public.products is 'x';\n",
        "supabase/rollbacks/20240401000000_comment_products.sql": "comment on table public.products is null;\n",
    })
    res = run_check(repo)
    (missing,) = by_rule(res, "DLCM107")
    assert "`supabase/rollbacks/20240401000000_comment_products.sql` looks like it" in missing.message
    (orphan,) = by_rule(res, "DLCM110")
    assert orphan.file == "supabase/rollbacks/20240401000000_comment_products.sql"


def test_rollback_statement_that_would_fail(repo: Path):
    apply_variant(repo, {
        "supabase/migrations/20240401000000_idx.sql": "create index products_title_idx on public.products (title);\n",
        "supabase/rollbacks/20240401000000_idx.down.sql": "drop index public.products_tilte_idx;\n",
    })
    res = run_check(repo, rules=["DLCM108"])
    got = sorted((f.severity, f.line) for f in res.findings)
    assert got == [("error", 1), ("warning", 1)]
    assert any("products_tilte_idx: it does not exist" in f.message for f in res.findings)


# --------------------------------------------------------------------------- security messages


def test_security_findings_severity_and_advice(repo: Path):
    res = check_variant(repo, "sql-sec-grant-anon")
    sev = {f.line: f for f in by_rule(res, "DLCM604")}
    assert sev[2].severity == "warning" and "may be intended" in sev[2].message
    assert sev[5].severity == "error" and "insert, update" in sev[5].message


def test_grant_select_to_anon_on_table_without_rls_is_an_error(repo: Path):
    apply_variant(repo, {
        "supabase/migrations/20240401000000_t.sql":
            "create table public.flags (id uuid primary key, created_at timestamptz not null default now());\n"
            "grant select on public.flags to anon;\n",
        "supabase/rollbacks/20240401000000_t.down.sql": "drop table public.flags;\n",
    })
    res = run_check(repo, rules=["DLCM601", "DLCM604"])
    assert sorted((f.rule, f.line, f.severity) for f in res.findings) == [
        ("DLCM601", 1, "error"), ("DLCM604", 2, "error")]


def test_rls_enabled_later_in_the_change_is_fine(repo: Path):
    apply_variant(repo, {
        "supabase/migrations/20240401000000_t.sql":
            "create table public.flags (id uuid primary key, created_at timestamptz not null default now());\n",
        "supabase/migrations/20240401000001_t_rls.sql":
            "alter table public.flags enable row level security;\n"
            "create policy \"read\" on public.flags for select to authenticated using (true);\n",
        "supabase/rollbacks/20240401000000_t.down.sql": "drop table public.flags;\n",
        "supabase/rollbacks/20240401000001_t_rls.down.sql":
            "drop policy \"read\" on public.flags;\nalter table public.flags disable row level security;\n",
    })
    assert run_check(repo, rules=["DLCM601", "DLCM602", "DLCM605"]).findings == []


def test_security_definer_fixed_by_alter_function(repo: Path):
    apply_variant(repo, {
        "supabase/migrations/20240401000000_f.sql":
            "create function public.f() returns int language sql security definer as $$ select 1 $$;\n"
            "alter function public.f() set search_path = '';\n",
        "supabase/rollbacks/20240401000000_f.down.sql": "drop function public.f();\n",
    })
    assert run_check(repo, rules=["DLCM603"]).findings == []


def test_no_base_checks_every_migration_and_example_is_clean():
    from checks.engine import run_checks
    from dlcm.cli import build_check
    from tests.variants import EXAMPLE

    head, _, config, src = build_check(str(EXAMPLE), None, no_cache=True)
    res = run_checks(head, config, source=src)
    assert not [f for f in res.findings if f.rule.startswith(("DLCM1", "DLCM6"))]
    # Squawk runs on every migration without a base; only warnings on the example
    assert {f.severity for f in res.findings if not f.rule.startswith("DLCM")} == {"warning"}


def test_exposed_schemas_from_supabase_config(repo: Path):
    cfg = (repo / "supabase" / "config.toml").read_text()
    assert "[api]" in cfg
    import re

    cfg2 = re.sub(r'(?m)^schemas = \[.*\]$', 'schemas = ["public", "graphql_public", "api"]', cfg)
    assert cfg2 != cfg
    apply_variant(repo, {
        "supabase/config.toml": cfg2,
        "supabase/migrations/20240401000000_api.sql":
            "create schema api;\ncreate table api.items (id uuid primary key, created_at timestamptz);\n"
            "create table private_items (id uuid primary key);\n",
    })
    res = run_check(repo, rules=["DLCM601"])
    assert sorted((f.line, f.message.split("`")[1]) for f in res.findings) == [
        (2, "api.items"), (3, "public.private_items")]


def test_git_refs_work_as_base(repo: Path):
    """`--base` may be any ref: a sha of main gives the same findings."""
    sha = git(repo, "rev-parse", "main").strip()
    apply_variant(repo, "sql-missing-rollback")
    assert triples(run_check(repo, base=sha).findings) == {
        ("DLCM107", "supabase/migrations/20240401000000_comment_products.sql", 3)}


# --------------------------------------------------------------------------- DLCM108 scoped replay

SCOPE_CASES = {
    # a rollback that drops a column other tables' foreign keys point at
    "fk-dependants": {
        f"supabase/migrations/20240401000000_a.sql":
            "alter table public.products add column code text unique;\n"
            "create table public.codes (id uuid primary key, code text references public.products (code));\n",
        f"supabase/rollbacks/20240401000000_a.down.sql": "alter table public.products drop column code cascade;\n",
    },
    # dropping a function that triggers on other tables use
    "function-triggers": {
        f"supabase/migrations/20240401000000_a.sql":
            "create or replace function public.handle_updated_at() returns trigger language plpgsql "
            "security invoker set search_path = '' as $$ begin new.updated_at = now(); return new; end; $$;\n",
        f"supabase/rollbacks/20240401000000_a.down.sql": "drop function public.handle_updated_at() cascade;\n",
    },
    # an index of an untouched table dropped by name, a policy elsewhere
    "index-by-name": {
        f"supabase/migrations/20240401000000_a.sql": "create index products_title_idx on public.products (title);\n",
        f"supabase/rollbacks/20240401000000_a.down.sql": "drop index public.orders_user_id_idx;\n",
    },
    # renames and type changes replay on the whole schema
    "renames": {
        f"supabase/migrations/20240401000000_a.sql": "alter table public.products rename column title to name;\n"
                                                     "alter type public.order_status rename value 'paid' to 'settled';\n",
        f"supabase/rollbacks/20240401000000_a.down.sql": "alter table public.products rename column name to title;\n",
    },
    "drop-table-with-fk": {
        f"supabase/migrations/20240401000000_a.sql": "drop table public.order_items;\n",
        f"supabase/rollbacks/20240401000000_a.down.sql":
            "create table public.order_items (id uuid primary key, order_id uuid references public.orders (id));\n",
    },
}


@pytest.mark.parametrize("case", [*SCOPE_CASES, *[v for v in SQL_VARIANTS if "rollback" in v or v.startswith("sql-sec")]])
def test_dlcm108_scoped_replay_equals_whole_schema_replay(repo: Path, case: str):
    from checks.findings import CheckContext
    from checks.owners import OwnerIndex
    from checks.rules.dlcm108_rollback_incomplete import _check
    from dlcm.cli import build_check

    apply_variant(repo, SCOPE_CASES.get(case, case))
    # without a base every migration of the repository is tested: the change's and the example's
    head, _, config, src = build_check(str(repo), None, no_cache=True)
    ctx = CheckContext(head=head, config=config, owners=OwnerIndex(head), source=src)
    scoped = [(f.file, f.line, f.severity, f.message) for f in _check(ctx, scoped=True)]
    whole = [(f.file, f.line, f.severity, f.message) for f in _check(ctx, scoped=False)]
    assert scoped == whole


def test_dlcm108_scoped_replay_on_the_sql_fixtures(tmp_path: Path):
    """The static-replay fixtures (renames, a bad and a good rollback) give the same findings both ways."""
    import shutil as sh

    from checks.build import build_model
    from checks.config import Config
    from checks.findings import CheckContext
    from checks.owners import OwnerIndex
    from checks.rules.dlcm108_rollback_incomplete import _check
    from checks.source import DirSource

    fx = Path(__file__).parent / "fixtures" / "sql"
    for flavour in ("good", "bad"):
        root = tmp_path / flavour
        (root / "supabase" / "migrations").mkdir(parents=True)
        (root / "supabase" / "rollbacks").mkdir(parents=True)
        for name in ("20240101000000_init.sql", "20240102000000_orders.sql", "20240103000000_rename_things.sql"):
            sh.copy(fx / name, root / "supabase" / "migrations" / name)
        sh.copy(fx / f"20240103000000_rename_things.{flavour}.down.sql",
                root / "supabase" / "rollbacks" / "20240103000000_rename_things.down.sql")
        model = build_model(DirSource(str(root)), Config())
        ctx = CheckContext(head=model, config=Config(), owners=OwnerIndex(model))
        scoped = [(f.line, f.message) for f in _check(ctx, scoped=True)]
        assert scoped == [(f.line, f.message) for f in _check(ctx, scoped=False)]
        assert bool(scoped) == (flavour == "bad")
