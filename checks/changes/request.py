"""Plain data of a change request as the issue form gives it (before any repository check).

`checks.changes.form.parse_issue_body` fills a `ChangeRequest`; what could not be read is a
`Problem` in `ChangeRequest.problems` (never an exception). Names are as written; the
validator (`checks.changes.validate`) qualifies and checks them against the repository.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, Field

ChangeType = Literal[
    "add-field", "new-table", "api-endpoint", "modify-field", "remove-field", "rename", "add-index", "other",
]
CHANGE_TYPES: tuple[str, ...] = (
    "add-field", "new-table", "api-endpoint", "modify-field", "remove-field", "rename", "add-index", "other",
)
Breaking = Literal["yes", "no", "unsure"]
HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")


class Problem(BaseModel):
    """What is wrong with one field of the request, and how to fix it."""

    field: str  # form field id ("columns", "tables", ...) or "body"
    message: str
    severity: Literal["error", "warning"] = "error"


class TableRef(BaseModel):
    schema_: str | None = Field(None, alias="schema")  # as written; None = not qualified
    name: str
    new_name: str | None = None  # `old -> new` for renames
    raw: str

    model_config = {"populate_by_name": True}

    @property
    def qualified(self) -> str:
        return f"{self.schema_ or 'public'}.{self.name}"


class ColumnSpec(BaseModel):
    """One line of the columns field: `[table.]name type [null|not null] [default X]`."""

    table: str | None = None  # qualifier as written ("users" or "public.users")
    name: str
    new_name: str | None = None  # `old -> new` for renames
    type: str | None = None  # normalised PostgreSQL type (checks.sql.parse normalisation)
    nullable: bool | None = None  # None: not said
    default: str | None = None  # deparsed SQL expression
    primary_key: bool = False
    unique: bool = False
    references: str | None = None  # "schema.table" or "schema.table.column"
    raw: str
    line: int = 1  # 1-based line within the columns field


class EndpointSpec(BaseModel):
    method: str  # upper case
    path: str  # as written
    normalized: str  # params as "{}" (same convention as checks.model.Route.path)
    raw: str


class ChangeRequest(BaseModel):
    summary: str | None = None
    change_type: ChangeType | None = None
    change_type_raw: str | None = None
    tables: list[TableRef] = Field(default_factory=list)
    columns: list[ColumnSpec] = Field(default_factory=list)
    endpoints: list[EndpointSpec] = Field(default_factory=list)
    components: list[str] = Field(default_factory=list)
    breaking: Breaking | None = None
    motivation: str | None = None
    rollback_plan: str | None = None
    target_date: dt.date | None = None
    target_date_raw: str | None = None
    options: dict[str, bool] = Field(default_factory=dict)  # checkbox key -> ticked
    problems: list[Problem] = Field(default_factory=list)  # what could not be read
    sections: list[str] = Field(default_factory=list)  # field ids found in the body, in order
    unknown_sections: list[str] = Field(default_factory=list)  # headings that are not form fields

    @property
    def expose_api(self) -> bool:
        """The change is to be reachable through the Database Service API and its client."""
        return bool(self.options.get("expose-api")) or bool(self.endpoints)
