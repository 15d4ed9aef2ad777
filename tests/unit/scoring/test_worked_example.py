"""Every number of docs/semantics.md's worked example, through the engine facade."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from baton.scoring import engine
from baton.scoring.model import REQUEST_COLUMNS, Verdict, VerdictAction
from baton.scoring.verdicts import VerdictRefused
from tests.unit.scoring.worked import (
    CONFIG,
    REOPEN,
    STEPS,
    WORKED_YAML,
    berlin,
    issues,
    load_config,
    transitions,
)

H = 3600.0
NOW = berlin(6, 12)  # Friday noon, after Done
LATER = berlin(9, 12)  # the following Monday noon, after the reopen
NAMES = ["D1", "Q1", "D2", "Q2", "O1", "D3"]


@pytest.fixture(scope="module")
def derived() -> pd.DataFrame:
    return engine.derive_requests(transitions(STEPS), issues(), CONFIG)


@pytest.fixture(scope="module")
def evaluated(derived: pd.DataFrame) -> pd.DataFrame:
    return engine.evaluate_clocks(derived, CONFIG, NOW)


def by_name(frame: pd.DataFrame) -> dict[str, dict[str, object]]:
    return dict(zip(NAMES, frame.to_dict("records"), strict=False))


def ts(value: object) -> pd.Timestamp:
    return pd.Timestamp(value)  # type: ignore[arg-type]


def test_columns_are_the_contract(derived: pd.DataFrame) -> None:
    assert list(derived.columns) == list(REQUEST_COLUMNS)
    assert str(derived["opened_at"].dt.tz) == "UTC"


def test_requests_kinds_requesters_outcomes(derived: pd.DataFrame) -> None:
    got = [
        (r["seq"], r["provider"], r["kind"], r["requester"], r["outcome"], bool(r["rejected"]))
        for r in derived.to_dict("records")
    ]
    assert got == [
        (0, "dev", "new", None, "delivered", True),
        (1, "qa", "new", "dev", "returned", False),
        (2, "dev", "rework", "qa", "delivered", False),
        (3, "qa", "new", "dev", "delivered", False),
        (4, "ops", "new", "qa", "delivered", False),
    ]
    assert set(derived["issue_key"]) == {"PROJ-1"}
    assert set(derived["process"]) == {"delivery"}


def test_instants(derived: pd.DataFrame) -> None:
    r = by_name(derived)
    assert ts(r["D1"]["opened_at"]) == ts(berlin(2, 10))
    assert ts(r["D1"]["first_response_at"]) == ts(berlin(2, 10))  # opened in an active status
    assert ts(r["D1"]["resolved_at"]) == ts(berlin(2, 11))
    assert ts(r["D1"]["rejected_at"]) == ts(berlin(3, 11))
    assert ts(r["Q1"]["opened_at"]) == ts(berlin(2, 11))
    assert ts(r["Q1"]["first_response_at"]) == ts(berlin(2, 16))
    assert ts(r["Q1"]["resolved_at"]) == ts(berlin(3, 11))
    assert ts(r["D2"]["opened_at"]) == ts(berlin(3, 11))
    assert ts(r["D2"]["resolved_at"]) == ts(berlin(3, 16))
    assert ts(r["Q2"]["first_response_at"]) == ts(berlin(4, 9, 30))
    assert ts(r["Q2"]["resolved_at"]) == ts(berlin(4, 12))
    assert ts(r["O1"]["opened_at"]) == ts(berlin(4, 12))
    assert ts(r["O1"]["first_response_at"]) == ts(berlin(6, 10))
    assert ts(r["O1"]["resolved_at"]) == ts(berlin(6, 11))
    assert r["Q1"]["from_status"] == "In Development" and r["Q1"]["to_status"] == "Ready for QA"
    assert pd.isna(r["Q1"]["rejected_at"])


def test_goals(derived: pd.DataFrame) -> None:
    r = by_name(derived)
    for name in ("D1", "D2"):
        assert math.isnan(r[name]["response_goal_s"]) and math.isnan(r[name]["resolution_goal_s"])  # type: ignore[arg-type]
    assert (r["Q1"]["response_goal_s"], r["Q1"]["resolution_goal_s"]) == (4 * H, 16 * H)
    assert (r["Q2"]["response_goal_s"], r["Q2"]["resolution_goal_s"]) == (4 * H, 16 * H)
    assert (r["O1"]["response_goal_s"], r["O1"]["resolution_goal_s"]) == (8 * H, 24 * H)
    assert r["Q1"]["at_risk_ratio"] == 0.75


def test_clocks_and_states(evaluated: pd.DataFrame) -> None:
    expected = {
        "D1": (0.0, "none", 1 * H, "none"),
        "Q1": (5 * H, "breached", 8 * H, "met"),
        "D2": (0.0, "none", 5 * H, "none"),
        "Q2": (1.5 * H, "met", 4 * H, "met"),
        "O1": (14 * H, "breached", 15 * H, "met"),
    }
    r = by_name(evaluated)
    for name, (response, response_state, resolution, resolution_state) in expected.items():
        got = r[name]
        assert (got["response_elapsed_s"], got["response_state"]) == (response, response_state), name
        assert (got["resolution_elapsed_s"], got["resolution_state"]) == (resolution, resolution_state), name


def card(frame: pd.DataFrame, period: str, team: str) -> dict[str, object]:
    rows = frame[(frame["period"] == period) & (frame["team"] == team)].to_dict("records")
    assert len(rows) == 1, (period, team, frame)
    return rows[0]


def test_weekly_scores(derived: pd.DataFrame) -> None:
    cards = engine.scorecards(derived, CONFIG, NOW, period="week")
    assert list(cards.columns) == [
        "period", "team", "timeliness", "response_timeliness", "quality", "score", "resolved", "delivered",
        "rejected", "ratio_p50", "ratio_p90", "rework_hours", "open_at_risk", "open_breached",
        "satisfaction",
    ]  # fmt: skip
    assert sorted(cards["team"]) == ["dev", "ops", "qa"]
    qa = card(cards, "2026-W10", "qa")
    assert qa["timeliness"] == 1.0 and qa["response_timeliness"] == 0.5 and qa["quality"] == 1.0
    assert qa["score"] == 100.0
    assert (qa["resolved"], qa["delivered"], qa["rejected"]) == (2, 1, 0)
    assert qa["ratio_p50"] == pytest.approx((8 / 16 + 4 / 16) / 2)  # 0.375
    assert qa["ratio_p90"] == pytest.approx(0.25 + 0.9 * (0.5 - 0.25))  # 0.475
    dev = card(cards, "2026-W10", "dev")
    assert dev["timeliness"] is None and dev["response_timeliness"] is None
    assert dev["quality"] == 0.5 and dev["score"] == 50.0
    assert (dev["resolved"], dev["delivered"], dev["rejected"]) == (2, 2, 1)
    assert dev["rework_hours"] == 5.0
    assert dev["ratio_p50"] is None
    ops = card(cards, "2026-W10", "ops")
    assert ops["timeliness"] == 1.0 and ops["quality"] == 1.0 and ops["score"] == 100.0
    assert ops["response_timeliness"] == 0.0
    assert ops["ratio_p50"] == pytest.approx(15 / 24)
    assert cards[["open_at_risk", "open_breached"]].sum().sum() == 0


def test_monthly_scores_and_breakdowns(derived: pd.DataFrame) -> None:
    month = engine.scorecards(derived, CONFIG, NOW, period="month")
    assert set(month["period"]) == {"2026-03"}
    assert card(month, "2026-03", "dev")["score"] == 50.0
    pairs = engine.scorecards(derived, CONFIG, NOW, by="pair")
    assert "pair" in pairs.columns
    got = {(r["team"], r["pair"]): (r["resolved"], r["quality"]) for r in pairs.to_dict("records")}
    assert got == {
        ("dev", "intake->dev"): (1, 0.0),
        ("dev", "qa->dev"): (1, 1.0),
        ("ops", "qa->ops"): (1, 1.0),
        ("qa", "dev->qa"): (2, 1.0),
    }
    by_process = engine.scorecards(derived, CONFIG, NOW, by="process")
    assert set(by_process["process"]) == {"delivery"}
    by_type = engine.scorecards(derived, CONFIG, NOW, by="issue_type")
    assert set(by_type["issue_type"]) == {"Story"}


@pytest.fixture(scope="module")
def reopened() -> pd.DataFrame:
    return engine.derive_requests(transitions([*STEPS, REOPEN]), issues(), CONFIG)


def test_reopen_from_done(reopened: pd.DataFrame) -> None:
    r = by_name(engine.evaluate_clocks(reopened, CONFIG, LATER))
    assert len(reopened) == 6
    assert r["D2"]["rejected"] and ts(r["D2"]["rejected_at"]) == ts(berlin(9, 10))
    assert ts(r["D1"]["rejected_at"]) == ts(berlin(3, 11))  # its first rejection stays
    d3 = r["D3"]
    assert (d3["provider"], d3["kind"], d3["requester"], d3["outcome"]) == ("dev", "rework", "done", None)
    assert ts(d3["opened_at"]) == ts(berlin(9, 10))
    assert pd.isna(d3["resolved_at"])
    assert d3["resolution_elapsed_s"] == 2 * H  # Mon 10:00 -> 12:00, clock brought to `now`
    assert (d3["response_state"], d3["resolution_state"]) == ("none", "none")
    assert not r["O1"]["rejected"]  # ops delivered to done; dev is the team the work returns to


def test_reopen_scores(reopened: pd.DataFrame) -> None:
    cards = engine.scorecards(reopened, CONFIG, LATER)
    dev = card(cards, "2026-W10", "dev")
    assert (dev["delivered"], dev["rejected"], dev["quality"], dev["score"]) == (2, 2, 0.0, 0.0)
    assert card(cards, "2026-W10", "qa")["score"] == 100.0
    assert card(cards, "2026-W10", "ops")["score"] == 100.0
    open_row = card(cards, "2026-W11", "dev")  # D3 is open: the team gets the row of `now`'s week
    assert open_row["resolved"] == 0 and open_row["score"] is None


def test_reopen_outside_the_window_rejects_nothing() -> None:
    late = (berlin(30, 10), "Done", "In Development")  # 24 days after D2 was delivered
    frame = engine.derive_requests(transitions([*STEPS, late]), issues(), CONFIG)
    assert list(frame["rejected"]) == [True, False, False, False, False, False]


def test_handoff_matrix(reopened: pd.DataFrame) -> None:
    matrix = engine.handoff_matrix(reopened, CONFIG, LATER)
    rows = {(r["requester"], r["provider"]): r for r in matrix.to_dict("records")}
    assert set(rows) == {(None, "dev"), ("dev", "qa"), ("qa", "dev"), ("qa", "ops"), ("done", "dev")}
    assert (rows[("dev", "qa")]["requests"], rows[("dev", "qa")]["timeliness"]) == (2, 1.0)
    assert rows[("qa", "dev")]["rejection_rate"] == 1.0
    assert rows[("done", "dev")]["resolved"] == 0 and rows[("done", "dev")]["timeliness"] is None


def test_pause_stops_the_clocks() -> None:
    steps = [
        *STEPS[:6],
        (berlin(4, 10), "In QA", "Blocked"),
        (berlin(5, 10), "Blocked", "In QA"),  # classified as leaving "In QA": progress inside qa
        (berlin(5, 12), "In QA", "Ready to Deploy"),
    ]
    frame = engine.evaluate_clocks(engine.derive_requests(transitions(steps), issues(), CONFIG), CONFIG, NOW)
    q2 = frame.iloc[3]
    assert q2["provider"] == "qa" and q2["outcome"] == "delivered"
    # Tue 16-17 (1h) + Wed 9-10 (1h) + Thu 10-12 (2h); Wed 10:00 -> Thu 10:00 paused
    assert q2["resolution_elapsed_s"] == 4 * H
    still = engine.derive_requests(transitions(steps[:7]), issues(), CONFIG)
    assert bool(still.iloc[3]["paused"]) and ts(still.iloc[3]["clock_at"]) == ts(berlin(4, 10))
    later = engine.evaluate_clocks(still, CONFIG, NOW).iloc[3]
    assert later["resolution_elapsed_s"] == 2 * H  # stopped at the pause


def test_unmapped_and_release() -> None:
    steps = [
        (berlin(2, 10), "To Do", "In Development"),
        (berlin(2, 11), "In Development", "Ready to Deploy"),  # dev -> ops: no rule, not upstream
        (berlin(2, 12), "Ready to Deploy", "Backlog"),  # unowned: released
    ]
    frame = engine.derive_requests(transitions(steps), issues(), CONFIG)
    got = [(r["provider"], r["kind"], r["requester"], r["outcome"]) for r in frame.to_dict("records")]
    assert got == [("dev", "new", None, "handed_off"), ("ops", "unmapped", "dev", "released")]
    assert math.isnan(frame.iloc[1]["resolution_goal_s"])
    report = engine.unmapped_report(frame)
    assert report.to_dict("records") == [
        {
            "requester": "dev",
            "provider": "ops",
            "from_status": "In Development",
            "to_status": "Ready to Deploy",
            "count": 1,
            "examples": ["PROJ-1"],
            "last_seen": pd.Timestamp(berlin(2, 11)),
        }
    ]


def test_other_projects_yield_nothing() -> None:
    assert engine.derive_requests(transitions(STEPS), issues(project="OTHER"), CONFIG).empty


# -- verdicts (docs/semantics.md "Verdicts", worked example) -----------------------------------------

WEIGHTED = load_config(
    WORKED_YAML.replace(
        "{timeliness: 0.5, quality: 0.5}", "{timeliness: 0.4, quality: 0.4, satisfaction: 0.2}"
    )
)
ACCEPT_D2 = Verdict("10001", "qa", berlin(4, 10), "qa-lead", VerdictAction.ACCEPT, rating=4)
ACCEPT_Q2 = Verdict("10001", "ops", berlin(5, 10), "ops-lead", VerdictAction.ACCEPT, rating=5)
REJECT_Q2 = Verdict("10001", "ops", berlin(6, 9), "ops-lead", VerdictAction.REJECT, reason="incomplete")
BEFORE = [ACCEPT_D2, ACCEPT_Q2]
AFTER = [*BEFORE, REJECT_Q2]


def _scores(config: object, verdicts: list[Verdict]) -> dict[str, tuple[object, ...]]:
    frame = engine.derive_requests(transitions(STEPS), issues(), config, None, verdicts)  # type: ignore[arg-type]
    cards = engine.scorecards(frame, config, NOW)  # type: ignore[arg-type]
    return {
        r["team"]: (r["quality"], r["satisfaction"], r["score"])
        for r in cards.to_dict("records")
        if r["period"] == "2026-W10"
    }


def test_customers_and_windows(derived: pd.DataFrame) -> None:
    assert list(derived["customer"]) == ["qa", None, "qa", "ops", "pm"]
    r = by_name(derived)
    assert ts(r["D2"]["verdict_due_at"]) == ts(berlin(17, 16))
    assert ts(r["O1"]["verdict_due_at"]) == ts(berlin(20, 11))
    assert pd.isna(r["Q1"]["verdict_due_at"])


def test_verdict_columns() -> None:
    frame = engine.derive_requests(transitions(STEPS), issues(), CONFIG, None, AFTER)
    r = by_name(engine.evaluate_clocks(frame, CONFIG, NOW))
    assert (r["D2"]["verdict"], r["D2"]["rating"], r["D2"]["verdict_by"]) == ("accepted", 4.0, "qa-lead")
    assert ts(r["D2"]["verdict_at"]) == ts(berlin(4, 10))
    q2 = r["Q2"]
    assert (q2["verdict"], q2["verdict_reason"], bool(q2["rejected"])) == ("rejected", "incomplete", True)
    assert ts(q2["rejected_at"]) == ts(berlin(6, 9)) and math.isnan(q2["rating"])
    assert r["O1"]["verdict"] is None
    late = by_name(engine.evaluate_clocks(frame, CONFIG, berlin(23, 12)))
    assert (late["O1"]["verdict"], late["D1"]["verdict"]) == ("implicit", None)
    waiting = engine.awaiting_verdict(frame, NOW)
    assert list(waiting) == [False, False, False, False, True]  # O1 awaits pm until 20 March 11:00


def test_scores_before_and_after_a_rejection_by_verdict() -> None:
    # (quality, satisfaction, score) per team, week 2026-W10, as of Friday noon
    assert _scores(CONFIG, []) == {
        "dev": (0.5, None, 50.0),
        "qa": (1.0, None, 100.0),
        "ops": (1.0, None, 100.0),
    }
    assert _scores(CONFIG, BEFORE) == {
        "dev": (0.5, 0.8, 50.0),
        "qa": (1.0, 1.0, 100.0),
        "ops": (1.0, None, 100.0),
    }
    assert _scores(CONFIG, AFTER) == {
        "dev": (0.5, 0.8, 50.0),
        "qa": (0.0, None, 50.0),
        "ops": (1.0, None, 100.0),
    }
    assert _scores(WEIGHTED, BEFORE) == {
        "dev": (0.5, 0.8, 60.0),
        "qa": (1.0, 1.0, 100.0),
        "ops": (1.0, None, 100.0),
    }
    assert _scores(WEIGHTED, AFTER) == {
        "dev": (0.5, 0.8, 60.0),
        "qa": (0.0, None, 50.0),
        "ops": (1.0, None, 100.0),
    }


def test_judging_new_verdicts(derived: pd.DataFrame) -> None:
    judged = engine.judge_verdict(derived, [], ACCEPT_D2, CONFIG)
    assert (judged.seq, judged.provider, judged.process) == (2, "dev", "delivery")
    assert pd.Timestamp(judged.due_at) == ts(berlin(17, 16))
    assert engine.judge_verdict(derived, BEFORE, REJECT_Q2, CONFIG).seq == 3  # accept -> reject allowed
    refusals = {
        "accept after a rejection": (
            AFTER,
            Verdict("10001", "ops", berlin(6, 9, 30), "ops-lead", VerdictAction.ACCEPT, rating=3),
            "PROJ-1's delivery by 'qa' was rejected at 2026-03-06T08:00:00Z; an accept cannot undo a "
            "rejection (rework appears when the issue moves back)",
        ),
        "outside the window": (
            AFTER,
            Verdict("10001", "qa", berlin(20, 10), "qa-lead", VerdictAction.ACCEPT),
            "the acceptance window of PROJ-1's delivery by 'dev' to 'qa' (resolved 2026-03-03T15:00:00Z) "
            "ended at 2026-03-17T15:00:00Z; a verdict at 2026-03-20T09:00:00Z is outside it and was not "
            "recorded",
        ),
        "nothing delivered yet": (
            [],
            Verdict("10001", "ops", berlin(2, 12), "ops-lead", VerdictAction.ACCEPT),
            "team 'ops' has no delivery to judge on this issue at 2026-03-02T11:00:00Z: a verdict applies "
            "to the most recent delivery to 'ops' resolved at or before its time",
        ),
        "a reason not on the list": (
            [],
            Verdict("10001", "qa", berlin(4, 10), "qa-lead", VerdictAction.REJECT, reason="ugly"),
            "reason 'ugly' is not one of process 'delivery's rejection_reasons: incomplete, defects, "
            "undocumented",
        ),
        "a rating out of range": (
            [],
            Verdict("10001", "qa", berlin(4, 10), "qa-lead", VerdictAction.ACCEPT, rating=6),
            "rating 6 is out of range; give a whole number from 1 to 5",
        ),
    }
    for name, (prior, verdict, message) in refusals.items():
        with pytest.raises(VerdictRefused) as refused:
            engine.judge_verdict(derived, prior, verdict, CONFIG)
        assert str(refused.value) == message, name
