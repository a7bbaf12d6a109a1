"""Read a commit through GitHub's git data API with as few REST calls as possible.

One ``GET /repos/{repo}/git/trees/{sha}?recursive=1`` lists every file of a commit with its
blob sha; only the files dlcm reads (:func:`checks.source.wanted`, minus the configured
ignore globs) whose blob is not cached yet are fetched with ``GET git/blobs/{sha}``. Three
process-wide caches make the second event of a pull request cheap:

- trees by commit sha (a commit's tree never changes),
- blob contents by blob sha (an LRU bounded in bytes),
- the extraction :class:`checks.build.Cache` (facts per blob sha) and the built models by
  (repository, commit, config blob), so the base model is built once per base commit.

``.github/dlcm.yml`` is read from the head commit; a broken file raises
:class:`checks.config.ConfigError` (file, line, key) for the caller to report.

A ``synchronize`` of a 100-file pull request with a warm cache costs one tree call plus one
blob call per file the push changed.
"""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import functools
import logging
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from checks.build import Cache, build_model
from checks.config import CONFIG_PATHS, Config, ConfigError, match, parse_config
from checks.model import RepoModel
from checks.source import PRUNE_DIRS, MemorySource, wanted

log = logging.getLogger("dlcm.repo_reader")

DEFAULT_BLOB_BYTES = 256 * 1024 * 1024
DEFAULT_TREES = 256
DEFAULT_MODELS = 32
DEFAULT_CACHE_ENTRIES = 200_000  # extraction results kept (one per file version)
MAX_BLOB_BYTES = 10 * 1024 * 1024  # bigger files are not read (generated dumps, fixtures)
SYMLINK_MODE = "120000"

# CPU-bound model building runs off the event loop, one at a time (tree-sitter, pglast and
# the GIL gain nothing from more threads, and acknowledgements must stay fast).
_BUILD_EXECUTOR = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="dlcm-build")


