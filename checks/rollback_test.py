"""`dlcm rollback-test`: prove on a real PostgreSQL that rollbacks undo their migrations.

With a base ref (a pull request):

    base migrations (as on the base ref)      -> snapshot S0
    the change's migrations, in order (up)    -> snapshot S1 .. Sn after each
    their rollbacks, in reverse order (down)  -> after rolling back migration k, the catalog
                                                 must equal S(k-1)
    the change's migrations again (up again)  -> must apply, and give Sn again

Without a base, every migration that has a rollback is tested on top of its predecessors:
up, snapshot, down, compare, up again, compare; then the next one.

What a rollback failed to undo is reported object by object ("index products_title_idx on
public.products is left behind"); SQL errors with the file, line and PostgreSQL's message;
a new migration without a rollback as such. Each file runs in one transaction, as Supabase
applies migrations. The catalog is compared with `checks.pgserver`'s snapshot (tables,
columns, constraints, indexes, policies, RLS, triggers, privileges, comments, functions,
views, sequences, enums, types, publications) of every non-system schema.

PostgreSQL cannot drop a value from an enum: the difference left by `alter type ... add
value` is noted and not counted as a failure.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Literal

from pydantic import BaseModel, Field

from .config import Config, load_config
from .model import Migration, RepoModel
from .pgserver import PostgresError, PostgresUnavailable, TempPostgres
from .source import DirSource, GitSource, Source, read_text

Phase = Literal["base", "up", "missing-rollback", "down", "down-diff", "up-again", "up-again-diff"]


class DiffEntry(BaseModel):
    op: Literal["+", "-", "~"]  # "+": only after, "-": only before, "~": changed
    path: list[str]
    before: Any = None
    after: Any = None

    @property
    def raw(self) -> str:
        return self.path[0] + "".join(f"[{p}]" for p in self.path[1:])

    def describe(self) -> str:
        return describe_path(self.path)


class Problem(BaseModel):
    migration: str | None  # the migration under test (None: the base itself)
    phase: Phase
    file: str | None = None
    line: int | None = None
    message: str
    diff: list[str] = Field(default_factory=list)  # one line per difference, readable
    entries: list[DiffEntry] = Field(default_factory=list)


class Tested(BaseModel):
    migration: str
    rollback: str | None
    status: Literal["passed", "failed", "not-run", "no-rollback"]
    notes: list[str] = Field(default_factory=list)


class RollbackTestResult(BaseModel):
    mode: Literal["change", "each"]
    base: str | None = None
    server: str = ""
    tested: list[Tested] = Field(default_factory=list)
    problems: list[Problem] = Field(default_factory=list)
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return not self.problems

    def model_dump_json_report(self) -> dict:
        d = self.model_dump(mode="json")
        d["passed"] = self.passed
        return d


class RollbackTestError(Exception):
    """The test could not run (no PostgreSQL, bad ref, non-empty database): not a failed test."""


# --------------------------------------------------------------------------- catalog diff


def diff_catalog(before: Any, after: Any, path: list[str] | None = None) -> list[DiffEntry]:
    """Differences between two catalog snapshots; lists of names compare as sets, element by element."""
    path = path or []
    out: list[DiffEntry] = []
    if isinstance(before, dict) and isinstance(after, dict):
        for k in sorted(set(before) | set(after), key=str):
            if k not in after:
                out.append(DiffEntry(op="-", path=path + [str(k)], before=before[k]))
            elif k not in before:
                out.append(DiffEntry(op="+", path=path + [str(k)], after=after[k]))
            else:
                out.extend(diff_catalog(before[k], after[k], path + [str(k)]))
    elif (isinstance(before, list) and isinstance(after, list) and path
          and all(isinstance(x, str) for x in before + after) and path[-1] in _SET_LISTS):
        for x in sorted(set(before) - set(after)):
            out.append(DiffEntry(op="-", path=path + [x], before=x))
        for x in sorted(set(after) - set(before)):
            out.append(DiffEntry(op="+", path=path + [x], after=x))
    elif before != after:
        out.append(DiffEntry(op="~", path=path or ["catalog"], before=before, after=after))
    return out


_SET_LISTS = {"schemas", "privileges", "tables", "roles"}
_TABLE_PARTS = {
    "columns": "column {t}.{n}", "indexes": "index {n} on {t}", "policies": 'policy "{n}" on {t}',
    "constraints": "constraint {n} on {t}", "triggers": "trigger {n} on {t}", "privileges": "privilege {n} on {t}",
}
_TOP = {"functions": "function", "enums": "enum type", "views": "view", "sequences": "sequence", "types": "type",
        "extensions": "extension", "schemas": "schema", "publications": "publication"}


def describe_path(path: list[str]) -> str:
    """`["tables", "public.products", "indexes", "products_title_idx"]` -> "index products_title_idx on public.products"."""
    head = path[0]
    if head == "tables" and len(path) >= 2:
        t = path[1]
        if len(path) == 2:
            return f"table {t}"
        sub, rest = path[2], path[3:]
        if sub in _TABLE_PARTS and rest:
            text = _TABLE_PARTS[sub].format(t=t, n=rest[0])
            return text + (f" ({'.'.join(rest[1:])})" if rest[1:] else "")
        label = {"rls": "row level security", "force_rls": "forced row level security"}.get(sub, sub)
        return f"{label} of table {t}" + (f" ({'.'.join(rest)})" if rest else "")
    if head == "publications" and len(path) == 4 and path[2] == "tables":
        return f"table {path[3]} in publication {path[1]}"
    if head in _TOP and len(path) >= 2:
        return f"{_TOP[head]} {path[1]}" + (f" ({'.'.join(path[2:])})" if path[2:] else "")
    return ".".join(path)


def _short(v: Any) -> str:
    import json

    s = json.dumps(v, sort_keys=True, default=str)
    return s if len(s) <= 160 else s[:157] + "..."


def render_down(e: DiffEntry) -> str:
    """A difference after up + down, against the schema before the migration."""
    if e.op == "+":
        return f"{e.describe()} is left behind (the rollback does not remove it)"
    if e.op == "-":
        return f"{e.describe()} is missing (the rollback removes something that existed before the migration)"
    return f"{e.describe()} is not restored: before the migration {_short(e.before)}, after the rollback {_short(e.after)}"


def render_again(e: DiffEntry) -> str:
    """A difference after up + down + up, against the schema after the first up."""
    if e.op == "+":
        return f"{e.describe()} exists only after the second up"
    if e.op == "-":
        return f"{e.describe()} exists after the first up but not after the second"
    return f"{e.describe()} differs between the first and the second up: {_short(e.before)} then {_short(e.after)}"


# --------------------------------------------------------------------------- database access


class ExternalPostgres(TempPostgres):
    """A database given by URL, driven with the same psql plumbing as TempPostgres."""

    def __init__(self, url: str):
        super().__init__(bootstrap=False)
        self.database_url = url
        self._running = True

    def _psql_argv(self, dbname: str | None, extra: list[str]) -> list[str]:
        from .pgserver import _find_psql

        psql = _find_psql(self.bin_dir)
        if psql is None:
            raise PostgresUnavailable("the `psql` client was not found")
        return [psql, "-X", "-q", "-d", self.database_url, "-v", "ON_ERROR_STOP=1", "-v", "VERBOSITY=verbose",
                "-v", "SHOW_CONTEXT=errors", *extra]

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)  # keep PGPASSWORD, PGSSLMODE, ...
        env.update(LC_ALL="C", LANG="C", LC_MESSAGES="C", PGCLIENTENCODING="UTF8")
        env.setdefault("PGCONNECT_TIMEOUT", "10")
        return env

    def start(self) -> "ExternalPostgres":
        return self

    def stop(self) -> None:
        self._running = False


class _Db:
    """One database under test: apply files, snapshot; `fresh()` gives an empty one (temp server only)."""

    def __init__(self, server: TempPostgres, dbname: str | None, owned: bool, workdir: Path):
        self.server, self.dbname, self.owned, self.workdir = server, dbname, owned, workdir
        self.created: list[str] = []

    @property
    def can_refresh(self) -> bool:
        return self.owned

    def fresh(self) -> None:
        assert self.owned
        self.dbname = self.server.create_database()
        self.created.append(self.dbname)

    def apply(self, repo_path: str, kind: str) -> None:
        """Apply a materialised file (`kind`: "base" or "head") in one transaction."""
        self.server.apply_file(self.workdir / kind / repo_path, dbname=self.dbname, display_name=repo_path,
                               single_transaction=True)

    def snapshot(self) -> dict:
        return self.server.catalog_snapshot(dbname=self.dbname)

    def cleanup(self) -> None:
        for name in self.created:
            try:
                self.server.drop_database(name)
            except Exception:
                pass
        self.created.clear()


@contextmanager
def _server(database_url: str | None, server: TempPostgres | None) -> Iterator[tuple[TempPostgres, bool, str]]:
    """(server, owned-databases, description)."""
    if database_url:
        ext = ExternalPostgres(database_url)
        try:
            version = ext.scalar("show server_version")
        except PostgresError as e:
            raise RollbackTestError(f"cannot connect to the database: {e.message}") from None
        yield ext, False, f"PostgreSQL {version} at {_redact(database_url)}"
        return
    if server is not None:
        yield server, True, f"PostgreSQL {server.version} (shared temporary server)"
        return
    reason = TempPostgres.unavailable_reason()
    if reason:
        raise RollbackTestError(f"no PostgreSQL to test on: {reason}. Install PostgreSQL (initdb, pg_ctl, psql) or "
                                f"pass --database-url of an empty scratch database.")
    with TempPostgres() as pg:
        yield pg, True, f"PostgreSQL {pg.version} (temporary server)"


def _redact(url: str) -> str:
    import re

    return re.sub(r"(://[^:/@]+:)[^@]*@", r"\1***@", url)


def _prepare_external(ext: TempPostgres) -> None:
    """An external database must be empty (no table in `public`); Supabase's roles and schemas
    are added when missing (the bootstrap is idempotent)."""
    n = ext.scalar("select count(*) from pg_class c join pg_namespace n on n.oid = c.relnamespace "
                   "where n.nspname = 'public' and c.relkind in ('r', 'p', 'v', 'm')")
    if n and int(n) > 0:
        raise RollbackTestError(f"the database given with --database-url is not empty ({n} tables or views in "
                                f"`public`): rollback-test applies every migration itself; give it an empty scratch "
                                f"database (it is left with the migrations applied).")
    if ext.scalar("select count(*) from pg_namespace where nspname = 'auth'") == "0":
        from .pgserver import BOOTSTRAP_SQL

        ext.apply_file(BOOTSTRAP_SQL, single_transaction=True, display_name="supabase_bootstrap.sql")


# --------------------------------------------------------------------------- models


class _SqlOnly:
    """A source restricted to its `.sql` files (and dlcm's config): the rollback test needs no TypeScript."""

    def __init__(self, src: Source):
        self.src, self.label, self.ref = src, src.label, getattr(src, "ref", None)

    def files(self) -> list[str]:
        return [f for f in self.src.files() if f.endswith(".sql")]

    def blob_id(self, path: str) -> str:
        return self.src.blob_id(path)

    def read_bytes(self, path: str) -> bytes:
        return self.src.read_bytes(path)

    def prefetch(self, paths: list[str]) -> None:
        if hasattr(self.src, "prefetch"):
            self.src.prefetch(paths)


def load_models(path: str, base: str | None) -> tuple[RepoModel, RepoModel | None, Config, Source, Source | None]:
    from .build import build_model
    from .config import ConfigError
    from .source import SourceError

    try:
        head_src = DirSource(path)
        files = set(head_src.files())
        config, config_file = load_config(lambda p: read_text(head_src, p), lambda p: p in files)
        head = build_model(_SqlOnly(head_src), config)
        head.config_file = config_file
        base_src = base_model = None
        if base:
            base_src = GitSource(path, base)
            base_model = build_model(_SqlOnly(base_src), config)
            base_model.ref = base
    except (ConfigError, SourceError) as e:
        raise RollbackTestError(str(e)) from None
    return head, base_model, config, head_src, base_src


def _materialise(src: Source, paths: list[str], root: Path) -> None:
    for p in paths:
        dest = root.joinpath(*p.split("/"))
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(src.read_bytes(p))


def _enum_keys(migrations: list[Migration]) -> set[str]:
    out = set()
    for m in migrations:
        for op in m.ops:
            if op.kind == "add_enum_value":
                out.add(f"{op.schema_ or 'public'}.{op.name}")
    return out


def _split_enum_diffs(entries: list[DiffEntry], enum_keys: set[str]) -> tuple[list[DiffEntry], list[str]]:
    kept, notes = [], []
    for e in entries:
        if e.path[0] == "enums" and len(e.path) >= 2 and e.op == "~" and e.path[1].replace('"', "") in enum_keys:
            notes.append(f"enum type {e.path[1]} keeps the values added by the migration ({_short(e.after)}): "
                         f"PostgreSQL cannot drop an enum value, so this is expected")
            continue
        kept.append(e)
    return kept, notes


def _statement_start(err: PostgresError, statements) -> None:
    """psql gives the line where the failing statement ends when PostgreSQL shows no `LINE n:`
    position (e.g. constraint violations, objects that already exist): point at its first line."""
    if not statements or err.line is None or err.position is not None or err.line != err.statement_end_line:
        return
    for st in statements:
        if st.line <= err.line <= st.end_line:
            err.line = st.line
            return


def _error_problem(migration: str | None, phase: Phase, err: PostgresError, what: str,
                   statements=None) -> Problem:
    _statement_start(err, statements)
    where = err.file or "?"
    if err.line:
        where += f":{err.line}"
    msg = f"{what}: {where}: {err.severity}"
    if err.sqlstate:
        msg += f" {err.sqlstate}"
    msg += f": {err.message}"
    for label, v in (("DETAIL", err.detail), ("HINT", err.hint)):
        if v:
            msg += f" ({label}: {v})"
    if phase == "up-again" and err.sqlstate == "42710" and "enum label" in err.message:
        msg += (" -- PostgreSQL cannot drop an enum value, so no rollback can remove it: write the migration as "
                "`alter type ... add value if not exists ...` so that it can run again")
    elif phase == "up-again" and err.sqlstate in ("42P07", "42710", "42723", "42701"):
        msg += " -- the rollback leaves this object behind"
    elif phase == "up-again" and err.sqlstate == "23505":
        msg += " -- the rollback does not delete the rows the migration inserts"
    return Problem(migration=migration, phase=phase, file=err.file, line=err.line, message=msg)


# --------------------------------------------------------------------------- the test


def run_rollback_test(path: str, base: str | None = None, *, database_url: str | None = None,
                      server: TempPostgres | None = None) -> RollbackTestResult:
    """Run the rollback test of the repository at `path` (a working tree); see the module doc."""
    t0 = time.monotonic()
    head, base_model, _config, head_src, base_src = load_models(path, base)
    result = RollbackTestResult(mode="change" if base else "each", base=base)
    tmp = Path(tempfile.mkdtemp(prefix="dlcm-rollback-"))
    try:
        head_files = [m.path for m in head.migrations] + [r.path for r in head.rollbacks]
        _materialise(head_src, head_files, tmp / "head")
        if base_model is not None and base_src is not None:
            _materialise(base_src, [m.path for m in base_model.migrations], tmp / "base")
        with _server(database_url, server) as (srv, owned, desc):
            result.server = desc
            db = _Db(srv, None, owned, tmp)
            if owned:
                db.fresh()
            else:
                _prepare_external(srv)
            try:
                if base_model is not None:
                    _test_change(db, head, base_model, result)
                else:
                    _test_each(db, head, result)
            finally:
                db.cleanup()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    result.seconds = round(time.monotonic() - t0, 3)
    return result


def _test_change(db: _Db, head: RepoModel, base: RepoModel, result: RollbackTestResult) -> None:
    new = [m for m in head.migrations if m.path not in base.files]
    tested = {m.path: Tested(migration=m.path, rollback=m.rollback, status="not-run") for m in new}
    result.tested = list(tested.values())
    if not new:
        return
    for m in base.migrations:
        try:
            db.apply(m.path, "base")
        except PostgresError as e:
            result.problems.append(_error_problem(None, "base", e, "the base branch's migrations do not apply "
                                                                   "(fix the base first)", m.statements))
            return
    snaps = [db.snapshot()]
    missing = [m for m in new if m.rollback is None and not m.empty]
    for m in missing:
        tested[m.path].status = "failed"
        result.problems.append(Problem(
            migration=m.path, phase="missing-rollback", file=m.path, line=1,
            message=f"{m.path} has no rollback: add {_rollback_path(head, m)} that undoes it"))
    # up
    for m in new:
        try:
            db.apply(m.path, "head")
        except PostgresError as e:
            tested[m.path].status = "failed"
            result.problems.append(_error_problem(m.path, "up", e, "the migration fails", m.statements))
            return
        snaps.append(db.snapshot())
    if missing:
        return  # rolling back only some of the change's migrations proves nothing
    # down, newest first; each rollback must give back the schema before its migration
    enum_keys = _enum_keys(new)
    reported: set[tuple[str, str]] = set()
    for k in range(len(new), 0, -1):
        m = new[k - 1]
        if m.rollback is None:  # an empty migration: nothing to undo
            continue
        try:
            db.apply(m.rollback, "head")
        except PostgresError as e:
            tested[m.path].status = "failed"
            result.problems.append(_error_problem(m.path, "down", e, "the rollback fails", _rb_statements(head, m)))
            return
        entries, notes = _split_enum_diffs(diff_catalog(snaps[k - 1], db.snapshot()), enum_keys)
        tested[m.path].notes.extend(notes)
        fresh = [e for e in entries if (e.op, e.raw) not in reported]
        reported |= {(e.op, e.raw) for e in entries}
        if fresh:
            tested[m.path].status = "failed"
            result.problems.append(_diff_problem(m, fresh))
    # up again
    again_ok = True
    for m in new:
        try:
            db.apply(m.path, "head")
        except PostgresError as e:
            tested[m.path].status = "failed"
            result.problems.append(_error_problem(m.path, "up-again", e, "after the rollback, the migration fails "
                                                                          "when applied again", m.statements))
            again_ok = False
            break
    if again_ok:
        entries, _ = _split_enum_diffs(diff_catalog(snaps[-1], db.snapshot()), enum_keys)
        if entries:
            last = new[-1]
            tested[last.path].status = "failed"
            result.problems.append(Problem(
                migration=last.path, phase="up-again-diff", file=last.path, line=1,
                message="applying the migrations again after their rollbacks gives a different schema than the "
                        "first time",
                diff=[render_again(e) for e in entries], entries=entries))
    for t in tested.values():
        if t.status == "not-run":
            t.status = "passed"


def _rb_statements(head: RepoModel, m: Migration):
    return next((r.statements for r in head.rollbacks if r.path == m.rollback), None)


def _diff_problem(m: Migration, entries: list[DiffEntry]) -> Problem:
    return Problem(
        migration=m.path, phase="down-diff", file=m.rollback, line=1,
        message=f"{m.rollback} does not undo {m.path}: after up and down the schema differs from before the "
                f"migration in {len(entries)} place{'s' if len(entries) != 1 else ''}",
        diff=[render_down(e) for e in entries], entries=entries)


def _rollback_path(head: RepoModel, m: Migration) -> str:
    import posixpath

    return posixpath.join(head.supabase_dir or "supabase", "rollbacks", m.stem + ".down.sql")


def _test_each(db: _Db, head: RepoModel, result: RollbackTestResult) -> None:
    """Every migration with a rollback, on top of its predecessors, one after the other."""
    migs = head.migrations
    enum_keys_all = {m.path: _enum_keys([m]) for m in migs}

    def rebuild(upto: int) -> bool:
        """A database with migrations[0..upto] applied (after a failed step left it in an unknown state)."""
        if not db.can_refresh:
            return False
        db.fresh()
        for m in migs[: upto + 1]:
            try:
                db.apply(m.path, "head")
            except PostgresError:
                return False
        return True

    for i, m in enumerate(migs):
        t = Tested(migration=m.path, rollback=m.rollback, status="no-rollback" if m.rollback is None else "not-run")
        result.tested.append(t)
        before = db.snapshot() if m.rollback else None
        try:
            db.apply(m.path, "head")
        except PostgresError as e:
            t.status = "failed"
            result.problems.append(_error_problem(m.path, "up", e, "the migration fails", m.statements))
            for rest in migs[i + 1:]:
                result.tested.append(Tested(migration=rest.path, rollback=rest.rollback, status="not-run",
                                            notes=[f"not tested: {m.path} before it fails"]))
            return
        if m.rollback is None:
            continue
        after = db.snapshot()
        broken = False
        try:
            db.apply(m.rollback, "head")
        except PostgresError as e:
            result.problems.append(_error_problem(m.path, "down", e, "the rollback fails", _rb_statements(head, m)))
            broken = True
        if not broken:
            entries, notes = _split_enum_diffs(diff_catalog(before, db.snapshot()), enum_keys_all[m.path])
            t.notes.extend(notes)
            if entries:
                result.problems.append(_diff_problem(m, entries))
            try:
                db.apply(m.path, "head")
            except PostgresError as e:
                result.problems.append(_error_problem(m.path, "up-again", e, "after the rollback, the migration "
                                                                              "fails when applied again", m.statements))
                broken = True
            if not broken:
                entries, _ = _split_enum_diffs(diff_catalog(after, db.snapshot()), enum_keys_all[m.path])
                if entries:
                    result.problems.append(Problem(
                        migration=m.path, phase="up-again-diff", file=m.path, line=1,
                        message="applying the migration again after its rollback gives a different schema than the "
                                "first time", diff=[render_again(e) for e in entries], entries=entries))
                    broken = True
        t.status = "failed" if any(p.migration == m.path for p in result.problems) else "passed"
        if broken and not rebuild(i):
            for rest in migs[i + 1:]:
                result.tested.append(Tested(migration=rest.path, rollback=rest.rollback, status="not-run",
                                            notes=["not tested: the database could not be brought back to the state "
                                                   f"after {m.path}"]))
            return


# --------------------------------------------------------------------------- report


def render_text(result: RollbackTestResult) -> str:
    lines = []
    what = (f"the change's migrations against {result.base}" if result.mode == "change"
            else "every migration that has a rollback, on top of its predecessors")
    lines.append(f"Rollback test of {what} on {result.server}")
    by_mig: dict[str | None, list[Problem]] = {}
    for p in result.problems:
        by_mig.setdefault(p.migration, []).append(p)
    for p in by_mig.get(None, []):
        lines.append(f"  FAIL  {p.message}")
    if not result.tested:
        lines.append("  (no migration to test)" if result.mode == "each" else "  (the change adds no migration)")
    for t in result.tested:
        mark = {"passed": "ok  ", "failed": "FAIL", "not-run": "--  ", "no-rollback": "--  "}[t.status]
        suffix = {"no-rollback": "  (no rollback, not tested)", "not-run": "  (not run)"}.get(t.status, "")
        lines.append(f"  {mark}  {t.migration}{suffix}")
        for p in by_mig.get(t.migration, []):
            lines.append(f"        {p.phase}: {p.message}")
            for d in p.diff:
                lines.append(f"          - {d}")
        for n in t.notes:
            lines.append(f"        note: {n}")
    counts = {s: sum(1 for t in result.tested if t.status == s) for s in ("passed", "failed", "not-run", "no-rollback")}
    summary = f"{counts['passed']} passed, {counts['failed']} failed"
    if counts["not-run"]:
        summary += f", {counts['not-run']} not run"
    if counts["no-rollback"]:
        summary += f", {counts['no-rollback']} without rollback"
    lines.append(("PASSED" if result.passed else "FAILED") + f": {summary} ({result.seconds:.1f} s)")
    return "\n".join(lines)
