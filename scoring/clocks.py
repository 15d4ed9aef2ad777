"""SLA goals (first matching row) and clock states as of `now` (docs/semantics.md 'Clocks')."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from baton.config.schema import BatonConfig, SlaRow
from baton.scoring.calendar import business_calendar
from baton.scoring.verdicts import evaluate_verdicts

if TYPE_CHECKING:
    from baton.scoring.rules import CompiledRules, ProcessRules

FloatArray = npt.NDArray[np.float64]
ObjArray = npt.NDArray[np.object_]


def _contains(values: list[str] | None, value: Any) -> bool:
    if values is None:
        return True
    if value is None:
        return False
    text = str(value).casefold()
    return any(v.casefold() == text for v in values)


def matching_row(
    process: ProcessRules, provider: str, requester: str | None, issue_type: Any, priority: Any
) -> SlaRow | None:
    for row in process.sla:
        if row.provider != provider:
            continue
        if row.requester is not None and row.requester != requester:
            continue
        if row.when is not None and not (
            _contains(row.when.priority, priority) and _contains(row.when.issue_type, issue_type)
        ):
            continue
        return row
    return None


def goal_of(
    process: ProcessRules,
    provider: str,
    requester: str | None,
    kind: str,
    issue_type: Any,
    priority: Any,
) -> tuple[float, float, float]:
    """(response goal s, resolution goal s, at-risk ratio); NaN for no goal."""
    nan = float("nan")
    if kind == "unmapped":
        goal = process.unmapped_goal
        if goal is None:
            return nan, nan, process.at_risk
        return (
            float(goal.response) if goal.response is not None else nan,
            float(goal.resolution) if goal.resolution is not None else nan,
            process.at_risk,
        )
    row = matching_row(process, provider, requester, issue_type, priority)
    if row is None:
        return nan, nan, process.at_risk
    risk = row.at_risk if row.at_risk is not None else process.at_risk
    if kind == "rework":
        if row.rework is None:
            return nan, nan, risk
        return (float(row.response) if row.response is not None else nan, float(row.rework), risk)
    return (
        float(row.response) if row.response is not None else nan,
        float(row.resolution) if row.resolution is not None else nan,
        risk,
    )


def goals_for(
    rules: CompiledRules,
    process: ObjArray,
    provider: ObjArray,
    requester: ObjArray,
    kind: ObjArray,
    issue_type: ObjArray,
    priority: ObjArray,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Goals of many requests: computed once per distinct (process, provider, requester, kind, type,
    priority) combination."""
    n = len(process)
    if n == 0:
        return np.zeros(0), np.zeros(0), np.zeros(0)
    by_name = {p.name: p for p in rules.processes}
    columns = (process, provider, requester, kind, issue_type, priority)
    combined = np.zeros(n, dtype=np.int64)
    uniques: list[ObjArray] = []
    for values in columns:
        codes, found = pd.factorize(values, use_na_sentinel=True)
        uniques.append(np.asarray(found, dtype=object))
        combined = combined * (len(found) + 1) + (np.asarray(codes, dtype=np.int64) + 1)
    keys, inverse = np.unique(combined, return_inverse=True)
    table = np.empty((len(keys), 3), dtype=np.float64)
    for row, key in enumerate(keys.tolist()):
        parts: list[Any] = []
        for found in reversed(uniques):
            key, code = divmod(key, len(found) + 1)
            parts.append(found[code - 1] if code else None)
        proc, prov, req, knd, itype, prio = reversed(parts)
        table[row] = goal_of(by_name[proc], prov, req, knd, itype, prio)
    return table[inverse, 0], table[inverse, 1], table[inverse, 2]


_STATES: ObjArray = np.array(["none", "met", "breached", "at_risk", "running"], dtype=object)
"""Clock states by code (`_state`): each row refers to one of these five strings rather than to a copy
of its own, so grouping by state and handing a frame to another process stay cheap."""
_NONE, _MET, _BREACHED, _AT_RISK, _RUNNING = range(len(_STATES))


