"""App auth and the resilient GitHub client, against a small scriptable stub."""

from __future__ import annotations

import time

import gidgethub
import jwt
import pytest

from bot.auth import (
    CLOCK_SKEW,
    InstallationToken,
    TokenCache,
    make_app_jwt,
    parse_expires_at,
)
from bot.github import GitHubClient, RetryPolicy, marker_tag, retry_delay
from bot.metrics import Metrics
from bot.queue import RetryLater
from bot.store import Store

from .test_bot_support import APP_ID, GitHubStub, private_key_pem, public_key_pem

REPO = "octo/app"
INSTALLATION = 77


@pytest.fixture
async def stub(aiohttp_server):
    gh = GitHubStub()
    gh.server = await aiohttp_server(gh.app)
    return gh


@pytest.fixture
async def client(stub, tmp_path):
    sleeps: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        sleeps.append(seconds)

    c = GitHubClient(
        app_id=APP_ID,
        private_key=private_key_pem(),
        base_url=str(stub.server.make_url("")).rstrip("/"),
        store=Store(tmp_path / "gh.sqlite3"),
        metrics=Metrics(),
        policy=RetryPolicy(max_attempts=4, backoff_base=0.01, max_wait=60),
        sleep=fake_sleep,
    )
    c.sleeps = sleeps
    yield c
    await c.close()


# -- JWT and tokens ---------------------------------------------------------------------


def test_app_jwt_claims_are_backdated_and_short_lived():
    now = time.time()
    token = make_app_jwt(APP_ID, private_key_pem(), now)
    assert jwt.get_unverified_header(token)["alg"] == "RS256"
    claims = jwt.decode(token, public_key_pem(), algorithms=["RS256"])
    assert claims["iss"] == str(APP_ID)
    assert claims["iat"] == int(now) - CLOCK_SKEW
    assert claims["exp"] - claims["iat"] <= 600
    assert claims["exp"] - int(now) <= 600


def test_expires_at_is_parsed_as_utc():
    assert parse_expires_at("2016-07-11T22:14:10Z") == 1468275250


async def test_installation_token_cached_until_60s_before_expiry():
    now = [1000.0]
    fetched: list[int] = []

    async def fetch(installation_id: int) -> InstallationToken:
        fetched.append(installation_id)
        return InstallationToken(f"t{len(fetched)}", now[0] + 3600)

    cache = TokenCache(fetch, clock=lambda: now[0])
    assert await cache.get(1) == "t1"
    now[0] += 3600 - 61
    assert await cache.get(1) == "t1"  # still more than a minute left
    now[0] += 2
    assert await cache.get(1) == "t2"  # within the last minute: renewed
    assert await cache.get(2) == "t3"  # per installation
    assert fetched == [1, 1, 2]


async def test_token_fetched_once_and_reused_across_requests(stub, client):
    gh = client.installation(INSTALLATION)
    await gh.getitem("/ok")
    await client.installation(INSTALLATION).getitem("/ok")
    assert stub.tokens_issued == 1
    assert stub.count("POST", "access_tokens") == 1
    assert all(auth == "token ghs_77_1" for m, p, auth in stub.calls if p == "/ok")


async def test_revoked_token_is_refreshed_once_on_401(stub, client):
    gh = client.installation(INSTALLATION)
    await gh.upsert_comment(REPO, 1, "impact", "first")
    stub.valid_tokens.clear()  # GitHub revoked it early
    await gh.upsert_comment(REPO, 1, "impact", "second")
    assert stub.tokens_issued == 2
    assert [c["body"] for c in stub.comments.values()] == ["<!-- dlcm:impact -->\nsecond"]


async def test_401_twice_is_an_error_not_a_loop(stub, client):
    stub.fail("GET", "/comments$", 401)
    stub.fail("GET", "/comments$", 401)
    with pytest.raises(gidgethub.BadRequest) as info:
        await client.installation(INSTALLATION).find_comment(REPO, 1, "impact")
    assert info.value.status_code == 401
    assert stub.tokens_issued == 2


# -- retries ------------------------------------------------------------------------------


async def test_get_retried_on_5xx_with_backoff(stub, client):
    stub.fail("GET", "/comments$", 502)
    stub.fail("GET", "/comments$", 500)
    assert await client.installation(INSTALLATION).find_comment(REPO, 1, "x") is None
    assert stub.count("GET", "/comments") == 3
    assert len(client.sleeps) == 2 and client.sleeps[0] <= client.sleeps[1] * 2
    assert client.metrics.github_calls.value(method="GET", status="500") == 1
    assert client.metrics.github_calls.value(method="GET", status="200") == 1


async def test_5xx_retries_are_bounded(stub, client):
    for _ in range(6):
        stub.fail("GET", "/comments$", 503)
    with pytest.raises(gidgethub.GitHubBroken):
        await client.installation(INSTALLATION).find_comment(REPO, 1, "x")
    assert stub.count("GET", "/comments") == client.policy.max_attempts


