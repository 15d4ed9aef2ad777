"""Goals (first matching SLA row) and clock states as of `now`, with exact numbers."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from baton.scoring import engine
from tests.unit.scoring.worked import berlin, issues, load_config, transitions

H = 3600.0

CONFIG = load_config(
    """
version: 1
calendars:
  berlin: {timezone: Europe/Berlin, hours: {mon-fri: ["09:00-17:00"]}}
  always: 24x7
teams:
  dev: {calendar: berlin, statuses: {queue: ["Selected"], active: ["In Development"]}}
  qa:  {calendar: berlin, statuses: {queue: ["Ready for QA"], active: ["In QA"]}}
  ops: {calendar: always, statuses: {queue: [{id: "77"}], active: ["Deploying"]}}
processes:
  delivery:
    match: {projects: [PROJ]}
    stages: [dev, qa]
    pause: ["Blocked"]
    done: ["Done"]
    unmapped_goal: {response: 1h, resolution: 2h}
    sla:
      - {provider: qa, when: {priority: [highest], issue_type: [bug]}, response: 1h, resolution: 9h}
      - {provider: qa, requester: dev, response: 4h, resolution: 16h, rework: 8h}
      - {provider: dev, requester: qa, rework: 8h}
      - {provider: dev, requester: done, rework: 4h, at_risk: 0.5}
