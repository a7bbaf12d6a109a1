"""Impact analysis benchmark: one table of a generated N-file monorepo, with a warm model.

    .venv/bin/python bench/impact.py [N]        (default: 2000)

Figures:
- `index`: first analysis of a model (builds the per-model index: route links, usages by table, owners);
- `analyze`: a further analysis on the same model (the App answering `/dlcm impact` again);
- `diff`: a pull request's impact (base and head models, both warm);
- `markdown`: rendering the report;
- `e2e warm`: what `dlcm impact PATH --table T` costs with the extraction cache warm
  (warm model build + analysis + Markdown), the CLI's figure.
Target: index + analysis < 0.5 s for 2,000 files.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

TARGET_S = 0.5


def run(n: int) -> dict:
    from bench.gen import generate
    from checks.build import build_from_path
    from checks.impact import ProposedChange, analyze, analyze_diff, render_markdown
    from checks.impact.index import _CACHE

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "repo"
        info = generate(root, n)
        cache_dir = str(Path(tmp) / "cache")
        build_from_path(str(root), use_cache=True, cache_dir=cache_dir)  # cold: fills the cache
        t0 = time.perf_counter()
        model, config = build_from_path(str(root), use_cache=True, cache_dir=cache_dir)
        warm_build = time.perf_counter() - t0
        table = sorted(model.schema_.tables)[len(model.schema_.tables) // 2]
        change = ProposedChange(table, "title", change="drop")

        t0 = time.perf_counter()
        report = analyze(model, [change], config=config)
        first = time.perf_counter() - t0
        again = []
        for _ in range(20):
            t0 = time.perf_counter()
            analyze(model, [change], config=config)
            again.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        md = render_markdown(report)
        render = time.perf_counter() - t0

        table_level = []
        for _ in range(5):
            _CACHE.clear()
            t0 = time.perf_counter()
            analyze(model, [ProposedChange(table, change="drop")], config=config)
            table_level.append(time.perf_counter() - t0)

        base = model
        head = model.model_copy(deep=True)
        del head.schema_.tables[table].columns["note"]
        _CACHE.clear()
        t0 = time.perf_counter()
        pr = analyze_diff(base, head, config=config)
        diff = time.perf_counter() - t0

        t0 = time.perf_counter()
        m2, c2 = build_from_path(str(root), use_cache=True, cache_dir=cache_dir)
        render_markdown(analyze(m2, [change], config=c2))
        e2e = time.perf_counter() - t0

    return {
        "files": info["files"], "tables": len(model.schema_.tables), "routes": len(model.routes),
        "consumers": len(model.consumers), "table": table,
        "warm_build_s": round(warm_build, 3), "index_and_analyze_s": round(first, 4),
        "analyze_again_ms": round(1000 * statistics.median(again), 2),
        "drop_table_cold_index_s": round(statistics.median(table_level), 4),
        "diff_s": round(diff, 4), "markdown_ms": round(1000 * render, 2), "markdown_chars": len(md),
        "e2e_warm_s": round(e2e, 3),
        "affected": {"repository_methods": len(report.repository_methods), "endpoints": len(report.endpoints),
                     "client_methods": len(report.client_methods), "consumers": len(report.consumers),
                     "components": len(report.components)},
        "pr_changes": len(pr.changes),
    }


def main(argv: list[str]) -> None:
    n = int(argv[0]) if argv else 2000
    r = run(n)
    print(json.dumps(r, indent=2))
    print(f"\n{r['files']} files, {r['tables']} tables, {r['routes']} routes, {r['consumers']} consumer calls")
    print(f"  impact of one column (index build + analysis): {r['index_and_analyze_s'] * 1000:.1f} ms "
          f"(target < {TARGET_S * 1000:.0f} ms)")
    print(f"  again on the same model:                      {r['analyze_again_ms']:.2f} ms")
    print(f"  drop table, fresh index:                      {r['drop_table_cold_index_s'] * 1000:.1f} ms")
    print(f"  pull request (diff of two warm models):       {r['diff_s'] * 1000:.1f} ms")
    print(f"  Markdown rendering:                           {r['markdown_ms']:.1f} ms")
    print(f"  warm model build (extraction cache):          {r['warm_build_s'] * 1000:.0f} ms")
    print(f"  end to end, warm cache (build+impact+md):     {r['e2e_warm_s'] * 1000:.0f} ms")
    ok = r["index_and_analyze_s"] < TARGET_S
    print("PASS" if ok else "FAIL")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main(sys.argv[1:])
