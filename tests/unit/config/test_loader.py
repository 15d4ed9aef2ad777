"""Loading: YAML lines, whole-file problems, cross-checks next to shape errors, fingerprints."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from baton.config import ConfigError, Problem, fingerprint, load_config, load_config_text, validate_config
from baton.config.errors import dotted

VALID = textwrap.dedent(
    """\
    version: 1
    calendars:
      berlin: {timezone: Europe/Berlin, hours: {mon-fri: ["09:00-17:00"]}}
    teams:
      dev: {calendar: berlin, statuses: {active: ["In Development"]}}
      qa: {calendar: berlin, statuses: {queue: ["Ready for QA"], active: ["In QA"]}}
    processes:
      delivery:
        match: {projects: [PROJ]}
        stages: [dev, qa]
        sla: [{provider: qa, response: 4h, resolution: 16h}]
    """
)


def _error(text: str) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load_config_text(textwrap.dedent(text), "baton.yaml")
    return caught.value


def test_valid_text_loads() -> None:
    config = load_config_text(VALID)
    assert config.processes["delivery"].sla[0].resolution == 16 * 3600


def test_defaults() -> None:
    process = load_config_text(VALID).processes["delivery"]
    assert process.reopen_window == 14 * 86400 and process.at_risk == 0.75
    assert process.done is None and process.pause == [] and process.unmapped_goal is None
    scoring = load_config_text(VALID).scoring
    assert (scoring.weights.timeliness, scoring.weights.quality, scoring.timezone) == (0.5, 0.5, "UTC")
    assert scoring.periods == ["week", "month"]


def test_problem_format() -> None:
    assert Problem(("a", 0, "b"), 3, "bad").format("f.yaml") == "f.yaml:3: a[0].b: bad"
    assert Problem((), None, "gone").format("f.yaml") == "f.yaml: gone"
    assert dotted(("processes", "p", "sla", 2, "response")) == "processes.p.sla[2].response"


def test_error_carries_file_name_and_every_problem() -> None:
    error = _error(VALID.replace("4h", "4x").replace("16h", "16y"))
    assert error.filename == "baton.yaml"
    assert [p.line for p in error.problems] == [11, 11]
    assert str(error).splitlines()[0].startswith("baton.yaml:11: processes.delivery.sla[0].response: '4x'")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path / "nope.yaml")
    assert str(caught.value).startswith(f"{tmp_path / 'nope.yaml'}: cannot read the file: No such file")


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("", 1, "the file is empty"),
        ("# only a comment\n", 1, "the file is empty"),
        ("- a\n- b\n", 1, "the file must be a mapping"),
        ("version: 1\nteams:\n\tdev: {}\n", 3, "indent with spaces, not tabs"),
    ],
)
def test_whole_file_problems(text: str, line: int, fragment: str) -> None:
    (problem,) = _error(text).problems
    assert problem.line == line and problem.path == ()
    assert fragment in problem.message


def test_missing_sections_point_at_the_top() -> None:
    error = _error("version: 1\n")
    assert [(p.line, p.dotted_path, p.message) for p in error.problems] == [
        (1, "calendars", "required key `calendars` is missing"),
        (1, "teams", "required key `teams` is missing"),
        (1, "processes", "required key `processes` is missing"),
    ]


def test_missing_key_points_at_nearest_existing_ancestor() -> None:
    error = _error(VALID.replace("{timezone: Europe/Berlin, hours:", "{hours:"))
    assert [(p.line, p.dotted_path) for p in error.problems] == [(3, "calendars.berlin.timezone")]


def test_references_to_a_broken_entry_are_not_reported_as_unknown() -> None:
    text = VALID.replace(
        'qa: {calendar: berlin, statuses: {queue: ["Ready for QA"]',
        'qa: {calendar: berlin, statuses: {queue: "Ready for QA"',
    )
    text = text.replace("stages: [dev, qa]", "stages: [dev, qa, opz]")
    messages = [p.message for p in _error(text).problems]
    assert len(messages) == 2
    assert "expected a list" in messages[0]
    assert messages[1].startswith("unknown team 'opz'")


def test_override_resolves_a_shared_status_name() -> None:
    text = VALID.replace('active: ["In QA"]', 'active: ["In QA", "In Development"]')
    assert "owned twice" in _error(text).problems[0].message
    # either override settles it: the process's claim wins over another team's global one...
    fixed = text.replace(
        "stages: [dev, qa]", 'stages: [dev, qa]\n    ownership: {dev: {active: ["In Development"]}}'
    )
    load_config_text(fixed)
    # ...or the process replaces qa's statuses with a list without it
    fixed = text.replace(
        "stages: [dev, qa]",
        'stages: [dev, qa]\n    ownership: {qa: {queue: ["Ready for QA"], active: ["In QA"]}}',
    )
    load_config_text(fixed)


def test_a_status_listed_twice_by_one_team() -> None:
    (problem,) = _error(VALID.replace('active: ["In QA"]', 'active: ["Ready for QA"]')).problems
    assert problem.message == "status 'Ready for QA' is listed twice for team 'qa' (queue and active)"
    assert (problem.line, problem.dotted_path) == (6, "teams.qa.statuses.active[0]")


def test_status_by_id_and_requester_done_are_accepted() -> None:
    text = VALID.replace('active: ["In QA"]', "active: [{id: 10001}]").replace(
        "{provider: qa,", "{provider: qa, requester: done,"
    )
    config = load_config_text(text)
    assert config.teams["qa"].statuses.active[0].id == "10001"  # type: ignore[union-attr]


def test_hours_accept_a_single_interval_and_24_00() -> None:
    config = load_config_text(
        VALID.replace('{mon-fri: ["09:00-17:00"]}', '{mon-fri: "09:00-17:00", sat: ["12:00-24:00"]}')
    )
    calendar = config.calendars["berlin"]
    assert not isinstance(calendar, str)
    assert calendar.weekly_intervals()["sat"] == [(12 * 3600, 24 * 3600)]


def test_fingerprint_ignores_layout_and_notation() -> None:
    a = load_config_text(VALID)
    b = load_config_text("# a comment\n" + VALID.replace("4h", "240m").replace("16h", "960m"))
    c = load_config_text(VALID.replace("16h", "17h"))
    assert fingerprint(a) == fingerprint(b)
    assert fingerprint(a) != fingerprint(c)
    assert len(fingerprint(a)) == 64


def test_validate_config_works_without_a_file() -> None:
    config = load_config_text(VALID)
    broken = config.model_copy(
        update={"scoring": config.scoring.model_copy(update={"timezone": "Nowhere/City"})}
    )
    (problem,) = validate_config(broken)
    assert (problem.path, problem.line) == (("scoring", "timezone"), None)
    assert problem.message.startswith("unknown timezone 'Nowhere/City'")


def test_fingerprint_counts_defaults_as_written_and_keeps_process_order() -> None:
    base = load_config_text(VALID)
    explicit = load_config_text(
        VALID.replace("stages: [dev, qa]", "stages: [dev, qa]\n    reopen_window: 14d")
    )
    assert fingerprint(base) == fingerprint(explicit)
    second = "  other:\n    match: {projects: [PROJ]}\n    stages: [qa]\n"
    head, tail = VALID.split("  delivery:\n")
    after = load_config_text(VALID + second)
    before = load_config_text(head + second + "  delivery:\n" + tail)
    assert fingerprint(after) != fingerprint(before)  # the first matching process wins
