"""Prometheus metrics: deliveries by outcome, processing latency, inbox backlog, alerts sent and failed,
issues matching no process.

Under gunicorn several processes serve; with `PROMETHEUS_MULTIPROC_DIR` set (before this module is
imported; `baton serve --production` does it) counters and histograms are written to files there and
`/metrics` aggregates all processes. The backlog is read from the database at scrape time, so it is
right whichever process answers and whichever processes drain the inbox.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

from flask import Blueprint, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

DELIVERIES = Counter(
    "baton_deliveries_total",
    "Webhook deliveries by outcome (accepted, duplicate, unauthorized, too_large, unsupported_type, malformed, unknown_site, error).",
    ["outcome"],
)
ACK_SECONDS = Histogram(
    "baton_ack_seconds",
    "Time from request start to acknowledgement of a delivery (after the inbox commit).",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)
PROCESSED = Counter(
    "baton_processed_total",
    "Inbox deliveries processed, by result (done, ignored: no status change, failed).",
    ["result"],
)
PROCESSING_SECONDS = Histogram(
    "baton_processing_seconds",
    "Time to process one batch of inbox deliveries (transitions, re-derivation, scores).",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)

ALERTS_SENT = Counter(
    "baton_alerts_sent_total",
    "Alerts a target acknowledged (2xx), by target and state (at_risk, breached).",
    ["target", "state"],
)
ALERTS_FAILED = Counter(
    "baton_alerts_failed_total",
    "Alert sends that failed, by target and result (retrying: left pending for the next pass; "
    "given_up: the target refused it).",
    ["target", "result"],
)


def count_alert(target: str, state: str, status: str) -> None:
    """Count one alert outcome (`sent`, `pending` = retrying, `failed` = given up)."""
    if status == "sent":
        ALERTS_SENT.labels(target=target, state=state).inc()
    else:
        ALERTS_FAILED.labels(target=target, result="given_up" if status == "failed" else "retrying").inc()


BacklogReader = Callable[[], tuple[int, float | None]]
"""Returns (pending deliveries, age in seconds of the oldest one or None)."""


class BacklogCollector(Collector):
    def __init__(self, read: BacklogReader) -> None:
        self._read = read

    def collect(self) -> Iterator[Any]:
        try:
            pending, oldest_age = self._read()
        except Exception:  # the database being down must not break /metrics
            up = GaugeMetricFamily("baton_database_up", "1 if the database answered the last scrape.")
            up.add_metric([], 0)
            yield up
            return
        up = GaugeMetricFamily("baton_database_up", "1 if the database answered the last scrape.")
        up.add_metric([], 1)
        yield up
        backlog = GaugeMetricFamily("baton_inbox_backlog", "Deliveries stored but not yet processed.")
        backlog.add_metric([], pending)
        yield backlog
        age = GaugeMetricFamily("baton_inbox_oldest_age_seconds", "Age of the oldest unprocessed delivery.")
        age.add_metric([], oldest_age or 0.0)
        yield age


UnmatchedReader = Callable[[], list[tuple[str, str, int]]]
"""Returns (site, reason, issues) for every site's stored issues that match no process."""

UNMATCHED_REASONS = ("no_project", "project", "issue_type")


class UnmatchedCollector(Collector):
    """`baton_unmatched_issues{site, reason}`: stored issues that match no process (no request is derived
    from them), read at scrape time. Labelled by site and reason only (three reasons), so the series stay
    few whatever the projects and issue types; `baton handoffs --report unmatched` names them."""

    def __init__(self, read: UnmatchedReader) -> None:
        self._read = read

    def collect(self) -> Iterator[Any]:
        try:
            rows = self._read()
        except Exception:  # no configuration, or the database down: baton_database_up says the latter
            return
        family = GaugeMetricFamily(
            "baton_unmatched_issues",
            "Stored issues that match no process, so no request is derived from them, by site and reason "
            "(no_project, project: no process lists it, issue_type: its project's processes do not list it).",
            labels=["site", "reason"],
        )
        counts: dict[tuple[str, str], int] = {}
        for site, reason, issues in rows:
            counts[(site, reason)] = counts.get((site, reason), 0) + issues
        for site in sorted({site for site, _, _ in rows}):
            for reason in UNMATCHED_REASONS:
                family.add_metric([site, reason], counts.get((site, reason), 0))
        yield family


def _registry(
    read_backlog: BacklogReader, read_unmatched: UnmatchedReader | None = None
) -> CollectorRegistry:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]  # unannotated in prometheus_client
    else:
        registry = CollectorRegistry()
        registry.register(_ProcessLocal())
    registry.register(BacklogCollector(read_backlog))
    if read_unmatched is not None:
        registry.register(UnmatchedCollector(read_unmatched))
    return registry


class _ProcessLocal(Collector):
    """The metrics above, as this single process holds them (no multiprocess directory)."""

    def collect(self) -> Iterator[Any]:
        from prometheus_client import REGISTRY

        yield from REGISTRY.collect()


def metrics_blueprint(
    read_backlog: BacklogReader, read_unmatched: UnmatchedReader | None = None
) -> Blueprint:
    bp = Blueprint("metrics", __name__)

    @bp.get("/metrics")
    def metrics() -> Response:
        registry = _registry(read_backlog, read_unmatched)
        return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)

    return bp


def mark_process_dead(pid: int) -> None:
    """Gunicorn `child_exit` hook: drop a dead worker's live gauges from the multiprocess files."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]  # unannotated in prometheus_client
