"""GitHub App authentication: the App's JWT and cached installation tokens.

Pure pieces (claims, expiry arithmetic) are plain functions; the only I/O is the
``fetch`` coroutine a :class:`TokenCache` is given (see ``bot.github``).
"""

from __future__ import annotations

import asyncio
import datetime
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import jwt

CLOCK_SKEW = 60  # seconds iat is backdated, for clocks that run ahead of GitHub's
JWT_LIFETIME = 9 * 60  # from now; with the backdating exp - iat = 10 min, GitHub's maximum
REFRESH_MARGIN = 60  # a token or JWT is renewed this long before it expires


def app_jwt_claims(app_id: int | str, now: float) -> dict[str, int | str]:
    """The claims GitHub expects of an App JWT issued at ``now`` (epoch seconds)."""
    now = int(now)
    return {"iat": now - CLOCK_SKEW, "exp": now + JWT_LIFETIME, "iss": str(app_id)}


def make_app_jwt(app_id: int | str, private_key: str | bytes, now: float | None = None) -> str:
    """An RS256 JWT authenticating as the App itself."""
    claims = app_jwt_claims(app_id, time.time() if now is None else now)
    return jwt.encode(claims, private_key, algorithm="RS256")


def parse_expires_at(value: str) -> float:
    """GitHub's ``expires_at`` (``2016-07-11T22:14:10Z``) as epoch seconds."""
    parsed = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=datetime.UTC)
    return parsed.timestamp()


class AppJWT:
    """The App's JWT, re-signed only when it is about to expire."""

    def __init__(
        self, app_id: int | str, private_key: str | bytes, clock: Callable[[], float] = time.time
    ) -> None:
        self.app_id, self.private_key, self.clock = app_id, private_key, clock
        self._token: str | None = None
        self._expires = 0.0

    def get(self) -> str:
        now = self.clock()
        if self._token is None or now >= self._expires - REFRESH_MARGIN:
            self._token = make_app_jwt(self.app_id, self.private_key, now)
            self._expires = int(now) + JWT_LIFETIME
        return self._token


@dataclass(frozen=True)
class InstallationToken:
    token: str
    expires_at: float  # epoch seconds

    def usable(self, now: float) -> bool:
        return now < self.expires_at - REFRESH_MARGIN


Fetch = Callable[[int], Awaitable[InstallationToken]]


class TokenCache:
    """Installation tokens cached per installation until 60 s before they expire.

    Concurrent callers for one installation share a single fetch.
    """

    def __init__(self, fetch: Fetch, clock: Callable[[], float] = time.time) -> None:
        self._fetch, self.clock = fetch, clock
        self._tokens: dict[int, InstallationToken] = {}
        self._locks: dict[int, asyncio.Lock] = {}
        self.fetches = 0

    async def get(self, installation_id: int) -> str:
        token = self._tokens.get(installation_id)
        if token and token.usable(self.clock()):
            return token.token
        lock = self._locks.setdefault(installation_id, asyncio.Lock())
        async with lock:
            token = self._tokens.get(installation_id)
            if token is None or not token.usable(self.clock()):
                self.fetches += 1
                token = await self._fetch(installation_id)
                self._tokens[installation_id] = token
            return token.token

    def invalidate(self, installation_id: int, token: str | None = None) -> None:
        """Forget the cached token (only if it is still ``token``, when given)."""
        current = self._tokens.get(installation_id)
        if current and (token is None or current.token == token):
            del self._tokens[installation_id]
