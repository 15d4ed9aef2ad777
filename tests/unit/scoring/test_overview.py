"""The team overview (docs/semantics.md, "Team overview"): the scorecard's rows of the current period,
worst first, small samples after, with the change against the previous period."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pandas as pd
import pytest

from baton.config.loader import load_config
from baton.scoring import engine
from baton.scoring.overview import OVERVIEW_COLUMNS
from baton.scoring.simulate import simulate_frames, status_categories
from tests.integration.api.seeding import DEMO_CONFIG
from tests.integration.api.seeding import NOW as DEMO_NOW
from tests.unit.scoring.worked import CONFIG, REOPEN, STEPS, berlin, issues, transitions

NOW = berlin(6, 12)  # Friday noon of 2026-W10, after Done
LATER = berlin(9, 12)  # Monday noon of 2026-W11, after the reopen


def _rows(frame: pd.DataFrame) -> list[tuple[object, ...]]:
    return [
        (
            r["rank"],
            r["team"],
            r["score"],
            r["resolved"],
            r["small_sample"],
            r["previous_score"],
            r["score_change"],
        )
        for r in frame.to_dict("records")
    ]


def test_worked_example_week_is_ranked_worst_first() -> None:
    requests = engine.evaluate_clocks(
        engine.derive_requests(transitions(STEPS), issues(), CONFIG), CONFIG, NOW
    )
    frame = engine.team_overview(requests, CONFIG, NOW, "week")
    assert list(frame.columns) == list(OVERVIEW_COLUMNS)
    # dev 50.0 (quality 1/2), then ops and qa at 100.0: tie on score and timeliness, by name
    assert _rows(frame) == [
        (1, "dev", 50.0, 2, True, None, None),
        (2, "ops", 100.0, 1, True, None, None),
        (3, "qa", 100.0, 2, True, None, None),
    ]
    assert set(frame["period"]) == {"2026-W10"} and set(frame["previous_period"]) == {"2026-W09"}
    ops = frame[frame["team"] == "ops"].iloc[0]
    assert (ops["timeliness"], ops["response_timeliness"], ops["quality"]) == (1.0, 0.0, 1.0)


def test_the_next_week_compares_with_the_previous_one() -> None:
    log = transitions([*STEPS, REOPEN])
    requests = engine.evaluate_clocks(engine.derive_requests(log, issues(), CONFIG), CONFIG, LATER)
    frame = engine.team_overview(requests, CONFIG, LATER, "week")
    # nothing resolved in 2026-W11 yet: no scores, ranked by name; W10's dev score fell to 0.0 (reopen)
    assert _rows(frame) == [
        (1, "dev", None, 0, True, 0.0, None),
        (2, "ops", None, 0, True, 100.0, None),
        (3, "qa", None, 0, True, 100.0, None),
    ]


@pytest.fixture(scope="module")
def demo() -> tuple[pd.DataFrame, object]:
    config = load_config(DEMO_CONFIG)
    log, facts = simulate_frames(config, 160, seed=11, start=DEMO_NOW - timedelta(weeks=13), end=DEMO_NOW)
    requests = engine.derive_requests(log, facts, config, status_categories(config))
    return engine.evaluate_clocks(requests, config, DEMO_NOW), config


@pytest.mark.parametrize("period", ["week", "month"])
@pytest.mark.parametrize("process", [None, "delivery", "support"])
def test_rows_are_the_scorecards_rows_and_the_order_holds(demo, period: str, process: str | None) -> None:
    requests, config = demo
    if process:
        requests = requests[requests["process"] == process]
    teams = engine.process_teams(config, process)
    frame = engine.team_overview(requests, config, DEMO_NOW, period, teams)  # type: ignore[arg-type]
    cards = engine.scorecards(requests, config, DEMO_NOW, period=period)  # type: ignore[arg-type]
    rows = frame.to_dict("records")
    assert sorted(r["team"] for r in rows) == sorted(teams)
    assert [r["rank"] for r in rows] == list(range(1, len(rows) + 1))
    by_key = {(c["period"], c["team"]): c for c in cards.to_dict("records")}
    for r in rows:
        card = by_key.get((r["period"], r["team"]))
        for name in ("score", "timeliness", "response_timeliness", "quality", "resolved", "open_breached"):
            assert r[name] == (card[name] if card else (0 if name in {"resolved", "open_breached"} else None))
        assert r["small_sample"] == (r["resolved"] < engine.SMALL_SAMPLE)
        before = by_key.get((r["previous_period"], r["team"]))
        assert r["previous_score"] == (before["score"] if before else None)
        if r["score"] is not None and r["previous_score"] is not None:
            assert r["score_change"] == round(r["score"] - r["previous_score"], 1)
    groups = [2 if r["score"] is None else int(r["small_sample"]) for r in rows]
    assert groups == sorted(groups)
    for a, b in itertools.pairwise(rows):
        if a["score"] is not None and b["score"] is not None and a["small_sample"] == b["small_sample"]:
            assert a["score"] <= b["score"]


def test_demo_week_worst_team_is_ops() -> None:
    """The issue's complaint: the scorecard opened on a team at 100.0 while ops was failing."""
    config = load_config(DEMO_CONFIG)
    log, facts = simulate_frames(config, 160, seed=11, start=DEMO_NOW - timedelta(weeks=13), end=DEMO_NOW)
    requests = engine.derive_requests(log, facts, config, status_categories(config))
    frame = engine.team_overview(requests, config, DEMO_NOW, "week")
    first = frame.iloc[0]
    assert (first["team"], first["score"], first["resolved"], bool(first["small_sample"])) == (
        "ops",
        65.0,
        10,
        False,
    )
    assert frame.iloc[-1]["team"] == "analysis"


def test_process_teams_follow_the_configuration_order() -> None:
    config = load_config(DEMO_CONFIG)
    assert engine.process_teams(config) == ["analysis", "dev", "qa", "support", "ops"]
    assert engine.process_teams(config, "support") == ["dev", "support", "ops"]


def test_period_bounds_follow_the_scoring_time_zone() -> None:
    start, end = engine.period_bounds("2026-W13", "week", "Europe/Berlin")
    assert (start.isoformat(), end.isoformat()) == ("2026-03-22T23:00:00+00:00", "2026-03-29T22:00:00+00:00")
    start, end = engine.period_bounds("2026-03", "month", "Europe/Berlin")
    assert (start.isoformat(), end.isoformat()) == ("2026-02-28T23:00:00+00:00", "2026-03-31T22:00:00+00:00")


def test_the_matrix_of_a_period_holds_its_resolved_requests_and_the_open_ones() -> None:
    log = transitions([*STEPS, REOPEN])
    requests = engine.evaluate_clocks(engine.derive_requests(log, issues(), CONFIG), CONFIG, LATER)

    def cells(period: str | None) -> list[tuple[object, ...]]:
        frame = engine.handoff_matrix(requests, CONFIG, LATER, period)  # type: ignore[arg-type]
        return [
            (r["requester"], r["provider"], r["requests"], r["open"], r["resolved"])
            for r in frame.to_dict("records")
        ]

    # 2026-W11: nothing resolved yet, D3 (reopened from done) is open
    assert cells("week") == [("done", "dev", 1, 1, 0)]
    # 2026-03 and all time: every request; D3 open, the other five resolved
    expected = [
        ("dev", "qa", 2, 0, 2),
        ("done", "dev", 1, 1, 0),
        ("qa", "dev", 1, 0, 1),
        ("qa", "ops", 1, 0, 1),
        (None, "dev", 1, 0, 1),
    ]
    assert cells("month") == expected
    assert cells(None) == expected
