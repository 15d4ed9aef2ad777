"""The hand-off matrix (requester x provider), the PMO's unmapped hand-off report, and the issues that
match no process (nothing is dropped without a word)."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd

from baton.config.schema import BatonConfig
from baton.scoring.clocks import evaluate_clocks
from baton.scoring.periods import Period, period_labels
from baton.scoring.rules import rules_for
from baton.scoring.verdicts import rejected_by_verdict, rejection_reasons

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
    "returns",
    "rejection_reasons",
)
"""`rejected` = `returns` (rejected by a return alone: the issue moved back, no verdict reason) + the
counts of `rejection_reasons` (rejected by the customer's verdict: `[{reason, count}]`, most frequent
first, ties by reason; `[]` when none)."""
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
    now; without it, every request. A cell's rejections are split into `returns` and the verdicts'
    `rejection_reasons` (`baton.scoring.verdicts.rejection_reasons` by requester and provider)."""
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
            "returns": (delivered & req["rejected"].to_numpy(dtype=bool) & ~rejected_by_verdict(req)).astype(
                np.int64
            ),
        }
    )
    out = frame.groupby(["requester", "provider"], dropna=False, sort=True).sum().reset_index()
    out["timeliness"] = [m / g if g else None for m, g in zip(out["met"], out["with_goal"], strict=True)]
    out["rejection_rate"] = [
        r / d if d else None for r, d in zip(out["rejected"], out["delivered"], strict=True)
    ]
    out["requester"] = out["requester"].astype(object).where(out["requester"].notna(), None)
    reasons: dict[tuple[object, object], list[dict[str, object]]] = {}
    for requester, provider, reason, n in rejection_reasons(req, by=("requester", "provider")).itertuples(
        index=False
    ):
        reasons.setdefault((requester, provider), []).append({"reason": reason, "count": int(n)})
    out["rejection_reasons"] = pd.Series(
        [reasons.get((rq, pv), []) for rq, pv in zip(out["requester"], out["provider"], strict=True)],
        dtype=object,
        index=out.index,
    )
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


UNMATCHED_COLUMNS: tuple[str, ...] = ("project", "issue_type", "reason", "count", "examples")
"""Columns of `unmatched_issues`: one row per (project, issue type) of issues that match no process."""

UNMATCHED_REASONS: tuple[str, ...] = ("no_project", "project", "issue_type")
"""Why an issue matches no process: it has no project (e.g. exported without `fields.project`); no
process lists its project; or the processes that list its project do not list its issue type."""

UNMATCHED_EXAMPLES = 3
"""Example issue keys per row of `unmatched_issues`."""


def _issue_order(issue_id: object) -> tuple[int, str]:
    """Jira issue ids are numbers (creation order); order them numerically, any other text after."""
    text = str(issue_id)
    return (len(text), text) if text.isdigit() else (1_000_000, text)


def unmatched_issues(
    issues: pd.DataFrame, config: BatonConfig, examples: int = UNMATCHED_EXAMPLES
) -> pd.DataFrame:
    """Issues that match no process (so no request is derived from them), per (project, issue type):
    `reason` (`UNMATCHED_REASONS`), `count`, and up to `examples` issue keys (the issue id when the key
    is unknown), oldest issue first. Most frequent first.

    `issues` has `issue_id`, `issue_key`, `project`, `issue_type` (`ISSUE_COLUMNS`), one row per issue;
    or it is already grouped: then a `count` column says how many issues each row stands for, and the
    examples are taken from the rows' keys where present."""
    if len(issues) == 0:
        return pd.DataFrame({c: pd.Series([], dtype=object) for c in UNMATCHED_COLUMNS})
    rules = rules_for(config)
    covered = {p for process in rules.processes for p in process.projects}
    n = len(issues)
    projects = issues["project"].to_numpy(dtype=object)
    types = issues["issue_type"].to_numpy(dtype=object)
    counts = issues["count"].to_numpy(dtype=np.int64) if "count" in issues else np.ones(n, dtype=np.int64)
    ids = issues["issue_id"].to_numpy(dtype=object) if "issue_id" in issues else np.full(n, None)
    keys = issues["issue_key"].to_numpy(dtype=object) if "issue_key" in issues else np.full(n, None)
    groups: dict[tuple[str | None, str | None], tuple[str, int, list[tuple[tuple[int, str], str]]]] = {}
    verdicts: dict[tuple[object, object], str | None] = {}
    for i in range(n):
        project = str(projects[i]) if projects[i] is not None and projects[i] == projects[i] else None
        itype = str(types[i]) if types[i] is not None and types[i] == types[i] else None
        pair = (project, itype)
        if pair not in verdicts:
            if rules.process_for(project, itype) >= 0:
                verdicts[pair] = None
            elif not project:
                verdicts[pair] = "no_project"
            elif project.casefold() not in covered:
                verdicts[pair] = "project"
            else:
                verdicts[pair] = "issue_type"
        reason = verdicts[pair]
        if reason is None:
            continue
        _, total, found = groups.get(pair, (reason, 0, []))
        key = keys[i] if keys[i] is not None and keys[i] == keys[i] else ids[i]
        if key is not None:
            found.append((_issue_order(ids[i] if ids[i] is not None else key), str(key)))
        groups[pair] = (reason, total + int(counts[i]), found)
    if not groups:
        return pd.DataFrame({c: pd.Series([], dtype=object) for c in UNMATCHED_COLUMNS})
    order = sorted(groups, key=lambda p: (-groups[p][1], p[0] is None, p[0] or "", p[1] or ""))
    return pd.DataFrame(
        {
            "project": pd.Series([p[0] for p in order], dtype=object),
            "issue_type": pd.Series([p[1] for p in order], dtype=object),
            "reason": pd.Series([groups[p][0] for p in order], dtype=object),
            "count": pd.Series([groups[p][1] for p in order], dtype=np.int64),
            "examples": pd.Series(
                [[key for _, key in sorted(groups[p][2])[:examples]] for p in order], dtype=object
            ),
        },
        columns=list(UNMATCHED_COLUMNS),
    )
