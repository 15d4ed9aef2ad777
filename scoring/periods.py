"""Period labels and windows: which week or month an instant belongs to, in the scoring time zone.

Scorecards group by these labels; the CLI (`baton score --last N`) and the JSON API (`weeks=N`) show
the same window of the last periods. Pure: `now` is a parameter.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

Period = Literal["week", "month"]


def period_labels(instants: pd.Series, period: Period, timezone: str) -> npt.NDArray[np.object_]:
    """`2026-W10` (ISO week) or `2026-03` (month) of each instant, in `timezone`; None for NaT."""
    ts = pd.to_datetime(instants, utc=True).dt.tz_convert(timezone)
    missing = ts.isna().to_numpy()
    if period == "week":
        iso = ts.dt.isocalendar()
        code = iso["year"].fillna(0).to_numpy(dtype=np.int64) * 100 + iso["week"].fillna(0).to_numpy(
            dtype=np.int64
        )
        fmt = "{}-W{:02d}"
    else:
        code = ts.dt.year.fillna(0).to_numpy(dtype=np.int64) * 100 + ts.dt.month.fillna(0).to_numpy(
            dtype=np.int64
        )
        fmt = "{}-{:02d}"
    uniq, inverse = np.unique(code, return_inverse=True)
    labels = np.array([fmt.format(c // 100, c % 100) for c in uniq], dtype=object)
    out = labels[inverse]
    out[missing] = None
    return np.asarray(out, dtype=object)


def recent_period_labels(now: datetime, period: Period, count: int, timezone: str) -> list[str]:
    """Labels (`2026-W10`, `2026-03`) of the last `count` periods up to the one containing `now`,
    oldest first, in `timezone`."""
    ts = pd.Timestamp(now)
    instants: list[pd.Timestamp]
    if period == "week":
        instants = [ts - pd.Timedelta(days=7 * k) for k in range(count - 1, -1, -1)]
    else:
        # mid-month at noon: a month step never lands in a neighbouring month, whatever the zone
        local = ts.tz_convert(timezone)
        anchor = local.replace(day=15, hour=12, minute=0, second=0, microsecond=0, nanosecond=0)
        instants = [anchor - pd.DateOffset(months=k) for k in range(count - 1, -1, -1)]
    return [str(label) for label in period_labels(pd.Series(instants), period, timezone)]


def first_period_start(now: datetime, period: Period, count: int, timezone: str) -> datetime:
    """A little before the first of the last `count` periods starts: every request resolved in those
    periods, and every open one, is alive from then on (rows of earlier periods are dropped anyway)."""
    local = pd.Timestamp(now).tz_convert(timezone)
    if period == "week":
        first = (local - pd.Timedelta(days=7 * (count - 1))).normalize()
        start = first - pd.Timedelta(days=first.weekday())
    else:
        start = (local.normalize().replace(day=1) - pd.DateOffset(months=count - 1)).normalize()
    moment: datetime = (start - pd.Timedelta(days=2)).tz_convert(UTC).to_pydatetime()
    return moment


def period_bounds(label: str, period: Period, timezone: str) -> tuple[datetime, datetime]:
    """The instants (UTC) where the period `label` (`2026-W10`, `2026-03`) starts and the next one
    starts, in `timezone`: a request resolved at `t` is in the period when `start <= t < end`."""
    if period == "week":
        year, week = label.split("-W")
        start_day = datetime.fromisocalendar(int(year), int(week), 1)
        local = pd.Timestamp(start_day).tz_localize(timezone)
        following = (pd.Timestamp(start_day) + pd.Timedelta(days=7)).tz_localize(timezone)
    else:
        year, month = label.split("-")
        local = pd.Timestamp(year=int(year), month=int(month), day=1).tz_localize(timezone)
        following = (
            pd.Timestamp(year=int(year), month=int(month), day=1) + pd.DateOffset(months=1)
        ).tz_localize(timezone)
    return local.tz_convert(UTC).to_pydatetime(), pd.Timestamp(following).tz_convert(UTC).to_pydatetime()
