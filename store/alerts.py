"""The alert log: one row per (site, request, state, target), stored before it is sent.

`record(session, site, routes, detected_at)` inserts the crossings `baton.scoring.alerts.route` found
(`INSERT .. ON CONFLICT DO NOTHING` on the unique key, so a crossing seen on every pass is stored once,
ever); `claim(...)` leases pending rows to one sender (a conditional UPDATE per row, so two processes
never send the same row at once; a lease left by a crashed pass expires); `finish(...)` records the
outcome of an attempt. Every query filters by site. Only `claim` commits (the lease must be visible to
other processes before the send); the others leave committing to the caller.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from baton.store.models import AlertRow
from baton.store.sqlutil import chunks, insert_for, unique

PENDING = "pending"
SENT = "sent"
FAILED = "failed"

DEFAULT_LEASE = timedelta(minutes=10)
"""How long a pass owns the rows it claimed; a row still leased after a crash is claimed again then."""
MAX_ERROR_CHARS = 500


@dataclass(frozen=True)
class Claimed:
    """A leased alert, detached from the session: what a sender needs to build and send it."""

    id: int
    site_id: str
    request_key: str
    state: str
    target: str
    issue_id: str
    issue_key: str | None
    crossed_at: datetime
    details: dict[str, Any]
    attempts: int


def _iso(value: Any) -> str | None:
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    stamp = pd.Timestamp(value)
    if pd.isna(stamp):
        return None
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return stamp.isoformat().replace("+00:00", "Z")


def _number(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    return None if math.isnan(number) else number


def _text(value: Any) -> str | None:
    if value is None or value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
        return None
    return str(value)


def details_of(row: Any) -> dict[str, Any]:
    """The crossing's facts kept with the alert, so every attempt sends the same body."""
    return {
        "seq": int(row["seq"]),
        "process": _text(row["process"]),
        "provider": _text(row["provider"]),
        "requester": _text(row["requester"]),
        "kind": _text(row["kind"]),
        "clock": _text(row["clock"]),
        "goal_s": _number(row["goal_s"]),
        "threshold_s": _number(row["threshold_s"]),
        "elapsed_s": _number(row["elapsed_s"]),
        "due_at": _iso(row["due_at"]),
    }


def record(session: Session, site: str, routes: pd.DataFrame, detected_at: datetime) -> int:
    """Store every routed crossing not stored yet (`baton.scoring.alerts.ROUTE_COLUMNS`) as pending;
    returns how many were new. Does not commit."""
    if routes.empty:
        return 0
    known: set[tuple[str, str, str]] = set()
    for keys in chunks(unique(str(k) for k in routes["request_key"])):
        known.update(
            (str(k), str(s), str(t))
            for k, s, t in session.execute(
                select(AlertRow.request_key, AlertRow.state, AlertRow.target).where(
                    AlertRow.site_id == site, AlertRow.request_key.in_(keys)
                )
            ).all()
        )
    fresh = [
        (str(k), str(s), str(t)) not in known
        for k, s, t in zip(routes["request_key"], routes["state"], routes["target"], strict=True)
    ]
    routes = routes[fresh]
    if routes.empty:
        return 0
    rows = [
        {
            "site_id": site,
            "request_key": str(r["request_key"]),
            "state": str(r["state"]),
            "target": str(r["target"]),
            "issue_id": str(r["issue_id"]),
            "issue_key": _text(r["issue_key"]),
            "crossed_at": pd.Timestamp(r["crossed_at"]).to_pydatetime(),
            "detected_at": detected_at,
            "details": details_of(r),
            "status": PENDING,
            "attempts": 0,
        }
        for _, r in routes.iterrows()
    ]
    new = 0
    for batch in chunks(rows, 200):
        stmt = (
            insert_for(session, AlertRow)
            .values(batch)
            .on_conflict_do_nothing(index_elements=["site_id", "request_key", "state", "target"])
            .returning(AlertRow.id)
        )
        new += len(session.execute(stmt).all())
    return new


