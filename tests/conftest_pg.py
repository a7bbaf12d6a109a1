"""pytest plugin: one real PostgreSQL server per test session (per xdist worker).

Enable it with `pytest_plugins = ["tests.conftest_pg"]` (root conftest or a test module).

Fixtures:
  pg_server  session-scoped `checks.pgserver.TempPostgres`, Supabase bootstrap applied;
             skips the test with the reason when PostgreSQL is not installed.
  pg_db      a fresh database (a clone of the bootstrapped template) for one test,
             as a `checks.pgserver.Database` handle; dropped afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from checks.pgserver import Database, TempPostgres


@pytest.fixture(scope="session")
def pg_server() -> Iterator[TempPostgres]:
    reason = TempPostgres.unavailable_reason()
    if reason:
        pytest.skip(f"PostgreSQL is not available: {reason}")
    with TempPostgres() as server:
        yield server


@pytest.fixture
def pg_db(pg_server: TempPostgres) -> Iterator[Database]:
    db = pg_server.new_database()
    try:
        yield db
    finally:
        db.drop()
