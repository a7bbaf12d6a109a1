"""The webhook server, end to end through aiohttp: delivery → stored → routed."""

from __future__ import annotations

import json
import sqlite3

import pytest
from gidgethub.routing import Router

from bot.routing import ignore_reason, ordering_key
from bot.server import MAX_PAYLOAD, SERVICES, create_app

from .test_bot_support import EXAMPLES, delivery_headers, example, make_settings, sign


class Recorder:
    """A feature module stand-in: one router handling every event of the examples."""

    def __init__(self, fail_first: int = 0) -> None:
        self.router = Router()
        self.seen: list[tuple[str, str | None, str]] = []
        self.fail_first = fail_first
        for event in {p.name.split(".")[0] for p in EXAMPLES.glob("*.json")}:
            self.router.add(self.handle, event)

    async def handle(self, event, gh, ctx) -> None:
        if self.fail_first:
            self.fail_first -= 1
            raise RuntimeError("handler bug")
        assert ctx.delivery.delivery_id == event.delivery_id and ctx.store is not None
        assert (gh is None) == (ctx.github is None)
        self.seen.append((event.event, event.data.get("action"), event.delivery_id))


@pytest.fixture
def recorder():
    return Recorder()


@pytest.fixture
async def client(aiohttp_client, tmp_path, recorder):
    app = create_app(
        make_settings(tmp_path),
        [recorder],
        queue_options={"poll_interval": 0.02, "backoff_base": 0.01},
    )
    c = await aiohttp_client(app)
    c.svc = app[SERVICES]
    return c


def rows(tmp_path):
    conn = sqlite3.connect(tmp_path / "dlcm.sqlite3")  # a second connection: only committed data
    return conn.execute(
        "SELECT delivery_id, status, outcome FROM deliveries ORDER BY id"
    ).fetchall()


async def post(client, event, body, **headers):
    return await client.post(
        "/webhooks", data=body, headers=delivery_headers(event, body, **headers)
    )


# -- rejecting -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "signature",
    [None, "sha256=" + "0" * 64, "sha1=abc", sign(b"other body")],
    ids=["missing", "wrong", "sha1", "other-body"],
)
async def test_bad_or_missing_signature_is_401_and_nothing_stored(client, tmp_path, signature):
    event, body = example("issues.opened")
    headers = delivery_headers(event, body)
    if signature is None:
        del headers["X-Hub-Signature-256"]
    else:
        headers["X-Hub-Signature-256"] = signature
    response = await client.post("/webhooks", data=body, headers=headers)
    assert response.status == 401
    assert "X-Hub-Signature-256" in (await response.json())["error"]
    assert rows(tmp_path) == []


@pytest.mark.parametrize(
    "body, drop, expected",
    [
        (b"{not json", None, "not valid JSON"),
        (b"[1, 2]", None, "JSON object"),
        (b"{}", "X-GitHub-Event", "X-GitHub-Event"),
        (b"{}", "X-GitHub-Delivery", "X-GitHub-Delivery"),
    ],
    ids=["malformed-json", "not-an-object", "no-event-header", "no-delivery-header"],
)
async def test_malformed_delivery_is_400_with_a_clear_message(
    client, tmp_path, body, drop, expected
):
    headers = delivery_headers("issues", body)
    if drop:
        del headers[drop]
    response = await client.post("/webhooks", data=body, headers=headers)
    assert response.status == 400
    assert expected in (await response.json())["error"]
    assert rows(tmp_path) == []


async def test_body_over_25_mb_is_413(client, tmp_path):
    body = b'{"pad": "' + b"x" * MAX_PAYLOAD + b'"}'
    response = await post(client, "issues", body)
    assert response.status == 413 and "payload over" in (await response.json())["error"]

    async def chunks():  # no Content-Length: the limit is enforced while reading
        for i in range(0, len(body), 1 << 20):
            yield body[i : i + (1 << 20)]

    response = await client.post(
        "/webhooks", data=chunks(), headers=delivery_headers("issues", body)
    )
    assert response.status == 413
    assert rows(tmp_path) == []


# -- accepting -----------------------------------------------------------------------------


async def test_delivery_is_committed_before_the_202(aiohttp_client, tmp_path, recorder):
    app = create_app(make_settings(tmp_path), [recorder], queue_options={"workers": 0})
    client = await aiohttp_client(app)
    event, body = example("pull_request.opened")
    response = await post(client, event, body, delivery="durable-1")
    assert response.status == 202 and (await response.json())["status"] == "queued"
    assert rows(tmp_path) == [("durable-1", "pending", None)]  # visible to another connection
    assert recorder.seen == []  # nothing handled yet: no worker


async def test_duplicate_delivery_is_200_and_not_requeued(client, tmp_path, recorder):
    event, body = example("issues.opened")
    first = await post(client, event, body, delivery="dup-1")
    second = await post(client, event, body, delivery="dup-1")
    assert (first.status, second.status) == (202, 200)
    assert (await second.json())["status"] == "duplicate"
    await client.svc.queue.wait_idle(5)
    assert [d for _, _, d in recorder.seen] == ["dup-1"]
    assert len(rows(tmp_path)) == 1


async def test_ping_is_answered(client, tmp_path):
    event, body = example("ping")
    response = await post(client, event, body, delivery="ping-1")
    assert response.status == 200 and (await response.json())["status"] == "pong"
    assert rows(tmp_path) == [("ping-1", "done", "ping")]


