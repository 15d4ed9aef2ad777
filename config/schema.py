"""The PMO configuration file, as typed models (docs/configuration.md).

These models check the *shape* of the file: types, required keys, durations, time ranges.
Cross-references (unknown team, status owned twice, cycles...) are checked in
`baton.config.validate`, which sees the whole file at once.  Field names here are the YAML keys.
"""

from __future__ import annotations

import itertools
import re
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from baton.config.durations import parse_duration

Seconds = Annotated[int, BeforeValidator(parse_duration)]
"""A duration written as `4h`, `90m`, `2h30m`, `14d` (or a bare number of seconds), stored as seconds.
`d` is always 24 hours: for SLA goals (working time) write hours, for the reopen window days."""

WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_TIME_RANGE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class StatusId(_Strict):
    """A Jira status given by id (`{id: "10001"}`), for workflows whose names are ambiguous."""

    id: str

    @field_validator("id", mode="before")
    @classmethod
    def _id_as_text(cls, value: object) -> object:
        return str(value) if isinstance(value, int) else value


StatusRef = str | StatusId
"""A status by name (matched case-insensitively, trimmed) or by Jira status id."""


def parse_time_range(text: str) -> tuple[int, int]:
    """`"09:00-17:00"` -> (32400, 61200) seconds after local midnight; `24:00` allowed as an end."""
    match = _TIME_RANGE.match(text)
    if not match:
        raise ValueError(f"'{text}' is not a time range; write it like \"09:00-17:00\"")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    start, end = h1 * 3600 + m1 * 60, h2 * 3600 + m2 * 60
    if h1 > 23 or m1 > 59 or m2 > 59 or end > 24 * 3600:
        raise ValueError(
            f"'{text}' has an impossible time of day; hours go 00-23 (24:00 only as an end), "
            'minutes 00-59, e.g. "09:00-17:00"'
        )
    if end <= start:
        raise ValueError(
            f"'{text}' ends before it starts; split an overnight shift over two days, "
            'e.g. mon: ["22:00-24:00"], tue: ["00:00-06:00"]'
        )
    return start, end


def expand_day_key(key: str) -> list[str]:
    """`mon-fri` -> [mon, tue, wed, thu, fri]; `sat` -> [sat]."""
    parts = [p.strip().lower() for p in key.split("-")]
    if len(parts) == 1 and parts[0] in WEEKDAYS:
        return parts
    if len(parts) == 2 and parts[0] in WEEKDAYS and parts[1] in WEEKDAYS:
        first, last = WEEKDAYS.index(parts[0]), WEEKDAYS.index(parts[1])
        if first <= last:
            return list(WEEKDAYS[first : last + 1])
    raise ValueError(f"'{key}' is not a day or day range; use mon..sun or a range like mon-fri")


def _check_day_key(key: str) -> str:
    expand_day_key(key)
    return key


def _check_time_range(text: str) -> str:
    parse_time_range(text)
    return text


def _one_or_many(value: object) -> object:
    """`mon-fri: "09:00-17:00"` is accepted as shorthand for a one-interval list."""
    return [value] if isinstance(value, str) else value


def _fraction(value: object) -> object:
    """`75%` (or `"75 %"`) is accepted for 0.75: at-risk thresholds read as percentages."""
    if isinstance(value, str):
        text = value.strip()
        if text.endswith("%"):
            try:
                return float(text[:-1].strip()) / 100.0
            except ValueError:
                raise ValueError(f"'{value}' is not a percentage; write e.g. 75% or 0.75") from None
    return value


Fraction = Annotated[float, BeforeValidator(_fraction), Field(gt=0, le=1)]
"""A share in (0, 1], written `0.75` or `75%`."""

DayKey = Annotated[str, AfterValidator(_check_day_key)]
"""`mon`..`sun` or a range such as `mon-fri` (validated where it is written, for precise error lines)."""
TimeRange = Annotated[str, AfterValidator(_check_time_range)]
"""`"09:00-17:00"`; validated per item so an error points at the exact interval."""
DayHours = Annotated[list[TimeRange], BeforeValidator(_one_or_many)]


