"""Model build benchmark: cold, warm (10 files touched), peak memory, ratio to parse-only.

    .venv/bin/python bench/model.py [N ...]        (default: 100 1000 2000 5000)

Each size runs in its own process so peak RSS is per size. "parse-only" is a
tree-sitter parse of the same TypeScript files in the same process, the floor any
TypeScript-reading tool pays; the target is a cold build within 2x of it.

The cold build runs twice, each with an empty cache: in one process (`DLCM_JOBS=1`,
columns "1p") and with TypeScript extraction spread over the CPUs ("par", what the CLI
does from 200 uncached files on). The warm runs reuse the parallel run's cache. Module
imports (tree-sitter, pglast, pydantic models) happen before the timings, as the
parse-only pass does not pay them either.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))


def one(n: int) -> dict:
    from bench.gen import generate
    from checks.build import build_from_path, extraction_jobs
    from checks.source import DirSource
    # import costs outside the timings
    from checks.sql import migrations, parse, replay  # noqa: F401
    from checks.ts import link  # noqa: F401
    from checks.ts.facts import extract_file  # noqa: F401

    import tree_sitter_typescript as tsts
    from tree_sitter import Language, Parser

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "repo"
        info = generate(root, n)
        cache_dir = str(Path(tmp) / "cache")
        src = DirSource(str(root))
        ts_files = [f for f in src.files() if f.endswith((".ts", ".tsx"))]

        parser = Parser(Language(tsts.language_typescript()))
        t0 = time.perf_counter()
        for f in ts_files:
            parser.parse(src.read_bytes(f))
        parse_only = time.perf_counter() - t0

        user_jobs = os.environ.get("DLCM_JOBS")
        os.environ["DLCM_JOBS"] = "1"
        t0 = time.perf_counter()
        model1, _ = build_from_path(str(root), use_cache=True, cache_dir=str(Path(tmp) / "cache-1p"))
        cold1 = time.perf_counter() - t0
        if user_jobs is None:
            del os.environ["DLCM_JOBS"]
        else:
            os.environ["DLCM_JOBS"] = user_jobs
        jobs = extraction_jobs()

        t0 = time.perf_counter()
        model, _ = build_from_path(str(root), use_cache=True, cache_dir=cache_dir)
        cold = time.perf_counter() - t0
        assert model.model_dump_json() == model1.model_dump_json()
        del model1

        t0 = time.perf_counter()
        build_from_path(str(root), use_cache=True, cache_dir=cache_dir)
        warm0 = time.perf_counter() - t0

        touched = [f for f in ts_files if "/ui/" in f or "repositories" in f][:10]
        for f in touched:
            p = root / f
            p.write_text(p.read_text() + "\nexport const touched = 1;\n")
        t0 = time.perf_counter()
        model2, _ = build_from_path(str(root), use_cache=True, cache_dir=cache_dir)
        warm = time.perf_counter() - t0
        assert len(model2.routes) == len(model.routes)

    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"n": info["files"], "ts_files": len(ts_files), "parse_only_s": round(parse_only, 3),
            "cold_1p_s": round(cold1, 3), "ratio_1p": round(cold1 / parse_only, 2), "jobs": jobs, "cold_s": round(cold, 3),
            "ratio_cold_to_parse": round(cold / parse_only, 2), "warm_nochange_s": round(warm0, 3),
            "warm_10_touched_s": round(warm, 3), "peak_rss_mb": round(peak_mb, 1),
            "routes": len(model.routes), "migrations": len(model.migrations)}


def main(argv: list[str]) -> None:
    if argv and argv[0] == "--one":
        print(json.dumps(one(int(argv[1]))))
        return
    sizes = [int(a) for a in argv] or [100, 1000, 2000, 5000]
    rows = []
    for n in sizes:
        out = subprocess.run([sys.executable, __file__, "--one", str(n)], capture_output=True, text=True,
                             env={**os.environ, "DLCM_CACHE_DIR": tempfile.gettempdir()})
        if out.returncode != 0:
            print(out.stderr, file=sys.stderr)
            sys.exit(1)
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    hdr = (f"{'files':>6} {'ts':>6} {'parse-only':>10} {'cold 1p':>8} {'ratio 1p':>8} {'cold par':>8} {'ratio par':>9} "
           f"{'jobs':>4} {'warm(0)':>8} {'warm(10)':>9} {'peak MB':>8} {'s/1k 1p':>8} {'s/1k par':>8}")
    print(hdr)
    for r in rows:
        print(f"{r['n']:>6} {r['ts_files']:>6} {r['parse_only_s']:>10.3f} {r['cold_1p_s']:>8.3f} {r['ratio_1p']:>8.2f} "
              f"{r['cold_s']:>8.3f} {r['ratio_cold_to_parse']:>9.2f} {r['jobs']:>4} {r['warm_nochange_s']:>8.3f} "
              f"{r['warm_10_touched_s']:>9.3f} {r['peak_rss_mb']:>8.1f} {1000 * r['cold_1p_s'] / r['n']:>8.3f} "
              f"{1000 * r['cold_s'] / r['n']:>8.3f}")
    print("targets: ratio <= 2.0, cold < 3 s for 2,000 files, warm (10 touched) < 0.3 s, linear growth (s/1k files flat)")
    print("1p: one process (DLCM_JOBS=1); par: TypeScript extraction over `jobs` processes (>= 200 uncached files)")


if __name__ == "__main__":
    main(sys.argv[1:])
