"""Due times at calendar boundaries, checked against the oracle's slot-by-slot working time: the due
time is the earliest instant at which exactly the remaining working time has been supplied."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from baton.scoring.live import due_times
from tests.unit.oracle.oracle import WorkCalendar
from tests.unit.scoring.worked import load_config

H = 3600.0
BERLIN = ZoneInfo("Europe/Berlin")
SHANGHAI = ZoneInfo("Asia/Shanghai")

CONFIG = load_config(
    """
version: 1
calendars:
  berlin:
    timezone: Europe/Berlin
    hours: {mon-fri: ["09:00-17:00"]}
    holidays: {country: DE, subdivision: BE}
  shanghai:
    timezone: Asia/Shanghai
    hours: {mon-fri: ["09:00-12:00", "13:00-18:00"]}
teams:
  dev: {calendar: berlin, statuses: {queue: ["Selected"], active: ["In Development"]}}
  ops: {calendar: shanghai, statuses: {queue: ["Ready to Deploy"], active: ["Deploying"]}}
processes:
  delivery:
    match: {projects: [PROJ]}
    stages: [dev, ops]
    done: ["Done"]
"""
)


def _due(team: str, now: datetime, remaining_s: float) -> pd.Timestamp:
    frame = pd.DataFrame(
        {"resolved_at": pd.Series([pd.NaT], dtype="datetime64[ns, UTC]"), "provider": [team]}
    )
    return due_times(frame, pd.Series([remaining_s]), CONFIG, now).iloc[0]


CASES = [
    # (team, now, remaining working seconds, expected due time)
    (
        "dev",
        datetime(2026, 3, 2, 15, tzinfo=BERLIN),
        2 * H,
        datetime(2026, 3, 2, 17, tzinfo=BERLIN),
    ),  # end of day
    (
        "dev",
        datetime(2026, 3, 3, 10, tzinfo=BERLIN),
        -3 * H,
        datetime(2026, 3, 2, 15, tzinfo=BERLIN),
    ),  # back over a night
    (
        "ops",
        datetime(2026, 3, 2, 11, tzinfo=SHANGHAI),
        2 * H,
        datetime(2026, 3, 2, 14, tzinfo=SHANGHAI),
    ),  # lunch break
    (
        "ops",
        datetime(2026, 3, 2, 14, tzinfo=SHANGHAI),
        -2 * H,
        datetime(2026, 3, 2, 11, tzinfo=SHANGHAI),
    ),  # lunch, backwards
    (
        "ops",
        datetime(2026, 3, 2, 11, tzinfo=SHANGHAI),
        1 * H,
        datetime(2026, 3, 2, 12, tzinfo=SHANGHAI),
    ),  # at lunch's start
    (
        "ops",
        datetime(2026, 3, 2, 12, 30, tzinfo=SHANGHAI),
        0.0,
        datetime(2026, 3, 2, 12, tzinfo=SHANGHAI),
    ),  # used up
    # Good Friday 3 April and Easter Monday 6 April 2026 are holidays in Berlin
    ("dev", datetime(2026, 4, 2, 16, tzinfo=BERLIN), 2 * H, datetime(2026, 4, 7, 10, tzinfo=BERLIN)),
    ("dev", datetime(2026, 4, 7, 10, tzinfo=BERLIN), -2 * H, datetime(2026, 4, 2, 16, tzinfo=BERLIN)),
    # clocks go forward on Sunday 29 March 2026: Monday 10:00 Berlin is 08:00 UTC, Friday's 16:00 is 15:00 UTC
    ("dev", datetime(2026, 3, 27, 16, tzinfo=BERLIN), 2 * H, datetime(2026, 3, 30, 10, tzinfo=BERLIN)),
    ("dev", datetime(2026, 3, 30, 10, tzinfo=BERLIN), -2 * H, datetime(2026, 3, 27, 16, tzinfo=BERLIN)),
]


@pytest.mark.parametrize(("team", "now", "remaining", "expected"), CASES)
def test_due_time_is_the_instant_the_goal_is_reached(
    team: str, now: datetime, remaining: float, expected: datetime
) -> None:
    due = _due(team, now, remaining)
    assert due == pd.Timestamp(expected)
    oracle = WorkCalendar(CONFIG.calendars[CONFIG.teams[team].calendar])
    instant, second = due.timestamp(), timedelta(seconds=1).total_seconds()
    if remaining > 0:
        assert oracle.working_seconds(now.timestamp(), instant) == remaining
        assert oracle.working_seconds(now.timestamp(), instant - second) < remaining
    else:
        assert oracle.working_seconds(instant, now.timestamp()) == -remaining
        assert oracle.working_seconds(instant - second, now.timestamp()) > -remaining
