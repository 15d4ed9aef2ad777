"""Rejection reasons per hand-off matrix cell (issue 14, item 4): the verdicts' reasons counted by
requester and provider, and the returns (rejections by moving the issue back, with no reason), on four
copies of docs/semantics.md's worked example with different verdicts."""

from __future__ import annotations

import pandas as pd

from baton.scoring import engine
from baton.scoring.model import Verdict, VerdictAction
from tests.unit.scoring.worked import CONFIG, STEPS, berlin, issues, transitions

NOW = berlin(6, 12)  # Friday noon, after Done
IDS = ["10001", "10002", "10003", "10004"]


def _reject(issue: str, team: str, at: object, reason: str) -> Verdict:
    return Verdict(issue, team, at, f"{team}-lead", VerdictAction.REJECT, reason=reason)  # type: ignore[arg-type]


# Per issue: D1 (intake -> dev), Q1 (dev -> qa, returned), D2 (qa -> dev, rework), Q2 (dev -> qa),
# O1 (qa -> ops). qa's return on Tuesday 11:00 rejects every D1.
VERDICTS = [
    _reject("10001", "ops", berlin(6, 9), "incomplete"),  # Q2
    _reject("10002", "ops", berlin(6, 9), "incomplete"),  # Q2
    _reject("10003", "ops", berlin(6, 9), "defects"),  # Q2
    _reject("10003", "qa", berlin(4, 10), "undocumented"),  # D2
    _reject("10004", "qa", berlin(4, 10), "defects"),  # D2
    _reject("10004", "qa", berlin(3, 10), "incomplete"),  # D1, before qa's return rejects it anyway
]


def _requests() -> pd.DataFrame:
    log = pd.concat([transitions(STEPS, i) for i in IDS], ignore_index=True)
    return engine.derive_requests(log, issues(IDS), CONFIG, None, VERDICTS)


def test_reasons_per_provider_and_per_cell() -> None:
    frame = _requests()
    assert engine.rejection_reasons(frame).to_dict("records") == [
        {"provider": "dev", "reason": "defects", "count": 1},
        {"provider": "dev", "reason": "incomplete", "count": 1},
        {"provider": "dev", "reason": "undocumented", "count": 1},
        {"provider": "qa", "reason": "incomplete", "count": 2},
        {"provider": "qa", "reason": "defects", "count": 1},
    ]
    by_cell = engine.rejection_reasons(frame, by=("requester", "provider"))
    assert list(by_cell.columns) == ["requester", "provider", "reason", "count"]
    assert [tuple(r) for r in by_cell.itertuples(index=False)] == [
        ("dev", "qa", "incomplete", 2),  # most frequent first
        ("dev", "qa", "defects", 1),
        ("qa", "dev", "defects", 1),  # a tie: by reason
        ("qa", "dev", "undocumented", 1),
        (None, "dev", "incomplete", 1),  # intake: no requester, last
    ]


def test_matrix_cells_split_rejections_into_returns_and_reasons() -> None:
    matrix = engine.handoff_matrix(_requests(), CONFIG, NOW)
    cells = {
        (r["requester"], r["provider"]): (r["delivered"], r["rejected"], r["returns"], r["rejection_reasons"])
        for r in matrix.to_dict("records")
    }
    assert cells == {
        (None, "dev"): (4, 4, 3, [{"reason": "incomplete", "count": 1}]),
        ("dev", "qa"): (
            4,
            3,
            0,
            [{"reason": "incomplete", "count": 2}, {"reason": "defects", "count": 1}],
        ),
        ("qa", "dev"): (
            4,
            2,
            0,
            [{"reason": "defects", "count": 1}, {"reason": "undocumented", "count": 1}],
        ),
        ("qa", "ops"): (4, 0, 0, []),
    }
    for delivered, rejected, returns, reasons in cells.values():
        assert rejected == returns + sum(r["count"] for r in reasons) <= delivered


def test_without_verdicts_every_rejection_is_a_return() -> None:
    log = pd.concat([transitions(STEPS, i) for i in IDS], ignore_index=True)
    matrix = engine.handoff_matrix(engine.derive_requests(log, issues(IDS), CONFIG), CONFIG, NOW)
    assert [
        (r["requester"], r["provider"], r["rejected"], r["returns"], r["rejection_reasons"])
        for r in matrix.to_dict("records")
    ] == [
        ("dev", "qa", 0, 0, []),
        ("qa", "dev", 0, 0, []),
        ("qa", "ops", 0, 0, []),
        (None, "dev", 4, 4, []),
    ]
    assert engine.rejection_reasons(matrix.iloc[0:0]).empty
