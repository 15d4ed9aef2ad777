"""The oracle reproduces every number of docs/semantics.md's worked example, so the oracle itself is checked."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.unit.oracle.oracle import Oracle, Request
from tests.unit.oracle.worked_example import (
    ACCEPT_D2,
    ACCEPT_Q2_AGAIN,
    AFTER,
    ALL_VERDICTS,
    BEFORE,
    CONFIG,
    FACTS,
    LATE_ACCEPT_D2,
    REOPEN,
    TRANSITIONS,
    WEIGHTED,
    berlin,
)

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


# -- verdicts (docs/semantics.md "Verdicts", worked example) -----------------------------------------


def test_deliveries_and_their_customers(requests: list[Request]) -> None:
    got = [(r.provider, r.outcome, r.customer) for r in requests]
    assert got == [
        ("dev", "delivered", "qa"),
        ("qa", "returned", None),
        ("dev", "delivered", "qa"),
        ("qa", "delivered", "ops"),
        ("ops", "delivered", "pm"),  # into Done: the process's customer judges it
    ]
    r = by_name(requests)
    assert r["D2"].verdict_due_at == berlin(17, 16).timestamp()  # 14 days after Tue 16:00
    assert all(x.verdict is None for x in requests)  # no verdict yet, no window has ended


def test_verdicts_before_the_rejection() -> None:
    oracle = Oracle(CONFIG)
    r = by_name(oracle.derive(TRANSITIONS, [FACTS], NOW, BEFORE))
    assert (r["D2"].verdict, r["D2"].rating, r["D2"].verdict_by) == ("accepted", 4.0, "qa-lead")
    assert r["D2"].verdict_at == berlin(4, 10).timestamp()
    assert (r["Q2"].verdict, r["Q2"].rating, r["Q2"].rejected) == ("accepted", 5.0, False)
    assert r["O1"].verdict is None  # pm has not judged; its window runs to 20 March
    cards = oracle.scorecards(list(r.values()), NOW, "week")
    dev, qa, ops = (cards[("2026-W10", t)] for t in ("dev", "qa", "ops"))
    assert (dev["satisfaction"], dev["score"]) == (0.8, 50.0)  # default weights: scores unchanged
    assert (qa["satisfaction"], qa["quality"], qa["score"]) == (1.0, 1.0, 100.0)
    assert (ops["satisfaction"], ops["score"]) == (None, 100.0)
    weighted = Oracle(WEIGHTED)
    cards = weighted.scorecards(weighted.derive(TRANSITIONS, [FACTS], NOW, BEFORE), NOW, "week")
    assert cards[("2026-W10", "dev")]["score"] == 60.0  # (0.4 x 0.5 + 0.2 x 0.8) / 0.6
    assert cards[("2026-W10", "qa")]["score"] == 100.0
    assert cards[("2026-W10", "ops")]["score"] == 100.0  # nothing rated: weights renormalise


def test_a_rejection_by_verdict() -> None:
    oracle = Oracle(CONFIG)
    r = by_name(oracle.derive(TRANSITIONS, [FACTS], NOW, AFTER))
    q2 = r["Q2"]
    assert (q2.verdict, q2.rating, q2.verdict_reason, q2.verdict_by) == (
        "rejected",
        None,
        "incomplete",
        "ops-lead",
    )
    assert q2.rejected and q2.rejected_at == berlin(6, 9).timestamp()
    assert len(r) == 5  # no status moved: no request opens
    cards = oracle.scorecards(list(r.values()), NOW, "week")
    qa = cards[("2026-W10", "qa")]
    assert (qa["quality"], qa["delivered"], qa["rejected"], qa["satisfaction"], qa["score"]) == (
        0.0, 1, 1, None, 50.0,
    )  # fmt: skip
    assert cards[("2026-W10", "dev")]["score"] == 50.0
    weighted = Oracle(WEIGHTED)
    cards = weighted.scorecards(weighted.derive(TRANSITIONS, [FACTS], NOW, AFTER), NOW, "week")
    assert cards[("2026-W10", "qa")]["score"] == 50.0  # (0.4 x 1.0 + 0.4 x 0.0) / 0.8
    assert cards[("2026-W10", "dev")]["score"] == 60.0


def test_refused_verdicts_change_nothing() -> None:
    oracle = Oracle(CONFIG)
    requests = oracle.derive(TRANSITIONS, [FACTS], NOW)
    assert oracle.verdict_target(requests, ACCEPT_D2) is requests[2]
    after = oracle.derive(TRANSITIONS, [FACTS], NOW, AFTER)
    assert oracle.verdict_target(after, ACCEPT_Q2_AGAIN) == "rejected"
    assert oracle.verdict_target(after, LATE_ACCEPT_D2) == "window"
    early = ACCEPT_D2.__class__(FACTS.issue_id, "ops", berlin(2, 12), "x", ACCEPT_D2.action)
    assert oracle.verdict_target(after, early) == "no delivery"  # nothing delivered to ops by Monday
    every = oracle.derive(TRANSITIONS, [FACTS], NOW, ALL_VERDICTS)
    assert [x.as_dict() for x in every] == [x.as_dict() for x in after]


def test_silence_is_acceptance_when_the_window_ends() -> None:
    late_now = berlin(23, 12)
    r = by_name(Oracle(CONFIG).derive(TRANSITIONS, [FACTS], late_now, AFTER))
    assert r["O1"].verdict == "implicit"  # pm never judged; its window ended Fri 20 March 11:00
    assert r["D1"].verdict is None  # returned: rejected, not silently accepted
    assert (r["D2"].verdict, r["Q2"].verdict) == ("accepted", "rejected")


def test_a_return_always_rejects_an_accepted_delivery() -> None:
    accept_d2 = ACCEPT_D2
    requests = Oracle(CONFIG).derive([*TRANSITIONS, REOPEN], [FACTS], LATER, [accept_d2])
    d2 = requests[2]
    assert (d2.verdict, d2.rating, d2.rejected) == ("accepted", 4.0, True)
    assert d2.rejected_at == berlin(9, 10).timestamp()
    cards = Oracle(CONFIG).scorecards(requests, LATER, "week")
    assert cards[("2026-W10", "dev")]["satisfaction"] is None  # a rejected delivery's rating does not count
