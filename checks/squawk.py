"""Run Squawk (the PostgreSQL migration linter, PyPI `squawk-cli`) and read its JSON report.

    violations = run_squawk(["supabase/migrations/20240101000000_x.sql"], cwd=repo_root)

One subprocess for all files. Squawk's JSON reporter gives 0-based `line`/`column`
(checked against squawk-cli 2.70: the tty reporter shows the same spot as `1:1` where the
JSON says `line 0, column 0`); `SquawkViolation` holds them 1-based. Squawk exits 1 both
when it found violations and when it failed (unknown file, broken `.squawk.toml`): the
output is JSON only in the first case, so anything else raises `SquawkError`.

`.squawk.toml`: Squawk looks for it from its working directory upwards, or takes
`--config`. Rule exclusions are applied here, after the run, and not with `--exclude`:
`--exclude` on the command line replaces the `excluded_rules` of the config file instead
of adding to them, and the target repository's own configuration must keep working.
"""

from __future__ import annotations

import json
import os
import posixpath
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "PINNED_VERSION", "TIMEOUT_RULES", "SquawkError", "SquawkViolation", "find_squawk", "squawk_version",
    "run_squawk", "materialise", "find_config", "Workdir",
]

PINNED_VERSION = "2.70.0"  # the squawk-cli dlcm is tested with (pyproject pins it)
# Squawk 2.28 added `require-timeout-settings`; 2.5x split it into the lock/statement rules and
# kept the old name as an alias. On Supabase the CLI runs migrations without those settings by
# design, so they are noise unless `squawk.timeout_rules: true`.
TIMEOUT_RULES = frozenset({"require-timeout-settings", "require-lock-timeout", "require-statement-timeout"})
CONFIG_NAME = ".squawk.toml"
_GLOB_CHARS = "*?[]{}"


class SquawkError(RuntimeError):
    """Squawk is missing, failed, or printed something that is not its JSON report."""

    def __init__(self, message: str, *, config_file: str | None = None):
        super().__init__(message)
        self.config_file = config_file


@dataclass(frozen=True)
class SquawkViolation:
    file: str  # as given to run_squawk (repository-relative)
    line: int  # 1-based
    column: int  # 1-based
    end_line: int
    end_column: int
    level: str  # "error" / "warning" (Squawk's "Error" / "Warning", lower-cased)
    rule: str  # Squawk's rule name, e.g. "adding-required-field"
    message: str
    help: str | None = None

    @property
    def help_uri(self) -> str:
        return f"https://squawkhq.com/docs/{self.rule}"


def find_squawk() -> str | None:
    """The `squawk` executable: `$DLCM_SQUAWK`, beside the running Python (the venv's
    `bin/` where `pip install squawk-cli` puts it), then PATH."""
    env = os.environ.get("DLCM_SQUAWK")
    if env:
        return env if os.path.isfile(env) and os.access(env, os.X_OK) else None
    name = "squawk.exe" if os.name == "nt" else "squawk"
    # not resolved: a venv's python is a symlink to the system one, its scripts are beside the link
    beside = Path(sys.executable).parent / name
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which("squawk")


_version_cache: dict[str, str | None] = {}


def squawk_version(exe: str) -> str | None:
    if exe not in _version_cache:
        try:
            out = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=30).stdout
            _version_cache[exe] = out.strip().split()[-1] if out.strip() else None
        except (OSError, subprocess.SubprocessError):
            _version_cache[exe] = None
    return _version_cache[exe]


def _pattern(path: str) -> str:
    """Squawk treats its arguments as glob patterns: escape the glob characters of a real path."""
    if not any(c in path for c in _GLOB_CHARS):
        return path
    return "".join(f"[{c}]" if c in _GLOB_CHARS else c for c in path)


def _pg_version(v: str | None) -> str | None:
    if not v:
        return None
    v = str(v).strip()
    return v if "." in v else v + ".0"


