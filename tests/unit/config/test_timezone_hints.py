"""A timezone abbreviation gets a region's IANA zone as its suggestion, never a look-alike
abbreviation (issue 16, item 7): 'CEST' once drew "did you mean 'EST'?"."""

from __future__ import annotations

import pytest

from baton.config.validate import _timezone_message


@pytest.mark.parametrize(
    ("written", "suggested"),
    [
        ("CEST", "Europe/Berlin"),
        ("PST", "America/Los_Angeles"),
        ("pdt", "America/Los_Angeles"),
        ("AEST", "Australia/Sydney"),
    ],
)
def test_an_abbreviation_is_answered_with_a_zone(written: str, suggested: str) -> None:
    assert _timezone_message(written) == (
        f"unknown timezone '{written}': an abbreviation names an offset, not a zone; "
        f"use an IANA name such as '{suggested}'"
    )


def test_an_unknown_abbreviation_gets_no_look_alike() -> None:
    assert _timezone_message("XYZT") == (
        "unknown timezone 'XYZT': use an IANA name such as Europe/Berlin, America/New_York or UTC"
    )


def test_a_misspelt_zone_still_gets_its_near_name() -> None:
    assert (
        _timezone_message("Europe/Berln") == "unknown timezone 'Europe/Berln'; did you mean 'Europe/Berlin'?"
    )
