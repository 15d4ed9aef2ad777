"""JSON shapes of requests, scorecards and hand-off reports: ONE place for field names and rounding.

The CLI (`baton requests|score|handoffs --format json|csv`) and the HTTP JSON API both call these
functions, so the two always print identical numbers for the same data (docs/semantics.md "Output fields").

Rounding rules (applied only here, at the edge; the engine keeps full precision):

* ratios (`timeliness`, `response_timeliness`, `quality`, `ratio_p50`, `ratio_p90`, rejection rates):
  `round(x, 4)`;
* durations in seconds (`*_elapsed_s`, `*_goal_s`): integers, `round()` half-to-even of the float;
* `score`: one decimal, `round(x, 1)`;
* hours (`rework_hours`): two decimals;
* counts: integers;
* instants: ISO 8601 with offset (`2026-03-02T09:00:00+00:00`, always UTC); `null` when absent;
  a computed instant (`due_at`) is rounded to the second first.

Missing values (None, NaN, NaT) become `null`, never `0`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, cast

import numpy as np
import pandas as pd

from baton.scoring.handoffs import UNMAPPED_COLUMNS, UNMATCHED_COLUMNS
from baton.scoring.overview import OVERVIEW_COLUMNS
from baton.scoring.scores import SCORE_COLUMNS

__all__ = [
    "HANDOFF_FIELDS",
    "OVERVIEW_FIELDS",
    "REASON_FIELDS",
    "REQUEST_FIELDS",
    "SCORE_FIELDS",
    "UNMAPPED_FIELDS",
    "UNMATCHED_FIELDS",
    "handoff_records",
    "iso",
    "iso_second",
    "number",
    "overview_records",
    "preview_record",
    "ratio",
    "reason_records",
    "request_records",
    "score",
    "score_records",
    "seconds",
    "unmapped_records",
    "unmatched_records",
    "unmatched_summary",
]

REQUEST_FIELDS: tuple[str, ...] = (
    "site",
    "issue",
    "process",
    "provider",
    "requester",
    "kind",
    "opened_at",
    "first_response_at",
    "resolved_at",
    "outcome",
    "rejected",
    "response_elapsed_s",
    "resolution_elapsed_s",
    "response_goal_s",
    "resolution_goal_s",
    "response_state",
    "resolution_state",
    "state",
    "remaining_s",
    "due_at",
    "paused",
    "customer",
    "verdict",
    "rating",
    "verdict_reason",
    "verdict_by",
    "verdict_at",
    "verdict_due_at",
)
"""`baton requests --format json` fields, in order (docs/semantics.md, "Output fields"); `state` to `paused` are the live
clock (`baton.scoring.engine.live_clocks`), then the customer's verdict (docs/semantics.md "Verdicts"). The JSON API adds `issue_id` and `issue_url`."""

SCORE_FIELDS: tuple[str, ...] = ("period", "team", *SCORE_COLUMNS)
"""`baton score --format json` fields; the breakdown key (`process`, `pair`, `issue_type`) follows `team`."""

BREAKDOWN_KEYS: tuple[str, ...] = ("process", "pair", "issue_type")
RATIO_FIELDS = frozenset(
    {
        "timeliness",
        "response_timeliness",
        "quality",
        "ratio_p50",
        "ratio_p90",
        "rejection_rate",
        "satisfaction",
    }
)
COUNT_FIELDS = frozenset(
    {
        "resolved",
        "delivered",
        "rejected",
        "open_at_risk",
        "open_breached",
        "count",
        "requests",
        "open",
        "volume",
        "met",
        "with_goal",
        "returns",
    }
)

OVERVIEW_FIELDS: tuple[str, ...] = OVERVIEW_COLUMNS
"""`baton score --rank --format json` and `/api/v1/overview` rows: rank, team, the current period's
scorecard figures, `small_sample`, and the previous period's score with the change (docs/semantics.md,
"Team overview")."""

HANDOFF_FIELDS: tuple[str, ...] = ("requester", "provider")
UNMAPPED_FIELDS: tuple[str, ...] = UNMAPPED_COLUMNS
"""Unmapped hand-off report: team pair (`requester` hands to `provider`), status pair, count, examples."""

UNMATCHED_FIELDS: tuple[str, ...] = UNMATCHED_COLUMNS
"""Issues matching no process: project, issue type, reason (`no_project`, `project`, `issue_type`), count,
examples (issue keys)."""


def _missing(value: object) -> bool:
    if value is None or value is pd.NaT:
        return True
    if isinstance(value, float | np.floating):
        return math.isnan(float(value))
    try:
        return bool(pd.isna(cast(Any, value)))
    except (TypeError, ValueError):
        return False


def iso(value: object) -> str | None:
    """An instant as ISO 8601 with offset (UTC); naive values are taken as UTC."""
    if _missing(value):
        return None
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    elif isinstance(value, np.datetime64):
        value = pd.Timestamp(value).to_pydatetime()
    elif isinstance(value, str):
        value = datetime.fromisoformat(value)
    if not isinstance(value, datetime):
        raise TypeError(f"not an instant: {value!r}")
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat()


