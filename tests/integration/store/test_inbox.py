"""The durable inbox on real databases: accept once, claim without overlap, retry, backlog."""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session

from baton.store import inbox
from baton.store.models import Delivery, Site, utcnow


def _accept(session: Session, site: str, n: int, prefix: str = "d") -> list[int]:
    return [
        inbox.accept_delivery(
            session, site, body=b'{"n": %d}' % i, idempotency_key=f"{prefix}{i}"
        ).delivery_id
        for i in range(n)
    ]


def test_accept_commits_the_raw_delivery(engine: Engine, session: Session, site: str) -> None:
    body = b'{"webhookEvent": "jira:issue_updated", "x": "\xc3\xa9"}'
    headers = {"X-Atlassian-Webhook-Identifier": "abc", "Authorization": "Bearer secret", "Cookie": "c=1"}
    result = inbox.accept_delivery(
        session,
        site,
        body=body,
        headers=headers,
        source="webhook",
        idempotency_key="abc",
        event="jira:issue_updated",
    )
    assert result.duplicate is False
    with Session(engine) as other:  # visible to another connection: it was committed
        row = other.get(Delivery, result.delivery_id)
        assert row is not None
        assert row.body == body
        assert row.site_id == site
        assert row.state == "pending"
        assert row.event == "jira:issue_updated"
        assert row.headers == {"X-Atlassian-Webhook-Identifier": "abc"}  # credentials are never stored
        assert row.received_at.tzinfo is not None


def test_duplicate_deliveries_are_stored_once(engine: Engine, session: Session, site: str) -> None:
    first = inbox.accept_delivery(session, site, body=b"{}", idempotency_key="same")
    second = inbox.accept_delivery(session, site, body=b'{"retry": 1}', idempotency_key="same")
    assert second == inbox.AcceptResult(first.delivery_id, duplicate=True)
    assert session.execute(select(func.count()).select_from(Delivery)).scalar() == 1
    stored = session.get(Delivery, first.delivery_id)
    assert stored is not None and stored.body == b"{}"  # the first copy is kept


def test_same_key_on_two_sites_is_two_deliveries(session: Session) -> None:
    a = inbox.accept_delivery(session, "site-a", body=b"{}", idempotency_key="k")
    b = inbox.accept_delivery(session, "site-b", body=b"{}", idempotency_key="k")
    assert not a.duplicate and not b.duplicate and a.delivery_id != b.delivery_id
    assert set(session.execute(select(Site.id)).scalars()) == {"site-a", "site-b"}  # created on demand


def test_without_a_key_the_body_hash_deduplicates(session: Session, site: str) -> None:
    a = inbox.accept_delivery(session, site, body=b'{"a": 1}')
    b = inbox.accept_delivery(session, site, body=b'{"a": 1}')
    c = inbox.accept_delivery(session, site, body=b'{"a": 2}')
    assert b.duplicate and b.delivery_id == a.delivery_id
    assert not c.duplicate


def test_concurrent_duplicates_are_stored_once(engine: Engine, site: str) -> None:
    results: list[inbox.AcceptResult] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(8)

    def send() -> None:
        try:
            with Session(engine) as session:
                barrier.wait()
                results.append(inbox.accept_delivery(session, site, body=b"{}", idempotency_key="race"))
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=send) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len({r.delivery_id for r in results}) == 1
    assert sum(not r.duplicate for r in results) == 1
    with Session(engine) as session:
        assert session.execute(select(func.count()).select_from(Delivery)).scalar() == 1


def test_quarantined_delivery_is_kept_but_never_claimed(session: Session, site: str) -> None:
    q = inbox.accept_delivery(session, site, body=b"{not json", state="quarantined", error="malformed JSON")
    assert inbox.claim_pending(session, 10, "w") == []
    row = inbox.get_delivery(session, q.delivery_id)
    assert row is not None and row.state == "quarantined" and row.error == "malformed JSON"


