"""The rule registry: every module in this package that defines `RULE` is a rule.

Adding a rule is adding a file: `dlcmNNN_<name>.py` with `RULE = Rule(...)`,
its docs in the Rule fields, and fixtures under tests/fixtures/rules/.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import lru_cache

from ..findings import Rule


@lru_cache(maxsize=1)
def all_rules() -> tuple[Rule, ...]:
    rules = []
    for mod in pkgutil.iter_modules(__path__):
        m = importlib.import_module(f"{__name__}.{mod.name}")
        rule = getattr(m, "RULE", None)
        if isinstance(rule, Rule):
            rules.append(rule)
        rules.extend(r for r in getattr(m, "EXTRA_RULES", ()) if isinstance(r, Rule))
    ids = [r.id for r in rules]
    dupes = {i for i in ids if ids.count(i) > 1}
    if dupes:
        raise RuntimeError(f"duplicate rule ids: {sorted(dupes)}")
    return tuple(sorted(rules, key=lambda r: r.id))


def get_rule(rule_id: str) -> Rule | None:
    for r in all_rules():
        if r.id == rule_id:
            return r
    return None
