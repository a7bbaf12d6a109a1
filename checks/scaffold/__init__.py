"""Scaffolding of complete data-layer changes: add-field, new-table, api-endpoint.

    from checks.scaffold import plan, AddField
    changes = plan("add-field", AddField("users", "nickname", "text", nullable=True), model, read)
    for ch in changes: ...   # FileChange(path, old, new); changes.notes: what is left to do by hand

`plan` is pure (model + file reader in, FileChanges out). Templates: `templates/scaffold/`.
"""

from .errors import ScaffoldError
from .plan import KINDS, AddField, ApiEndpoint, NewTable, Plan, normalise_path, plan
from .project import FileChange

__all__ = ["AddField", "ApiEndpoint", "FileChange", "KINDS", "NewTable", "Plan", "ScaffoldError",
           "normalise_path", "plan"]
