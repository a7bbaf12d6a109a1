"""A throwaway, real PostgreSQL server for tests and `dlcm rollback-test`.

Pure standard library: the server is driven through the PostgreSQL binaries
(`initdb`, `pg_ctl`, `psql`) as subprocesses, no Python driver is needed.

    with TempPostgres() as pg:
        pg.execute("create table public.t (id int primary key)")
        pg.apply_file("supabase/migrations/20240101000000_init.sql")
        before = pg.catalog_snapshot()
        db = pg.create_database()          # a fresh clone of the bootstrapped database
        pg.execute("select 1", dbname=db)

The cluster lives in a temporary directory (`initdb -A trust --no-sync`, UTF8),
listens on 127.0.0.1 only, on a free port, with its unix socket in that
directory and fsync off. When the caller is root the server runs as the
`postgres` user (or `nobody`), since PostgreSQL refuses to run as root. Each
database is created from a template that has `supabase_bootstrap.sql` applied
(Supabase's roles, `auth`/`storage`/`extensions` schemas, `auth.uid()` ...).
Everything is stopped and removed on exit, also on exceptions, and at
interpreter exit for servers that were never stopped.
"""

from __future__ import annotations

import atexit
import glob
import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "BOOTSTRAP_SQL",
    "Database",
    "PostgresError",
    "PostgresUnavailable",
    "TempPostgres",
    "diff_snapshots",
    "find_bin_dir",
    "parse_psql_error",
]

BOOTSTRAP_SQL = Path(__file__).with_name("supabase_bootstrap.sql")

SUPERUSER = "postgres"
TEMPLATE_DB = "dlcm_template"
DEFAULT_DB = "dlcm"

_SERVER_SETTINGS = {
    "listen_addresses": "127.0.0.1",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "40",
    "shared_buffers": "32MB",
    "lc_messages": "C",
    "timezone": "UTC",
    "log_min_messages": "warning",
    "max_wal_senders": "0",
    "wal_level": "minimal",
}


class PostgresUnavailable(RuntimeError):
    """The PostgreSQL binaries (or a way to run them) are missing on this machine."""


@dataclass(eq=False)
class PostgresError(Exception):
    """An SQL error reported by PostgreSQL through psql.

    `file`/`line` point at the line of the source that the error refers to (the
    line PostgreSQL's `LINE n:` marker shows when it gives one, otherwise the
    line where the failing statement ends); `position` is the 1-based column in
    that line when PostgreSQL reported one.
    """

    message: str
    file: str | None = None
    line: int | None = None
    position: int | None = None
    sqlstate: str | None = None
    severity: str = "ERROR"
    detail: str | None = None
    hint: str | None = None
    context: str | None = None
    statement_end_line: int | None = None
    stderr: str = field(default="", repr=False)

    def __str__(self) -> str:
        where = ""
        if self.file:
            where = self.file
            if self.line is not None:
                where += f":{self.line}"
                if self.position is not None:
                    where += f":{self.position}"
            where += ": "
        code = f" {self.sqlstate}" if self.sqlstate else ""
        text = f"{where}{self.severity}{code}: {self.message}"
        for label, value in (("DETAIL", self.detail), ("HINT", self.hint), ("CONTEXT", self.context)):
            if value:
                text += f"\n  {label}: " + value.replace("\n", "\n    ")
        return text


# --------------------------------------------------------------------------- discovery


def find_bin_dir() -> Path | None:
    """The directory holding `initdb` and `pg_ctl`: $DLCM_PG_BIN, PATH, or Debian's layout."""
    env = os.environ.get("DLCM_PG_BIN")
    if env and (Path(env) / "initdb").exists():
        return Path(env)
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        real = Path(found).resolve().parent
        if (real / "pg_ctl").exists():
            return real
        return Path(found).parent
    candidates = glob.glob("/usr/lib/postgresql/*/bin") + glob.glob("/usr/pgsql-*/bin")
    candidates += glob.glob("/usr/local/pgsql/bin") + glob.glob("/opt/homebrew/opt/postgresql*/bin")

    def version_key(p: str) -> tuple[int, ...]:
        return tuple(int(n) for n in re.findall(r"\d+", p)) or (0,)

    for cand in sorted(candidates, key=version_key, reverse=True):
        if (Path(cand) / "initdb").exists() and (Path(cand) / "pg_ctl").exists():
            return Path(cand)
    return None


def _find_psql(bin_dir: Path | None) -> str | None:
    if bin_dir and (bin_dir / "psql").exists():
        return str(bin_dir / "psql")
    return shutil.which("psql")


def _run_as_user() -> pwd.struct_passwd | None:
    """The unprivileged account to run the server as when we are root."""
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    return None


