"""The transition log, issue facts, statuses and derived requests on real databases; site isolation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from baton.scoring.model import (
    CREATION_CHANGE_ID,
    ISSUE_COLUMNS,
    REQUEST_COLUMNS,
    TRANSITION_COLUMNS,
    Extraction,
    IssueFacts,
    StatusInfo,
    Transition,
)
from baton.store.inbox import ensure_site
from baton.store.models import IssueRow, TransitionRow
from baton.store.requests import load_requests_frame, replace_requests
from baton.store.transitions import (
    load_issues_frame,
    load_status_categories,
    load_transitions_frame,
    record_extraction,
)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _t(issue: str, change: str, minutes: int, frm: str | None, to: str, key: str = "PROJ-1") -> Transition:
    return Transition(
        issue_id=issue,
        at=T0 + timedelta(minutes=minutes),
        from_id=None,
        from_name=frm,
        to_id=None,
        to_name=to,
        change_id=change,
        author="alice",
        issue_key=key,
    )


def _extraction(*transitions: Transition, issue: IssueFacts | None = None, statuses=()) -> Extraction:
    return Extraction(
        event="jira:issue_updated", transitions=transitions, issue=issue, statuses=tuple(statuses)
    )


def _facts(issue: str = "1", priority: str | None = "High", updated_min: int | None = 0) -> IssueFacts:
    return IssueFacts(
        issue_id=issue,
        issue_key="PROJ-1",
        project="PROJ",
        issue_type="Story",
        priority=priority,
        status_id="3",
        status_name="In Development",
        updated_at=None if updated_min is None else T0 + timedelta(minutes=updated_min),
    )


def test_the_same_change_is_stored_once(session: Session, site: str) -> None:
    extraction = _extraction(
        _t("1", CREATION_CHANGE_ID, 0, None, "To Do"), _t("1", "100", 60, "To Do", "In Development")
    )
    first = record_extraction(session, site, extraction)
    assert (first.inserted, first.duplicates, first.issue_ids) == (2, 0, ("1",))
    assert first.changed_issue_ids == ("1",)
    again = record_extraction(session, site, extraction)
    assert (again.inserted, again.duplicates, again.changed_issue_ids) == (0, 2, ())
    session.commit()
    assert session.execute(select(func.count()).select_from(TransitionRow)).scalar() == 2


def test_transitions_frame_contract(session: Session, site: str) -> None:
    record_extraction(
        session,
        site,
        _extraction(
            _t("2", "200", 30, "To Do", "In QA", "PROJ-2"),
            _t("1", "101", 90, "A", "B"),
            _t("1", "100", 60, None, "A"),
        ),
    )
    frame = load_transitions_frame(session, site)
    assert tuple(frame.columns) == TRANSITION_COLUMNS
    assert str(frame["at"].dtype) == "datetime64[ns, UTC]"
    assert list(zip(frame["issue_id"], frame["change_id"], strict=True)) == [
        ("1", "100"),
        ("1", "101"),
        ("2", "200"),
    ]
    assert frame.loc[0, "from_name"] is None
    only_two = load_transitions_frame(session, site, ["2"])
    assert list(only_two["change_id"]) == ["200"]
    empty = load_transitions_frame(session, site, ["nope"])
    assert empty.empty and tuple(empty.columns) == TRANSITION_COLUMNS
    assert str(empty["at"].dtype) == "datetime64[ns, UTC]"


def test_issue_facts_newest_wins_and_gaps_never_erase(session: Session, site: str) -> None:
    record_extraction(session, site, _extraction(issue=_facts(priority="High", updated_min=10)))
    record_extraction(session, site, _extraction(issue=_facts(priority="Low", updated_min=5)))  # late, older
    session.commit()
    assert session.get(IssueRow, (site, "1"), populate_existing=True).priority == "High"
    record_extraction(session, site, _extraction(issue=_facts(priority=None, updated_min=20)))
    session.commit()
    row = session.get(IssueRow, (site, "1"), populate_existing=True)
    assert row.priority == "High" and row.updated_at == T0 + timedelta(minutes=20)
    # a copy without a timestamp (a comment event's snapshot) only fills gaps, never overrides
    record_extraction(session, site, _extraction(issue=_facts(priority="Lowest", updated_min=None)))
    session.commit()
    assert session.get(IssueRow, (site, "1"), populate_existing=True).priority == "High"
    frame = load_issues_frame(session, site)
    assert tuple(frame.columns) == ISSUE_COLUMNS
    assert frame.to_dict("records") == [
        {"issue_id": "1", "issue_key": "PROJ-1", "project": "PROJ", "issue_type": "Story", "priority": "High"}
    ]


def test_fact_change_of_an_issue_with_a_log_asks_for_rederivation(session: Session, site: str) -> None:
    record_extraction(session, site, _extraction(_t("1", "100", 0, None, "A"), issue=_facts(updated_min=0)))
    unchanged = record_extraction(session, site, _extraction(issue=_facts(updated_min=1)))
    assert unchanged.changed_issue_ids == ()
    changed = record_extraction(session, site, _extraction(issue=_facts(priority="Low", updated_min=2)))
    assert changed.changed_issue_ids == ("1",)
    no_log = record_extraction(session, site, _extraction(issue=_facts(issue="9", priority="Low")))
    assert no_log.changed_issue_ids == ()  # nothing to derive for an issue without transitions


def test_issue_known_only_from_transitions_gets_a_fact_row(session: Session, site: str) -> None:
    record_extraction(session, site, _extraction(_t("7", "1", 0, None, "A", key="PROJ-7")))
    session.commit()
    assert load_issues_frame(session, site).to_dict("records") == [
        {"issue_id": "7", "issue_key": "PROJ-7", "project": None, "issue_type": None, "priority": None}
    ]


def test_status_categories_are_keyed_like_ownership(session: Session, site: str) -> None:
    statuses = [StatusInfo("10002", "Done", "done"), StatusInfo(None, "  Ready  for QA ", "new")]
    record_extraction(session, site, _extraction(statuses=statuses))
    record_extraction(session, site, _extraction(statuses=[StatusInfo("10002", "Done", None)]))  # no erase
    session.commit()
    assert load_status_categories(session, site) == {
        "id:10002": "done",
        "name:done": "done",
        "name:ready for qa": "new",
    }


def _requests_frame(issue: str, n: int) -> pd.DataFrame:
    rows = []
    for seq in range(n):
        rows.append(
            {
                "issue_id": issue,
                "issue_key": f"PROJ-{issue}",
                "seq": seq,
                "process": "delivery",
                "provider": "qa",
                "requester": None if seq == 0 else "dev",
                "kind": "new",
                "opened_at": pd.Timestamp(T0 + timedelta(hours=seq)),
                "first_response_at": pd.NaT,
                "resolved_at": pd.Timestamp(T0 + timedelta(hours=seq + 1)) if seq < n - 1 else pd.NaT,
                "outcome": "delivered" if seq < n - 1 else None,
                "rejected": seq == 0,
                "rejected_at": pd.NaT,
                "from_status": "In Development",
                "to_status": "Ready for QA",
                "issue_type": "Story",
                "priority": "High",
                "response_goal_s": 14400.0,
                "resolution_goal_s": float("nan"),
                "at_risk_ratio": 0.75,
                "response_elapsed_s": 100.0,
                "resolution_elapsed_s": 200.0,
                "clock_at": pd.Timestamp(T0 + timedelta(days=1)),
                "paused": False,
            }
        )
    frame = pd.DataFrame(rows, columns=list(REQUEST_COLUMNS))
    for col in ("opened_at", "first_response_at", "resolved_at", "rejected_at", "clock_at"):
        frame[col] = pd.to_datetime(frame[col], utc=True)
    return frame


def test_replace_and_load_requests(session: Session, site: str) -> None:
    replace_requests(session, site, ["1", "2"], pd.concat([_requests_frame("1", 3), _requests_frame("2", 1)]))
    session.commit()
    frame = load_requests_frame(session, site)
    assert list(frame.columns) == [*REQUEST_COLUMNS, "site_id"]
    assert len(frame) == 4 and set(frame["site_id"]) == {site}
    assert str(frame["opened_at"].dtype) == "datetime64[ns, UTC]"
    first = frame.iloc[0]
    assert first["requester"] is None and bool(first["rejected"]) is True
    assert first["response_goal_s"] == 14400.0 and pd.isna(first["resolution_goal_s"])
    assert len(load_requests_frame(session, site, open_only=True)) == 2
    assert len(load_requests_frame(session, site, provider="dev")) == 0
    late = load_requests_frame(session, site, since=T0 + timedelta(hours=2, minutes=30))
    assert list(zip(late["issue_id"], late["seq"], strict=True)) == [("1", 2), ("2", 0)]
    early = load_requests_frame(session, site, until=T0 + timedelta(minutes=30))
    assert list(zip(early["issue_id"], early["seq"], strict=True)) == [("1", 0), ("2", 0)]

    replace_requests(session, site, ["1"], _requests_frame("1", 1))  # re-derived: fewer requests now
    session.commit()
    frame = load_requests_frame(session, site)
    assert sorted(zip(frame["issue_id"], frame["seq"], strict=True)) == [("1", 0), ("2", 0)]
    replace_requests(session, site, ["2"], _requests_frame("1", 5))  # rows of other issues are ignored
    session.commit()
    assert list(load_requests_frame(session, site)["issue_id"]) == ["1"]


def test_sites_never_see_each_other(session: Session) -> None:
    for site in ("a", "b"):
        ensure_site(session, site)
    record_extraction(
        session,
        "a",
        _extraction(
            _t("1", "100", 0, None, "In QA"), issue=_facts(), statuses=[StatusInfo("1", "In QA", "new")]
        ),
    )
    record_extraction(
        session, "b", _extraction(_t("1", "100", 5, None, "Elsewhere"), issue=_facts(priority="Low"))
    )
    replace_requests(session, "a", ["1"], _requests_frame("1", 2))
    replace_requests(session, "b", ["1"], _requests_frame("1", 1))
    session.commit()
    assert list(load_transitions_frame(session, "a")["to_name"]) == ["In QA"]
    assert list(load_transitions_frame(session, "b")["to_name"]) == ["Elsewhere"]
    assert list(load_issues_frame(session, "b")["priority"]) == ["Low"]
    assert load_status_categories(session, "b") == {}
    assert len(load_requests_frame(session, "a")) == 2
    assert len(load_requests_frame(session, "b")) == 1
    assert load_transitions_frame(session, "c").empty and load_requests_frame(session, "c").empty
