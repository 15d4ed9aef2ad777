"""Which requests crossed into at risk or breached, and which alert targets hear of it: exact instants."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from baton.config.loader import load_config_text
from baton.config.schema import BatonConfig
from baton.scoring import engine
from tests.unit.oracle.histories import SPECS, Scenario, issue_frame, transition_frame
from tests.unit.scoring.test_clocks import CONFIG
from tests.unit.scoring.test_properties import ANY_SCENARIO
from tests.unit.scoring.worked import berlin, issues, transitions

H = 3600.0

# qa's request (requester dev: resolution 16 h, at risk from 75 % = 12 h) opens Monday 2 March 10:00
# Berlin; Berlin works Monday to Friday 09:00-17:00: 12 working hours are reached Tuesday 14:00, 16 on
# Wednesday 10:00.
OPEN_AT_QA = [
    (berlin(2, 9), None, "In Development"),
    (berlin(2, 10), "In Development", "Ready for QA"),
]


def derive(steps: list, config: BatonConfig = CONFIG) -> pd.DataFrame:
    facts = issues()
    facts["priority"] = "Medium"
    facts["issue_type"] = "Story"
    return engine.derive_requests(transitions(steps), facts, config)


def _crossed(steps: list, now: object, config: object = CONFIG) -> list[tuple[str, str, pd.Timestamp]]:
    found = engine.alert_crossings(derive(steps, config), config, now)  # type: ignore[arg-type]
    return [(r.request_key, r.state, r.crossed_at) for r in found.itertuples()]


def test_running_request_crosses_nothing_before_its_threshold() -> None:
    assert _crossed(OPEN_AT_QA, berlin(3, 13, 59)) == []


def test_at_risk_is_crossed_at_75_percent_of_the_working_time() -> None:
    assert _crossed(OPEN_AT_QA, berlin(3, 14)) == [("10001#1", "at_risk", pd.Timestamp(berlin(3, 14)))]
    # seen later (overnight, after a restart) the crossing keeps its instant
    assert _crossed(OPEN_AT_QA, berlin(3, 20)) == [("10001#1", "at_risk", pd.Timestamp(berlin(3, 14)))]


def test_a_breached_request_has_crossed_both_states_in_order() -> None:
    found = engine.alert_crossings(derive(OPEN_AT_QA), CONFIG, berlin(5, 12))
    assert found["state"].tolist() == ["at_risk", "breached"]
    assert found["crossed_at"].tolist() == [pd.Timestamp(berlin(3, 14)), pd.Timestamp(berlin(4, 10))]
    breached = found.iloc[1]
    assert (breached["clock"], breached["goal_s"], breached["threshold_s"]) == ("resolution", 16 * H, 16 * H)
    assert breached["elapsed_s"] == (7 + 8 + 8 + 3) * H
    assert breached["due_at"] == pd.Timestamp(berlin(4, 10))
    assert (breached["issue_key"], breached["provider"], breached["requester"]) == ("PROJ-1", "qa", "dev")
    assert found.iloc[0]["threshold_s"] == 12 * H


def test_resolved_requests_are_not_alerted() -> None:
    steps = [*OPEN_AT_QA, (berlin(5, 11), "Ready for QA", "Done")]
    assert _crossed(steps, berlin(5, 12)) == []


def test_a_paused_clock_crossed_before_its_pause() -> None:
    # at risk Tuesday 14:00, blocked Tuesday 15:00: the crossing is counted back from the pause
    steps = [*OPEN_AT_QA, (berlin(3, 15), "Ready for QA", "Blocked")]
    assert _crossed(steps, berlin(6, 12)) == [("10001#1", "at_risk", pd.Timestamp(berlin(3, 14)))]


def test_threshold_is_configurable_per_process_as_a_percentage() -> None:
    text = CONFIG.model_dump_json(by_alias=True)
    half = load_config_text(text.replace('"at_risk":0.75', '"at_risk":"50%"'))
    assert half.processes["delivery"].at_risk == 0.5
    # 8 of 16 working hours: Monday 10:00-17:00 (7) plus Tuesday's first hour
    assert _crossed(OPEN_AT_QA, berlin(3, 10), half) == [("10001#1", "at_risk", pd.Timestamp(berlin(3, 10)))]
    full = load_config_text(text.replace('"at_risk":0.75', '"at_risk":"100%"'))
    # no at-risk stretch at 100 %: only the breach
    assert [s for _, s, _ in _crossed(OPEN_AT_QA, berlin(5, 12), full)] == ["breached"]


def _with_alerts(alerts: str) -> object:
    text = CONFIG.model_dump_json(by_alias=True)
    import json

    data = json.loads(text)
    data["alerts"] = json.loads(alerts)
    return load_config_text(json.dumps(data))


def test_routes_follow_each_targets_states_and_filters() -> None:
    config = _with_alerts(
        """[
        {"name": "all", "kind": "slack", "url": "https://hooks.example.com/a"},
        {"name": "breaches", "kind": "teams", "url": "https://hooks.example.com/b", "on": ["breached"]},
        {"name": "ops-only", "kind": "slack", "url": "https://hooks.example.com/c", "providers": ["dev"]},
        {"name": "delivery", "kind": "json", "url": "https://hooks.example.com/d",
         "secret_env": "BATON_ALERT_KEY", "processes": ["delivery"], "on": ["at_risk"]}
        ]"""
    )
    found = engine.alert_crossings(derive(OPEN_AT_QA), config, berlin(5, 12))  # type: ignore[arg-type]
    routes = engine.alert_routes(found, config)  # type: ignore[arg-type]
    assert list(zip(routes["target"], routes["state"], strict=True)) == [
        ("all", "at_risk"),
        ("all", "breached"),
        ("breaches", "breached"),
        ("delivery", "at_risk"),
    ]


@settings(max_examples=40, deadline=None)
@given(ANY_SCENARIO, st.integers(min_value=1, max_value=24 * 30))
def test_a_crossing_never_moves_nor_disappears_while_the_request_stays_open(
    scenario: Scenario, hours: int
) -> None:
    spec = SPECS[scenario.spec_name]
    requests = engine.derive_requests(
        transition_frame(scenario.transitions), issue_frame(scenario.issues), spec.config, spec.categories
    )
    later = scenario.now + timedelta(hours=hours)
    before = engine.alert_crossings(requests, spec.config, scenario.now)
    after = engine.alert_crossings(requests, spec.config, later)
    seen = {(r.request_key, r.state): r.crossed_at for r in after.itertuples()}
    for r in before.itertuples():
        assert r.crossed_at <= pd.Timestamp(scenario.now)
        # the same log seen later: the request is still open, its crossing is still there, at the same instant
        assert (r.request_key, r.state) in seen
        assert abs((seen[(r.request_key, r.state)] - r.crossed_at).total_seconds()) < 0.002
    for key, group in after.groupby("request_key"):
        states = dict(zip(group["state"], group["crossed_at"], strict=True))
        if "at_risk" in states and "breached" in states:
            assert states["at_risk"] <= states["breached"], key
