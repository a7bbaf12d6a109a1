"""TypeScript-side rules (DLCM2xx repositories, DLCM3xx API/client, DLCM4xx types, DLCM501-503 tests,
DLCM7xx breaking changes) on broken and clean variants of the example repository.

Every variant under tests/fixtures/variants/{ts,decoy,multi}-*/ is committed on a branch of a fresh
git copy of examples/shop-monorepo and checked with `--base main` through the CLI's code path; the
findings must be exactly the (rule, file, line) triples of its `_expected.json` (decoys: none).
"""

from __future__ import annotations

import json

import pytest

from checks.findings import CheckContext
from checks.model import ClientMethod, RepoModel, Route
from checks.rules import all_rules, get_rule
from checks.rules.dlcm2_shared import ApiLinks, display_path, path_matches, primitive_of, repository_name_for
from tests.variants import VARIANTS, apply_variant, expected, make_repo, run_check, triples

TS_RULES = {
    "DLCM201", "DLCM202", "DLCM203", "DLCM204", "DLCM205", "DLCM301", "DLCM302",
    "DLCM401", "DLCM402", "DLCM403", "DLCM404", "DLCM405", "DLCM501", "DLCM502", "DLCM503",
    "DLCM701", "DLCM702", "DLCM703",
}
NAMES = sorted(p.name for p in VARIANTS.iterdir()
               if p.is_dir() and p.name.startswith(("ts-", "decoy-", "multi-")))


def _expected_triples(name: str) -> set[tuple[str, str, int]]:
    return {(e["rule"], e["file"], e["line"]) for e in expected(name)}


def _show(result) -> str:
    return "\n".join(f"{f.rule} {f.file}:{f.line} {f.message}" for f in result.findings)


@pytest.mark.parametrize("name", NAMES)
def test_variant(tmp_path, name):
    assert (VARIANTS / name / "_expected.json").exists(), f"{name} has no _expected.json"
    repo = make_repo(tmp_path)
    apply_variant(repo, name)
    result = run_check(repo, base="main")
    want = _expected_triples(name)
    got = triples(result)
    assert got == want, f"missing {sorted(want - got)}, unexpected {sorted(got - want)}\n{_show(result)}"
    for f in result.findings:
        if f.rule in TS_RULES:
            assert f.component, f"{f.rule} at {f.file}:{f.line} has no component"
            assert f.title and len(f.message) > 40


def test_every_ts_rule_has_a_variant():
    covered = {e["rule"] for n in NAMES if n.startswith(("ts-", "multi-")) for e in expected(n)}
    assert TS_RULES <= covered, f"rules without a broken variant: {sorted(TS_RULES - covered)}"


def test_clean_example_reports_no_ts_findings(tmp_path):
    repo = make_repo(tmp_path)
    apply_variant(repo, {})
    for base in (None, "main"):
        result = run_check(repo, base=base)
        mine = [f for f in result.findings if f.rule in TS_RULES or f.rule == "DLCM000"]
        assert not mine, _show(result)


def test_rules_are_registered_and_documented():
    ids = {r.id for r in all_rules()}
    assert TS_RULES <= ids
    for rid in TS_RULES:
        r = get_rule(rid)
        assert r.name and r.name == r.name.lower() and " " not in r.name
        assert r.title and r.why and r.fix
        assert r.severity == ("warning" if rid in ("DLCM501", "DLCM502", "DLCM703")
                              else "info" if rid == "DLCM503" else "error")
        assert r.scope == ("change" if rid in ("DLCM205", "DLCM501", "DLCM502", "DLCM503", "DLCM701", "DLCM702",
                                               "DLCM703") else "repo")


def test_suppression_in_typescript(tmp_path):
    """`// dlcm-ignore DLCM301: reason` above the route silences it; without a reason it does not."""
    from tests.variants import variant_files

    files = variant_files("ts-dlcm301")
    path = "apps/database-service/src/routes/products.ts"
    src = files[path]
    files[path] = src.replace("  .get('/by-sku/:sku',",
                              "  // dlcm-ignore DLCM301: only the admin UI calls it, with its own fetch\n"
                              "  .get('/by-sku/:sku',")
    repo = make_repo(tmp_path)
    apply_variant(repo, files)
    result = run_check(repo, base="main")
    assert not [f for f in result.findings if f.rule == "DLCM301"], _show(result)
    assert [f.rule for f in result.suppressed] == ["DLCM301"]


def test_preexisting_repository_findings_are_not_reported_again(tmp_path):
    """A repo-scope finding already on the base is not reported on a change that does not touch it."""
    repo = make_repo(tmp_path)
    apply_variant(repo, "ts-dlcm302")  # the client now has two methods without endpoints
    from tests.variants import git

    git(repo, "branch", "-f", "main", "change")  # ... and that is the new base
    apply_variant(repo, {"README.md": "docs only\n"})
    result = run_check(repo, base="main")
    assert not [f for f in result.findings if f.rule == "DLCM302"], _show(result)
    assert result.summary.preexisting >= 2
    assert len([f for f in run_check(repo, base="main", report_all=True).findings if f.rule == "DLCM302"]) == 2


def test_multi_defect_pull_request_messages(tmp_path):
    """Each finding of the realistic PR says what to do, with the place to do it."""
    repo = make_repo(tmp_path)
    apply_variant(repo, "multi-feature-coupons")
    by_rule: dict[str, list] = {}
    for f in run_check(repo, base="main").findings:
        by_rule.setdefault(f.rule, []).append(f)
    assert "MemoryCouponRepository" in by_rule["DLCM202"][0].message
    assert any("GET /coupons/{code}" in f.message and "DatabaseClient" in f.message
               and "packages/database-client/src/client.ts" in f.message for f in by_rule["DLCM301"])
    assert "supabase gen types" in by_rule["DLCM401"][0].message or "gen:types" in by_rule["DLCM401"][0].message
    assert "coupon_id" in by_rule["DLCM402"][0].message
    assert {f.severity for f in by_rule["DLCM501"] + by_rule["DLCM502"]} == {"warning"}


