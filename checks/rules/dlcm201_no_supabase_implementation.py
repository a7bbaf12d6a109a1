"""DLCM201: a repository interface has no Supabase implementation."""

from ..findings import CheckContext, Rule
from .dlcm2_shared import impls_of, is_data_repository, is_test_double, kebab, repositories_dir_hint


def check(ctx: CheckContext):
    model = ctx.head
    naming = ctx.config.naming
    # a repository that does not follow the Supabase naming at all is not checked
    if not any(i.flavour == "supabase" for i in model.implementations):
        return
    where = repositories_dir_hint(model, "supabase")
    prefix = (naming.supabase_prefixes or ["Supabase"])[0]
    for iface in model.repositories:
        if not is_data_repository(model, iface):
            continue
        impls = impls_of(model, iface.name)
        if any(i.flavour == "supabase" for i in impls):
            continue
        # a production implementation under another name (`UserRepositoryImpl`, `PgUserRepository`)
        if any(i.flavour == "other" and not is_test_double(i.name) for i in impls):
            continue
        cls = prefix + iface.name
        have = ", ".join(f"`{i.name}`" for i in impls) or "none"
        target = f"`{where}/{kebab(cls)}.ts`" if where else "the repositories folder"
        yield RULE.finding(
            f"Repository `{iface.name}` has no Supabase implementation (implementations: {have}). "
            f"Add `class {cls} implements {iface.name}` in {target} that reads and writes "
            f"{', '.join('`' + t + '`' for t in iface.tables) or 'its table'} through `.from(...)`, "
            f"and wire it where the other Supabase repositories are created.",
            iface.file, iface.line, key=iface.name)


RULE = Rule(
    id="DLCM201", name="repository-without-supabase", title="Repository interface has no Supabase implementation",
    severity="error", category="repositories", check=check,
    why="The service talks to the database through repository interfaces; an interface without a Supabase "
        "implementation cannot be used in production and the feature is unfinished.",
    fix="Add a `Supabase<Name>Repository` class implementing the interface with `.from('<table>')` queries.",
)
