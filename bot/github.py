"""The App's GitHub client: gidgethub over one shared aiohttp session, made resilient.

``GitHubClient`` owns the session, the App JWT and the installation-token cache.
``client.installation(id)`` gives an :class:`InstallationAPI` – a
``gidgethub.aiohttp.GitHubAPI`` (``getitem``, ``getiter``, ``post``, ``patch``…) whose
transport:

- injects the installation token (or the App JWT for ``client.app()``), and on a 401
  drops the cached token and retries once with a fresh one;
- retries 5xx, timeouts and dropped connections with capped exponential backoff – for
  idempotent requests only (GET/PUT/PATCH/DELETE and a few POSTs GitHub treats as
  idempotent); a connection that was never established is retried for every method;
- honours ``Retry-After`` and secondary rate limits (403/429), and waits for
  ``x-ratelimit-reset`` when the primary limit is spent; a wait longer than
  ``RetryPolicy.max_wait`` raises ``RetryLater`` so the job queue reschedules the job
  instead of holding a worker;
- counts every HTTP exchange in ``metrics.github_calls``.

On top of it, idempotent helpers: :meth:`InstallationAPI.upsert_comment`,
:meth:`InstallationAPI.create_or_update_check_run`, :meth:`InstallationAPI.add_reaction`,
:meth:`InstallationAPI.get_permission` / :meth:`InstallationAPI.has_write`.

The retry decision itself is the pure function :func:`retry_delay`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import re
import time
import weakref
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import aiohttp
import gidgethub
import gidgethub.aiohttp

from .auth import AppJWT, InstallationToken, TokenCache, parse_expires_at
from .metrics import Metrics
from .queue import RetryLater
from .store import Store

log = logging.getLogger("dlcm.github")

USER_AGENT = "dlcm"
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "PATCH", "DELETE"})
# POSTs that GitHub answers idempotently (adding the same reaction/label twice is a no-op)
# or whose repetition is harmless (a second installation token).
IDEMPOTENT_POSTS = re.compile(r"/(reactions|labels|assignees|access_tokens)/?(\?.*)?$")
RETRYABLE_STATUS = frozenset({500, 502, 503, 504})
# Failures after which a POST may or may not have been applied: re-read before re-creating.
AMBIGUOUS_ERRORS = (aiohttp.ClientError, asyncio.TimeoutError, gidgethub.GitHubBroken)

PERMISSION_LEVELS = ("none", "read", "triage", "write", "maintain", "admin")
WRITE_LEVELS = frozenset({"write", "maintain", "admin"})
ANNOTATIONS_PER_REQUEST = 50


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5  # HTTP attempts per request (the 401 refresh is extra)
    backoff_base: float = 0.5
    backoff_cap: float = 20.0
    max_wait: float = 60.0  # longer Retry-After / rate-limit waits → RetryLater
    secondary_wait: float = 60.0  # GitHub: "wait at least one minute" without Retry-After
    timeout: float = 30.0  # per HTTP request


def marker_tag(marker: str) -> str:
    """``"impact"`` → ``"<!-- dlcm:impact -->"`` (a full ``<!-- … -->`` tag is kept as is)."""
    marker = marker.strip()
    return marker if marker.startswith("<!--") else f"<!-- dlcm:{marker} -->"


def _message(body: bytes) -> str:
    try:
        data = json.loads(body)
    except ValueError:
        return body[:200].decode("utf-8", "replace")
    return str(data.get("message", "")) if isinstance(data, dict) else ""


def retry_delay(
    method: str,
    url: str,
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    attempt: int,
    policy: RetryPolicy,
    now: float,
    rand: Callable[[], float] = random.random,
) -> float | None:
    """Seconds to wait before retrying this response, or None to hand it back as is."""
    if attempt >= policy.max_attempts:
        return None
    retry_after = headers.get("retry-after")
    remaining = headers.get("x-ratelimit-remaining")
    backoff = min(policy.backoff_cap, policy.backoff_base * 2 ** (attempt - 1))
    backoff = backoff / 2 + rand() * backoff / 2
    if status == 429 or (
        status == 403
        and (retry_after or remaining == "0" or "rate limit" in _message(body).lower())
    ):
        # Rate limited: the request was not applied, so any method may be retried.
        if retry_after and retry_after.strip().isdigit():
            return float(retry_after)
        if remaining == "0" and headers.get("x-ratelimit-reset", "").isdigit():
            return max(1.0, float(headers["x-ratelimit-reset"]) - now + 1)
        return max(policy.secondary_wait, backoff)
    if status in RETRYABLE_STATUS and (
        method in IDEMPOTENT_METHODS or IDEMPOTENT_POSTS.search(url)
    ):
        if retry_after and retry_after.strip().isdigit():
            return float(retry_after)
        return backoff
    return None


class GitHubClient:
    """Shared session, App credentials and token cache; hands out authenticated APIs."""

    def __init__(
        self,
        *,
        app_id: int | str,
        private_key: str,
        base_url: str = "https://api.github.com",
        store: Store | None = None,
        metrics: Metrics | None = None,
        session: aiohttp.ClientSession | None = None,
        policy: RetryPolicy = RetryPolicy(),
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.time,
        requester: str = USER_AGENT,
    ) -> None:
        self.app_id, self.base_url = int(app_id), base_url.rstrip("/")
        self.store, self.metrics, self.policy = store, metrics, policy
        self.sleep, self.clock, self.requester = sleep, clock, requester
        self.jwt = AppJWT(app_id, private_key, clock)
        self.tokens = TokenCache(self._fetch_token, clock)
        self._session = session
        self._own_session = session is None
        self._locks: weakref.WeakValueDictionary[Any, asyncio.Lock] = weakref.WeakValueDictionary()
        self._rate_reset: dict[Any, float] = {}  # auth key → epoch when the spent limit resets

    @classmethod
    def from_settings(cls, settings: Any, **kwargs: Any) -> GitHubClient:
        return cls(
            app_id=settings.app_id,
            private_key=settings.private_key.get_secret_value(),
            base_url=settings.github_api_url,
            **kwargs,
        )

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.policy.timeout)
            )
            self._own_session = True
        return self._session

    async def close(self) -> None:
        if self._own_session and self._session is not None:
            await self._session.close()
        self._session = None

    async def __aenter__(self) -> GitHubClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def app(self) -> InstallationAPI:
        """A client authenticated as the App itself (JWT): /app, /app/installations…"""
        return InstallationAPI(self, None)

    def installation(self, installation_id: int) -> InstallationAPI:
        """A client authenticated as one installation (cached installation token)."""
        return InstallationAPI(self, int(installation_id))

    def lock(self, *key: Any) -> asyncio.Lock:
        """An in-process lock per key, so two jobs never race to create one comment/check."""
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
        return lock

    async def _fetch_token(self, installation_id: int) -> InstallationToken:
        data = await self.app().post(
            f"/app/installations/{installation_id}/access_tokens", data=b""
        )
        return InstallationToken(data["token"], parse_expires_at(data["expires_at"]))

    def _count(self, method: str, status: int | str) -> None:
        if self.metrics:
            self.metrics.github_calls.inc(method=method, status=str(status))


class InstallationAPI(gidgethub.aiohttp.GitHubAPI):
    """gidgethub's API with dlcm's transport (auth, retries, limits) and idempotent helpers."""

    def __init__(self, client: GitHubClient, installation_id: int | None) -> None:
        super().__init__(client.session, client.requester, base_url=client.base_url)
        self.client, self.installation_id = client, installation_id
        self._permissions: dict[tuple[str, str], str] = {}

    async def sleep(self, seconds: float) -> None:
        await self.client.sleep(seconds)

    async def _authorization(self) -> tuple[str, str | None]:
        if self.installation_id is None:
            return f"bearer {self.client.jwt.get()}", None
        token = await self.client.tokens.get(self.installation_id)
        return f"token {token}", token

    async def _request(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes = b""
    ) -> tuple[int, Mapping[str, str], bytes]:
        client, policy = self.client, self.client.policy
        explicit_auth = "authorization" in headers
        auth_key = self.installation_id if not explicit_auth else headers["authorization"]
        refreshed = False
        attempt = 0
        while True:
            attempt += 1
            request_headers = dict(headers)
            token = None
            if not explicit_auth:
                request_headers["authorization"], token = await self._authorization()
            reset = client._rate_reset.get(auth_key)
            if reset is not None:
                wait = reset - client.clock()
                if wait > policy.max_wait:
                    raise RetryLater(wait, "GitHub API rate limit spent")
                if wait > 0:
                    await self.sleep(wait)
                client._rate_reset.pop(auth_key, None)
            try:
                async with self._session.request(
                    method, url, headers=request_headers, data=body
                ) as response:
                    status, response_headers = response.status, response.headers
                    data = await response.read()
            except (TimeoutError, aiohttp.ClientError) as exc:
                client._count(method, "error")
                never_sent = isinstance(exc, aiohttp.ClientConnectorError)
                retryable = (
                    never_sent or method in IDEMPOTENT_METHODS or IDEMPOTENT_POSTS.search(url)
                )
                if not retryable or attempt >= policy.max_attempts:
                    raise
                delay = min(policy.backoff_cap, policy.backoff_base * 2 ** (attempt - 1))
                log.info("%s %s failed (%r), retry %d in %.1fs", method, url, exc, attempt, delay)
                await self.sleep(delay * (0.5 + random.random() / 2))
                continue
            client._count(method, status)
            if response_headers.get("x-ratelimit-remaining") == "0":
                with_reset = response_headers.get("x-ratelimit-reset", "")
                if with_reset.isdigit():
                    client._rate_reset[auth_key] = float(with_reset) + 1
            if status == 401 and token is not None and not refreshed:
                # The cached token was revoked or expired early: fetch a new one, once.
                client.tokens.invalidate(self.installation_id, token)
                refreshed = True
                attempt -= 1
                continue
            delay = retry_delay(
                method, url, status, response_headers, data, attempt, policy, client.clock()
            )
            if delay is None:
                return status, response_headers, data
            if delay > policy.max_wait:
                raise RetryLater(delay, f"GitHub asked to wait {delay:.0f}s ({status})")
            log.info("%s %s → %d, retry %d in %.1fs", method, url, status, attempt, delay)
            client._rate_reset.pop(auth_key, None)
            await self.sleep(delay)

    # -- comments ---------------------------------------------------------------------

    async def find_comment(
        self, repo: str, issue_number: int, marker: str
    ) -> dict[str, Any] | None:
        """The oldest bot-authored comment on ``repo#issue_number`` carrying ``marker``.

        Comments by people are skipped: one quoting our marker must not be taken for ours.
        """
        tag = marker_tag(marker)
        async for comment in self.getiter(
            f"/repos/{repo}/issues/{issue_number}/comments?per_page=100"
        ):
            author = (comment.get("user") or {}).get("type", "Bot")
            if author == "Bot" and tag in (comment.get("body") or ""):
                return comment
        return None

    async def upsert_comment(
        self, repo: str, issue_number: int, marker: str, body: str
    ) -> dict[str, Any]:
        """Create or edit in place the one comment of kind ``marker``; never duplicates it.

        The hidden ``<!-- dlcm:<marker> -->`` tag is prepended to ``body`` if absent. After
        a create that may or may not have landed (dropped connection, timeout, 5xx) the
        comments are listed again before another create is tried.
        """
        tag = marker_tag(marker)
        if tag not in body:
            body = f"{tag}\n{body}"
        store = self.client.store
        async with self.client.lock("comment", repo, issue_number, tag):
            if store and (cid := await store.arun(store.get_comment_id, repo, issue_number, tag)):
                try:
                    return await self.patch(
                        f"/repos/{repo}/issues/comments/{cid}", data={"body": body}
                    )
                except gidgethub.BadRequest as exc:
                    if exc.status_code not in (404, 410):
                        raise
                    await store.arun(store.forget_comment, repo, issue_number, tag)
            last_error: BaseException | None = None
            for attempt in range(1, self.client.policy.max_attempts + 1):
                existing = await self.find_comment(repo, issue_number, tag)
                if existing is not None:
                    comment = existing
                    if existing.get("body") != body:
                        comment = await self.patch(
                            f"/repos/{repo}/issues/comments/{existing['id']}", data={"body": body}
                        )
                    break
                try:
                    comment = await self.post(
                        f"/repos/{repo}/issues/{issue_number}/comments", data={"body": body}
                    )
                    break
                except AMBIGUOUS_ERRORS as exc:
                    last_error = exc
                    log.info(
                        "creating comment %s on %s#%s failed (%r), re-listing",
                        tag,
                        repo,
                        issue_number,
                        exc,
                    )
                    await self.sleep(self.client.policy.backoff_base * attempt)
            else:
                assert last_error is not None
                raise last_error
            if store:
                await store.arun(store.set_comment_id, repo, issue_number, tag, comment["id"])
            return comment

    # -- check runs -------------------------------------------------------------------

    async def find_check_run(
        self, repo: str, head_sha: str, name: str, external_id: str | None = None
    ) -> dict[str, Any] | None:
        """Our check run ``name`` on ``head_sha``: same external id first, else same App."""
        runs = [
            run
            async for run in self.getiter(
                f"/repos/{repo}/commits/{head_sha}/check-runs?check_name={quote(name, safe='')}"
                "&filter=all&per_page=100",
                iterable_key="check_runs",
            )
            if run.get("name") == name
        ]
        for run in runs:
            if external_id is not None and run.get("external_id") == external_id:
                return run
        for run in runs:
            if (run.get("app") or {}).get("id") == self.client.app_id:
                return run
        return None

    async def create_or_update_check_run(
        self, repo: str, head_sha: str, name: str, external_id: str, **fields: Any
    ) -> dict[str, Any]:
        """Create the check run ``name`` on ``head_sha`` or update the one already there.

        ``fields`` are the API's (status, conclusion, output, details_url, actions…).
        ``output.annotations`` beyond 50 are sent in follow-up PATCHes of 50 each.
        """
        fields = dict(fields)
        output = fields.pop("output", None)
        batches: list[list[Any]] = []
        if output is not None:
            output = dict(output)
            annotations = list(output.pop("annotations", None) or [])
            batches = [
                annotations[i : i + ANNOTATIONS_PER_REQUEST]
                for i in range(0, len(annotations), ANNOTATIONS_PER_REQUEST)
            ]
            first = {**output, "annotations": batches.pop(0)} if batches else output
            fields["output"] = first
        data = {"name": name, "external_id": external_id, **fields}
        store = self.client.store
        async with self.client.lock("check_run", repo, head_sha, name, external_id):
            run_id = None
            if store and (known := await store.arun(store.get_check_run, repo, external_id)):
                if known["head_sha"] == head_sha:
                    run_id = known["check_run_id"]
            if run_id is None and (
                found := await self.find_check_run(repo, head_sha, name, external_id)
            ):
                run_id = found["id"]
            run: dict[str, Any] | None = None
            if run_id is not None:
                try:
                    run = await self.patch(f"/repos/{repo}/check-runs/{run_id}", data=data)
                except gidgethub.BadRequest as exc:
                    if exc.status_code != 404:
                        raise
            last_error: BaseException | None = None
            for attempt in range(1, self.client.policy.max_attempts + 1):
                if run is not None:
                    break
                try:
                    run = await self.post(
                        f"/repos/{repo}/check-runs", data={"head_sha": head_sha, **data}
                    )
                except AMBIGUOUS_ERRORS as exc:
                    last_error = exc
                    await self.sleep(self.client.policy.backoff_base * attempt)
                    if found := await self.find_check_run(repo, head_sha, name, external_id):
                        run = await self.patch(f"/repos/{repo}/check-runs/{found['id']}", data=data)
            if run is None:
                assert last_error is not None
                raise last_error
            for batch in batches:
                assert output is not None
                run = await self.patch(
                    f"/repos/{repo}/check-runs/{run['id']}",
                    data={"output": {**output, "annotations": batch}},
                )
            if store:
                await store.arun(store.set_check_run, repo, external_id, run["id"], name, head_sha)
            return run

    # -- reactions and permissions ----------------------------------------------------

    async def add_reaction(
        self, repo: str, subject_id: int, content: str = "eyes", *, on: str = "issue_comment"
    ) -> dict[str, Any]:
        """React to an issue/PR comment (``on="issue_comment"``) or an issue (``on="issue"``)."""
        paths = {
            "issue_comment": f"/repos/{repo}/issues/comments/{subject_id}/reactions",
            "issue": f"/repos/{repo}/issues/{subject_id}/reactions",
            "pull_request_review_comment": f"/repos/{repo}/pulls/comments/{subject_id}/reactions",
        }
        return await self.post(paths[on], data={"content": content})

    async def get_permission(self, repo: str, user: str) -> str:
        """``user``'s role on ``repo``: admin, maintain, write, triage, read or none."""
        key = (repo, user.lower())
        if key not in self._permissions:
            try:
                data = await self.getitem(f"/repos/{repo}/collaborators/{user}/permission")
            except gidgethub.BadRequest as exc:
                if exc.status_code != 404:
                    raise
                data = {"permission": "none"}
            role = data.get("role_name")
            self._permissions[key] = (
                role if role in PERMISSION_LEVELS else data.get("permission", "none")
            )
        return self._permissions[key]

    async def has_write(self, repo: str, user: str) -> bool:
        """True if ``user`` may change state on ``repo`` (write, maintain or admin)."""
        return await self.get_permission(repo, user) in WRITE_LEVELS