def test_other_stack_express_axios_factories(tmp_path):
    """A repository unlike the example: Express under `/api`, an axios client whose base URL holds `/api`,
    factory repositories and a type-alias interface; a PR with one defect of most kinds."""
    from tests.variants import git, write_files

    data = json.loads((VARIANTS / "ts-other-stack.json").read_text())
    src = tmp_path / "src"
    write_files(src, data["base"])
    repo = make_repo(tmp_path, source=src)
    assert run_check(repo, base=None, rules=sorted(TS_RULES)).findings == []
    git(repo, "checkout", "-q", "-b", "change")
    write_files(repo, data["change"])
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "change")
    result = run_check(repo, base="main", rules=sorted(TS_RULES))
    want = {(e["rule"], e["file"], e["line"]) for e in data["expected"]}
    assert triples(result) == want, _show(result)


# --------------------------------------------------------------------------- helpers (pure)


@pytest.mark.parametrize("route, path, ok", [
    ("/users/{}/orders", "/users/{}/orders", True),
    ("/users/{}/orders", "/users/42/orders", True),
    ("/users/{}", "/users/by-telegram/1", False),
    ("/users/{}", "/users", False),
    ("/files/*", "/files/a/b.txt", True),
    ("/v{}/x", "/v2/x", True),
])
def test_path_matches(route, path, ok):
    assert path_matches(route, path) is ok


def test_optional_param_route_matches_shorter_path():
    assert path_matches("/orders/{}", "/orders", optional=1)
    assert not path_matches("/orders/{}", "/orders")


@pytest.mark.parametrize("raw, shown", [
    ("/users/:id/orders", "/users/{id}/orders"),
    ("/orders/${encodeURIComponent(id)}/items", "/orders/{id}/items"),
    ("/users/${user.id}", "/users/{id}"),
    ("/x/:id{[0-9]+}", "/x/{id}"),
])
def test_display_path(raw, shown):
    assert display_path(raw) == shown


@pytest.mark.parametrize("t, p", [
    ("string", "string"), ("number[]", "number[]"), ("Array<number>", "number[]"), ("string | null", "string"),
    ("UserId", None), ("string | number", None), ("T", None),
])
def test_primitive_of(t, p):
    assert primitive_of(t) == p


@pytest.mark.parametrize("name, double", [
    ("FakeUserRepository", True), ("MemoryUserRepository", True), ("InMemoryUserRepository", True),
    ("createStubUserRepository", True), ("TestimonialRepository", False), ("SupabaseUserRepository", False),
    ("Memorable", False),
])
def test_is_test_double(name, double):
    from checks.rules.dlcm2_shared import is_test_double

    assert is_test_double(name) is double


@pytest.mark.parametrize("table, name", [
    ("coupons", "CouponRepository"), ("order_items", "OrderItemRepository"), ("categories", "CategoryRepository"),
    ("addresses", "AddressRepository"), ("people", "PersonRepository"),
])
def test_repository_name_for(table, name):
    assert repository_name_for(table) == name


def _route(method, path, raw=None):
    return Route(method=method, path=path, raw_path=raw or path, file="api/routes/x.ts", line=1, package="api")


def _client(name, method, path):
    return ClientMethod(name=name, http_method=method, path=path, raw_path=path, file="client/src/c.ts", line=1,
                        package="client", class_name="Client")


def test_api_links_tolerate_a_mount_prefix_the_client_base_url_holds():
    model = RepoModel(root=".", routes=[_route("GET", "/api/users/{}"), _route("POST", "/api/users"),
                                        _route("GET", "/api/health")],
                      client_methods=[_client("getUser", "GET", "/users/{}"), _client("createUser", "POST", "/users")])
    links = ApiLinks(model)
    assert links.route_prefix == "/api"
    assert links.client_routes(0) and links.client_routes(1)
    assert not links.route_clients(2)  # GET /api/health has no client method
    assert links.expected_client_path(model.routes[2]) == "/health"


def test_api_links_all_route_matches_any_method_and_no_accidental_prefix():
    model = RepoModel(root=".", routes=[_route("ALL", "/proxy/{}"), _route("GET", "/users")],
                      client_methods=[_client("proxy", "DELETE", "/proxy/{}"), _client("x", "GET", "/other/users")])
    links = ApiLinks(model)
    assert links.client_routes(0)
    assert not links.client_routes(1)  # one coincidence is not a mount prefix
    assert links.client_prefix == ""


def test_rules_do_not_crash_on_an_empty_model():
    from checks.config import Config
    from checks.owners import OwnerIndex

    empty = RepoModel(root=".")
    ctx = CheckContext(head=empty, config=Config(), owners=OwnerIndex(empty), base=RepoModel(root="."))
    for rid in sorted(TS_RULES):
        assert list(get_rule(rid).check(ctx)) == []


def test_expected_files_are_well_formed():
    for name in NAMES:
        data = json.loads((VARIANTS / name / "_expected.json").read_text())
        assert isinstance(data, list)
        for e in data:
            assert set(e) == {"rule", "file", "line"}, (name, e)
            assert isinstance(e["line"], int) and e["line"] >= 1, (name, e)
        if name.startswith("decoy-"):
            assert data == [], f"decoy {name} must expect no findings"
