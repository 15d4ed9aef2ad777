"""PostgreSQL only: concurrent claimers use FOR UPDATE SKIP LOCKED and never get the same delivery."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from baton.store import inbox
from baton.store.db import create_engine_for
from baton.store.models import Delivery

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_engine(postgres_url: str) -> Engine:
    engine = create_engine_for(postgres_url, pool_size=10)
    yield engine  # type: ignore[misc]
    engine.dispose()


def _fill(engine: Engine, n: int) -> list[int]:
    with Session(engine) as session:
        return [
            inbox.accept_delivery(session, "acme", body=b"{}", idempotency_key=f"k{i}").delivery_id
            for i in range(n)
        ]


def test_a_claim_skips_rows_locked_by_another_transaction(pg_engine: Engine) -> None:
    ids = _fill(pg_engine, 10)
    holder = Session(pg_engine)
    try:
        # Another worker is in the middle of claiming the first three rows (its transaction is open).
        locked = list(
            holder.execute(
                select(Delivery.id)
                .where(Delivery.state == "pending")
                .order_by(Delivery.id)
                .limit(3)
                .with_for_update(skip_locked=True)
            ).scalars()
        )
        assert locked == ids[:3]
        with Session(pg_engine) as session:
            claimed = inbox.claim_pending(session, 5, "worker-b")  # does not wait, does not overlap
        assert claimed == ids[3:8]
    finally:
        holder.rollback()
        holder.close()
    with Session(pg_engine) as session:
        assert inbox.claim_pending(session, 100, "worker-c") == ids[:3] + ids[8:]


def test_concurrent_claimers_never_overlap(pg_engine: Engine) -> None:
    ids = _fill(pg_engine, 300)
    claims: dict[str, list[int]] = {}
    barrier = threading.Barrier(6)
    errors: list[BaseException] = []

    def work(name: str) -> None:
        got: list[int] = []
        try:
            with Session(pg_engine) as session:
                barrier.wait()
                while batch := inbox.claim_pending(session, 7, name):
                    got.extend(batch)
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)
        claims[name] = got

    threads = [threading.Thread(target=work, args=(f"w{i}",)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    everything = [i for got in claims.values() for i in got]
    assert len(everything) == len(set(everything)), "a delivery was claimed twice"
    assert sorted(everything) == ids
    with Session(pg_engine) as session:
        owners = {i: who for i, who in session.execute(select(Delivery.id, Delivery.claimed_by))}
    for name, got in claims.items():
        assert all(owners[i] == name for i in got)
