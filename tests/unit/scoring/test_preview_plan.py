"""Which processes a draft configuration changes (`derivation_plan`), and the requests it keeps
(`carried_requests`): the preview derives only the rest (scoring/preview.py, issue 15)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from baton.config import load_config_text
from baton.scoring import engine
from baton.scoring.preview import DerivationPlan

REPO = Path(__file__).resolve().parents[3]
DEMO_TEXT = (REPO / "config" / "examples" / "demo.yaml").read_text()
DEMO = load_config_text(DEMO_TEXT)
OPS_ROW = "      - {provider: ops, response: 2h, resolution: 8h}\n"
"""support's ops goal: it goes with ops leaving support's stages."""


def _plan(text: str) -> DerivationPlan:
    return engine.derivation_plan(DEMO, load_config_text(text))


def test_an_unchanged_draft_carries_every_process() -> None:
    assert _plan(DEMO_TEXT) == DerivationPlan(False, frozenset({"delivery", "support"}), frozenset())


def test_goals_only_regoal_the_process_and_a_flow_change_derives_it() -> None:
    draft = (
        DEMO_TEXT.replace("stages: [support, dev, ops]", "stages: [support, dev]")
        .replace(OPS_ROW, "")
        .replace(
            "{provider: qa, response: 4h, resolution: 16h}", "{provider: qa, response: 4h, resolution: 8h}"
        )
        .replace("    at_risk: 0.8\n", "    at_risk: 0.7\n")
    )
    assert _plan(draft) == DerivationPlan(False, frozenset(), frozenset({"delivery"}))
    at_risk_only = DEMO_TEXT.replace("    at_risk: 0.8\n", "    at_risk: 0.7\n")
    assert _plan(at_risk_only) == DerivationPlan(False, frozenset({"delivery"}), frozenset({"support"}))
    window = DEMO_TEXT.replace("reopen_window: 7d", "reopen_window: 3d")
    assert _plan(window) == DerivationPlan(False, frozenset({"delivery"}), frozenset())


def test_rejection_reasons_do_not_touch_derivation() -> None:
    draft = DEMO_TEXT.replace(
        "    reopen_window: 7d\n", "    reopen_window: 7d\n    rejection_reasons: [late]\n"
    )
    assert load_config_text(draft).processes["support"].rejection_reasons == ["late"]
    assert _plan(draft) == DerivationPlan(False, frozenset({"delivery", "support"}), frozenset())


def test_calendars_teams_or_matching_derive_everything() -> None:
    assert DEMO.processes["support"].match.projects == ["SUP"]
    for draft in (
        DEMO_TEXT.replace("match: {projects: [SUP]}", "match: {projects: [SUP, OPS]}"),
        DEMO_TEXT.replace("timezone: Europe/Berlin", "timezone: Europe/Paris", 1),
    ):
        assert load_config_text(draft) != DEMO
        assert _plan(draft) == DerivationPlan(derive_all=True)


def _requests() -> pd.DataFrame:
    """Three requests as derivation gives them: qa and dev in delivery, ops in support."""
    return pd.DataFrame(
        {
            "issue_id": ["1", "1", "2"],
            "seq": [0, 1, 0],
            "process": ["delivery", "delivery", "support"],
            "provider": ["qa", "dev", "ops"],
            "requester": ["dev", "qa", "dev"],
            "kind": ["new", "rework", "new"],
            "issue_type": ["Story", "Story", "Incident"],
            "priority": ["Medium", "Highest", "Medium"],
            "response_goal_s": [14400.0, 7200.0, 7200.0],
            "resolution_goal_s": [57600.0, 28800.0, 28800.0],
            "at_risk_ratio": [0.75, 0.75, 0.8],
        }
    )


def test_carried_requests_keep_the_carried_and_look_the_regoaled_goals_up_again() -> None:
    draft = load_config_text(
        DEMO_TEXT.replace(
            "{provider: qa, response: 4h, resolution: 16h}", "{provider: qa, response: 1h, resolution: 8h}"
        )
        .replace("stages: [support, dev, ops]", "stages: [support, dev]")
        .replace(OPS_ROW, "")
        .replace("    at_risk: 0.75\n", "    at_risk: 0.5\n")
    )
    plan = engine.derivation_plan(DEMO, draft)
    assert plan == DerivationPlan(False, frozenset(), frozenset({"delivery"}))
    out = engine.carried_requests(_requests(), draft, plan)
    assert out["issue_id"].tolist() == ["1", "1"]  # support is derived again, not carried
    assert out["response_goal_s"].tolist() == [3600.0, 7200.0]  # qa's new goal; dev's Highest row
    assert out["resolution_goal_s"].tolist() == [28800.0, 28800.0]  # dev rework on Highest: 8h
    assert out["at_risk_ratio"].tolist() == [0.5, 0.5]
    carried = engine.carried_requests(_requests(), DEMO, engine.derivation_plan(DEMO, DEMO))
    pd.testing.assert_frame_equal(carried, _requests())
    assert np.array_equal(carried["resolution_goal_s"].to_numpy(), [57600.0, 28800.0, 28800.0])
