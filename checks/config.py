"""`.github/dlcm.yml`: every path and pattern of the target-repo layout, with defaults.

A repository with the conventional layout needs no file at all. A broken file
raises `ConfigError` naming the file, line and key.
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

CONFIG_PATHS = (".github/dlcm.yml", ".github/dlcm.yaml")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Paths(_Strict):
    # "auto" finds the directory holding migrations/ (or config.toml) named `supabase` anywhere
    supabase_dir: str = "auto"
    migrations: str = "migrations"  # relative to supabase_dir
    rollbacks: str = "rollbacks"  # relative to supabase_dir
    rollback_suffix: str = ".down.sql"
    database_types: list[str] = ["**/database.types.ts"]
    repositories: list[str] = ["**/repositories/**/*.ts"]
    api: list[str] = ["**/api/**/*.ts", "**/routes/**/*.ts"]
    # files that mount routers (index.ts, app.ts, server.ts) are read too: any file of a
    # package that also holds api files is scanned for route registrations
    tests: list[str] = [
        "**/*.test.ts", "**/*.spec.ts", "**/*.test.tsx", "**/*.spec.tsx",
        "**/__tests__/**/*.ts", "**/test/**/*.ts", "**/tests/**/*.ts",
    ]
    ignore: list[str] = [
        "**/node_modules/**", "**/dist/**", "**/build/**", "**/.next/**",
        "**/coverage/**", "**/.turbo/**", "**/*.d.ts",
    ]
    component_board: list[str] = [".github/components.yml", ".github/components.yaml", "docs/COMPONENT_BOARD.md"]
    codeowners: list[str] = [".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS"]  # GitHub looks in this order


class Naming(_Strict):
    client_package_suffix: str = "-client"
    client_packages: list[str] = []  # explicit client package names, in addition to the suffix
    repository_suffix: str = "Repository"
    supabase_prefixes: list[str] = ["Supabase"]
    memory_prefixes: list[str] = ["Memory", "InMemory"]
    # explicit repository -> table links where the name convention does not hold
    repository_tables: dict[str, str] = {}


class RuleSetting(_Strict):
    enabled: bool = True
    severity: Literal["error", "warning", "info"] | None = None


class Squawk(_Strict):
    enabled: bool = True
    timeout_rules: bool = False  # require-timeout-settings & co are noise on Supabase by default
    exclude: list[str] = []
    pg_version: str | None = None


class BusinessRules(_Strict):
    table_name_pattern: str = r"^[a-z][a-z0-9_]*$"
    column_name_pattern: str = r"^[a-z][a-z0-9_]*$"
    forbidden_types: list[str] = ["json", "timestamp", "money", "serial", "char"]
    required_columns: list[str] = ["id", "created_at"]
    rls_required: bool = True
    new_table_needs_repository: bool = True


class ChangeRequests(_Strict):
    label: str = "data-layer-change"
    title_prefix: str = "[DLCM-{n}]"
    breaking_approvals: int = 1
    notify_webhook: str | None = None
    # a deployment to one of these environments starts the monitoring window
    production_environments: list[str] = ["production", "prod"]
    monitoring_window_hours: int = 24


class Config(_Strict):
    paths: Paths = Field(default_factory=Paths)
    naming: Naming = Field(default_factory=Naming)
    rules: dict[str, RuleSetting] = {}
    squawk: Squawk = Field(default_factory=Squawk)
    business_rules: BusinessRules = Field(default_factory=BusinessRules)
    change_requests: ChangeRequests = Field(default_factory=ChangeRequests)
    test_command: str = "pnpm test"


class ConfigError(Exception):
    def __init__(self, file: str, line: int | None, key: str | None, message: str):
        self.file, self.line, self.key, self.message = file, line, key, message
        where = f"{file}:{line}" if line else file
        super().__init__(f"{where}: {('`' + key + '`: ') if key else ''}{message}")


def _key_lines(node: yaml.Node, prefix: tuple = ()) -> dict[tuple, int]:
    """Map each key path of a YAML document to its 1-based line."""
    out: dict[tuple, int] = {}
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            path = prefix + (k.value,)
            out[path] = k.start_mark.line + 1
            out.update(_key_lines(v, path))
    elif isinstance(node, yaml.SequenceNode):
        for i, v in enumerate(node.value):
            out[prefix + (i,)] = v.start_mark.line + 1
            out.update(_key_lines(v, prefix + (i,)))
    return out


def parse_config(text: str, file: str = ".github/dlcm.yml") -> Config:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data: Any = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = mark.line + 1 if mark else None
        raise ConfigError(file, line, None, f"invalid YAML: {getattr(e, 'problem', None) or e}") from None
    if data is None:
        return Config()
    if not isinstance(data, dict):
        raise ConfigError(file, 1, None, "expected a mapping of settings at the top level")
    data.pop("_extends", None)  # shared configs are resolved by the App before parsing
    lines = _key_lines(node) if node is not None else {}
    try:
        return Config.model_validate(data)
    except ValidationError as e:
        err = e.errors()[0]
        loc = tuple(err["loc"])
        key = ".".join(str(p) for p in loc)
        line = None
        for i in range(len(loc), 0, -1):
            if loc[:i] in lines:
                line = lines[loc[:i]]
                break
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown key (see `dlcm init` for the documented settings)"
        more = len(e.errors()) - 1
        if more:
            msg += f" (and {more} more problem{'s' if more > 1 else ''})"
        raise ConfigError(file, line, key, msg) from None


def load_config(read_text, exists) -> tuple[Config, str | None]:
    """Find and parse the config through the source's `read_text(path)` / `exists(path)`."""
    for path in CONFIG_PATHS:
        if exists(path):
            return parse_config(read_text(path), path), path
    return Config(), None


def match(path: str, patterns: list[str]) -> bool:
    """Glob match with `**` spanning directories (PurePosixPath.full_match semantics)."""
    rx = _combined.get(tuple(patterns))
    if rx is None:
        import re

        rx = _combined[tuple(patterns)] = re.compile("|".join(f"(?:{_glob_re(p).pattern})" for p in patterns)
                                                      or r"(?!)")
    return rx.match(path) is not None


_combined: dict[tuple, Any] = {}


_cache: dict[str, Any] = {}


def _glob_re(pattern: str):
    import re

    rx = _cache.get(pattern)
    if rx is None:
        out, i = "", 0
        while i < len(pattern):
            c = pattern[i]
            if pattern.startswith("**/", i):
                out += "(?:.*/)?"
                i += 3
                continue
            if pattern.startswith("**", i):
                out += ".*"
                i += 2
                continue
            out += {"*": "[^/]*", "?": "[^/]"}.get(c, re.escape(c))
            i += 1
        rx = _cache[pattern] = re.compile(out + r"\Z")
    return rx