async def test_dropped_connection_on_get_is_retried(stub, client):
    stub.fail("GET", "/comments$", drop=True)
    assert await client.installation(INSTALLATION).find_comment(REPO, 1, "x") is None
    assert stub.count("GET", "/comments") == 2


async def test_timeout_on_get_is_retried(stub, client):
    client.policy = RetryPolicy(max_attempts=3, backoff_base=0.01, timeout=0.2)
    await client.close()  # the session picks up the shorter timeout
    stub.fail("GET", "/comments$", delay=1.0)
    assert await client.installation(INSTALLATION).find_comment(REPO, 1, "x") is None
    assert client.metrics.github_calls.value(method="GET", status="error") == 1


@pytest.mark.parametrize(
    "status, headers, message",
    [
        (403, {"Retry-After": "7"}, "You have exceeded a secondary rate limit."),
        (429, {"Retry-After": "7"}, "Too many requests"),
    ],
    ids=["secondary-403", "429"],
)
async def test_retry_after_is_honoured(stub, client, status, headers, message):
    stub.fail("POST", "/comments$", status, headers=headers, body={"message": message})
    await client.installation(INSTALLATION).upsert_comment(REPO, 3, "impact", "hello")
    assert 7 in client.sleeps
    assert len(stub.comments) == 1


async def test_secondary_limit_without_retry_after_waits_a_minute(stub, client):
    stub.fail(
        "GET", "/comments$", 403, body={"message": "You have exceeded a secondary rate limit"}
    )
    await client.installation(INSTALLATION).find_comment(REPO, 1, "x")
    assert client.sleeps == [60]


async def test_long_retry_after_becomes_retry_later(stub, client):
    stub.fail("GET", "/comments$", 429, headers={"Retry-After": "3600"})
    with pytest.raises(RetryLater) as info:
        await client.installation(INSTALLATION).find_comment(REPO, 1, "x")
    assert info.value.delay == 3600


async def test_spent_primary_limit_waits_for_reset(stub, client):
    reset = int(time.time()) + 5
    stub.fail(
        "GET",
        "/comments$",
        403,
        headers={
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": str(reset),
            "X-RateLimit-Limit": "5000",
        },
        body={"message": "API rate limit exceeded"},
    )
    await client.installation(INSTALLATION).find_comment(REPO, 1, "x")
    assert len(client.sleeps) == 1 and 3 <= client.sleeps[0] <= 7


def test_retry_decisions_are_pure():
    p = RetryPolicy(max_attempts=3, backoff_base=1, backoff_cap=8)
    half = lambda: 0.5  # noqa: E731
    assert retry_delay("GET", "/x", 200, {}, b"", 1, p, 0) is None
    assert retry_delay("GET", "/x", 404, {}, b"", 1, p, 0) is None
    assert retry_delay("GET", "/x", 500, {}, b"", 2, p, 0, half) == 1.5
    assert retry_delay("GET", "/x", 500, {}, b"", 3, p, 0) is None  # out of attempts
    assert retry_delay("POST", "/repos/o/r/issues/1/comments", 500, {}, b"", 1, p, 0) is None
    assert (
        retry_delay("POST", "/repos/o/r/issues/comments/1/reactions", 502, {}, b"", 1, p, 0, half)
        == 0.75
    )
    assert retry_delay("POST", "/x", 429, {"retry-after": "4"}, b"", 1, p, 0) == 4
    assert (
        retry_delay(
            "GET",
            "/x",
            403,
            {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "110"},
            b"",
            1,
            p,
            100,
        )
        == 11
    )
    assert (
        retry_delay("GET", "/x", 403, {}, b'{"message": "Resource not accessible"}', 1, p, 0)
        is None
    )


# -- idempotent helpers -------------------------------------------------------------------


async def test_upsert_comment_creates_once_then_edits(stub, client):
    gh = client.installation(INSTALLATION)
    first = await gh.upsert_comment(REPO, 5, "impact", "v1")
    second = await gh.upsert_comment(REPO, 5, "impact", "v2")
    await gh.upsert_comment(REPO, 5, "status", "other kind")
    assert first["id"] == second["id"]
    bodies = sorted(c["body"] for c in stub.comments.values())
    assert bodies == ["<!-- dlcm:impact -->\nv2", "<!-- dlcm:status -->\nother kind"]
    assert stub.count("POST", "/issues/5/comments") == 2


async def test_upsert_comment_does_not_duplicate_after_dropped_create(stub, client):
    stub.fail("POST", "/issues/6/comments$", drop=True)  # created, but the answer is lost
    await client.installation(INSTALLATION).upsert_comment(REPO, 6, "impact", "body")
    assert len(stub.comments) == 1
    assert stub.count("POST", "/issues/6/comments") == 1  # found on re-list, not re-created
    assert client.metrics.github_calls.value(method="POST", status="error") == 1


