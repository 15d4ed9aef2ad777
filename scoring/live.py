"""Live clock figures of evaluated requests: what a reader of one request sees.

Computed once so that the CLI (`baton requests`) and the JSON API print the same values: the live state,
the remaining working time and the due time. Pure: `now` is a parameter, and the input is a frame
already evaluated by `baton.scoring.clocks.evaluate_clocks`.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import numpy.typing as npt
import pandas as pd

from baton.config.schema import BatonConfig
from baton.scoring.calendar import business_calendar

DUE_SEARCH_DAYS = 400.0
"""How far from `now` the due time is searched, each way (a goal longer than a year is not a goal)."""
DUE_BISECTIONS = 45
"""Halvings of the search window: 2 x 400 days / 2**45 is about 2 microseconds."""

LIVE_COLUMNS: tuple[str, ...] = ("state", "remaining_s", "due_at")
"""Columns `live_clocks` adds."""


def live_state(requests: pd.DataFrame) -> pd.Series:
    """The state a reader sees: the resolution clock's, or the response clock's when the request has
    no resolution goal."""
    has_goal = requests["resolution_goal_s"].notna()
    return requests["resolution_state"].where(has_goal, requests["response_state"])


def remaining_working_s(requests: pd.DataFrame) -> pd.Series:
    """Working seconds left on the live clock (negative once past its goal); NaN for resolved
    requests and for clocks without a goal."""
    resolution = requests["resolution_goal_s"] - requests["resolution_elapsed_s"]
    response = requests["response_goal_s"] - requests["response_elapsed_s"]
    remaining = resolution.where(requests["resolution_goal_s"].notna(), response)
    return remaining.where(requests["resolved_at"].isna())


def due_instants(
    calendar_name: str, config: BatonConfig, ref_s: npt.NDArray[np.float64], need: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """Epoch seconds at which `need` working seconds (negative: in the past) are reached from each
    reference instant `ref_s` (epoch seconds), on calendar `calendar_name`.

    Going back (`need <= 0`) it is the earliest such instant, so a goal used up at 17:00 stays due at
    17:00 overnight."""
    calendar = business_calendar(config.calendars[calendar_name])
    forward = need > 0
    lo = np.where(forward, ref_s, ref_s - DUE_SEARCH_DAYS * 86400.0)
    hi = np.where(forward, ref_s + DUE_SEARCH_DAYS * 86400.0, ref_s)
    # Build the calendar over the whole search window first: its cumulative working time is only
    # comparable between values computed over the same built range.
    calendar.working_time(np.array([lo.min(), hi.max()]))
    base = calendar.working_time(np.asarray(ref_s, dtype=np.float64))
    # W(t) is monotonic: bisect for the first instant where the working time since the reference
    # reaches `need`.
    for _ in range(DUE_BISECTIONS):
        mid = (lo + hi) / 2
        reached = calendar.working_time(mid) - base >= need
        hi = np.where(reached, mid, hi)
        lo = np.where(reached, lo, mid)
    return np.asarray(hi, dtype=np.float64)


def to_millis(instants: npt.NDArray[np.float64]) -> pd.DatetimeIndex:
    """Epoch seconds as UTC instants to the millisecond: far coarser than the search's error, so a goal
    reached on a whole second comes out on exactly that second."""
    millis = np.round(instants * 1000.0).astype(np.int64)
    return pd.to_datetime(millis, unit="ms", utc=True)


def due_times(
    requests: pd.DataFrame, remaining_s: pd.Series, config: BatonConfig, now: datetime
) -> pd.Series:
    """When each open request's live clock reaches (or reached) its goal on the provider's calendar,
    assuming it keeps running (a paused clock's due time moves when it resumes).

    In: evaluated requests and their `remaining_working_s`. Out: UTC instants on the same index, NaT
    for resolved requests, clocks without a goal and providers the configuration does not know."""
    out = pd.Series(pd.NaT, index=requests.index, dtype="datetime64[ns, UTC]")
    open_mask = (requests["resolved_at"].isna() & remaining_s.notna()).to_numpy(dtype=bool)
    if not open_mask.any():
        return out
    providers = requests["provider"].to_numpy(dtype=object)
    need_all = remaining_s.to_numpy(dtype=np.float64, na_value=np.nan)
    now_s = now.timestamp()
    for team in pd.unique(providers[open_mask]):
        if team not in config.teams:
            continue
        sel = open_mask & (providers == team)
        need = need_all[sel]
        instants = due_instants(config.teams[team].calendar, config, np.full(len(need), now_s), need)
        out.iloc[np.flatnonzero(sel)] = to_millis(instants)
    return out


def live_clocks(requests: pd.DataFrame, config: BatonConfig, now: datetime) -> pd.DataFrame:
    """Evaluated requests plus `LIVE_COLUMNS`: `state` (`live_state`), `remaining_s`
    (`remaining_working_s`) and `due_at` (`due_times`)."""
    remaining = remaining_working_s(requests)
    return requests.assign(
        state=live_state(requests),
        remaining_s=remaining,
        due_at=due_times(requests, remaining, config, now),
    )
