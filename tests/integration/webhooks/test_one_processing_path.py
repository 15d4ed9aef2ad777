"""Replay, `baton worker` and the embedded drainer process deliveries through one function
(`baton.store.pipeline.process_deliveries`): the same deliveries give the same log, the same requests
and the same delivery states whichever way they came in, including a delivery that fails."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pandas as pd
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from baton.config.loader import load_config
from baton.scoring.simulate import simulate_deliveries
from baton.store import inbox
from baton.store.delivery_row import delivery_identity
from baton.store.models import Delivery
from baton.store.requests import load_requests_frame
from baton.store.transitions import load_transitions_frame
from baton.webhooks.cli.replay_cmd import Item, ReplayReport, replay_items
from baton.webhooks.worker.loop import Drainer, run_worker

from ..store.test_pipeline import REPO

BATCH = 7
"""Small, so every way in processes several batches."""
BROKEN = {  # a status change without a time: extraction refuses it
    "webhookEvent": "jira:issue_updated",
    "issue": {"id": "999999", "key": "X-1", "fields": {}},
    "changelog": {"id": "5", "items": [{"field": "status", "fromString": "A", "toString": "B"}]},
}


NO_STATUS_CHANGE = {
    "webhookEvent": "jira:issue_updated",
    "issue": {"id": "999998", "key": "X-2", "fields": {}},
}


def _documents() -> tuple[Any, list[tuple[dict[str, str], dict[str, Any]]], int]:
    """The demo configuration, simulated deliveries with a broken one among them, and its index."""
    config = load_config(REPO / "config" / "examples" / "demo.yaml")
    deliveries = simulate_deliveries(
        config, 6, seed=11, start=datetime(2026, 1, 5, tzinfo=UTC), end=datetime(2026, 2, 2, tzinfo=UTC)
    )
    documents = [(dict(d.headers), d.payload) for d in deliveries]
    broken_at = len(documents) // 2
    documents.insert(broken_at, ({}, BROKEN))  # fails alone, in the middle of a batch
    documents.append(({}, NO_STATUS_CHANGE))
    return config, documents, broken_at


def _accept_all(session: Session, site: str, documents: list[tuple[dict[str, str], dict[str, Any]]]) -> None:
    """What the HTTP receiver stores for each document (same key function, same row builder)."""
    for headers, payload in documents:
        body = json.dumps(payload, separators=(",", ":")).encode()
        identity = delivery_identity(site, headers, body, payload)
        inbox.accept_delivery(
            session,
            site,
            body=body,
            headers=headers,
            idempotency_key=identity.idempotency_key,
            event=identity.event,
        )


def _states(session: Session, site: str) -> list[tuple[str, str | None, int]]:
    rows = session.execute(
        select(Delivery.state, Delivery.error, Delivery.attempts)
        .where(Delivery.site_id == site)
        .order_by(Delivery.id)
    ).all()
    return [(state, error, attempts) for state, error, attempts in rows]


def test_replay_worker_and_drainer_give_the_same_log_requests_and_states(
    engine: Engine, session: Session
) -> None:
    config, documents, broken_at = _documents()
    assert len(documents) > 3 * BATCH

    _accept_all(session, "worker", documents)
    assert run_worker(engine, config, batch=BATCH, exit_when_idle=True, name="w") == len(documents)

    _accept_all(session, "drainer", documents)
    drainer = Drainer(engine, lambda: config, batch=BATCH)
    assert drainer.drain_now() == len(documents)

    items = [
        Item(
            f"doc-{n}", body=json.dumps(payload, separators=(",", ":")).encode(), headers=headers, doc=payload
        )
        for n, (headers, payload) in enumerate(documents)
    ]
    report = replay_items(engine, "replay", config, items, ReplayReport(), batch=BATCH)
    assert [where for where, _message in report.errors] == [f"doc-{broken_at}"]
    assert report.accepted == len(documents)

    session.expire_all()
    worker_states = _states(session, "worker")
    assert worker_states.count(worker_states[broken_at]) == 1
    assert worker_states[broken_at][0] == "failed"
    assert {state for state, _e, _a in worker_states} == {"done", "ignored", "failed"}
    # attempts: the worker's claim counts one, replay's unclaimed processing counts one
    assert _states(session, "drainer") == worker_states
    assert _states(session, "replay") == worker_states

    transitions = load_transitions_frame(session, "worker")
    requests = load_requests_frame(session, "worker").drop(columns="site_id")
    assert len(transitions) > 0 and len(requests) > 0
    assert report.transitions == len(transitions)
    for site in ("drainer", "replay"):
        pd.testing.assert_frame_equal(load_transitions_frame(session, site), transitions)
        pd.testing.assert_frame_equal(load_requests_frame(session, site).drop(columns="site_id"), requests)