async def in_builder(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """Run CPU-bound ``fn`` on the build thread (never on the event loop)."""
    return await asyncio.get_running_loop().run_in_executor(
        _BUILD_EXECUTOR, functools.partial(fn, *args, **kwargs))


class LRU:
    """A small LRU mapping bounded by entry count and/or total size (``sizeof(value)``)."""

    def __init__(self, max_entries: int | None = None, max_size: int | None = None,
                 sizeof: Any = None) -> None:
        self.max_entries, self.max_size = max_entries, max_size
        self.sizeof = sizeof or (lambda v: 1)
        self.size = 0
        self.hits = self.misses = 0
        self._data: OrderedDict[Any, Any] = OrderedDict()

    def __len__(self) -> int:
        return len(self._data)

    def __contains__(self, key: Any) -> bool:
        return key in self._data

    def get(self, key: Any, default: Any = None) -> Any:
        try:
            value = self._data[key]
        except KeyError:
            self.misses += 1
            return default
        self._data.move_to_end(key)
        self.hits += 1
        return value

    def put(self, key: Any, value: Any) -> None:
        if key in self._data:
            self.size -= self.sizeof(self._data.pop(key))
        self._data[key] = value
        self.size += self.sizeof(value)
        while self._data and (
            (self.max_entries is not None and len(self._data) > self.max_entries)
            or (self.max_size is not None and self.size > self.max_size and len(self._data) > 1)
        ):
            _, old = self._data.popitem(last=False)
            self.size -= self.sizeof(old)

    def clear(self) -> None:
        self._data.clear()
        self.size = 0


@dataclass
class ReadStats:
    """What reading one commit (or a pull request's two) cost."""

    tree_calls: int = 0
    blob_calls: int = 0
    blobs_cached: int = 0
    files: int = 0
    models_cached: int = 0
    skipped_large: list[str] = field(default_factory=list)
    truncated: bool = False

    @property
    def calls(self) -> int:
        return self.tree_calls + self.blob_calls

    def add(self, other: ReadStats) -> None:
        self.tree_calls += other.tree_calls
        self.blob_calls += other.blob_calls
        self.blobs_cached += other.blobs_cached
        self.files += other.files
        self.models_cached += other.models_cached
        self.skipped_large += other.skipped_large
        self.truncated = self.truncated or other.truncated

    def describe(self) -> str:
        return (f"{self.files} files, {self.tree_calls} tree call(s), {self.blob_calls} blob call(s), "
                f"{self.blobs_cached} blob(s) from cache")


@dataclass
class Snapshot:
    """A commit read from GitHub: its wanted files (path → blob sha) and their contents."""

    repo: str
    sha: str
    blobs: dict[str, str]
    source: MemorySource
    config: Config
    config_file: str | None
    config_blob: str | None
    model: RepoModel


@dataclass
class PullModels:
    """Head and base models of a pull request, ready for ``run_checks``."""

    head: Snapshot
    base: Snapshot | None
    stats: ReadStats

    @property
    def config(self) -> Config:
        return self.head.config


class RepoReader:
    """Builds models of commits from the GitHub API, sharing caches across events."""

    def __init__(self, *, blob_bytes: int = DEFAULT_BLOB_BYTES, trees: int = DEFAULT_TREES,
                 models: int = DEFAULT_MODELS, cache: Cache | None = None,
                 cache_entries: int = DEFAULT_CACHE_ENTRIES, concurrency: int = 8) -> None:
        self.blobs = LRU(max_size=blob_bytes, sizeof=len)
        self.trees = LRU(max_entries=trees)
        self.models = LRU(max_entries=models)
        self.cache = cache if cache is not None else Cache()
        self.cache_entries = cache_entries
        self.concurrency = concurrency
        self._inflight: dict[str, asyncio.Future[bytes]] = {}

    def clear(self) -> None:
        """Forget everything (benchmarks measure cold reads with it)."""
        self.blobs.clear()
        self.trees.clear()
        self.models.clear()
        self.cache.entries.clear()

    # -- trees and blobs --------------------------------------------------------------

    async def files_at(self, gh: Any, repo: str, sha: str, stats: ReadStats | None = None) -> dict[str, str]:
        """path → blob sha of every file of ``sha`` dlcm may read (one tree call, cached)."""
        key = (repo.lower(), sha)
        files = self.trees.get(key)
        if files is not None:
            return files
        data = await gh.getitem(f"/repos/{repo}/git/trees/{quote(sha, safe='')}?recursive=1")
        if stats is not None:
            stats.tree_calls += 1
        if data.get("truncated"):
            # GitHub caps recursive trees (100,000 entries / 7 MB); what it returned is read.
            log.warning("tree of %s@%s is truncated by GitHub; reading the listed files only", repo, sha)
            if stats is not None:
                stats.truncated = True
        files = {}
        for entry in data.get("tree") or ():
            path = entry.get("path") or ""
            if entry.get("type") != "blob" or entry.get("mode") == SYMLINK_MODE:
                continue
            if any(part in PRUNE_DIRS for part in path.split("/")[:-1]) or not wanted(path):
                continue
            if (entry.get("size") or 0) > MAX_BLOB_BYTES:
                if stats is not None:
                    stats.skipped_large.append(path)
                continue
            files[path] = entry["sha"]
        self.trees.put(key, files)
        return files

    async def fetch_blobs(self, gh: Any, repo: str, shas: set[str] | list[str],
                          stats: ReadStats | None = None) -> dict[str, bytes]:
        """Contents of the given blobs: from the cache, else one ``GET git/blobs`` each."""
        out: dict[str, bytes] = {}
        todo: list[str] = []
        waits: list[tuple[str, asyncio.Future[bytes]]] = []
        for sha in dict.fromkeys(shas):
            data = self.blobs.get(sha)
            if data is not None:
                out[sha] = data
                if stats is not None:
                    stats.blobs_cached += 1
            elif sha in self._inflight:  # another job is fetching it right now: share
                waits.append((sha, self._inflight[sha]))
            else:
                todo.append(sha)
                self._inflight[sha] = asyncio.get_running_loop().create_future()
        if todo:
            limit = asyncio.Semaphore(self.concurrency)

            async def one(sha: str) -> None:
                future = self._inflight[sha]
                try:
                    async with limit:
                        body = await gh.getitem(f"/repos/{repo}/git/blobs/{sha}")
                    data = decode_blob(body)
                except BaseException as exc:
                    future.set_exception(exc)
                    future.exception()  # retrieved: waiters re-raise it, nobody else must
                    raise
                else:
                    self.blobs.put(sha, data)
                    future.set_result(data)
                    out[sha] = data
                finally:
                    self._inflight.pop(sha, None)

            results = await asyncio.gather(*(one(s) for s in todo), return_exceptions=True)
            if stats is not None:
                stats.blob_calls += len(todo)
            for r in results:
                if isinstance(r, BaseException):
                    raise r
        for sha, future in waits:
            out[sha] = await asyncio.shield(future)
            if stats is not None:
                stats.blobs_cached += 1
        return out

    # -- config and models ------------------------------------------------------------

    async def config_at(self, gh: Any, repo: str, files: dict[str, str],
                        stats: ReadStats | None = None) -> tuple[Config, str | None, str | None]:
        """(config, its path, its blob sha) of a commit; ConfigError when it is broken."""
        for path in CONFIG_PATHS:
            sha = files.get(path)
            if sha is None:
                continue
            data = (await self.fetch_blobs(gh, repo, [sha], stats))[sha]
            text = data.decode("utf-8", errors="replace").lstrip("\ufeff")
            return parse_config(text, path), path, sha
        return Config(), None, None

    async def snapshot(self, gh: Any, repo: str, sha: str, *, config: Config | None = None,
                       config_file: str | None = None, config_blob: str | None = None,
                       stats: ReadStats | None = None) -> Snapshot:
        """The model of commit ``sha``; with ``config`` (the head's) instead of its own."""
        stats = stats if stats is not None else ReadStats()
        files = await self.files_at(gh, repo, sha, stats)
        if config is None:
            config, config_file, config_blob = await self.config_at(gh, repo, files, stats)
        key = (repo.lower(), sha, config_blob or "default")
        cached = self.models.get(key)
        if cached is not None:
            stats.models_cached += 1
            stats.files += len(cached.blobs)
            return cached
        wanted_files = {p: s for p, s in files.items() if not match(p, config.paths.ignore)}
        contents = await self.fetch_blobs(gh, repo, set(wanted_files.values()), stats)
        stats.files += len(wanted_files)
        source = MemorySource({p: contents[s] for p, s in wanted_files.items()},
                              label=f"{repo}@{sha[:12]}", ref=sha, blob_ids=dict(wanted_files))
        model = await in_builder(self._build, source, config)
        model.config_file = config_file
        snap = Snapshot(repo, sha, wanted_files, source, config, config_file, config_blob, model)
        self.models.put(key, snap)
        return snap

    def _build(self, source: MemorySource, config: Config) -> RepoModel:
        model = build_model(source, config, self.cache)
        entries = self.cache.entries
        if len(entries) > self.cache_entries:  # drop the oldest extraction results
            for k in list(entries)[: len(entries) - self.cache_entries]:
                del entries[k]
        return model

    async def pull_models(self, gh: Any, repo: str, head_sha: str, base_sha: str | None) -> PullModels:
        """Head model (its own config) and base model (read with the head's config)."""
        stats = ReadStats()
        head = await self.snapshot(gh, repo, head_sha, stats=stats)
        base = None
        if base_sha and base_sha != head_sha:
            base = await self.snapshot(gh, repo, base_sha, config=head.config, config_file=head.config_file,
                                       config_blob=head.config_blob, stats=stats)
            base.model.ref = base_sha[:12]  # a label: "compared with <sha>" in reports
        return PullModels(head, base, stats)


def decode_blob(body: Any) -> bytes:
    """Bytes of a ``GET git/blobs`` answer (base64 JSON, or a raw body)."""
    if isinstance(body, dict):
        content = body.get("content") or ""
        if body.get("encoding") == "base64":
            return base64.b64decode(content)
        return content.encode("utf-8")
    if isinstance(body, bytes):
        return body
    return str(body or "").encode("utf-8")


def file_url(html_url: str, sha: str, path: str, line: int | None = None) -> str:
    """Link to ``path`` at commit ``sha`` on GitHub (``#L<line>`` when given)."""
    url = f"{html_url.rstrip('/')}/blob/{sha}/{quote(path)}"
    return f"{url}#L{line}" if line else url


#: The process-wide reader the App's features share.
READER = RepoReader()

__all__ = ["READER", "ConfigError", "LRU", "PullModels", "ReadStats", "RepoReader", "Snapshot",
           "decode_blob", "file_url", "in_builder"]