"""
)


def derive(steps: list, priority: str = "Medium", issue_type: str = "Story") -> pd.DataFrame:
    facts = issues()
    facts["priority"] = priority
    facts["issue_type"] = issue_type
    return engine.derive_requests(transitions(steps), facts, CONFIG)


STEPS = [
    (berlin(2, 9), "Selected", "In Development"),  # dev queue -> active: no request is open (mid-way log)
    (berlin(2, 9), "To Do", "Selected"),  # intake at dev (queue)
]


def test_first_matching_row_by_priority_and_type() -> None:
    steps = [(berlin(2, 9), None, "In Development"), (berlin(2, 10), "In Development", "Ready for QA")]
    plain = derive(steps)
    urgent = derive(steps, priority="Highest", issue_type="Bug")
    assert (plain.iloc[1]["response_goal_s"], plain.iloc[1]["resolution_goal_s"]) == (4 * H, 16 * H)
    assert (urgent.iloc[1]["response_goal_s"], urgent.iloc[1]["resolution_goal_s"]) == (1 * H, 9 * H)
    # dev's intake request: the dev rows all name a requester, intake has none -> no goal
    assert math.isnan(plain.iloc[0]["resolution_goal_s"])


def test_rework_goals_and_requester_rows() -> None:
    steps = [
        (berlin(2, 9), None, "In Development"),
        (berlin(2, 10), "In Development", "Ready for QA"),
        (berlin(2, 11), "Ready for QA", "In QA"),
        (berlin(2, 12), "In QA", "In Development"),  # return: rework at dev, requester qa
        (berlin(2, 13), "In Development", "Ready for QA"),
        (berlin(2, 14), "Ready for QA", "Done"),
        (berlin(3, 9), "Done", "In Development"),  # reopen: rework at dev, requester done
    ]
    frame = derive(steps)
    got = [(r["provider"], r["kind"], r["requester"]) for r in frame.to_dict("records")]
    assert got == [
        ("dev", "new", None),
        ("qa", "new", "dev"),
        ("dev", "rework", "qa"),
        ("qa", "new", "dev"),
        ("dev", "rework", "done"),
    ]
    rework = frame.iloc[2]
    assert math.isnan(rework["response_goal_s"]) and rework["resolution_goal_s"] == 8 * H
    reopened = frame.iloc[4]
    assert reopened["resolution_goal_s"] == 4 * H and reopened["at_risk_ratio"] == 0.5
    # Q2 answered straight from the queue by going to done: first response = resolution
    assert frame.iloc[3]["first_response_at"] == frame.iloc[3]["resolved_at"]


def test_unmapped_goal_and_status_by_id() -> None:
    steps = [
        (berlin(2, 9), None, "In Development"),
        (berlin(2, 10), "In Development", "Ready to Deploy"),
    ]
    frame = transitions(steps)
    frame.loc[1, "to_id"] = "77"  # ops owns status id 77, whatever its name
    derived = engine.derive_requests(frame, issues(), CONFIG)
    ops = derived.iloc[1]
    assert (ops["provider"], ops["kind"], ops["requester"]) == ("ops", "unmapped", "dev")
    assert (ops["response_goal_s"], ops["resolution_goal_s"]) == (1 * H, 2 * H)
    # ops is on a 24x7 calendar: at Monday 11:30 the open unmapped request has run 1.5h of 2h
    clocked = engine.evaluate_clocks(derived, CONFIG, berlin(2, 11, 30)).iloc[1]
    assert clocked["resolution_elapsed_s"] == 1.5 * H
    assert (clocked["response_state"], clocked["resolution_state"]) == ("breached", "at_risk")


@pytest.mark.parametrize(
    ("now", "elapsed", "state"),
    [
        (berlin(2, 16), 6 * H, "running"),
        (berlin(3, 14), 12 * H, "at_risk"),  # 0.75 x 16h: Mon 10-17 + Tue 9-14
        (berlin(4, 10), 16 * H, "breached"),  # exactly the goal: used up, breached (issue 16 item 5)
        (berlin(4, 10, 1), 16 * H + 60, "breached"),
    ],
)
def test_open_clock_states_as_time_passes(now: object, elapsed: float, state: str) -> None:
    steps = [(berlin(2, 9), None, "In Development"), (berlin(2, 10), "In Development", "Ready for QA")]
    clocked = engine.evaluate_clocks(derive(steps), CONFIG, now).iloc[1]  # type: ignore[arg-type]
    assert clocked["resolution_elapsed_s"] == elapsed
    assert clocked["resolution_state"] == state


def test_paused_open_request_does_not_run() -> None:
    steps = [
        (berlin(2, 9), None, "In Development"),
        (berlin(2, 10), "In Development", "Ready for QA"),
        (berlin(2, 12), "Ready for QA", "Blocked"),
    ]
    derived = derive(steps)
    q = engine.evaluate_clocks(derived, CONFIG, berlin(6, 12)).iloc[1]
    assert bool(q["paused"]) and q["resolution_elapsed_s"] == 2 * H and q["resolution_state"] == "running"
    # the response clock stops with the pause too
    assert q["response_elapsed_s"] == 2 * H
    resumed = derive([*steps, (berlin(3, 12), "Blocked", "In QA")])  # leaving the pause from the queue
    q2 = engine.evaluate_clocks(resumed, CONFIG, berlin(3, 12)).iloc[1]
    assert pd.Timestamp(q2["first_response_at"]) == pd.Timestamp(berlin(3, 12))
    assert q2["response_elapsed_s"] == 2 * H and q2["response_state"] == "met"


def test_open_scorecard_counts() -> None:
    steps = [(berlin(2, 9), None, "In Development"), (berlin(2, 10), "In Development", "Ready for QA")]
    cards = engine.scorecards(derive(steps), CONFIG, berlin(4, 12))
    qa = cards[cards["team"] == "qa"].iloc[0]
    assert (qa["period"], qa["open_breached"], qa["open_at_risk"], qa["resolved"]) == ("2026-W10", 1, 0, 0)
    matrix = engine.handoff_matrix(derive(steps), CONFIG, berlin(4, 12))
    assert matrix.to_dict("records")[0]["requester"] == "dev"


def test_resolved_request_without_first_response_stops_its_response_clock_at_resolution() -> None:
    # a log with a gap: qa's queue, then no record of reaching Done, then Done -> In Development (a
    # reopen) ends qa's request as returned before it ever showed a first response
    steps = [
        (berlin(2, 9), None, "In Development"),
        (berlin(2, 10), "In Development", "Ready for QA"),
        (berlin(2, 12), "Done", "In Development"),
    ]
    qa = engine.evaluate_clocks(derive(steps), CONFIG, berlin(20, 10)).iloc[1]
    assert (qa["provider"], qa["outcome"]) == ("qa", "returned")
    assert qa["first_response_at"] is pd.NaT
    assert qa["resolved_at"] == pd.Timestamp(berlin(2, 12))
    assert (qa["response_elapsed_s"], qa["resolution_elapsed_s"]) == (2 * H, 2 * H)
    assert (qa["response_state"], qa["resolution_state"]) == ("met", "met")
