"""In-memory state of the fake GitHub (everything that is not in the git repositories)."""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass, field
from typing import Any

from .git import GitRepo


def now_iso(t: float | None = None) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() if t is None else t))


def node_id(kind: str, ident: int) -> str:
    raw = f"0{len(kind)}:{kind}{ident}".encode()
    return base64.b64encode(raw).decode().rstrip("=")


PERMISSION_ORDER = {"none": 0, "read": 1, "triage": 2, "write": 3, "maintain": 4, "admin": 5}


@dataclass
class User:
    id: int
    login: str
    type: str = "User"  # User | Organization | Bot
    name: str | None = None
    email: str | None = None
    site_admin: bool = False

    @property
    def node_id(self) -> str:
        return node_id(self.type, self.id)


@dataclass
class App:
    id: int
    slug: str
    name: str
    owner: str
    public_key_pem: str
    public_key: Any
    private_key_pem: str | None
    permissions: dict[str, str]
    events: list[str]
    enforce_permissions: bool
    webhook_url: str | None
    webhook_secret: str | None
    hook_id: int
    client_id: str
    created_at: str = field(default_factory=now_iso)

    @property
    def bot_login(self) -> str:
        return f"{self.slug}[bot]"

    @property
    def node_id(self) -> str:
        return node_id("Integration", self.id)


@dataclass
class Installation:
    id: int
    app_id: int
    account: str
    repository_selection: str  # "all" | "selected"
    repos: set[str]
    permissions: dict[str, str]
    events: list[str]
    created_at: str = field(default_factory=now_iso)
    suspended_at: str | None = None


@dataclass
class Token:
    token: str
    expires_at: float
    installation_id: int | None = None
    login: str | None = None
    permissions: dict[str, str] = field(default_factory=dict)
    repos: set[str] | None = None  # None = every repository of the installation


@dataclass
class Label:
    id: int
    name: str
    color: str = "ededed"
    description: str | None = None
    default: bool = False


@dataclass
class Reaction:
    id: int
    content: str
    user: str
    created_at: str = field(default_factory=now_iso)


@dataclass
class Comment:
    id: int
    issue_number: int
    body: str
    user: str
    app_id: int | None = None
    created_at: str = field(default_factory=now_iso)
    updated_at: str = field(default_factory=now_iso)
    reactions: list[Reaction] = field(default_factory=list)


@dataclass
class Issue:
    """An issue; pull requests are issues too (``pull`` is set)."""

    number: int
    id: int
    title: str
    body: str | None
    user: str
    state: str = "open"
    state_reason: str | None = None
    labels: list[str] = field(default_factory=list)
    assignees: list[str] = field(default_factory=list)
    locked: bool = False
    active_lock_reason: str | None = None
    milestone: int | None = None
    app_id: int | None = None
    created_at: str = field(default_factory=now_iso)
    updated_at: str = field(default_factory=now_iso)
    closed_at: str | None = None
    closed_by: str | None = None
    reactions: list[Reaction] = field(default_factory=list)
    comment_ids: list[int] = field(default_factory=list)
    pull: "PullRequest | None" = None

    @property
    def is_pull_request(self) -> bool:
        return self.pull is not None


@dataclass
class PullRequest:
    number: int
    id: int
    issue: Issue
    head_ref: str
    base_ref: str
    head_sha: str
    base_sha: str
    draft: bool = False
    merged: bool = False
    merged_at: str | None = None
    merged_by: str | None = None
    merge_commit_sha: str | None = None
    requested_reviewers: list[str] = field(default_factory=list)
    requested_teams: list[str] = field(default_factory=list)
    reviews: list[dict] = field(default_factory=list)
    review_comments: list[dict] = field(default_factory=list)

    # convenience views on the shared issue
    @property
    def title(self) -> str:
        return self.issue.title

    @property
    def body(self) -> str | None:
        return self.issue.body

    @property
    def state(self) -> str:
        return self.issue.state

    @property
    def user(self) -> str:
        return self.issue.user

    @property
    def labels(self) -> list[str]:
        return self.issue.labels


@dataclass
class Annotation:
    path: str
    start_line: int
    end_line: int
    annotation_level: str
    message: str
    title: str | None = None
    raw_details: str | None = None
    start_column: int | None = None
    end_column: int | None = None

    def as_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class CheckRun:
    id: int
    name: str
    head_sha: str
    app_id: int | None
    check_suite_id: int
    status: str = "queued"
    conclusion: str | None = None
    started_at: str | None = None
    completed_at: str | None = None
    external_id: str | None = None
    details_url: str | None = None
    output: dict = field(default_factory=lambda: {"title": None, "summary": None, "text": None})
    annotations: list[Annotation] = field(default_factory=list)
    actions: list[dict] = field(default_factory=list)
    created_at: str = field(default_factory=now_iso)
    updates: int = 0

    @property
    def title(self) -> str | None:
        return self.output.get("title")

    @property
    def summary(self) -> str | None:
        return self.output.get("summary")

    @property
    def text(self) -> str | None:
        return self.output.get("text")


