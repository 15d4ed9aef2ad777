"""Scorecards per team and period, with breakdowns (docs/semantics.md 'Scores' and 'Output fields')."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from baton.config.schema import BatonConfig
from baton.scoring.clocks import evaluate_clocks
from baton.scoring.live import live_state
from baton.scoring.periods import Period, period_labels

Breakdown = Literal["process", "pair", "issue_type"]

SCORE_COLUMNS: tuple[str, ...] = (
    "timeliness",
    "response_timeliness",
    "quality",
    "score",
    "resolved",
    "delivered",
    "rejected",
    "ratio_p50",
    "ratio_p90",
    "rework_hours",
    "open_at_risk",
    "open_breached",
    "satisfaction",
)
_MISSING = "\x00missing"
INTAKE_LABEL = "intake"
"""Requester shown in `pair` keys for intake requests (which have no requester)."""


def breakdown_key(requests: pd.DataFrame, by: Breakdown) -> npt.NDArray[np.object_]:
    if by == "pair":
        req = requests["requester"].to_numpy(dtype=object)
        prov = requests["provider"].to_numpy(dtype=object)
        return np.array(
            [f"{r if isinstance(r, str) else INTAKE_LABEL}->{p}" for r, p in zip(req, prov, strict=True)],
            dtype=object,
        )
    values: npt.NDArray[np.object_] = requests[by].to_numpy(dtype=object)
    out = values.copy()
    out[pd.isna(values)] = None  # one vectorised test, not one call per request
    return out


def score_of(
    timeliness: float | None,
    quality: float | None,
    config: BatonConfig,
    satisfaction: float | None = None,
) -> float | None:
    """100 x the weighted mean of the present parts (weights renormalised); satisfaction takes part
    only when `scoring.weights.satisfaction` is set."""
    w = config.scoring.weights
    parts = [(w.timeliness, timeliness), (w.quality, quality)]
    if w.satisfaction is not None:
        parts.append((w.satisfaction, satisfaction))
    used = [(weight, value) for weight, value in parts if value is not None and not np.isnan(value)]
    total = sum(weight for weight, _ in used)
    if not used or total == 0:
        return None
    return round(100.0 * sum(weight * value for weight, value in used) / total, 1)


def _ratio(num: float, den: float) -> float | None:
    return float(num) / float(den) if den else None


_SUMMED = (
    "resolved",
    "delivered",
    "rejected",
    "with_goal",
    "met",
    "with_resp_goal",
    "resp_met",
    "rework_hours",
    "rated",
    "rating_sum",
)


def _group_columns(by: Breakdown | None) -> list[str]:
    return ["period", "team", *([by] if by else [])]


def _grouping_key(req: pd.DataFrame, by: Breakdown | None) -> npt.NDArray[np.object_] | None:
    """The breakdown key per request; a missing key (an issue without a type) is a group of its own: a
    sentinel stands for it, since pandas joins and quantiles do not line NaN group keys up reliably."""
    if not by:
        return None
    key = breakdown_key(req, by)
    return np.asarray(np.where(pd.isna(key), _MISSING, key), dtype=object)


def _resolved_totals(
    req: pd.DataFrame, period: Period, tz: str, by: Breakdown | None, key: npt.NDArray[np.object_] | None
) -> pd.DataFrame:
    """Resolved requests per (period of resolution, team[, key]): the `_SUMMED` counts and rework hours,
    and the 0.5 / 0.9 quantiles of elapsed/goal (columns `0.5`, `0.9`)."""
    resolved_mask = req["resolved_at"].notna().to_numpy()
    res_goal = req["resolution_goal_s"].to_numpy(dtype=np.float64)
    resp_goal = req["response_goal_s"].to_numpy(dtype=np.float64)
    res_el = req["resolution_elapsed_s"].to_numpy(dtype=np.float64)
    res_state = req["resolution_state"].to_numpy(dtype=object)
    resp_state = req["response_state"].to_numpy(dtype=object)
    delivered = req["outcome"].to_numpy(dtype=object) == "delivered"
    rejected = req["rejected"].to_numpy(dtype=bool) & delivered
    kind = req["kind"].to_numpy(dtype=object)
    rating = req["rating"].to_numpy(dtype=np.float64) if "rating" in req else np.full(len(req), np.nan)
    # a rated delivery: its latest valid verdict accepted it with a rating, and it was not rejected
    rated = delivered & ~rejected & ~np.isnan(rating)
    has_res_goal = ~np.isnan(res_goal)
    has_resp_goal = ~np.isnan(resp_goal)
    frame = pd.DataFrame(
        {
            "period": period_labels(req["resolved_at"], period, tz),
            "team": req["provider"].to_numpy(dtype=object),
            "resolved": resolved_mask.astype(np.int64),
            "delivered": (delivered & resolved_mask).astype(np.int64),
            "rejected": (rejected & resolved_mask).astype(np.int64),
            "with_goal": (has_res_goal & resolved_mask).astype(np.int64),
            "met": (has_res_goal & resolved_mask & (res_state == "met")).astype(np.int64),
            "with_resp_goal": (has_resp_goal & resolved_mask).astype(np.int64),
            "resp_met": (has_resp_goal & resolved_mask & (resp_state == "met")).astype(np.int64),
            "rework_hours": np.where(resolved_mask & (kind == "rework"), res_el / 3600.0, 0.0),
            "rated": (rated & resolved_mask).astype(np.int64),
            "rating_sum": np.where(rated & resolved_mask, rating, 0.0),
            "ratio": np.where(
                has_res_goal & resolved_mask, res_el / np.where(has_res_goal, res_goal, 1.0), np.nan
            ),
        }
    )
    if by:
        frame[by] = key
    group_cols = _group_columns(by)
    done = frame[resolved_mask]
    sums = done.groupby(group_cols, dropna=False, sort=True)[list(_SUMMED)].sum()
    quant = (
        done.groupby(group_cols, dropna=False, sort=True)["ratio"].quantile(np.array([0.5, 0.9])).unstack()
    )
    return sums.join(quant, how="outer")


def _open_counts(
    req: pd.DataFrame,
    now: datetime,
    period: Period,
    tz: str,
    by: Breakdown | None,
    key: npt.NDArray[np.object_] | None,
) -> pd.DataFrame:
    """Open requests at risk / breached as of `now` (the live state: resolution clock, else response
    clock), per (period containing `now`, team[, key])."""
    open_mask = req["resolved_at"].isna().to_numpy()
    state = live_state(req).to_numpy(dtype=object)
    now_label = period_labels(pd.Series([pd.Timestamp(now)]), period, tz)[0]
    open_frame = pd.DataFrame(
        {
            "period": np.full(int(open_mask.sum()), now_label, dtype=object),
            "team": req["provider"].to_numpy(dtype=object)[open_mask],
            "open_at_risk": (state[open_mask] == "at_risk").astype(np.int64),
            "open_breached": (state[open_mask] == "breached").astype(np.int64),
        }
    )
    if by:
        assert key is not None
        open_frame[by] = key[open_mask]
    return open_frame.groupby(_group_columns(by), dropna=False, sort=True)[
        ["open_at_risk", "open_breached"]
    ].sum()


def _score_rows(table: pd.DataFrame, config: BatonConfig, by: Breakdown | None) -> list[dict[str, object]]:
    """Per group row of the joined totals: the ratios (None without data), the score and the counts."""
    rows: list[dict[str, object]] = []
    for rec in table.reset_index().to_dict("records"):

        def num(name: str, rec: dict[object, object] = rec) -> float:
            value = rec.get(name)
            return 0.0 if value is None or pd.isna(value) else float(value)  # type: ignore[arg-type,call-overload,unused-ignore]

        timeliness = _ratio(num("met"), num("with_goal"))
        response = _ratio(num("resp_met"), num("with_resp_goal"))
        quality = 1.0 - num("rejected") / num("delivered") if num("delivered") else None
        satisfaction = num("rating_sum") / (5.0 * num("rated")) if num("rated") else None
        p50, p90 = rec.get(0.5), rec.get(0.9)
        row: dict[str, object] = {"period": rec["period"], "team": rec["team"]}
        if by:
            value = rec[by]
            row[by] = None if value == _MISSING else value
        row.update(
            timeliness=timeliness,
            response_timeliness=response,
            quality=quality,
            satisfaction=satisfaction,
            score=score_of(timeliness, quality, config, satisfaction),
            resolved=int(num("resolved")),
            delivered=int(num("delivered")),
            rejected=int(num("rejected")),
            ratio_p50=None if p50 is None or pd.isna(p50) else float(p50),  # type: ignore[arg-type,unused-ignore]
            ratio_p90=None if p90 is None or pd.isna(p90) else float(p90),  # type: ignore[arg-type,unused-ignore]
            rework_hours=num("rework_hours"),
            open_at_risk=int(num("open_at_risk")),
            open_breached=int(num("open_breached")),
        )
        rows.append(row)
    return rows


def _ordered_frame(rows: list[dict[str, object]], columns: list[str], by: Breakdown | None) -> pd.DataFrame:
    """The rows as a frame with `columns`, missing ratios as None, sorted by period, team[, key]."""
    out = pd.DataFrame(rows, columns=columns)
    for c in (
        "timeliness",
        "response_timeliness",
        "quality",
        "satisfaction",
        "score",
        "ratio_p50",
        "ratio_p90",
    ):
        out[c] = out[c].astype(object).where(out[c].notna(), None)
    return out.sort_values(_group_columns(by), kind="stable", na_position="last").reset_index(drop=True)


def scorecards(
    requests: pd.DataFrame,
    config: BatonConfig,
    now: datetime,
    period: Period = "week",
    by: Breakdown | None = None,
) -> pd.DataFrame:
    """One row per (period, team[, breakdown key]), in stages:

    1. evaluate the clocks at `now` unless the frame already has states;
    2. `_grouping_key`: the breakdown key per request;
    3. `_resolved_totals`: counts and elapsed/goal quantiles of resolved requests per period of resolution;
    4. `_open_counts`: open requests at risk / breached, on the row of the period containing `now`;
    5. `_score_rows`: ratios and the score per joined group;
    6. `_ordered_frame`: the frame, sorted.
    """
    columns = [*_group_columns(by), *SCORE_COLUMNS]
    if len(requests) == 0:
        return pd.DataFrame({c: pd.Series([], dtype=object) for c in columns})
    req = requests if "resolution_state" in requests else evaluate_clocks(requests, config, now)
    tz = config.scoring.timezone
    key = _grouping_key(req, by)
    table = _resolved_totals(req, period, tz, by, key).join(
        _open_counts(req, now, period, tz, by, key), how="outer"
    )
    return _ordered_frame(_score_rows(table, config, by), columns, by)