def test_claim_marks_processing_oldest_first(session: Session, site: str) -> None:
    ids = _accept(session, site, 5)
    claimed = inbox.claim_pending(session, 3, "worker-1")
    assert claimed == ids[:3]
    rows = {
        d.id: d for d in session.execute(select(Delivery).execution_options(populate_existing=True)).scalars()
    }
    for i in ids[:3]:
        assert rows[i].state == "processing"
        assert rows[i].claimed_by == "worker-1"
        assert rows[i].attempts == 1
        assert rows[i].claimed_at is not None
    assert rows[ids[3]].state == "pending"
    assert inbox.claim_pending(session, 10, "worker-2") == ids[3:]
    assert inbox.claim_pending(session, 10, "worker-3") == []


def test_claim_can_be_scoped_to_a_site(session: Session) -> None:
    a = _accept(session, "a", 2, "a")
    _accept(session, "b", 2, "b")
    assert inbox.claim_pending(session, 10, "w", site_id="a") == a


def test_stale_processing_deliveries_are_claimed_again(session: Session, site: str) -> None:
    ids = _accept(session, site, 2)
    assert inbox.claim_pending(session, 2, "dead-worker") == ids
    session.execute(
        update(Delivery).where(Delivery.id == ids[0]).values(claimed_at=utcnow() - timedelta(hours=1))
    )
    session.commit()
    assert inbox.claim_pending(session, 10, "new-worker", stale_after=timedelta(minutes=5)) == [ids[0]]
    row = session.get(Delivery, ids[0], populate_existing=True)
    assert row is not None and row.claimed_by == "new-worker" and row.attempts == 2


def test_claimable_sees_pending_and_stuck_deliveries_only(session: Session, site: str) -> None:
    """What an idle poller reads before it takes a write lock to claim."""
    assert inbox.claimable(session) is False
    ids = _accept(session, site, 1)
    assert inbox.claimable(session) is True
    assert inbox.claimable(session, site_id="another-site") is False
    assert inbox.claim_pending(session, 10, "w") == ids
    assert inbox.claimable(session) is False  # processing, not stuck
    session.execute(
        update(Delivery).where(Delivery.id == ids[0]).values(claimed_at=utcnow() - timedelta(hours=1))
    )
    session.commit()
    assert inbox.claimable(session) is True  # stuck longer than the claim timeout
    assert inbox.claimable(session, stale_after=None) is False
    inbox.mark_many(session, ids, "done")
    session.commit()
    assert inbox.claimable(session) is False


def test_mark_and_retry(session: Session, site: str) -> None:
    ids = _accept(session, site, 4)
    inbox.claim_pending(session, 4, "w")
    inbox.mark_done(session, ids[0])
    inbox.mark_ignored(session, ids[1], "no status change")
    inbox.mark_failed(session, ids[2], "ValueError: bad")
    inbox.mark_failed(session, ids[3], "KeyError: x")
    session.commit()
    assert [d.id for d in inbox.list_deliveries(session, "failed")] == [ids[3], ids[2]]
    assert [d.id for d in inbox.list_deliveries(session)] == list(reversed(ids))
    assert [d.id for d in inbox.list_deliveries(session, limit=2, before_id=ids[3])] == [ids[2], ids[1]]
    failed = inbox.get_delivery(session, ids[2])
    assert failed is not None and failed.error == "ValueError: bad" and failed.processed_at is not None
    assert inbox.retry(session, all_failed=True) == [ids[2], ids[3]]
    assert inbox.retry(session, [ids[0]]) == [ids[0]]
    assert inbox.retry(session, [ids[0]]) == []  # already pending: left alone
    session.commit()
    assert inbox.claim_pending(session, 10, "w") == [ids[0], ids[2], ids[3]]


def test_retry_and_listing_respect_the_site(session: Session) -> None:
    a = _accept(session, "a", 1, "a")
    b = _accept(session, "b", 1, "b")
    inbox.claim_pending(session, 10, "w")
    inbox.mark_failed(session, a[0], "x")
    inbox.mark_failed(session, b[0], "y")
    session.commit()
    assert [d.id for d in inbox.list_deliveries(session, "failed", site_id="a")] == a
    assert inbox.get_delivery(session, b[0], site_id="a") is None
    assert inbox.retry(session, all_failed=True, site_id="b") == b


