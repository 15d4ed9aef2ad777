"""Derivation is a pure function of the transition log: order, duplicates, re-runs and config changes."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from baton.config.schema import BatonConfig
from baton.scoring import engine
from tests.unit.oracle.histories import SPECS, Scenario, issue_frame, scenarios, transition_frame

ANY_SCENARIO = st.sampled_from(sorted(SPECS)).flatmap(lambda name: scenarios(SPECS[name], max_issues=4))


def derive(
    scenario: Scenario, frame: pd.DataFrame | None = None, config: BatonConfig | None = None
) -> pd.DataFrame:
    spec = SPECS[scenario.spec_name]
    transitions = transition_frame(scenario.transitions) if frame is None else frame
    return engine.derive_requests(
        transitions, issue_frame(scenario.issues), config or spec.config, spec.categories
    )


def same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True), check_dtype=False)


@settings(max_examples=80, deadline=None)
@given(ANY_SCENARIO, st.randoms(use_true_random=False))
def test_shuffled_with_duplicates_gives_the_same_requests(scenario: Scenario, rnd: Any) -> None:
    frame = transition_frame(scenario.transitions)
    extra = frame.sample(n=rnd.randint(0, len(frame)), replace=True, random_state=rnd.randint(0, 2**31))
    noisy = pd.concat([frame, extra]).sample(frac=1.0, random_state=rnd.randint(0, 2**31))
    same(derive(scenario), derive(scenario, noisy))


@settings(max_examples=60, deadline=None)
@given(ANY_SCENARIO)
def test_rederiving_is_idempotent(scenario: Scenario) -> None:
    first = derive(scenario)
    same(first, derive(scenario))
    spec = SPECS[scenario.spec_name]
    clocked = engine.evaluate_clocks(first, spec.config, scenario.now)
    same(clocked, engine.evaluate_clocks(derive(scenario), spec.config, scenario.now))
    # the input frames are not modified
    assert list(first.columns) == list(derive(scenario).columns)


@settings(max_examples=60, deadline=None)
@given(ANY_SCENARIO)
def test_one_issue_rederived_alone_equals_its_part_of_the_whole(scenario: Scenario) -> None:
    whole = derive(scenario)
    frame = transition_frame(scenario.transitions)
    for issue_id in sorted({t.issue_id for t in scenario.transitions}):
        alone = derive(scenario, frame[frame["issue_id"] == issue_id])
        same(whole[whole["issue_id"] == issue_id], alone)


def changed(config: BatonConfig) -> BatonConfig:
    """Config B: shorter reopen window, other at-risk threshold, SLA rows in reverse order, first
    forward rule dropped."""
    data = config.model_dump(by_alias=True, exclude_none=True)
    for process in data["processes"].values():
        process["reopen_window"] = 3600
        process["at_risk"] = 0.5
        process["sla"] = list(reversed(process.get("sla", [])))
        if process.get("stages"):
            process["stages"] = process["stages"][1:] if len(process["stages"]) > 2 else process["stages"]
        elif process.get("handoffs"):
            process["handoffs"] = process["handoffs"][1:] or process["handoffs"]
    return BatonConfig.model_validate(data)


CHANGED = {name: changed(spec.config) for name, spec in SPECS.items()}


@settings(max_examples=60, deadline=None)
@given(ANY_SCENARIO)
def test_config_change_rederives_history(scenario: Scenario) -> None:
    spec = SPECS[scenario.spec_name]
    config_b = CHANGED[scenario.spec_name]
    derive(scenario, config=spec.config)  # warm every cache with config A
    with_b = derive(scenario, config=config_b)
    fresh_b = derive(scenario, config=changed(spec.config))  # a new, equal config object
    same(with_b, fresh_b)
    cards_b = engine.scorecards(with_b, config_b, scenario.now)
    same(cards_b, engine.scorecards(fresh_b, changed(spec.config), scenario.now))


def test_config_change_is_visible_on_the_worked_example() -> None:
    from tests.unit.scoring.worked import CONFIG, REOPEN, STEPS, issues, load_config, transitions

    before = engine.derive_requests(transitions([*STEPS, REOPEN]), issues(), CONFIG)
    text = CONFIG.model_dump(by_alias=True, exclude_none=True)
    text["processes"]["delivery"]["reopen_window"] = 86400  # one day: the reopen rejects nothing now
    text["processes"]["delivery"]["sla"][0]["resolution"] = 4 * 3600
    after_config = BatonConfig.model_validate(text)
    after = engine.derive_requests(transitions([*STEPS, REOPEN]), issues(), after_config)
    assert before["rejected"].tolist() == [True, False, True, False, False, False]
    assert after["rejected"].tolist() == [True, False, False, False, False, False]
    assert np.nanmax(after["resolution_goal_s"].to_numpy(dtype=float)) == 24 * 3600
    assert after.loc[after["provider"] == "qa", "resolution_goal_s"].tolist() == [4 * 3600, 4 * 3600]
    assert load_config is not None


def test_empty_inputs() -> None:
    from tests.unit.scoring.worked import CONFIG, STEPS, issues, transitions

    empty = engine.derive_requests(transitions(STEPS).iloc[:0], issues(), CONFIG)
    assert empty.empty
    now = pd.Timestamp("2026-03-06T12:00:00Z").to_pydatetime()
    assert engine.evaluate_clocks(empty, CONFIG, now).empty
    assert engine.scorecards(empty, CONFIG, now).empty
    assert engine.handoff_matrix(empty, CONFIG, now).empty
    assert engine.unmapped_report(empty).empty


@settings(max_examples=60, deadline=None)
@given(ANY_SCENARIO, st.integers(0, 5 * 86400))
def test_evaluating_again_later_equals_evaluating_once(scenario: Scenario, later_s: int) -> None:
    spec = SPECS[scenario.spec_name]
    derived = derive(scenario)
    later = scenario.now + pd.Timedelta(seconds=later_s).to_pytimedelta()
    twice = engine.evaluate_clocks(
        engine.evaluate_clocks(derived, spec.config, scenario.now), spec.config, later
    )
    once = engine.evaluate_clocks(derived, spec.config, later)
    columns = ["response_elapsed_s", "resolution_elapsed_s", "response_state", "resolution_state", "clock_at"]
    pd.testing.assert_frame_equal(twice[columns], once[columns], check_dtype=False, atol=1e-6)
