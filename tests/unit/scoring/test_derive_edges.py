"""Logs that do not start at creation, skip statuses or tie in time (docs/semantics.md readings)."""

from __future__ import annotations

import pandas as pd

from baton.scoring import engine
from tests.unit.scoring.worked import CONFIG, berlin, issues, transitions


def derive(steps: list, **changes: object) -> pd.DataFrame:
    frame = transitions(steps)
    for column, values in changes.items():
        frame[column] = values
    return engine.derive_requests(frame, issues(), CONFIG)


def summary(frame: pd.DataFrame) -> list[tuple[object, ...]]:
    return [(r["provider"], r["kind"], r["requester"], r["outcome"]) for r in frame.to_dict("records")]


def test_midway_log_inside_a_team_opens_nothing() -> None:
    assert derive([(berlin(2, 10), "In QA", "Ready for QA")]).empty


def test_creation_into_a_team_is_intake() -> None:
    frame = derive([(berlin(2, 10), None, "Ready for QA")], change_id=["created"])
    assert summary(frame) == [("qa", "new", None, None)]
    assert pd.isna(frame.iloc[0]["first_response_at"])  # opened in a queue status


def test_leaving_a_pause_with_nothing_before_it_is_intake() -> None:
    frame = derive([(berlin(2, 10), "Blocked", "In Development")])
    assert summary(frame) == [("dev", "new", None, None)]


def test_transition_to_no_status_changes_nothing() -> None:
    frame = derive([(berlin(2, 10), "To Do", "In Development"), (berlin(2, 11), "In Development", None)])
    assert summary(frame) == [("dev", "new", None, None)]


def test_intake_while_a_request_is_open_releases_it() -> None:
    # An inconsistent log (the second `from` is not the first `to`): at most one request stays open.
    frame = derive([(berlin(2, 10), "To Do", "In Development"), (berlin(2, 11), "To Do", "Ready for QA")])
    assert summary(frame) == [("dev", "new", None, "released"), ("qa", "new", None, None)]


def test_done_to_done_and_unowned_to_done() -> None:
    frame = derive(
        [
            (berlin(2, 10), "To Do", "In Development"),
            (berlin(2, 11), "In Development", "Done"),
            (berlin(2, 12), "Done", "Done"),
        ]
    )
    assert summary(frame) == [("dev", "new", None, "delivered")]


def test_same_instant_orders_by_creation_then_change_id_as_numbers() -> None:
    at = berlin(2, 10)
    steps = [
        (at, "In Development", "Ready for QA"),
        (at, None, "In Development"),
        (at, "Ready for QA", "In QA"),
    ]
    # created, then 9 (dev -> qa), then 10 (qa responds); as text "10" would come before "9"
    frame = derive(steps, change_id=["9", "created", "10"])
    assert summary(frame) == [("dev", "new", None, "delivered"), ("qa", "new", "dev", None)]
    assert pd.Timestamp(frame.iloc[1]["first_response_at"]) == pd.Timestamp(at)
    # the same rows in another input order, with a duplicate, give the same requests
    again = derive([steps[2], steps[0], steps[1], steps[0]], change_id=["10", "9", "created", "9"])
    pd.testing.assert_frame_equal(frame, again)


def test_status_names_match_case_and_spacing_insensitively() -> None:
    frame = derive(
        [(berlin(2, 10), "to do", "  in   DEVELOPMENT "), (berlin(2, 11), "In Development", "READY for qa")]
    )
    assert summary(frame) == [("dev", "new", None, "delivered"), ("qa", "new", "dev", None)]
    assert frame.iloc[1]["to_status"] == "READY for qa"  # the names as Jira sent them


def test_several_issues_come_out_ordered_by_issue_id() -> None:
    steps = [(berlin(2, 10), "To Do", "In Development")]
    frame = pd.concat([transitions(steps, "20"), transitions(steps, "10"), transitions(steps, "3")])
    derived = engine.derive_requests(frame, issues(["3", "10", "20"]), CONFIG)
    assert derived["issue_id"].tolist() == ["10", "20", "3"]
    assert derived["issue_key"].tolist() == ["PROJ-2", "PROJ-3", "PROJ-1"]
    assert derived["seq"].tolist() == [0, 0, 0]
