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