@dataclass
class CheckSuite:
    id: int
    head_sha: str
    head_branch: str | None
    app_id: int | None
    status: str = "queued"
    conclusion: str | None = None
    before: str | None = None
    after: str | None = None
    created_at: str = field(default_factory=now_iso)
    updated_at: str = field(default_factory=now_iso)


@dataclass
class Status:
    id: int
    sha: str
    state: str
    context: str
    description: str | None
    target_url: str | None
    creator: str
    created_at: str = field(default_factory=now_iso)
    updated_at: str = field(default_factory=now_iso)


@dataclass
class DeploymentStatus:
    id: int
    deployment_id: int
    state: str
    creator: str
    description: str = ""
    environment: str = ""
    target_url: str = ""
    log_url: str = ""
    environment_url: str = ""
    created_at: str = field(default_factory=now_iso)
    updated_at: str = field(default_factory=now_iso)


@dataclass
class Deployment:
    id: int
    sha: str
    ref: str
    task: str
    environment: str
    payload: Any
    description: str | None
    creator: str
    transient_environment: bool = False
    production_environment: bool = False
    app_id: int | None = None
    created_at: str = field(default_factory=now_iso)
    updated_at: str = field(default_factory=now_iso)
    statuses: list[DeploymentStatus] = field(default_factory=list)


@dataclass
class Team:
    id: int
    org: str
    slug: str
    name: str
    description: str | None = None
    privacy: str = "closed"
    permission: str = "pull"
    members: dict[str, str] = field(default_factory=dict)  # login -> member | maintainer
    repos: dict[str, str] = field(default_factory=dict)  # full_name -> pull|triage|push|maintain|admin
    parent: str | None = None
    created_at: str = field(default_factory=now_iso)
    updated_at: str = field(default_factory=now_iso)


@dataclass
class Milestone:
    id: int
    number: int
    title: str
    description: str | None
    state: str
    creator: str
    due_on: str | None = None
    created_at: str = field(default_factory=now_iso)
    updated_at: str = field(default_factory=now_iso)


@dataclass
class Repo:
    id: int
    owner: str
    name: str
    git: GitRepo
    default_branch: str
    private: bool = False
    description: str | None = None
    created_at: str = field(default_factory=now_iso)
    updated_at: str = field(default_factory=now_iso)
    pushed_at: str = field(default_factory=now_iso)
    collaborators: dict[str, str] = field(default_factory=dict)
    labels: dict[str, Label] = field(default_factory=dict)  # key: lower-case name
    issues: dict[int, Issue] = field(default_factory=dict)
    pulls: dict[int, PullRequest] = field(default_factory=dict)
    comments: dict[int, Comment] = field(default_factory=dict)
    check_runs: dict[int, CheckRun] = field(default_factory=dict)
    check_suites: dict[int, CheckSuite] = field(default_factory=dict)
    statuses: list[Status] = field(default_factory=list)
    deployments: dict[int, Deployment] = field(default_factory=dict)
    protections: dict[str, dict] = field(default_factory=dict)
    milestones: dict[int, Milestone] = field(default_factory=dict)
    releases: list[dict] = field(default_factory=list)
    dispatches: list[dict] = field(default_factory=list)
    next_number: int = 1

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"

    @property
    def node_id(self) -> str:
        return node_id("Repository", self.id)

    def label(self, name: str) -> Label | None:
        return self.labels.get(name.lower())


@dataclass
class Call:
    """One HTTP request the fake received."""

    method: str
    path: str
    template: str | None
    path_params: dict
    query: dict
    json: Any
    headers: dict
    status: int | None = None
    token: str | None = None
    auth: str | None = None  # "jwt" | "installation" | "user" | None
    installation_id: int | None = None
    app_id: int | None = None
    actor: str | None = None
    fault: str | None = None
    response: Any = None
    started: float = 0.0
    duration: float = 0.0

    def __repr__(self) -> str:  # short, for assertion messages
        return f"<Call {self.method} {self.path} -> {self.status}>"


@dataclass
class Violation:
    kind: str  # request | response | unknown_path | unimplemented | limit | json | webhook
    method: str
    path: str
    message: str
    template: str | None = None

    def __str__(self) -> str:
        return f"[{self.kind}] {self.method} {self.path}: {self.message}"


@dataclass
class Fault:
    method: str
    pattern: str
    kind: str
    times: int | None
    delay: float = 1.0
    status: int | None = None
    reset_in: float = 1.0
    retry_after: int = 1
    hits: int = 0


@dataclass
class Delivery:
    """One webhook delivery (sent, or only recorded when webhooks are switched off)."""

    id: int
    guid: str
    event: str
    action: str | None
    payload: dict
    body: bytes
    headers: dict
    url: str | None
    installation_id: int | None
    repository_id: int | None
    delivered_at: str = field(default_factory=now_iso)
    status: int | None = None
    response_body: str | None = None
    error: str | None = None
    duration: float = 0.0
    redelivery: bool = False
    sent: bool = False

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    def __repr__(self) -> str:
        return f"<Delivery {self.event}.{self.action} -> {self.status or self.error}>"
