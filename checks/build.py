"""Build a `RepoModel` from a source. Per-file extraction is cached by blob id.

The cache is a plain dict (blob id -> extracted facts) that the App keeps in
memory and the CLI persists with pickle under the cache directory, so a second
run only re-reads the files that changed. On disk it is a full file plus a small
delta file (what changed since the full one was written), so that a run that
re-extracts a few files does not rewrite everything.
"""

from __future__ import annotations

import gc
import hashlib
import os
import pickle
import posixpath
import tempfile
import threading
from dataclasses import dataclass, field
from typing import Any

from .config import Config, ConfigError, load_config, match
from .model import Diagnostic, Migration, RepoModel, Rollback
from .owners import load_owners
from .source import DirSource, Source, read_text
from .workspace import find_packages, tsconfig_paths

CACHE_VERSION = "1"
TS_SUFFIXES = (".ts", ".tsx", ".mts", ".cts")
# Extraction of uncached TypeScript files is spread over processes from this many files on
# (a process pool costs ~20 ms to start; below this the build is fast anyway).
PARALLEL_MIN_FILES = 200
PARALLEL_CHUNK = 24  # files per task: small enough to balance, large enough to amortise the pickling


# A save writes only a delta file while the changes since the full file stay below this.
DELTA_MIN = 256
DELTA_FRACTION = 0.25


@dataclass
class _CacheBase:
    """What the full cache file holds (entries are keyed by content, so a key's value never changes)."""

    token: str  # written in the full file and in its delta
    keys: frozenset
    stat: dict


@dataclass
class Cache:
    """Extraction results by (kind, blob id); `hits`/`misses` are for benchmarks and tests."""

    entries: dict[tuple[str, str], Any] = field(default_factory=dict)
    hits: int = 0
    misses: int = 0
    dirty: bool = False
    base: _CacheBase | None = None  # the on-disk full file this cache was loaded from (see save_cache)

    def get(self, kind: str, blob: str, compute):
        key = (kind, blob)
        if key in self.entries:
            self.hits += 1
            return self.entries[key]
        self.misses += 1
        value = compute()
        self.entries[key] = value
        self.dirty = True
        return value


