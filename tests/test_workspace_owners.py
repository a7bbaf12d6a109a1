"""Workspace packages, component board and CODEOWNERS from real files and a real git repo."""

import subprocess

import pytest

from checks.config import Config
from checks.model import RepoModel
from checks.owners import OwnerIndex, load_owners, parse_codeowners, parse_components_markdown
from checks.source import DirSource, GitSource, MemorySource, SourceError, blob_sha
from checks.workspace import find_packages, tsconfig_paths

FILES = {
    "pnpm-workspace.yaml": b"packages:\n  - 'apps/*'\n  - 'packages/*'\n  - '!packages/legacy'\n",
    "package.json": b'{"name": "shop", "private": true, "devDependencies": {"typescript": "^5.6.0"}}',
    "apps/api/package.json": b'{"name": "@shop/api", "dependencies": {"@shop/db-client": "workspace:*", "hono": "^4"}}',
    "apps/bot/package.json": b'{"name": "@shop/bot", "dependencies": {"@shop/db-client": "workspace:^"}}',
    "packages/db-client/package.json": b'{"name": "@shop/db-client", "main": "dist/index.js", "types": "dist/index.d.ts"}',
    "packages/db-client/src/index.ts": b"export {}\n",
    "packages/legacy/package.json": b'{"name": "@shop/legacy"}',
    "apps/bot/node_modules/x/package.json": b'{"name": "x"}',
    "tsconfig.base.json": b'{\n // comment\n "compilerOptions": {"baseUrl": ".", "paths": {"@db/*": ["packages/db-client/src/*"],},}\n}',
    "apps/api/tsconfig.json": b'{"extends": "../../tsconfig.base.json"}',
}


def test_packages_follow_pnpm_globs_and_workspace_deps():
    src = MemorySource(FILES)
    diags = []
    pkgs = find_packages(src, src.files(), Config(), diags)
    assert [(p.name, p.path) for p in pkgs] == [
        ("shop", ""), ("@shop/api", "apps/api"), ("@shop/bot", "apps/bot"), ("@shop/db-client", "packages/db-client")]
    by = {p.name: p for p in pkgs}
    assert by["@shop/api"].workspace_deps == ["@shop/db-client"]
    assert by["@shop/bot"].workspace_deps == ["@shop/db-client"]
    assert by["@shop/db-client"].is_client and not by["@shop/api"].is_client
    assert by["@shop/db-client"].entry == "packages/db-client/src/index.ts"
    assert diags == []


def test_broken_package_json_is_a_diagnostic_not_a_crash():
    files = dict(FILES)
    files["apps/bot/package.json"] = b'{"name": "@shop/bot",\n  "dependencies": {'
    src = MemorySource(files)
    diags = []
    pkgs = find_packages(src, src.files(), Config(), diags)
    assert "@shop/bot" not in {p.name for p in pkgs}
    assert [(d.file, d.kind) for d in diags] == [("apps/bot/package.json", "json-error")]
    assert diags[0].line == 2


def test_tsconfig_paths_are_read_as_jsonc_and_follow_extends():
    src = MemorySource(FILES)
    paths = tsconfig_paths(src, src.files(), [])
    assert paths[""] == {"baseUrl": "", "paths": {"@db/*": ["packages/db-client/src/*"]}}
    assert paths["apps/api"]["paths"] == {"@db/*": ["packages/db-client/src/*"]}


CODEOWNERS = """\
# default owners
*                      @shop/platform
/supabase/             @shop/data-team   # inline comment
apps/bot/**            @alice @shop/bot-team
*.sql                  @shop/dba
/apps/api/src/routes/  @bob
"""


@pytest.mark.parametrize("path,owners", [
    ("README.md", ["@shop/platform"]),
    ("supabase/config.toml", ["@shop/data-team"]),
    ("supabase/migrations/20240101000000_init.sql", ["@shop/dba"]),  # last match wins
    ("apps/bot/src/index.ts", ["@alice", "@shop/bot-team"]),
    ("apps/api/src/routes/users.ts", ["@bob"]),
    ("apps/api/src/index.ts", ["@shop/platform"]),
])
def test_codeowners_last_match_wins(path, owners):
    model = RepoModel(root="x", codeowners=parse_codeowners(CODEOWNERS, ".github/CODEOWNERS"))
    assert OwnerIndex(model).codeowners_for(path) == owners


