"""The request path's inbox writer (baton.store.inbox_writer.InboxWriter) on SQLite and PostgreSQL.

It stores a group of concurrent deliveries with one multi-row statement; these tests pin what that
statement must preserve: one row per key, the first arrival is new and every other one a duplicate
with the same id, and rows identical to what `baton.store.inbox.accept_delivery` writes.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from baton.store.delivery_row import delivery_row
from baton.store.inbox import PENDING, accept_delivery
from baton.store.inbox_writer import MAX_ROWS_PER_STATEMENT, InboxWriter, _Pending, _WalCheckpointer
from baton.store.models import Delivery

HEADERS = {"Content-Type": "application/json", "X-Atlassian-Webhook-Identifier": "id"}


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    from baton.store.db import create_engine_for, upgrade_database

    url = f"sqlite:///{tmp_path / 'inbox.db'}"
    upgrade_database(url)
    engine = create_engine_for(url)
    yield engine
    engine.dispose()


def _pending(
    writer: InboxWriter, key: str, body: bytes = b'{"n": 1}', event: str = "jira:issue_updated"
) -> _Pending:
    from datetime import UTC, datetime

    params = delivery_row(
        "default",
        key,
        "webhook",
        event,
        HEADERS,
        body,
        datetime.now(UTC),
        PENDING,
        None,
        writer._encode_headers,
        writer._encode_time,
    )
    return _Pending("default", key, params)


def test_one_statement_stores_a_batch_with_repeats_and_earlier_keys(engine: Engine) -> None:
    writer = InboxWriter(engine)
    try:
        first_id, duplicate = writer.accept("default", b"{}", HEADERS, "k-earlier", "jira:issue_updated")
        assert duplicate is False
        batch = [_pending(writer, key) for key in ("k-a", "k-b", "k-a", "k-earlier", "k-c")]
        writer._write(batch)
        results = [p.result for p in batch]
    finally:
        writer.close()
    assert all(p.error is None for p in batch)
    a, b, a_again, earlier, c = results
    assert a is not None and b is not None and c is not None
    assert a[1] is False and b[1] is False and c[1] is False
    assert a_again == (a[0], True)  # the same key twice in one statement: stored once
    assert earlier == (first_id, True)
    assert len({a[0], b[0], c[0], first_id}) == 4
    with Session(engine) as session:
        keys = session.execute(select(Delivery.idempotency_key).order_by(Delivery.id)).scalars().all()
    assert keys == ["k-earlier", "k-a", "k-b", "k-c"]


def test_concurrent_deliveries_each_key_new_exactly_once(engine: Engine) -> None:
    """32 threads, 40 rounds, every key sent by 4 threads at once: a barrier makes them collide."""
    threads, rounds, senders_per_key = 32, 40, 4
    writer = InboxWriter(engine)
    outcomes: dict[str, list[tuple[int, bool]]] = defaultdict(list)
    lock = threading.Lock()
    barrier = threading.Barrier(threads)
    errors: list[BaseException] = []

    def send(thread: int) -> None:
        try:
            for round_ in range(rounds):
                key = f"r{round_}-k{thread // senders_per_key}"
                barrier.wait()
                result = writer.accept("default", key.encode(), HEADERS, key, "jira:issue_updated")
                with lock:
                    outcomes[key].append(result)
        except BaseException as error:  # surfaced below
            errors.append(error)
            barrier.abort()

    workers = [threading.Thread(target=send, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    writer.close()
    assert errors == []
    assert len(outcomes) == rounds * threads // senders_per_key
    for key, results in outcomes.items():
        assert len(results) == senders_per_key
        assert len({delivery_id for delivery_id, _ in results}) == 1, key
        assert sorted(duplicate for _, duplicate in results) == [False, True, True, True], key
    with Session(engine) as session:
        rows = session.execute(select(Delivery.idempotency_key, Delivery.id, Delivery.body)).all()
    assert len(rows) == len(outcomes)
    for key, delivery_id, body in rows:
        assert outcomes[key][0][0] == delivery_id and body == key.encode()


def test_batches_larger_than_one_statement_are_split(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    writer = InboxWriter(engine)
    statement_sizes: list[int] = []
    write_statement = writer._write_statement

    def counted(batch: list[_Pending]) -> None:
        statement_sizes.append(len(batch))
        write_statement(batch)

    monkeypatch.setattr(writer, "_write_statement", counted)
    try:
        batch = [_pending(writer, f"bulk-{n}") for n in range(MAX_ROWS_PER_STATEMENT + 7)]
        writer._write(batch)
    finally:
        writer.close()
    assert statement_sizes == [MAX_ROWS_PER_STATEMENT, 7]
    ids = [p.result[0] for p in batch if p.result is not None and p.result[1] is False]
    assert len(set(ids)) == MAX_ROWS_PER_STATEMENT + 7


def test_rows_match_what_store_inbox_writes(engine: Engine) -> None:
    writer = InboxWriter(engine)
    try:
        fast_id, _ = writer.accept("default", b'{"a": 1}', HEADERS, "same-shape-fast", "jira:issue_updated")
    finally:
        writer.close()
    with Session(engine) as session:
        slow = accept_delivery(
            session,
            "default",
            idempotency_key="same-shape-slow",
            body=b'{"a": 1}',
            headers=HEADERS,
            event="jira:issue_updated",
        )
        fast_row, slow_row = session.get(Delivery, fast_id), session.get(Delivery, slow.delivery_id)
        assert fast_row is not None and slow_row is not None
        for column in ("site_id", "source", "event", "headers", "body", "state", "attempts", "error"):
            assert getattr(fast_row, column) == getattr(slow_row, column), column
        assert fast_row.received_at.tzinfo is not None and slow_row.received_at.tzinfo is not None


def _database_file_bytes(engine: Engine) -> int:
    import os

    return os.path.getsize(str(engine.url.database))


@pytest.mark.parametrize("every_rows, checkpointed", [(50, True), (10**9, False)])
def test_sqlite_wal_is_checkpointed_outside_the_write_lock(
    sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch, every_rows: int, checkpointed: bool
) -> None:
    """The writer's own connection never checkpoints; its checkpointer copies the WAL into the
    database file every `EVERY_ROWS` deliveries (so the file grows only when it runs; 6 MB of rows
    would cross SQLite's own 1,000-page mark)."""
    monkeypatch.setattr(_WalCheckpointer, "EVERY_ROWS", every_rows)
    writer = InboxWriter(sqlite_engine)
    try:
        writer.accept("default", b"{}", HEADERS, "first", "jira:issue_updated")
        before = _database_file_bytes(sqlite_engine)
        for n in range(300):
            writer.accept("default", b"x" * 20_000, HEADERS, f"row-{n}", "jira:issue_updated")
        after = _database_file_bytes(sqlite_engine)
    finally:
        writer.close()
    assert (after > before) is checkpointed


def test_a_failing_checkpoint_never_fails_a_delivery(
    sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import sqlite3

    def refuse(*args: object, **kwargs: object) -> None:
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(_WalCheckpointer, "EVERY_ROWS", 1)
    monkeypatch.setattr(sqlite3, "connect", refuse)
    writer = InboxWriter(sqlite_engine)
    try:
        results = [writer.accept("default", b"{}", HEADERS, f"k{n}", None) for n in range(3)]
    finally:
        writer.close()
    assert [duplicate for _, duplicate in results] == [False, False, False]
    assert any(getattr(r, "event", None) == "wal_checkpoint_failed" for r in caplog.records)


def test_a_nul_in_the_event_is_stripped_and_never_fails_its_batch_mates(engine: Engine) -> None:
    """Issue 12 row 3: PostgreSQL text refuses 0x00; before, one such `webhookEvent` failed the whole
    group commit (a 500 for every delivery sharing the statement)."""
    writer = InboxWriter(engine)
    try:
        hostile = _pending(writer, "nul", event="jira:issue_\x00updated\ud800")
        batch = [_pending(writer, "before"), hostile, _pending(writer, "after")]
        writer._write(batch)
    finally:
        writer.close()
    assert [(p.error, p.result is not None and p.result[1]) for p in batch] == [(None, False)] * 3
    with Session(engine) as session:
        events = dict(session.execute(select(Delivery.idempotency_key, Delivery.event)).all())
        slow = accept_delivery(session, "default", body=b"{}", idempotency_key="slow", event="a\x00b")
        assert session.get(Delivery, slow.delivery_id).event == "ab"  # type: ignore[union-attr]
    assert events == {
        "before": "jira:issue_updated",
        "nul": "jira:issue_updated?",
        "after": "jira:issue_updated",
    }


@pytest.mark.parametrize(
    "unreachable_url", ["postgresql+psycopg://nobody@127.0.0.1:1/none", "sqlite:////nonexistent-dir/baton.db"]
)
def test_a_lost_database_gives_every_delivery_of_the_batch_the_store_unavailable_error(
    unreachable_url: str,
) -> None:
    """Issue 12 row 5: the connection was opened outside the writer's `try`, so the leader got a raw
    driver error and its followers "inbox write interrupted" (500s). Now each gets DatabaseUnavailable,
    which the HTTP layer answers with 503 + Retry-After."""
    from baton.store.db import DatabaseUnavailable, create_engine_for

    engine = create_engine_for(unreachable_url)
    writer = InboxWriter(engine)
    try:
        batch = [_pending(writer, f"k{n}") for n in range(3)]
        writer._write(batch)
        with pytest.raises(DatabaseUnavailable):
            writer.accept("default", b"{}", HEADERS, "alone", "jira:issue_updated")
    finally:
        writer.close()
        engine.dispose()
    assert [(p.done, type(p.error).__name__) for p in batch] == [(True, "DatabaseUnavailable")] * 3