def run_squawk(paths: list[str], *, cwd: str, exe: str | None = None, pg_version: str | None = None,
               config_file: str | None = None, assume_in_transaction: bool = True,
               timeout: float = 300.0) -> list[SquawkViolation]:
    """Squawk's violations for `paths` (relative to `cwd`), in one run.

    `config_file` (relative to `cwd` or absolute) is passed with `--config`; without it
    Squawk finds `.squawk.toml` from `cwd` upwards. Raises SquawkError when Squawk cannot
    be run or fails.
    """
    if not paths:
        return []
    exe = exe or find_squawk()
    if exe is None:
        raise SquawkError("the `squawk` executable was not found")
    argv = [exe, "--reporter", "json"]
    if assume_in_transaction:
        argv.append("--assume-in-transaction")
    pgv = _pg_version(pg_version)
    if pgv:
        argv += ["--pg-version", pgv]
    if config_file:
        argv += ["--config", config_file]
    by_arg = {}
    for p in paths:
        by_arg[_pattern(p)] = p
    argv += list(by_arg)
    try:
        res = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, encoding="utf-8", errors="replace",
                             timeout=timeout, stdin=subprocess.DEVNULL)
    except FileNotFoundError:
        raise SquawkError(f"the `squawk` executable {exe} could not be run") from None
    except subprocess.TimeoutExpired:
        raise SquawkError(f"squawk did not finish within {timeout:.0f} s") from None
    out = res.stdout.strip()
    try:
        data = json.loads(out) if out else ([] if res.returncode == 0 else None)
    except json.JSONDecodeError:
        data = None
    if not isinstance(data, list):
        text = " ".join((res.stdout + "\n" + res.stderr).split())
        cfg = config_file if "onfiguration" in text else None
        raise SquawkError(f"squawk failed (exit {res.returncode}): {text[:500] or 'no output'}", config_file=cfg)
    known = set(paths)
    out_v: list[SquawkViolation] = []
    for v in data:
        f = v.get("file") or ""
        f = by_arg.get(f, f)
        if f not in known:  # squawk printed the path differently: match by suffix
            f = next((p for p in paths if posixpath.normpath(p) == posixpath.normpath(f)), f)
        line = int(v.get("line") or 0) + 1
        end_line = int(v.get("line_end") if v.get("line_end") is not None else line - 1) + 1
        out_v.append(SquawkViolation(
            file=f, line=line, column=int(v.get("column") or 0) + 1,
            end_line=max(end_line, line), end_column=int(v.get("column_end") or 0) + 1,
            level=str(v.get("level") or "warning").lower(), rule=str(v.get("rule_name") or "squawk"),
            message=str(v.get("message") or "").strip(), help=(v.get("help") or None)))
    return out_v


def find_config(files, start_dir: str | None) -> str | None:
    """The `.squawk.toml` Squawk would use for files under `start_dir`: the nearest one
    from `start_dir` up to the repository root (`files` is the repository's file list)."""
    fileset = files if isinstance(files, (set, frozenset, dict)) else set(files)
    d = (start_dir or "").strip("/")
    while True:
        cand = posixpath.join(d, CONFIG_NAME) if d else CONFIG_NAME
        if cand in fileset:
            return cand
        if not d:
            return None
        d = posixpath.dirname(d)


def materialise(source, paths: list[str], target: str) -> None:
    """Write `paths` of `source` (a GitSource / MemorySource) under `target` at the same
    relative paths, for tools that read files from disk."""
    for p in paths:
        dest = os.path.join(target, *p.split("/"))
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        with open(dest, "wb") as fh:
            fh.write(source.read_bytes(p))


class Workdir:
    """A directory holding `paths` as they are in `source`: the source's own root when it is
    a working tree on disk, else a temporary copy (removed on exit)."""

    def __init__(self, source, paths: list[str]):
        self.source, self.paths = source, paths
        self._tmp: str | None = None

    def __enter__(self) -> str:
        root = getattr(self.source, "root", None)
        if isinstance(root, str) and os.path.isdir(root) and not hasattr(self.source, "commit"):
            return root
        # tmpfs when there is one: Squawk reads freshly written files from it 2-3x faster than from a disk /tmp
        for base in (os.environ.get("DLCM_TMPDIR"), "/dev/shm", None):
            if base is not None and not os.access(base, os.W_OK):
                continue
            try:
                self._tmp = tempfile.mkdtemp(prefix="dlcm-squawk-", dir=base)
                materialise(self.source, self.paths, self._tmp)
                return self._tmp
            except OSError:
                if self._tmp:
                    shutil.rmtree(self._tmp, ignore_errors=True)
                    self._tmp = None
                if base is None:
                    raise
        raise OSError("no writable temporary directory")

    def __exit__(self, *exc) -> None:
        if self._tmp:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None