async def test_events_from_this_app_and_other_bots_are_ignored(client, tmp_path, recorder):
    payload = json.loads(example("issue_comment.created")[1])
    payload["sender"] = {"login": "dlcm[bot]", "type": "Bot", "id": 1}
    own = json.dumps(payload).encode()
    payload["sender"] = {"login": "someone[bot]", "type": "Bot", "id": 2}
    other = json.dumps(payload).encode()
    r1 = await post(client, "issue_comment", own, delivery="own")
    r2 = await post(client, "issue_comment", other, delivery="other-bot")
    assert (r1.status, r2.status) == (200, 200)
    assert (await r1.json())["reason"] == "sent by this App"
    assert rows(tmp_path) == [
        ("own", "done", "ignored: sent by this App"),
        ("other-bot", "done", "ignored: sent by the bot someone[bot]"),
    ]
    await client.svc.queue.wait_idle(5)
    assert recorder.seen == []


def test_ignore_and_ordering_rules():
    pr = json.loads(example("pull_request.opened")[1])
    assert ordering_key("pull_request", pr) == "Codertocat/Hello-World#2"
    assert (
        ordering_key("push", json.loads(example("push")[1]))
        == "Codertocat/Hello-World@refs/tags/simple-tag"
    )
    assert (
        ordering_key("installation", json.loads(example("installation.created")[1]))
        == "installation:957387"
    )
    # A bot's pull request still needs its checks; its comments do not need answers.
    pr["sender"] = {"login": "renovate[bot]", "type": "Bot"}
    assert ignore_reason("pull_request", pr, bot_login="dlcm[bot]") is None
    pr["sender"] = {"login": "dlcm[bot]", "type": "Bot"}  # dlcm's own scaffold PR is checked too
    assert ignore_reason("pull_request", pr, bot_login="dlcm[bot]") is None
    assert ignore_reason("issues", pr, bot_login="dlcm[bot]") == "sent by this App"
    assert ignore_reason("issues", pr, bot_login=None) == "sent by the bot dlcm[bot]"
    suite = json.loads(example("check_suite.rerequested")[1])  # sent by octocoders-linter[bot]
    assert ignore_reason("check_suite", suite, bot_login="dlcm[bot]") is None


async def test_failing_handler_is_retried_then_dead_and_visible_on_metrics(
    aiohttp_client, tmp_path
):
    recorder = Recorder(fail_first=100)
    app = create_app(
        make_settings(tmp_path, max_attempts=2),
        [recorder],
        queue_options={"poll_interval": 0.02, "backoff_base": 0.01},
    )
    client = await aiohttp_client(app)
    event, body = example("issues.opened")
    await post(client, event, body, delivery="doomed")
    await app[SERVICES].queue.wait_idle(5, include_scheduled=True)
    assert rows(tmp_path) == [("doomed", "dead", "failed")]
    health = await (await client.get("/healthz")).json()
    assert health["status"] == "ok" and health["queue"]["dead"] == 1
    text = await (await client.get("/metrics")).text()
    assert "dlcm_queue_dead_jobs 1" in text
    assert 'dlcm_jobs_processed_total{event="issues",result="dead"} 1' in text


async def test_healthz_and_metrics(client):
    event, body = example("issues.opened")
    await post(client, event, body)
    await client.svc.queue.wait_idle(5)
    health = await client.get("/healthz")
    assert health.status == 200
    data = await health.json()
    assert data["db"] == "ok" and data["queue"]["done"] == 1 and data["workers"] == 4
    client.svc.metrics.check_outcomes.inc(check="dlcm/completeness", conclusion="success")
    response = await client.get("/metrics")
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    text = await response.text()
    for line in [
        'dlcm_webhook_deliveries_total{event="issues",outcome="accepted"} 1',
        'dlcm_queue_jobs{status="done"} 1',
        'dlcm_queue_jobs{status="pending"} 0',
        "dlcm_queue_dead_jobs 0",
        'dlcm_job_processing_seconds_count{event="issues"} 1',
        'dlcm_job_processing_seconds_bucket{event="issues",le="+Inf"} 1',
        'dlcm_delivery_latency_seconds_count{event="issues"} 1',
        'dlcm_check_outcomes_total{check="dlcm/completeness",conclusion="success"} 1',
        "# TYPE dlcm_github_api_calls_total counter",
    ]:
        assert line in text, line


async def test_every_published_example_is_accepted_and_routed(client, tmp_path, recorder):
    paths = sorted(EXAMPLES.glob("*.json"))
    assert len(paths) > 100
    for path in paths:
        event = path.name.split(".")[0]
        response = await post(client, event, path.read_bytes(), delivery=path.stem)
        assert response.status in (200, 202), (path.name, await response.text())
    await client.svc.queue.wait_idle(20)
    stored = rows(tmp_path)
    assert len(stored) == len(paths)
    assert {status for _, status, _ in stored} == {"done"}, [r for r in stored if r[1] != "done"]
    outcomes = {d: o for d, _, o in stored}
    handled = {d for _, _, d in recorder.seen}
    for path in paths:
        outcome = outcomes[path.stem]
        assert outcome in ("handled", "ping") or outcome.startswith("ignored"), (path.name, outcome)
        assert (path.stem in handled) == (outcome == "handled")
    assert outcomes["ping"] == "ping" and outcomes["issues.opened"] == "handled"
