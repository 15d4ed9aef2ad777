"""The inbox has two writers, the request path's `InboxWriter` and `accept_delivery` (replay,
backfill), and one idempotency-key function and one row builder: the same delivery through either
writer has the same key and is stored once, and keys already stored keep their values."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from baton.store.delivery_row import delivery_identity, delivery_row, payload_or_none
from baton.store.inbox import accept_delivery
from baton.store.inbox_writer import InboxWriter
from baton.store.models import Delivery

SITE = "acme"
CHANGE = b'{"webhookEvent":"jira:issue_updated","issue":{"id":"10001"},"changelog":{"id":"20002"}}'
NO_IDENTITY = b'{"webhookEvent":"comment_created","comment":{"body":"hi"}}'
NOT_JSON = b"\x00not json"


def _length_prefixed_sha256(*parts: bytes) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(len(part).to_bytes(8, "big") + part)
    return digest.hexdigest()


CASES = [
    pytest.param(
        {"X-Atlassian-Webhook-Identifier": "abc-123"},
        CHANGE,
        "atl:" + _length_prefixed_sha256(SITE.encode(), b"abc-123"),
        id="atlassian-identifier",
    ),
    pytest.param(
        {},
        CHANGE,
        "chg:" + _length_prefixed_sha256(SITE.encode(), b"jira:issue_updated", b"10001", b"20002"),
        id="change-id",
    ),
    pytest.param({}, NO_IDENTITY, "body:" + _length_prefixed_sha256(SITE.encode(), NO_IDENTITY), id="body"),
    pytest.param({}, NOT_JSON, "body:" + _length_prefixed_sha256(SITE.encode(), NOT_JSON), id="not-json"),
]


def _through_the_receiver(engine: Engine, headers: dict[str, str], body: bytes) -> tuple[int, bool]:
    """What `webhooks/http/receiver.py` does: key from `delivery_identity`, row from the writer."""
    identity = delivery_identity(SITE, headers, body, payload_or_none(body))
    writer = InboxWriter(engine)
    try:
        return writer.accept(SITE, body, headers, identity.idempotency_key, identity.event)
    finally:
        writer.close()


@pytest.mark.parametrize("headers, body, expected_key", CASES)
def test_both_writers_give_a_delivery_the_same_key_and_one_row(
    engine: Engine, session: Session, headers: dict[str, str], body: bytes, expected_key: str
) -> None:
    fast_id, fast_duplicate = _through_the_receiver(engine, headers, body)
    slow = accept_delivery(session, SITE, body=body, headers=headers, source="replay")
    assert (fast_duplicate, slow.duplicate, slow.delivery_id) == (False, True, fast_id)
    keys = session.execute(select(Delivery.idempotency_key).where(Delivery.site_id == SITE)).scalars().all()
    assert keys == [expected_key]


@pytest.mark.parametrize("headers, body, expected_key", CASES)
def test_a_delivery_accepted_first_by_accept_delivery_is_a_duplicate_for_the_receiver(
    engine: Engine, session: Session, headers: dict[str, str], body: bytes, expected_key: str
) -> None:
    slow = accept_delivery(session, SITE, body=body, headers=headers, source="replay")
    fast_id, fast_duplicate = _through_the_receiver(engine, headers, body)
    assert (slow.duplicate, fast_duplicate, fast_id) == (False, True, slow.delivery_id)
    assert session.execute(select(func.count()).select_from(Delivery)).scalar() == 1
    assert session.execute(select(Delivery.idempotency_key)).scalar() == expected_key


def test_both_writers_cut_long_keys_and_events_and_drop_credentials_alike(
    engine: Engine, session: Session
) -> None:
    headers = {"Content-Type": "application/json", "Authorization": "Bearer secret", "Cookie": "c=1"}
    long_key, long_event = "k" * 300, "e" * 150
    writer = InboxWriter(engine)
    try:
        fast_id, _ = writer.accept(SITE, b"{}", headers, long_key, long_event)
        again_id, again_duplicate = writer.accept(SITE, b"{}", headers, long_key, long_event)
    finally:
        writer.close()
    slow = accept_delivery(
        session, SITE, body=b"{}", headers=headers, idempotency_key=long_key, event=long_event
    )
    assert (again_id, again_duplicate, slow.delivery_id, slow.duplicate) == (fast_id, True, fast_id, True)
    row = session.get(Delivery, fast_id)
    assert row is not None
    assert (row.idempotency_key, row.event, row.headers) == (
        "k" * 255,
        "e" * 100,
        {"Content-Type": "application/json"},
    )


def test_the_row_builder_fills_every_column_it_names() -> None:
    from datetime import UTC, datetime

    at = datetime(2026, 3, 2, tzinfo=UTC)
    row: tuple[Any, ...] = delivery_row(
        SITE,
        "key",
        "webhook",
        "jira:issue_updated",
        {"Cookie": "x", "User-Agent": "ua"},
        b"{}",
        at,
        "pending",
        None,
    )
    assert row == (
        SITE,
        "key",
        "webhook",
        "jira:issue_updated",
        {"User-Agent": "ua"},
        b"{}",
        at,
        "pending",
        None,
    )
