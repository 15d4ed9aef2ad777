"""The durable inbox: every delivery is committed raw before it is acknowledged, then processed.

Life of a delivery (`deliveries.state`):

    accept_delivery   -> pending            (committed; a duplicate key returns the existing row)
    claim_pending     -> processing         (FOR UPDATE SKIP LOCKED on PostgreSQL; committed)
    store.pipeline    -> done | ignored | failed
    retry             -> pending again      (operator action)

`quarantined` is for deliveries kept for inspection only (e.g. malformed JSON from an authenticated
sender): pass `state="quarantined"` to `accept_delivery`. Nothing is ever deleted.

Transactions: `accept_delivery` and `claim_pending` commit (they are the durability points);
every other function here only adds to the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select, update
from sqlalchemy.orm import Session

from baton.store.delivery_row import (
    DELIVERY_COLUMNS,
    delivery_identity,
    delivery_row,
    payload_or_none,
    storable_text,
)
from baton.store.models import DELIVERY_SOURCES, DELIVERY_STATES, Delivery, Site, utcnow
from baton.store.sqlutil import dialect_name, insert_for

PENDING, PROCESSING, DONE, IGNORED, FAILED, QUARANTINED = DELIVERY_STATES
DEFAULT_STALE_AFTER = timedelta(minutes=5)
"""A delivery left `processing` this long (its worker died) is claimable again."""
DEFAULT_BATCH_BYTES = 64 * 1024 * 1024
"""Body bytes claimed at most per claim (beyond its first delivery): a batch is loaded and parsed at
once, so rows alone would let 500 bodies of 5 MiB take gigabytes of worker memory."""


@dataclass(frozen=True, slots=True)
class AcceptResult:
    delivery_id: int
    duplicate: bool


@dataclass(frozen=True, slots=True)
class BacklogStats:
    pending: int
    processing: int
    failed: int
    quarantined: int
    oldest_pending_at: datetime | None
    oldest_pending_age_s: float | None
    """Seconds since the oldest pending delivery was received (None when nothing is pending)."""
    oldest_unprocessed_age_s: float | None = None
    """Seconds since the oldest delivery still `pending` or `processing` was received: rows left
    `processing` by a killed worker count too (None when there is none)."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "pending": self.pending,
            "processing": self.processing,
            "failed": self.failed,
            "quarantined": self.quarantined,
            "oldest_pending_at": self.oldest_pending_at.isoformat() if self.oldest_pending_at else None,
            "oldest_pending_age_s": self.oldest_pending_age_s,
            "oldest_unprocessed_age_s": self.oldest_unprocessed_age_s,
        }


def ensure_site(session: Session, site_id: str, **attrs: Any) -> Site:
    """The site `site_id`, created if missing; given attributes (`name`, `base_url`, `webhook_secret`,
    `webhook_token`, `config_fingerprint`) are set on it. Does not commit."""
    unknown = set(attrs) - {"name", "base_url", "webhook_secret", "webhook_token", "config_fingerprint"}
    if unknown:
        raise TypeError(f"unknown site attributes: {', '.join(sorted(unknown))}")
    values = {"id": site_id, "name": attrs.get("name") or site_id, "created_at": utcnow()}
    values.update({k: v for k, v in attrs.items() if k != "name"})
    session.execute(insert_for(session, Site).values(**values).on_conflict_do_nothing(index_elements=["id"]))
    site = session.get(Site, site_id, populate_existing=True)
    assert site is not None
    for key, value in attrs.items():
        setattr(site, key, value)
    session.flush()
    return site


_STATEMENTS: dict[tuple[str, str], Any] = {}


def _statement(session: Session, name: str) -> Any:
    """The hot-path INSERTs, built once per dialect (accepting a delivery is the acknowledgement path)."""
    dialect = dialect_name(session)
    stmt = _STATEMENTS.get((dialect, name))
    if stmt is None:
        if name == "site":
            stmt = insert_for(session, Site.__table__).on_conflict_do_nothing(index_elements=["id"])
        else:
            table = Delivery.__table__
            stmt = (
                insert_for(session, table)
                .on_conflict_do_nothing(index_elements=["site_id", "idempotency_key"])
                .returning(table.c.id)
            )
        _STATEMENTS[(dialect, name)] = stmt
    return stmt


