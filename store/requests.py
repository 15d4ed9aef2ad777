"""Derived internal service requests: replaced per issue whenever the issue is re-derived.

Rows carry `baton.scoring.model.REQUEST_COLUMNS` plus `site_id`; they are a cache of
`baton.scoring.engine.derive_requests` over the transition log and can be rebuilt at any time.
None of these functions commits.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from baton.scoring.model import REQUEST_COLUMNS
from baton.store.models import RequestRow
from baton.store.sqlutil import chunks, dialect_name, driver_insert, driver_rows, unique

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
LABEL_COLUMNS: tuple[str, ...] = (
    "process",
    "provider",
    "requester",
    "kind",
    "outcome",
    "issue_type",
    "priority",
    "from_status",
    "to_status",
    "customer",
    "verdict",
)
"""Text columns of few distinct values (names of teams, processes, kinds, statuses...): a bulk read
makes each row refer to one string per distinct value (`shared_labels`)."""


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


def _driver_instants(values: pd.Series, sqlite: bool) -> list[Any]:
    """A datetime column as the driver takes it, NaT as None: on SQLite the text SQLAlchemy's DATETIME
    stores (`YYYY-MM-DD HH:MM:SS.ffffff`, UTC), elsewhere aware UTC datetimes (what `UTCDateTime` binds)."""
    instants = pd.DatetimeIndex(pd.to_datetime(values, utc=True))
    missing = np.asarray(instants.isna())
    if sqlite:
        naive = instants.tz_convert(None).as_unit("us").to_numpy()
        out: npt.NDArray[np.object_] = np.char.replace(
            np.datetime_as_string(naive, unit="us"), "T", " "
        ).astype(object)
    else:
        out = np.asarray(instants.to_pydatetime(), dtype=object)
    out[missing] = None
    return list(out.tolist())


def _driver_floats(values: pd.Series) -> list[Any]:
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64)
    out = numbers.astype(object)
    out[np.isnan(numbers)] = None
    return list(out.tolist())


def _driver_texts(values: pd.Series) -> list[Any]:
    out = values.to_numpy(dtype=object).copy()
    missing = np.asarray(pd.isna(out), dtype=bool)
    if pd.api.types.infer_dtype(out[~missing], skipna=False) not in ("string", "empty"):
        return [_text_or_none(v) for v in values.tolist()]
    out[missing] = None
    return list(out.tolist())


def _driver_column(name: str, frame: pd.DataFrame, sqlite: bool) -> list[Any]:
    n = len(frame)
    if name not in frame.columns:
        return [False if name in BOOL_COLUMNS else None] * n
    values = frame[name]
    if name in DATETIME_COLUMNS:
        return _driver_instants(values, sqlite)
    if name in FLOAT_COLUMNS:
        return _driver_floats(values)
    if name in BOOL_COLUMNS:
        return [bool(v) for v in values.fillna(False).to_numpy(dtype=bool).tolist()]
    if name == "seq":
        return list(values.to_numpy(dtype=np.int64).tolist())
    return _driver_texts(values)


RequestValues = list[tuple[Any, ...]]
"""Request rows as the driver takes them (`request_values`), in the order ("site_id", *REQUEST_COLUMNS)."""


def request_values(site_id: str, frame: pd.DataFrame | None, *, sqlite: bool) -> RequestValues:
    """`frame`'s requests (REQUEST_COLUMNS, as `frame_to_rows` takes them) converted a column at a time
    to what the driver stores (`baton.store.sqlutil.driver_insert`): the same stored values as
    `frame_to_rows` + a Core insert give. Touches no database: callers that hold a write lock convert
    before they take it."""
    if frame is None or frame.empty:
        return []
    columns: list[list[Any]] = [[site_id] * len(frame)]
    columns.extend(_driver_column(name, frame, sqlite) for name in REQUEST_COLUMNS)
    return list(zip(*columns, strict=True))


def insert_request_values(session: Session, table: str, values: RequestValues) -> int:
    """Insert `request_values` rows into `table` (`requests` or `requests_staging`) in bulk. Returns the
    rows inserted; does not commit."""
    if values:
        driver_insert(session, table, ["site_id", *REQUEST_COLUMNS], values)
    return len(values)


def insert_requests(session: Session, table: str, site_id: str, frame: pd.DataFrame) -> int:
    """Insert `frame`'s requests into `table` in bulk (`request_values`). Returns the rows inserted;
    does not commit."""
    sqlite = dialect_name(session) == "sqlite"
    return insert_request_values(session, table, request_values(site_id, frame, sqlite=sqlite))


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
    site_id: str, issue_ids: Iterable[str], frame: pd.DataFrame | None, *, sqlite: bool
) -> RequestValues:
    """`request_values` of `frame`'s requests of `issue_ids` only, so a caller can never clobber other
    issues by accident."""
    wanted = {str(i) for i in issue_ids}
    if frame is None or frame.empty or not wanted:
        return []
    issue_column = [str(i) for i in frame["issue_id"].tolist()]
    if not set(issue_column) <= wanted:
        frame = frame[[i in wanted for i in issue_column]]
    return request_values(site_id, frame, sqlite=sqlite)


def replace_requests(session: Session, site_id: str, issue_ids: Iterable[str], frame: pd.DataFrame) -> int:
    """Delete the derived requests of `issue_ids` and insert `frame`'s rows (REQUEST_COLUMNS) for them.

    Rows of `frame` whose issue is not in `issue_ids` are ignored, so a caller can never clobber
    other issues by accident. Returns the number of rows inserted."""
    wanted = unique(str(i) for i in issue_ids)
    rows = rows_for_issues(site_id, wanted, frame, sqlite=dialect_name(session) == "sqlite")
    delete_requests(session, site_id, wanted)
    return insert_request_values(session, RequestRow.__tablename__, rows)


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


def load_requests_between(
    session: Session,
    site_id: str,
    first: str,
    last: str,
    columns: Sequence[str] = REQUEST_COLUMNS,
    *,
    processes: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Stored requests of the issues with ids in [first, last] (of `processes` only, when given), read
    with one range query through the driver's cursor (`baton.store.chunked`'s way): `columns` of
    REQUEST_COLUMNS typed as `load_requests_frame` types them (without `site_id`). In issue order; an
    issue's requests in the order they are stored (sorting them by `seq` as well costs SQLite a sort of
    every chunk, and the preview, which reads them to score them, needs no order)."""
    from baton.store.chunked import object_columns, utc_instants

    sqlite = dialect_name(session) == "sqlite"
    where = "site_id = ? AND issue_id >= ? AND issue_id <= ?"
    params: list[Any] = [site_id, first, last]
    if processes is not None:
        where += f" AND process IN ({', '.join('?' for _ in processes)})"
        params.extend(processes)
    rows: list[tuple[Any, ...]] = []
    if processes is None or processes:
        rows = driver_rows(
            session,
            f"SELECT {', '.join(columns)} FROM {RequestRow.__tablename__} WHERE {where} ORDER BY issue_id",
            params,
        )
    data: dict[str, Any] = {}
    for name, values in zip(columns, object_columns(rows, len(columns)), strict=True):
        if name in DATETIME_COLUMNS:
            data[name] = utc_instants(values, sqlite)
        elif name in FLOAT_COLUMNS:
            data[name] = pd.Series(np.asarray(values, dtype=np.float64), copy=False)
        elif name in BOOL_COLUMNS:
            data[name] = pd.Series(np.asarray(values, dtype=bool), copy=False)
        elif name == "seq":
            data[name] = pd.Series(np.asarray(values, dtype=np.int64), copy=False)
        elif name in LABEL_COLUMNS:
            data[name] = pd.Series(shared_labels(values), dtype=object, copy=False)
        else:
            data[name] = pd.Series(values, dtype=object, copy=False)
    return pd.DataFrame(data, columns=list(columns))


def shared_labels(values: npt.NDArray[np.object_]) -> npt.NDArray[np.object_]:
    """`values` (text or None) with every row referring to one string per distinct value: the driver
    makes a new string for every row, and a frame of shared strings groups faster and is pickled to
    another process as one copy of each value (a preview's runs, `baton.store.forked`)."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    by_code = np.empty(len(uniques) + 1, dtype=object)  # the last entry, None, for code -1 (missing)
    by_code[: len(uniques)] = np.asarray(uniques, dtype=object)
    return by_code[codes]


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
    "RequestValues",
    "delete_requests",
    "frame_to_rows",
    "insert_request_values",
    "insert_requests",
    "load_requests_between",
    "load_requests_frame",
    "replace_requests",
    "request_values",
    "requests_frame",
    "rows_for_issues",
]