def _privilege_drop_prefix(user: pwd.struct_passwd) -> list[str] | None:
    setpriv = shutil.which("setpriv")
    if setpriv:
        return [setpriv, f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--clear-groups", "--"]
    runuser = shutil.which("runuser")
    if runuser:
        return [runuser, "-u", user.pw_name, "--"]
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _traversable_by_others(path: Path) -> bool:
    """True when every ancestor of `path` can be entered by any user."""
    path = path.resolve()
    for part in [path, *path.parents]:
        try:
            if not os.stat(part).st_mode & 0o001:
                return False
        except OSError:
            return False
    return True


# --------------------------------------------------------------------------- psql output


_ERR_HEAD = re.compile(
    r"^psql:(?P<file>.*):(?P<line>\d+): (?P<severity>ERROR|FATAL|PANIC):\s+"
    r"(?:(?P<sqlstate>[0-9A-Z]{5}): )?(?P<message>.*)$"
)
_ERR_HEAD_NOFILE = re.compile(
    r"^(?P<severity>ERROR|FATAL|PANIC):\s+(?:(?P<sqlstate>[0-9A-Z]{5}): )?(?P<message>.*)$"
)
_LINE_MARK = re.compile(r"^LINE (?P<n>\d+): (?P<text>.*)$")


def parse_psql_error(stderr: str, source: str | None = None, display_file: str | None = None) -> PostgresError:
    """Turn psql's stderr (VERBOSITY verbose) into a PostgresError.

    `source` is the SQL text that psql read; with it the `LINE n:` marker (which
    counts from the start of the failing statement) is mapped to a line of the file.
    """
    lines = stderr.splitlines()
    head_idx = None
    m = None
    for i, text in enumerate(lines):
        m = _ERR_HEAD.match(text) or _ERR_HEAD_NOFILE.match(text)
        if m:
            head_idx = i
            break
    if m is None or head_idx is None:
        msg = stderr.strip() or "psql failed without a message"
        return PostgresError(message=msg, file=display_file, stderr=stderr)

    gd = m.groupdict()
    err = PostgresError(
        message=gd["message"].strip(),
        severity=gd["severity"],
        sqlstate=gd.get("sqlstate"),
        file=display_file or gd.get("file"),
        stderr=stderr,
    )
    if gd.get("line"):
        err.statement_end_line = int(gd["line"])
        err.line = err.statement_end_line

    rel_line = caret_col = None
    line_text = None
    sections: dict[str, list[str]] = {}
    current: str | None = None
    rest = lines[head_idx + 1 :]
    j = 0
    while j < len(rest):
        text = rest[j]
        lm = _LINE_MARK.match(text)
        if lm and rel_line is None:
            rel_line = int(lm.group("n"))
            line_text = lm.group("text")
            prefix_len = len(f"LINE {rel_line}: ")
            if j + 1 < len(rest) and rest[j + 1].strip() == "^":
                caret_col = len(rest[j + 1]) - prefix_len  # 1-based column in the shown text
                j += 1
            current = None
        elif re.match(r"^(DETAIL|HINT|CONTEXT|LOCATION|QUERY|STATEMENT):\s", text):
            label, _, value = text.partition(":")
            current = label
            sections.setdefault(label, []).append(value.strip())
        elif _ERR_HEAD.match(text) or text.startswith("psql:"):
            break
        elif current:
            sections[current].append(text.strip())
        j += 1
    err.detail = "\n".join(sections["DETAIL"]) if "DETAIL" in sections else None
    err.hint = "\n".join(sections["HINT"]) if "HINT" in sections else None
    err.context = "\n".join(sections["CONTEXT"]) if "CONTEXT" in sections else None

    if rel_line is not None and line_text is not None and err.statement_end_line and source is not None:
        abs_line, col = _locate(source, err.statement_end_line, rel_line, line_text, caret_col)
        if abs_line is not None:
            err.line = abs_line
            err.position = col
    return err


def _locate(
    source: str, end_line: int, rel_line: int, shown: str, caret_col: int | None
) -> tuple[int | None, int | None]:
    """Find the file line that psql's `LINE n: <shown>` refers to.

    psql may shorten the shown text with `...` at either end; the match closest to
    (and not after) the statement's last line wins.
    """
    file_lines = source.splitlines()
    lead = shown.startswith("...")
    core = shown[3:] if lead else shown
    if core.endswith("..."):
        core = core[:-3]
    core_stripped = core.strip()
    if not core_stripped:
        return None, None
    for idx in range(min(end_line, len(file_lines)) - 1, -1, -1):
        candidate = file_lines[idx]
        found = candidate.find(core_stripped)
        if found == -1:
            continue
        col = None
        if caret_col is not None:
            # caret index in the shown text -> index in `core_stripped` -> column in the file line
            offset_in_core = caret_col - (3 if lead else 0) - (len(core) - len(core.lstrip()))
            col = max(found + offset_in_core, 1)
        return idx + 1, col
    return None, None


# --------------------------------------------------------------------------- server


_NULL_MARK = "<<dlcm-null>>"

_LIVE: "set[TempPostgres]" = set()  # started and not yet stopped; stopped at interpreter exit


@atexit.register
def _stop_all() -> None:  # pragma: no cover - safety net
    for server in list(_LIVE):
        try:
            server.stop()
        except Exception:
            pass


class TempPostgres:
    """A real, throwaway PostgreSQL cluster. Use as a context manager.

    Attributes after start: `host`, `port`, `user`, `dbname`, `url`, `data_dir`,
    `socket_dir`, `log_file`, `version`.
    """

    def __init__(
        self,
        *,
        bootstrap: bool | str | Path = True,
        dbname: str = DEFAULT_DB,
        bin_dir: str | Path | None = None,
        base_dir: str | Path | None = None,
        settings: dict[str, str] | None = None,
        startup_timeout: float = 60.0,
    ) -> None:
        self.bin_dir = Path(bin_dir) if bin_dir else find_bin_dir()
        self.bootstrap = bootstrap
        self.dbname = dbname
        self.host = "127.0.0.1"
        self.user = SUPERUSER
        self.port: int | None = None
        self.version: str | None = None
        self._base_dir = Path(base_dir) if base_dir else None
        self._settings = {**_SERVER_SETTINGS, **(settings or {})}
        self._startup_timeout = startup_timeout
        self._tmp: Path | None = None
        self._prefix: list[str] = []
        self._owner: pwd.struct_passwd | None = None
        self._running = False

    # ------------------------------------------------------------------ availability

    @staticmethod
    def unavailable_reason() -> str | None:
        """None when a server can be started here, else a sentence saying why not."""
        bin_dir = find_bin_dir()
        if bin_dir is None:
            return "PostgreSQL server binaries (initdb, pg_ctl) not found on PATH or in /usr/lib/postgresql/*/bin"
        if not (bin_dir / "postgres").exists():
            return f"no `postgres` binary beside {bin_dir / 'initdb'}"
        if _find_psql(bin_dir) is None:
            return "the `psql` client was not found"
        if os.geteuid() == 0:
            user = _run_as_user()
            if user is None:
                return "running as root and neither a `postgres` nor a `nobody` account exists"
            if _privilege_drop_prefix(user) is None:
                return "running as root and neither `setpriv` nor `runuser` is available"
        return None

    @staticmethod
    def available() -> bool:
        return TempPostgres.unavailable_reason() is None

    # ------------------------------------------------------------------ lifecycle

    @property
    def url(self) -> str:
        return self.url_for(self.dbname)

    def url_for(self, dbname: str) -> str:
        return f"postgresql://{self.user}@{self.host}:{self.port}/{dbname}"

    @property
    def data_dir(self) -> Path:
        assert self._tmp is not None, "server not started"
        return self._tmp / "data"

    @property
    def socket_dir(self) -> Path:
        assert self._tmp is not None, "server not started"
        return self._tmp

    @property
    def log_file(self) -> Path:
        assert self._tmp is not None, "server not started"
        return self._tmp / "postgres.log"

    @property
    def running(self) -> bool:
        return self._running

    def __enter__(self) -> "TempPostgres":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> "TempPostgres":
        if self._running:
            return self
        if self.bin_dir is None:
            raise PostgresUnavailable(self.unavailable_reason() or "PostgreSQL binaries not found")
        try:
            self._make_tmp()
            self._initdb()
            self._start_server()
            self._running = True
            _LIVE.add(self)
            self.version = self.scalar("show server_version", dbname="postgres")
            self._create_databases()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop the server and remove its directory. Safe to call more than once."""
        tmp = self._tmp
        if tmp is None:
            return
        data = tmp / "data"
        if (data / "postmaster.pid").exists():
            for mode in ("fast", "immediate"):
                try:
                    res = self._run_bin(["pg_ctl", "-D", str(data), "-m", mode, "-w", "-t", "20", "stop"],
                                        check=False, timeout=40)
                    if res.returncode == 0 or not (data / "postmaster.pid").exists():
                        break
                except (OSError, subprocess.SubprocessError):
                    continue
            else:
                self._kill_postmaster(data)
        self._running = False
        _LIVE.discard(self)
        shutil.rmtree(tmp, ignore_errors=True)
        self._tmp = None

    def _kill_postmaster(self, data: Path) -> None:
        try:
            pid = int((data / "postmaster.pid").read_text().splitlines()[0])
            os.kill(pid, signal.SIGKILL)
        except (OSError, ValueError, IndexError):
            pass

    def _make_tmp(self) -> None:
        base = self._base_dir
        if os.geteuid() == 0:
            user = _run_as_user()
            prefix = _privilege_drop_prefix(user) if user else None
            if user is None or prefix is None:
                raise PostgresUnavailable("running as root without an account or tool to drop privileges")
            self._owner, self._prefix = user, prefix
            if base is None:
                base = Path(tempfile.gettempdir())
                if not _traversable_by_others(base):
                    base = Path("/tmp")
        self._tmp = Path(tempfile.mkdtemp(prefix="dlcm-pg-", dir=str(base) if base else None))
        if self._owner is not None:
            os.chown(self._tmp, self._owner.pw_uid, self._owner.pw_gid)
        os.chmod(self._tmp, 0o700)

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env.update(LC_ALL="C", LANG="C", LC_MESSAGES="C", PGCONNECT_TIMEOUT="10", PGTZ="UTC",
                   PGCLIENTENCODING="UTF8")
        if self._owner is not None:
            env["HOME"] = str(self._tmp)
            env["USER"] = env["LOGNAME"] = self._owner.pw_name
        return env

    def _run_bin(self, argv: list[str], *, check: bool = True, timeout: float | None = None) -> subprocess.CompletedProcess[str]:
        assert self.bin_dir is not None
        cmd = [*self._prefix, str(self.bin_dir / argv[0]), *argv[1:]]
        res = subprocess.run(
            cmd,
            cwd=str(self._tmp),
            env=self._env(),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
            timeout=timeout or self._startup_timeout + 30,
        )
        if check and res.returncode != 0:
            raise RuntimeError(
                f"{argv[0]} failed (exit {res.returncode}):\n{res.stdout}\n{res.stderr}".rstrip()
            )
        return res

    def _initdb(self) -> None:
        self._run_bin(
            [
                "initdb",
                "-D", str(self.data_dir),
                "-A", "trust",
                "-U", SUPERUSER,
                "-E", "UTF8",
                "--no-locale",
                "--no-sync",
                "--no-instructions",
            ]
        )

    def _start_server(self) -> None:
        last_error = ""
        for _attempt in range(5):
            self.port = _free_port()
            opts = [f"-p {self.port}", f"-k {self.socket_dir}"]
            opts += [f"-c {k}={v}" for k, v in self._settings.items()]
            res = self._run_bin(
                [
                    "pg_ctl",
                    "-D", str(self.data_dir),
                    "-l", str(self.log_file),
                    "-w",
                    "-t", str(int(self._startup_timeout)),
                    "-o", " ".join(opts),
                    "start",
                ],
                check=False,
            )
            if res.returncode == 0:
                return
            log = self.log_file.read_text(errors="replace") if self.log_file.exists() else ""
            last_error = f"{res.stdout}\n{res.stderr}\n{log[-4000:]}"
            if "could not bind" not in log and "already in use" not in log:
                break
            time.sleep(0.2)
        raise RuntimeError(f"PostgreSQL did not start:\n{last_error.strip()}")

    def _create_databases(self) -> None:
        self.execute(f'create database "{TEMPLATE_DB}"', dbname="postgres")
        if self.bootstrap:
            path = BOOTSTRAP_SQL if self.bootstrap is True else Path(self.bootstrap)  # type: ignore[arg-type]
            self.apply_file(path, dbname=TEMPLATE_DB)
        self.execute(
            f"alter database \"{TEMPLATE_DB}\" with is_template true allow_connections false",
            dbname="postgres",
        )
        self.create_database(self.dbname)

    # ------------------------------------------------------------------ databases

    def create_database(self, name: str | None = None) -> str:
        """Create a database cloned from the bootstrapped template; returns its name."""
        name = name or f"db_{uuid.uuid4().hex[:12]}"
        _check_ident(name)
        self.execute(f'create database "{name}" template "{TEMPLATE_DB}"', dbname="postgres")
        if self.bootstrap:
            # per-database settings are not copied from the template
            self.execute(
                f'alter database "{name}" set search_path to "$user", public, extensions',
                dbname="postgres",
            )
        return name

    def drop_database(self, name: str) -> None:
        _check_ident(name)
        self.execute(f'drop database if exists "{name}" with (force)', dbname="postgres")

    def database(self, name: str | None = None) -> "Database":
        """A handle bound to database `name` (default: the main one)."""
        return Database(self, name or self.dbname)

    def new_database(self, name: str | None = None) -> "Database":
        """Create a fresh clone of the bootstrapped template and return a handle to it."""
        return Database(self, self.create_database(name))

    def reset(self, dbname: str | None = None) -> str:
        """Drop and re-create a database from the template (default: the main database)."""
        name = dbname or self.dbname
        self.drop_database(name)
        return self.create_database(name)

    # ------------------------------------------------------------------ SQL

    def _psql_argv(self, dbname: str | None, extra: list[str]) -> list[str]:
        psql = _find_psql(self.bin_dir)
        if psql is None:
            raise PostgresUnavailable("the `psql` client was not found")
        return [
            psql,
            "-X",
            "-q",
            "-h", self.host,
            "-p", str(self.port),
            "-U", self.user,
            "-d", dbname or self.dbname,
            "-v", "ON_ERROR_STOP=1",
            "-v", "VERBOSITY=verbose",
            "-v", "SHOW_CONTEXT=errors",
            *extra,
        ]

    def _run_psql(
        self,
        extra: list[str],
        *,
        dbname: str | None,
        stdin: str | None,
        source: str | None,
        display_file: str | None,
        timeout: float,
    ) -> str:
        if not self._running:
            raise RuntimeError("TempPostgres is not running")
        res = subprocess.run(
            self._psql_argv(dbname, extra),
            input=stdin,
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
            env=self._env(),
            timeout=timeout,
        )
        if res.returncode != 0:
            raise parse_psql_error(res.stderr, source=source, display_file=display_file)
        return res.stdout

    def psql(
        self,
        sql: str,
        *,
        dbname: str | None = None,
        single_transaction: bool = False,
        args: list[str] | tuple[str, ...] = (),
        timeout: float = 120.0,
    ) -> str:
        """Run SQL text through psql; returns psql's standard output."""
        extra = [*args, "-f", "-"]
        if single_transaction:
            extra.insert(0, "-1")
        return self._run_psql(extra, dbname=dbname, stdin=sql, source=sql, display_file="<sql>", timeout=timeout)

    def execute(self, sql: str, *, dbname: str | None = None, single_transaction: bool = False) -> None:
        """Run SQL for its effect; raises PostgresError on the first error."""
        self.psql(sql, dbname=dbname, single_transaction=single_transaction)

    def query(self, sql: str, *, dbname: str | None = None) -> list[dict[str, Any]]:
        """Rows of one SELECT as dicts (through json_agg)."""
        body = sql.strip().rstrip(";")
        wrapped = f"select coalesce(json_agg(q), '[]'::json) from ({body}) as q"
        out = self.psql(wrapped, dbname=dbname, args=["-A", "-t"])
        return json.loads(out.strip() or "[]")

    def scalar(self, sql: str, *, dbname: str | None = None) -> str | None:
        """The first column of the first row as text (None for NULL or no row)."""
        out = self.psql(sql, dbname=dbname, args=["-A", "-t", "-P", f"null={_NULL_MARK}"])
        first = out.split("\n", 1)[0] if out else ""
        if not out.strip() or first == _NULL_MARK:
            return None
        return first

    def apply_file(
        self,
        path: str | Path,
        *,
        single_transaction: bool = True,
        dbname: str | None = None,
        display_name: str | None = None,
        timeout: float = 300.0,
    ) -> None:
        """Apply an SQL file with psql (`-1` when single_transaction).

        On failure raises PostgresError with the file, the line (and column when
        PostgreSQL gave a position), the SQLSTATE and PostgreSQL's message.
        """
        path = Path(path)
        source = path.read_text(encoding="utf-8")
        extra = ["-f", str(path.resolve())]
        if single_transaction:
            extra.insert(0, "-1")
        self._run_psql(
            extra,
            dbname=dbname,
            stdin=None,
            source=source,
            display_file=display_name or str(path),
            timeout=timeout,
        )

    # ------------------------------------------------------------------ catalog

    def catalog_snapshot(
        self,
        *,
        dbname: str | None = None,
        schemas: list[str] | tuple[str, ...] | None = None,
        exclude_schemas: list[str] | tuple[str, ...] = (),
    ) -> dict[str, Any]:
        """A JSON-able description of the database schema, for before/after comparison.

        Keys: schemas, extensions, tables (columns, constraints, indexes, policies, RLS
        flags, triggers, privileges, comments), views, sequences, functions, enums,
        types (domains and composite types), publications. Objects are keyed by
        qualified name so two snapshots compare with `==` and diff key by key.
        By default every non-system schema is included (auth/storage too: migrations
        put triggers on auth.users); objects that belong to extensions are left out.
        """
        if schemas:
            for s in schemas:
                _check_ident(s)
            cond = "n.nspname in (" + ", ".join(f"'{s}'" for s in schemas) + ")"
        else:
            cond = (
                "n.nspname not in ('pg_catalog', 'information_schema') "
                "and n.nspname not like 'pg\\_toast%' and n.nspname not like 'pg\\_temp\\_%'"
            )
        for s in exclude_schemas:
            _check_ident(s)
            cond += f" and n.nspname <> '{s}'"
        sql = _SNAPSHOT_SQL.replace("__SCHEMA_FILTER__", cond)
        out = self.psql(sql, dbname=dbname, args=["-A", "-t"])
        data = json.loads(out.strip())
        return _normalise_snapshot(data)


class Database:
    """One database of a TempPostgres: the server's SQL methods with `dbname` bound."""

    def __init__(self, server: TempPostgres, name: str) -> None:
        self.server = server
        self.name = name

    def __repr__(self) -> str:
        return f"<Database {self.name} on {self.server.host}:{self.server.port}>"

    @property
    def url(self) -> str:
        return self.server.url_for(self.name)

    def psql(self, sql: str, **kw: Any) -> str:
        return self.server.psql(sql, dbname=self.name, **kw)

    def execute(self, sql: str, **kw: Any) -> None:
        self.server.execute(sql, dbname=self.name, **kw)

    def query(self, sql: str) -> list[dict[str, Any]]:
        return self.server.query(sql, dbname=self.name)

    def scalar(self, sql: str) -> str | None:
        return self.server.scalar(sql, dbname=self.name)

    def apply_file(self, path: str | Path, **kw: Any) -> None:
        self.server.apply_file(path, dbname=self.name, **kw)

    def catalog_snapshot(self, **kw: Any) -> dict[str, Any]:
        return self.server.catalog_snapshot(dbname=self.name, **kw)

    def drop(self) -> None:
        self.server.drop_database(self.name)


def _check_ident(name: str) -> None:
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,62}", name):
        raise ValueError(f"not a plain identifier: {name!r}")


