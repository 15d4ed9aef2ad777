"""Working-time durations as the PMO writes them: `4h`, `90m`, `2h30m`, `14d`, `45s`."""

from __future__ import annotations

import re

_PART = re.compile(r"(\d+(?:\.\d+)?)([dhms])")
_UNIT_SECONDS = {"d": 86400, "h": 3600, "m": 60, "s": 1}


def parse_duration(value: object) -> object:
    """Return seconds for a duration string; pass other values through for pydantic to judge."""
    if isinstance(value, bool):
        raise ValueError('a duration must be text like "4h", "90m" or "2h30m"')
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError("a duration cannot be negative")
        return int(value)
    if not isinstance(value, str):
        raise ValueError(f'expected a duration like "4h", "90m", "2h30m" or "14d", got {_kind(value)}')
    text = value.strip().lower().replace(" ", "")
    if not text:
        raise ValueError('empty duration; write it like "4h", "90m" or "2h30m"')
    parts = _PART.findall(text)
    if "".join(num + unit for num, unit in parts) != text:
        raise ValueError(f'\'{value}\' is not a duration; write it like "4h", "90m", "2h30m" or "14d"')
    units = [unit for _, unit in parts]
    if len(set(units)) != len(units):
        raise ValueError(f"'{value}' repeats a unit; write each unit once, largest first, like \"2h30m\"")
    seconds = sum(float(num) * _UNIT_SECONDS[unit] for num, unit in parts)
    if seconds <= 0:
        raise ValueError(f"'{value}' is zero; a goal must be longer than that, e.g. \"30m\"")
    return round(seconds)


def _kind(value: object) -> str:
    if value is None:
        return "nothing (an empty value)"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def format_duration(seconds: float) -> str:
    """Seconds -> the shortest `2h30m`-style text (for summaries and tables)."""
    total = round(seconds)
    if total == 0:
        return "0m"
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    out = "".join(f"{n}{u}" for n, u in ((days, "d"), (hours, "h"), (minutes, "m"), (secs, "s")) if n)
    return out
