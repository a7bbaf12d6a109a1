"""Prometheus metrics in the text exposition format (0.0.4), without a client library.

One :class:`Metrics` per application (no global registry, so tests stay independent).
Feature handlers reach it as ``ctx.metrics`` and count what they decide, e.g.
``ctx.metrics.check_outcomes.inc(check="dlcm/completeness", conclusion="failure")``.
Gauges that describe the store (queue depth) are read at scrape time through
``Metrics.collectors``.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterable, Sequence

LabelValues = tuple[str, ...]

DEFAULT_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(names: Sequence[str], values: Sequence[str], extra: str = "") -> str:
    parts = [f'{n}="{_escape(str(v))}"' for n, v in zip(names, values, strict=True)]
    if extra:
        parts.append(extra)
    return "{" + ",".join(parts) + "}" if parts else ""


def _number(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value)) if value != int(value) else str(int(value))


class _Metric:
    kind = "untyped"

    def __init__(self, name: str, doc: str, labelnames: Sequence[str] = ()) -> None:
        self.name, self.doc, self.labelnames = name, doc, tuple(labelnames)
        self._lock = threading.Lock()

    def _key(self, labels: dict[str, str]) -> LabelValues:
        if set(labels) != set(self.labelnames):
            raise ValueError(f"{self.name} takes labels {self.labelnames}, got {sorted(labels)}")
        return tuple(str(labels[n]) for n in self.labelnames)

    def header(self) -> list[str]:
        return [f"# HELP {self.name} {self.doc}", f"# TYPE {self.name} {self.kind}"]


class Counter(_Metric):
    """A monotonically increasing count per label set."""

    kind = "counter"

    def __init__(self, name: str, doc: str, labelnames: Sequence[str] = ()) -> None:
        super().__init__(name, doc, labelnames)
        self._values: dict[LabelValues, float] = {}

    def inc(self, amount: float = 1, **labels: str) -> None:
        key = self._key(labels)
        with self._lock:
            self._values[key] = self._values.get(key, 0) + amount

    def value(self, **labels: str) -> float:
        return self._values.get(self._key(labels), 0)

    def render(self) -> list[str]:
        with self._lock:
            items = sorted(self._values.items())
        return self.header() + [
            f"{self.name}{_labels(self.labelnames, k)} {_number(v)}" for k, v in items
        ]


class Gauge(Counter):
    """A value that goes up and down; ``set`` it or let a collector fill it per scrape."""

    kind = "gauge"

    def set(self, value: float, **labels: str) -> None:
        key = self._key(labels)
        with self._lock:
            self._values[key] = value


class Histogram(_Metric):
    """Observations counted in cumulative buckets, with their sum and count."""

    kind = "histogram"

    def __init__(
        self,
        name: str,
        doc: str,
        labelnames: Sequence[str] = (),
        buckets: Iterable[float] = DEFAULT_BUCKETS,
    ) -> None:
        super().__init__(name, doc, labelnames)
        self.buckets = tuple(sorted(buckets)) + (math.inf,)
        self._series: dict[LabelValues, list[float]] = {}  # bucket counts..., sum, count

    def observe(self, value: float, **labels: str) -> None:
        key = self._key(labels)
        with self._lock:
            series = self._series.setdefault(key, [0.0] * (len(self.buckets) + 2))
            for i, bound in enumerate(self.buckets):
                if value <= bound:
                    series[i] += 1
            series[-2] += value
            series[-1] += 1

    def count(self, **labels: str) -> float:
        series = self._series.get(self._key(labels))
        return series[-1] if series else 0

    def render(self) -> list[str]:
        lines = self.header()
        with self._lock:
            items = sorted((k, list(v)) for k, v in self._series.items())
        for key, series in items:
            for bound, n in zip(self.buckets, series, strict=False):
                le = f'le="{_number(bound)}"'
                lines.append(f"{self.name}_bucket{_labels(self.labelnames, key, le)} {_number(n)}")
            lines.append(f"{self.name}_sum{_labels(self.labelnames, key)} {_number(series[-2])}")
            lines.append(f"{self.name}_count{_labels(self.labelnames, key)} {_number(series[-1])}")
        return lines


class Metrics:
    """Every metric the App exposes on ``/metrics``."""

    def __init__(self) -> None:
        self.deliveries = Counter(
            "dlcm_webhook_deliveries_total",
            "Webhook deliveries received, by event and outcome "
            "(accepted, duplicate, ignored, ping, bad_signature, bad_request, too_large).",
            ["event", "outcome"],
        )
        self.queue_depth = Gauge(
            "dlcm_queue_jobs", "Jobs in the durable queue, by status.", ["status"]
        )
        self.dead_jobs = Gauge(
            "dlcm_queue_dead_jobs", "Jobs that failed every attempt and wait for an operator."
        )
        self.job_results = Counter(
            "dlcm_jobs_processed_total",
            "Job attempts by event and result (done, retry, dead).",
            ["event", "result"],
        )
        self.processing_seconds = Histogram(
            "dlcm_job_processing_seconds", "Time spent running a job's handlers.", ["event"]
        )
        self.delivery_latency_seconds = Histogram(
            "dlcm_delivery_latency_seconds",
            "Time from a delivery being received to its job being done.",
            ["event"],
        )
        self.github_calls = Counter(
            "dlcm_github_api_calls_total",
            "GitHub API requests by method and HTTP status ('error' when no response).",
            ["method", "status"],
        )
        self.check_outcomes = Counter(
            "dlcm_check_outcomes_total",
            "Check run conclusions published, by check name and conclusion.",
            ["check", "conclusion"],
        )
        self.collectors: list[Callable[[], None]] = []

    def all(self) -> list[_Metric]:
        return [m for m in vars(self).values() if isinstance(m, _Metric)]

    def register(self, metric: _Metric) -> _Metric:
        """Add a feature's own metric (e.g. per-change health signals) to the exposition."""
        setattr(self, metric.name, metric)
        return metric

    def render(self) -> str:
        for collect in self.collectors:
            collect()
        lines: list[str] = []
        for metric in self.all():
            lines += metric.render()
        return "\n".join(lines) + "\n"


CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