def test_backlog_stats(session: Session, site: str) -> None:
    empty = inbox.backlog_stats(session)
    assert (empty.pending, empty.oldest_pending_at, empty.oldest_pending_age_s) == (0, None, None)
    ids = _accept(session, site, 3)
    inbox.claim_pending(session, 1, "w")
    inbox.mark_failed(session, ids[0], "x")
    session.commit()
    stats = inbox.backlog_stats(session, now=utcnow() + timedelta(seconds=30))
    assert (stats.pending, stats.processing, stats.failed) == (2, 0, 1)
    assert stats.oldest_pending_age_s is not None and 29 <= stats.oldest_pending_age_s < 120
    assert stats.as_dict()["pending"] == 2
    assert inbox.backlog_stats(session, site_id="other").pending == 0


def test_ensure_site_creates_and_updates(session: Session) -> None:
    site = inbox.ensure_site(session, "acme", name="Acme", base_url="https://acme.atlassian.net")
    assert site.name == "Acme"
    inbox.ensure_site(session, "acme", webhook_secret="s")
    session.commit()
    row = session.get(Site, "acme", populate_existing=True)
    assert row is not None and row.name == "Acme" and row.webhook_secret == "s"
    assert row.base_url == "https://acme.atlassian.net"


def test_rows_stuck_in_processing_count_as_the_oldest_unprocessed(
    engine: Engine, session: Session, site: str
) -> None:
    """Issue 12 row 11: a worker killed mid-batch leaves its rows `processing`; before, `/healthz`
    reported `oldest_unprocessed_age_s` null for them until they were claimed again."""
    from datetime import UTC, datetime

    from baton.webhooks.http.health import read_backlog

    stuck, waiting = _accept(session, site, 2)
    received = {
        stuck: datetime(2026, 3, 2, 9, 0, tzinfo=UTC),
        waiting: datetime(2026, 3, 2, 9, 10, tzinfo=UTC),
    }
    for delivery_id, at in received.items():
        session.execute(update(Delivery).where(Delivery.id == delivery_id).values(received_at=at))
    session.commit()
    assert inbox.claim_pending(session, 1, "killed-worker") == [stuck]
    now = datetime(2026, 3, 2, 9, 15, tzinfo=UTC)
    stats = inbox.backlog_stats(session, now=now)
    assert (stats.processing, stats.oldest_pending_age_s, stats.oldest_unprocessed_age_s) == (1, 300.0, 900.0)
    inbox.mark_failed(session, waiting, "x")  # now only the stuck row is unfinished
    session.commit()
    stats = inbox.backlog_stats(session, now=now)
    assert (stats.pending, stats.oldest_pending_age_s, stats.oldest_unprocessed_age_s) == (0, None, 900.0)
    backlog, age = read_backlog(engine)
    assert (backlog, age is not None) == (1, True)  # age: against the real clock


def test_a_claim_is_bounded_by_body_bytes_as_well_as_rows(session: Session, site: str) -> None:
    """Issue 12 row 10: a claimed batch is loaded and parsed at once; before, 100 pending bodies of
    4.5 MB were all claimed together (1.48 GB worker RSS)."""
    ids = [
        inbox.accept_delivery(session, site, body=b"x" * 1000, idempotency_key=f"big{n}").delivery_id
        for n in range(5)
    ]
    claims = [inbox.claim_pending(session, 100, "w", max_bytes=2500) for _ in range(4)]
    assert claims == [ids[0:2], ids[2:4], ids[4:5], []]
    oversized = inbox.accept_delivery(session, site, body=b"y" * 5000, idempotency_key="huge").delivery_id
    assert inbox.claim_pending(session, 100, "w", max_bytes=2500) == [oversized]  # alone, never stuck


def test_an_error_text_quoting_a_nul_or_a_lone_surrogate_is_stored_cleaned(
    session: Session, site: str
) -> None:
    """Issue 12 row 3: the reason quoting a hostile event name made PostgreSQL refuse the UPDATE."""
    ids = _accept(session, site, 3)
    inbox.claim_pending(session, 3, "w")
    inbox.mark_many(session, ids[:2], "ignored", "no status change in jira:issue_\x00updated")
    inbox.mark_failed(session, ids[2], "ValueError: bad \ud800 and \x00")
    session.commit()
    rows = session.execute(select(Delivery.state, Delivery.error).order_by(Delivery.id)).all()
    assert [tuple(row) for row in rows] == [
        ("ignored", "no status change in jira:issue_updated"),
        ("ignored", "no status change in jira:issue_updated"),
        ("failed", "ValueError: bad ? and "),
    ]
