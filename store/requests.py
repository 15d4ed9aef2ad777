"""Derived internal service requests: replaced per issue whenever the issue is re-derived.

Rows carry `baton.scoring.model.REQUEST_COLUMNS` plus `site_id`; they are a cache of
`baton.scoring.engine.derive_requests` over the transition log and can be rebuilt at any time.
None of these functions commits.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from baton.scoring.model import REQUEST_COLUMNS
from baton.store.models import RequestRow
from baton.store.sqlutil import chunks, unique

DATETIME_COLUMNS: tuple[str, ...] = (
    "opened_at",
    "first_response_at",
    "resolved_at",
    "rejected_at",
    "clock_at",
    "verdict_due_at",
    "verdict_at",
)
FLOAT_COLUMNS: tuple[str, ...] = (
    "response_goal_s",
    "resolution_goal_s",
    "at_risk_ratio",
    "response_elapsed_s",
    "resolution_elapsed_s",
    "rating",
)
BOOL_COLUMNS: tuple[str, ...] = ("rejected", "paused")


def _datetime_or_none(value: Any) -> datetime | None:
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, np.datetime64):
        return None if np.isnat(value) else pd.Timestamp(value, tz="UTC").to_pydatetime()
    if isinstance(value, datetime):
        return value
    return None if pd.isna(value) else pd.Timestamp(value).to_pydatetime()


def _float_or_none(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    return None if math.isnan(number) else number


def _text_or_none(value: Any) -> str | None:
    if value is None or value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, np.generic):
        value = value.item()
    return str(value)


def _column_values(name: str, values: list[Any]) -> list[Any]:
    if name in DATETIME_COLUMNS:
        return [_datetime_or_none(v) for v in values]
    if name in FLOAT_COLUMNS:
        return [_float_or_none(v) for v in values]
    if name in BOOL_COLUMNS:
        return [bool(v) if v is not None and v is not pd.NA else False for v in values]
    if name == "seq":
        return [int(v) for v in values]
    return [_text_or_none(v) for v in values]


def frame_to_rows(site_id: str, frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Request rows ready for insertion (only REQUEST_COLUMNS are taken; missing ones become NULL,
    missing booleans False). NaN/NaT become NULL; numpy and pandas scalars become Python values."""
    names = ["site_id", *REQUEST_COLUMNS]
    n = len(frame)
    columns: list[list[Any]] = [[site_id] * n]
    for name in REQUEST_COLUMNS:
        if name in frame.columns:
            columns.append(_column_values(name, frame[name].tolist()))
        else:
            columns.append([False if name in BOOL_COLUMNS else None] * n)
    return [dict(zip(names, values, strict=True)) for values in zip(*columns, strict=True)]


def delete_requests(session: Session, site_id: str, issue_ids: Iterable[str]) -> int:
    removed = 0
    for batch in chunks(unique(issue_ids)):
        result = session.execute(
            delete(RequestRow).where(RequestRow.site_id == site_id, RequestRow.issue_id.in_(batch)),
            execution_options={"synchronize_session": False},
        )
        removed += int(getattr(result, "rowcount", 0) or 0)
    return removed


def rows_for_issues(
    site_id: str, issue_ids: Iterable[str], frame: pd.DataFrame | None
) -> list[dict[str, Any]]:
    """`frame`'s request rows ready for insertion (`frame_to_rows`), only those of `issue_ids`, so a
    caller can never clobber other issues by accident. Touches no database: callers holding a write
    lock convert before they take it."""
    wanted = {str(i) for i in issue_ids}
    if frame is None or frame.empty or not wanted:
        return []
    issue_column = [str(i) for i in frame["issue_id"].tolist()]
    if not set(issue_column) <= wanted:
        frame = frame[[i in wanted for i in issue_column]]
    return frame_to_rows(site_id, frame)


def replace_request_rows(
    session: Session, site_id: str, issue_ids: Iterable[str], rows: list[dict[str, Any]]
) -> int:
    """Delete the derived requests of `issue_ids` and insert `rows` (`rows_for_issues`) for them.
    Returns the number of rows inserted."""
    delete_requests(session, site_id, issue_ids)
    table = RequestRow.__table__
    for batch in chunks(rows, 1000):
        session.execute(table.insert(), batch)  # executemany: batched "insertmanyvalues"
    return len(rows)


def replace_requests(session: Session, site_id: str, issue_ids: Iterable[str], frame: pd.DataFrame) -> int:
    """Delete the derived requests of `issue_ids` and insert `frame`'s rows (REQUEST_COLUMNS) for them.

    Rows of `frame` whose issue is not in `issue_ids` are ignored, so a caller can never clobber
    other issues by accident. Returns the number of rows inserted."""
    wanted = unique(str(i) for i in issue_ids)
    return replace_request_rows(session, site_id, wanted, rows_for_issues(site_id, wanted, frame))


def _utc_ns(series: pd.Series) -> pd.Series:
    return pd.to_datetime(series, utc=True).astype("datetime64[ns, UTC]")


def load_requests_frame(
    session: Session,
    site_id: str,
    *,
    provider: str | None = None,
    open_only: bool = False,
    since: datetime | None = None,
    until: datetime | None = None,
    issue_ids: Iterable[str] | None = None,
) -> pd.DataFrame:
    """Stored requests of a site as a frame with REQUEST_COLUMNS plus `site_id`.

    `provider`: one team only. `open_only`: unresolved requests only. `since`/`until`: requests
    alive in [since, until): opened before `until` and not resolved before `since` (open ones
    included). Datetime columns are datetime64[ns, UTC]; goals/elapsed are floats (NaN when
    absent); `rejected`/`paused` are bool. Ordered by issue, seq."""
    stmt = select(*(getattr(RequestRow, c) for c in REQUEST_COLUMNS)).where(RequestRow.site_id == site_id)
    if provider is not None:
        stmt = stmt.where(RequestRow.provider == provider)
    if open_only:
        stmt = stmt.where(RequestRow.resolved_at.is_(None))
    if until is not None:
        stmt = stmt.where(RequestRow.opened_at < until)
    if since is not None:
        stmt = stmt.where(or_(RequestRow.resolved_at.is_(None), RequestRow.resolved_at >= since))
    stmt = stmt.order_by(RequestRow.issue_id, RequestRow.seq)
    rows: list[tuple[Any, ...]] = []
    if issue_ids is None:
        rows.extend(tuple(r) for r in session.execute(stmt))
    else:
        for batch in chunks(unique(issue_ids)):
            rows.extend(tuple(r) for r in session.execute(stmt.where(RequestRow.issue_id.in_(batch))))
    return requests_frame(rows, site_id)


def requests_frame(rows: list[tuple[Any, ...]], site_id: str) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=list(REQUEST_COLUMNS), dtype=object)
    for name in REQUEST_COLUMNS:
        if name in DATETIME_COLUMNS:
            frame[name] = _utc_ns(frame[name])
        elif name in FLOAT_COLUMNS:
            frame[name] = pd.to_numeric(frame[name], errors="coerce").astype("float64")
        elif name in BOOL_COLUMNS:
            frame[name] = frame[name].astype(bool)
        elif name == "seq":
            frame[name] = frame[name].astype("int64")
    frame["site_id"] = pd.Series([site_id] * len(frame), index=frame.index, dtype=object)
    return frame


__all__ = [
    "delete_requests",
    "frame_to_rows",
    "load_requests_frame",
    "replace_request_rows",
    "replace_requests",
    "requests_frame",
    "rows_for_issues",
]
