"""Full-check benchmark: `dlcm check` (every rule but Squawk) on generated monorepos, cold and warm,
whole repository and pull request (`--base main`); plus Squawk's share: dlcm's Squawk step
against Squawk alone on the same files (target: at most 1.5x).

    .venv/bin/python bench/check.py [N ...]        (default: 100 1000 5000)

Each size runs in its own process (cold means: fresh process, empty extraction cache).
Repositories come from bench/gen.py; the pull request adds a migration with its rollback and
touches ten TypeScript files. Rollback-test is not timed here (it is dominated by PostgreSQL). Squawk timings are the best of
REPEAT interleaved runs (the machine may be shared; the best run is the least disturbed one).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

GIT_ENV = {"GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@dlcm.invalid", "GIT_COMMITTER_NAME": "bench",
           "GIT_COMMITTER_EMAIL": "bench@dlcm.invalid", "GIT_CONFIG_NOSYSTEM": "1", "HOME": "/nonexistent"}
REPEAT = 25


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, env={**os.environ, **GIT_ENV}, check=True, capture_output=True)


def _timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def _median(fn, n: int = REPEAT) -> float:
    return statistics.median(_timed(fn)[0] for _ in range(n))


def one(n: int) -> dict:
    from bench.gen import generate
    from checks.engine import run_checks
    from checks.rules import all_rules
    from checks.squawk import find_squawk, run_squawk
    from dlcm.cli import build_check

    no_squawk = [r.id for r in all_rules() if r.id != "squawk"]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "repo"
        info = generate(root, n)
        os.environ["DLCM_CACHE_DIR"] = str(Path(tmp) / "cache")
        _git(root, "init", "-q", "-b", "main")
        _git(root, "add", "-A")
        _git(root, "commit", "-qm", "base")

        def check(base: str | None, cache: bool):
            head, base_model, config, src = build_check(str(root), base, no_cache=not cache)
            return run_checks(head, config, base=base_model, source=src, only=no_squawk), head

        # whole repository (no base): cold = empty cache, warm = cache filled by the previous run
        cold_repo, (res_repo, head) = _timed(lambda: check(None, True))
        warm_repo, _ = _timed(lambda: check(None, True))
        nocache_repo, _ = _timed(lambda: check(None, False))

        # a pull request: a new migration + rollback, ten touched TypeScript files
        _git(root, "checkout", "-q", "-b", "change")
        mig = root / "supabase/migrations/29990101000000_add_note_index.sql"
        mig.write_text("create index thing_0s_note_idx on public.thing_0s (note);\n")
        (root / "supabase/rollbacks/29990101000000_add_note_index.down.sql").write_text(
            "drop index public.thing_0s_note_idx;\n")
        touched = sorted(p for p in root.rglob("module_*.ts"))[:10]
        for p in touched:
            p.write_text(p.read_text() + "\nexport const touched = 1;\n")
        _git(root, "add", "-A")
        _git(root, "commit", "-qm", "change")
        cold_pr, (res_pr, _) = _timed(lambda: check("main", False))
        warm_pr_first, _ = _timed(lambda: check("main", True))  # fills the cache for head and base blobs
        warm_pr, _ = _timed(lambda: check("main", True))

        # Squawk's share, on every migration of the repository (the no-base case: the most files)
        squawk = find_squawk()
        migrations = [m.path for m in head.migrations]
        squawk_row: dict = {"migrations": len(migrations)}
        if squawk:
            from checks.build import build_model
            from checks.config import Config
            from checks.findings import CheckContext
            from checks.owners import OwnerIndex
            from checks.rules.squawk import check as squawk_rule
            from checks.source import DirSource, MemorySource

            argv = [squawk, "--reporter", "json", "--assume-in-transaction", *migrations]
            dsrc = DirSource(str(root))
            model = build_model(dsrc, Config())
            msrc = MemorySource({p: dsrc.read_bytes(p) for p in dsrc.files()})
            ctx = CheckContext(head=model, config=Config(), owners=OwnerIndex(model), source=dsrc)
            mctx = CheckContext(head=model, config=Config(), owners=OwnerIndex(model), source=msrc)
            fns = {
                "alone": lambda: subprocess.run(argv, cwd=root, capture_output=True),
                "runner": lambda: run_squawk(migrations, cwd=str(root), exe=squawk),
                "step": lambda: list(squawk_rule(ctx)),
                "step_mem": lambda: list(squawk_rule(mctx)),
                "engine": lambda: run_checks(model, Config(), source=dsrc, only=["squawk"]),
            }
            times: dict[str, list[float]] = {k: [] for k in fns}
            for _ in range(REPEAT):  # interleaved, so that load changes hit every variant alike
                for k, fn in fns.items():
                    times[k].append(_timed(fn)[0])
            best = {k: min(v) for k, v in times.items()}
            squawk_row.update(alone_s=round(best["alone"], 4), runner_s=round(best["runner"], 4),
                              dlcm_step_s=round(best["step"], 4), dlcm_step_memory_source_s=round(best["step_mem"], 4),
                              engine_s=round(best["engine"], 4), ratio=round(best["step"] / best["alone"], 2),
                              ratio_memory_source=round(best["step_mem"] / best["alone"], 2),
                              ratio_engine=round(best["engine"] / best["alone"], 2))
    return {"n": info["files"], "migrations": len(head.migrations), "findings_repo": len(res_repo.findings),
            "findings_pr": len(res_pr.findings),
            "repo_cold_s": round(cold_repo, 3), "repo_warm_s": round(warm_repo, 3),
            "repo_nocache_s": round(nocache_repo, 3),
            "pr_cold_s": round(cold_pr, 3), "pr_warm_s": round(warm_pr, 3), "pr_first_cached_s": round(warm_pr_first, 3),
            "squawk": squawk_row}


def main(argv: list[str]) -> None:
    if argv and argv[0] == "--one":
        print(json.dumps(one(int(argv[1]))))
        return
    sizes = [int(a) for a in argv] or [100, 1000, 5000]
    rows = []
    for n in sizes:
        out = subprocess.run([sys.executable, __file__, "--one", str(n)], capture_output=True, text=True)
        if out.returncode != 0:
            print(out.stderr, file=sys.stderr)
            sys.exit(1)
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    print("full check (all rules but Squawk), seconds")
    print(f"{'files':>6} {'migr':>5} | {'repo cold':>9} {'repo warm':>9} {'no cache':>8} | {'PR cold':>8} "
          f"{'PR warm':>8} | {'warm/cold':>9}")
    for r in rows:
        print(f"{r['n']:>6} {r['migrations']:>5} | {r['repo_cold_s']:>9.3f} {r['repo_warm_s']:>9.3f} "
              f"{r['repo_nocache_s']:>8.3f} | {r['pr_cold_s']:>8.3f} {r['pr_warm_s']:>8.3f} | "
              f"{r['repo_warm_s'] / r['repo_cold_s']:>9.2f}")
    print()
    print("Squawk on every migration: squawk alone vs dlcm's squawk step (best of %d, interleaved), seconds" % REPEAT)
    print("  runner: checks.squawk.run_squawk; dlcm step: the rule (files on disk); memory src: the rule on a")
    print("  MemorySource (files written to a temp dir first, as in the App); engine: run_checks(only=squawk)")
    print(f"{'files':>6} {'migr':>5} | {'squawk':>8} {'runner':>8} {'dlcm step':>9} {'ratio':>6} | "
          f"{'memory src':>10} {'ratio':>6} | {'engine':>8} {'ratio':>6}")
    for r in rows:
        s = r["squawk"]
        if "alone_s" not in s:
            print(f"{r['n']:>6}  squawk not installed")
            continue
        print(f"{r['n']:>6} {s['migrations']:>5} | {s['alone_s']:>8.4f} {s['runner_s']:>8.4f} {s['dlcm_step_s']:>9.4f} "
              f"{s['ratio']:>6.2f} | {s['dlcm_step_memory_source_s']:>10.4f} {s['ratio_memory_source']:>6.2f} | "
              f"{s['engine_s']:>8.4f} {s['ratio_engine']:>6.2f}")
    print()
    print(json.dumps(rows))


if __name__ == "__main__":
    main(sys.argv[1:])
