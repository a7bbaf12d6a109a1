"""Shared pieces of the bot tests: a key, settings, signed deliveries, a tiny GitHub stub.

The stub is deliberately small (comments, check runs, reactions, permissions, tokens) and
scriptable: ``stub.fail(method, path_regex, ...)`` queues a one-off fault (a status with
headers, or a dropped connection after the request was applied).
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import hmac
import itertools
import json
import re
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from bot.settings import Settings

from bot.fakegithub.spec import find_spec_dir  # noqa: E402

EXAMPLES = find_spec_dir() / "webhooks" / "examples"
SECRET = "It's a Secret to Everybody"
APP_ID = 4242
APP_SLUG = "dlcm"


@functools.lru_cache(maxsize=1)
def private_key_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def public_key_pem() -> str:
    key = serialization.load_pem_private_key(private_key_pem().encode(), None)
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = dict(
        app_id=APP_ID,
        private_key=private_key_pem(),
        webhook_secret=SECRET,
        db_path=tmp_path / "dlcm.sqlite3",
        github_api_url="http://127.0.0.1:9",
        workers=4,
        max_attempts=3,
        app_slug=APP_SLUG,
    )
    values.update(overrides)
    return Settings(**values)


def sign(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def delivery_headers(
    event: str, body: bytes, delivery: str | None = None, **extra: str
) -> dict[str, str]:
    return {
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
        "X-Hub-Signature-256": sign(body),
        "Content-Type": "application/json",
        **extra,
    }


def example(name: str) -> tuple[str, bytes]:
    """(event, body) of ``<event>.<action>[.n].json`` from GitHub's published examples."""
    path = EXAMPLES / f"{name}.json"
    return path.name.split(".")[0], path.read_bytes()


# -- a tiny GitHub --------------------------------------------------------------------------


@dataclass
class Fault:
    method: str
    path: re.Pattern[str]
    status: int | None = None  # None with drop=True: apply, then drop the connection
    headers: dict[str, str] = field(default_factory=dict)
    body: dict[str, Any] = field(default_factory=dict)
    drop: bool = False
    delay: float = 0.0  # with status None and drop False: answer normally, but this late


