"""Impact analysis: what a proposed data-layer change touches, what it breaks, what it lacks.

Pure: models in, a pydantic `ImpactReport` out.

    from checks.impact import ProposedChange, analyze, analyze_diff, changes_from_request, render_markdown

    report = analyze(model, [ProposedChange("users", "phone", change="drop")])
    report = analyze_request(model, validation.change)        # a change request (never raises)
    report = analyze_diff(base_model, head_model)          # a pull request
    body = render_markdown(report, link=github_link("org/repo", sha))   # starts with <!-- dlcm:impact -->

See `checks.impact.analyze` for how far a change travels and `checks.impact.index` for how
route handlers are linked to repository methods.
"""

from .analyze import ImpactError, analyze, analyze_diff, analyze_request, validate_changes
from .diff import changes_from_diff, changes_from_request
from .index import ModelIndex, index_for
from .model import (
    CHANGE_KINDS, BreakingItem, ClientMethodItem, ColumnItem, ComponentItem, ConsumerItem, DownMigration,
    EndpointItem, ImpactReport, MissingItem, ProposedChange, RepositoryMethodItem, Rollback, RollbackPlan, TableItem,
)
from .render import MARKER, code_link, github_link, render_json, render_markdown, render_text
from .types import classify_type_change

__all__ = [
    "CHANGE_KINDS", "BreakingItem", "ClientMethodItem", "ColumnItem", "ComponentItem", "ConsumerItem",
    "DownMigration", "EndpointItem", "ImpactError", "ImpactReport", "MARKER", "MissingItem", "ModelIndex",
    "ProposedChange", "RepositoryMethodItem", "Rollback", "RollbackPlan", "TableItem", "analyze", "analyze_diff",
    "analyze_request",
    "changes_from_diff", "changes_from_request", "classify_type_change", "code_link", "github_link", "index_for",
    "render_json", "render_markdown", "render_text", "validate_changes",
]
