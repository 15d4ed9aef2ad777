"""The team overview: every provider team's scorecard row for one period, worst first, with the change
against the previous period (docs/semantics.md, "Team overview").

Built on `baton.scoring.scores.scorecards` (the numbers are the scorecard's, never recomputed); this
module only picks the two periods, ranks and marks small samples. Pure: `now` is a parameter.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import numpy as np
import pandas as pd

from baton.config.schema import BatonConfig
from baton.scoring.periods import Period, recent_period_labels
from baton.scoring.scores import scorecards

SMALL_SAMPLE = 10
"""A team with fewer resolved requests than this in the period is a small sample: shown, but greyed,
and ranked after the teams with enough requests."""

OVERVIEW_COLUMNS: tuple[str, ...] = (
    "rank",
    "team",
    "period",
    "score",
    "timeliness",
    "response_timeliness",
    "quality",
    "resolved",
    "delivered",
    "rejected",
    "open_at_risk",
    "open_breached",
    "small_sample",
    "previous_period",
    "previous_score",
    "score_change",
)


def process_teams(config: BatonConfig, process: str | None = None) -> list[str]:
    """The teams that can be providers: of one process (its flow, its SLA rows and its ownership
    overrides), or of every process; in the configuration's team order."""
    names = [process] if process else list(config.processes)
    seen: set[str] = set()
    for name in names:
        proc = config.processes[name]
        for a, b in proc.forward_rules():
            seen.update((a, b))
        seen.update(row.provider for row in proc.sla)
        seen.update(proc.ownership)
    return [t for t in config.teams if t in seen]


def _ratio(value: object) -> float | None:
    """A scorecard cell as a float; None for a missing one (None or NaN)."""
    if isinstance(value, int | float | np.integer | np.floating) and value == value:  # NaN != NaN
        return float(value)
    return None


def _count(value: object) -> int:
    number = _ratio(value)
    return 0 if number is None else int(number)


def team_overview(
    requests: pd.DataFrame,
    config: BatonConfig,
    now: datetime,
    period: Period = "week",
    teams: Sequence[str] | None = None,
    min_requests: int = SMALL_SAMPLE,
) -> pd.DataFrame:
    """One row per team (`OVERVIEW_COLUMNS`) for the period containing `now`, worst first.

    The row's figures are `scorecards`' row of that period (a team without one has no score and
    counts 0). `previous_score` is the team's score in the period before, `score_change` = score -
    previous_score (one decimal; None unless both exist). Order: teams with a score and at least
    `min_requests` resolved requests by score ascending (ties: lower timeliness first, then name),
    then small samples the same way, then teams without a score; `rank` is 1, 2, ... in that order.
    """
    previous, current = recent_period_labels(now, period, 2, config.scoring.timezone)
    rows = scorecards(requests, config, now, period=period)
    by_key = {(r["period"], r["team"]): r for r in rows.to_dict("records")}
    out: list[dict[str, object]] = []
    for team in teams if teams is not None else process_teams(config):
        row = by_key.get((current, team), {})
        before = by_key.get((previous, team), {})
        score, prev = _ratio(row.get("score")), _ratio(before.get("score"))
        resolved = _count(row.get("resolved"))
        out.append(
            {
                "team": team,
                "period": current,
                "score": score,
                "timeliness": _ratio(row.get("timeliness")),
                "response_timeliness": _ratio(row.get("response_timeliness")),
                "quality": _ratio(row.get("quality")),
                "resolved": resolved,
                "delivered": _count(row.get("delivered")),
                "rejected": _count(row.get("rejected")),
                "open_at_risk": _count(row.get("open_at_risk")),
                "open_breached": _count(row.get("open_breached")),
                "small_sample": resolved < min_requests,
                "previous_period": previous,
                "previous_score": prev,
                "score_change": None if score is None or prev is None else round(score - prev, 1),
            }
        )

    def order(r: dict[str, object]) -> tuple[int, float, float, str]:
        score, timeliness = r["score"], r["timeliness"]
        group = 2 if score is None else (1 if r["small_sample"] else 0)
        return (
            group,
            float(score) if isinstance(score, float) else 0.0,
            float(timeliness) if isinstance(timeliness, float) else 2.0,
            str(r["team"]),
        )

    out.sort(key=order)
    for rank, r in enumerate(out, start=1):
        r["rank"] = rank
    frame = pd.DataFrame(out, columns=list(OVERVIEW_COLUMNS))
    for c in ("score", "timeliness", "response_timeliness", "quality", "previous_score", "score_change"):
        frame[c] = frame[c].astype(object).where(frame[c].notna(), None)
    return frame