class Holidays(_Strict):
    country: str | None = None
    """Country code for the `holidays` package (e.g. DE, CN, US)."""
    subdivision: str | None = None
    """Subdivision code (e.g. BE for Berlin, NY for New York)."""
    extra: list[str] = Field(default_factory=list)
    """Additional non-working dates, YYYY-MM-DD."""
    working: list[str] = Field(default_factory=list)
    """Dates that are working days although the weekly hours or the country say otherwise."""


class Calendar(_Strict):
    """A business calendar: IANA timezone, weekly working intervals, holidays."""

    timezone: str
    hours: dict[DayKey, DayHours]
    holidays: Holidays = Field(default_factory=Holidays)

    @field_validator("hours")
    @classmethod
    def _check_hours(cls, hours: dict[str, list[str]]) -> dict[str, list[str]]:
        for key, ranges in hours.items():
            expand_day_key(key)
            for text in ranges:
                parse_time_range(text)
        return hours

    def weekly_intervals(self) -> dict[str, list[tuple[int, int]]]:
        """Working intervals per weekday (seconds after local midnight), sorted."""
        week: dict[str, list[tuple[int, int]]] = {day: [] for day in WEEKDAYS}
        for key, ranges in self.hours.items():
            for day in expand_day_key(key):
                week[day].extend(parse_time_range(text) for text in ranges)
        return {day: sorted(intervals) for day, intervals in week.items()}


AlwaysOpen = Literal["24x7"]


class StatusSet(_Strict):
    queue: list[StatusRef] = Field(default_factory=list)
    """Statuses where work waits for the team; leaving one is the team's first response."""
    active: list[StatusRef] = Field(default_factory=list)
    """Statuses where the team works on the issue."""


class GroupMember(_Strict):
    """Every member of a Jira group (`{group: jira-qa}`), checked against the site's groups over REST."""

    group: str


class AccountMember(_Strict):
    """One Atlassian account (`{account: 5b10ac8d82e05b22cc7d4ef5}`)."""

    account: str


Member = GroupMember | AccountMember


class Team(_Strict):
    calendar: str
    statuses: StatusSet = Field(default_factory=StatusSet)
    members: list[Member] = Field(default_factory=list)
    """Who may give the team's verdicts in Jira (docs/semantics.md "Verdicts"); the CLI does not check it."""


class Match(_Strict):
    projects: list[str]
    issue_types: list[str] | None = None


class Handoff(_Strict):
    from_team: str = Field(alias="from")
    to_team: str = Field(alias="to")


class When(_Strict):
    priority: list[str] | None = None
    issue_type: list[str] | None = None


class Goal(_Strict):
    response: Seconds | None = None
    resolution: Seconds | None = None


class SlaRow(_Strict):
    provider: str
    requester: str | None = None
    """Only hand-offs from this team (`done` for reopened work) match the row."""
    when: When | None = None
    response: Seconds | None = None
    resolution: Seconds | None = None
    rework: Seconds | None = None
    """Resolution goal for rework requests; without it rework is not clocked against a goal."""
    at_risk: Fraction | None = None


