"""Migration safety by Squawk: locks, table rewrites, unsafe constraints, ... on new migrations.

Squawk runs once over the migrations the change adds (every migration without a base),
with `--assume-in-transaction` (Supabase applies each file in a transaction) and the
PostgreSQL version of `squawk.pg_version`. The target repository's `.squawk.toml` is
honoured (Squawk finds it from the repository root; a nearer one beside the migrations is
passed with `--config`). Findings keep Squawk's rule names (`adding-required-field`, ...)
and its level; `squawk.exclude` and, unless `squawk.timeout_rules`, the lock/statement
timeout rules are dropped. Category "safety": the App reports these in the
`dlcm/migration-safety` check run.
"""

from __future__ import annotations

import os

from ..findings import CheckContext, Finding, Rule
from ..squawk import PINNED_VERSION, TIMEOUT_RULES, SquawkError, Workdir, find_config, find_squawk, run_squawk

_SEVERITY = {"error": "error", "warning": "warning"}


def _source(ctx: CheckContext):
    if ctx.source is not None:
        return ctx.source
    if os.path.isdir(ctx.head.root):
        from ..source import DirSource

        return DirSource(ctx.head.root)
    return None


def _problem(file: str, message: str, key: str) -> Finding:
    return Finding(rule=RULE.id, severity="warning", message=message, file=file, line=1, title=RULE.title,
                   key=key, help_uri="https://squawkhq.com/docs/cli")


def check(ctx: CheckContext):
    cfg = ctx.config.squawk
    if not cfg.enabled:
        return
    # a file PostgreSQL cannot parse is DLCM105's; Squawk would only repeat it as `syntax-error`
    migrations = [m for m in ctx.new_migrations() if not m.parse_error and not m.empty]
    if not migrations:
        return
    paths = [m.path for m in migrations]
    exe = find_squawk()
    if exe is None:
        yield _problem(paths[0], f"Squawk is not installed, so the migration safety checks (locks, table rewrites, "
                                 f"unsafe constraints) did not run on {len(paths)} migration(s). Install it with "
                                 f"`pip install squawk-cli=={PINNED_VERSION}` (or disable it with "
                                 f"`squawk: {{enabled: false}}` in .github/dlcm.yml).", "squawk:missing")
        return
    source = _source(ctx)
    if source is None:
        yield _problem(paths[0], "Squawk did not run: the migration files are not available to dlcm here.",
                       "squawk:no-source")
        return
    mig_dir = os.path.dirname(paths[0])
    config_file = find_config(ctx.head.files, mig_dir)  # a dict: no copy
    exclude = set(cfg.exclude) | (set() if cfg.timeout_rules else set(TIMEOUT_RULES))
    try:
        with Workdir(source, paths + ([config_file] if config_file else [])) as cwd:
            violations = run_squawk(paths, cwd=cwd, exe=exe, pg_version=cfg.pg_version,
                                    config_file=config_file, assume_in_transaction=True)
    except SquawkError as e:
        where = e.config_file or paths[0]
        yield _problem(where, f"Squawk could not check the migrations: {e}. Fix the cause (for a configuration "
                              f"error, `{where}`) and re-run.", "squawk:failed")
        return
    for v in violations:
        if v.rule in exclude:
            continue
        if v.rule == "syntax-error":
            # PostgreSQL's parser accepted the file (DLCM105 is silent), Squawk's did not
            yield Finding(rule=v.rule, severity="info", file=v.file, line=v.line, title="Squawk: syntax-error",
                          message=f"Squawk could not parse this statement ({v.message}), although PostgreSQL's parser "
                                  f"accepts it; Squawk's safety rules were not applied to it. Review it by hand.",
                          help_uri=v.help_uri)
            continue
        how = f" {v.help.rstrip('.')}." if v.help else ""
        yield Finding(
            rule=v.rule, severity=_SEVERITY.get(v.level, "warning"), file=v.file, line=v.line,
            end_line=v.end_line if v.end_line > v.line else None, title=f"Squawk: {v.rule}",
            message=f"{v.message.rstrip('.')}.{how} (Squawk `{v.rule}`: see {v.help_uri}; if it is safe here, "
                    f"add `-- squawk-ignore {v.rule}` above the statement.)",
            key=f"{v.file}:{v.rule}:{v.line}", help_uri=v.help_uri)


RULE = Rule(
    id="squawk", name="squawk", title="Squawk migration safety", severity="warning", category="safety",
    check=check, scope="change",
    why="Some DDL takes locks that block reads or writes for the duration of a table scan or rewrite, or breaks "
        "running application code; Squawk knows which statements do and how to write them safely.",
    fix="Follow the Squawk rule's advice (e.g. add constraints `not valid` then `validate constraint`), or add "
        "`-- squawk-ignore <rule>` above a statement that is safe on your data.",
)
