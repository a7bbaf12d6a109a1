"""Precision and recall of `checks.impact` against a hand-written ground truth.

The ground truth (`tests/fixtures/impact/ground_truth.json`) lists, for several changes on the
example repository and on the example with the trap overlay (`tests/fixtures/impact/traps`),
the exact generated-type entries, repository methods, endpoints (with their effect), client
methods, consumer call sites and components. Each case must reach precision and recall ≥ 0.95
over all of these items, and the totals are printed (`pytest -s`).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from checks.build import build_model
from checks.impact import ProposedChange, analyze
from checks.source import DirSource

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "shop-monorepo"
TRAPS = ROOT / "tests" / "fixtures" / "impact" / "traps"
TRUTH = json.loads((ROOT / "tests" / "fixtures" / "impact" / "ground_truth.json").read_text())["cases"]
TARGET = 0.95


def make_traps(dest: Path) -> Path:
    """The example repository with the trap overlay copied over it."""
    shutil.copytree(EXAMPLE, dest, ignore=shutil.ignore_patterns("node_modules", ".turbo", "dist"))
    for p in TRAPS.rglob("*"):
        if p.is_file() and not p.name.startswith("_"):
            target = dest / p.relative_to(TRAPS)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(p, target)
    return dest


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    traps = make_traps(tmp_path_factory.mktemp("impact") / "traps")
    return {"example": build_model(DirSource(str(EXAMPLE))), "traps": build_model(DirSource(str(traps)))}


def expected_items(case: dict) -> set[str]:
    out = {f"types:{x}" for x in case["types"]}
    out |= {f"repo:{x}" for x in case["repository_methods"]}
    for effect, eps in case["endpoints"].items():
        out |= {f"endpoint:{effect}:{e}" for e in eps}
    out |= {f"client:{x}" for x in case["client_methods"]}
    out |= {f"consumer:{x}" for x in case["consumers"]}
    out |= {f"component:{x}" for x in case["components"]}
    return out


def found_items(report) -> set[str]:
    out = {f"types:{c.file}:{c.line}" for c in report.columns}
    out |= {f"repo:{m.symbol}" for m in report.repository_methods}
    out |= {f"endpoint:{e.effect}:{e.method} {e.path}" for e in report.endpoints}
    out |= {f"client:{c.name}" for c in report.client_methods}
    out |= {f"consumer:{c.file}:{c.line}" for c in report.consumers}
    out |= {f"component:{c.name}" for c in report.components}
    return out


def score(expected: set[str], found: set[str]) -> tuple[float, float]:
    tp = len(expected & found)
    precision = tp / len(found) if found else 1.0
    recall = tp / len(expected) if expected else 1.0
    return precision, recall


def run_case(models, case):
    ch = ProposedChange(**case["change"])
    return analyze(models[case["repo"]], [ch])


@pytest.mark.parametrize("case", TRUTH, ids=[c["name"] for c in TRUTH])
def test_case_precision_recall(models, case):
    report = run_case(models, case)
    exp, got = expected_items(case), found_items(report)
    p, r = score(exp, got)
    assert p >= TARGET and r >= TARGET, (
        f"{case['name']}: precision {p:.2f}, recall {r:.2f}\n"
        f"  false positives: {sorted(got - exp)}\n  missed: {sorted(exp - got)}")
    assert sorted({b.id for b in report.breaking if b.level in ('error', 'warning')} - {
        "response-property-removed", "response-property-renamed", "response-property-type-changed",
        "endpoint-data-removed", "response-property-became-nullable", "referenced-by-foreign-key",
        "primary-key-removed"}) == sorted(case["breaking"])
    for kind in case.get("missing", []):
        assert kind in {m.kind for m in report.missing}, (kind, [m.kind for m in report.missing])
    # every affected item says why it is there
    for group in (report.columns, report.repository_methods, report.endpoints, report.client_methods,
                  report.consumers, report.components, report.tables):
        assert all(i.why for i in group)


def test_overall_precision_recall(models, capsys):
    tp = fp = fn = 0
    rows = []
    for case in TRUTH:
        exp, got = expected_items(case), found_items(run_case(models, case))
        tp += len(exp & got)
        fp += len(got - exp)
        fn += len(exp - got)
        p, r = score(exp, got)
        rows.append(f"  {p:5.2f} {r:5.2f}  {case['name']}")
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    with capsys.disabled():
        print(f"\nimpact ground truth: {len(TRUTH)} changes, {tp + fn} expected items: "
              f"precision {precision:.3f}, recall {recall:.3f}\n  prec. rec.   change\n" + "\n".join(rows))
    assert precision >= TARGET and recall >= TARGET


def test_traps_same_column_names_stay_in_their_table(models):
    """`status` / `created_at` of orders never pull in payments or order_items methods that do not read them."""
    r = analyze(models["traps"], [ProposedChange("orders", "created_at", change="drop")])
    syms = {m.symbol for m in r.repository_methods}
    assert not any("Payment" in s for s in syms)
    assert "SupabaseOrderRepository.listItems" not in syms  # filters order_items.created_at, not orders'
    r = analyze(models["traps"], [ProposedChange("payments", "status", change="drop")])
    assert not any(m.symbol.startswith(("Order", "SupabaseOrder", "MemoryOrder")) for m in r.repository_methods)


def test_traps_receivers_linked_by_name_and_by_method(models):
    r = analyze(models["traps"], [ProposedChange("payments", change="drop")])
    by_path = {e.path: e for e in r.endpoints}
    assert any("paymentRepo.listByOrder → PaymentRepository.listByOrder" in v for v in by_path["/payments/by-order/{}"].via)
    assert any("store.record → PaymentRepository.record (by method name)" in v for v in by_path["/payments"].via)
