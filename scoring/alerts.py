"""Which requests crossed into at risk or breached, and which alert targets hear of it (pure).

A request *crosses* a state when its live clock (the resolution clock, else the response clock: the
state a reader sees, `baton.scoring.live.live_state`) uses up a share of its goal:
- `at_risk` at `at_risk x goal` working seconds (the process's or SLA row's `at_risk`, default 75 %);
- `breached` at the goal itself.

`crossings(requests, config, now)` lists, for every *open* request whose live clock is at risk or
breached as of `now`, each crossing it has made: a breached request has crossed both (unless its
threshold is 100 %, which leaves no at-risk stretch). `crossed_at` is when the clock reached the
threshold, counted back in the provider's working time from the instant the clock was last measured to
(`now` for a running clock, the pause for a paused one, the first response for a stopped response
clock). A pause between the crossing and that instant is not seen, so the instant is then late by at
most the pause; the crossing's identity (request, state) does not depend on it.

`route(crossings, config)` pairs each crossing with the alert targets (`config.alerts`) that want it:
the target's `on` states, `processes` and `providers` filters. I/O (the store, the HTTP sends) lives in
`baton.store.alerts` and `baton.connector.alerts`.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd

from baton.config.schema import BatonConfig
from baton.scoring.clocks import evaluate_clocks
from baton.scoring.live import due_instants, live_state, to_millis

CROSSING_COLUMNS: tuple[str, ...] = (
    "request_key",  # "<issue id>#<seq>": the request's identity in the alert log
    "issue_id",
    "issue_key",
    "seq",
    "process",
    "provider",
    "requester",
    "kind",
    "clock",  # "resolution" or "response": the live clock
    "state",  # "at_risk" or "breached"
    "crossed_at",  # UTC instant the live clock reached the state's threshold
    "goal_s",  # the live clock's goal, working seconds
    "threshold_s",  # working seconds at which the state begins (at_risk x goal, or the goal)
    "elapsed_s",  # working seconds used as of now
    "due_at",  # UTC instant the live clock reaches (reached) its goal if it keeps running
)
"""Columns of `crossings`' frame, one row per (request, state)."""

ROUTE_COLUMNS: tuple[str, ...] = ("target", *CROSSING_COLUMNS)
"""Columns of `route`'s frame: a crossing per target that wants it."""

ALERT_STATES: tuple[str, ...] = ("at_risk", "breached")


def request_key(issue_id: object, seq: object) -> str:
    """The identity of a derived request across re-derivations: its issue and its order in the issue."""
    return f"{issue_id}#{int(str(seq))}"


def _empty() -> pd.DataFrame:
    return pd.DataFrame({name: pd.Series([], dtype=object) for name in CROSSING_COLUMNS})


