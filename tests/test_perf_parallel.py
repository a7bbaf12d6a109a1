"""The fast paths of the model build give the same results as the plain ones.

- TypeScript extraction spread over forked processes (`checks.build._ParallelExtraction`)
  vs in-process extraction;
- `DirSource` handing the bytes read for hashing to the following read;
- `extraction_jobs()` never forks from a process where other threads run (the App).
"""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import pytest

import checks.build as build
from checks.build import Cache, build_model
from checks.source import DirSource, MemorySource, blob_sha

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "shop-monorepo"


def _memory(root: Path) -> MemorySource:
    files = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d not in ("node_modules", ".git")]
        for name in filenames:
            p = Path(dirpath) / name
            files[p.relative_to(root).as_posix()] = p.read_bytes()
    return MemorySource(files, label="example")


def _json(model) -> str:
    return model.model_dump_json()


@pytest.fixture
def forced_parallel(monkeypatch):
    """Parallel extraction from the first file on, with two processes, whatever the machine."""
    monkeypatch.setattr(build, "PARALLEL_MIN_FILES", 1)
    monkeypatch.setattr(build, "PARALLEL_CHUNK", 3)
    monkeypatch.setattr(build, "extraction_jobs", lambda: 2)


def test_parallel_extraction_gives_the_same_model(forced_parallel, monkeypatch):
    src = _memory(EXAMPLE)
    parallel_cache = Cache()
    parallel = build_model(src, cache=parallel_cache)
    monkeypatch.setattr(build, "extraction_jobs", lambda: 1)
    sequential_cache = Cache()
    sequential = build_model(src, cache=sequential_cache)
    assert _json(parallel) == _json(sequential)
    assert parallel_cache.entries == sequential_cache.entries
    assert (parallel_cache.hits, parallel_cache.misses) == (sequential_cache.hits, sequential_cache.misses)


def test_parallel_extraction_really_runs(forced_parallel, monkeypatch):
    started = []
    real = build._ParallelExtraction.submit

    def submit(self, items):
        started.extend(path for path, _data in items)
        return real(self, items)

    monkeypatch.setattr(build._ParallelExtraction, "submit", submit)
    build_model(_memory(EXAMPLE), cache=Cache())
    assert len(started) > 10 and all(p.endswith((".ts", ".tsx")) for p in started)


def test_parallel_extraction_same_content_and_unreadable_files(forced_parallel, monkeypatch):
    """Two files with the same content: the second is a cache hit of the first, in both modes."""
    files = {
        "package.json": b'{"name": "x"}',
        "src/a.ts": b"export const A = '/a';\nexport function f(db: any) { return db.from('users').select('id'); }\n",
        "src/copy.ts": b"export const A = '/a';\nexport function f(db: any) { return db.from('users').select('id'); }\n",
        "src/b.ts": b"import { A } from './a';\nexport const g = () => fetch(`${A}/1`);\n",
        "src/broken.ts": b"export function (\n",
    }

    class Flaky(MemorySource):
        def read_bytes(self, path):
            if path == "src/b.ts":
                raise OSError("gone")
            return super().read_bytes(path)

    out = []
    for jobs in (2, 1):
        monkeypatch.setattr(build, "extraction_jobs", lambda jobs=jobs: jobs)
        cache = Cache()
        out.append((_json(build_model(Flaky(files), cache=cache)), cache.entries, cache.hits, cache.misses))
    assert out[0] == out[1]
    assert "could not read: gone" in out[0][0]


def test_no_fork_while_other_threads_run(monkeypatch):
    monkeypatch.setenv("DLCM_JOBS", "4")
    got = []
    t = threading.Thread(target=lambda: got.append(build.extraction_jobs()))
    t.start()
    t.join()
    assert got == [1]
    monkeypatch.setenv("DLCM_JOBS", "1")
    assert build.extraction_jobs() == 1


def test_dir_source_reads_a_hashed_file_once(tmp_path, monkeypatch):
    root = tmp_path / "repo"
    shutil.copytree(EXAMPLE / "apps", root / "apps", ignore=shutil.ignore_patterns("node_modules"))
    src = DirSource(str(root))
    ts = [f for f in src.files() if f.endswith(".ts")][:5]
    assert ts
    opened = []
    real_open = open

    def counting_open(path, *a, **k):
        opened.append(str(path))
        return real_open(path, *a, **k)

    monkeypatch.setattr("builtins.open", counting_open)
    for f in ts:
        data_sha = src.blob_id(f)
        data = src.read_bytes(f)
        assert blob_sha(data) == data_sha
        assert data == (root / f).read_bytes()
    monkeypatch.setattr("builtins.open", real_open)
    assert len([p for p in opened if p.endswith(".ts")]) == len(ts)  # one read per file
    assert src._stash == {} and src._stash_size == 0
    again = src.read_bytes(ts[0])  # a later read goes to the disk again
    assert again == (root / ts[0]).read_bytes()
