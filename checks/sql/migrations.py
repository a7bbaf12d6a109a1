"""Migration and rollback files → `Migration` / `Rollback` (each file parsed once)."""

from __future__ import annotations

import posixpath

from ..model import Migration, Rollback
from .parse import parse_sql

__all__ = ["parse_migration_name", "build_migration", "build_rollback", "VERSION_LENGTH"]

VERSION_LENGTH = 14  # YYYYMMDDHHMMSS


def parse_migration_name(filename: str) -> tuple[str | None, str, str]:
    """`(version, name, stem)` of a migration file name or path.

    `20240101120000_add_users.sql` → `("20240101120000", "add_users", "20240101120000_add_users")`;
    a name that does not follow `<14 digits>_<name>.sql` gives `(None, stem, stem)`.
    The name part is returned as written (whether it is snake_case is a rule's business).
    """
    base = posixpath.basename(filename.replace("\\", "/"))
    stem = base[:-4] if base.lower().endswith(".sql") else base
    head, sep, name = stem.partition("_")
    if sep and name and len(head) == VERSION_LENGTH and head.isascii() and head.isdigit():
        return head, name, stem
    return None, stem, stem


def build_migration(path: str, text: str) -> Migration:
    """A parsed migration file (statements with ops, parse error, `empty` when it holds no statement)."""
    version, name, stem = parse_migration_name(path)
    statements, diag = parse_sql(path, text)
    return Migration(
        path=path, version=version, name=name, stem=stem, statements=statements,
        parse_error=diag, empty=not statements and diag is None,
    )


def rollback_stem(path: str, suffix: str = ".down.sql") -> str:
    """The migration stem a rollback file belongs to: `x/<stem>.down.sql` → `<stem>`."""
    base = posixpath.basename(path.replace("\\", "/"))
    if suffix and base.endswith(suffix):
        return base[: -len(suffix)]
    return base[:-4] if base.lower().endswith(".sql") else base


def build_rollback(path: str, text: str, suffix: str = ".down.sql") -> Rollback:
    """A parsed rollback file; its `stem` is the file name without `suffix`."""
    statements, diag = parse_sql(path, text)
    return Rollback(path=path, stem=rollback_stem(path, suffix), statements=statements, parse_error=diag)
