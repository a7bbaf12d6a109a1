"""Plain data of an impact analysis: the proposed change in, the `ImpactReport` out.

Every affected item says `why` it is there: the link of the chain

    table/column → database.types.ts → repository method (interface, Supabase, Memory)
      → API route → client method → consumer call → component → owners

that brought it in, so a reviewer can follow (and dispute) each step.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

ChangeKind = Literal[
    "add",  # add a column (`to`: its definition, e.g. "text not null default ''")
    "drop",  # drop a column, or the table when `column` is None
    "rename",  # rename a column, or the table when `column` is None (`to`: the new name)
    "type",  # change a column's type (`to`: the new type)
    "nullability",  # `to`: "not null" (tighten) or "null" (loosen)
    "new-table",
    "add-index",  # `column`: "a" or "a,b"
    "api-endpoint",  # `endpoint`: "GET /users/{id}/email"; `to`: None (add/expose), "removed" or "changed"
    "modify",  # unspecified change of a table/column: everything that uses it
]
CHANGE_KINDS: tuple[str, ...] = (
    "add", "drop", "rename", "type", "nullability", "new-table", "add-index", "api-endpoint", "modify",
)


class ProposedChange(BaseModel):
    """One data-layer change, from the CLI, a change request or a pull request's diff."""

    table: str | None = None  # "users" or "public.users"; may be None for a pure API change
    column: str | None = None
    change: ChangeKind = "modify"
    to: str | None = None  # new name / new type / column definition / "not null"
    endpoint: str | None = None  # "METHOD /path" for api-endpoint changes
    # extra facts a diff or a change request knows
    nullable: bool | None = None  # of an added column
    default: str | None = None  # of an added column
    enum_removed: list[str] = Field(default_factory=list)  # enum values a type change removes
    enum_added: list[str] = Field(default_factory=list)
    source: Literal["cli", "request", "diff"] = "cli"
    detail: str | None = None

    def __init__(self, table: str | None = None, column: str | None = None, change: str = "modify",
                 to: str | None = None, endpoint: str | None = None, **data: Any) -> None:
        super().__init__(table=table, column=column, change=change, to=to, endpoint=endpoint, **data)

    @property
    def qualified_table(self) -> str | None:
        if not self.table:
            return None
        return self.table if "." in self.table else f"public.{self.table}"

    @property
    def target(self) -> str:
        """`public.users.phone`, `public.users` or `GET /users/{}`."""
        if self.change == "api-endpoint" and self.endpoint:
            return self.endpoint
        t = self.qualified_table or ""
        return f"{t}.{self.column}" if self.column else t

    def label(self) -> str:
        if self.change == "api-endpoint":
            verb = {"removed": "remove endpoint", "changed": "change endpoint"}.get(self.to or "", "expose endpoint")
            return f"{verb} {self.endpoint or '?'}" + (f" ({self.target_column()})" if self.table and self.column else "")
        what = self.target
        if self.change == "drop":
            return f"drop {'column' if self.column else 'table'} {what}"
        if self.change == "rename":
            return f"rename {'column' if self.column else 'table'} {what} → {self.to}"
        if self.change == "type":
            return f"change type of {what} → {self.to}"
        if self.change == "nullability":
            return f"make {what} {self.to or 'not null'}"
        if self.change == "add":
            return f"add column {what}" + (f" {self.to}" if self.to else "")
        if self.change == "new-table":
            return f"new table {what}"
        if self.change == "add-index":
            return f"add index on {what}"
        return f"change {what}"

    def target_column(self) -> str:
        return f"{self.qualified_table}.{self.column}" if self.column else (self.qualified_table or "")


Effect = Literal["contract", "runtime", "wiring", "performance"]


class TableItem(BaseModel):
    table: str  # "public.users"
    exists: bool = True
    file: str | None = None  # migration that creates it
    line: int | None = None
    type_refs: list[str] = Field(default_factory=list)  # "file:line" of Tables<'t'> / Database[...] references
    db_objects: list[str] = Field(default_factory=list)  # dependent indexes, policies, FKs, triggers, views
    component: str | None = None  # the component owning the migrations
    why: str


class ColumnItem(BaseModel):
    """An entry of a generated `database.types.ts` (Row / Insert / Update)."""

    table: str
    column: str | None  # None: the table's entry
    part: Literal["Tables", "Row", "Insert", "Update"]
    file: str
    line: int
    ts_type: str | None = None
    why: str


