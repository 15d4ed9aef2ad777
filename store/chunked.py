"""A site's transition log, read a chunk of issues at a time (preview and re-derivation, issue 15).

`issue_chunks` pages through the site's issues by key (issue id order, `issue_id > last`), and each chunk's
transitions, facts and verdicts are read with one range query each over the (site, issue) indexes. Whatever
the size of the site, one chunk is in memory at a time.

The reads go through the driver's cursor (`baton.store.sqlutil.driver_rows`) and are turned into frames a
column at a time: at a million transitions SQLAlchemy's result rows and per-value type processing cost
more than the queries. On SQLite the stored instants (`YYYY-MM-DD HH:MM:SS.ffffff` text, UTC) are parsed
in one vectorised call.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from baton.scoring.model import DERIVED_FROM_COLUMNS, ISSUE_COLUMNS, Verdict
from baton.store.models import IssueRow, TransitionRow
from baton.store.sqlutil import chunks, dialect_name, driver_rows
from baton.store.verdicts import load_verdicts_between

DEFAULT_CHUNK = 5000
"""Issues per chunk: about 50,000 transitions of simulated history, tens of MB of frames."""


@dataclass(frozen=True)
class IssueChunk:
    issue_ids: list[str]
    transitions: pd.DataFrame
    issues: pd.DataFrame
    verdicts: list[Verdict] = field(default_factory=list)
    """The chunk's verdicts, in recording order."""
    transition_count: int = -1
    """Transitions of the chunk's issues (counted in the database when they were not read)."""

    @property
    def first(self) -> str:
        return self.issue_ids[0]

    @property
    def last(self) -> str:
        return self.issue_ids[-1]


def object_columns(
    rows: Sequence[tuple[Any, ...]], width: int
) -> list[np.ndarray[Any, np.dtype[np.object_]]]:
    """The driver's rows as `width` object arrays, one per column (None stays None): one 2-D object array
    built in C, then a view per column (a third of the cost of transposing with `zip`)."""
    if not rows:
        return [np.empty(0, dtype=object) for _ in range(width)]
    table = np.empty((len(rows), width), dtype=object)
    table[:] = rows
    return [table[:, i] for i in range(width)]


def utc_instants(values: np.ndarray[Any, np.dtype[np.object_]], sqlite: bool) -> pd.Series:
    """Stored instants as datetime64[ns, UTC] (SQLite: parsed from its text in one call; None -> NaT)."""
    text = pd.Series(values, dtype=object, copy=False)
    parsed = pd.to_datetime(text, utc=True, format="ISO8601" if sqlite else None)
    return pd.Series(pd.DatetimeIndex(parsed).as_unit("ns"), copy=False)


def _transitions_frame(rows: Sequence[tuple[Any, ...]], sqlite: bool) -> pd.DataFrame:
    """DERIVED_FROM_COLUMNS from the driver's rows; `at` as datetime64[ns, UTC]."""
    columns = object_columns(rows, len(DERIVED_FROM_COLUMNS))
    data: dict[str, Any] = {
        name: pd.Series(values, dtype=object, copy=False)
        for name, values in zip(DERIVED_FROM_COLUMNS, columns, strict=True)
    }
    data["at"] = utc_instants(columns[DERIVED_FROM_COLUMNS.index("at")], sqlite)
    return pd.DataFrame(data, columns=list(DERIVED_FROM_COLUMNS))


def _issues_frame(rows: Sequence[tuple[Any, ...]]) -> pd.DataFrame:
    columns = object_columns(rows, len(ISSUE_COLUMNS))
    return pd.DataFrame(
        {
            name: pd.Series(values, dtype=object, copy=False)
            for name, values in zip(ISSUE_COLUMNS, columns, strict=True)
        },
        columns=list(ISSUE_COLUMNS),
    )


_IDS = f"SELECT issue_id FROM {IssueRow.__tablename__} WHERE site_id = ?"
_TRANSITIONS = (
    f"SELECT {', '.join(DERIVED_FROM_COLUMNS)} FROM {TransitionRow.__tablename__} "
    "WHERE site_id = ? AND issue_id >= ? AND issue_id <= ? ORDER BY issue_id"
)
_COUNT = f"SELECT count(*) FROM {TransitionRow.__tablename__} WHERE site_id = ? AND issue_id >= ? AND issue_id <= ?"
_ISSUES = (
    f"SELECT {', '.join(ISSUE_COLUMNS)} FROM {IssueRow.__tablename__} "
    "WHERE site_id = ? AND issue_id >= ? AND issue_id <= ? ORDER BY issue_id"
)


