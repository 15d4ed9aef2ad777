"""The oracle reproduces every number of docs/semantics.md's worked example, so the oracle itself is checked."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.unit.oracle.oracle import Oracle, Request
from tests.unit.oracle.worked_example import CONFIG, FACTS, REOPEN, TRANSITIONS, berlin

H = 3600.0
NOW = berlin(6, 12)  # Friday noon, after the issue is done
LATER = berlin(9, 12)  # the following Monday noon, after the reopen


@pytest.fixture(scope="module")
def requests() -> list[Request]:
    return Oracle(CONFIG).derive(TRANSITIONS, [FACTS], NOW)


def by_name(requests: list[Request]) -> dict[str, Request]:
    names = ["D1", "Q1", "D2", "Q2", "O1", "D3"]
    return dict(zip(names, requests, strict=False))


def test_the_requests_in_opening_order(requests: list[Request]) -> None:
    got = [(r.seq, r.provider, r.kind, r.requester, r.outcome) for r in requests]
    assert got == [
        (0, "dev", "new", None, "delivered"),
        (1, "qa", "new", "dev", "returned"),
        (2, "dev", "rework", "qa", "delivered"),
        (3, "qa", "new", "dev", "delivered"),
        (4, "ops", "new", "qa", "delivered"),
    ]


def test_open_and_resolve_instants(requests: list[Request]) -> None:
    r = by_name(requests)
    assert r["D1"].opened_at == berlin(2, 10).timestamp()
    assert r["D1"].first_response_at == r["D1"].opened_at  # opened in an active status
    assert r["D1"].resolved_at == berlin(2, 11).timestamp()
    assert r["Q1"].first_response_at == berlin(2, 16).timestamp()
    assert r["Q1"].resolved_at == berlin(3, 11).timestamp()
    assert r["Q2"].first_response_at == berlin(4, 9, 30).timestamp()
    assert r["O1"].first_response_at == berlin(6, 10).timestamp()
    assert r["O1"].resolved_at == berlin(6, 11).timestamp()


def test_clocks_and_states(requests: list[Request]) -> None:
    r = by_name(requests)
    expected = {
        # name: (response elapsed, response state, resolution elapsed, resolution state)
        "D1": (0, "none", 1 * H, "none"),
        "Q1": (5 * H, "breached", 8 * H, "met"),
        "D2": (0, "none", 5 * H, "none"),
        "Q2": (1.5 * H, "met", 4 * H, "met"),
        "O1": (14 * H, "breached", 15 * H, "met"),
    }
    for name, (response, response_state, resolution, resolution_state) in expected.items():
        got = r[name]
        assert (got.response_elapsed_s, got.response_state) == (response, response_state), name
        assert (got.resolution_elapsed_s, got.resolution_state) == (resolution, resolution_state), name
    assert (r["Q1"].response_goal_s, r["Q1"].resolution_goal_s) == (4 * H, 16 * H)
    assert (r["O1"].response_goal_s, r["O1"].resolution_goal_s) == (8 * H, 24 * H)
    assert r["D1"].resolution_goal_s is None


def test_rejections(requests: list[Request]) -> None:
    r = by_name(requests)
    assert r["D1"].rejected and r["D1"].rejected_at == berlin(3, 11).timestamp()
    assert not any(r[n].rejected for n in ("Q1", "D2", "Q2", "O1"))


def test_weekly_scores(requests: list[Request]) -> None:
    cards = Oracle(CONFIG).scorecards(requests, NOW, "week")
    assert set(cards) == {("2026-W10", "dev"), ("2026-W10", "qa"), ("2026-W10", "ops")}
    qa, dev, ops = cards[("2026-W10", "qa")], cards[("2026-W10", "dev")], cards[("2026-W10", "ops")]
    assert (qa["timeliness"], qa["response_timeliness"], qa["quality"], qa["score"]) == (1.0, 0.5, 1.0, 100.0)
    assert (qa["resolved"], qa["delivered"], qa["rejected"]) == (2, 1, 0)
    assert (dev["timeliness"], dev["response_timeliness"], dev["quality"], dev["score"]) == (
        None,
        None,
        0.5,
        50.0,
    )
    assert (dev["resolved"], dev["delivered"], dev["rejected"]) == (2, 2, 1)
    assert dev["rework_hours"] == 5.0
    assert (ops["timeliness"], ops["response_timeliness"], ops["quality"], ops["score"]) == (
        1.0,
        0.0,
        1.0,
        100.0,
    )
    assert (ops["resolved"], ops["delivered"], ops["rejected"]) == (1, 1, 0)
    assert qa["ratio_p50"] == pytest.approx((8 / 16 + 4 / 16) / 2)
    assert ops["ratio_p90"] == pytest.approx(15 / 24)


def test_monthly_scores_hold_the_same_week(requests: list[Request]) -> None:
    cards = Oracle(CONFIG).scorecards(requests, NOW, "month")
    assert cards[("2026-03", "dev")]["score"] == 50.0
    assert cards[("2026-03", "qa")]["score"] == 100.0


def test_reopen_from_done_rejects_dev_latest_delivery() -> None:
    oracle = Oracle(CONFIG)
    requests = oracle.derive([*TRANSITIONS, REOPEN], [FACTS], LATER)
    d2, d3 = requests[2], requests[5]
    assert d2.rejected and d2.rejected_at == berlin(9, 10).timestamp()
    assert requests[0].rejected_at == berlin(3, 11).timestamp()  # D1 keeps its first rejection
    assert (d3.provider, d3.kind, d3.requester, d3.outcome) == ("dev", "rework", "done", None)
    assert d3.resolution_elapsed_s == 2 * H  # open, measured to Monday noon
    assert d3.resolution_state == "none"
    assert not requests[4].rejected  # ops delivered to done; the work goes back to dev, not ops
    cards = oracle.scorecards(requests, LATER, "week")
    dev = cards[("2026-W10", "dev")]
    assert (dev["quality"], dev["delivered"], dev["rejected"], dev["score"]) == (0.0, 2, 2, 0.0)
    assert cards[("2026-W10", "qa")]["score"] == 100.0
    assert cards[("2026-W10", "ops")]["score"] == 100.0
    assert cards[("2026-W11", "dev")]["resolved"] == 0  # open request's row in the week of `now`


def test_reopen_outside_the_window_rejects_nothing() -> None:
    late = REOPEN.__class__(**{**_fields(REOPEN), "at": REOPEN.at + timedelta(days=20)})
    requests = Oracle(CONFIG).derive([*TRANSITIONS, late], [FACTS], late.at + timedelta(hours=1))
    assert not requests[2].rejected
    assert requests[5].kind == "rework"


def test_open_clock_states_as_time_passes() -> None:
    """Q1 alone, still in the queue: at risk from 3h (0.75 x 4h), breached once its 4h of working time
    are used up (docs/semantics.md: a running clock with elapsed >= goal is breached)."""
    oracle = Oracle(CONFIG)
    head = TRANSITIONS[:2]
    states = {}
    for hour in (13, 14, 15, 16):
        q1 = oracle.derive(head, [FACTS], berlin(2, hour))[1]
        states[hour] = (q1.response_elapsed_s, q1.response_state, q1.resolution_state)
    assert states == {
        13: (2 * H, "running", "running"),
        14: (3 * H, "at_risk", "running"),
        15: (4 * H, "breached", "running"),
        16: (5 * H, "breached", "running"),
    }


def _fields(t: object) -> dict[str, object]:
    return {name: getattr(t, name) for name in t.__slots__}  # type: ignore[attr-defined]