def ensure_site_exists(session: Session, site_id: str) -> None:
    """Create the site row if it is missing (named after its id). Does not commit."""
    session.execute(_statement(session, "site"), {"id": site_id, "name": site_id, "created_at": utcnow()})


def accept_delivery(
    session: Session,
    site_id: str,
    *,
    body: bytes,
    headers: Mapping[str, str] | None = None,
    source: str = "webhook",
    idempotency_key: str | None = None,
    event: str | None = None,
    state: str = PENDING,
    error: str | None = None,
) -> AcceptResult:
    """Store one raw delivery and COMMIT. A delivery whose (site, idempotency key) is already stored
    is not stored again: the existing id comes back with `duplicate=True`.

    `idempotency_key` defaults to the key the HTTP receiver gives the same request
    (`baton.store.delivery_row.delivery_identity`), and `event` to the body's `webhookEvent`. The row is
    built by `baton.store.delivery_row.delivery_row`, as the receiver's `InboxWriter` builds its rows.
    The site is created if it does not exist. Credentials in headers (Authorization, Cookie) are not
    stored."""
    if source not in DELIVERY_SOURCES:
        raise ValueError(f"source must be one of {DELIVERY_SOURCES}, not {source!r}")
    if state not in (PENDING, QUARANTINED):
        raise ValueError("a delivery is accepted as 'pending' or 'quarantined'")
    if idempotency_key is None:
        identity = delivery_identity(site_id, headers or {}, body, payload_or_none(body))
        idempotency_key = identity.idempotency_key
        event = identity.event if event is None else event
    row = delivery_row(site_id, idempotency_key, source, event, headers, body, utcnow(), state, error)
    key = row[1]
    try:
        ensure_site_exists(session, site_id)
        params = dict(zip(DELIVERY_COLUMNS, row, strict=True))
        params.update(attempts=0, claimed_by=None, claimed_at=None, processed_at=None)
        new_id = session.execute(_statement(session, "delivery"), params).scalar()
        if new_id is not None:
            session.commit()
            return AcceptResult(int(new_id), duplicate=False)
        existing = session.execute(
            select(Delivery.id).where(Delivery.site_id == site_id, Delivery.idempotency_key == key)
        ).scalar_one()
        session.commit()
        return AcceptResult(int(existing), duplicate=True)
    except BaseException:
        session.rollback()
        raise


