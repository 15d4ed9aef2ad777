"""The default terminal table fits 100 columns in human units; --columns and --wide (issue 16, item 8)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from baton.webhooks.cli.table import human, working_time
from baton.webhooks.serialize import REQUEST_FIELDS
from tests.integration.cli.conftest import DEMO_CONFIG, baton, baton_json


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    db = f"sqlite:///{tmp_path_factory.mktemp('table') / 'demo.db'}"
    baton_json(
        "demo", "load", "--db", db, "--site", "demo", "--issues", "40", "--weeks", "3", "--format", "json"
    )
    return db


def _query(db: str, *args: str) -> str:
    result = baton(
        *args, "--db", db, "--site", "demo", "--config", str(DEMO_CONFIG), "--now", "2026-03-20T12:00:00Z"
    )
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.mark.parametrize("command", ["requests", "score", "handoffs"])
def test_the_default_table_fits_100_columns(demo_db: str, command: str) -> None:
    lines = _query(demo_db, command).splitlines()
    assert len(lines) > 4
    assert max(len(line) for line in lines) <= 100


def test_scores_read_in_percent_and_raw_fractions_do_not_appear(demo_db: str) -> None:
    table = _query(demo_db, "score")
    assert re.search(r"\d+\.\d %", table)
    assert not re.search(r"\b0\.\d{4}\b", table)


def test_columns_picks_fields_and_wide_shows_every_field(demo_db: str) -> None:
    picked = _query(demo_db, "requests", "--columns", "issue,resolution_goal_s")
    header = next(line for line in picked.splitlines() if "issue" in line)
    assert "resolution goal s" in header and "provider" not in header
    assert re.search(r"\b\d+h \d{2}m\b", picked)  # goals in working hours and minutes, not seconds
    wide = _query(demo_db, "requests", "--wide")
    assert max(len(line) for line in wide.splitlines()) > 100
    assert len(next(line for line in wide.splitlines() if "issue" in line).split("┃")) - 2 == len(
        REQUEST_FIELDS
    )


def test_an_unknown_column_is_a_usage_error(demo_db: str, tmp_path: Path) -> None:
    result = baton(
        "requests", "--db", demo_db, "--site", "demo", "--config", str(DEMO_CONFIG), "--columns", "nope"
    )
    assert result.exit_code == 2
    assert "unknown column nope; choose from: site, issue" in result.output


def test_human_units() -> None:
    assert working_time(144000) == "40h 00m"
    assert working_time(-2700) == "-45m"
    assert human("timeliness", 0.9231) == "92.3 %"
    assert human("due_at", "2026-03-20T12:00:00Z") == "2026-03-20 12:00"
    assert human("remaining_s", 5400) == "1h 30m"
    assert human("resolved", 7) == "7"