def default_cache_dir() -> str:
    return os.environ.get("DLCM_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "dlcm")


_CODE_DIGEST: str | None = None


def code_digest() -> str:
    """Digest of the extractors' own code: a new dlcm version never reuses stale facts."""
    global _CODE_DIGEST
    if _CODE_DIGEST is None:
        h = hashlib.sha1(CACHE_VERSION.encode())
        here = os.path.dirname(os.path.abspath(__file__))
        for sub in ("ts", "sql", "ts/queries"):
            d = os.path.join(here, sub)
            for name in sorted(os.listdir(d)) if os.path.isdir(d) else []:
                if name.endswith((".py", ".scm")):
                    with open(os.path.join(d, name), "rb") as f:
                        h.update(name.encode() + f.read())
        _CODE_DIGEST = h.hexdigest()[:12]
    return _CODE_DIGEST


def _cache_file(cache_dir: str, label: str) -> str:
    h = hashlib.sha1(f"{code_digest()}:{label}".encode()).hexdigest()[:16]
    return os.path.join(cache_dir, f"model-{h}.pickle")


class _NoGC:
    """Pickling thousands of small objects triggers many useless GC passes (~5x slower)."""

    def __enter__(self):
        self.was = gc.isenabled()
        gc.disable()

    def __exit__(self, *exc):
        if self.was:
            gc.enable()


def _delta_file(cache_file: str) -> str:
    return cache_file[: -len(".pickle")] + ".delta.pickle"


def _load_pickle(path: str):
    with open(path, "rb") as f, _NoGC():
        return pickle.load(f)


def _dump_pickle(cache_dir: str, path: str, data: dict) -> None:
    fd, tmp = tempfile.mkstemp(dir=cache_dir, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f, _NoGC():
            pickle.dump(data, f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.remove(tmp)
        except OSError:
            pass
        raise


def load_cache(cache_dir: str, label: str) -> tuple[Cache, dict]:
    """The extraction cache and DirSource stat cache of a root (empty when missing or stale)."""
    path = _cache_file(cache_dir, label)
    try:
        data = _load_pickle(path)
        if data.get("version") == CACHE_VERSION:
            entries, stat = data["entries"], data.get("stat", {})
            token = data.get("token")
            if not token:
                return Cache(entries=entries), stat
            base = _CacheBase(token, frozenset(entries), dict(stat))
            try:
                delta = _load_pickle(_delta_file(path))
                if delta.get("version") == CACHE_VERSION and delta.get("base") == token:
                    for k in delta["removed"]:
                        entries.pop(k, None)
                    entries.update(delta["entries"])
                    stat.update(delta["stat"])
            except Exception:  # no delta (or a broken one: its entries are just extracted again)
                pass
            return Cache(entries=entries, base=base), stat
    except Exception:  # a corrupt or old cache is just a cold start
        pass
    return Cache(), {}


def save_cache(cache_dir: str, label: str, cache: Cache, stat: dict | None = None, stat_dirty: bool = True) -> None:
    """Persist `cache` (and the stat cache): as a delta to the full file it was loaded from when the
    changes are few, else as a new full file."""
    if not cache.dirty and not stat_dirty:
        return
    os.makedirs(cache_dir, exist_ok=True)
    target = _cache_file(cache_dir, label)
    stat = stat or {}
    base = cache.base
    if base is not None:
        entries = cache.entries
        added = [k for k in entries if k not in base.keys]
        removed = [k for k in base.keys if k not in entries]
        stat_changed = {p: v for p, v in stat.items() if base.stat.get(p) != v}
        stat_kept = len(stat) - sum(1 for p in stat_changed if p not in base.stat)
        if stat_kept == len(base.stat) and \
                len(added) + len(removed) + len(stat_changed) <= max(DELTA_MIN, DELTA_FRACTION * len(base.keys)):
            _dump_pickle(cache_dir, _delta_file(target), {
                "version": CACHE_VERSION, "base": base.token, "entries": {k: entries[k] for k in added},
                "removed": removed, "stat": stat_changed})
            return
    token = os.urandom(8).hex()
    _dump_pickle(cache_dir, target, {"version": CACHE_VERSION, "token": token, "entries": cache.entries, "stat": stat})
    try:
        os.remove(_delta_file(target))
    except OSError:
        pass
    cache.base = _CacheBase(token, frozenset(cache.entries), dict(stat))


def find_supabase_dir(files: list[str], config: Config) -> str | None:
    """`supabase/` wherever it lives in the monorepo (the shallowest one holding migrations)."""
    if config.paths.supabase_dir != "auto":
        return config.paths.supabase_dir.strip("/")
    cands: dict[str, int] = {}
    for f in files:
        parts = f.split("/")
        for i, part in enumerate(parts[:-1]):
            if part == "supabase":
                d = "/".join(parts[: i + 1])
                rest = parts[i + 1 :]
                score = 2 if rest[0] == config.paths.migrations.split("/")[0] else 1
                cands[d] = max(cands.get(d, 0), score)
    if not cands:
        return None
    return sorted(cands, key=lambda d: (-cands[d], d.count("/"), d))[0]


def _sql_extract(path: str, text: str, kind: str, suffix: str):
    from .sql.migrations import build_migration, build_rollback
    from .sql.parse import find_suppressions

    obj = build_migration(path, text) if kind == "migration" else build_rollback(path, text, suffix)
    return obj, find_suppressions(path, text)


def extraction_jobs() -> int:
    """Processes (this one included) that may extract TypeScript files: `DLCM_JOBS`, else the CPUs.

    1 (no pool) unless processes can be forked safely: no other thread runs in this one (the App
    builds models from worker threads and always extracts in-process).
    """
    env = os.environ.get("DLCM_JOBS", "").strip()
    try:
        jobs = int(env) if env else len(os.sched_getaffinity(0))
    except (ValueError, AttributeError):
        jobs = os.cpu_count() or 1
    if jobs <= 1 or threading.active_count() > 1 or threading.current_thread() is not threading.main_thread():
        return 1
    import multiprocessing

    if "fork" not in multiprocessing.get_all_start_methods():
        return 1
    return jobs


def _extract_chunk(chunk: list[tuple[str, bytes]]) -> list:
    """Worker side of `_ParallelExtraction`."""
    from .ts.facts import extract_file

    with _NoGC():
        return [extract_file(path, data) for path, data in chunk]


class _ParallelExtraction:
    """TypeScript facts of many files, extracted by forked workers and by this process.

    Chunks of files are queued for `jobs - 1` workers as soon as they are read (the rest of the build
    runs meanwhile); `finish()` then takes back the chunks no worker has started, last first, and runs
    them here, so both sides end together. Results are the same `extract_file` values (pickled).
    """

    def __init__(self, jobs: int):
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        self.pool = ProcessPoolExecutor(max_workers=jobs - 1, mp_context=multiprocessing.get_context("fork"))
        self.chunks: list[list[tuple[str, bytes]]] = []
        self.futures: list = []

    def submit(self, items: list[tuple[str, bytes]]) -> None:
        for i in range(0, len(items), PARALLEL_CHUNK):
            chunk = items[i:i + PARALLEL_CHUNK]
            self.chunks.append(chunk)
            self.futures.append(self.pool.submit(_extract_chunk, chunk))

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)

    def finish(self) -> dict[str, Any]:
        from .ts.facts import extract_file

        out: dict[str, Any] = {}
        try:
            for i in range(len(self.futures) - 1, -1, -1):
                if not self.futures[i].cancel():
                    break
                for path, data in self.chunks[i]:
                    out[path] = extract_file(path, data)
            for fut, chunk in zip(self.futures, self.chunks):
                if fut.cancelled():
                    continue
                try:
                    results = fut.result()
                except Exception:  # a dead worker: these files are extracted in-process by the caller
                    continue
                for (path, _data), facts in zip(chunk, results):
                    out[path] = facts
        finally:
            self.close()
        return out


def _blob_ids(source: Source, files: list[str], cache: Cache) -> tuple[dict[str, str], _ParallelExtraction | None]:
    """Blob ids of `files` and, when at least `PARALLEL_MIN_FILES` TypeScript files are not in the cache
    (and `extraction_jobs()` allows), their extraction in other processes, started while hashing.

    Files with the same content are extracted once (the later ones are cache hits of the first, as
    in-process); unreadable files are left to the in-process path, which reports them.
    """
    n_ts = sum(1 for f in files if f.endswith(TS_SUFFIXES))
    jobs = extraction_jobs() if n_ts >= PARALLEL_MIN_FILES else 1
    if jobs <= 1:
        return {f: source.blob_id(f) for f in files}, None
    blobs: dict[str, str] = {}
    seen: set[str] = set()
    pending: list[tuple[str, bytes]] = []
    parallel: _ParallelExtraction | None = None
    try:
        for f in files:  # TypeScript first: its extraction starts while the rest is hashed
            if not f.endswith(TS_SUFFIXES):
                continue
            blob = blobs[f] = source.blob_id(f)
            if ("ts", blob) in cache.entries or blob in seen:
                continue
            seen.add(blob)
            try:
                pending.append((f, source.read_bytes(f)))
            except Exception:
                continue
            if parallel is None and len(pending) >= PARALLEL_MIN_FILES:
                parallel = _ParallelExtraction(jobs)
            if parallel is not None and len(pending) >= PARALLEL_CHUNK:
                parallel.submit(pending)
                pending = []
        if parallel is not None and pending:
            parallel.submit(pending)
        return {f: blobs[f] if f in blobs else source.blob_id(f) for f in files}, parallel
    except BaseException:
        if parallel is not None:
            parallel.close()
        raise


def build_model(source: Source, config: Config | None = None, cache: Cache | None = None) -> RepoModel:
    with _NoGC():  # extraction allocates many long-lived small objects; cyclic GC only slows it
        return _build_model(source, config, cache)


def _build_model(source: Source, config: Config | None = None, cache: Cache | None = None) -> RepoModel:
    """Everything dlcm knows about the repository behind `source`.

    Raises ConfigError for a broken `.github/dlcm.yml` (the user must fix it);
    any other unreadable file becomes a diagnostic in the model.
    """
    cache = cache if cache is not None else Cache()
    all_files = source.files()
    fileset = set(all_files)
    config_file = None
    if config is None:
        config, config_file = load_config(lambda p: read_text(source, p), lambda p: p in fileset)
    files = [f for f in all_files if not match(f, config.paths.ignore)]
    diags: list[Diagnostic] = []
    model = RepoModel(root=source.label, ref=getattr(source, "ref", None), config_file=config_file)
    if hasattr(source, "prefetch"):
        source.prefetch(files)  # type: ignore[attr-defined]

    model.packages = find_packages(source, files, config, diags)
    model.files, parallel = _blob_ids(source, files, cache)  # a parallel extraction runs while SQL is read
    ts_files = [f for f in files if f.endswith(TS_SUFFIXES)]

    # ---- SQL
    sdir = find_supabase_dir(files, config)
    model.supabase_dir = sdir
    if sdir is not None:
        mig_dir = posixpath.join(sdir, config.paths.migrations)
        rb_dir = posixpath.join(sdir, config.paths.rollbacks)
        suffix = config.paths.rollback_suffix
        migrations: list[Migration] = []
        rollbacks: list[Rollback] = []
        for f in files:
            d, name = posixpath.split(f)
            if not name.endswith(".sql"):
                continue
            if d == mig_dir:
                kind = "migration"
            elif d == rb_dir and name.endswith(suffix):
                kind = "rollback"
            else:
                continue
            try:
                # keyed by content AND path: a migration's version/name/stem come from its file name
                obj, sups = cache.get(kind, f"{model.files[f]}:{f}", lambda: _sql_extract(f, read_text(source, f), kind, suffix))
            except Exception as e:  # never crash on one file
                diags.append(Diagnostic(file=f, line=1, kind="unreadable", message=f"could not read: {e}"))
                continue
            obj = obj.model_copy(deep=True)
            (migrations if kind == "migration" else rollbacks).append(obj)
            model.suppressions.extend(s.model_copy(update={"file": f}) for s in sups)
        migrations.sort(key=lambda m: (m.version or "", m.path))
        by_stem = {r.stem: r for r in rollbacks}
        for m in migrations:
            r = by_stem.get(m.stem)
            m.rollback = r.path if r else None
            if m.parse_error:
                diags.append(m.parse_error)
        for r in rollbacks:
            if r.parse_error:
                diags.append(r.parse_error)
        model.migrations, model.rollbacks = migrations, rollbacks
        from .sql.replay import replay_with_warnings

        schema, warnings = replay_with_warnings(migrations)
        model.schema_ = schema
        for w in warnings:
            diags.append(w if isinstance(w, Diagnostic) else Diagnostic(file=mig_dir, line=1, kind="replay-warning", message=str(w)))

    # ---- TypeScript
    from .ts.facts import extract_file
    from .ts.link import link

    done = parallel.finish() if parallel is not None else {}
    facts = {}
    for f in ts_files:
        try:
            facts[f] = cache.get("ts", model.files[f],
                                 lambda: done[f] if f in done else extract_file(f, source.read_bytes(f)))
        except Exception as e:
            diags.append(Diagnostic(file=f, line=1, kind="unreadable", message=f"could not read: {e}"))
    linked = link(facts, model.packages, config, tsconfig_paths(source, files, diags))
    model.database_types = linked.database_types
    model.repositories = linked.repositories
    model.implementations = linked.implementations
    model.table_usage = linked.table_usage
    model.routes = linked.routes
    model.client_methods = linked.client_methods
    model.consumers = linked.consumers
    model.tests = linked.tests
    model.suppressions.extend(linked.suppressions)
    diags.extend(linked.diagnostics)

    # ---- owners
    model.components, model.component_board, model.codeowners = load_owners(
        source, files, config.paths.component_board, config.paths.codeowners, diags)
    model.diagnostics = diags
    return model


def build_from_path(path: str, ref: str | None = None, use_cache: bool = True,
                    cache_dir: str | None = None) -> tuple[RepoModel, Config]:
    """CLI entry: a directory or a git ref, with the on-disk cache."""
    model, _, config, _ = build_with_base(path, None, use_cache, cache_dir, ref=ref)
    return model, config


def build_with_base(path: str, base: str | None, use_cache: bool = True, cache_dir: str | None = None,
                    ref: str | None = None) -> tuple[RepoModel, RepoModel | None, Config, Source]:
    """The model of `path` (or of `ref`) and, with `base`, of that git ref too: one config, one cache."""
    # No cyclic GC from loading the cache to saving it: a collection right after unpickling (or after
    # the build) would only walk the hundreds of thousands of fresh, long-lived objects (~50 ms).
    with _NoGC():
        return _build_with_base(path, base, use_cache, cache_dir, ref)


def _build_with_base(path: str, base: str | None, use_cache: bool, cache_dir: str | None,
                     ref: str | None) -> tuple[RepoModel, RepoModel | None, Config, Source]:
    from .source import GitSource, open_source

    source = open_source(path, ref)
    fileset = set(source.files())
    config, config_file = load_config(lambda p: read_text(source, p), lambda p: p in fileset)
    cache_dir = cache_dir or default_cache_dir()
    cache, stat = (load_cache(cache_dir, source.label) if use_cache else (Cache(), {}))
    if isinstance(source, DirSource):
        source.stat_cache = stat
    model = build_model(source, config, cache)
    model.config_file = config_file
    base_model = None
    if base:
        base_model = build_model(GitSource(path, base), config, cache)
        base_model.ref = base
    if use_cache:
        live: set[str] = set()
        for m in (model, base_model):
            if m is not None:
                live |= set(m.files.values()) | {f"{b}:{f}" for f, b in m.files.items() if f.endswith(".sql")}
        stale = [k for k in cache.entries if k[1] not in live]
        for k in stale:  # keep the cache the size of the repository
            del cache.entries[k]
        cache.dirty = cache.dirty or bool(stale)
        try:
            save_cache(cache_dir, source.label, cache, getattr(source, "stat_cache", None),
                       getattr(source, "stat_dirty", True))
        except OSError:
            pass  # a read-only home is not an error
    return model, base_model, config, source


__all__ = ["Cache", "ConfigError", "build_model", "build_from_path", "build_with_base", "find_supabase_dir"]
