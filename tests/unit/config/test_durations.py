"""Durations as the PMO writes them."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from baton.config.durations import format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("4h", 4 * 3600),
        ("90m", 90 * 60),
        ("2h30m", 2 * 3600 + 30 * 60),
        ("14d", 14 * 86400),
        ("45s", 45),
        ("1.5h", 5400),
        (" 2H 30M ", 9000),
        ("1d2h3m4s", 86400 + 7200 + 180 + 4),
        (3600, 3600),
    ],
)
def test_parse(text: object, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("4x", '\'4x\' is not a duration; write it like "4h", "90m", "2h30m" or "14d"'),
        ("4 hours", "'4 hours' is not a duration"),
        ("h", "'h' is not a duration"),
        ("2h2h", "'2h2h' repeats a unit"),
        ("0m", "'0m' is zero"),
        ("", "empty duration"),
        ("-4h", "'-4h' is not a duration"),
        (-5, "a duration cannot be negative"),
        (True, "a duration must be text"),
        (None, "got nothing (an empty value)"),
        ([4], "got a list"),
    ],
)
def test_bad_durations_say_what_to_write(value: object, fragment: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_duration(value)
    assert fragment in str(caught.value)


@pytest.mark.parametrize(
    ("seconds", "text"), [(0, "0m"), (5400, "1h30m"), (86400, "1d"), (90061, "1d1h1m1s")]
)
def test_format(seconds: int, text: str) -> None:
    assert format_duration(seconds) == text


@given(st.integers(min_value=1, max_value=400 * 86400))
def test_format_then_parse_round_trips(seconds: int) -> None:
    assert parse_duration(format_duration(seconds)) == seconds