def test_codeowners_rules_keep_lines():
    co = parse_codeowners(CODEOWNERS, "CODEOWNERS")
    assert [(r.pattern, r.line) for r in co.rules][:2] == [("*", 2), ("/supabase/", 3)]
    assert co.rules[1].owners == ["@shop/data-team"]


BOARD_MD = """\
# Component board

Some prose.

| Component | Paths | Owners | Depends on | Status |
|---|---|---|---|---|
| database-service | `apps/api/**` | @shop/data-team | | active |
| telegram-bot | `apps/bot/**` | @alice, @shop/bot-team | database-service, database-client | active |
"""


def test_component_board_markdown_table():
    comps = parse_components_markdown(BOARD_MD, "docs/COMPONENT_BOARD.md", [])
    assert [(c.name, c.paths, c.owners, c.depends_on, c.status) for c in comps] == [
        ("database-service", ["apps/api/**"], ["@shop/data-team"], [], "active"),
        ("telegram-bot", ["apps/bot/**"], ["@alice", "@shop/bot-team"], ["database-service", "database-client"], "active"),
    ]


def test_component_board_yaml_and_file_to_component():
    files = {
        ".github/components.yml": b"components:\n  - name: database-service\n    paths: ['apps/api/**', 'supabase/**']\n"
                                  b"    owners: ['@shop/data-team']\n  - name: routes\n    paths: ['apps/api/src/routes/**']\n"
                                  b"    owners: '@bob'\n    depends_on: [database-service]\n",
    }
    src = MemorySource(files)
    diags = []
    comps, board, co = load_owners(src, src.files(), Config().paths.component_board, Config().paths.codeowners, diags)
    assert board == ".github/components.yml" and diags == []
    model = RepoModel(root="x", components=comps, codeowners=co)
    idx = OwnerIndex(model)
    assert idx.component_name("apps/api/src/routes/users.ts") == "routes"  # most specific wins
    assert idx.component_name("supabase/migrations/x.sql") == "database-service"
    assert idx.owners_for("apps/api/src/routes/users.ts") == ["@bob"]


def test_component_board_broken_yaml_is_a_diagnostic():
    src = MemorySource({".github/components.yml": b"components:\n  - name: a\n    paths: [unclosed\n"})
    diags = []
    comps, *_ = load_owners(src, src.files(), Config().paths.component_board, Config().paths.codeowners, diags)
    assert comps == [] and diags[0].kind == "component-board-error" and diags[0].file == ".github/components.yml"


def _git(cwd, *args):
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                   env={"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@x", "GIT_COMMITTER_NAME": "t",
                        "GIT_COMMITTER_EMAIL": "t@x", "PATH": "/usr/bin:/bin:/usr/local/bin", "HOME": str(cwd)})


def test_git_source_reads_a_ref_without_checkout(tmp_path):
    _git(tmp_path, "init", "-q", "-b", "main")
    (tmp_path / "a.sql").write_text("select 1;\n")
    (tmp_path / "node_modules").mkdir()
    (tmp_path / "node_modules" / "x.ts").write_text("x")
    _git(tmp_path, "add", "-A")
    _git(tmp_path, "commit", "-qm", "one")
    (tmp_path / "a.sql").write_text("select 2;\n")
    (tmp_path / "b.ts").write_text("export const b = 1\n")
    _git(tmp_path, "add", "-A")
    _git(tmp_path, "commit", "-qm", "two")
    old = GitSource(str(tmp_path), "HEAD~1")
    assert old.files() == ["a.sql"]  # node_modules pruned, b.ts not yet there
    assert old.read_bytes("a.sql") == b"select 1;\n"
    assert old.blob_id("a.sql") == blob_sha(b"select 1;\n")
    new = DirSource(str(tmp_path))
    assert new.files() == ["a.sql", "b.ts"]
    assert new.blob_id("a.sql") == blob_sha(b"select 2;\n")
    with pytest.raises(SourceError) as e:
        GitSource(str(tmp_path), "no-such-branch")
    assert "no-such-branch" in str(e.value) or "git rev-parse" in str(e.value)
