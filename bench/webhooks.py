"""Benchmarks of the App: webhook acknowledgement latency, and GitHub calls per PR event.

    python bench/webhooks.py                       # both parts, defaults below
    python bench/webhooks.py --rate 200 --seconds 20 --handlers noop
    python bench/webhooks.py --handlers real       # real features + a fake GitHub behind them
    python bench/webhooks.py --skip-latency        # only the REST-call counts
    python bench/webhooks.py --synchronous NORMAL  # the App's DLCM_DB_SYNCHRONOUS (default FULL)
    python bench/webhooks.py --issues 1 --handler-delay 0.01   # one hot issue, a growing backlog

1. **Acknowledgement latency.** A ``dlcm serve``-equivalent server runs in a subprocess
   (``bot.server.run`` with the App's settings; temporary SQLite database with the
   production durability, ``synchronous=FULL`` unless ``--synchronous`` says otherwise). This process sends signed deliveries
   open-loop at ``--rate`` per second for ``--seconds`` (each send is scheduled on the clock,
   so a slow answer does not delay the next send) over loopback, and reports p50/p90/p99/max
   of the time from sending a delivery to its 202. ``noop`` handlers measure the ack path
   alone; ``real`` runs the real ``dlcm serve`` (every discovered feature) against a fake
   GitHub in a third process, 1 delivery in 20 being a ``/dlcm help`` comment the workers
   answer (reaction, reply) while the acks are measured. Deliveries are comments spread
   over 50 issues: jobs of one issue run in order, so one issue takes them one at a time. Target: p99 < 25 ms.
   ``--issues`` changes the number of issues; ``--handler-delay`` makes each ``noop`` job
   wait (an awaited GitHub call): with ``--issues 1 --handler-delay 0.01`` deliveries arrive
   twice as fast as that issue's jobs run, so a backlog of thousands builds on one ordering
   key while the acks are measured. The load average is printed with the figures: the
   generator and the server share the machine, so a loaded machine shows in the tail.
2. **REST calls per pull request event.** The App and a fake GitHub in this process, the
   example repository: calls for a PR opened with a cold cache, the fix pushed (warm),
   a one-file push to a 100-file PR (warm), and ``/dlcm check``.

Loopback only, bounded in time and size.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SECRET = "bench-webhook-secret"
REPO = "acme/shop"
HELP_EVERY = 20  # real handlers: one delivery in 20 is a /dlcm help comment
ISSUES = 50  # deliveries are spread over this many issues (ordering keys), like real traffic


# -- the server side (a subprocess) -------------------------------------------------------------


def _settings(db: Path, port: int, api_url: str, app_id: int = 1, private_key: str | None = None):
    from bot.fakegithub import generate_rsa_keypair
    from bot.settings import Settings

    return Settings(app_id=app_id, private_key=private_key or generate_rsa_keypair()[0], webhook_secret=SECRET,
                    db_path=db, github_api_url=api_url, host="127.0.0.1", port=port, workers=4,
                    app_slug="dlcm", retention_days=0)


def serve_noop(db: Path, port: int, delay: float = 0.0) -> None:
    """``dlcm serve`` with handlers that do nothing (but wait ``delay`` seconds): the
    acknowledgement path alone."""
    from gidgethub.routing import Router

    from bot import server

    router = Router()

    @router.register("issue_comment", action="created")
    @router.register("pull_request", action="synchronize")
    async def nothing(event, gh, ctx):  # noqa: ANN001
        if delay:
            await asyncio.sleep(delay)
        return None

    print(json.dumps({"url": f"http://127.0.0.1:{port}", "handlers": "noop"}), flush=True)
    server.run(_settings(db, port, "http://127.0.0.1:9"), [router])


def start_real(tmp: Path, port: int, issues: int = ISSUES) -> tuple[list[subprocess.Popen], dict[str, Any], dict[str, str]]:
    """A fake GitHub subprocess (the example repository, an issue with comments to answer)
    and the real ``dlcm serve`` subprocess with every discovered feature, pointed at it."""
    import urllib.request

    example = ROOT / "examples" / "shop-monorepo"
    fake = subprocess.Popen([sys.executable, "-m", "bot.fakegithub", "--repo", f"{REPO}={example}",
                             "--webhook-secret", SECRET, "--no-validate"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert fake.stdout is not None
    gh = json.loads(fake.stdout.readline() or "{}")
    if "url" not in gh:
        fake.kill()
        raise SystemExit("the fake GitHub did not start")

    def api(method: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        req = urllib.request.Request(f"{gh['url']}{path}", data=json.dumps(body).encode(), method=method,
                                     headers={"Authorization": f"token {gh['token']}",
                                              "Accept": "application/vnd.github+json"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.loads(resp.read())

    targets = []  # (issue number, comment id): deliveries spread over `issues` ordering keys
    for n in range(issues):
        issue = api("POST", f"/repos/{REPO}/issues", {"title": f"Bench {n}", "body": "a comment to answer"})
        comment = api("POST", f"/repos/{REPO}/issues/{issue['number']}/comments", {"body": "/dlcm help"})
        targets.append((issue["number"], comment["id"]))
    env = {**os.environ, "DLCM_APP_ID": str(gh["app_id"]), "DLCM_PRIVATE_KEY_PATH": gh["private_key_path"],
           "DLCM_WEBHOOK_SECRET": SECRET, "DLCM_DB": str(tmp / "dlcm.sqlite3"), "DLCM_GITHUB_API_URL": gh["url"],
           "DLCM_HOST": "127.0.0.1", "PORT": str(port), "DLCM_APP_SLUG": gh.get("app_slug", "dlcm"),
           "DLCM_ENV_FILE": os.devnull, "DLCM_LOG_LEVEL": "ERROR"}
    app = subprocess.Popen([sys.executable, "-m", "dlcm", "serve"], cwd=ROOT, env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    info = {"url": f"http://127.0.0.1:{port}", "handlers": "real", "repo_id": 1,
            "installation": next(iter(gh["installations"].values())), "targets": targets}
    return [app, fake], info, gh


# -- the load generator -------------------------------------------------------------------------


def _payloads(info: dict[str, Any], count: int) -> list[tuple[str, bytes]]:
    """(event, body) of every delivery, built before the clock starts."""
    repo = {"id": info.get("repo_id", 1), "full_name": REPO, "name": "shop", "html_url": f"https://github.com/{REPO}",
            "owner": {"login": "acme", "type": "Organization"}}
    inst = {"id": info.get("installation", 1)}
    alice = {"login": "alice", "id": 7, "type": "User"}
    targets = info.get("targets") or [(n + 1, 0) for n in range(info.get("issues", ISSUES))]
    out = []
    for i in range(count):
        number, comment_id = targets[i % len(targets)]
        issue = {"number": number, "title": "Bench", "state": "open", "user": alice}
        answer = info["handlers"] == "real" and i % HELP_EVERY == 0
        comment = {"id": comment_id if answer else 10_000_000 + i,
                   "body": "/dlcm help" if answer else "Looks good to me.", "user": alice}
        body = {"action": "created", "issue": issue, "comment": comment, "repository": repo, "sender": alice,
                "installation": inst}
        out.append(("issue_comment", json.dumps(body, separators=(",", ":")).encode()))
    return out


async def _send_all(url: str, deliveries: list[tuple[str, bytes]], rate: float) -> dict[str, Any]:
    import aiohttp

    latencies: list[float] = []
    lags: list[float] = []
    statuses: Counter[Any] = Counter()
    connector = aiohttp.TCPConnector(limit=0, force_close=False)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def one(i: int, event: str, body: bytes, at: float) -> None:
            delay = at - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            headers = {
                "X-GitHub-Event": event, "X-GitHub-Delivery": str(uuid.uuid4()), "Content-Type": "application/json",
                "X-Hub-Signature-256": "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest(),
            }
            started = time.perf_counter()
            lags.append(started - at)
            try:
                async with session.post(f"{url}/webhooks", data=body, headers=headers) as resp:
                    await resp.read()
                    statuses[resp.status] += 1
            except Exception as exc:  # noqa: BLE001 - counted, reported
                statuses[type(exc).__name__] += 1
                return
            latencies.append(time.perf_counter() - started)

        # warm the connection pool and the server's code paths (not measured)
        warm = [asyncio.create_task(one(-1, "ping", b'{"zen":"warm","hook_id":1}', time.perf_counter()))
                for _ in range(20)]
        await asyncio.gather(*warm)
        latencies.clear()
        lags.clear()
        statuses.clear()

        t0 = time.perf_counter() + 0.2
        tasks = [asyncio.create_task(one(i, ev, body, t0 + i / rate)) for i, (ev, body) in enumerate(deliveries)]
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - t0
    return {"latencies": latencies, "lags": lags, "statuses": statuses, "elapsed": elapsed}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def latency(rate: float, seconds: float, handlers: str, issues: int = ISSUES,
            handler_delay: float = 0.0) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="dlcm-bench-"))
    port = _free_port()
    if handlers == "real":
        procs, info, _ = start_real(tmp, port, issues)
    else:
        procs = [subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "_serve", str(tmp / "dlcm.sqlite3"), str(port),
             str(handler_delay)],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)]
        assert procs[0].stdout is not None
        info = json.loads(procs[0].stdout.readline() or "{}")
    info["issues"] = issues
    try:
        if "url" not in info:
            raise SystemExit("the bench server did not start")
        _wait_healthy(info["url"])
        count = int(rate * seconds)
        load_before = os.getloadavg()
        result = asyncio.run(_send_all(info["url"], _payloads(info, count), rate))
        result.update(count=count, rate=rate, seconds=seconds, handlers=handlers, issues=issues,
                      handler_delay=handler_delay,
                      load=(load_before, os.getloadavg()), cpus=os.cpu_count(),
                      synchronous=os.environ.get("DLCM_DB_SYNCHRONOUS") or "FULL")
        return result
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM if proc is procs[0] else signal.SIGINT)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()


def _wait_healthy(url: str, timeout: float = 30) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.05)
    raise SystemExit("the bench server is not healthy")


def report_latency(r: dict[str, Any]) -> None:
    ms = [x * 1000 for x in r["latencies"]]
    lag = [x * 1000 for x in r["lags"]]
    delay = f", each job waiting {r['handler_delay'] * 1000:.0f} ms" if r.get("handler_delay") else ""
    print(f"\n## Acknowledgement latency ({r['handlers']} handlers, {r['issues']} issues{delay})\n")
    print(f"{r['count']} signed deliveries at {r['rate']:.0f}/s for {r['seconds']:.0f}s over loopback "
          f"(sent in {r['elapsed']:.1f}s; answers: {dict(r['statuses'])})")
    (b1, b5, b15), (a1, a5, a15) = r["load"]
    print(f"  synchronous={r['synchronous']}; load average {b1:.2f} {b5:.2f} {b15:.2f} before, "
          f"{a1:.2f} {a5:.2f} {a15:.2f} after ({r['cpus']} CPUs)")
    if ms:
        print(f"  p50 {statistics.median(ms):6.2f} ms   p90 {_pct(ms, 90):6.2f} ms   p99 {_pct(ms, 99):6.2f} ms   "
              f"max {max(ms):6.2f} ms   mean {statistics.fmean(ms):6.2f} ms")
        print(f"  sender lag p99 {_pct(lag, 99):.2f} ms (how late the generator itself was)")
        verdict = "meets" if _pct(ms, 99) < 25 else "MISSES"
        print(f"  {verdict} the target p99 < 25 ms")


# -- REST calls per event -----------------------------------------------------------------------


async def rest_calls() -> list[tuple[str, int, Counter[str]]]:
    from bot.fakegithub import FakeGitHub, generate_rsa_keypair
    from bot.features import checks, commands
    from bot.repo_reader import READER
    from bot.server import start
    from dlcm.demo import EXAMPLE, coupon_change, fix_files

    rows: list[tuple[str, int, Counter[str]]] = []
    tmp = Path(tempfile.mkdtemp(prefix="dlcm-bench-"))
    fake = await FakeGitHub(base_dir=tmp).start()
    private_pem, public_pem = generate_rsa_keypair()
    server = await start(_settings(tmp / "dlcm.sqlite3", 0, fake.url, app_id=4242, private_key=private_pem),
                         [checks, commands], host="127.0.0.1", port=0, queue_options={"poll_interval": 0.02})
    fake.register_app(4242, public_pem, "dlcm", webhook_url=f"{server.url}/webhooks", webhook_secret=SECRET)
    fake.create_repo(REPO, EXAMPLE)
    fake.set_permission(REPO, "alice", "write")

    async def settle() -> None:
        for _ in range(5):
            await fake.wait_idle(60)
            await server.services.queue.wait_idle(60)

    async def measure(label: str, action) -> None:  # noqa: ANN001
        mark = len(fake.calls)
        await action()
        await settle()
        calls = [c for c in fake.calls[mark:] if not c.path.startswith("/app/")]
        rows.append((label, len(calls), Counter(f"{c.method} {c.template}" for c in calls)))

    try:
        READER.clear()
        state: dict[str, Any] = {}

        async def open_pr() -> None:
            state["pr"] = await fake.open_pull_request(REPO, "coupons", title="Coupons", user="alice",
                                                       files=coupon_change(complete=False))

        async def push_fix() -> None:
            await fake.push(REPO, "coupons", fix_files(), sender="alice")

        async def open_big() -> None:
            files = {f"apps/web/src/generated/page{i:03d}.ts": f"export const page{i} = {i}\n" for i in range(99)}
            files["supabase/migrations/20240401120000_nick.sql"] = "alter table public.users add column nick text;\n"
            state["big"] = await fake.open_pull_request(REPO, "big", title="Big", user="alice", files=files)

        async def push_big() -> None:
            await fake.push(REPO, "big", {"apps/web/src/generated/page000.ts": "export const page0 = 'zero'\n"},
                            sender="alice")

        async def check_command() -> None:
            await fake.create_comment(REPO, state["pr"].number, "/dlcm check", user="alice")

        await measure("PR opened (coupons, 9 files), cold cache", open_pr)
        await measure("fix pushed (5 files): check_suite + synchronize, warm", push_fix)
        await measure("PR opened (100 files), warm example blobs", open_big)
        await measure("1-file push to the 100-file PR, warm", push_big)
        await measure("/dlcm check (re-run) by a writer, warm", check_command)
        violations = len(fake.violations)
    finally:
        await server.stop()
        await fake.stop()
    if violations:
        print(f"warning: {violations} GitHub API violation(s) recorded")
    return rows


def report_calls(rows: list[tuple[str, int, Counter[str]]]) -> None:
    print("\n## GitHub REST calls per pull request event (token requests excluded)\n")
    for label, total, by in rows:
        print(f"  {total:4d}  {label}")
        for what, n in sorted(by.items(), key=lambda kv: (-kv[1], kv[0])):
            print(f"          {n:3d} × {what}")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["_serve"]:
        serve_noop(Path(argv[1]), int(argv[2]), float(argv[3]) if len(argv) > 3 else 0.0)
        return 0
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rate", type=float, default=200.0, help="deliveries per second (default 200)")
    ap.add_argument("--seconds", type=float, default=20.0, help="duration of the burst (default 20)")
    ap.add_argument("--handlers", choices=["noop", "real"], default="noop")
    ap.add_argument("--issues", type=int, default=ISSUES,
                    help=f"ordering keys the deliveries are spread over (default {ISSUES})")
    ap.add_argument("--handler-delay", type=float, default=0.0,
                    help="noop handlers: seconds each job waits (default 0)")
    ap.add_argument("--skip-latency", action="store_true")
    ap.add_argument("--skip-calls", action="store_true")
    ap.add_argument("--synchronous", choices=["FULL", "NORMAL", "EXTRA"], type=str.upper,
                    default=os.environ.get("DLCM_DB_SYNCHRONOUS") or "FULL",
                    help="PRAGMA synchronous of the server's database (DLCM_DB_SYNCHRONOUS; default FULL)")
    args = ap.parse_args(argv)
    os.environ["DLCM_DB_SYNCHRONOUS"] = args.synchronous  # inherited by the server subprocess
    if args.rate * args.seconds > 20_000:
        ap.error("bounded: at most 20,000 deliveries")
    if not 1 <= args.issues <= 1000 or not 0 <= args.handler_delay <= 10:
        ap.error("--issues: 1 to 1000; --handler-delay: 0 to 10 seconds")
    os.environ.setdefault("PYTHONHASHSEED", "0")
    if not args.skip_latency:
        report_latency(latency(args.rate, args.seconds, args.handlers, args.issues, args.handler_delay))
    if not args.skip_calls:
        report_calls(asyncio.run(rest_calls()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
