"""Each broken file in `broken/` is rejected with exactly these problems: line, YAML path, message.

The table is the specification of the error messages a PMO analyst sees; every problem of a file
must be listed (not just the first), in file order.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from baton.config import ConfigError, load_config

BROKEN = Path(__file__).parent / "broken"

# file -> [(line, dotted YAML path, message fragment), ...] in the order they are reported
EXPECTED: dict[str, list[tuple[int, str, str]]] = {
    "unknown_calendar.yaml": [
        (9, "teams.dev.calendar", "unknown calendar 'berln'; did you mean 'berlin'?"),
    ],
    "unknown_team.yaml": [
        (11, "processes.delivery.stages[2]", "unknown team 'opz'; known teams: dev, qa"),
        (13, "processes.delivery.ownership.support", "unknown team 'support'"),
        (15, "processes.delivery.sla[0].requester", "unknown team 'devs'; did you mean 'dev'?"),
        (16, "processes.delivery.sla[1].provider", "unknown team 'ops'"),
    ],
    "unknown_team_handoffs.yaml": [
        (14, "processes.delivery.handoffs[1].to", "unknown team 'deploy'"),
        (15, "processes.delivery.handoffs[2].from", "unknown team 'design'"),
    ],
    "owned_twice.yaml": [
        (
            11,
            "teams.qa.statuses.active[1]",
            "status '  review ' is owned twice in process 'delivery': by 'dev' (active) and 'qa' (active)",
        ),
    ],
    "pause_owned.yaml": [
        (12, "processes.delivery.pause[0]", "pause status 'blocked' is also owned by team 'dev' (active)"),
        (13, "processes.delivery.done[1]", "done status id 10010 is also owned by team 'qa' (queue)"),
    ],
    "cycle.yaml": [
        (15, "processes.delivery.handoffs[2]", "cycle in the forward hand-offs: dev -> qa -> ops -> dev"),
        (18, "processes.short.stages[2]", "cycle in the forward hand-offs: dev -> qa -> dev"),
    ],
    "bad_timezone.yaml": [
        (5, "calendars.berlin.timezone", "unknown timezone 'Europe/Berln'; did you mean 'Europe/Berlin'?"),
        (
            8,
            "calendars.office.timezone",
            "unknown timezone 'CEST': an abbreviation names an offset, not a zone; use an IANA name such as 'Europe/Berlin'",
        ),
        (15, "scoring.timezone", "unknown timezone 'Mars/Olympus'; use an IANA name such as Europe/Berlin"),
    ],
    "bad_holidays.yaml": [
        (9, "calendars.berlin.holidays.subdivision", "unknown subdivision 'XX' of DE; known: BB, BE,"),
        (10, "calendars.berlin.holidays.extra[1]", "'2026-02-30' is not a date; write it as YYYY-MM-DD"),
        (10, "calendars.berlin.holidays.extra[2]", "'24.12.2026' is not a date; write it as YYYY-MM-DD"),
        (11, "calendars.berlin.holidays.working[0]", "'2026-13-01' is not a date"),
        (15, "calendars.atlantis.holidays.country", "unknown holiday country 'ZZ'"),
    ],
    "bad_durations.yaml": [
        (12, "processes.delivery.reopen_window", "'two weeks' is not a duration; write it like \"4h\""),
        (15, "processes.delivery.sla[0].response", "'4 hours' is not a duration"),
        (16, "processes.delivery.sla[0].resolution", "'0m' is zero; a goal must be longer than that"),
        (17, "processes.delivery.sla[0].rework", "'1h1h' repeats a unit"),
    ],
    "bad_hours.yaml": [
        (8, "calendars.shanghai.hours.sat[0]", "'9-12' is not a time range; write it like \"09:00-17:00\""),
        (12, "calendars.night.hours.mon-fry", "'mon-fry' is not a day or day range; use mon..sun or a range"),
        (12, "calendars.night.hours.mon-fry[0]", "'22:00-06:00' ends before it starts; split an overnight"),
        (13, "calendars.night.hours.sun[0]", "'25:00-26:00' has an impossible time of day"),
        (
            16,
            "calendars.nothing.hours",
            'no working hours; write e.g. mon-fri: ["09:00-17:00"], or use `24x7`',
        ),
    ],
    "overlapping_hours.yaml": [
        (7, "calendars.shanghai.hours.mon-fri[1]", "'11:30-18:00' overlaps '09:00-12:00' on mon"),
        (8, "calendars.shanghai.hours.fri[0]", "'17:00-19:00' overlaps '11:30-18:00' (hours.mon-fri) on fri"),
    ],
    "bad_weights.yaml": [
        (10, "scoring.weights", "weights must add up to 1: timeliness 0.7 + quality 0.5 = 1.2"),
    ],
    "provider_not_in_process.yaml": [
        (
            15,
            "processes.delivery.sla[1].provider",
            "team 'ops' is not in this process's stages or handoffs (dev, qa)",
        ),
        (17, "processes.empty.match.projects", "no projects: the process would match no issue"),
        (18, "processes.empty.handoffs", "names no team"),
    ],
    "unknown_keys.yaml": [
        (6, "teams.dev.calendar", "required key `calendar` is missing"),
        (7, "teams.dev.calender", "unknown key `calender`; did you mean `calendar`?"),
        (9, "teams.qa.statuses.actve", "unknown key `actve`; did you mean `active`?"),
        (15, "processes.delivery.sla[0].resposne", "unknown key `resposne`; did you mean `response`?"),
    ],
    "wrong_types.yaml": [
        (3, "version", "expected 1, got int 2"),
        (
            5,
            "calendars.always",
            "expected a calendar mapping (timezone, hours, holidays) or the text 24x7, got '24/7'",
        ),
        (7, "teams.dev.statuses.active[0].id", "required key `id` is missing"),
        (7, "teams.dev.statuses.active[0].name", "unknown key `name`; allowed here: id"),
        (8, "teams.qa.statuses", "expected a mapping of keys to values, got a list"),
        (11, "processes.delivery.match.projects", "expected a list such as [a, b], got 'PROJ'"),
        (13, "processes.delivery.at_risk", "must be less than or equal to 1 (got 1.5)"),
    ],
    "process_flow.yaml": [
        (9, "processes.both", "give either `stages` or `handoffs`, not both"),
        (13, "processes.neither", "a process needs `stages: [team, ...]` or `handoffs:"),
    ],
    "yaml_syntax.yaml": [
        (6, "", "YAML syntax error: while parsing a flow sequence expected ',' or ']', but got '}'"),
    ],
    "duplicate_key.yaml": [
        (7, "", "YAML syntax error: duplicate key 'dev'; each key may appear only once in a mapping"),
    ],
    "empty_lists_and_reserved.yaml": [
        (7, "teams.done", "`done` cannot be a team name: it is the requester of work reopened"),
        (12, "processes.delivery.match.issue_types", "no issue types: the process would match no issue"),
        (14, "processes.delivery.done", "an empty list means no status finishes the work; omit `done`"),
    ],
    # issue 16 item 7: shape problems no longer hide the cross-reference ones (the old loader dropped the
    # whole process, so the unknown stage and the status owned twice showed only after the 3 were fixed)
    "schema_and_semantic.yaml": [
        (11, "teams.qa.statuses.active[1]", "status 'review' is owned twice in process 'delivery'"),
        (16, "processes.delivery.stages[2]", "unknown team 'opz'; did you mean 'ops'?"),
        (17, "processes.delivery.reopen_window", "'two weeks' is not a duration"),
        (18, "processes.delivery.at_risk", "must be less than or equal to 1 (got 1.5)"),
        (20, "processes.delivery.sla[0].response", "'4x' is not a duration"),
    ],
    "schema_in_list_items.yaml": [
        (7, "teams.dev.statuses.active[1]", "expected a status name or {id:"),
        (14, "processes.delivery.sla[0].response", "'soon' is not a duration"),
        (15, "processes.delivery.sla[1].requester", "unknown team 'devs'; did you mean 'dev'?"),
        (17, "processes.delivery.sla[3].provider", "unknown team 'qz'; known teams: dev, qa"),
    ],
    "mixed.yaml": [
        (9, "calendars.broken.hours.mon-fri[0]", "'9am-5pm' is not a time range"),
        (13, "teams.ops.calendar", "unknown calendar 'nowhere'; known calendars: berlin, broken"),
        (19, "processes.delivery.sla[0].response", "'4x' is not a duration"),
        (22, "processes.support.stages[1]", "unknown team 'suport'; known teams: dev, ops, qa"),
        (24, "scoring.weights", "timeliness 0.9 + quality 0.5 = 1.4"),
    ],
}


def _problems(name: str) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load_config(BROKEN / name)
    return caught.value


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_broken_config_reports_every_problem_with_its_line(name: str) -> None:
    error = _problems(name)
    got = [(p.line, p.dotted_path, p.message) for p in error.problems]
    assert len(got) == len(EXPECTED[name]), "\n".join(error.lines())
    for (line, path, message), (want_line, want_path, fragment) in zip(got, EXPECTED[name], strict=True):
        assert (line, path) == (want_line, want_path), message
        assert fragment in message


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_str_lists_every_problem_as_file_line_path_message(name: str) -> None:
    error = _problems(name)
    filename = str(BROKEN / name)
    lines = str(error).splitlines()
    assert len(lines) == len(EXPECTED[name])
    for text, (line, path, fragment) in zip(lines, EXPECTED[name], strict=True):
        prefix = f"{filename}:{line}: {path}: " if path else f"{filename}:{line}: "
        assert text.startswith(prefix)
        assert fragment in text


def test_every_fixture_has_expectations() -> None:
    assert sorted(p.name for p in BROKEN.glob("*.yaml")) == sorted(EXPECTED)
