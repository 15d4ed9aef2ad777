"""Business calendars: working seconds between instants, vectorised (docs/configuration.md `calendars`, docs/semantics.md "Clocks").

A calendar is turned into a sorted array of working intervals in UTC epoch seconds over a range of
whole years (extended lazily when an instant falls outside it), with the cumulative working seconds
before each interval.  The working time up to an instant, W(t), is then one `np.searchsorted` away,
and the working time between two instants is W(end) - W(start).

Local wall-clock hours are turned into instants with pandas' `tz_localize`, so DST changes are exact:
a nonexistent local time (spring forward) moves forward to the first existing instant, and an ambiguous
one (fall back) is read as the earlier instant for an interval's start and the later one for its end,
so a working interval never loses the repeated hour.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterable
from typing import Any

import holidays as holidays_pkg
import numpy as np
import numpy.typing as npt
import pandas as pd

from baton.config.schema import WEEKDAYS, AlwaysOpen, Calendar

FloatArray = npt.NDArray[np.float64]

_YEAR_MARGIN = 1
_lock = threading.Lock()
_cache: dict[str, BusinessCalendar] = {}


def _parse_date(text: str) -> dt.date:
    return dt.date.fromisoformat(text.strip())


class BusinessCalendar:
    """Working time of one calendar. `working_time(t)` is W(t): working seconds since an origin."""

    def __init__(self, calendar: Calendar | AlwaysOpen) -> None:
        self.always = not isinstance(calendar, Calendar)
        self._calendar = calendar if isinstance(calendar, Calendar) else None
        self._lock = threading.Lock()
        self._years: tuple[int, int] | None = None
        # (interval starts, lengths, working seconds before each), replaced as one tuple so that
        # concurrent readers never see a mix of two builds
        self._table: tuple[FloatArray, FloatArray, FloatArray] = (np.zeros(0), np.zeros(0), np.zeros(0))
        self._holiday_cache: dict[int, set[dt.date]] = {}
        if self._calendar is not None:
            week = self._calendar.weekly_intervals()
            self._week = [week[day] for day in WEEKDAYS]
            self._first_working_day = next((hours for hours in self._week if hours), [])
            extra = self._calendar.holidays
            self._extra_off = {_parse_date(d) for d in extra.extra}
            self._extra_on = {_parse_date(d) for d in extra.working}
            self.timezone = self._calendar.timezone
        else:
            self._week = [[(0, 86400)] for _ in WEEKDAYS]
            self._first_working_day = [(0, 86400)]
            self._extra_off = set()
            self._extra_on = set()
            self.timezone = "UTC"

    # -- building ----------------------------------------------------------------------------------

    def _holidays(self, years: Iterable[int]) -> set[dt.date]:
        assert self._calendar is not None
        spec = self._calendar.holidays
        if not spec.country:
            return set()
        wanted = [y for y in years if y not in self._holiday_cache]
        if wanted:
            found: Any = holidays_pkg.country_holidays(spec.country, subdiv=spec.subdivision, years=wanted)
            for year in wanted:
                self._holiday_cache[year] = set()
            for day in found:
                self._holiday_cache.setdefault(day.year, set()).add(day)
        out: set[dt.date] = set()
        for y in years:
            out |= self._holiday_cache.get(y, set())
        return out

    def _build(self, first_year: int, last_year: int) -> None:
        assert self._calendar is not None
        days = pd.date_range(dt.date(first_year, 1, 1), dt.date(last_year, 12, 31), freq="D")
        dates = days.date
        weekday = np.asarray(days.day_of_week, dtype=np.int64)
        off = self._holidays(range(first_year, last_year + 1)) | self._extra_off
        is_off = np.fromiter((d in off for d in dates), dtype=bool, count=len(dates))
        is_extra_on = np.fromiter((d in self._extra_on for d in dates), dtype=bool, count=len(dates))
        day_ns = days.as_unit("ns").asi8  # local midnight as naive ns
        local_starts: list[npt.NDArray[np.int64]] = []
        local_ends: list[npt.NDArray[np.int64]] = []
        for wd in range(7):
            hours = self._week[wd]
            sel = (weekday == wd) & ~is_off & ~is_extra_on
            for start, end in hours:
                local_starts.append(day_ns[sel] + start * 1_000_000_000)
                local_ends.append(day_ns[sel] + end * 1_000_000_000)
        for start, end in self._first_working_day:
            local_starts.append(day_ns[is_extra_on] + start * 1_000_000_000)
            local_ends.append(day_ns[is_extra_on] + end * 1_000_000_000)
        ls = np.concatenate(local_starts) if local_starts else np.zeros(0, dtype=np.int64)
        le = np.concatenate(local_ends) if local_ends else np.zeros(0, dtype=np.int64)
        order = np.argsort(ls, kind="stable")
        ls, le = ls[order], le[order]
        # A range is the instants whose local wall time lies in it. Where the clock goes back at
        # instant T (a "fold"), local times in the repeated hour occur twice, so the range is
        # [first(s), first(e)) before T and [second(s), second(e)) after T (first/second: the earlier/
        # later reading of an ambiguous local time; both equal elsewhere). With T the first fold at or
        # after first(s), the two pieces below are exact in every case and collapse to [s, e) when
        # no fold is involved. Nonexistent local times (spring forward) move to the next instant.
        s_first, s_second = self._to_utc(ls, earliest=True), self._to_utc(ls, earliest=False)
        e_first, e_second = self._to_utc(le, earliest=True), self._to_utc(le, earliest=False)
        folds = np.append(self._folds(first_year, last_year), np.inf)
        fold = folds[np.searchsorted(folds, s_first, side="left")]
        starts = np.concatenate([s_first, np.maximum(s_second, fold)])
        ends = np.concatenate([np.minimum(e_first, fold), e_second])
        nonempty = ends > starts
        starts, ends = starts[nonempty], ends[nonempty]
        order = np.argsort(starts, kind="stable")
        starts, ends = starts[order], ends[order]
        # Merge overlaps (overlapping configured ranges).
        prev_end = np.concatenate(([-np.inf], np.maximum.accumulate(ends)[:-1])) if len(ends) else ends
        starts = np.maximum(starts, prev_end)
        lengths = np.maximum(ends - starts, 0.0)
        before = np.concatenate(([0.0], np.cumsum(lengths)[:-1])) if len(lengths) else lengths
        old_starts, _, old_before = self._table
        if len(old_starts) and len(starts):
            # W(t) values from earlier calls must stay comparable with later ones (callers subtract
            # W values taken in separate calls, and other threads may hold them): keep the old
            # numbering by pinning W at the old table's first working instant.
            anchor = old_starts[0]
            i = max(int(np.searchsorted(starts, anchor, side="right")) - 1, 0)
            rebuilt = before[i] + float(np.clip(anchor - starts[i], 0.0, lengths[i]))
            before = before + (old_before[0] - rebuilt)
        self._table = (starts, lengths, before)
        self._years = (first_year, last_year)

    def _folds(self, first_year: int, last_year: int) -> FloatArray:
        """UTC instants (epoch seconds) where the local clock goes back, found on a 15-minute grid."""
        grid = pd.date_range(
            dt.datetime(first_year - 1, 12, 30, tzinfo=dt.UTC),
            dt.datetime(last_year + 1, 1, 2, tzinfo=dt.UTC),
            freq="15min",
        )
        utc_ns = np.asarray(grid.as_unit("ns").asi8, dtype=np.int64)
        local_ns = np.asarray(
            grid.tz_convert(self.timezone).tz_localize(None).as_unit("ns").asi8, dtype=np.int64
        )
        offset = local_ns - utc_ns
        back = np.flatnonzero(np.diff(offset) < 0) + 1
        return np.asarray(utc_ns[back], dtype=np.float64) / 1e9

    def _to_utc(self, local_ns: npt.NDArray[np.int64], *, earliest: bool) -> FloatArray:
        if len(local_ns) == 0:
            return np.zeros(0)
        index = pd.DatetimeIndex(local_ns.astype("datetime64[ns]"))
        ambiguous = np.full(len(index), earliest, dtype=bool)
        localized = index.tz_localize(self.timezone, ambiguous=ambiguous, nonexistent="shift_forward")
        return np.asarray(localized.as_unit("ns").asi8, dtype=np.float64) / 1e9

    def _ensure(self, seconds: FloatArray) -> None:
        finite = seconds[np.isfinite(seconds)]
        if len(finite) == 0:
            return
        lo = dt.datetime.fromtimestamp(float(finite.min()), dt.UTC).year - _YEAR_MARGIN
        hi = dt.datetime.fromtimestamp(float(finite.max()), dt.UTC).year + _YEAR_MARGIN
        years = self._years
        if years is not None and years[0] <= lo and hi <= years[1]:
            return
        with self._lock:
            years = self._years
            if years is not None:
                lo, hi = min(lo, years[0]), max(hi, years[1])
            self._build(lo, hi)

    # -- queries -----------------------------------------------------------------------------------

    def working_time(self, seconds: FloatArray) -> FloatArray:
        """W(t) for epoch seconds `t` (NaN stays NaN): working seconds since the calendar's origin."""
        seconds = np.asarray(seconds, dtype=np.float64)
        if self.always:
            return seconds.copy()
        self._ensure(seconds)
        starts, lengths, before = self._table
        if len(starts) == 0:
            return np.where(np.isnan(seconds), np.nan, 0.0)
        safe = np.where(np.isnan(seconds), starts[0], seconds)
        idx = np.searchsorted(starts, safe, side="right") - 1
        inside = idx >= 0
        i = np.clip(idx, 0, None)
        value = np.where(inside, before[i] + np.clip(safe - starts[i], 0.0, lengths[i]), 0.0)
        return np.where(np.isnan(seconds), np.nan, value)

    def elapsed(self, start: FloatArray, end: FloatArray) -> FloatArray:
        """Working seconds between epoch-second instants (0 when end <= start)."""
        w = self.working_time(np.concatenate([np.asarray(start, float), np.asarray(end, float)]))
        n = len(w) // 2
        return np.maximum(w[n:] - w[:n], 0.0)

    def between(self, start: dt.datetime, end: dt.datetime) -> float:
        """Working seconds between two aware datetimes."""
        out = self.elapsed(np.array([start.timestamp()]), np.array([end.timestamp()]))
        return float(out[0])


def business_calendar(calendar: Calendar | AlwaysOpen) -> BusinessCalendar:
    """The cached calendar for a configuration (same definition -> same object)."""
    key = calendar if isinstance(calendar, str) else calendar.model_dump_json()
    with _lock:
        found = _cache.get(key)
        if found is None:
            found = BusinessCalendar(calendar)
            _cache[key] = found
        return found
