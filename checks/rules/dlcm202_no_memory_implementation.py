"""DLCM202: a repository interface has no Memory (in-memory) implementation."""

import posixpath
from collections import Counter

from ..findings import CheckContext, Rule
from .dlcm2_shared import (
    TEST_DOUBLE_PREFIXES, impls_of, is_data_repository, is_test_double, kebab, repositories_dir_hint,
)


def check(ctx: CheckContext):
    model = ctx.head
    naming = ctx.config.naming
    # only repositories that keep in-memory doubles of their repositories are held to it
    doubles = [i for i in model.implementations if i.flavour == "memory" or is_test_double(i.name)]
    if not doubles:
        return
    where = repositories_dir_hint(model, "memory") or posixpath.dirname(doubles[0].file)
    prefix = _convention(doubles, list(naming.memory_prefixes or ["Memory"]))
    for iface in model.repositories:
        if not is_data_repository(model, iface):
            continue
        impls = impls_of(model, iface.name)
        if any(i.flavour == "memory" for i in impls):
            continue
        # `FakeUserRepository`, `StubUserRepository`: a test double under another name
        if any(i.flavour == "other" and is_test_double(i.name) for i in impls):
            continue
        cls = prefix + iface.name
        have = ", ".join(f"`{i.name}`" for i in impls) or "none"
        target = f"`{where}/{kebab(cls)}.ts`" if where else "the repositories folder"
        yield RULE.finding(
            f"Repository `{iface.name}` has no in-memory implementation (implementations: {have}). "
            f"Add `class {cls} implements {iface.name}` in {target} with the same behaviour "
            f"(unique keys, not-found as null) so tests and local development can run without a database.",
            iface.file, iface.line, key=iface.name)


def _convention(doubles, configured: list[str]) -> str:
    """The prefix the repository's doubles use (`Memory`, `InMemory`, `Fake`)."""
    seen: Counter = Counter()
    for d in doubles:
        name = d.name[:1].upper() + d.name[1:] if not d.name[:1].isupper() else d.name
        for p in sorted(set(configured) | set(TEST_DOUBLE_PREFIXES), key=len, reverse=True):
            if name.startswith(p) and name[len(p):][:1].isupper():
                seen[p] += 1
                break
    return seen.most_common(1)[0][0] if seen else configured[0]


RULE = Rule(
    id="DLCM202", name="repository-without-memory", title="Repository interface has no in-memory implementation",
    severity="error", category="repositories", check=check,
    why="Tests and local development use the in-memory repositories; an interface without one cannot be "
        "tested without a database and the two implementations drift apart.",
    fix="Add a `Memory<Name>Repository` class implementing the interface over a Map.",
)
