"""Output formats a user or a tool reads: SARIF (valid 2.1.0), JSON, Markdown limits, text."""

import json
from pathlib import Path

import jsonschema
import pytest

from checks.engine import CheckResult, Summary
from checks.findings import Finding
from checks.report import MAX_MARKDOWN, render_github_annotations, render_json, render_markdown, render_sarif
from tests.variants import ROOT, apply_variant, make_repo, run_check

SCHEMA = ROOT / ".tools" / "node_modules" / "@microsoft" / "jest-sarif" / "lib" / "schemas" / "sarif-2.1.0-rtm.5.json"


@pytest.fixture(scope="module")
def broken_result(tmp_path_factory):
    repo = make_repo(tmp_path_factory.mktemp("r"))
    apply_variant(repo, {"supabase/migrations/20240401120000_add_nickname.sql": "alter table public.users add column nickname text;\n",
                         "supabase/migrations/20240401130000_grant.sql": "grant insert on public.users to anon;\n"})
    return run_check(repo)


def test_sarif_is_valid_sarif_2_1_0(broken_result):
    if not SCHEMA.exists():
        pytest.skip("the SARIF schema is installed by scripts/node-tools.sh (./dev test runs it)")
    doc = json.loads(render_sarif(broken_result))
    schema = json.loads(SCHEMA.read_text())
    jsonschema.validate(doc, schema, cls=jsonschema.Draft4Validator)
    results = doc["runs"][0]["results"]
    assert len(results) == len(broken_result.findings) > 0
    rules = doc["runs"][0]["tool"]["driver"]["rules"]
    for r in results:
        assert rules[r["ruleIndex"]]["id"] == r["ruleId"]
        loc = r["locations"][0]["physicalLocation"]
        assert not loc["artifactLocation"]["uri"].startswith("/") and loc["region"]["startLine"] >= 1


def test_json_has_the_documented_shape(broken_result):
    doc = json.loads(render_json(broken_result))
    assert set(doc) == {"findings", "summary"}
    f = doc["findings"][0]
    assert {"rule", "severity", "message", "file", "line", "component"} <= set(f)
    assert doc["summary"]["errors"] == sum(1 for x in doc["findings"] if x["severity"] == "error")


def _many(n: int) -> CheckResult:
    fs = [Finding(rule="DLCM301", severity="error", message="Endpoint `GET /x/%d` has no client method: add one. " % i
                  + "x" * 300, file=f"apps/api/src/routes/r{i}.ts", line=i + 1) for i in range(n)]
    return CheckResult(findings=fs, summary=Summary(errors=n, passed=False, by_rule={"DLCM301": n}))


def test_markdown_stays_within_githubs_limit_with_a_tail():
    md = render_markdown(_many(2000))
    assert len(md) <= MAX_MARKDOWN
    assert "more** findings" in md
    shown = md.count("apps/api/src/routes/r")
    assert f"… and **{2000 - shown} more** findings" in md


def test_github_annotations_escape_newlines_and_commas():
    res = CheckResult(findings=[Finding(rule="DLCM101", severity="warning", message="a\nb, 100%",
                                        file="dir,x/a:b.sql", line=3)],
                      summary=Summary(warnings=1))
    assert render_github_annotations(res) == "::warning file=dir%2Cx/a%3Ab.sql,line=3,title=DLCM101::a%0Ab, 100%25"
