"""Derivation is a pure function of each issue's transition log (issue 3, item 2).

Order independence (rows in any order), idempotency (duplicate deliveries, deriving twice) and config
change re-derivation (A then B equals B alone), for the engine and for the oracle.
"""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st

from baton.config.schema import BatonConfig
from baton.scoring import engine
from tests.unit.oracle.histories import (
    SPECS,
    Scenario,
    budget,
    engine_rows,
    issue_frame,
    scenarios,
    transition_frame,
)
from tests.unit.oracle.oracle import Oracle
from tests.unit.oracle.worked_example import CONFIG

ANY_SPEC = st.sampled_from(["relay", "handoffs", "dst", "worked"]).flatmap(
    lambda name: scenarios(SPECS[name])
)

# The worked example's statuses with a different flow and standards: qa hands straight to done,
# ops is reached only by unmapped hand-offs, dev gets goals, the reopen window shrinks to a day.
OTHER_CONFIG = BatonConfig.model_validate(
    {
        **CONFIG.model_dump(by_alias=True, exclude_none=True),
        "processes": {
            "delivery": {
                "match": {"projects": ["PROJ"]},
                "handoffs": [{"from": "dev", "to": "qa"}],
                "done": ["Done", "Deploying"],
                "reopen_window": "1d",
                "sla": [
                    {"provider": "dev", "response": "1h", "resolution": "6h", "rework": "2h"},
                    {"provider": "qa", "response": "2h", "resolution": "8h"},
                ],
            }
        },
    }
)


def _derive(scenario: Scenario, rows: list, config: BatonConfig | None = None) -> list[dict[str, object]]:
    spec = SPECS[scenario.spec_name]
    frame = engine.derive_requests(
        transition_frame(rows), issue_frame(scenario.issues), config or spec.config, spec.categories
    )
    return engine_rows(frame)


@budget(60)
@given(ANY_SPEC, st.randoms(use_true_random=False))
def test_row_order_does_not_matter(scenario: Scenario, rnd) -> None:
    rows = list(scenario.transitions)
    expected = _derive(scenario, rows)
    rnd.shuffle(rows)
    assert _derive(scenario, rows) == expected


@budget(60)
@given(ANY_SPEC, st.randoms(use_true_random=False))
def test_duplicate_deliveries_and_deriving_twice_change_nothing(scenario: Scenario, rnd) -> None:
    rows = list(scenario.transitions)
    expected = _derive(scenario, rows)
    duplicated = rows + [rnd.choice(rows) for _ in range(rnd.randint(1, len(rows)))]
    rnd.shuffle(duplicated)
    assert _derive(scenario, duplicated) == expected
    assert _derive(scenario, rows) == expected


@budget(40)
@given(scenarios(SPECS["worked"]))
def test_config_change_rederives_history(scenario: Scenario) -> None:
    rows = list(scenario.transitions)
    under_other_alone = _derive(scenario, rows, OTHER_CONFIG)
    under_worked_alone = _derive(scenario, rows, CONFIG)
    assert _derive(scenario, rows, OTHER_CONFIG) == under_other_alone
    assert _derive(scenario, rows, CONFIG) == under_worked_alone


@budget(60)
@given(ANY_SPEC, st.randoms(use_true_random=False))
def test_the_oracle_is_order_independent_and_idempotent_too(scenario: Scenario, rnd) -> None:
    spec = SPECS[scenario.spec_name]
    oracle = Oracle(spec.config, spec.categories)
    expected = [r.as_dict() for r in oracle.derive(scenario.transitions, scenario.issues, scenario.now)]
    rows = list(scenario.transitions) * 2
    rnd.shuffle(rows)
    assert [r.as_dict() for r in oracle.derive(rows, scenario.issues, scenario.now)] == expected


@budget(40)
@given(ANY_SPEC, st.integers(0, 5 * 86400))
def test_clocks_evaluated_later_equal_clocks_evaluated_once(scenario: Scenario, later: int) -> None:
    """evaluate_clocks(now1) then (now2) equals evaluate_clocks(now2) straight from the derived frame."""
    spec = SPECS[scenario.spec_name]
    derived = engine.derive_requests(
        transition_frame(scenario.transitions), issue_frame(scenario.issues), spec.config, spec.categories
    )
    now2 = scenario.now + timedelta(seconds=later)
    direct = engine_rows(engine.evaluate_clocks(derived, spec.config, now2))
    once = engine.evaluate_clocks(derived, spec.config, scenario.now)
    assert engine_rows(engine.evaluate_clocks(once, spec.config, now2)) == direct
