"""Is a PostgreSQL type change widening (every old value fits) or narrowing?

`classify_type_change(old, new, enums)` answers "same", "widening", "narrowing" or
"incompatible" for normalised type names (`checks.sql.parse.parse_type` spellings):

- integers: smallint < integer < bigint < numeric; real < double precision < numeric;
- strings: char(n) / varchar(n) < varchar(m > n) < text; any scalar → text is widening
  (every value has a text form) and text → anything else is narrowing;
- numeric(p, s): wider precision and scale is widening;
- enum → text widening, text → enum narrowing, enum → enum by its values;
- timestamp ↔ timestamptz, json ↔ jsonb: a conversion ("incompatible": values and their
  semantics change); uuid → text widening; arrays follow their element type.
"""

from __future__ import annotations

import re

_INT_RANK = {"smallint": 1, "integer": 2, "bigint": 3}
_FLOAT_RANK = {"real": 1, "double precision": 2}
_STRINGS = ("text", "varchar", "char", "character varying", "character", "bpchar", "citext")


def _base(t: str) -> tuple[str, list[int]]:
    t = t.strip().lower()
    if t.startswith("public."):
        t = t[len("public."):]
    m = re.match(r"^(.*?)\s*\(([\d,\s]+)\)$", t)
    if m:
        return m.group(1).strip(), [int(x) for x in m.group(2).split(",") if x.strip()]
    return t, []


def _is_string(b: str) -> bool:
    return b in _STRINGS


def classify_type_change(old: str | None, new: str | None, enums: dict[str, list[str]] | None = None) -> str:
    """"same" | "widening" | "narrowing" | "incompatible" (see the module docstring)."""
    if not old or not new:
        return "incompatible"
    enums = {k.split(".")[-1]: v for k, v in (enums or {}).items()}
    o, n = old.strip().lower(), new.strip().lower()
    if o.endswith("[]") or n.endswith("[]"):
        if o.endswith("[]") and n.endswith("[]"):
            return classify_type_change(o[:-2], n[:-2], enums)
        return "incompatible"
    (ob, oa), (nb, na) = _base(o), _base(n)
    if (ob, oa) == (nb, na):
        return "same"
    if ob in enums and nb in enums:
        ov, nv = set(enums[ob]), set(enums[nb])
        if ov == nv:
            return "same"
        return "widening" if ov <= nv else "narrowing"
    if ob in enums:
        return "widening" if _is_string(nb) and not na else "narrowing" if _is_string(nb) else "incompatible"
    if nb in enums:
        return "narrowing" if _is_string(ob) else "incompatible"
    if _is_string(ob) and _is_string(nb):
        if nb in ("text", "citext") or (nb in ("varchar", "character varying") and not na):
            return "widening"
        if ob in ("text", "citext") or (ob in ("varchar", "character varying") and not oa):
            return "narrowing"
        ol, nl = (oa or [1])[0], (na or [1])[0]
        if nl > ol:
            return "widening"
        if nl < ol:
            return "narrowing"
        # char(n) ↔ varchar(n): padding semantics differ
        return "widening" if ob in ("char", "character", "bpchar") else "narrowing"
    if ob in _INT_RANK and nb in _INT_RANK:
        return "widening" if _INT_RANK[nb] > _INT_RANK[ob] else "narrowing"
    if ob in _FLOAT_RANK and nb in _FLOAT_RANK:
        return "widening" if _FLOAT_RANK[nb] > _FLOAT_RANK[ob] else "narrowing"
    if ob in ("numeric", "decimal") and nb in ("numeric", "decimal"):
        if not na:
            return "widening"
        if not oa:
            return "narrowing"
        op, os_ = oa[0], (oa[1] if len(oa) > 1 else 0)
        np_, ns = na[0], (na[1] if len(na) > 1 else 0)
        return "widening" if np_ - ns >= op - os_ and ns >= os_ else "narrowing"
    if ob in _INT_RANK and nb in ("numeric", "decimal") and not na:
        return "widening"
    if ob in _INT_RANK and nb in _FLOAT_RANK:
        return "widening" if (ob, nb) in (("smallint", "real"), ("smallint", "double precision"),
                                          ("integer", "double precision")) else "incompatible"
    if ob in ("numeric", "decimal") and nb in _INT_RANK:
        return "narrowing"
    if ob in _FLOAT_RANK and nb in _INT_RANK:
        return "narrowing"
    if _is_string(nb) and not na:
        return "widening"  # every value has a text form (the TypeScript type may still change)
    if _is_string(ob):
        return "narrowing"
    return "incompatible"


def ts_type_of(pg: str, enums: dict[str, list[str]] | None = None) -> str:
    """The TypeScript type `supabase gen types` gives a PostgreSQL type (for messages)."""
    t = pg.strip().lower()
    if t.endswith("[]"):
        return ts_type_of(t[:-2], enums) + "[]"
    b, _ = _base(t)
    if enums and (b in {k.split(".")[-1] for k in enums}):
        return f'Enums["{b}"]'
    if b in _INT_RANK or b in _FLOAT_RANK or b in ("numeric", "decimal"):
        return "number"
    if b == "boolean":
        return "boolean"
    if b in ("json", "jsonb"):
        return "Json"
    return "string"
