"""Plain data of the repository model.

Everything dlcm knows about a target repository is one `RepoModel`. Extractors
(`checks.sql`, `checks.ts`, `checks.workspace`, `checks.owners`) fill it; rules,
impact analysis, scaffolding and the App only read it. Paths are POSIX and
relative to the repository root; lines are 1-based.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field


class Diagnostic(BaseModel):
    """A file dlcm could not read fully: reported, never raised."""

    file: str
    line: int = 1
    kind: str  # e.g. "sql-parse-error", "ts-parse-error", "config-error", "unreadable"
    message: str


# --------------------------------------------------------------------------- SQL


class Column(BaseModel):
    name: str
    type: str  # normalised PostgreSQL type, e.g. "text", "uuid", "timestamptz", "varchar(20)", "text[]"
    nullable: bool = True
    default: str | None = None  # deparsed SQL expression
    primary_key: bool = False
    unique: bool = False
    references: str | None = None  # "schema.table.column" of a foreign key
    generated: bool = False
    identity: bool = False


class Constraint(BaseModel):
    name: str | None = None
    kind: Literal["primary_key", "unique", "foreign_key", "check", "exclude", "not_null"]
    columns: list[str] = Field(default_factory=list)
    ref_table: str | None = None  # "schema.table"
    ref_columns: list[str] = Field(default_factory=list)
    expr: str | None = None


class Index(BaseModel):
    name: str
    table: str  # "schema.table"
    columns: list[str]  # column names or deparsed expressions
    unique: bool = False
    where: str | None = None
    method: str | None = None


class Policy(BaseModel):
    name: str
    table: str  # "schema.table"
    command: Literal["all", "select", "insert", "update", "delete"] = "all"
    roles: list[str] = Field(default_factory=lambda: ["public"])
    using: str | None = None
    with_check: str | None = None
    permissive: bool = True


class Function(BaseModel):
    schema_: str = Field("public", alias="schema")
    name: str
    args: str = ""  # deparsed argument list, part of the identity
    returns: str | None = None
    language: str | None = None
    security_definer: bool = False
    search_path: str | None = None  # value of `set search_path`, None if not set
    body: str | None = None  # the function body as written (dollar-quoted text), or deparsed `begin atomic`

    model_config = {"populate_by_name": True}


class Enum(BaseModel):
    schema_: str = Field("public", alias="schema")
    name: str
    values: list[str]

    model_config = {"populate_by_name": True}


class Trigger(BaseModel):
    name: str
    table: str
    function: str
    timing: str = ""  # before / after / instead of
    events: list[str] = Field(default_factory=list)


class View(BaseModel):
    schema_: str = Field("public", alias="schema")
    name: str
    definition: str = ""
    materialized: bool = False

    model_config = {"populate_by_name": True}


class Grant(BaseModel):
    privileges: list[str]  # ["select", "insert"] or ["all"]
    object_kind: str  # "table", "function", "schema", "sequence", ...
    objects: list[str]
    roles: list[str]


class Table(BaseModel):
    schema_: str = Field("public", alias="schema")
    name: str
    columns: dict[str, Column] = Field(default_factory=dict)  # in declaration order
    constraints: list[Constraint] = Field(default_factory=list)
    rls_enabled: bool = False
    rls_forced: bool = False

    model_config = {"populate_by_name": True}

    @property
    def qualified(self) -> str:
        return f"{self.schema_}.{self.name}"


class Schema(BaseModel):
    """The database schema after replaying migrations in order. Keys are "schema.name"."""

    tables: dict[str, Table] = Field(default_factory=dict)
    indexes: dict[str, Index] = Field(default_factory=dict)  # key "schema.index_name"
    policies: dict[str, Policy] = Field(default_factory=dict)  # key "schema.table.policy_name"
    functions: dict[str, Function] = Field(default_factory=dict)  # key "schema.name(args)"
    enums: dict[str, Enum] = Field(default_factory=dict)
    triggers: dict[str, Trigger] = Field(default_factory=dict)  # key "schema.table.trigger"
    views: dict[str, View] = Field(default_factory=dict)
    grants: list[Grant] = Field(default_factory=list)


OpKind = Literal[
    "create_table", "drop_table", "rename_table",
    "add_column", "drop_column", "rename_column", "alter_column_type",
    "set_not_null", "drop_not_null", "set_default", "drop_default",
    "add_constraint", "drop_constraint",
    "create_index", "drop_index", "rename_index",
    "enable_rls", "disable_rls", "force_rls", "no_force_rls",
    "create_policy", "drop_policy", "alter_policy",
    "create_function", "drop_function",
    "create_enum", "add_enum_value", "rename_enum_value", "drop_type",
    "create_trigger", "drop_trigger",
    "create_view", "drop_view",
    "grant", "revoke",
    "create_schema", "create_extension", "comment", "insert", "update", "delete", "do_block",
    "other",
    # added by checks.sql: alter/rename of the other object kinds
    "alter_function", "rename_function", "rename_policy", "rename_trigger", "rename_type",
    "rename_view", "rename_constraint", "validate_constraint",
]


class Op(BaseModel):
    """One schema operation of a migration; one statement may give several."""

    kind: OpKind
    line: int  # line of the statement in its file
    schema_: str | None = Field(None, alias="schema")
    table: str | None = None  # bare name; with schema_ gives the qualified table
    column: str | None = None
    name: str | None = None  # object name for index/policy/function/enum/trigger/view/constraint
    new_name: str | None = None  # for renames
    if_exists: bool = False
    if_not_exists: bool = False
    or_replace: bool = False  # `create or replace ...`
    cascade: bool = False  # `drop ... cascade`
    # the entity created or the new value, as a plain dict of the matching model above
    # (Column, Table, Index, Policy, Function, Enum, Trigger, View, Grant, Constraint)
    detail: dict[str, Any] = Field(default_factory=dict)
    sql: str = ""  # the statement text, trimmed

    model_config = {"populate_by_name": True}


class Statement(BaseModel):
    line: int
    end_line: int
    sql: str
    ops: list[Op] = Field(default_factory=list)


class Suppression(BaseModel):
    """`-- dlcm-ignore DLCM101: reason` / `// dlcm-ignore DLCM301: reason` in a file."""

    file: str
    line: int  # the line it is on; it covers that line and the next statement/line
    rules: list[str]
    reason: str


class Migration(BaseModel):
    path: str
    version: str | None  # 14-digit timestamp, None when the name does not follow the convention
    name: str  # the part after "<version>_", without ".sql"
    stem: str  # file name without ".sql"
    statements: list[Statement] = Field(default_factory=list)
    rollback: str | None = None  # path of the matching rollback file
    parse_error: Diagnostic | None = None
    empty: bool = False

    @property
    def ops(self) -> list[Op]:
        return [op for st in self.statements for op in st.ops]


class Rollback(BaseModel):
    path: str
    stem: str  # the migration stem it belongs to
    statements: list[Statement] = Field(default_factory=list)
    parse_error: Diagnostic | None = None


# ------------------------------------------------------------------- TypeScript


class TypeColumn(BaseModel):
    name: str
    ts_type: str  # as written, e.g. "string | null", "Json", "Database[\"public\"][\"Enums\"][\"x\"]"
    optional: bool = False  # `name?:`
    nullable: bool = False  # `| null`
    line: int


class TypeTable(BaseModel):
    schema_: str = Field("public", alias="schema")
    name: str
    kind: Literal["table", "view"] = "table"
    row: dict[str, TypeColumn] = Field(default_factory=dict)
    insert: dict[str, TypeColumn] = Field(default_factory=dict)
    update: dict[str, TypeColumn] = Field(default_factory=dict)
    line: int

    model_config = {"populate_by_name": True}


class DatabaseTypes(BaseModel):
    """A parsed `database.types.ts` (output of `supabase gen types typescript`)."""

    file: str
    tables: dict[str, TypeTable] = Field(default_factory=dict)  # key "schema.table"
    enums: dict[str, list[str]] = Field(default_factory=dict)  # key "schema.enum"
    functions: list[str] = Field(default_factory=list)


class Param(BaseModel):
    name: str
    type: str | None = None
    optional: bool = False
    rest: bool = False


class Method(BaseModel):
    name: str
    params: list[Param] = Field(default_factory=list)
    returns: str | None = None
    line: int
    end_line: int | None = None
    kind: Literal["method", "property", "arrow"] = "method"  # `m(): T`, `m: (..) => T`, `m = async () => {}`


class RepositoryInterface(BaseModel):
    name: str  # "UserRepository"
    file: str
    line: int
    methods: list[Method] = Field(default_factory=list)
    kind: Literal["interface", "type"] = "interface"
    tables: list[str] = Field(default_factory=list)  # tables it maps to (name convention and usage)


class Implementation(BaseModel):
    name: str  # class name, e.g. "SupabaseUserRepository"
    file: str
    line: int
    interface: str | None  # the repository interface it implements
    flavour: Literal["supabase", "memory", "other"]
    methods: list[Method] = Field(default_factory=list)
    tables: list[str] = Field(default_factory=list)  # tables from `.from('<t>')` inside it


class TableUsage(BaseModel):
    table: str
    file: str
    line: int
    kind: Literal["from", "select", "insert", "update", "upsert", "delete", "type_ref", "rpc"]
    columns: list[str] = Field(default_factory=list)  # selected columns or insert/update keys
    symbol: str | None = None  # enclosing "Class.method" or function name
    filters: list[str] = Field(default_factory=list)  # columns in .eq/.order/... (for perf hints)
    embedded_in: str | None = None  # parent table when this is a nested relation of a select: `orders(id)`


class Route(BaseModel):
    method: str  # upper case HTTP method; "ALL" for app.all / app.use handlers
    path: str  # normalised full path, params as "{}" e.g. "/users/{}/orders"
    raw_path: str  # full path with the original param names, e.g. "/users/:id/orders"
    file: str
    line: int
    framework: Literal["hono", "express", "fastify", "unknown"] = "unknown"
    handler_calls: list[str] = Field(default_factory=list)  # "repo.method" names called in the handler
    package: str | None = None


class ClientMethod(BaseModel):
    name: str  # "getUser" or "users.get" for nested objects
    http_method: str
    path: str  # normalised as Route.path
    raw_path: str
    file: str
    line: int
    package: str
    params: list[Param] = Field(default_factory=list)
    class_name: str | None = None


class ConsumerCall(BaseModel):
    file: str
    line: int
    package: str
    client_package: str
    method: str  # ClientMethod.name
    symbol: str | None = None  # enclosing function of the call


class Package(BaseModel):
    name: str
    path: str  # directory relative to root, "" for the root package
    workspace_deps: list[str] = Field(default_factory=list)  # names of workspace packages it depends on
    deps: dict[str, str] = Field(default_factory=dict)  # all dependencies and their specifiers
    is_client: bool = False
    scripts: dict[str, str] = Field(default_factory=dict)
    entry: str | None = None  # the .ts file an import of the package resolves to


class Component(BaseModel):
    name: str
    paths: list[str] = Field(default_factory=list)  # globs
    owners: list[str] = Field(default_factory=list)  # "@org/team" or "@user"
    depends_on: list[str] = Field(default_factory=list)
    status: str | None = None
    description: str | None = None


class CodeOwnersRule(BaseModel):
    pattern: str
    owners: list[str]
    line: int


class CodeOwners(BaseModel):
    file: str | None = None
    rules: list[CodeOwnersRule] = Field(default_factory=list)


class TestFile(BaseModel):
    file: str
    package: str | None = None
    identifiers: list[str] = Field(default_factory=list)  # method/route names and paths mentioned


# ------------------------------------------------------------------------ model


class RepoModel(BaseModel):
    root: str  # the directory or "<repo>@<ref>"
    ref: str | None = None
    config_file: str | None = None
    supabase_dir: str | None = None  # where `supabase/` was found, e.g. "supabase" or "apps/db/supabase"
    packages: list[Package] = Field(default_factory=list)
    migrations: list[Migration] = Field(default_factory=list)  # sorted by version, then file name
    rollbacks: list[Rollback] = Field(default_factory=list)
    schema_: Schema = Field(default_factory=Schema, alias="schema")
    database_types: list[DatabaseTypes] = Field(default_factory=list)
    repositories: list[RepositoryInterface] = Field(default_factory=list)
    implementations: list[Implementation] = Field(default_factory=list)
    table_usage: list[TableUsage] = Field(default_factory=list)
    routes: list[Route] = Field(default_factory=list)
    client_methods: list[ClientMethod] = Field(default_factory=list)
    consumers: list[ConsumerCall] = Field(default_factory=list)
    tests: list[TestFile] = Field(default_factory=list)
    components: list[Component] = Field(default_factory=list)
    component_board: str | None = None
    codeowners: CodeOwners = Field(default_factory=CodeOwners)
    suppressions: list[Suppression] = Field(default_factory=list)
    diagnostics: list[Diagnostic] = Field(default_factory=list)
    files: dict[str, str] = Field(default_factory=dict)  # path -> content hash of every file read

    model_config = {"populate_by_name": True}

    # lookups used by rules and impact analysis
    def package_of(self, path: str) -> Package | None:
        best: Package | None = None
        for p in self.packages:
            prefix = p.path + "/" if p.path else ""
            if path.startswith(prefix) and (best is None or len(p.path) > len(best.path)):
                best = p
        return best
