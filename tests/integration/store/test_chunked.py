"""`baton.store.chunked`: a site's issues in runs and chunks by id (what a preview spreads over
processes and reads a chunk at a time, issue 15). SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import insert
from sqlalchemy.orm import Session

from baton.store.chunked import issue_chunks, split_ids
from baton.store.inbox import ensure_site_exists
from baton.store.models import IssueRow

pytestmark = pytest.mark.postgres

IDS = [f"{n:03d}" for n in range(10)]


def _issues(session: Session, site: str, ids: list[str]) -> None:
    ensure_site_exists(session, site)
    session.execute(insert(IssueRow), [{"site_id": site, "issue_id": i, "issue_key": f"P-{i}"} for i in ids])
    session.flush()


def test_runs_of_about_as_many_issues_none_shorter_than_asked(session: Session) -> None:
    _issues(session, "acme", IDS)
    _issues(session, "other", ["000", "001", "002", "003", "004", "005"])  # never counted with acme's
    assert split_ids(session, "acme", 2) == ["004"]  # 000-004 | 005-009
    assert split_ids(session, "acme", 3) == ["002", "005"]  # 000-002 | 003-005 | 006-009
    assert split_ids(session, "acme", 3, at_least=4) == ["004"]  # 10 issues: two runs of 4 or more
    assert split_ids(session, "acme", 3, at_least=11) == []
    assert split_ids(session, "acme", 1) == []
    assert split_ids(session, "acme", 20) == IDS[:-1]  # at most one run per issue
    assert split_ids(session, "empty", 4) == []


def test_chunks_of_a_run_cover_it_exactly(session: Session) -> None:
    _issues(session, "acme", IDS)
    cuts = split_ids(session, "acme", 3)
    bounds = list(zip([None, *cuts], [*cuts, None], strict=True))
    runs = [
        [c.issue_ids for c in issue_chunks(session, "acme", 2, transitions=False, after=lo, upto=hi)]
        for lo, hi in bounds
    ]
    assert runs == [[["000", "001"], ["002"]], [["003", "004"], ["005"]], [["006", "007"], ["008", "009"]]]
    assert [i for run in runs for chunk in run for i in chunk] == IDS