class GitHubStub:
    """Records every request; serves tokens, comments, check runs, reactions, permissions."""

    def __init__(self, token_ttl: float = 3600) -> None:
        self.calls: list[tuple[str, str, str | None]] = []  # method, path?query, authorization
        self.faults: list[Fault] = []
        self.token_ttl = token_ttl
        self.valid_tokens: set[str] = set()
        self.tokens_issued = 0
        self.comments: dict[int, dict[str, Any]] = {}
        self.check_runs: dict[int, dict[str, Any]] = {}
        self.reactions: list[tuple[str, str]] = []
        self.permissions: dict[str, dict[str, str]] = {}
        self.ids = itertools.count(1000)
        self.app = web.Application(middlewares=[self._middleware])
        r = self.app.router
        r.add_post("/app/installations/{iid}/access_tokens", self.access_token)
        r.add_get("/repos/{owner}/{repo}/issues/{n}/comments", self.list_comments)
        r.add_post("/repos/{owner}/{repo}/issues/{n}/comments", self.create_comment)
        r.add_patch("/repos/{owner}/{repo}/issues/comments/{cid}", self.edit_comment)
        r.add_post("/repos/{owner}/{repo}/issues/comments/{cid}/reactions", self.react)
        r.add_get("/repos/{owner}/{repo}/commits/{sha}/check-runs", self.list_check_runs)
        r.add_post("/repos/{owner}/{repo}/check-runs", self.create_check_run)
        r.add_patch("/repos/{owner}/{repo}/check-runs/{rid}", self.update_check_run)
        r.add_get("/repos/{owner}/{repo}/collaborators/{user}/permission", self.permission)
        r.add_get("/ok", self.ok)

    def fail(
        self,
        method: str,
        path: str,
        status: int | None = None,
        *,
        drop: bool = False,
        headers: dict[str, str] | None = None,
        body: dict[str, Any] | None = None,
        delay: float = 0.0,
    ) -> None:
        fault = Fault(method, re.compile(path), status, headers or {}, body or {}, drop, delay)
        self.faults.append(fault)

    def count(self, method: str, path_regex: str) -> int:
        return sum(1 for m, p, _ in self.calls if m == method and re.search(path_regex, p))

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.calls.append((request.method, request.path_qs, request.headers.get("Authorization")))
        fault = next(
            (f for f in self.faults if f.method == request.method and f.path.search(request.path)),
            None,
        )
        if fault is not None:
            self.faults.remove(fault)
            if fault.delay:
                await asyncio.sleep(fault.delay)
                return await handler(request)
            if fault.drop:
                await handler(request)  # the change lands, the answer is lost
                request.transport.close()
                raise ConnectionResetError("dropped by the stub")
            return web.json_response(
                fault.body or {"message": "stub fault"}, status=fault.status, headers=fault.headers
            )
        if not request.path.startswith("/app/") and request.path != "/ok":
            auth = request.headers.get("Authorization", "")
            if auth.removeprefix("token ") not in self.valid_tokens:
                return web.json_response({"message": "Bad credentials"}, status=401)
        return await handler(request)

    async def ok(self, request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    async def access_token(self, request: web.Request) -> web.Response:
        auth = request.headers.get("Authorization", "")
        claims = jwt.decode(auth.removeprefix("bearer "), public_key_pem(), algorithms=["RS256"])
        assert claims["iss"] == str(APP_ID)
        self.tokens_issued += 1
        token = f"ghs_{request.match_info['iid']}_{self.tokens_issued}"
        self.valid_tokens.add(token)
        expires = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + self.token_ttl))
        return web.json_response({"token": token, "expires_at": expires}, status=201)

    def _issue(self, request: web.Request) -> str:
        m = request.match_info
        return f"{m['owner']}/{m['repo']}#{m['n']}"

    async def list_comments(self, request: web.Request) -> web.Response:
        issue = self._issue(request)
        return web.json_response([c for c in self.comments.values() if c["issue"] == issue])

    async def create_comment(self, request: web.Request) -> web.Response:
        body = (await request.json())["body"]
        cid = next(self.ids)
        self.comments[cid] = {
            "id": cid,
            "issue": self._issue(request),
            "body": body,
            "user": {"login": "dlcm[bot]", "type": "Bot"},
        }
        return web.json_response(self.comments[cid], status=201)

    async def edit_comment(self, request: web.Request) -> web.Response:
        cid = int(request.match_info["cid"])
        if cid not in self.comments:
            return web.json_response({"message": "Not Found"}, status=404)
        self.comments[cid]["body"] = (await request.json())["body"]
        return web.json_response(self.comments[cid])

    async def react(self, request: web.Request) -> web.Response:
        content = (await request.json())["content"]
        self.reactions.append((request.match_info["cid"], content))
        return web.json_response({"id": next(self.ids), "content": content}, status=201)

    async def list_check_runs(self, request: web.Request) -> web.Response:
        sha, name = request.match_info["sha"], request.query.get("check_name")
        runs = [
            r
            for r in self.check_runs.values()
            if r["head_sha"] == sha and (name is None or r["name"] == name)
        ]
        return web.json_response({"total_count": len(runs), "check_runs": runs})

    async def create_check_run(self, request: web.Request) -> web.Response:
        data = await request.json()
        rid = next(self.ids)
        output = data.get("output") or {}
        self.check_runs[rid] = {
            **data,
            "id": rid,
            "app": {"id": APP_ID},
            "annotations": list(output.get("annotations", [])),
        }
        return web.json_response(self.check_runs[rid], status=201)

    async def update_check_run(self, request: web.Request) -> web.Response:
        rid = int(request.match_info["rid"])
        if rid not in self.check_runs:
            return web.json_response({"message": "Not Found"}, status=404)
        data = await request.json()
        run = self.check_runs[rid]
        run["annotations"] += (data.get("output") or {}).get("annotations", [])
        run.update(data)
        return web.json_response(run)

    async def permission(self, request: web.Request) -> web.Response:
        user = request.match_info["user"]
        if user not in self.permissions:
            return web.json_response({"message": "Not Found"}, status=404)
        return web.json_response({**self.permissions[user], "user": {"login": user}})


def load_example_payload(name: str) -> dict[str, Any]:
    return json.loads(example(name)[1])
