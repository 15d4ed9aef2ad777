"""The hand-off matrix (requester x provider) and the PMO's unmapped hand-off report."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd

from baton.config.schema import BatonConfig
from baton.scoring.clocks import evaluate_clocks
from baton.scoring.periods import Period, period_labels

MATRIX_COLUMNS: tuple[str, ...] = (
    "requester",
    "provider",
    "requests",
    "open",
    "resolved",
    "met",
    "with_goal",
    "timeliness",
    "delivered",
    "rejected",
    "rejection_rate",
)
UNMAPPED_COLUMNS: tuple[str, ...] = (
    "requester",
    "provider",
    "from_status",
    "to_status",
    "count",
    "examples",
    "last_seen",
)


def handoff_matrix(
    requests: pd.DataFrame, config: BatonConfig, now: datetime, period: Period | None = None
) -> pd.DataFrame:
    """One row per (requester, provider) pair; intake requests have requester None. `requests` counts
    the open ones (`open`) and the resolved ones (`resolved`). With `period`, only requests resolved in
    the period containing `now` (in the scoring time zone, as scorecards count them) and those open
    now; without it, every request."""
    if len(requests) == 0:
        return pd.DataFrame({c: pd.Series([], dtype=object) for c in MATRIX_COLUMNS})
    req = requests if "resolution_state" in requests else evaluate_clocks(requests, config, now)
    if period is not None:
        tz = config.scoring.timezone
        current = period_labels(pd.Series([pd.Timestamp(now)]), period, tz)[0]
        labels = period_labels(req["resolved_at"], period, tz)
        req = req[(labels == current) | req["resolved_at"].isna().to_numpy()]
        if len(req) == 0:
            return pd.DataFrame({c: pd.Series([], dtype=object) for c in MATRIX_COLUMNS})
    resolved = req["resolved_at"].notna().to_numpy()
    has_goal = req["resolution_goal_s"].notna().to_numpy() & resolved
    delivered = (req["outcome"].to_numpy(dtype=object) == "delivered") & resolved
    frame = pd.DataFrame(
        {
            "requester": req["requester"].to_numpy(dtype=object),
            "provider": req["provider"].to_numpy(dtype=object),
            "requests": 1,
            "open": (~resolved).astype(np.int64),
            "resolved": resolved.astype(np.int64),
            "met": (has_goal & (req["resolution_state"].to_numpy(dtype=object) == "met")).astype(np.int64),
            "with_goal": has_goal.astype(np.int64),
            "delivered": delivered.astype(np.int64),
            "rejected": (delivered & req["rejected"].to_numpy(dtype=bool)).astype(np.int64),
        }
    )
    out = frame.groupby(["requester", "provider"], dropna=False, sort=True).sum().reset_index()
    out["timeliness"] = [m / g if g else None for m, g in zip(out["met"], out["with_goal"], strict=True)]
    out["rejection_rate"] = [
        r / d if d else None for r, d in zip(out["rejected"], out["delivered"], strict=True)
    ]
    out["requester"] = out["requester"].astype(object).where(out["requester"].notna(), None)
    for c in ("timeliness", "rejection_rate"):
        out[c] = out[c].astype(object).where(out[c].notna(), None)
    return out[list(MATRIX_COLUMNS)]


def unmapped_report(requests: pd.DataFrame) -> pd.DataFrame:
    """Unmapped hand-offs per (requester team, provider team, from status, to status): count, up to three
    example issue keys (first seen first), last seen."""
    if len(requests) == 0:
        return pd.DataFrame({c: pd.Series([], dtype=object) for c in UNMAPPED_COLUMNS})
    un = requests[requests["kind"].to_numpy(dtype=object) == "unmapped"]
    if len(un) == 0:
        return pd.DataFrame({c: pd.Series([], dtype=object) for c in UNMAPPED_COLUMNS})
    un = un.sort_values("opened_at", kind="stable")
    keys = un["issue_key"].astype(object).where(un["issue_key"].notna(), un["issue_id"])
    frame = pd.DataFrame(
        {
            "requester": un["requester"].to_numpy(dtype=object),
            "provider": un["provider"].to_numpy(dtype=object),
            "from_status": un["from_status"].to_numpy(dtype=object),
            "to_status": un["to_status"].to_numpy(dtype=object),
            "key": keys.to_numpy(dtype=object),
            "opened_at": un["opened_at"].to_numpy(),
        }
    )
    grouped = frame.groupby(["requester", "provider", "from_status", "to_status"], dropna=False, sort=True)
    out = grouped.agg(
        count=("key", "size"),
        examples=("key", lambda s: list(dict.fromkeys(s))[:3]),
        last_seen=("opened_at", "max"),
    ).reset_index()
    out["last_seen"] = pd.to_datetime(out["last_seen"], utc=True)
    out = out.sort_values(["count", "requester", "provider"], ascending=[False, True, True], kind="stable")
    return out[list(UNMAPPED_COLUMNS)].reset_index(drop=True)