async def test_upsert_comment_retries_create_after_5xx(stub, client):
    stub.fail("POST", "/issues/6/comments$", 502)  # not created
    await client.installation(INSTALLATION).upsert_comment(REPO, 6, "impact", "body")
    assert len(stub.comments) == 1
    assert stub.count("POST", "/issues/6/comments") == 2


async def test_upsert_comment_finds_existing_without_the_index(stub, client, tmp_path):
    await client.installation(INSTALLATION).upsert_comment(REPO, 7, "impact", "v1")
    client.store = Store(tmp_path / "fresh.sqlite3")  # index lost
    await client.installation(INSTALLATION).upsert_comment(REPO, 7, "impact", "v2")
    assert [c["body"] for c in stub.comments.values()] == ["<!-- dlcm:impact -->\nv2"]


async def test_upsert_comment_never_takes_a_persons_comment_for_its_own(stub, client):
    stub.comments[1] = {
        "id": 1,
        "issue": f"{REPO}#9",
        "user": {"login": "eve", "type": "User"},
        "body": "quoting <!-- dlcm:impact --> here",
    }
    await client.installation(INSTALLATION).upsert_comment(REPO, 9, "impact", "ours")
    assert stub.comments[1]["body"] == "quoting <!-- dlcm:impact --> here"
    assert len(stub.comments) == 2


async def test_upsert_comment_recreates_a_deleted_comment(stub, client):
    gh = client.installation(INSTALLATION)
    await gh.upsert_comment(REPO, 8, "impact", "v1")
    stub.comments.clear()
    await gh.upsert_comment(REPO, 8, "impact", "v2")
    assert [c["body"] for c in stub.comments.values()] == ["<!-- dlcm:impact -->\nv2"]


def test_marker_tag():
    assert marker_tag("impact") == "<!-- dlcm:impact -->"
    assert marker_tag("<!-- custom -->") == "<!-- custom -->"


async def test_check_run_created_then_updated_with_annotation_batches(stub, client, tmp_path):
    gh = client.installation(INSTALLATION)
    annotations = [
        {
            "path": "a.sql",
            "start_line": i,
            "end_line": i,
            "annotation_level": "failure",
            "message": f"m{i}",
        }
        for i in range(1, 121)
    ]
    run = await gh.create_or_update_check_run(
        REPO, "abc123", "dlcm/completeness", "pr-1", status="in_progress"
    )
    done = await gh.create_or_update_check_run(
        REPO,
        "abc123",
        "dlcm/completeness",
        "pr-1",
        status="completed",
        conclusion="failure",
        output={"title": "3 findings", "summary": "…", "annotations": annotations},
    )
    assert run["id"] == done["id"] and len(stub.check_runs) == 1
    assert len(stub.check_runs[run["id"]]["annotations"]) == 120
    assert stub.count("PATCH", "/check-runs/") == 3  # 50 + 50 + 20
    # Without the index the run is found by name + head sha + external id.
    client.store = Store(tmp_path / "fresh.sqlite3")
    await gh.create_or_update_check_run(
        REPO, "abc123", "dlcm/completeness", "pr-1", status="queued"
    )
    assert len(stub.check_runs) == 1
    # Another head sha is another check run.
    await gh.create_or_update_check_run(
        REPO, "def456", "dlcm/completeness", "pr-1", status="queued"
    )
    assert len(stub.check_runs) == 2


async def test_check_run_not_duplicated_after_dropped_create(stub, client):
    stub.fail("POST", "/check-runs$", drop=True)
    await client.installation(INSTALLATION).create_or_update_check_run(
        REPO, "abc", "dlcm/migration-safety", "pr-2", status="queued"
    )
    assert len(stub.check_runs) == 1
    assert client.metrics.github_calls.value(method="POST", status="error") == 1


async def test_reaction_and_permissions(stub, client):
    gh = client.installation(INSTALLATION)
    stub.permissions = {
        "alice": {"permission": "admin", "role_name": "admin"},
        "mo": {"permission": "write", "role_name": "maintain"},
        "tri": {"permission": "read", "role_name": "triage"},
        "custom": {"permission": "write", "role_name": "release-manager"},
    }
    await gh.add_reaction(REPO, 99, "+1")
    assert stub.reactions == [("99", "+1")]
    assert [
        await gh.get_permission(REPO, u) for u in ("alice", "mo", "tri", "custom", "stranger")
    ] == ["admin", "maintain", "triage", "write", "none"]
    assert [await gh.has_write(REPO, u) for u in ("alice", "mo", "tri", "custom", "stranger")] == [
        True,
        True,
        False,
        True,
        False,
    ]
