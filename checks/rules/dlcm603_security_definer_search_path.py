"""DLCM603: a `security definer` function without a fixed `search_path`."""

from ..findings import CheckContext, Rule
from .dlcm6_common import new_ops


def _lookup(functions: dict, schema: str, name: str, args: str | None):
    if args is not None:
        f = functions.get(f"{schema}.{name}({args})")
        if f is not None:
            return f"{schema}.{name}({args})", f
    cands = [(k, f) for k, f in functions.items() if k.startswith(f"{schema}.{name}(")]
    return cands[0] if len(cands) == 1 else (None, None)


def check(ctx: CheckContext):
    functions = ctx.head.schema_.functions
    last: dict[str, object] = {}  # function key -> the last new op that created/altered it
    for n in new_ops(ctx):
        op = n.op
        if op.kind not in ("create_function", "alter_function") or not op.name:
            continue
        key, fn = _lookup(functions, op.schema_ or "public", op.name, op.detail.get("args"))
        if fn is not None:
            last[key] = (n, fn)
    for key, (n, fn) in last.items():
        if not fn.security_definer or fn.search_path is not None:
            continue
        yield RULE.finding(
            f"Function `{key}` is `security definer` (it runs with its owner's rights) but does not fix "
            f"`search_path`: a caller can put objects with the names it uses in a schema of their own search path "
            f"and have them run with those rights. Add `set search_path = ''` to the function (and qualify every "
            f"name in its body, e.g. `public.users`), or make it `security invoker` if it need not bypass RLS.",
            n.file, n.line, key=f"{n.file}:{key}")


RULE = Rule(
    id="DLCM603", name="security-definer-search-path", title="Security definer function without search_path",
    severity="error", category="security", check=check, scope="change",
    why="A security definer function resolves unqualified names through the caller's search_path; without "
        "`set search_path` a caller can hijack it and run code with the owner's (often superuser) rights.",
    fix="`create function ... security definer set search_path = '' as $$ ... $$` with schema-qualified names.",
)
