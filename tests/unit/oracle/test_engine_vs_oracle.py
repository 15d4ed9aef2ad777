"""The engine (`baton.scoring.engine`) against the loop-based oracle, field by field, on random histories.

Default: a bounded number of examples per test (about a minute in total);
`BATON_HYPOTHESIS_PROFILE=thorough` runs thousands. While the engine raises NotImplementedError these
tests fail: a missing engine is a failure, not a skip.
"""

from __future__ import annotations

import math
from collections import Counter
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from baton.config.schema import BatonConfig
from baton.scoring import engine
from baton.scoring.model import IssueFacts, Transition, Verdict
from tests.unit.oracle.histories import (
    SPECS,
    Scenario,
    budget,
    engine_rows,
    issue_frame,
    plain,
    scenarios,
    transition_frame,
    verdict_scenarios,
)
from tests.unit.oracle.oracle import Oracle, Request
from tests.unit.oracle.worked_example import (
    ALL_VERDICTS,
    FACTS,
    REOPEN,
    TRANSITIONS,
    WEIGHTED,
    berlin,
)

EXACT_FIELDS = (
    "issue_id", "issue_key", "seq", "process", "provider", "requester", "kind", "opened_at",
    "first_response_at", "resolved_at", "outcome", "rejected", "rejected_at", "from_status", "to_status",
    "issue_type", "priority", "response_goal_s", "resolution_goal_s", "customer", "verdict_due_at", "verdict",
    "rating", "verdict_reason", "verdict_by", "verdict_at",
)  # fmt: skip
ELAPSED_FIELDS = ("response_elapsed_s", "resolution_elapsed_s")
STATE_FIELDS = ("response_state", "resolution_state")
SCORE_FIELDS = (
    "timeliness", "response_timeliness", "quality", "score", "resolved", "delivered", "rejected",
    "ratio_p50", "ratio_p90", "rework_hours", "open_at_risk", "open_breached", "satisfaction",
)  # fmt: skip


def _same(a: object, b: object, tolerance: float = 1e-9) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, bool) or isinstance(b, bool):
        return bool(a) == bool(b)
    if isinstance(a, int | float) and isinstance(b, int | float):
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=tolerance)
    return a == b


def _diff_requests(expected: list[Request], actual: list[dict[str, object]], *, evaluated: bool) -> list[str]:
    problems: list[str] = []
    if len(expected) != len(actual):
        problems.append(
            f"{len(expected)} requests expected, engine derived {len(actual)}:\n"
            f"  expected {[(r.issue_id, r.seq, r.provider, r.kind) for r in expected]}\n"
            f"  actual   {[(r.get('issue_id'), r.get('seq'), r.get('provider'), r.get('kind')) for r in actual]}"
        )
        return problems
    for want, got in zip(expected, actual, strict=True):
        ref = f"request {want.issue_id}#{want.seq}"
        fields = {name: getattr(want, name) for name in EXACT_FIELDS}
        for name in ("opened_at", "first_response_at", "resolved_at", "rejected_at"):
            fields[name] = getattr(want, name)
        for name, value in fields.items():
            if not _same(value, got.get(name)):
                problems.append(f"{ref}: {name} expected {value!r}, engine {got.get(name)!r}")
        has_goal = want.response_goal_s is not None or want.resolution_goal_s is not None
        if has_goal and not _same(want.at_risk_ratio, got.get("at_risk_ratio")):
            problems.append(
                f"{ref}: at_risk_ratio expected {want.at_risk_ratio}, engine {got.get('at_risk_ratio')}"
            )
        for name in ELAPSED_FIELDS:
            if not _same(getattr(want, name), got.get(name), tolerance=1.0):
                problems.append(f"{ref}: {name} expected {getattr(want, name)}, engine {got.get(name)}")
        if want.resolved_at is None:
            if not evaluated and not _same(want.clock_at, got.get("clock_at")):
                problems.append(f"{ref}: clock_at expected {want.clock_at}, engine {got.get('clock_at')}")
            if not evaluated and bool(got.get("paused")) != want.paused:
                problems.append(f"{ref}: paused expected {want.paused}, engine {got.get('paused')}")
        if evaluated:
            for name in STATE_FIELDS:
                if getattr(want, name) != got.get(name):
                    problems.append(f"{ref}: {name} expected {getattr(want, name)}, engine {got.get(name)}")
    return problems


