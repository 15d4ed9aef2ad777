"""`process_pending` (the embedded drainer and `baton worker`) hands `process_deliveries` batches
bounded by body bytes as well as by rows, so a backlog of large bodies is never loaded at once."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from baton.config.schema import BatonConfig
from baton.store import inbox, pipeline


def test_process_pending_batches_are_bounded_by_body_bytes(
    engine: Engine, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    batches: list[int] = []
    process_deliveries = pipeline.process_deliveries

    def counted(session: Session, delivery_ids: list[int], config: BatonConfig | None) -> Any:
        batches.append(len(delivery_ids))
        return process_deliveries(session, delivery_ids, config)

    monkeypatch.setattr(pipeline, "process_deliveries", counted)
    for n in range(7):
        inbox.accept_delivery(session, "bytes", body=b'{"pad": "%s"}' % (b"p" * 990), idempotency_key=f"b{n}")
    summary = pipeline.process_pending(engine, None, batch_size=50, batch_bytes=3000)
    assert (summary.claimed, batches) == (7, [2, 2, 2, 1])


def test_baton_worker_batch_bytes_option_bounds_each_claim(db_url: str, tmp_path) -> None:
    """`baton worker --batch-bytes N` is validated (0 is a usage error) and reaches the claim: with a
    budget below one body every delivery is still processed, once (a claim always takes its first row)."""
    import subprocess
    import sys

    from sqlalchemy import func, select
    from sqlalchemy.orm import Session

    from baton.store.db import create_engine_for, upgrade_database
    from baton.store.inbox import accept_delivery
    from baton.store.models import Delivery
    from tests.integration.webhooks.support import EXAMPLE_CONFIG, generated_history

    upgrade_database(db_url)
    engine = create_engine_for(db_url)
    try:
        with Session(engine) as session:
            for delivery in generated_history(1):
                accept_delivery(session, "default", body=delivery.body, headers=delivery.headers())
        command = [sys.executable, "-m", "baton", "worker", "--config", str(EXAMPLE_CONFIG), "--db", db_url]
        result = subprocess.run(
            [*command, "--batch-bytes", "1", "--exit-when-idle"], capture_output=True, text=True, timeout=120
        )
        assert result.returncode == 0, result.stderr
        bad = subprocess.run(
            [*command, "--batch-bytes", "0", "--exit-when-idle"], capture_output=True, text=True
        )
        assert bad.returncode == 2
        with Session(engine) as session:
            states = dict(
                session.execute(select(Delivery.state, func.count()).group_by(Delivery.state)).all()
            )
            attempts = set(session.execute(select(Delivery.attempts)).scalars())
        assert states == {"done": 10}
        assert attempts == {1}
    finally:
        engine.dispose()
