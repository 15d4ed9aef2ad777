"""A site's transition log, read a chunk of issues at a time (preview and re-derivation, issue 15).

`issue_chunks` pages through the site's issues by key (issue id order, `issue_id > last`), and each chunk's
transitions and facts are read with one range query each over the (site, issue) index. Whatever the size
of the site, one chunk is in memory at a time.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from baton.scoring.model import ISSUE_COLUMNS, TRANSITION_COLUMNS
from baton.store.models import IssueRow, TransitionRow
from baton.store.transitions import _frame

DEFAULT_CHUNK = 2000
"""Issues per chunk: about 20,000 transitions of simulated history, a few MB of frames."""


@dataclass(frozen=True)
class IssueChunk:
    issue_ids: list[str]
    transitions: pd.DataFrame
    issues: pd.DataFrame


def issue_chunks(session: Session, site_id: str, chunk_size: int = DEFAULT_CHUNK) -> Iterator[IssueChunk]:
    """The site's issues in id order, `chunk_size` at a time, each with its transitions and facts."""
    last: str | None = None
    while True:
        stmt = select(IssueRow.issue_id).where(IssueRow.site_id == site_id)
        if last is not None:
            stmt = stmt.where(IssueRow.issue_id > last)
        ids = list(session.execute(stmt.order_by(IssueRow.issue_id).limit(chunk_size)).scalars())
        if not ids:
            return
        first, last = ids[0], ids[-1]
        t_stmt = (
            select(*(getattr(TransitionRow, c) for c in TRANSITION_COLUMNS))
            .where(
                TransitionRow.site_id == site_id,
                TransitionRow.issue_id >= first,
                TransitionRow.issue_id <= last,
            )
            .order_by(TransitionRow.issue_id, TransitionRow.at, TransitionRow.change_id)
        )
        i_stmt = (
            select(*(getattr(IssueRow, c) for c in ISSUE_COLUMNS))
            .where(IssueRow.site_id == site_id, IssueRow.issue_id >= first, IssueRow.issue_id <= last)
            .order_by(IssueRow.issue_id)
        )
        transitions = _frame(
            [tuple(r) for r in session.execute(t_stmt)], TRANSITION_COLUMNS, datetimes=("at",)
        )
        issues = _frame([tuple(r) for r in session.execute(i_stmt)], ISSUE_COLUMNS)
        yield IssueChunk(ids, transitions, issues)
        if len(ids) < chunk_size:
            return


__all__ = ["DEFAULT_CHUNK", "IssueChunk", "issue_chunks"]