def requeue_stale(session: Session, older_than: timedelta = DEFAULT_STALE_AFTER) -> int:
    """Put deliveries stuck in `processing` (claimed longer ago than `older_than`) back to pending."""
    cutoff = utcnow() - older_than
    result = session.execute(
        update(Delivery.__table__)
        .where(Delivery.state == PROCESSING, Delivery.claimed_at < cutoff)
        .values(state=PENDING)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def claimable(
    session: Session, *, site_id: str | None = None, stale_after: timedelta | None = DEFAULT_STALE_AFTER
) -> bool:
    """Whether `claim_pending` would claim anything: a pending delivery, or one stuck in `processing`
    longer than `stale_after`. A read: an idle poller asks this first and takes no write lock."""
    claimable_state = Delivery.state == PENDING
    if stale_after is not None:
        stuck = (Delivery.state == PROCESSING) & (Delivery.claimed_at < utcnow() - stale_after)
        claimable_state = claimable_state | stuck
    query = select(Delivery.id).where(claimable_state)
    if site_id is not None:
        query = query.where(Delivery.site_id == site_id)
    found = session.execute(query.limit(1)).first() is not None
    session.commit()  # end the read transaction: a claim starts a fresh one
    return found


def claim_pending(
    session: Session,
    limit: int = 100,
    worker_id: str | None = None,
    *,
    site_id: str | None = None,
    stale_after: timedelta | None = DEFAULT_STALE_AFTER,
    max_bytes: int = DEFAULT_BATCH_BYTES,
) -> list[int]:
    """Claim up to `limit` pending deliveries (oldest first) for `worker_id`, mark them `processing`
    and COMMIT; returns their ids. The claim stops before the delivery that would take the claimed
    bodies past `max_bytes` (the first delivery is always claimed, however large). Concurrent
    claimers never get the same row: PostgreSQL uses `SELECT ... FOR UPDATE SKIP LOCKED`; SQLite
    serialises writers, and the claim is one statement. Deliveries stuck in `processing` longer than
    `stale_after` are claimable again."""
    try:
        if stale_after is not None:
            requeue_stale(session, stale_after)
        size = func.length(Delivery.body)  # bytes of a blob (SQLite) / bytea (PostgreSQL, no detoasting)
        candidates = select(Delivery.id, size.label("size")).where(Delivery.state == PENDING)
        if site_id is not None:
            candidates = candidates.where(Delivery.site_id == site_id)
        candidates = candidates.order_by(Delivery.id).limit(limit)
        target: Any
        if dialect_name(session) == "postgresql":
            # Lock first, then update by id, in one transaction. (An `IN (SELECT .. LIMIT n FOR UPDATE
            # SKIP LOCKED)` subquery may be re-evaluated by the planner and claim more than n rows.)
            target = _within_bytes(
                session.execute(candidates.with_for_update(skip_locked=True)).all(), max_bytes
            )
            if not target:
                session.commit()
                return []
        else:  # one statement: SQLite serialises writers
            limited = candidates.subquery()  # the window runs over these `limit` rows only
            ranked = select(
                limited.c.id,
                func.sum(limited.c.size).over(order_by=limited.c.id).label("running"),
                func.row_number().over(order_by=limited.c.id).label("position"),
            ).subquery()
            target = select(ranked.c.id).where((ranked.c.running <= max_bytes) | (ranked.c.position == 1))
        stmt = (
            update(Delivery.__table__)
            .where(Delivery.id.in_(target), Delivery.state == PENDING)
            .values(
                state=PROCESSING,
                claimed_by=worker_id,
                claimed_at=utcnow(),
                attempts=Delivery.attempts + 1,
            )
            .returning(Delivery.id)
        )
        ids = sorted(int(i) for i in session.execute(stmt).scalars())
        session.commit()
        return ids
    except BaseException:
        session.rollback()
        raise


def _within_bytes(candidates: Iterable[Any], max_bytes: int) -> list[int]:
    """The ids of `(id, size)` rows, in order, up to the one that would pass `max_bytes` (the first
    is always taken)."""
    taken: list[int] = []
    total = 0
    for delivery_id, size in candidates:
        total += int(size or 0)
        if taken and total > max_bytes:
            break
        taken.append(int(delivery_id))
    return taken


def _finish(session: Session, delivery_id: int, state: str, error: str | None) -> None:
    session.execute(
        update(Delivery.__table__)
        .where(Delivery.id == delivery_id)
        .values(state=state, error=_storable_error(error), processed_at=utcnow())
    )


def _storable_error(error: str | None) -> str | None:
    """Error texts may quote a hostile delivery (its event name, a parser's message): a NUL in one
    must not fail the statement that finishes the delivery, and its batch-mates with it."""
    return None if error is None else storable_text(error)


def mark_many(session: Session, delivery_ids: Iterable[int], state: str, error: str | None = None) -> None:
    """Finish several deliveries with the same state and error text in one statement."""
    ids = [int(i) for i in delivery_ids]
    if state not in (DONE, IGNORED, FAILED):
        raise ValueError(f"cannot finish a delivery as {state!r}")
    error = _storable_error(error)
    for start in range(0, len(ids), 500):
        session.execute(
            update(Delivery.__table__)
            .where(Delivery.id.in_(ids[start : start + 500]))
            .values(state=state, error=error, processed_at=utcnow())
        )


def mark_done(session: Session, delivery_id: int) -> None:
    _finish(session, delivery_id, DONE, None)


def mark_ignored(session: Session, delivery_id: int, reason: str | None = None) -> None:
    """Processed, but nothing to derive (e.g. no status change). `reason` is kept in `error`."""
    _finish(session, delivery_id, IGNORED, reason)


def mark_failed(session: Session, delivery_id: int, error: str) -> None:
    _finish(session, delivery_id, FAILED, error[:10_000])


def get_delivery(session: Session, delivery_id: int, *, site_id: str | None = None) -> Delivery | None:
    stmt = select(Delivery).where(Delivery.id == delivery_id)
    if site_id is not None:
        stmt = stmt.where(Delivery.site_id == site_id)
    return session.execute(stmt).scalar_one_or_none()


def list_deliveries(
    session: Session,
    state: str | None = None,
    limit: int = 50,
    *,
    site_id: str | None = None,
    before_id: int | None = None,
) -> list[Delivery]:
    """Deliveries newest first, optionally of one state and one site; `before_id` pages backwards."""
    if state is not None and state not in DELIVERY_STATES:
        raise ValueError(f"state must be one of {DELIVERY_STATES}, not {state!r}")
    stmt = select(Delivery)
    if state is not None:
        stmt = stmt.where(Delivery.state == state)
    if site_id is not None:
        stmt = stmt.where(Delivery.site_id == site_id)
    if before_id is not None:
        stmt = stmt.where(Delivery.id < before_id)
    return list(session.execute(stmt.order_by(Delivery.id.desc()).limit(limit)).scalars())


def retry(
    session: Session,
    ids: Iterable[int] | None = None,
    *,
    all_failed: bool = False,
    site_id: str | None = None,
) -> list[int]:
    """Put deliveries back to `pending`: the given ids (any finished state) and/or every failed one.
    Returns the ids requeued. Deliveries already pending or processing are left alone."""
    wanted = [int(i) for i in ids or ()]
    if not wanted and not all_failed:
        return []
    stmt = update(Delivery.__table__).values(state=PENDING, claimed_by=None, claimed_at=None)
    conditions: list[ColumnElement[bool]] = []
    if wanted:
        conditions.append(Delivery.id.in_(wanted) & Delivery.state.in_([DONE, IGNORED, FAILED, QUARANTINED]))
    if all_failed:
        conditions.append(Delivery.state == FAILED)

    stmt = stmt.where(or_(*conditions))
    if site_id is not None:
        stmt = stmt.where(Delivery.site_id == site_id)
    return sorted(int(i) for i in session.execute(stmt.returning(Delivery.id)).scalars())


def backlog_stats(
    session: Session, *, site_id: str | None = None, now: datetime | None = None
) -> BacklogStats:
    """How much is waiting: counts per unfinished state, the age of the oldest pending delivery and
    that of the oldest one not finished (`pending` or `processing`)."""
    counts_stmt = select(Delivery.state, func.count()).where(
        Delivery.state.in_([PENDING, PROCESSING, FAILED, QUARANTINED])
    )
    if site_id is not None:
        counts_stmt = counts_stmt.where(Delivery.site_id == site_id)
    counts = {state: n for state, n in session.execute(counts_stmt.group_by(Delivery.state))}
    moment = now or utcnow()
    oldest_at = _oldest_received_at(session, [PENDING], site_id)
    unprocessed_at = _oldest_received_at(session, [PENDING, PROCESSING], site_id)
    return BacklogStats(
        pending=int(counts.get(PENDING, 0)),
        processing=int(counts.get(PROCESSING, 0)),
        failed=int(counts.get(FAILED, 0)),
        quarantined=int(counts.get(QUARANTINED, 0)),
        oldest_pending_at=oldest_at,
        oldest_pending_age_s=_age(oldest_at, moment),
        oldest_unprocessed_age_s=_age(unprocessed_at, moment),
    )


def _oldest_received_at(session: Session, states: list[str], site_id: str | None) -> datetime | None:
    """When the lowest-id delivery in `states` was received (ids grow with arrival; the state index
    answers the min)."""
    oldest_stmt = select(func.min(Delivery.id)).where(Delivery.state.in_(states))
    if site_id is not None:
        oldest_stmt = oldest_stmt.where(Delivery.site_id == site_id)
    oldest_id = session.execute(oldest_stmt).scalar()
    if oldest_id is None:
        return None
    received: datetime | None = session.execute(
        select(Delivery.received_at).where(Delivery.id == oldest_id)
    ).scalar()
    return received


def _age(received_at: datetime | None, now: datetime) -> float | None:
    return None if received_at is None else max(0.0, (now - received_at).total_seconds())


__all__ = [
    "DEFAULT_BATCH_BYTES",
    "DONE",
    "FAILED",
    "IGNORED",
    "PENDING",
    "PROCESSING",
    "QUARANTINED",
    "AcceptResult",
    "BacklogStats",
    "accept_delivery",
    "backlog_stats",
    "claim_pending",
    "claimable",
    "ensure_site",
    "ensure_site_exists",
    "get_delivery",
    "list_deliveries",
    "mark_done",
    "mark_failed",
    "mark_ignored",
    "mark_many",
    "requeue_stale",
    "retry",
]