def chunk_ids(
    session: Session, site_id: str, after: str | None, chunk_size: int, upto: str | None = None
) -> list[str]:
    """The next `chunk_size` issue ids of the site after `after` (None: from the first) and up to `upto`
    (None: to the last), in id order."""
    sql, params = _IDS, [site_id]
    if after is not None:
        sql, params = f"{sql} AND issue_id > ?", [*params, after]
    if upto is not None:
        sql, params = f"{sql} AND issue_id <= ?", [*params, upto]
    rows = driver_rows(session, f"{sql} ORDER BY issue_id LIMIT ?", (*params, chunk_size))
    return [str(r[0]) for r in rows]


def split_ids(session: Session, site_id: str, parts: int, *, at_least: int = 1) -> list[str]:
    """Issue ids that cut the site into `parts` runs of about as many issues, in id order: the last id
    of each run but the last. Fewer runs when the site has fewer than `parts * at_least` issues: no run
    is shorter than `at_least` (none at all: one run, the whole site)."""
    counted = driver_rows(
        session, f"SELECT count(*) FROM {IssueRow.__tablename__} WHERE site_id = ?", (site_id,)
    )
    total = int(counted[0][0])
    parts = max(1, min(parts, total // max(1, at_least)))
    cuts: list[str] = []
    for part in range(1, parts):  # parts <= total: each offset is past the one before
        offset = part * total // parts - 1
        rows = driver_rows(session, f"{_IDS} ORDER BY issue_id LIMIT 1 OFFSET ?", (site_id, offset))
        if rows:  # (an issue can only be added meanwhile: the site's last runs a little longer)
            cuts.append(str(rows[0][0]))
    return cuts


def issue_chunks(
    session: Session,
    site_id: str,
    chunk_size: int = DEFAULT_CHUNK,
    *,
    transitions: bool = True,
    after: str | None = None,
    upto: str | None = None,
) -> Iterator[IssueChunk]:
    """The site's issues in id order (those after `after` and up to `upto` when given), `chunk_size` at
    a time, each with its facts, verdicts and (unless `transitions=False`: then only their count;
    `transitions_of` reads some issues' later) transitions."""
    sqlite = dialect_name(session) == "sqlite"
    last = after
    while True:
        ids = chunk_ids(session, site_id, last, chunk_size, upto)
        if not ids:
            return
        first, last = ids[0], ids[-1]
        if transitions:
            log = _transitions_frame(driver_rows(session, _TRANSITIONS, (site_id, first, last)), sqlite)
            count = len(log)
        else:
            log = _transitions_frame([], sqlite)
            count = int(driver_rows(session, _COUNT, (site_id, first, last))[0][0])
        issues = _issues_frame(driver_rows(session, _ISSUES, (site_id, first, last)))
        verdicts = load_verdicts_between(session, site_id, first, last)
        yield IssueChunk(ids, log, issues, verdicts, count)
        if len(ids) < chunk_size:
            return


def transitions_of(session: Session, site_id: str, issue_ids: Sequence[str]) -> pd.DataFrame:
    """The transitions of some issues (DERIVED_FROM_COLUMNS), `CHUNK` ids per query."""
    sqlite = dialect_name(session) == "sqlite"
    rows: list[tuple[Any, ...]] = []
    for batch in chunks(issue_ids):
        marks = ", ".join("?" for _ in batch)
        rows.extend(
            driver_rows(
                session,
                f"SELECT {', '.join(DERIVED_FROM_COLUMNS)} FROM {TransitionRow.__tablename__} "
                f"WHERE site_id = ? AND issue_id IN ({marks})",
                (site_id, *batch),
            )
        )
    return _transitions_frame(rows, sqlite)


__all__ = [
    "DEFAULT_CHUNK",
    "IssueChunk",
    "chunk_ids",
    "issue_chunks",
    "object_columns",
    "split_ids",
    "transitions_of",
    "utc_instants",
]
