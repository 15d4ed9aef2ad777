"""Hand-computed cases for the oracle beyond the worked example: pauses, first responses, release,
intake, unmapped hand-offs, logs that start mid-way, change-id order, DST and holidays."""

from __future__ import annotations

from datetime import UTC, datetime

from baton.config.schema import BatonConfig, Calendar
from baton.scoring.model import IssueFacts, Transition
from tests.unit.oracle.oracle import Oracle, Request, WorkCalendar, sort_transitions
from tests.unit.oracle.worked_example import CONFIG, FACTS, berlin

H = 3600.0
WITH_PAUSE = BatonConfig.model_validate(
    {
        **CONFIG.model_dump(by_alias=True, exclude_none=True),
        "processes": {
            "delivery": {
                **CONFIG.processes["delivery"].model_dump(by_alias=True, exclude_none=True),
                "pause": ["Blocked"],
            }
        },
    }
)


def walk(*steps: tuple[datetime, str | None, str], first_change: int = 100) -> list[Transition]:
    return [
        Transition(FACTS.issue_id, at, None, frm, None, to, str(first_change + i))
        for i, (at, frm, to) in enumerate(steps)
    ]


def derive(*steps: tuple[datetime, str | None, str], now: datetime | None = None) -> list[Request]:
    return Oracle(WITH_PAUSE).derive(walk(*steps), [FACTS], now)


def test_pause_stops_both_clocks_and_resume_is_the_first_response() -> None:
    dev, qa = derive(
        (berlin(2, 9), "To Do", "In Development"),
        (berlin(2, 10), "In Development", "Ready for QA"),
        (berlin(2, 11), "Ready for QA", "Blocked"),
        (berlin(2, 14), "Blocked", "In QA"),
        (berlin(2, 15), "In QA", "Ready to Deploy"),
        (berlin(2, 16), "Ready to Deploy", "Deploying"),
    )[:2]
    assert (dev.outcome, qa.provider, qa.outcome) == ("delivered", "qa", "delivered")
    assert qa.first_response_at == berlin(2, 14).timestamp()
    assert (qa.response_elapsed_s, qa.resolution_elapsed_s) == (1 * H, 2 * H)
    assert qa.from_status == "In Development"


def test_leaving_a_pause_is_classified_from_the_status_before_it() -> None:
    requests = derive(
        (berlin(2, 9), "To Do", "In Development"),
        (berlin(2, 10), "In Development", "Ready for QA"),
        (berlin(2, 11), "Ready for QA", "In QA"),
        (berlin(2, 12), "In QA", "Blocked"),
        (berlin(2, 13), "Blocked", "In Development"),  # a return qa -> dev
    )
    assert [(r.provider, r.kind, r.outcome, r.rejected) for r in requests] == [
        ("dev", "new", "delivered", True),
        ("qa", "new", "returned", False),
        ("dev", "rework", None, False),
    ]
    assert requests[1].resolution_elapsed_s == 2 * H  # 10-12, the hour in Blocked excluded
    assert requests[2].from_status == "Blocked"  # the transition as logged


def test_open_request_paused_at_now_keeps_its_clock_stopped() -> None:
    qa = derive(
        (berlin(2, 9), "In Development", "Ready for QA"),
        (berlin(2, 10), "Ready for QA", "Blocked"),
        now=berlin(3, 16),
    )[0]
    assert (qa.paused, qa.clock_at) == (True, berlin(2, 10).timestamp())
    assert (qa.response_elapsed_s, qa.resolution_elapsed_s) == (1 * H, 1 * H)
    assert (qa.response_state, qa.resolution_state) == ("running", "running")


def test_passing_work_on_straight_from_the_queue_answers_it() -> None:
    qa = derive(
        (berlin(2, 9), "In Development", "Ready for QA"),
        (berlin(2, 12), "Ready for QA", "Ready to Deploy"),
    )[0]
    assert qa.first_response_at == qa.resolved_at == berlin(2, 12).timestamp()
    assert (qa.response_elapsed_s, qa.response_state) == (3 * H, "met")


def test_release_and_intake() -> None:
    requests = derive(
        (berlin(2, 9), "In Development", "Ready for QA"),
        (berlin(2, 10), "Ready for QA", "To Do"),
        (berlin(2, 11), "To Do", "In QA"),
    )
    assert [(r.provider, r.requester, r.kind, r.outcome) for r in requests] == [
        ("qa", "dev", "new", "released"),
        ("qa", None, "new", None),
    ]
    assert requests[0].first_response_at == berlin(2, 10).timestamp()  # leaving the queue, even to release
    assert requests[1].first_response_at == requests[1].opened_at  # opened in an active status
    assert (requests[1].response_goal_s, requests[1].resolution_goal_s) == (4 * H, 16 * H)


