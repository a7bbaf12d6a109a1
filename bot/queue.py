"""A durable in-process job queue over the ``deliveries`` table of the store.

- :meth:`JobQueue.enqueue` commits the job to SQLite before it returns, so the server
  acknowledges a delivery only once it survives a crash. Concurrent enqueues share one
  commit (group commit on the store's dedicated ack connection, :class:`bot.store.GroupCommit`).
- N async workers claim jobs with one atomic ``UPDATE … WHERE status = 'pending'``; a job is
  claimable only when it is first in line for its ordering key (e.g. ``owner/repo#12``), so
  jobs of one key run in order, one at a time, while other keys run in parallel. A new job
  wakes one idle worker, not all of them; an idle worker sleeps until the next job that is
  first in line for its key is due (or ``poll_interval``), so a backlog of jobs waiting
  behind a running one of the same key never makes the workers spin.
- A failed job is retried with exponential backoff and jitter; after ``max_attempts`` it is
  ``dead`` (kept in the store, counted on ``/metrics``, never re-looped). A
  :class:`RetryLater` (e.g. GitHub's rate limit) reschedules without using an attempt; a
  :class:`PermanentError` goes straight to dead.
- :meth:`JobQueue.start` first puts jobs a crashed process left ``running`` back to
  ``pending`` (or dead if they already used every attempt: a job that kills the process
  must not kill it forever).

This is the embedded engine: one process owns the SQLite file. The scale path (several
processes on PostgreSQL) uses an existing engine instead, see SPEC §7.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
import traceback
from collections.abc import Awaitable, Callable

from .metrics import Metrics
from .store import DEAD, PENDING, RUNNING, Delivery, Store

log = logging.getLogger("dlcm.queue")

Handler = Callable[[Delivery], Awaitable[str | None]]  # returns the outcome ("handled"…)


class RetryLater(Exception):
    """Run this job again in ``delay`` seconds, without using one of its attempts."""

    def __init__(self, delay: float, reason: str = "") -> None:
        self.delay = max(0.0, float(delay))
        super().__init__(reason or f"retry in {self.delay:.0f}s")


class PermanentError(Exception):
    """A failure that retrying cannot fix: the job goes straight to dead."""


def backoff_delay(
    attempt: int, base: float, cap: float, rand: Callable[[], float] = random.random
) -> float:
    """Delay before retry number ``attempt`` (1-based): exponential, capped, equal jitter."""
    delay = min(cap, base * 2 ** max(0, attempt - 1))
    return delay / 2 + rand() * delay / 2


def _describe(exc: BaseException) -> str:
    tail = "".join(traceback.format_exception(exc)[-3:]).strip()
    return f"{type(exc).__name__}: {exc}\n{tail}"[-4000:]


class JobQueue:
    """Durable job queue with ordered keys, retries and crash recovery."""

    def __init__(
        self,
        store: Store,
        handler: Handler,
        *,
        workers: int = 4,
        max_attempts: int = 6,
        backoff_base: float = 5.0,
        backoff_cap: float = 600.0,
        poll_interval: float = 1.0,
        metrics: Metrics | None = None,
        clock: Callable[[], float] = time.time,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.store, self.handler = store, handler
        self.workers, self.max_attempts = workers, max_attempts
        self.backoff_base, self.backoff_cap = backoff_base, backoff_cap
        self.poll_interval = poll_interval
        self.metrics = metrics
        self.clock, self.rand = clock, rand
        self._tasks: list[asyncio.Task[None]] = []
        self._wakeups: list[asyncio.Event] = []
        self._idle: dict[int, asyncio.Event] = {}  # workers waiting for work, by number
        self._wake_pending = False  # a wake that found no idle worker to take it
        self._stopping = False
        self._busy = 0

    # -- producer side ----------------------------------------------------------------

    async def enqueue(
        self,
        *,
        delivery_id: str,
        event: str,
        action: str | None,
        payload: str,
        installation_id: int | None = None,
        ordering_key: str | None = None,
        status: str = PENDING,
        outcome: str | None = None,
    ) -> bool:
        """Store a job durably and wake a worker; False if the delivery id is known.

        Returns once the commit that stored the job returned (shared with concurrent
        enqueues); raises if it could not be stored.
        """
        inserted = await self.store.ainsert_delivery(
            delivery_id=delivery_id,
            event=event,
            action=action,
            payload=payload,
            installation_id=installation_id,
            ordering_key=ordering_key,
            status=status,
            outcome=outcome,
            now=self.clock(),
        )
        if inserted and status == PENDING:
            self.wake_one()
        return inserted

    def wake(self) -> None:
        """Tell every worker there may be work (they also poll every ``poll_interval``)."""
        for event in self._wakeups:
            event.set()

    def wake_one(self) -> None:
        """Tell one idle worker there may be one more job.

        When every idle worker was already woken, the worker that next finds nothing to
        claim looks again instead of going to sleep (a job committed after its last claim).
        """
        for event in self._idle.values():
            if not event.is_set():
                event.set()
                return
        self._wake_pending = True

    # -- lifecycle --------------------------------------------------------------------

    @property
    def worker_count(self) -> int:
        """Workers currently started (0 before :meth:`start` and after :meth:`stop`)."""
        return len(self._tasks)

    async def start(self) -> tuple[int, int]:
        """Recover jobs a crashed process left running, then start the workers.

        Returns (resumed, dead) from the recovery.
        """
        resumed, dead = await self.store.arun(
            self.store.recover_running, self.max_attempts, self.clock()
        )
        if resumed or dead:
            log.warning("recovered interrupted jobs: %d resumed, %d dead", resumed, dead)
        self._stopping = False
        for n in range(self.workers):
            wakeup = asyncio.Event()
            self._wakeups.append(wakeup)
            self._tasks.append(
                asyncio.create_task(self._worker(n, wakeup), name=f"dlcm-worker-{n}")
            )
        return resumed, dead

    async def stop(self, timeout: float = 10.0) -> None:
        """Let running jobs finish (up to ``timeout``), then cancel the workers.

        A job cancelled here stays ``running`` in the store and is resumed by the next start.
        """
        self._stopping = True
        self.wake()
        tasks, self._tasks, self._wakeups = self._tasks, [], []
        if not tasks:
            return
        _, pending = await asyncio.wait(tasks, timeout=timeout)
        for task in pending:
            task.cancel()
        for task in pending:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def wait_idle(self, timeout: float = 10.0, *, include_scheduled: bool = False) -> None:
        """Wait until no job is running or due (or scheduled too, if asked); for tests/demo."""
        deadline = time.monotonic() + timeout
        while True:
            counts = await self.store.arun(self.store.counts_by_status)
            due = await self.store.arun(self.store.next_due_at)
            waiting = counts[PENDING] and (
                include_scheduled or (due is not None and due <= self.clock())
            )
            if not counts[RUNNING] and not waiting and not self._busy:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"queue not idle after {timeout}s: {counts}")
            await asyncio.sleep(0.01)

    # -- consumer side ----------------------------------------------------------------

    async def _worker(self, n: int, wakeup: asyncio.Event) -> None:
        while not self._stopping:
            wakeup.clear()
            try:
                ran, due = await self._claim_and_run()
            except Exception:  # the store itself failed: keep the worker alive
                log.exception("worker %d could not claim a job", n)
                ran, due = False, None
            if ran or self._stopping:
                continue
            if self._wake_pending:  # a job came in after our claim and nobody took it
                self._wake_pending = False
                continue
            timeout = self.poll_interval
            if due is not None:
                timeout = min(timeout, max(0.0, due - self.clock()))
            self._idle[n] = wakeup
            try:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wakeup.wait(), timeout=max(timeout, 0.005))
            finally:
                self._idle.pop(n, None)

    async def run_one(self) -> bool:
        """Claim and run one due job; False when none is claimable."""
        return (await self._claim_and_run())[0]

    async def _claim_and_run(self) -> tuple[bool, float | None]:
        """Claim and run one due job: (ran, when the next job first in line is due).

        One trip to the store claims the job and says whether another one is due already,
        in which case one more idle worker is woken; when none was claimable, the due time
        tells the worker how long it may sleep.
        """
        job, due = await self.store.arun(self.store.claim, self.clock())
        if job is None:
            return False, due
        if due is not None and due <= self.clock():
            self.wake_one()
        self._busy += 1
        try:
            await self._run(job)
        finally:
            self._busy -= 1
        return True, None

    async def _run(self, job: Delivery) -> None:
        started = time.monotonic()
        result = "done"
        try:
            outcome = await self.handler(job)
        except RetryLater as exc:
            result = "retry"
            log.info("job %s deferred %.1fs: %s", job.delivery_id, exc.delay, exc)
            await self.store.arun(
                self.store.mark_failed,
                job.id,
                _describe(exc),
                retry_at=self.clock() + exc.delay,
                refund_attempt=True,
                now=self.clock(),
            )
        except Exception as exc:
            permanent = isinstance(exc, PermanentError)
            if permanent or job.attempts >= self.max_attempts:
                result = "dead"
                log.error(
                    "job %s (%s) is dead after %d attempt(s): %s",
                    job.delivery_id,
                    job.event,
                    job.attempts,
                    exc,
                )
                retry_at = None
            else:
                result = "retry"
                delay = backoff_delay(job.attempts, self.backoff_base, self.backoff_cap, self.rand)
                log.warning(
                    "job %s (%s) attempt %d failed, retry in %.1fs: %s",
                    job.delivery_id,
                    job.event,
                    job.attempts,
                    delay,
                    exc,
                )
                retry_at = self.clock() + delay
            await self.store.arun(
                self.store.mark_failed, job.id, _describe(exc), retry_at=retry_at, now=self.clock()
            )
        else:
            await self.store.arun(self.store.mark_done, job.id, outcome or "handled", self.clock())
        if self.metrics:
            self.metrics.job_results.inc(event=job.event, result=result)
            self.metrics.processing_seconds.observe(time.monotonic() - started, event=job.event)
            if result == "done":
                self.metrics.delivery_latency_seconds.observe(
                    max(0.0, self.clock() - job.received_at), event=job.event
                )


__all__ = ["DEAD", "JobQueue", "PermanentError", "RetryLater", "backoff_delay"]
