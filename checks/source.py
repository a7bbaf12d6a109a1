"""Where a repository's files come from: a directory, a git ref, or memory.

Every source names files by POSIX path relative to the root and gives a
content id (the git blob sha, computed the same way for all sources) so the
per-file extraction cache is shared between the CLI, the Action and the App.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from dataclasses import dataclass, field
from typing import Protocol

# Directories never worth walking into; the configurable ignore globs apply after.
PRUNE_DIRS = {".git", "node_modules", ".pnpm-store", ".turbo", ".next", ".venv", "__pycache__", ".dlcm-cache"}
# Only these files feed the model; everything else is not read at all.
WANTED_SUFFIXES = (".ts", ".tsx", ".mts", ".cts", ".sql", ".json", ".yml", ".yaml", ".md", ".toml")
WANTED_NAMES = {"CODEOWNERS"}


def wanted(path: str) -> bool:
    name = path.rsplit("/", 1)[-1]
    return name in WANTED_NAMES or name.endswith(WANTED_SUFFIXES)


def blob_sha(data: bytes) -> str:
    h = hashlib.sha1(b"blob %d\0" % len(data))
    h.update(data)
    return h.hexdigest()


class SourceError(Exception):
    pass


class Source(Protocol):
    label: str
    ref: str | None

    def files(self) -> list[str]: ...

    def blob_id(self, path: str) -> str: ...

    def read_bytes(self, path: str) -> bytes: ...


def read_text(source: Source, path: str) -> str:
    data = source.read_bytes(path)
    return data.decode("utf-8", errors="replace").lstrip("\ufeff")


# Contents read to hash a file are kept for the read that follows (extraction), up to this many bytes.
STASH_SUFFIXES = (".ts", ".tsx", ".mts", ".cts", ".sql")
STASH_LIMIT = 64 * 1024 * 1024


@dataclass
class DirSource:
    """A working tree on disk. Blob ids are cached by (mtime, size) like git's index.

    A file hashed for its blob id (a stat cache miss) is read once: `read_bytes` then takes the
    content read for hashing (TypeScript and SQL files, within `STASH_LIMIT`).
    """

    root: str
    stat_cache: dict[str, tuple[int, int, str]] = field(default_factory=dict)
    ref: str | None = None

    def __post_init__(self):
        self.root = os.path.abspath(self.root)
        if not os.path.isdir(self.root):
            raise SourceError(f"{self.root}: not a directory")
        self.label = self.root
        self._files: list[str] | None = None
        self.stat_dirty = False
        self._stash: dict[str, bytes] = {}
        self._stash_size = 0

    def files(self) -> list[str]:
        if self._files is None:
            out: list[str] = []
            root_len = len(self.root) + 1
            for dirpath, dirnames, filenames in os.walk(self.root):
                dirnames[:] = sorted(d for d in dirnames if d not in PRUNE_DIRS)
                rel = dirpath[root_len:].replace(os.sep, "/")
                for f in filenames:
                    if wanted(f):
                        out.append(f"{rel}/{f}" if rel else f)
            out.sort()
            self._files = out
        return self._files

    def _abs(self, path: str) -> str:
        return os.path.join(self.root, *path.split("/"))

    def blob_id(self, path: str) -> str:
        st = os.stat(self._abs(path))
        hit = self.stat_cache.get(path)
        if hit and hit[0] == st.st_mtime_ns and hit[1] == st.st_size:
            return hit[2]
        data = self.read_bytes(path)
        sha = blob_sha(data)
        self.stat_cache[path] = (st.st_mtime_ns, st.st_size, sha)
        self.stat_dirty = True
        if path.endswith(STASH_SUFFIXES) and self._stash_size + len(data) <= STASH_LIMIT:
            self._stash[path] = data
            self._stash_size += len(data)
        return sha

    def read_bytes(self, path: str) -> bytes:
        data = self._stash.pop(path, None)
        if data is not None:
            self._stash_size -= len(data)
            return data
        with open(self._abs(path), "rb") as f:
            return f.read()


class GitSource:
    """A commit of a git repository, read with git plumbing (no checkout)."""

    def __init__(self, repo: str, ref: str):
        self.repo = os.path.abspath(repo)
        self.ref = ref
        self.label = f"{self.repo}@{ref}"
        try:
            top = self._git("rev-parse", "--show-toplevel").decode().strip()
        except SourceError:
            top = self.repo  # a bare repository
        self.repo = top or self.repo
        self.commit = self._git("rev-parse", "--verify", f"{ref}^{{commit}}").decode().strip()
        self._blobs: dict[str, str] = {}
        out = self._git("ls-tree", "-r", "-z", "--full-tree", self.commit)
        for entry in out.split(b"\0"):
            if not entry:
                continue
            meta, path_b = entry.split(b"\t", 1)
            mode, kind, sha = meta.split()
            path = path_b.decode("utf-8", errors="replace")
            if kind != b"blob" or mode == b"120000":  # skip submodules and symlinks
                continue
            if any(part in PRUNE_DIRS for part in path.split("/")[:-1]) or not wanted(path):
                continue
            self._blobs[path] = sha.decode()
        self._contents: dict[str, bytes] = {}

    def _git(self, *args: str, input: bytes | None = None) -> bytes:
        try:
            res = subprocess.run(["git", "-C", self.repo, *args], input=input, capture_output=True, check=False)
        except FileNotFoundError:
            raise SourceError("git is not installed") from None
        if res.returncode != 0:
            msg = res.stderr.decode(errors="replace").strip().splitlines()
            raise SourceError(f"{self.repo}: git {' '.join(args[:2])}: {msg[-1] if msg else 'failed'}")
        return res.stdout

    def files(self) -> list[str]:
        return sorted(self._blobs)

    def blob_id(self, path: str) -> str:
        return self._blobs[path]

    def prefetch(self, paths: list[str]) -> None:
        """Read many blobs with one `git cat-file --batch`."""
        todo = [p for p in paths if p not in self._contents]
        if not todo:
            return
        out = self._git("cat-file", "--batch", input="".join(self._blobs[p] + "\n" for p in todo).encode())
        pos = 0
        for p in todo:
            nl = out.index(b"\n", pos)
            header = out[pos:nl].split()
            size = int(header[2])
            self._contents[p] = out[nl + 1 : nl + 1 + size]
            pos = nl + 1 + size + 1

    def read_bytes(self, path: str) -> bytes:
        if path not in self._contents:
            self.prefetch([path])
        return self._contents[path]


class MemorySource:
    """Files held in memory (the App builds one from the git trees/blobs API)."""

    def __init__(self, files: dict[str, bytes], label: str = "<memory>", ref: str | None = None,
                 blob_ids: dict[str, str] | None = None):
        self._data = {p: d for p, d in files.items() if wanted(p)}
        self._ids = blob_ids or {}
        self.label = label
        self.ref = ref

    def files(self) -> list[str]:
        return sorted(self._data)

    def blob_id(self, path: str) -> str:
        sha = self._ids.get(path)
        if sha is None:
            sha = self._ids[path] = blob_sha(self._data[path])
        return sha

    def read_bytes(self, path: str) -> bytes:
        return self._data[path]


def open_source(path: str, ref: str | None = None) -> Source:
    if ref:
        return GitSource(path, ref)
    return DirSource(path)
