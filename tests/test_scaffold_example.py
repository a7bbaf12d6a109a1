"""`dlcm scaffold` on a git copy of the example repository, verified with the real tools.

For each change type (add-field, new-table, api-endpoint) the CLI scaffolds into its own git
copy of `examples/shop-monorepo` (on a branch `change`, committed), and then:
  - `tsc --noEmit -p tsconfig.json` passes in every package the change touches;
  - vitest runs the generated tests (and the existing ones) and they pass;
  - the migration and its rollback pass up/down/up on a real PostgreSQL server;
  - `dlcm check --base main` reports no finding at all.

The example's installed node_modules (scripts/node-tools.sh) are linked into each copy; one
module fixture runs every tsc/vitest job of the three copies concurrently to keep this fast.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.variants import EXAMPLE, ROOT, git, make_repo, run_check

pytest_plugins = ["tests.conftest_pg"]

SERVICE, CLIENT, BOT, WEB = "apps/database-service", "packages/database-client", "apps/telegram-bot", "apps/web"

CASES = {
    "add-field": ["add-field", "users", "nickname", "text", "--nullable"],
    "new-table": ["new-table", "coupons",
                  "code text not null unique, percent_off bigint not null check (percent_off between 1 and 100), "
                  "expires_at timestamptz"],
    "api-endpoint": ["api-endpoint", "GET", "/products/by-sku/:sku"],
}
# packages whose files each change touches (asserted below) and that must type-check
TYPECHECK = {"add-field": [SERVICE, CLIENT, BOT], "new-table": [SERVICE, CLIENT], "api-endpoint": [SERVICE, CLIENT]}
VITEST = [SERVICE, CLIENT]


@dataclass
class Scaffolded:
    kind: str
    repo: Path
    output: str
    exit_code: int
    files: list[str]
    jobs: dict[str, subprocess.CompletedProcess] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


def _link_node_modules(repo: Path) -> None:
    """The example's installed packages, linked (workspace packages point into the copy itself)."""
    (repo / "node_modules").symlink_to(EXAMPLE / "node_modules")
    with open(repo / ".git" / "info" / "exclude", "a") as f:
        f.write("/node_modules\n")
    for pkg in (SERVICE, CLIENT, BOT, WEB):
        src, dst = EXAMPLE / pkg / "node_modules", repo / pkg / "node_modules"
        dst.mkdir()
        for entry in src.iterdir():
            if entry.name.startswith(".vite"):
                continue
            if entry.name.startswith("@") and entry.is_dir() and not entry.is_symlink():
                (dst / entry.name).mkdir()
                for sub in entry.iterdir():
                    target = repo / "packages" / sub.name if entry.name == "@shop" else Path(os.path.realpath(sub))
                    (dst / entry.name / sub.name).symlink_to(target)
            else:
                (dst / entry.name).symlink_to(os.path.realpath(entry))


def _node_env() -> dict[str, str] | None:
    if shutil.which("node") is None or shutil.which("npm") is None:
        return None
    env = {**os.environ, "CI": "true", "NO_COLOR": "1", "FORCE_COLOR": "0"}
    res = subprocess.run(["bash", str(ROOT / "scripts" / "node-tools.sh")], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=900, stdin=subprocess.DEVNULL)
    assert res.returncode == 0, f"scripts/node-tools.sh failed:\n{res.stdout}\n{res.stderr}"
    return env


def _tsc() -> Path:
    return Path(os.environ.get("DLCM_TOOLS_DIR", ROOT / ".tools")) / "node_modules" / ".bin" / "tsc"