def _diff_cards(expected: dict[tuple, dict], frame: object, by: str | None) -> list[str]:
    rows = engine_rows_by_key(frame, by)
    problems: list[str] = []
    if set(expected) != set(rows):
        problems.append(
            f"scorecard rows: expected {sorted(expected, key=str)}, engine {sorted(rows, key=str)}"
        )
    for key in sorted(set(expected) & set(rows), key=str):
        for name in SCORE_FIELDS:
            want, got = expected[key][name], rows[key].get(name)
            if not _same(want, got, tolerance=1e-6):
                problems.append(f"scorecard {key}: {name} expected {want!r}, engine {got!r}")
    return problems


def engine_rows_by_key(frame: object, by: str | None) -> dict[tuple, dict[str, object]]:
    out: dict[tuple, dict[str, object]] = {}
    for row in frame.to_dict("records"):  # type: ignore[attr-defined]
        clean = {k: plain(v) for k, v in row.items()}
        key = (str(clean["period"]), str(clean["team"]))
        out[key if by is None else (*key, clean[by])] = clean
    return out


BREAKDOWNS = (
    ("month", None),
    ("week", "process"),
    ("week", "pair"),
    ("month", "issue_type"),
    ("month", "pair"),
)
"""Scorecards are the engine's slowest step: every example checks weekly cards plus one of these."""
ANY_BREAKDOWN = st.sampled_from(BREAKDOWNS)


def compare(
    scenario: Scenario,
    extra: tuple[str, str | None] = ("month", None),
    verdicts: tuple[Verdict, ...] = (),
    config: BatonConfig | None = None,
) -> None:
    spec = SPECS[scenario.spec_name]
    config = config or spec.config
    oracle = Oracle(config, spec.categories)
    transitions = transition_frame(scenario.transitions)
    issues = issue_frame(scenario.issues)

    derived = engine.derive_requests(transitions, issues, config, spec.categories, verdicts)
    problems = _diff_requests(
        oracle.derive(scenario.transitions, scenario.issues, None, verdicts),
        engine_rows(derived),
        evaluated=False,
    )
    assert not problems, "derive_requests disagrees with the oracle:\n" + "\n".join(problems)

    expected = oracle.derive(scenario.transitions, scenario.issues, scenario.now, verdicts)
    evaluated = engine.evaluate_clocks(derived, config, scenario.now)
    problems = _diff_requests(expected, engine_rows(evaluated), evaluated=True)
    assert not problems, "evaluate_clocks disagrees with the oracle:\n" + "\n".join(problems)

    report = engine.unmapped_report(derived)
    got = {
        (r["requester"], r["provider"], r["from_status"], r["to_status"]): r["count"]
        for r in report.to_dict("records")
    }
    want = Counter(
        (r.requester, r.provider, r.from_status, r.to_status) for r in expected if r.kind == "unmapped"
    )
    assert got == dict(want), f"unmapped_report: expected {dict(want)}, engine {got}"

    for period, by in (("week", None), extra):
        cards = engine.scorecards(evaluated, config, scenario.now, period, by)  # type: ignore[arg-type]
        problems = _diff_cards(oracle.scorecards(expected, scenario.now, period, by), cards, by)
        assert not problems, f"scorecards({period}, by={by}) disagree with the oracle:\n" + "\n".join(
            problems
        )


def test_worked_example_through_the_engine() -> None:
    """The engine on docs/semantics.md's worked example, compared with the oracle (which test_worked_example checks)."""
    for extra in BREAKDOWNS:
        compare(Scenario("worked", (FACTS,), tuple(TRANSITIONS), berlin(6, 12)), extra)
        compare(Scenario("worked", (FACTS,), (*TRANSITIONS, REOPEN), berlin(9, 12)), extra)
        for now in (berlin(6, 12), berlin(23, 12)):
            for config in (WEIGHTED, None):
                scenario = Scenario("worked", (FACTS,), tuple(TRANSITIONS), now)
                compare(scenario, extra, tuple(ALL_VERDICTS), config)
                compare(
                    Scenario("worked", (FACTS,), (*TRANSITIONS, REOPEN), now),
                    extra,
                    tuple(ALL_VERDICTS),
                    config,
                )


