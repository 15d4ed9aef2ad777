"""Business calendars: exact figures for DST, holidays, lunch breaks, extras; a per-minute reference."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import holidays as holidays_pkg
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from baton.config.schema import WEEKDAYS, Calendar
from baton.scoring.calendar import BusinessCalendar, business_calendar

H = 3600.0
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
SHANGHAI = ZoneInfo("Asia/Shanghai")


def cal(timezone: str, hours: dict[str, list[str]], **holidays: object) -> BusinessCalendar:
    return BusinessCalendar(
        Calendar.model_validate({"timezone": timezone, "hours": hours, "holidays": holidays})
    )


ALL_DAY_BERLIN = cal("Europe/Berlin", {"mon-sun": ["00:00-24:00"]})
ALL_DAY_NY = cal("America/New_York", {"mon-sun": ["00:00-24:00"]})
OFFICE_BERLIN = cal("Europe/Berlin", {"mon-fri": ["09:00-17:00"]})
OFFICE_NY = cal("America/New_York", {"mon-fri": ["08:00-16:00"], "sat": ["10:00-14:00"]})
SHANGHAI_CN = cal("Asia/Shanghai", {"mon-fri": ["09:00-12:00", "13:00-18:00"]}, country="CN")


def local(zone: ZoneInfo, *args: int) -> datetime:
    return datetime(*args, tzinfo=zone)  # type: ignore[misc]


# -- DST ----------------------------------------------------------------------------------------------


def test_berlin_spring_forward_day_has_23_hours() -> None:
    assert ALL_DAY_BERLIN.between(local(BERLIN, 2026, 3, 29), local(BERLIN, 2026, 3, 30)) == 23 * H
    assert ALL_DAY_BERLIN.between(local(BERLIN, 2026, 3, 23), local(BERLIN, 2026, 3, 30)) == 167 * H


def test_berlin_fall_back_day_has_25_hours() -> None:
    assert ALL_DAY_BERLIN.between(local(BERLIN, 2026, 10, 25), local(BERLIN, 2026, 10, 26)) == 25 * H
    assert ALL_DAY_BERLIN.between(local(BERLIN, 2026, 10, 19), local(BERLIN, 2026, 10, 26)) == 169 * H


def test_new_york_dst_days() -> None:
    assert ALL_DAY_NY.between(local(NEW_YORK, 2026, 3, 8), local(NEW_YORK, 2026, 3, 9)) == 23 * H
    assert ALL_DAY_NY.between(local(NEW_YORK, 2026, 11, 1), local(NEW_YORK, 2026, 11, 2)) == 25 * H


def test_office_hours_follow_local_time_across_dst() -> None:
    # Fri 2026-03-27 16:00 UTC is 17:00 CET (day over); Mon 2026-03-30 08:00 UTC is 10:00 CEST.
    start = datetime(2026, 3, 27, 16, tzinfo=UTC)
    end = datetime(2026, 3, 30, 8, tzinfo=UTC)
    assert OFFICE_BERLIN.between(start, end) == 1 * H
    # Same instants a week apart in UTC are different local hours: week of 2026-10-19 in Berlin.
    assert OFFICE_BERLIN.between(local(BERLIN, 2026, 10, 23, 16), local(BERLIN, 2026, 10, 26, 10)) == 2 * H
    assert OFFICE_BERLIN.between(local(BERLIN, 2026, 10, 19), local(BERLIN, 2026, 10, 26)) == 40 * H
    # New York week with the spring change on Sunday 2026-03-08: Sat 10-14 and Mon 8-16 count, Sunday nothing.
    assert OFFICE_NY.between(local(NEW_YORK, 2026, 3, 7), local(NEW_YORK, 2026, 3, 10)) == (4 + 8) * H
    assert OFFICE_NY.between(local(NEW_YORK, 2026, 10, 31), local(NEW_YORK, 2026, 11, 3)) == (4 + 8) * H


@pytest.mark.parametrize(
    ("hours", "day", "expected"),
    [
        (["00:00-02:30"], 25, 3.0),  # 00:00-02:30, then 02:00-02:30 once more after the clock goes back
        (["02:30-03:00"], 25, 1.0),  # the repeated half hour counts twice
        (["02:15-02:45"], 25, 1.0),
        (["03:00-04:00"], 25, 1.0),
        (["02:00-03:00"], 29, 0.0),  # does not exist on the spring-forward day (March)
        (["01:30-02:30"], 29, 0.5),
    ],
)
def test_ranges_with_boundaries_inside_the_dst_hour(hours: list[str], day: int, expected: float) -> None:
    calendar = cal("Europe/Berlin", {"sun": hours})
    month = 10 if day == 25 else 3
    assert (
        calendar.between(local(BERLIN, 2026, month, day), local(BERLIN, 2026, month, day + 1)) == expected * H
    )


# -- intervals outside working hours, lunch breaks, 24x7 ----------------------------------------------


def test_start_and_end_outside_working_hours() -> None:
    # Sat 2026-03-07 12:00 -> Mon 2026-03-09 10:00: only Mon 09-10.
    assert OFFICE_BERLIN.between(local(BERLIN, 2026, 3, 7, 12), local(BERLIN, 2026, 3, 9, 10)) == 1 * H
    # Mon 07:00 -> Mon 20:00: the whole day.
    assert OFFICE_BERLIN.between(local(BERLIN, 2026, 3, 9, 7), local(BERLIN, 2026, 3, 9, 20)) == 8 * H
    # both ends in the same night: nothing.
    assert OFFICE_BERLIN.between(local(BERLIN, 2026, 3, 9, 18), local(BERLIN, 2026, 3, 10, 8)) == 0.0
    # reversed interval: nothing.
    assert OFFICE_BERLIN.between(local(BERLIN, 2026, 3, 9, 12), local(BERLIN, 2026, 3, 9, 10)) == 0.0


def test_lunch_break() -> None:
    # Mon 2026-03-02 11:00 -> 14:00 Shanghai: 11-12 and 13-14.
    assert SHANGHAI_CN.between(local(SHANGHAI, 2026, 3, 2, 11), local(SHANGHAI, 2026, 3, 2, 14)) == 2 * H
    assert (
        SHANGHAI_CN.between(local(SHANGHAI, 2026, 3, 2, 12, 15), local(SHANGHAI, 2026, 3, 2, 12, 45)) == 0.0
    )
    assert SHANGHAI_CN.between(local(SHANGHAI, 2026, 3, 2), local(SHANGHAI, 2026, 3, 3)) == 8 * H


def test_always_open() -> None:
    always = business_calendar("24x7")
    start, end = datetime(2026, 3, 29, 0, 30, tzinfo=UTC), datetime(2026, 4, 2, 7, 45, 10, tzinfo=UTC)
    assert always.between(start, end) == (end - start).total_seconds()


# -- holidays -----------------------------------------------------------------------------------------


def test_cn_national_day_week() -> None:
    # Mon 2026-09-28 -> Mon 2026-10-12: Sep 28-30 and Oct 8-9 are working days (Oct 1-7 off).
    start, end = local(SHANGHAI, 2026, 9, 28), local(SHANGHAI, 2026, 10, 12)
    assert SHANGHAI_CN.between(start, end) == 5 * 8 * H
    # China works the Saturday after the holiday week (2026-10-10): declare it as a working day.
    adjusted = cal(
        "Asia/Shanghai", {"mon-fri": ["09:00-12:00", "13:00-18:00"]}, country="CN", working=["2026-10-10"]
    )
    assert adjusted.between(start, end) == 6 * 8 * H


def test_german_holidays_and_extras() -> None:
    berlin = cal("Europe/Berlin", {"mon-fri": ["09:00-17:00"]}, country="DE", subdivision="BE")
    # Easter 2026: Good Friday 04-03 and Easter Monday 04-06 are off.
    assert berlin.between(local(BERLIN, 2026, 3, 30), local(BERLIN, 2026, 4, 13)) == 8 * 8 * H
    # Berlin's Women's Day (2026-03-09 observed? it is 03-08, a Sunday): the week of 03-09 is full.
    assert berlin.between(local(BERLIN, 2026, 3, 9), local(BERLIN, 2026, 3, 16)) == 40 * H
    extra = cal(
        "Europe/Berlin",
        {"mon-fri": ["09:00-17:00"]},
        extra=["2026-12-24", "2026-12-31"],
        working=["2026-12-27"],  # a Sunday: works Monday's hours
    )
    assert extra.between(local(BERLIN, 2026, 12, 21), local(BERLIN, 2026, 12, 28)) == (4 + 1) * 8 * H
    assert extra.between(local(BERLIN, 2026, 12, 27, 16), local(BERLIN, 2026, 12, 28, 10)) == 2 * H


def test_lazy_extension_over_years() -> None:
    calendar = cal("Europe/Berlin", {"mon-fri": ["09:00-17:00"]})
    assert calendar.between(local(BERLIN, 2026, 3, 2), local(BERLIN, 2026, 3, 3)) == 8 * H
    assert calendar.between(local(BERLIN, 2031, 3, 3), local(BERLIN, 2031, 3, 4)) == 8 * H  # a Monday
    assert calendar.between(local(BERLIN, 2019, 3, 4), local(BERLIN, 2019, 3, 5)) == 8 * H
    assert calendar.between(local(BERLIN, 2026, 3, 2), local(BERLIN, 2026, 3, 3)) == 8 * H


def test_working_time_values_stay_comparable_across_extensions() -> None:
    """W(t) from separate calls must subtract correctly even when a later call extended the
    calendar to earlier years (it once renumbered the origin: due times came out a year apart)."""
    calendar = cal("Europe/Berlin", {"mon-fri": ["09:00-17:00"]})
    t = local(BERLIN, 2026, 3, 4, 12).timestamp()
    before = calendar.working_time(np.array([t]))[0]
    earlier = calendar.working_time(np.array([t - 400 * 86400]))[0]
    later = calendar.working_time(np.array([t + 3000 * 86400]))[0]
    assert calendar.working_time(np.array([t]))[0] == before
    assert before - earlier == calendar.between(
        datetime.fromtimestamp(t - 400 * 86400, UTC), datetime.fromtimestamp(t, UTC)
    )
    assert later > before


def test_vectorised_and_nan() -> None:
    starts = np.array([local(BERLIN, 2026, 3, 2, 10).timestamp(), np.nan])
    ends = np.array([local(BERLIN, 2026, 3, 2, 12).timestamp(), 0.0])
    w = OFFICE_BERLIN.working_time(starts)
    assert np.isnan(w[1])
    assert OFFICE_BERLIN.elapsed(starts[:1], ends[:1])[0] == 2 * H


# -- per-minute reference -----------------------------------------------------------------------------


class MinuteReference:
    """Working minutes counted one by one with zoneinfo (slow, obvious)."""

    def __init__(self, calendar: Calendar) -> None:
        self.zone = ZoneInfo(calendar.timezone)
        self.week = calendar.weekly_intervals()
        spec = calendar.holidays
        self.off = {date.fromisoformat(d) for d in spec.extra}
        self.on = {date.fromisoformat(d) for d in spec.working}
        self.country = spec.country
        self.subdivision = spec.subdivision
        self.first = next((self.week[d] for d in WEEKDAYS if self.week[d]), [])
        self._years: dict[int, set[date]] = {}

    def holidays(self, year: int) -> set[date]:
        if year not in self._years:
            found = holidays_pkg.country_holidays(self.country, subdiv=self.subdivision, years=year)
            self._years[year] = set(found)
        return self._years[year]

    def working_minute(self, t: int) -> bool:
        moment = datetime.fromtimestamp(t, self.zone)
        day = moment.date()
        if day in self.on:
            hours = self.first
        else:
            if day in self.off:
                return False
            if self.country and day in self.holidays(day.year):
                return False
            hours = self.week[WEEKDAYS[moment.weekday()]]
        second = moment.hour * 3600 + moment.minute * 60
        return any(a <= second < b for a, b in hours)

    def between(self, start: int, end: int) -> float:
        return 60.0 * sum(self.working_minute(t) for t in range(start, end, 60))


REFERENCE_CALENDARS = {
    "berlin": Calendar.model_validate(
        {
            "timezone": "Europe/Berlin",
            "hours": {"mon-fri": ["08:30-12:15", "13:00-17:45"], "sun": ["00:00-02:30", "02:45-24:00"]},
            "holidays": {
                "country": "DE",
                "subdivision": "BE",
                "extra": ["2026-03-26"],
                "working": ["2026-10-24"],
            },
        }
    ),
    "new_york": Calendar.model_validate(
        {
            "timezone": "America/New_York",
            "hours": {
                "mon-fri": ["08:00-16:00"],
                "sat": ["10:00-14:00"],
                "sun": ["00:00-01:30", "01:45-24:00"],
            },
        }
    ),
    "shanghai": Calendar.model_validate(
        {
            "timezone": "Asia/Shanghai",
            "hours": {"mon-fri": ["09:00-12:00", "13:00-18:00"]},
            "holidays": {"country": "CN"},
        }
    ),
}
# Windows around the DST changes and CN's National Day (epoch minutes).
WINDOWS = [
    (datetime(2026, 3, 5, tzinfo=UTC), datetime(2026, 4, 8, tzinfo=UTC)),
    (datetime(2026, 9, 24, tzinfo=UTC), datetime(2026, 11, 5, tzinfo=UTC)),
]


@st.composite
def intervals(draw: st.DrawFn) -> tuple[str, int, int]:
    name = draw(st.sampled_from(sorted(REFERENCE_CALENDARS)))
    lo, hi = draw(st.sampled_from(WINDOWS))
    first, last = int(lo.timestamp()) // 60, int(hi.timestamp()) // 60
    start = draw(st.integers(first, last))
    length = draw(st.integers(0, 6 * 24 * 60))
    return name, start * 60, min(start + length, last) * 60


@settings(max_examples=60, deadline=None)
@given(intervals())
def test_matches_minute_reference(case: tuple[str, int, int]) -> None:
    name, start, end = case
    calendar = REFERENCE_CALENDARS[name]
    expected = MinuteReference(calendar).between(start, end)
    got = business_calendar(calendar).elapsed(np.array([float(start)]), np.array([float(end)]))[0]
    assert got == pytest.approx(expected, abs=1e-6)


def test_matches_minute_reference_in_bulk() -> None:
    """Many random intervals at once (one vectorised call) against the reference."""
    rng = np.random.default_rng(7)
    calendar = REFERENCE_CALENDARS["berlin"]
    lo, hi = (int(x.timestamp()) // 60 for x in WINDOWS[0])
    starts = rng.integers(lo, hi, 40) * 60
    ends = starts + rng.integers(0, 3 * 24 * 60, 40) * 60
    reference = MinuteReference(calendar)
    expected = [reference.between(int(a), int(b)) for a, b in zip(starts, ends, strict=True)]
    got = business_calendar(calendar).elapsed(starts.astype(float), ends.astype(float))
    assert got.tolist() == pytest.approx(expected, abs=1e-6)
    assert isinstance(timedelta(seconds=float(got.sum())), timedelta)