def iso_second(value: object) -> str | None:
    """A computed instant rounded to the whole second (half to even), as `iso`."""
    if _missing(value):
        return None
    instant = pd.Timestamp(cast(Any, value))
    if instant.tzinfo is None:
        instant = instant.tz_localize(UTC)
    return iso(pd.Timestamp(round(instant.value / 1e9), unit="s", tz=UTC))


def seconds(value: object) -> int | None:
    """Seconds as an integer (`round`), or None."""
    if _missing(value):
        return None
    return round(float(value))  # type: ignore[arg-type]


def ratio(value: object) -> float | None:
    """A ratio rounded to 4 decimals, or None."""
    if _missing(value):
        return None
    return round(float(value), 4)  # type: ignore[arg-type]


def score(value: object) -> float | None:
    """A 0-100 score rounded to one decimal, or None."""
    if _missing(value):
        return None
    return round(float(value), 1)  # type: ignore[arg-type]


def hours(value: object) -> float | None:
    if _missing(value):
        return None
    return round(float(value), 2)  # type: ignore[arg-type]


def count(value: object) -> int:
    return 0 if _missing(value) else int(value)  # type: ignore[call-overload]


def text(value: object) -> str | None:
    if _missing(value):
        return None
    if isinstance(value, np.generic):
        value = value.item()
    return str(value)


def boolean(value: object) -> bool:
    return False if _missing(value) else bool(value)


def number(name: str, value: object) -> Any:
    """A scorecard/report cell by its field name's rule."""
    if name == "score":
        return score(value)
    if name in RATIO_FIELDS or name.endswith("_rate") or name.endswith("timeliness"):
        return ratio(value)
    if name in COUNT_FIELDS:
        return count(value)
    if name.endswith("_hours"):
        return hours(value)
    if name.endswith("_s"):
        return seconds(value)
    if name.endswith("_at") or name == "last_seen":
        return iso(value)
    if isinstance(value, list | tuple):
        return [text(v) for v in value]
    if isinstance(value, np.ndarray):
        return [text(v) for v in value.tolist()]
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, np.floating | float):
        return None if _missing(value) else float(value)
    return text(value)


def _records(frame: pd.DataFrame) -> Iterable[Mapping[str, Any]]:
    columns = list(frame.columns)
    for values in frame.itertuples(index=False, name=None):
        yield dict(zip(columns, values, strict=True))


def request_records(requests: pd.DataFrame, site: str) -> list[dict[str, Any]]:
    """Requests (after `baton.scoring.engine.live_clocks`) -> objects with `REQUEST_FIELDS`."""
    out: list[dict[str, Any]] = []
    for row in _records(requests):
        key = row.get("issue_key")
        out.append(
            {
                "site": site,
                "issue": text(key) if not _missing(key) else text(row.get("issue_id")),
                "process": text(row.get("process")),
                "provider": text(row.get("provider")),
                "requester": text(row.get("requester")),
                "kind": text(row.get("kind")),
                "opened_at": iso(row.get("opened_at")),
                "first_response_at": iso(row.get("first_response_at")),
                "resolved_at": iso(row.get("resolved_at")),
                "outcome": text(row.get("outcome")),
                "rejected": boolean(row.get("rejected")),
                "response_elapsed_s": seconds(row.get("response_elapsed_s")),
                "resolution_elapsed_s": seconds(row.get("resolution_elapsed_s")),
                "response_goal_s": seconds(row.get("response_goal_s")),
                "resolution_goal_s": seconds(row.get("resolution_goal_s")),
                "response_state": text(row.get("response_state")) or "none",
                "resolution_state": text(row.get("resolution_state")) or "none",
                "state": text(row.get("state")) or "none",
                "remaining_s": seconds(row.get("remaining_s")),
                "due_at": iso_second(row.get("due_at")),
                "paused": boolean(row.get("paused")),
                "customer": text(row.get("customer")),
                "verdict": text(row.get("verdict")),
                "rating": None if _missing(row.get("rating")) else int(row["rating"]),
                "verdict_reason": text(row.get("verdict_reason")),
                "verdict_by": text(row.get("verdict_by")),
                "verdict_at": iso(row.get("verdict_at")),
                "verdict_due_at": iso(row.get("verdict_due_at")),
            }
        )
    return out


def _ordered(row: Mapping[str, Any], leading: Sequence[str]) -> dict[str, Any]:
    out = {name: number(name, row.get(name)) for name in leading if name in row}
    for name, value in row.items():
        if name not in out:
            out[name] = number(name, value)
    return out


