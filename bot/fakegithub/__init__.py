"""A fake GitHub for the dlcm App's tests and ``dlcm demo``.

An aiohttp server speaking GitHub's REST API for a GitHub App, backed by real bare git
repositories, validating every request and response against GitHub's published OpenAPI
description, and sending signed webhooks built from GitHub's example payloads.

    from bot.fakegithub import FakeGitHub, generate_rsa_keypair

    private_pem, public_pem = generate_rsa_keypair()
    async with FakeGitHub(webhook_url="http://127.0.0.1:8080/webhook", webhook_secret="s") as fake:
        app = fake.register_app(123, public_pem, "dlcm")
        fake.create_repo("acme/shop", "examples/shop")
        await fake.push("acme/shop", "feature", {"supabase/migrations/20240101000000_x.sql": "..."})
        pr = await fake.open_pull_request("acme/shop", "feature", title="Add x")
        ...
        fake.assert_no_violations()
"""

from .git import GitError, GitRepo
from .keys import app_jwt, generate_rsa_keypair
from .models import (
    Annotation, App, Call, CheckRun, CheckSuite, Comment, Delivery, Deployment, Installation, Issue, Label,
    PullRequest, Reaction, Repo, Status, Team, Violation,
)
from .server import DEFAULT_EVENTS, DEFAULT_PERMISSIONS, ApiError, FakeGitHub, path_matches
from .spec import find_spec_dir, validate_webhook_payload
from .webhooks import sign, signed_headers, verify_signature

__all__ = [
    "FakeGitHub", "generate_rsa_keypair", "app_jwt", "sign", "verify_signature", "signed_headers",
    "validate_webhook_payload", "find_spec_dir", "path_matches", "DEFAULT_EVENTS", "DEFAULT_PERMISSIONS",
    "ApiError", "GitError", "GitRepo",
    "Annotation", "App", "Call", "CheckRun", "CheckSuite", "Comment", "Delivery", "Deployment", "Installation",
    "Issue", "Label", "PullRequest", "Reaction", "Repo", "Status", "Team", "Violation",
]
