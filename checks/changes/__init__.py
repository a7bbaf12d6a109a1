"""Change requests: the pure core the App, the Action and the CLI share (no HTTP, no GitHub).

- `form.parse_issue_body(body) -> ChangeRequest` — the issue form as GitHub renders it;
- `validate.validate(cr, model, config) -> ValidationResult` — against the default branch and business rules;
- `plan.plan_change(result, model, config) -> Plan` — owners, labels, checklist;
  `plan.auto_evidence(...)` — the steps a pull request completes;
- `workflow.apply(state, event) -> Transition | Refusal` — the state machine; effects are data;
- `audit.AuditLog` / `audit.verify` — the hash-chained audit trail;
- `status.render_status(state)` — the status comment.
"""

from .audit import AuditEvent, AuditLog, ChainedEvent, verify
from .form import parse_issue_body
from .plan import ChecklistStep, Evidence, Plan, auto_evidence, plan_change
from .request import ChangeRequest, ColumnSpec, EndpointSpec, Problem, TableRef
from .status import render_status
from .validate import NormalizedChange, ValidationResult, validate, validate_body
from .workflow import CRState, Refusal, Transition, apply

__all__ = [
    "AuditEvent", "AuditLog", "ChainedEvent", "verify", "parse_issue_body", "ChecklistStep", "Evidence", "Plan",
    "auto_evidence", "plan_change", "ChangeRequest", "ColumnSpec", "EndpointSpec", "Problem", "TableRef",
    "render_status", "NormalizedChange", "ValidationResult", "validate", "validate_body", "CRState", "Refusal",
    "Transition", "apply",
]
