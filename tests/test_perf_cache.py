"""The on-disk extraction cache: a full file plus a delta, same contents as a full rewrite.

Also: warm builds (cache on disk, some files changed) give the same model as cold ones.
"""

from __future__ import annotations

import os
import pickle
import shutil
from pathlib import Path

import checks.build as build
from checks.build import Cache, build_from_path, load_cache, save_cache

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "shop-monorepo"


def _files(cache_dir: str) -> list[str]:
    return sorted(n for n in os.listdir(cache_dir) if n.endswith(".pickle"))


def _entries(n: int, start: int = 0) -> dict:
    return {("ts", f"blob{i}"): {"facts": i} for i in range(start, start + n)}


def test_few_changes_are_saved_as_a_delta(tmp_path):
    d = str(tmp_path)
    cache = Cache(entries=_entries(1000), dirty=True)
    stat = {f"f{i}.ts": (i, i, f"blob{i}") for i in range(1000)}
    save_cache(d, "/repo", cache, stat)
    assert len(_files(d)) == 1

    cache, stat = load_cache(d, "/repo")
    assert len(cache.entries) == 1000 and len(stat) == 1000
    del cache.entries[("ts", "blob3")]
    cache.entries[("ts", "new")] = {"facts": "new"}
    cache.dirty = True
    stat["f3.ts"] = (9, 9, "new")
    stat["g.ts"] = (1, 1, "blob1")
    save_cache(d, "/repo", cache, stat)
    full, delta = _files(d)[0], _files(d)[1]
    assert delta.endswith(".delta.pickle") or full.endswith(".delta.pickle")

    again, stat2 = load_cache(d, "/repo")
    assert again.entries == cache.entries
    assert stat2 == stat

    # a second save relative to the same full file replaces the delta (it is cumulative)
    again.entries[("ts", "newer")] = {"facts": "newer"}
    again.dirty = True
    save_cache(d, "/repo", again, stat2)
    third, stat3 = load_cache(d, "/repo")
    assert third.entries == again.entries and stat3 == stat2
    assert ("ts", "new") in third.entries and ("ts", "blob3") not in third.entries


def test_many_changes_rewrite_the_full_file(tmp_path, monkeypatch):
    d = str(tmp_path)
    monkeypatch.setattr(build, "DELTA_MIN", 5)
    cache = Cache(entries=_entries(40), dirty=True)
    save_cache(d, "/repo", cache, {})
    cache, stat = load_cache(d, "/repo")
    cache.entries.update(_entries(3, 100))
    cache.dirty = True
    save_cache(d, "/repo", cache, stat)
    assert len(_files(d)) == 2  # full + delta
    cache, stat = load_cache(d, "/repo")
    cache.entries.update(_entries(30, 200))
    cache.dirty = True
    save_cache(d, "/repo", cache, stat)
    assert len(_files(d)) == 1  # a new full file, no delta
    again, _ = load_cache(d, "/repo")
    assert again.entries == cache.entries


def test_a_delta_of_another_full_file_is_ignored(tmp_path):
    d = str(tmp_path)
    one = Cache(entries=_entries(10), dirty=True)
    save_cache(d, "/repo", one, {})
    loaded, stat = load_cache(d, "/repo")
    loaded.entries[("ts", "x")] = "x"
    loaded.dirty = True
    save_cache(d, "/repo", loaded, stat)  # delta of the first full file
    delta = [n for n in _files(d) if n.endswith(".delta.pickle")][0]
    saved_delta = (tmp_path / delta).read_bytes()
    other = Cache(entries=_entries(5, 50), dirty=True)  # another process writes a new full file
    save_cache(d, "/repo", other, {})
    (tmp_path / delta).write_bytes(saved_delta)  # ... and the old delta comes back
    got, _ = load_cache(d, "/repo")
    assert got.entries == other.entries

    (tmp_path / delta).write_bytes(b"not a pickle")
    got, _ = load_cache(d, "/repo")
    assert got.entries == other.entries


def test_old_cache_files_without_token_still_load(tmp_path):
    d = str(tmp_path)
    path = build._cache_file(d, "/repo")
    with open(path, "wb") as f:
        pickle.dump({"version": build.CACHE_VERSION, "entries": _entries(3), "stat": {"a": (1, 2, "b")}}, f)
    cache, stat = load_cache(d, "/repo")
    assert cache.entries == _entries(3) and stat == {"a": (1, 2, "b")}
    cache.entries.update(_entries(1, 9))
    cache.dirty = True
    save_cache(d, "/repo", cache, stat)  # no base known: a full file
    again, _ = load_cache(d, "/repo")
    assert again.entries == cache.entries and again.base is not None


def test_warm_builds_give_the_cold_model(tmp_path):
    repo = tmp_path / "repo"
    shutil.copytree(EXAMPLE, repo, ignore=shutil.ignore_patterns("node_modules", ".git"))
    cache_dir = str(tmp_path / "cache")
    build_from_path(str(repo), cache_dir=cache_dir)
    ts = sorted(repo.rglob("*.ts"))
    for i, p in enumerate(ts[:6]):
        p.write_text(p.read_text() + f"\nexport const touched{i} = '/touched/{i}';\n")
    (ts[7]).unlink()
    warm, _ = build_from_path(str(repo), cache_dir=cache_dir)
    assert any(n.endswith(".delta.pickle") for n in os.listdir(cache_dir))
    warm_again, _ = build_from_path(str(repo), cache_dir=cache_dir)
    cold, _ = build_from_path(str(repo), use_cache=False)
    assert warm.model_dump_json() == cold.model_dump_json() == warm_again.model_dump_json()
