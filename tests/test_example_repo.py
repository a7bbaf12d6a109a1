"""The sample target repository `examples/shop-monorepo` is correct, for real.

It is the fixture of every later test and of the demo, so it is held to what a real
project would be held to:

- its migrations apply in order on a real PostgreSQL server (with Supabase's roles and
  `auth` schema), each rollback brings the catalog back to exactly what it was before its
  migration, and the migrations apply again afterwards;
- `database.types.ts` says what the migrated schema is (columns, nullability, defaults,
  enums, foreign keys), as `supabase gen types typescript` would;
- every workspace package type-checks with `tsc --noEmit` (TypeScript strict) and its
  vitest suite passes.

The Node checks use the tools that `scripts/node-tools.sh` installs (run here when needed);
they skip only when Node.js itself is missing.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from checks.pgserver import PostgresError, TempPostgres, diff_snapshots

pytest_plugins = ["tests.conftest_pg"]

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "shop-monorepo"
MIGRATIONS = EXAMPLE / "supabase" / "migrations"
ROLLBACKS = EXAMPLE / "supabase" / "rollbacks"
TYPES_FILE = EXAMPLE / "apps" / "database-service" / "src" / "database.types.ts"
PACKAGES = ["apps/database-service", "packages/database-client", "apps/telegram-bot", "apps/web"]

MIGRATION_NAME = re.compile(r"^\d{14}_[a-z0-9]+(?:_[a-z0-9]+)*\.sql$")


def migration_pairs() -> list[tuple[Path, Path]]:
    ups = sorted(MIGRATIONS.glob("*.sql"))
    return [(up, ROLLBACKS / f"{up.stem}.down.sql") for up in ups]


# --------------------------------------------------------------------------- layout


def test_every_migration_is_well_named_and_has_a_rollback():
    pairs = migration_pairs()
    assert 4 <= len(pairs) <= 6
    for up, down in pairs:
        assert MIGRATION_NAME.match(up.name), up.name
        assert down.is_file(), f"{up.name} has no rollback {down.relative_to(EXAMPLE)}"
    stray = {p.name for p in ROLLBACKS.glob("*.sql")} - {down.name for _, down in pairs}
    assert not stray, f"rollbacks without a migration: {sorted(stray)}"


def test_workspace_packages_are_declared_and_linked():
    workspace = (EXAMPLE / "pnpm-workspace.yaml").read_text()
    assert "apps/*" in workspace and "packages/*" in workspace
    names = {}
    for pkg in PACKAGES:
        data = json.loads((EXAMPLE / pkg / "package.json").read_text())
        names[pkg] = data["name"]
        assert (EXAMPLE / pkg / "tsconfig.json").is_file()
        assert data["scripts"]["test"] == "vitest run"
        assert "vitest" in data["devDependencies"]
    assert names == {
        "apps/database-service": "@shop/database-service",
        "packages/database-client": "@shop/database-client",
        "apps/telegram-bot": "@shop/telegram-bot",
        "apps/web": "@shop/web",
    }
    for consumer in ("apps/telegram-bot", "apps/web"):
        deps = json.loads((EXAMPLE / consumer / "package.json").read_text())["dependencies"]
        assert deps["@shop/database-client"] == "workspace:*"
    assert (EXAMPLE / "pnpm-lock.yaml").is_file()


# --------------------------------------------------------------------------- migrations on a real server


@pytest.mark.postgres
def test_migrations_roll_back_to_the_previous_catalog_and_apply_again(pg_db):
    pairs = migration_pairs()
    snapshots = [pg_db.catalog_snapshot()]
    for up, _ in pairs:
        pg_db.apply_file(up)
        after = pg_db.catalog_snapshot()
        assert after != snapshots[-1], f"{up.name} changed nothing in the catalog"
        snapshots.append(after)

    for i in range(len(pairs) - 1, -1, -1):
        up, down = pairs[i]
        pg_db.apply_file(down)
        diff = diff_snapshots(snapshots[i], pg_db.catalog_snapshot())
        assert diff == [], f"{down.name} does not undo {up.name}:\n" + "\n".join(diff)

    for up, _ in pairs:
        pg_db.apply_file(up)
    assert diff_snapshots(snapshots[-1], pg_db.catalog_snapshot()) == []


@pytest.mark.postgres
def test_migrated_schema_enforces_its_rules(pg_db):
    for up, _ in migration_pairs():
        pg_db.apply_file(up)
    pg_db.execute(
        """
        insert into public.users (id, telegram_id, first_name) values
          ('00000000-0000-0000-0000-000000000001', 42, 'Alice');
        insert into public.products (id, sku, title, price_cents) values
          ('00000000-0000-0000-0000-0000000000a1', 'TEA-001', 'Green tea', 450);
        insert into public.orders (id, user_id, total_cents) values
          ('00000000-0000-0000-0000-0000000000b1', '00000000-0000-0000-0000-000000000001', 900);
        insert into public.order_items (order_id, product_id, quantity, unit_price_cents) values
          ('00000000-0000-0000-0000-0000000000b1', '00000000-0000-0000-0000-0000000000a1', 2, 450);
        """
    )
    assert pg_db.scalar("select status from public.orders") == "pending"
    assert pg_db.scalar("select language_code from public.users") == "en"

    with pytest.raises(PostgresError) as e:
        pg_db.execute("update public.users set phone = '0151 123'")
    assert e.value.sqlstate == "23514" and "users_phone_format" in e.value.message

    before = pg_db.scalar("select updated_at from public.orders")
    pg_db.execute("update public.orders set status = 'paid'")
    assert pg_db.scalar("select updated_at > %s::timestamptz from public.orders".replace("%s", f"'{before}'")) == "t"

    # RLS: an authenticated user sees their own orders only.
    pg_db.execute(
        """
        insert into auth.users (id, email) values ('00000000-0000-0000-0000-0000000000c1', 'alice@example.com');
        update public.users set auth_user_id = '00000000-0000-0000-0000-0000000000c1';
        """
    )
    as_user = """
        begin;
        set local role authenticated;
        select set_config('request.jwt.claims', '{"sub": "%s", "role": "authenticated"}', true);
        select count(*) from public.orders;
        commit;
    """
    own = pg_db.psql(as_user % "00000000-0000-0000-0000-0000000000c1", args=["-A", "-t"]).split()
    other = pg_db.psql(as_user % "00000000-0000-0000-0000-0000000000c9", args=["-A", "-t"]).split()
    assert own[-1] == "1" and other[-1] == "0"
    assert pg_db.scalar("select count(*) from pg_publication_tables where tablename = 'orders'") == "1"


# --------------------------------------------------------------------------- database.types.ts ↔ migrations


def parse_generated_types(text: str) -> dict:
    """Tables (Row/Insert fields, Relationships) and Enums of a `supabase gen types` file."""
    public = text[text.index("  public: {") :]
    tables_src = public[public.index("    Tables: {") : public.index("    Views: {")]
    tables: dict[str, dict] = {}
    for m in re.finditer(r"^      (\w+): \{\n(.*?)^      \}\n", tables_src, re.M | re.S):
        name, body = m.group(1), m.group(2)
        table: dict = {}
        for section in ("Row", "Insert", "Update"):
            block = re.search(rf"^        {section}: \{{\n(.*?)^        \}}", body, re.M | re.S)
            assert block, f"{name}.{section} missing"
            table[section] = dict(re.findall(r"^          (\w+\??): (.+)$", block.group(1), re.M))
        table["fks"] = re.findall(r'foreignKeyName: "(\w+)"', body)
        tables[name] = table
    enums_src = public[public.index("    Enums: {") : public.index("    CompositeTypes: {")]
    enums = {
        name: re.findall(r'"([^"]+)"', values)
        for name, values in re.findall(r"^      (\w+): (.+)$", enums_src, re.M)
    }
    return {"tables": tables, "enums": enums}


def ts_type(pg_type: str, enums: set[str]) -> str:
    base = pg_type.removeprefix("public.")
    if base in enums:
        return f'Database["public"]["Enums"]["{base}"]'
    if base in ("integer", "bigint", "smallint", "numeric", "real", "double precision"):
        return "number"
    if base == "boolean":
        return "boolean"
    if base in ("json", "jsonb"):
        return "Json"
    return "string"


@pytest.mark.postgres
def test_database_types_match_the_migrated_schema(pg_db):
    for up, _ in migration_pairs():
        pg_db.apply_file(up)
    snap = pg_db.catalog_snapshot(schemas=["public"])
    generated = parse_generated_types(TYPES_FILE.read_text())

    enums = {name.removeprefix("public."): labels for name, labels in snap["enums"].items()}
    assert generated["enums"] == enums

    db_tables = {name.removeprefix("public."): t for name, t in snap["tables"].items()}
    assert sorted(generated["tables"]) == sorted(db_tables)
    for name, table in db_tables.items():
        gen = generated["tables"][name]
        row, insert, update = {}, {}, {}
        for col, c in table["columns"].items():
            t = ts_type(c["type"], set(enums)) + (" | null" if c["nullable"] else "")
            row[col] = t
            optional = c["nullable"] or c["default"] is not None or c["identity"] is not None
            insert[col + ("?" if optional else "")] = t
            update[col + "?"] = t
        assert gen["Row"] == row, f"{name}.Row"
        assert gen["Insert"] == insert, f"{name}.Insert"
        assert gen["Update"] == update, f"{name}.Update"
        assert list(gen["Row"]) == sorted(gen["Row"]), f"{name}: columns are sorted as gen types sorts them"
        public_fks = sorted(
            cname for cname, con in table["constraints"].items()
            if con["type"] == "f" and "REFERENCES auth." not in con["definition"]
        )
        assert sorted(gen["fks"]) == public_fks, f"{name}.Relationships"


# --------------------------------------------------------------------------- the harness itself


@pytest.mark.postgres
def test_a_rollback_that_forgets_something_is_caught(pg_db, tmp_path):
    up = tmp_path / "20990101000000_add_note_index.sql"
    down = tmp_path / "20990101000000_add_note_index.down.sql"
    up.write_text(
        "create table public.notes (id bigint generated always as identity primary key, body text not null);\n"
        "create index notes_body_idx on public.notes (body);\n"
        "alter table public.notes enable row level security;\n"
    )
    down.write_text("alter table public.notes disable row level security;\ndrop index public.notes_body_idx;\n")
    before = pg_db.catalog_snapshot()
    pg_db.apply_file(up)
    pg_db.apply_file(down)
    diff = diff_snapshots(before, pg_db.catalog_snapshot())
    assert diff and all("public.notes" in line for line in diff), diff


@pytest.mark.postgres
def test_apply_file_reports_file_line_and_postgres_message(pg_db, tmp_path):
    bad = tmp_path / "20990101000001_bad.sql"
    bad.write_text(
        "create table public.ok (id int primary key);\n"
        "\n"
        "create table public.broken (\n"
        "  id int primary key,\n"
        "  total  numbr not null\n"
        ");\n"
    )
    with pytest.raises(PostgresError) as e:
        pg_db.apply_file(bad)
    err = e.value
    assert (err.file, err.line, err.position, err.sqlstate) == (str(bad), 5, 10, "42704")
    assert err.message == 'type "numbr" does not exist'
    assert str(err).startswith(f"{bad}:5:10: ERROR 42704: type \"numbr\" does not exist")
    # single transaction: the first statement was rolled back too
    assert pg_db.scalar("select to_regclass('public.ok')") is None


def test_temp_postgres_removes_everything_even_after_an_exception():
    if not TempPostgres.available():
        pytest.skip(f"PostgreSQL is not available: {TempPostgres.unavailable_reason()}")
    with pytest.raises(RuntimeError, match="boom"):
        with TempPostgres(bootstrap=False) as pg:
            tmp, port = pg.socket_dir, pg.port
            assert pg.scalar("select current_user") == "postgres"
            assert pg.query("select 1 as one") == [{"one": 1}]
            raise RuntimeError("boom")
    assert not tmp.exists()
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", port)) != 0


# --------------------------------------------------------------------------- TypeScript


@dataclass
class NodeTools:
    pnpm: Path
    tsc: Path
    env: dict[str, str]


@pytest.fixture(scope="module")
def node_tools() -> NodeTools:
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("Node.js (node + npm) is not installed: the example's TypeScript checks need it")
    env = {**os.environ, "CI": "true", "NO_COLOR": "1", "FORCE_COLOR": "0"}
    res = subprocess.run(
        ["bash", str(ROOT / "scripts" / "node-tools.sh")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=900, stdin=subprocess.DEVNULL,
    )
    assert res.returncode == 0, f"scripts/node-tools.sh failed:\n{res.stdout}\n{res.stderr}"
    tools = Path(os.environ.get("DLCM_TOOLS_DIR", ROOT / ".tools")) / "node_modules" / ".bin"
    env["PATH"] = f"{tools}{os.pathsep}{env.get('PATH', '')}"
    return NodeTools(pnpm=tools / "pnpm", tsc=tools / "tsc", env=env)


def run(cmd: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=300,
                          stdin=subprocess.DEVNULL)


@pytest.mark.node
@pytest.mark.parametrize("package", PACKAGES)
def test_package_type_checks(node_tools, package):
    res = run([str(node_tools.tsc), "--noEmit", "-p", "tsconfig.json"], EXAMPLE / package, node_tools.env)
    assert res.returncode == 0, f"tsc failed in {package}:\n{res.stdout}{res.stderr}"


@pytest.mark.node
@pytest.mark.parametrize("package", PACKAGES)
def test_package_vitest_suite_passes(node_tools, package):
    vitest = EXAMPLE / package / "node_modules" / ".bin" / "vitest"
    res = run([str(vitest), "run", "--reporter=dot"], EXAMPLE / package, node_tools.env)
    out = re.sub(r"\x1b\[[0-9;]*m", "", res.stdout + res.stderr)
    assert res.returncode == 0, f"vitest failed in {package}:\n{out}"
    assert re.search(r"Tests\s+\d+ passed", out), out