def claim(
    session: Session,
    site: str,
    owner: str,
    wall_now: datetime,
    *,
    targets: Iterable[str] | None = None,
    limit: int = 100,
    lease: timedelta = DEFAULT_LEASE,
    tried_since: datetime | None = None,
) -> list[Claimed]:
    """Lease up to `limit` pending alerts of `site` (oldest crossing first) to `owner` and COMMIT.

    `wall_now` is the wall clock (leases must expire in real time, whatever `now` a pass evaluates
    clocks at). A row leased by someone else whose lease has not run out is skipped. `targets` limits
    the claim to targets the caller knows (a target removed from the configuration keeps its rows);
    `tried_since` skips rows attempted at or after that instant (a pass tries each row once)."""
    query = (
        select(AlertRow.id)
        .where(
            AlertRow.site_id == site,
            AlertRow.status == PENDING,
            or_(AlertRow.lease_until.is_(None), AlertRow.lease_until < wall_now),
        )
        .order_by(AlertRow.crossed_at, AlertRow.id)
        .limit(limit)
    )
    if targets is not None:
        query = query.where(AlertRow.target.in_(list(targets)))
    if tried_since is not None:
        query = query.where(or_(AlertRow.last_attempt_at.is_(None), AlertRow.last_attempt_at < tried_since))
    candidates = list(session.execute(query).scalars())
    claimed: list[int] = []
    for alert_id in candidates:
        result = session.execute(
            update(AlertRow)
            .where(
                AlertRow.id == alert_id,
                AlertRow.status == PENDING,
                or_(AlertRow.lease_until.is_(None), AlertRow.lease_until < wall_now),
            )
            .values(lease_owner=owner, lease_until=wall_now + lease)
        )
        if getattr(result, "rowcount", 0) == 1:
            claimed.append(alert_id)
    session.commit()
    if not claimed:
        return []
    rows = session.execute(select(AlertRow).where(AlertRow.id.in_(claimed))).scalars().all()
    order = {alert_id: index for index, alert_id in enumerate(claimed)}
    return [
        Claimed(
            id=r.id,
            site_id=r.site_id,
            request_key=r.request_key,
            state=r.state,
            target=r.target,
            issue_id=r.issue_id,
            issue_key=r.issue_key,
            crossed_at=r.crossed_at,
            details=dict(r.details),
            attempts=r.attempts,
        )
        for r in sorted(rows, key=lambda r: order[r.id])
    ]


def finish(
    session: Session,
    alert_id: int,
    owner: str,
    at: datetime,
    *,
    sent: bool,
    error: str | None = None,
    give_up: bool = False,
    attempts: int = 1,
) -> None:
    """Record an attempt on a leased alert (`attempts` HTTP tries): sent, failed for good (`give_up`),
    or still pending (retried on the next pass). Releases the lease. Does not commit."""
    status = SENT if sent else FAILED if give_up else PENDING
    session.execute(
        update(AlertRow)
        .where(AlertRow.id == alert_id, AlertRow.lease_owner == owner)
        .values(
            status=status,
            attempts=AlertRow.attempts + attempts,
            last_error=None if sent else (error or "")[:MAX_ERROR_CHARS],
            last_attempt_at=at,
            sent_at=at if sent else None,
            lease_owner=None,
            lease_until=None,
        )
    )


def list_alerts(
    session: Session, site: str, *, status: str | None = None, limit: int = 100
) -> list[AlertRow]:
    """The site's alerts, newest crossing first (optionally one status)."""
    query = select(AlertRow).where(AlertRow.site_id == site)
    if status is not None:
        query = query.where(AlertRow.status == status)
    return list(
        session.execute(query.order_by(AlertRow.crossed_at.desc(), AlertRow.id.desc()).limit(limit)).scalars()
    )


def counts(session: Session, site: str) -> dict[str, int]:
    """Alerts of the site per status."""
    rows = session.execute(
        select(AlertRow.status, func.count()).where(AlertRow.site_id == site).group_by(AlertRow.status)
    ).all()
    return {str(status): int(n) for status, n in rows}
