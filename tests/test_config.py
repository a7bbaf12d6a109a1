"""`.github/dlcm.yml`: defaults, overrides, and errors that name file, line and key."""

import pytest

from checks.config import Config, ConfigError, match, parse_config


def test_no_file_means_conventional_defaults():
    cfg = parse_config("")
    assert cfg.paths.supabase_dir == "auto"
    assert cfg.paths.migrations == "migrations"
    assert cfg.paths.rollback_suffix == ".down.sql"
    assert cfg.naming.client_package_suffix == "-client"
    assert cfg.naming.memory_prefixes == ["Memory", "InMemory"]
    assert cfg == Config()


def test_overrides_keep_other_defaults():
    cfg = parse_config(
        "paths:\n  supabase_dir: apps/db/supabase\n  api: ['**/http/**/*.ts']\n"
        "naming:\n  repository_tables: {PersonRepository: people}\n"
        "rules:\n  DLCM501: {severity: warning}\n"
    )
    assert cfg.paths.supabase_dir == "apps/db/supabase"
    assert cfg.paths.api == ["**/http/**/*.ts"]
    assert cfg.paths.repositories == ["**/repositories/**/*.ts"]
    assert cfg.naming.repository_tables == {"PersonRepository": "people"}
    assert cfg.rules["DLCM501"].severity == "warning"


def test_unknown_key_names_file_line_and_key():
    with pytest.raises(ConfigError) as e:
        parse_config("paths:\n  migrations: db/migrations\n  rolbacks: db/down\n")
    assert e.value.file == ".github/dlcm.yml"
    assert e.value.line == 3
    assert e.value.key == "paths.rolbacks"
    assert "unknown key" in str(e.value)
    assert str(e.value).startswith(".github/dlcm.yml:3: `paths.rolbacks`")


def test_wrong_type_names_line_and_key():
    with pytest.raises(ConfigError) as e:
        parse_config("naming:\n  client_packages: 12\n")
    assert (e.value.line, e.value.key) == (2, "naming.client_packages")
    assert "list" in e.value.message


def test_bad_yaml_names_line():
    with pytest.raises(ConfigError) as e:
        parse_config("paths:\n  api: [unclosed\nnaming: {}\n")
    assert e.value.line is not None and e.value.line >= 2
    assert "invalid YAML" in e.value.message


def test_top_level_not_a_mapping():
    with pytest.raises(ConfigError) as e:
        parse_config("- a\n- b\n")
    assert "mapping" in e.value.message


@pytest.mark.parametrize("path,pattern,expected", [
    ("apps/api/src/repositories/user.ts", "**/repositories/**/*.ts", True),
    ("src/repositories/user.ts", "**/repositories/**/*.ts", True),
    ("repositories/user.ts", "**/repositories/**/*.ts", True),
    ("apps/api/src/repository.ts", "**/repositories/**/*.ts", False),
    ("apps/x/node_modules/y/index.ts", "**/node_modules/**", True),
    ("a/database.types.ts", "**/database.types.ts", True),
    ("a/b.d.ts", "**/*.d.ts", True),
])
def test_glob_semantics(path, pattern, expected):
    assert match(path, [pattern]) is expected
