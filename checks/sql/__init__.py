"""The SQL half of the repository model, read with pglast (PostgreSQL's own parser).

- `checks.sql.parse`: `parse_sql(path, text)` → statements with their `Op`s (+ a
  `sql-parse-error` diagnostic), `find_suppressions`, `parse_type`, `normalize_type`.
- `checks.sql.migrations`: `parse_migration_name`, `build_migration`, `build_rollback`.
- `checks.sql.replay`: `replay` / `replay_with_warnings` / `Replayer` (ops → `Schema`) and
  `diff_schemas` (→ `SchemaDifference`s, for "the rollback undoes its migration").

Submodules are imported on demand (pglast is only loaded when SQL is read).
"""