def _normalise_snapshot(data: dict[str, Any]) -> dict[str, Any]:
    """Replace JSON nulls of empty aggregates by empty containers."""
    for key in ("tables", "views", "sequences", "functions", "enums", "types", "extensions", "publications"):
        data[key] = data.get(key) or {}
    data["schemas"] = sorted(data.get("schemas") or [])
    for table in data["tables"].values():
        for key in ("columns", "constraints", "indexes", "policies", "triggers"):
            table[key] = table.get(key) or {}
        table["privileges"] = sorted(table.get("privileges") or [])
    for fn in data["functions"].values():
        fn["privileges"] = sorted(fn.get("privileges") or [])
    for pub in data["publications"].values():
        pub["tables"] = sorted(pub.get("tables") or [])
    return data


def diff_snapshots(before: dict[str, Any], after: dict[str, Any], _path: str = "") -> list[str]:
    """Human-readable differences between two catalog snapshots (empty when equal)."""
    out: list[str] = []
    if isinstance(before, dict) and isinstance(after, dict):
        for key in sorted(set(before) | set(after)):
            p = f"{_path}[{key}]" if _path else str(key)
            if key not in after:
                out.append(f"- {p} (missing after)")
            elif key not in before:
                out.append(f"+ {p} (new after)")
            else:
                out.extend(diff_snapshots(before[key], after[key], p))
    elif before != after:
        out.append(f"~ {_path}: {json.dumps(before, sort_keys=True)} -> {json.dumps(after, sort_keys=True)}")
    return out