def _state(
    elapsed: FloatArray, goal: FloatArray, ratio: FloatArray, running: npt.NDArray[np.bool_]
) -> ObjArray:
    has_goal = ~np.isnan(goal)
    # a stopped clock that took exactly its goal met it; a running clock that has used all of it is
    # breached from that instant (its due time), not "at risk with nothing left"
    stopped = np.where(elapsed > goal, _BREACHED, _MET)
    at_risk = elapsed >= ratio * goal
    live = np.where(elapsed >= goal, _BREACHED, np.where(at_risk, _AT_RISK, _RUNNING))
    code = np.where(has_goal, np.where(running, live, stopped), _NONE)
    return _STATES[code]


def _seconds(column: pd.Series) -> FloatArray:
    ts = pd.to_datetime(column, utc=True)
    ns = pd.DatetimeIndex(ts).as_unit("ns").asi8.astype(np.float64)
    return np.where(pd.isna(ts).to_numpy(), np.nan, ns / 1e9)


def evaluate_clocks(requests: pd.DataFrame, config: BatonConfig, now: datetime) -> pd.DataFrame:
    """Bring open clocks up to `now` (unless paused) and add `response_state`/`resolution_state`.

    Running clocks are measured from `clock_at` (set to `now` here for the clocks it moved), so
    evaluating an evaluated frame again at a later `now` adds only the time in between."""
    out = requests.copy()
    n = len(out)
    if n == 0:
        out["response_state"] = pd.Series([], dtype=object)
        out["resolution_state"] = pd.Series([], dtype=object)
        return out
    now_ts = pd.Timestamp(now)
    now_ts = now_ts.tz_convert("UTC") if now_ts.tzinfo is not None else now_ts.tz_localize("UTC")
    now_ts = now_ts.as_unit("ns")
    now_s = now_ts.value / 1e9
    res_open = pd.isna(out["resolved_at"]).to_numpy()
    # a resolved request's clocks stop at its resolution at the latest, whatever gaps its log has (a
    # request closed by a reopen may never have shown a first response)
    resp_open = pd.isna(out["first_response_at"]).to_numpy() & res_open
    paused = out["paused"].to_numpy(dtype=bool) & res_open
    # open clocks run on from `clock_at`
    base = _seconds(out["clock_at"])
    res_el = out["resolution_elapsed_s"].to_numpy(dtype=np.float64).copy()
    resp_el = out["response_elapsed_s"].to_numpy(dtype=np.float64).copy()
    extra = np.zeros(n)
    grow = (res_open | resp_open) & ~paused & ~np.isnan(base) & (base < now_s)
    if grow.any():
        providers = out["provider"].to_numpy(dtype=object)
        for team in np.unique(providers[grow]):
            sel = grow & (providers == team)
            calendar = business_calendar(config.calendars[config.teams[str(team)].calendar])
            extra[sel] = calendar.elapsed(base[sel], np.full(int(sel.sum()), now_s))
    res_el = res_el + np.where(res_open, extra, 0.0)
    resp_el = resp_el + np.where(resp_open, extra, 0.0)
    out["resolution_elapsed_s"] = res_el
    out["response_elapsed_s"] = resp_el
    if grow.any():
        # the running clocks are now measured to `now`: evaluating the result again (at a later
        # `now`) adds only the time in between
        measured = pd.to_datetime(out["clock_at"], utc=True).astype("datetime64[ns, UTC]")
        out["clock_at"] = measured.where(~grow, now_ts)
    ratio = out["at_risk_ratio"].to_numpy(dtype=np.float64)
    out["response_state"] = _state(
        resp_el, out["response_goal_s"].to_numpy(dtype=np.float64), ratio, resp_open
    )
    out["resolution_state"] = _state(
        res_el, out["resolution_goal_s"].to_numpy(dtype=np.float64), ratio, res_open
    )
    if "verdict_due_at" in out:
        out["verdict"] = evaluate_verdicts(out, now)
    return out
