"""Shared helpers of the Supabase security rules (DLCM6xx); not a rule itself (no `RULE`).

The rules look at what the change's new migrations do (their ops, in order) and at the
schema that results from all migrations (`ctx.head.schema_`): a table created without
RLS and given RLS two migrations later is fine, a policy dropped again is gone.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from typing import Iterator

from ..findings import CheckContext
from ..model import Op

# PostgREST exposes these; `graphql_public` holds only Supabase's own function
DEFAULT_EXPOSED = ("public",)
# roles that bypass RLS or own everything: policies and grants for them open nothing up
PRIVILEGED_ROLES = {"service_role", "postgres", "supabase_admin", "supabase_auth_admin", "supabase_storage_admin"}


@dataclass(frozen=True)
class NewOp:
    file: str
    op: Op

    @property
    def line(self) -> int:
        return self.op.line


def new_ops(ctx: CheckContext) -> Iterator[NewOp]:
    """Every op of the change's new migrations, in the order they run."""
    for m in ctx.new_migrations():
        for st in m.statements:
            for op in st.ops:
                yield NewOp(m.path, op)


def table_key(op: Op, table: str | None = None) -> str:
    name = table if table is not None else op.table
    if name and "." in name:
        return name
    return f"{op.schema_ or 'public'}.{name}"


def table_history(ctx: CheckContext) -> dict[str, list[NewOp]]:
    """Ops of the new migrations per table, keyed by the table's final name (renames
    followed); a table the change drops again has no entry."""
    hist: dict[str, list[NewOp]] = {}
    for n in new_ops(ctx):
        op = n.op
        if op.table is None or op.kind in ("grant", "revoke"):
            continue
        key = table_key(op)
        if op.kind == "rename_table" and op.new_name:
            new_key = f"{op.schema_ or 'public'}.{op.new_name}"
            hist[new_key] = hist.pop(key, []) + [n]
        elif op.kind == "drop_table":
            hist.pop(key, None)
        else:
            hist.setdefault(key, []).append(n)
    return hist


def exposed_schemas(ctx: CheckContext) -> set[str]:
    """Schemas the Data API serves: `[api] schemas` of supabase/config.toml, else `public`."""
    out = set(DEFAULT_EXPOSED)
    sdir = ctx.head.supabase_dir
    if sdir is None or ctx.source is None:
        return out
    path = posixpath.join(sdir, "config.toml")
    if path not in ctx.head.files:
        return out
    try:
        import tomllib

        from ..source import read_text

        data = tomllib.loads(read_text(ctx.source, path))
        schemas = (data.get("api") or {}).get("schemas")
        if isinstance(schemas, list):
            out |= {s for s in schemas if isinstance(s, str) and s not in ("graphql_public", "storage")}
    except Exception:  # a config.toml dlcm cannot read changes nothing here
        pass
    return out


_TRUE = {"true", "1=1", "true=true", "'t'::boolean", "'true'::boolean"}


def is_true(expr: str | None) -> bool:
    """`true`, `(true)`, `1 = 1`: a policy expression that lets every row through."""
    if expr is None:
        return False
    s = re.sub(r"\s+", "", expr).lower()
    while s.startswith("(") and s.endswith(")"):
        s = s[1:-1]
    return s in _TRUE


def fmt_roles(roles: list[str]) -> str:
    return ", ".join(f"`{r}`" for r in roles) if roles else "`public`"
