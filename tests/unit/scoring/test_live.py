"""Live clock figures (state, remaining working time, due time) and period windows, with exact values."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pandas as pd

from baton.scoring import engine
from tests.unit.scoring.test_clocks import CONFIG, derive
from tests.unit.scoring.worked import berlin

H = 3600.0

# qa's new request (requester dev: response 4 h, resolution 16 h) opens Monday 2 March 10:00 Berlin;
# Berlin works Monday to Friday 09:00-17:00.
OPEN_AT_QA = [
    (berlin(2, 9), None, "In Development"),
    (berlin(2, 10), "In Development", "Ready for QA"),
]


def _live(steps: list, now: datetime) -> pd.DataFrame:
    return engine.live_clocks(engine.evaluate_clocks(derive(steps), CONFIG, now), CONFIG, now)


def test_open_request_due_later_this_week() -> None:
    qa = _live(OPEN_AT_QA, berlin(2, 12)).iloc[1]
    assert (qa["provider"], qa["state"]) == ("qa", "running")
    assert qa["remaining_s"] == 14 * H
    # 14 working hours from Monday 12:00: 5 on Monday, 8 on Tuesday, 1 on Wednesday
    assert qa["due_at"] == pd.Timestamp(berlin(4, 10))


def test_due_time_of_a_breached_request_is_found_backwards() -> None:
    qa = _live(OPEN_AT_QA, berlin(5, 12)).iloc[1]
    assert qa["state"] == "breached"
    assert qa["remaining_s"] == 16 * H - (7 + 8 + 8 + 3) * H
    assert qa["due_at"] == pd.Timestamp(berlin(4, 10))


def test_goal_reached_at_the_end_of_a_day_is_due_then_not_next_morning() -> None:
    # from Monday 09:00, 16 working hours are Monday's 8 and Tuesday's 8: due Tuesday 17:00, the instant
    # the goal is reached, not Wednesday 09:00 when the clock next moves
    steps = [(berlin(2, 8), None, "In Development"), (berlin(2, 9), "In Development", "Ready for QA")]
    qa = _live(steps, berlin(2, 9)).iloc[1]
    assert qa["remaining_s"] == 16 * H
    assert qa["due_at"] == pd.Timestamp(berlin(3, 17))


def test_resolved_request_has_no_remaining_time_nor_due_time() -> None:
    steps = [*OPEN_AT_QA, (berlin(2, 11), "Ready for QA", "Done")]
    qa = _live(steps, berlin(5, 12)).iloc[1]
    assert (qa["state"], qa["resolution_state"]) == ("met", "met")
    assert math.isnan(qa["remaining_s"])
    assert qa["due_at"] is pd.NaT


def test_request_without_resolution_goal_shows_its_response_clock() -> None:
    # dev's intake request: no SLA row for intake at dev, so neither clock has a goal
    dev = _live(OPEN_AT_QA[:1], berlin(2, 12)).iloc[0]
    assert (dev["provider"], dev["state"], dev["response_state"]) == ("dev", "none", "none")
    assert math.isnan(dev["remaining_s"])
    assert dev["due_at"] is pd.NaT


def test_live_state_and_remaining_without_the_due_search() -> None:
    frame = engine.evaluate_clocks(derive(OPEN_AT_QA), CONFIG, berlin(2, 12))
    assert engine.live_state(frame).tolist() == ["none", "running"]
    remaining = engine.remaining_working_s(frame).tolist()
    assert math.isnan(remaining[0]) and remaining[1] == 14 * H


def test_recent_period_labels_weeks_and_months_in_the_scoring_zone() -> None:
    now = datetime(2026, 3, 18, 12, tzinfo=UTC)
    assert engine.recent_period_labels(now, "week", 3, "Europe/Berlin") == [
        "2026-W10",
        "2026-W11",
        "2026-W12",
    ]
    # 23:30 UTC on 28 February is already March in Berlin
    late = datetime(2026, 2, 28, 23, 30, tzinfo=UTC)
    assert engine.recent_period_labels(late, "month", 3, "Europe/Berlin") == ["2026-01", "2026-02", "2026-03"]
    assert engine.recent_period_labels(late, "month", 1, "UTC") == ["2026-02"]


def test_first_period_start_is_two_days_before_the_first_period() -> None:
    now = datetime(2026, 3, 18, 12, tzinfo=UTC)
    # week 11 starts Monday 9 March 00:00 Berlin (23:00 UTC the day before)
    assert engine.first_period_start(now, "week", 2, "Europe/Berlin") == datetime(2026, 3, 6, 23, tzinfo=UTC)
    # February starts 1 February 00:00 Berlin
    assert engine.first_period_start(now, "month", 2, "Europe/Berlin") == datetime(
        2026, 1, 29, 23, tzinfo=UTC
    )


def test_running_clock_that_used_its_whole_goal_is_breached_and_due_when_it_was_reached() -> None:
    # from Monday 09:00 the 16-hour goal is used up at Tuesday 17:00; overnight nothing moves
    steps = [(berlin(2, 8), None, "In Development"), (berlin(2, 9), "In Development", "Ready for QA")]
    for now in (berlin(3, 17), berlin(4, 8, 59)):
        qa = _live(steps, now).iloc[1]
        assert (qa["resolution_state"], qa["state"], qa["remaining_s"]) == ("breached", "breached", 0.0)
        assert qa["due_at"] == pd.Timestamp(berlin(3, 17))