# One query, one JSON document. `__SCHEMA_FILTER__` is a condition on `n` (pg_namespace).
_SNAPSHOT_SQL = r"""
with
ext_objs as (
  select objid, classid from pg_depend where deptype = 'e'
),
rels as (
  select c.oid, c.relname, c.relkind, c.relrowsecurity, c.relforcerowsecurity, c.relacl,
         n.nspname, quote_ident(n.nspname) || '.' || quote_ident(c.relname) as qname
  from pg_class c join pg_namespace n on n.oid = c.relnamespace
  where __SCHEMA_FILTER__
    and c.relkind in ('r', 'p', 'v', 'm', 'f', 'S')
    and not exists (select 1 from ext_objs e where e.objid = c.oid and e.classid = 'pg_class'::regclass)
),
cols as (
  select a.attrelid,
         json_object_agg(a.attname, json_build_object(
           'position', a.pos,
           'type', format_type(a.atttypid, a.atttypmod),
           'nullable', not a.attnotnull,
           'default', pg_get_expr(d.adbin, d.adrelid),
           'identity', nullif(a.attidentity, ''),
           'generated', nullif(a.attgenerated, ''),
           'collation', case when a.attcollation <> t.typcollation then co.collname end,
           'comment', col_description(a.attrelid, a.attnum)
         ) order by a.pos) as columns
  from (select *, row_number() over (partition by attrelid order by attnum) as pos
        from pg_attribute where attnum > 0 and not attisdropped) a
  join rels r on r.oid = a.attrelid
  join pg_type t on t.oid = a.atttypid
  left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
  left join pg_collation co on co.oid = a.attcollation
  group by a.attrelid
),
cons as (
  select con.conrelid,
         json_object_agg(con.conname, json_build_object(
           'type', con.contype,
           'definition', pg_get_constraintdef(con.oid, true),
           'deferrable', con.condeferrable,
           'validated', con.convalidated
         ) order by con.conname) as constraints
  from pg_constraint con join rels r on r.oid = con.conrelid
  group by con.conrelid
),
idx as (
  select i.indrelid,
         json_object_agg(ic.relname, json_build_object(
           'definition', pg_get_indexdef(i.indexrelid),
           'unique', i.indisunique,
           'primary', i.indisprimary,
           'valid', i.indisvalid
         ) order by ic.relname) as indexes
  from pg_index i join rels r on r.oid = i.indrelid
  join pg_class ic on ic.oid = i.indexrelid
  group by i.indrelid
),
pols as (
  select p.polrelid,
         json_object_agg(p.polname, json_build_object(
           'command', case p.polcmd when 'r' then 'SELECT' when 'a' then 'INSERT' when 'w' then 'UPDATE'
                                    when 'd' then 'DELETE' else 'ALL' end,
           'permissive', p.polpermissive,
           'roles', (select coalesce(json_agg(case when rid = 0 then 'public' else pg_get_userbyid(rid)::text end
                                               order by case when rid = 0 then 'public' else pg_get_userbyid(rid)::text end), '[]'::json)
                     from unnest(p.polroles) as rid),
           'using', pg_get_expr(p.polqual, p.polrelid),
           'with_check', pg_get_expr(p.polwithcheck, p.polrelid)
         ) order by p.polname) as policies
  from pg_policy p join rels r on r.oid = p.polrelid
  group by p.polrelid
),
trgs as (
  select tg.tgrelid,
         json_object_agg(tg.tgname, json_build_object(
           'definition', pg_get_triggerdef(tg.oid, true),
           'enabled', tg.tgenabled
         ) order by tg.tgname) as triggers
  from pg_trigger tg join rels r on r.oid = tg.tgrelid
  where not tg.tgisinternal
  group by tg.tgrelid
),
privs as (
  select r.oid,
         json_agg(format('%s:%s%s', case when acl.grantee = 0 then 'public' else pg_get_userbyid(acl.grantee)::text end,
                         acl.privilege_type, case when acl.is_grantable then '*' else '' end)) as privileges
  from rels r, lateral aclexplode(r.relacl) acl
  group by r.oid
),
tables as (
  select json_object_agg(r.qname, json_build_object(
           'kind', case r.relkind when 'p' then 'partitioned table' when 'f' then 'foreign table' else 'table' end,
           'rls', r.relrowsecurity,
           'force_rls', r.relforcerowsecurity,
           'owner', pg_get_userbyid((select relowner from pg_class where oid = r.oid)),
           'comment', obj_description(r.oid, 'pg_class'),
           'columns', cols.columns,
           'constraints', cons.constraints,
           'indexes', idx.indexes,
           'policies', pols.policies,
           'triggers', trgs.triggers,
           'privileges', privs.privileges
         ) order by r.qname) as j
  from rels r
  left join cols on cols.attrelid = r.oid
  left join cons on cons.conrelid = r.oid
  left join idx on idx.indrelid = r.oid
  left join pols on pols.polrelid = r.oid
  left join trgs on trgs.tgrelid = r.oid
  left join privs on privs.oid = r.oid
  where r.relkind in ('r', 'p', 'f')
),
views as (
  select json_object_agg(r.qname, json_build_object(
           'kind', case r.relkind when 'm' then 'materialized view' else 'view' end,
           'definition', pg_get_viewdef(r.oid, true),
           'columns', cols.columns,
           'indexes', idx.indexes,
           'triggers', trgs.triggers,
           'options', (select reloptions from pg_class where oid = r.oid),
           'privileges', privs.privileges
         ) order by r.qname) as j
  from rels r
  left join cols on cols.attrelid = r.oid
  left join idx on idx.indrelid = r.oid
  left join trgs on trgs.tgrelid = r.oid
  left join privs on privs.oid = r.oid
  where r.relkind in ('v', 'm')
),
seqs as (
  select json_object_agg(r.qname, json_build_object(
           'type', format_type(s.seqtypid, null),
           'increment', s.seqincrement,
           'owned_by', (select quote_ident(dn.nspname) || '.' || quote_ident(dc.relname) || '.' || quote_ident(da.attname)
                        from pg_depend d
                        join pg_class dc on dc.oid = d.refobjid
                        join pg_namespace dn on dn.oid = dc.relnamespace
                        join pg_attribute da on da.attrelid = d.refobjid and da.attnum = d.refobjsubid
                        where d.objid = r.oid and d.classid = 'pg_class'::regclass and d.deptype in ('a', 'i')
                        limit 1)
         ) order by r.qname) as j
  from rels r join pg_sequence s on s.seqrelid = r.oid
  where r.relkind = 'S'
),
funcs as (
  select json_object_agg(
           quote_ident(n.nspname) || '.' || quote_ident(p.proname) || '(' || pg_get_function_identity_arguments(p.oid) || ')',
           json_build_object(
             'kind', case p.prokind when 'p' then 'procedure' when 'a' then 'aggregate' when 'w' then 'window' else 'function' end,
             'returns', pg_get_function_result(p.oid),
             'language', l.lanname,
             'security_definer', p.prosecdef,
             'volatility', p.provolatile,
             'strict', p.proisstrict,
             'config', p.proconfig,
             'owner', pg_get_userbyid(p.proowner),
             'source', p.prosrc,
             'privileges', (select json_agg(format('%s:%s%s', case when a.grantee = 0 then 'public' else pg_get_userbyid(a.grantee)::text end,
                                                   a.privilege_type, case when a.is_grantable then '*' else '' end)
                                            order by 1)
                            from aclexplode(p.proacl) a)
           ) order by n.nspname, p.proname, pg_get_function_identity_arguments(p.oid)) as j
  from pg_proc p
  join pg_namespace n on n.oid = p.pronamespace
  join pg_language l on l.oid = p.prolang
  where __SCHEMA_FILTER__
    and not exists (select 1 from ext_objs e where e.objid = p.oid and e.classid = 'pg_proc'::regclass)
),
enums as (
  select json_object_agg(quote_ident(n.nspname) || '.' || quote_ident(t.typname),
           (select json_agg(e.enumlabel order by e.enumsortorder) from pg_enum e where e.enumtypid = t.oid)
           order by n.nspname, t.typname) as j
  from pg_type t join pg_namespace n on n.oid = t.typnamespace
  where __SCHEMA_FILTER__ and t.typtype = 'e'
    and not exists (select 1 from ext_objs e where e.objid = t.oid and e.classid = 'pg_type'::regclass)
),
types as (
  select json_object_agg(quote_ident(n.nspname) || '.' || quote_ident(t.typname),
           case t.typtype
             when 'd' then json_build_object(
               'kind', 'domain',
               'base', format_type(t.typbasetype, t.typtypmod),
               'not_null', t.typnotnull,
               'default', t.typdefault,
               'checks', (select json_agg(pg_get_constraintdef(c.oid, true) order by c.conname)
                          from pg_constraint c where c.contypid = t.oid))
             else json_build_object(
               'kind', 'composite',
               'attributes', (select json_agg(json_build_array(a.attname, format_type(a.atttypid, a.atttypmod)) order by a.attnum)
                              from pg_attribute a where a.attrelid = t.typrelid and a.attnum > 0 and not a.attisdropped))
           end
           order by n.nspname, t.typname) as j
  from pg_type t join pg_namespace n on n.oid = t.typnamespace
  left join pg_class tc on tc.oid = t.typrelid
  where __SCHEMA_FILTER__
    and (t.typtype = 'd' or (t.typtype = 'c' and tc.relkind = 'c'))
    and not exists (select 1 from ext_objs e where e.objid = t.oid and e.classid = 'pg_type'::regclass)
),
exts as (
  select json_object_agg(x.extname, json_build_object('schema', xn.nspname, 'version', x.extversion) order by x.extname) as j
  from pg_extension x join pg_namespace xn on xn.oid = x.extnamespace
  where x.extname <> 'plpgsql'
),
pubs as (
  select json_object_agg(pb.pubname, json_build_object(
           'all_tables', pb.puballtables,
           'tables', (select json_agg(quote_ident(pt.schemaname) || '.' || quote_ident(pt.tablename))
                      from pg_publication_tables pt where pt.pubname = pb.pubname)
         ) order by pb.pubname) as j
  from pg_publication pb
),
schemas as (
  select json_agg(n.nspname order by n.nspname) as j
  from pg_namespace n where __SCHEMA_FILTER__
)
select json_build_object(
  'schemas', (select j from schemas),
  'extensions', (select j from exts),
  'tables', (select j from tables),
  'views', (select j from views),
  'sequences', (select j from seqs),
  'functions', (select j from funcs),
  'enums', (select j from enums),
  'types', (select j from types),
  'publications', (select j from pubs)
);
"""