@pytest.fixture(scope="module")
def scaffolded(tmp_path_factory) -> dict[str, Scaffolded]:
    from dlcm.cli import main

    cache = str(tmp_path_factory.mktemp("dlcm-cache"))
    out: dict[str, Scaffolded] = {}
    for kind, argv in CASES.items():
        repo = make_repo(tmp_path_factory.mktemp(kind))
        git(repo, "checkout", "-q", "-B", "change")
        t0 = time.monotonic()
        res = CliRunner(env={"DLCM_CACHE_DIR": cache}).invoke(main, ["scaffold", *argv, str(repo)])
        elapsed = time.monotonic() - t0
        files = [line.split()[-1] for line in res.output.splitlines() if line.startswith(("  created", "  modified"))]
        git(repo, "add", "-A")
        git(repo, "commit", "-qm", f"dlcm scaffold {kind}")
        out[kind] = Scaffolded(kind, repo, res.output, res.exit_code, files, seconds={"scaffold": elapsed})
    env = _node_env()
    if env is None:
        return out
    for s in out.values():
        _link_node_modules(s.repo)

    def job(s: Scaffolded, name: str, cmd: list[str], cwd: Path):
        t0 = time.monotonic()
        r = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=300,
                           stdin=subprocess.DEVNULL)
        return s, name, r, time.monotonic() - t0

    jobs = []
    for s in out.values():
        for pkg in TYPECHECK[s.kind]:
            jobs.append((s, f"tsc:{pkg}", [str(_tsc()), "--noEmit", "-p", "tsconfig.json"], s.repo / pkg))
        for pkg in VITEST:
            vitest = os.path.realpath(EXAMPLE / pkg / "node_modules" / "vitest")
            jobs.append((s, f"vitest:{pkg}", ["node", os.path.join(vitest, "vitest.mjs"), "run", "--reporter=verbose"],
                         s.repo / pkg))
    with ThreadPoolExecutor(max_workers=3) as pool:
        for s, name, r, secs in pool.map(lambda j: job(*j), jobs):
            s.jobs[name] = r
            s.seconds[name] = secs
    return out


def _need_node(s: Scaffolded) -> None:
    if not s.jobs:
        pytest.skip("Node.js (node + npm) is not installed: tsc and vitest cannot run")


# --------------------------------------------------------------------------- the scaffold itself


@pytest.mark.parametrize("kind", list(CASES))
def test_scaffold_writes_the_files_of_a_complete_change(scaffolded, kind):
    s = scaffolded[kind]
    assert s.exit_code == 0, s.output
    assert s.seconds["scaffold"] < 20
    pkgs = {f.split("/src/")[0] for f in s.files if "/src/" in f}
    assert set(TYPECHECK[kind]) >= pkgs, pkgs  # every package the change touches is type-checked below
    expected = {
        "add-field": ["supabase/migrations/", "supabase/rollbacks/", f"{SERVICE}/src/database.types.ts",
                      f"{SERVICE}/src/repositories/types.ts",
                      f"{SERVICE}/src/repositories/supabase/supabase-user-repository.ts",
                      f"{SERVICE}/src/repositories/memory/memory-user-repository.ts",
                      f"{SERVICE}/src/validation.ts", f"{CLIENT}/src/types.ts",
                      f"{SERVICE}/src/__tests__/users-nickname.test.ts"],
        "new-table": ["supabase/migrations/", "supabase/rollbacks/", f"{SERVICE}/src/database.types.ts",
                      f"{SERVICE}/src/repositories/coupon-repository.ts",
                      f"{SERVICE}/src/repositories/supabase/supabase-coupon-repository.ts",
                      f"{SERVICE}/src/repositories/memory/memory-coupon-repository.ts",
                      f"{SERVICE}/src/repositories/index.ts", f"{SERVICE}/src/routes/coupons.ts",
                      f"{SERVICE}/src/routes/users.ts", f"{SERVICE}/src/index.ts", f"{SERVICE}/src/validation.ts",
                      f"{CLIENT}/src/client.ts", f"{CLIENT}/src/types.ts", f"{CLIENT}/src/client.test.ts",
                      f"{SERVICE}/src/__tests__/coupon-repository.test.ts",
                      f"{SERVICE}/src/__tests__/coupons.test.ts"],
        "api-endpoint": [f"{SERVICE}/src/repositories/product-repository.ts",
                         f"{SERVICE}/src/repositories/supabase/supabase-product-repository.ts",
                         f"{SERVICE}/src/repositories/memory/memory-product-repository.ts",
                         f"{SERVICE}/src/routes/products.ts", f"{CLIENT}/src/client.ts", f"{CLIENT}/src/client.test.ts",
                         f"{SERVICE}/src/__tests__/products-by-sku.test.ts"],
    }[kind]
    for want in expected:
        assert any(f == want or (want.endswith("/") and f.startswith(want)) for f in s.files), (want, s.files)


@pytest.mark.parametrize("kind", list(CASES))
def test_dlcm_check_reports_nothing_on_the_scaffolded_change(scaffolded, kind):
    result = run_check(scaffolded[kind].repo, base="main")
    shown = "\n".join(f"{f.rule} {f.severity} {f.file}:{f.line} {f.message}" for f in result.findings)
    assert result.findings == [], shown
    assert result.summary.passed


# --------------------------------------------------------------------------- TypeScript, for real