class Process(_Strict):
    match: Match
    stages: list[str] | None = None
    handoffs: list[Handoff] | None = None
    pause: list[StatusRef] = Field(default_factory=list)
    done: list[StatusRef] | None = None
    """Done statuses; when absent, every status in Jira's "done" category."""
    reopen_window: Seconds = 14 * 86400
    at_risk: Fraction = 0.75
    """An open request is at risk once its live clock has used this share of its goal (`75%`)."""
    ownership: dict[str, StatusSet] = Field(default_factory=dict)
    """Per-process override of which team owns which statuses."""
    unmapped_goal: Goal | None = None
    """Goals for unmapped (non-routine) hand-offs; without it they are not clocked against a goal."""
    sla: list[SlaRow] = Field(default_factory=list)
    customer: str | None = None
    """The team that judges deliveries into a done status; without it nobody judges them."""
    acceptance_window: Seconds | None = None
    """How long after a delivery its customer may give a verdict; default: `reopen_window`."""
    rejection_reasons: list[str] = Field(default_factory=list)
    """The reasons a customer may give when it sends a delivery back (the PMO's list)."""

    @property
    def verdict_window(self) -> int:
        """The acceptance window in seconds (`acceptance_window`, else `reopen_window`)."""
        return self.reopen_window if self.acceptance_window is None else self.acceptance_window

    @model_validator(mode="after")
    def _one_flow(self) -> Process:
        if self.stages is None and self.handoffs is None:
            raise ValueError(
                "a process needs `stages: [team, ...]` or `handoffs: [{from: team, to: team}, ...]`"
            )
        if self.stages is not None and self.handoffs is not None:
            raise ValueError("give either `stages` or `handoffs`, not both")
        return self

    def forward_rules(self) -> list[tuple[str, str]]:
        if self.handoffs is not None:
            return [(h.from_team, h.to_team) for h in self.handoffs]
        stages = self.stages or []
        return list(itertools.pairwise(stages))


class Weights(_Strict):
    timeliness: float = Field(default=0.5, ge=0, le=1)
    quality: float = Field(default=0.5, ge=0, le=1)
    satisfaction: float | None = Field(default=None, ge=0, le=1)
    """Weight of the customers' ratings; none (absent) leaves satisfaction out of the score."""


Period = Literal["week", "month"]


def _default_periods() -> list[Period]:
    return ["week", "month"]


class Scoring(_Strict):
    weights: Weights = Field(default_factory=Weights)
    timezone: str = "UTC"
    periods: list[Period] = Field(default_factory=_default_periods)


AlertState = Literal["at_risk", "breached"]
"""The live-clock states a request can cross into that Baton alerts on (`baton.scoring.alerts`)."""
AlertKind = Literal["jira_automation", "slack", "teams", "json"]
"""How a target is called: a Jira Automation incoming webhook, a Slack or Microsoft Teams incoming
webhook, or a generic JSON endpoint (signed with HMAC-SHA256)."""
ALERT_ENV_PREFIX = "BATON_ALERT_"
"""Secrets and secret URLs of alert targets live in environment variables named with this prefix
(`url_env`, `secret_env`); the YAML holds only the variable's name."""


def _all_states() -> list[AlertState]:
    return ["at_risk", "breached"]


class AlertTarget(_Strict):
    """Where one kind of notification goes (docs/configuration.md, "Alerts")."""

    name: str
    """Names the target in the delivery log, the metrics and the CLI (never its URL)."""
    kind: AlertKind
    url: str | None = None
    """The endpoint; for endpoints whose URL is itself a credential (Slack, Teams, Automation) prefer
    `url_env`."""
    url_env: str | None = None
    """The environment variable (`BATON_ALERT_...`) holding the endpoint's URL."""
    secret_env: str | None = None
    """The environment variable (`BATON_ALERT_...`) holding the signing key (`json`: required) or the
    Automation webhook's secret (`jira_automation`: sent as `X-Automation-Webhook-Token`)."""
    on: list[AlertState] = Field(default_factory=_all_states)
    processes: list[str] | None = None
    """Only requests of these processes (default: every process)."""
    providers: list[str] | None = None
    """Only requests to these provider teams (default: every team)."""


class BatonConfig(_Strict):
    version: Literal[1] = 1
    calendars: dict[str, Calendar | AlwaysOpen]
    teams: dict[str, Team]
    processes: dict[str, Process]
    scoring: Scoring = Field(default_factory=Scoring)
    alerts: list[AlertTarget] = Field(default_factory=list)
    """Notification targets for requests that cross into at risk or breached."""