def test_request_closed_by_a_reopen_across_a_gap_stops_its_clocks() -> None:
    """A log with a gap: qa's queue, no record of Done, then Done -> In Development. qa's request ends
    `returned` without a first response; evaluated weeks later, its clocks stay stopped at the reopen."""
    gap = (*TRANSITIONS[:2], REOPEN)
    oracle_qa = Oracle(SPECS["worked"].config).derive(gap, [FACTS], berlin(30, 12))[1]
    assert (oracle_qa.provider, oracle_qa.outcome, oracle_qa.first_response_at) == ("qa", "returned", None)
    assert oracle_qa.response_elapsed_s == oracle_qa.resolution_elapsed_s
    compare(Scenario("worked", (FACTS,), gap, berlin(30, 12)))


@pytest.mark.parametrize("hour", [13, 14, 15, 16])
def test_worked_example_open_clock_as_time_passes(hour: int) -> None:
    compare(Scenario("worked", (FACTS,), tuple(TRANSITIONS[:2]), berlin(2, hour)))


@budget(150)
@given(scenarios(SPECS["relay"], max_issues=5), ANY_BREAKDOWN)
def test_relay_stages_calendars_and_goals(scenario: Scenario, extra: tuple[str, str | None]) -> None:
    compare(scenario, extra)


@budget(150)
@given(scenarios(SPECS["handoffs"], max_issues=5), ANY_BREAKDOWN)
def test_explicit_handoffs_ids_overrides_and_categories(
    scenario: Scenario, extra: tuple[str, str | None]
) -> None:
    compare(scenario, extra)


@budget(150)
@given(scenarios(SPECS["dst"], max_issues=5), ANY_BREAKDOWN)
def test_dst_crossing_calendars_and_periods(scenario: Scenario, extra: tuple[str, str | None]) -> None:
    compare(scenario, extra)


@budget(150)
@given(scenarios(SPECS["worked"], max_issues=5), ANY_BREAKDOWN)
def test_worked_example_config_random_walks(scenario: Scenario, extra: tuple[str, str | None]) -> None:
    compare(scenario, extra)


@budget(100)
@given(
    st.sampled_from(["relay", "handoffs", "dst", "worked"]).flatmap(
        lambda name: scenarios(SPECS[name], max_issues=4, gaps=True)
    ),
    ANY_BREAKDOWN,
)
def test_logs_with_gaps_are_classified_by_each_transition_own_from(
    scenario: Scenario, extra: tuple[str, str | None]
) -> None:
    compare(scenario, extra)


def test_issue_without_a_type_keeps_its_ratios_in_the_issue_type_breakdown() -> None:
    """An issue whose type is unknown (None) still has a resolution goal and elapsed time: its row in
    the issue-type breakdown must carry ratio_p50/p90 like the same issue with a type does."""
    transitions = (
        Transition("1", datetime(2026, 3, 26, 10, tzinfo=UTC), None, None, "20001", "Ready", "created"),
        Transition(
            "1", datetime(2026, 3, 26, 11, tzinfo=UTC), "20001", "Ready", "20005", "Release Queue", "2"
        ),
    )
    now = datetime(2026, 3, 26, 12, tzinfo=UTC)
    for issue_type in ("Task", None):
        facts = IssueFacts("1", "ALPHA-1", "ALPHA", issue_type, "P1")
        compare(Scenario("handoffs", (facts,), transitions, now), ("month", "issue_type"))


# -- verdicts ----------------------------------------------------------------------------------------


@budget(150)
@given(
    st.sampled_from(["relay", "handoffs", "dst", "worked"]).flatmap(
        lambda name: verdict_scenarios(SPECS[name], max_issues=3)
    ),
    ANY_BREAKDOWN,
)
def test_random_verdicts_on_random_logs(
    drawn: tuple[Scenario, tuple[Verdict, ...], BatonConfig], extra: tuple[str, str | None]
) -> None:
    """Random verdicts (accept with or without a rating, reject with a reason, by any team, at instants
    around deliveries and their windows' ends) on random logs, with customers and windows per process
    and a satisfaction weight: the engine and the oracle agree field by field and card by card."""
    scenario, verdicts, config = drawn
    compare(scenario, extra, verdicts, config)