def crossings(requests: pd.DataFrame, config: BatonConfig, now: datetime) -> pd.DataFrame:
    """One row per (open request, state crossed) with `CROSSING_COLUMNS`, ordered by `crossed_at`.

    `requests` is the derived requests frame (`baton.scoring.engine.derive_requests` or its stored copy),
    evaluated or not (its clocks are brought to `now` when `resolution_state` is absent)."""
    if requests.empty:
        return _empty()
    evaluated = requests if "resolution_state" in requests else evaluate_clocks(requests, config, now)
    frame = evaluated[evaluated["resolved_at"].isna()]
    state = live_state(frame)
    frame = frame[state.isin(ALERT_STATES)]
    if frame.empty:
        return _empty()
    state = state.loc[frame.index]
    on_resolution = frame["resolution_goal_s"].notna()
    goal = frame["resolution_goal_s"].where(on_resolution, frame["response_goal_s"]).astype(float)
    elapsed = frame["resolution_elapsed_s"].where(on_resolution, frame["response_elapsed_s"]).astype(float)
    ratio = frame["at_risk_ratio"].astype(float).fillna(1.0)
    # a stopped response clock was last measured at the first response; every other open clock at clock_at
    measured = pd.to_datetime(frame["clock_at"], utc=True)
    stopped = ~on_resolution & frame["first_response_at"].notna()
    measured = measured.where(~stopped, pd.to_datetime(frame["first_response_at"], utc=True))
    now_ts = pd.Timestamp(now)
    measured = measured.fillna(now_ts.tz_convert("UTC") if now_ts.tzinfo else now_ts.tz_localize("UTC"))
    ref_s = pd.DatetimeIndex(measured).as_unit("ns").asi8.astype(np.float64) / 1e9
    opened = pd.to_datetime(frame["opened_at"], utc=True)

    rows: list[pd.DataFrame] = []
    for name in ALERT_STATES:
        threshold = goal * ratio if name == "at_risk" else goal
        wanted = state == "breached" if name == "breached" else (ratio < 1.0)
        part = frame[wanted.to_numpy(dtype=bool)]
        if part.empty:
            continue
        sel = wanted.to_numpy(dtype=bool)
        crossed = _instants(part, config, ref_s[sel], (threshold - elapsed)[sel].to_numpy(dtype=np.float64))
        crossed = crossed.where(crossed >= opened[sel], opened[sel])
        due = _instants(part, config, ref_s[sel], (goal - elapsed)[sel].to_numpy(dtype=np.float64))
        rows.append(
            pd.DataFrame(
                {
                    "request_key": [
                        request_key(i, s) for i, s in zip(part["issue_id"], part["seq"], strict=True)
                    ],
                    "issue_id": part["issue_id"].astype(str),
                    "issue_key": part["issue_key"],
                    "seq": part["seq"].astype(int),
                    "process": part["process"],
                    "provider": part["provider"],
                    "requester": part["requester"],
                    "kind": part["kind"],
                    "clock": np.where(on_resolution[sel], "resolution", "response"),
                    "state": name,
                    "crossed_at": crossed,
                    "goal_s": goal[sel],
                    "threshold_s": threshold[sel],
                    "elapsed_s": elapsed[sel],
                    "due_at": due,
                }
            )
        )
    out = pd.concat(rows, ignore_index=True)
    order = np.lexsort(
        (out["state"].map({"at_risk": 0, "breached": 1}).to_numpy(), out["request_key"], out["crossed_at"])
    )
    return out.iloc[order].reset_index(drop=True)[list(CROSSING_COLUMNS)]


def _instants(part: pd.DataFrame, config: BatonConfig, ref_s: np.ndarray, need: np.ndarray) -> pd.Series:
    """When each row's live clock reaches `need` more working seconds from its reference instant
    (negative: in the past), on its provider's calendar; the reference itself for unknown providers."""
    out = pd.Series(to_millis(ref_s), index=part.index)
    providers = part["provider"].to_numpy(dtype=object)
    for team in pd.unique(providers):
        if team not in config.teams:
            continue
        sel = providers == team
        instants = due_instants(config.teams[team].calendar, config, ref_s[sel], need[sel])
        out.iloc[np.flatnonzero(sel)] = to_millis(instants)
    return out


def route(found: pd.DataFrame, config: BatonConfig) -> pd.DataFrame:
    """`found` (a `crossings` frame) once per alert target that wants each crossing, with `ROUTE_COLUMNS`:
    the state is in the target's `on`, and the request's process and provider pass its filters."""
    parts: list[pd.DataFrame] = []
    for target in config.alerts:
        mask = found["state"].isin(target.on)
        if target.processes is not None:
            mask &= found["process"].isin(target.processes)
        if target.providers is not None:
            mask &= found["provider"].isin(target.providers)
        if mask.any():
            parts.append(found[mask].assign(target=target.name))
    if not parts:
        return pd.DataFrame({name: pd.Series([], dtype=object) for name in ROUTE_COLUMNS})
    return pd.concat(parts, ignore_index=True)[list(ROUTE_COLUMNS)]