def test_unmapped_hand_off_and_midway_log() -> None:
    requests = derive(
        (berlin(2, 9), "In QA", "In Development"),  # the log starts mid-way with a return
        (berlin(2, 10), "In Development", "Deploying"),  # dev -> ops is no rule: unmapped
        (berlin(2, 11), "Deploying", "Done"),
    )
    assert [(r.provider, r.requester, r.kind, r.outcome) for r in requests] == [
        ("dev", "qa", "rework", "handed_off"),
        ("ops", "dev", "unmapped", "delivered"),
    ]
    assert requests[1].resolution_goal_s is None  # no unmapped_goal in this process


def test_progress_inside_a_team_without_an_open_request_opens_nothing() -> None:
    assert derive((berlin(2, 9), "Ready for QA", "In QA")) == []


def test_equal_instants_are_ordered_creation_first_then_change_ids_as_numbers() -> None:
    at = berlin(2, 9)
    rows = [
        Transition("1", at, None, "b", None, "c", "10"),
        Transition("1", at, None, "a", None, "b", "9"),
        Transition("1", at, None, None, None, "a", "created"),
        Transition("1", at, None, "c", None, "d", "x1"),
        Transition("1", at, None, "a", None, "b", "9"),  # the same change delivered twice
    ]
    assert [t.change_id for t in sort_transitions(rows)] == ["created", "9", "10", "x1"]


def test_working_seconds_across_the_spring_dst_switch_and_holidays() -> None:
    berlin_cal = WorkCalendar(
        Calendar.model_validate({"timezone": "Europe/Berlin", "hours": {"mon-fri": ["09:00-17:00"]}})
    )
    # Fri 16:00 CET -> Mon 10:00 CEST (clocks went forward on Sunday 29 March): 1h + 1h.
    assert berlin_cal.working_seconds(berlin(27, 16).timestamp(), berlin(30, 10).timestamp()) == 2 * H
    with_holidays = WorkCalendar(
        Calendar.model_validate(
            {
                "timezone": "Europe/Berlin",
                "hours": {"mon-fri": ["09:00-17:00"]},
                "holidays": {"country": "DE", "subdivision": "BE"},
            }
        )
    )
    good_friday = datetime(2026, 4, 3, tzinfo=UTC).timestamp()
    assert with_holidays.working_seconds(good_friday, good_friday + 86400) == 0
    assert berlin_cal.working_seconds(good_friday, good_friday + 86400) == 8 * H


def test_a_whole_working_sunday_lasts_25_hours_when_the_clocks_go_back() -> None:
    ny = WorkCalendar(
        Calendar.model_validate({"timezone": "America/New_York", "hours": {"sun": ["00:00-24:00"]}})
    )
    start = datetime(2026, 10, 31, 12, tzinfo=UTC).timestamp()
    assert ny.working_seconds(start, start + 3 * 86400) == 25 * H


def test_lunch_break_and_24x7() -> None:
    shanghai = WorkCalendar(
        Calendar.model_validate(
            {"timezone": "Asia/Shanghai", "hours": {"mon-fri": ["09:00-12:00", "13:00-18:00"]}}
        )
    )
    # Mon 2 March 2026 11:30 -> 13:30 Shanghai (03:30 -> 05:30 UTC): 30m + 30m.
    start = datetime(2026, 3, 2, 3, 30, tzinfo=UTC).timestamp()
    assert shanghai.working_seconds(start, start + 2 * H) == 1 * H
    assert WorkCalendar("24x7").working_seconds(start, start + 12345.5) == 12345.5


def test_issue_of_no_process_yields_nothing() -> None:
    other = IssueFacts("10001", "X-1", "OTHER", "Story", None)
    assert Oracle(CONFIG).derive(walk((berlin(2, 9), "To Do", "In QA")), [other]) == []


def test_interval_edges_inside_the_repeated_and_the_skipped_hour() -> None:
    """A working interval holds the instants whose local time of day lies inside it: when the clocks
    go back, the repeated hour's part inside the interval counts twice; when they go forward, the
    skipped part counts nothing."""

    def sunday(hours: str, day: datetime) -> float:
        cal = WorkCalendar(Calendar.model_validate({"timezone": "Europe/Berlin", "hours": {"sun": [hours]}}))
        return cal.working_seconds(day.timestamp(), day.timestamp() + 2 * 86400) / H

    autumn, spring = datetime(2026, 10, 24, 12, tzinfo=UTC), datetime(2026, 3, 28, 12, tzinfo=UTC)
    assert sunday("02:30-05:00", autumn) == 3.0  # 02:30-03:00 twice, then 03:00-05:00
    assert sunday("01:00-02:30", autumn) == 2.0  # 01:00-02:00, then 02:00-02:30 twice
    assert sunday("01:00-04:00", autumn) == 4.0
    assert sunday("02:30-05:00", spring) == 2.0  # 02:30 never happens: 03:00-05:00
    assert sunday("02:00-02:30", spring) == 0.0
