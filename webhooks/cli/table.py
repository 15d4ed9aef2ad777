"""The terminal table of the query commands: a default set of columns that fits 100 columns, in human
units (percent, working hours and minutes, minutes-precision UTC times); `--columns` picks fields and
`--wide` shows every field at full width. JSON and CSV are untouched: they carry the exact values."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import click

from baton.webhooks.serialize import RATIO_FIELDS

DEFAULT_WIDTH = 100
WIDE_WIDTH = 1000
"""--wide: as wide as the content needs (a table is never wider than its cells)."""

DEFAULT_COLUMNS: dict[str, tuple[str, ...]] = {
    "requests": ("issue", "provider", "kind", "state", "opened_at", "remaining_s", "due_at"),
    "score": (
        "period",
        "team",
        "score",
        "timeliness",
        "response_timeliness",
        "quality",
        "resolved",
        "rejected",
    ),
    "overview": (
        "rank",
        "team",
        "score",
        "score_change",
        "timeliness",
        "response_timeliness",
        "quality",
        "resolved",
        "small_sample",
    ),
    "matrix": ("requester", "provider", "requests", "resolved", "timeliness", "rejected", "rejection_rate"),
    "unmapped": ("requester", "provider", "from_status", "to_status", "count", "examples"),
    "unmatched": ("project", "issue_type", "reason", "count", "examples"),
}
"""What a default table shows per report; the breakdown key of `score --by` follows `team`."""

_HEADERS = {
    "response_timeliness": "response",
    "score_change": "change",
    "small_sample": "small",
    "rejection_rate": "rejection",
    "remaining_s": "remaining",
    "opened_at": "opened",
    "due_at": "due (UTC)",
    "from_status": "from",
    "to_status": "to",
}


def choose_columns(
    report: str, available: Sequence[str], columns: str | None, wide: bool, extra: Sequence[str] = ()
) -> list[str]:
    """The fields a table shows: `--columns` (checked against `available`), every field with `--wide`,
    else the report's default set (plus `extra`, e.g. a breakdown key)."""
    if columns:
        wanted = [c.strip() for c in columns.split(",") if c.strip()]
        unknown = [c for c in wanted if c not in available]
        if unknown:
            raise click.BadParameter(
                f"unknown column {', '.join(unknown)}; choose from: {', '.join(available)}",
                param_hint="--columns",
            )
        return wanted
    if wide or report not in DEFAULT_COLUMNS:
        return list(available)
    default = list(DEFAULT_COLUMNS[report])
    if extra:
        default[2:2] = [e for e in extra if e not in default]
    return [c for c in default if c in available]


def header(field: str) -> str:
    return _HEADERS.get(field, field.replace("_", " "))


def listed(values: Sequence[Any]) -> str:
    """A list cell: words joined by spaces (issue keys); counted reasons as `incomplete: 2; defects: 1`."""
    if any(isinstance(v, dict) for v in values):
        return "; ".join(
            f"{v.get('reason')}: {v.get('count')}" if isinstance(v, dict) else str(v) for v in values
        )
    return " ".join(str(v) for v in values)


def working_time(seconds: float) -> str:
    """Working seconds as hours and minutes: `12h 30m`, `45m`, `-2h 05m` past the goal."""
    sign = "-" if seconds < 0 else ""
    minutes = round(abs(seconds) / 60)
    hours, rest = divmod(minutes, 60)
    return f"{sign}{hours}h {rest:02d}m" if hours else f"{sign}{rest}m"


def human(field: str, value: Any) -> str:
    """One cell of a JSON record (already rounded by serialize) in the unit a reader expects."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return listed(value)
    if field in RATIO_FIELDS or field.endswith("_rate") or field.endswith("timeliness"):
        return f"{float(value) * 100:.1f} %"
    if field.endswith("_s") and isinstance(value, int | float):
        return working_time(float(value))
    if (field.endswith("_at") or field == "last_seen") and isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).strftime("%Y-%m-%d %H:%M")
        except ValueError:
            return value
    return str(value)