def score_records(scores: pd.DataFrame, by: str | None = None) -> list[dict[str, Any]]:
    """`baton.scoring.engine.scorecards` rows -> objects with the docs/semantics.md "Output fields".

    Field order: `period`, `team`, the breakdown key (`process` / `pair` / `issue_type`, when `by` is
    given), then the figures. A `pair` breakdown given as `requester` + `provider` columns is shown as
    `pair: "requester->provider"` as well. Columns the engine adds beyond these are passed through.
    """
    out: list[dict[str, Any]] = []
    for row in _records(scores):
        record = dict(row)
        if by == "pair" and "pair" not in record and "requester" in record:
            record["pair"] = f"{text(record.get('requester')) or 'intake'}->{text(record.get('team'))}"
        leading = ["period", "team", *([by] if by else []), *SCORE_FIELDS[2:]]
        clean = _ordered(record, leading)
        for name in SCORE_FIELDS:
            clean.setdefault(name, None if name not in COUNT_FIELDS else 0)
        out.append(clean)
    return out


def handoff_records(matrix: pd.DataFrame) -> list[dict[str, Any]]:
    """`baton.scoring.engine.handoff_matrix` rows (requester x provider) -> objects, rounding by field name;
    `rejection_reasons` as `[{reason, count}]`, most frequent first (`[]` when none)."""
    frame = matrix.reset_index() if not isinstance(matrix.index, pd.RangeIndex) else matrix
    out: list[dict[str, Any]] = []
    for row in _records(frame):
        reasons = row.get("rejection_reasons")
        record = _ordered({k: v for k, v in row.items() if k != "rejection_reasons"}, HANDOFF_FIELDS)
        if "rejection_reasons" in row:
            record["rejection_reasons"] = [
                {"reason": text(r["reason"]), "count": count(r["count"])} for r in (reasons or [])
            ]
        out.append(record)
    return out


def unmapped_records(report: pd.DataFrame) -> list[dict[str, Any]]:
    """`baton.scoring.engine.unmapped_report` rows -> objects (counts per team pair and status pair)."""
    frame = report.reset_index() if not isinstance(report.index, pd.RangeIndex) else report
    return [_ordered(row, UNMAPPED_FIELDS) for row in _records(frame)]


def unmatched_records(report: pd.DataFrame) -> list[dict[str, Any]]:
    """`baton.scoring.engine.unmatched_issues` rows -> objects (issues matching no process, per project and
    issue type)."""
    return [_ordered(row, UNMATCHED_FIELDS) for row in _records(report)]


def unmatched_summary(report: pd.DataFrame) -> dict[str, Any]:
    """`{"total": N, "rows": [...]}`: how many issues match no process, and `unmatched_records`."""
    rows = unmatched_records(report)
    return {"total": sum(r["count"] for r in rows), "rows": rows}


def overview_records(overview: pd.DataFrame) -> list[dict[str, Any]]:
    """`baton.scoring.engine.team_overview` rows -> objects with `OVERVIEW_FIELDS`, rounded like
    scorecards (ratios 4 decimals, scores and the change 1 decimal)."""
    out: list[dict[str, Any]] = []
    for row in _records(overview):
        record = {name: number(name, row.get(name)) for name in OVERVIEW_FIELDS}
        record.update(
            rank=count(row.get("rank")),
            previous_score=score(row.get("previous_score")),
            score_change=score(row.get("score_change")),
            small_sample=boolean(row.get("small_sample")),
            period=text(row.get("period")),
            previous_period=text(row.get("previous_period")),
        )
        out.append(record)
    return out


def goal_records(config: Any) -> list[dict[str, Any]]:
    """The SLA goals of the configuration, one object per SLA row (and per process with an
    `unmapped_goal`), in working seconds: what the gadgets' explanations quote as "the goal"."""
    out: list[dict[str, Any]] = []
    for name, proc in config.processes.items():
        for row in proc.sla:
            out.append(
                {
                    "process": name,
                    "provider": row.provider,
                    "requester": row.requester,
                    "priority": list(row.when.priority) if row.when and row.when.priority else None,
                    "issue_type": list(row.when.issue_type) if row.when and row.when.issue_type else None,
                    "response_s": seconds(row.response),
                    "resolution_s": seconds(row.resolution),
                    "rework_s": seconds(row.rework),
                    "at_risk": ratio(row.at_risk if row.at_risk is not None else proc.at_risk),
                }
            )
    return out


def preview_record(preview: Any) -> dict[str, Any]:
    """`baton.store.preview.run_preview`'s `Preview` as JSON (`baton config preview --format json` and the
    admin API): every `before`/`after` row shaped by `score_records`, so an `after` row is exactly the
    row `baton score --by process --format json` prints once the draft is published and applied."""
    return cast(dict[str, Any], preview.to_json(score_records))


REASON_FIELDS: tuple[str, ...] = ("provider", "reason", "count")
"""`baton verdicts --report reasons`: rejection reasons per provider, most frequent first."""


def reason_records(report: pd.DataFrame) -> list[dict[str, Any]]:
    """`baton.scoring.engine.rejection_reasons` rows -> objects with `REASON_FIELDS`."""
    return [
        {"provider": text(row["provider"]), "reason": text(row["reason"]), "count": count(row["count"])}
        for row in _records(report)
    ]
