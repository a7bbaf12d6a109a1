"""Errors of the scaffolder."""


class ScaffoldError(Exception):
    """The arguments do not fit the repository (a usage error: the CLI exits 2 with the message)."""