class RepositoryMethodItem(BaseModel):
    symbol: str  # "SupabaseUserRepository.findById" or "UserRepository.findById"
    repository: str  # interface name
    method: str
    flavour: Literal["interface", "supabase", "memory", "other"]
    file: str
    line: int
    touches: list[str] = Field(default_factory=list)  # "select phone (line 14)", "insert keys", "select * (line 10)"
    effect: Effect = "contract"
    why: str


class EndpointItem(BaseModel):
    method: str
    path: str  # normalised, params as "{}"
    raw_path: str
    file: str
    line: int
    effect: Effect  # contract: its request/response carries the change; runtime: it may fail until code is updated
    via: list[str] = Field(default_factory=list)  # "users.findById → UserRepository.findById"
    why: str

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"


class ClientMethodItem(BaseModel):
    name: str
    http_method: str
    path: str
    file: str
    line: int
    package: str
    endpoint: str  # "GET /users/{}"
    why: str


class ConsumerItem(BaseModel):
    file: str
    line: int
    component: str | None
    symbol: str | None
    method: str  # client method called
    package: str | None = None
    why: str


class ComponentItem(BaseModel):
    name: str
    owners: list[str] = Field(default_factory=list)
    why: str
    files: list[str] = Field(default_factory=list)  # not in the JSON output (report only)


class BreakingItem(BaseModel):
    """One breaking (or potentially breaking) change, named in the style of oasdiff."""

    id: str  # e.g. "column-removed", "column-type-narrowed", "endpoint-removed"
    rule: str  # DLCM7xx
    level: Literal["error", "warning", "info"]  # error = breaking, warning = potentially breaking
    object: str
    message: str


class MissingItem(BaseModel):
    kind: str  # e.g. "column-not-read", "endpoint-without-client", "table-without-repository"
    object: str
    message: str  # what to do
    file: str | None = None
    line: int | None = None


class DownMigration(BaseModel):
    path: str | None = None  # the rollback file in the repository, when there is one
    exists: bool = False
    sql: str  # its content, or what it must contain


class RollbackPlan(BaseModel):
    change: str  # the change's label
    strategy: str  # "revert" | "expand/contract"
    down_migration: DownMigration
    data_loss: Literal["none", "low", "high"]
    data_loss_why: str
    steps: list[str] = Field(default_factory=list)  # deploy order (forward), then how to roll back
    rollback_steps: list[str] = Field(default_factory=list)
    test: str


class Rollback(BaseModel):
    plans: list[RollbackPlan] = Field(default_factory=list)
    order: list[str] = Field(default_factory=list)  # component order of the forward deploy
    test: str = ""


class ImpactReport(BaseModel):
    changes: list[ProposedChange] = Field(default_factory=list)
    tables: list[TableItem] = Field(default_factory=list)
    columns: list[ColumnItem] = Field(default_factory=list)
    repository_methods: list[RepositoryMethodItem] = Field(default_factory=list)
    endpoints: list[EndpointItem] = Field(default_factory=list)
    client_methods: list[ClientMethodItem] = Field(default_factory=list)
    consumers: list[ConsumerItem] = Field(default_factory=list)
    components: list[ComponentItem] = Field(default_factory=list)
    breaking: list[BreakingItem] = Field(default_factory=list)
    missing: list[MissingItem] = Field(default_factory=list)
    rollback: Rollback = Field(default_factory=Rollback)
    # analysis notes (unresolved handler calls, assumptions): text and Markdown only
    notes: list[str] = Field(default_factory=list)
    # component → component edges of the chain, for the Mermaid graph: (from, to, label)
    edges: list[tuple[str, str, str]] = Field(default_factory=list)
    # file → component of every affected file (for rendering)
    file_components: dict[str, str] = Field(default_factory=dict)

    @property
    def is_breaking(self) -> bool:
        return any(b.level == "error" for b in self.breaking)

    def to_json_dict(self) -> dict[str, Any]:
        """The documented JSON shape of `dlcm impact --format json`."""
        d = self.model_dump(mode="json", exclude={"notes", "edges", "file_components"}, exclude_none=False)
        d["changes"] = [c.model_dump(mode="json", exclude_defaults=True) | {"change": c.change}
                        for c in self.changes]
        d["components"] = [{"name": c.name, "owners": c.owners, "why": c.why} for c in self.components]
        return d

    def files(self) -> set[str]:
        """Every affected file (for ground-truth comparisons and ownership)."""
        out: set[str] = set()
        for t in self.tables:
            if t.file:
                out.add(t.file)
        for group in (self.columns, self.repository_methods, self.endpoints, self.client_methods, self.consumers):
            out.update(i.file for i in group)
        return out
