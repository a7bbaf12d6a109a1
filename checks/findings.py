"""Findings and rules: the plain data every output format is rendered from."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Iterable, Literal

from pydantic import BaseModel

if TYPE_CHECKING:  # pragma: no cover
    from .config import Config
    from .model import RepoModel
    from .owners import OwnerIndex
    from .source import Source

Severity = Literal["error", "warning", "info"]
SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}


class Finding(BaseModel):
    rule: str  # "DLCM201", or a Squawk rule name such as "adding-not-nullable-field"
    severity: Severity
    message: str  # what is wrong and how to fix it
    file: str
    line: int = 1
    end_line: int | None = None
    component: str | None = None
    title: str | None = None  # the rule's title, for annotations
    # identity across base and head, independent of line numbers (e.g. "GET /users/{}")
    key: str | None = None
    help_uri: str | None = None

    def identity(self) -> tuple[str, str, str]:
        return (self.rule, self.file, self.key or self.message)


@dataclass(frozen=True)
class Rule:
    id: str
    name: str  # kebab-case slug
    title: str
    severity: Severity
    category: str  # migrations, safety, security, repositories, api, types, breaking, tests
    why: str
    fix: str
    check: Callable[["CheckContext"], Iterable[Finding]] = field(compare=False, repr=False)
    # "change": only meaningful against a base (new migrations, breaking changes)
    scope: Literal["repo", "change"] = "repo"

    def finding(self, message: str, file: str, line: int = 1, *, severity: Severity | None = None,
                key: str | None = None, end_line: int | None = None) -> Finding:
        return Finding(rule=self.id, severity=severity or self.severity, message=message, file=file,
                       line=max(1, line or 1), end_line=end_line, title=self.title, key=key)


@dataclass
class CheckContext:
    head: "RepoModel"
    config: "Config"
    owners: "OwnerIndex"
    base: "RepoModel | None" = None  # None: no base given, every migration counts as existing
    source: "Source | None" = None  # head files, for tools that read them (Squawk)
    options: dict = field(default_factory=dict)

    @property
    def base_files(self) -> dict[str, str]:
        return self.base.files if self.base is not None else {}

    def is_new(self, path: str) -> bool:
        """The file is added by the change (always False without a base)."""
        return self.base is not None and path not in self.base.files

    def is_changed(self, path: str) -> bool:
        if self.base is None:
            return False
        return self.base.files.get(path) != self.head.files.get(path)

    def new_migrations(self):
        """Migrations the change adds; every migration when checking a whole repo (no base)."""
        if self.base is None:
            return list(self.head.migrations)
        return [m for m in self.head.migrations if m.path not in self.base.files]