@pytest.mark.node
@pytest.mark.parametrize("kind,package", [(k, p) for k, ps in TYPECHECK.items() for p in ps])
def test_scaffolded_package_type_checks(scaffolded, kind, package):
    s = scaffolded[kind]
    _need_node(s)
    r = s.jobs[f"tsc:{package}"]
    assert r.returncode == 0, f"tsc failed in {package} after `dlcm scaffold {kind}`:\n{r.stdout}{r.stderr}"


@pytest.mark.node
@pytest.mark.parametrize("kind,package", [(k, p) for k in CASES for p in VITEST])
def test_scaffolded_tests_run_and_pass(scaffolded, kind, package):
    s = scaffolded[kind]
    _need_node(s)
    r = s.jobs[f"vitest:{package}"]
    out = re.sub(r"\x1b\[[0-9;]*m", "", r.stdout + r.stderr)
    assert r.returncode == 0, f"vitest failed in {package} after `dlcm scaffold {kind}`:\n{out}"
    generated = {
        ("add-field", SERVICE): ["users-nickname.test.ts"],
        ("new-table", SERVICE): ["coupon-repository.test.ts", "coupons.test.ts"],
        ("new-table", CLIENT): ["getCoupon sends GET /coupons/i1", "listUserCoupons sends GET /users/i1/coupons"],
        ("api-endpoint", SERVICE): ["products-by-sku.test.ts"],
        ("api-endpoint", CLIENT): ["getProductBySku sends GET /products/by-sku/s1"],
    }.get((kind, package), [])
    for name in generated:
        assert name in out, f"{name} did not run:\n{out}"
    assert "failed" not in out.split("Test Files")[-1], out


# --------------------------------------------------------------------------- the migration, for real


@pytest.mark.postgres
@pytest.mark.parametrize("kind", ["add-field", "new-table"])
def test_scaffolded_migration_passes_dlcm_rollback_test(scaffolded, kind, pg_server):
    """up, down (the catalog is back to what it was), up again: `dlcm rollback-test --base main`."""
    from checks.rollback_test import run_rollback_test

    result = run_rollback_test(str(scaffolded[kind].repo), "main", server=pg_server)
    assert result.passed, result.model_dump_json(indent=1)
    assert [(t.migration.split("/")[-1].split("_", 1)[1], t.status) for t in result.tested] == [
        ("add_nickname_to_users.sql" if kind == "add-field" else "create_coupons.sql", "passed")]


@pytest.mark.postgres
def test_scaffolded_table_is_secured_indexed_and_touched(scaffolded, pg_db):
    repo = scaffolded["new-table"].repo
    for up in sorted((repo / "supabase" / "migrations").glob("*.sql")):
        pg_db.apply_file(up)
    assert pg_db.scalar("select relrowsecurity from pg_class where oid = 'public.coupons'::regclass") == "t"
    policies = pg_db.query("select cmd, roles::text, qual, with_check from pg_policies where tablename = 'coupons' "
                           "order by cmd")
    assert [p["cmd"] for p in policies] == ["DELETE", "INSERT", "SELECT", "UPDATE"]
    assert all("auth.uid()" in (p["qual"] or p["with_check"]) and p["roles"] == "{authenticated}" for p in policies)
    assert pg_db.scalar("select indexdef from pg_indexes where indexname = 'coupons_user_id_created_at_idx'") == (
        "CREATE INDEX coupons_user_id_created_at_idx ON public.coupons USING btree (user_id, created_at DESC)")
    pg_db.execute("""
        insert into public.users (id, telegram_id, first_name) values ('00000000-0000-0000-0000-000000000001', 1, 'A');
        insert into public.coupons (id, user_id, code, percent_off)
          values ('00000000-0000-0000-0000-0000000000c1', '00000000-0000-0000-0000-000000000001', 'C1', 10);
    """)
    before = pg_db.scalar("select updated_at from public.coupons")
    pg_db.execute("update public.coupons set percent_off = 20")
    assert pg_db.scalar(f"select updated_at > '{before}'::timestamptz from public.coupons") == "t"


def test_timings_are_reported(scaffolded, capsys):
    """Not an assertion on speed (shared CI machines vary); prints where the time goes."""
    with capsys.disabled():
        for s in scaffolded.values():
            parts = ", ".join(f"{k} {v:.1f}s" for k, v in s.seconds.items())
            print(f"\n  scaffold {s.kind}: {parts}", end="")
