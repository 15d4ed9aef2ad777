"""Several workers draining one inbox at once converge to exactly the state of a single worker."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime

import pandas as pd
import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from baton.config.loader import load_config
from baton.scoring.simulate import simulate_deliveries
from baton.store import inbox, pipeline
from baton.store.db import create_engine_for
from baton.store.requests import load_requests_frame
from baton.store.transitions import load_transitions_frame

from .test_pipeline import REPO


@pytest.mark.slow
def test_concurrent_workers_converge(db_url: str, engine: Engine, session: Session) -> None:
    config = load_config(REPO / "config" / "examples" / "demo.yaml")
    deliveries = simulate_deliveries(
        config, 12, seed=7, start=datetime(2026, 1, 5, tzinfo=UTC), end=datetime(2026, 2, 2, tzinfo=UTC)
    )
    assert len(deliveries) > 40
    for n, d in enumerate(deliveries):
        body = json.dumps(d.payload).encode()
        for site in ("parallel", "serial"):
            inbox.accept_delivery(session, site, body=body, headers=d.headers, idempotency_key=f"k{n}")

    # the same deliveries, claimed in small batches by four workers at once...
    errors: list[BaseException] = []
    engines = [create_engine_for(db_url) for _ in range(4)]

    def work(n: int) -> None:
        try:
            pipeline.process_pending(
                engines[n], config, limit=10_000, worker_id=f"w{n}", batch_size=5, site_id="parallel"
            )
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for e in engines:
        e.dispose()
    assert not errors
    # ...and by one worker, one delivery at a time
    pipeline.process_pending(engine, config, limit=10_000, batch_size=1, site_id="serial")

    assert inbox.backlog_stats(session).pending == 0
    assert not inbox.list_deliveries(session, "failed")
    assert len(load_transitions_frame(session, "parallel")) == len(load_transitions_frame(session, "serial"))
    parallel = load_requests_frame(session, "parallel").drop(columns="site_id")
    serial = load_requests_frame(session, "serial").drop(columns="site_id")
    assert len(serial) > 0
    pd.testing.assert_frame_equal(parallel, serial)
