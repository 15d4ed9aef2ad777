"""Configs and random but consistent Jira histories for comparing the engine with the oracle.

Each config comes with the universe of statuses a random walk may visit: owned statuses of several
teams (queue and active), pause, done, unowned, statuses matched by id, names in odd case/spacing, and
statuses that mean different things in different processes. A history is a walk: every transition's
`from` is the previous transition's `to`, timestamps never go back (equal timestamps happen), change ids
grow as numbers of varying length.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pandas as pd
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from baton.config.schema import BatonConfig
from baton.scoring.model import (
    CREATION_CHANGE_ID,
    ISSUE_COLUMNS,
    TRANSITION_COLUMNS,
    IssueFacts,
    Transition,
    Verdict,
    VerdictAction,
)
from tests.unit.oracle.worked_example import CONFIG as WORKED_CONFIG

PROFILE = os.environ.get("BATON_HYPOTHESIS_PROFILE", "default")
_SCALE = 20 if PROFILE == "thorough" else 1


def budget(examples: int) -> settings:
    """Hypothesis settings for one test: `examples` by default (the suite stays near a minute),
    twenty times as many with BATON_HYPOTHESIS_PROFILE=thorough."""
    return settings(
        max_examples=examples * _SCALE,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        print_blob=True,
    )


@dataclass(frozen=True)
class Spec:
    """A config and what random issues of it look like."""

    name: str
    config: BatonConfig
    categories: Mapping[str, str]
    statuses: tuple[tuple[str | None, str], ...]
    """(status id, status name) pairs a walk may visit."""
    projects: tuple[str, ...]
    issue_types: tuple[str, ...]
    priorities: tuple[str | None, ...]
    start: datetime
    """Histories start within a few days after this instant (UTC)."""


# A: stages, four calendars (lunch break + DE holidays, CN holidays, 24x7, New York with Saturday hours),
# requester and when-rows, rework goals, an unmapped goal, reopen window of 3 days, two processes
# (the second with done by Jira status category). Spans the EU switch to summer time (2026-03-29)
# and Good Friday / Easter Monday / Qingming.
RELAY = BatonConfig.model_validate(
    {
        "calendars": {
            "berlin": {
                "timezone": "Europe/Berlin",
                "hours": {"mon-fri": ["09:00-12:30", "13:30-17:00"], "sun": ["02:15-03:15"]},  # skipped hour
                "holidays": {"country": "DE", "subdivision": "BE", "extra": ["2026-03-26"]},
            },
            "shanghai": {
                "timezone": "Asia/Shanghai",
                "hours": {"mon-fri": ["09:00-12:00", "13:00-18:00"]},
                "holidays": {"country": "CN"},
            },
            "always": "24x7",
            "newyork": {
                "timezone": "America/New_York",
                "hours": {"mon-fri": ["08:00-16:00"], "sat": ["10:00-14:00"]},
            },
        },
        "teams": {
            "dev": {
                "calendar": "berlin",
                "statuses": {"queue": ["Selected for Development"], "active": ["In Development"]},
            },
            "qa": {"calendar": "shanghai", "statuses": {"queue": ["Ready for QA"], "active": ["In QA"]}},
            "ops": {
                "calendar": "always",
                "statuses": {"queue": ["Ready to Deploy"], "active": ["Deploying"]},
            },
            "sec": {
                "calendar": "newyork",
                "statuses": {"queue": ["Security Review"], "active": ["Security Testing"]},
            },
        },
        "processes": {
            "delivery": {
                "match": {"projects": ["PROJ"]},
                "stages": ["dev", "qa", "ops"],
                "pause": ["Blocked", "On Hold"],
                "done": ["Done", "Won't Do"],
                "reopen_window": "3d",
                "at_risk": 0.8,
                "unmapped_goal": {"response": "2h", "resolution": "6h"},
                "sla": [
                    {
                        "provider": "qa",
                        "requester": "dev",
                        "when": {"priority": ["Highest", "high"]},
                        "response": "1h",
                        "resolution": "4h",
                        "rework": "2h",
                        "at_risk": 0.5,
                    },
                    {"provider": "qa", "response": "4h", "resolution": "16h", "rework": "8h"},
                    {
                        "provider": "ops",
                        "when": {"issue_type": ["bug"]},
                        "response": "30m",
                        "resolution": "2h",
                    },
                    {"provider": "ops", "response": "8h", "resolution": "1d"},
                    {"provider": "dev", "requester": "done", "resolution": "8h", "rework": "4h"},
                    {"provider": "sec", "resolution": "1d"},
                ],
            },
            "security": {
                "match": {"projects": ["SEC", "proj"], "issue_types": ["Vulnerability"]},
                "stages": ["sec", "dev"],
                "pause": ["Blocked"],
                "sla": [
                    {"provider": "sec", "response": "2h", "resolution": "8h", "rework": "4h"},
                    {"provider": "dev", "response": "1h", "resolution": "1d"},
                ],
            },
        },
        "scoring": {"weights": {"timeliness": 0.5, "quality": 0.5}},
    }
)

RELAY_SPEC = Spec(
    name="relay",
    config=RELAY,
    categories={"name:done": "done", "name:closed": "done", "name:to do": "new", "name:won't do": "done"},
    statuses=(
        (None, "To Do"),
        (None, "Backlog"),
        (None, "Selected for Development"),
        (None, "In Development"),
        (None, "in  development"),
        (None, "Ready for QA"),
        (None, "In QA"),
        (None, "Ready to Deploy"),
        (None, "Deploying"),
        (None, "Security Review"),
        (None, "Security Testing"),
        (None, "Blocked"),
        (None, "On Hold"),
        (None, "Done"),
        (None, "Won't Do"),
        (None, "Closed"),
    ),
    projects=("PROJ", "SEC", "OTHER"),
    issue_types=("Story", "Bug", "Vulnerability"),
    priorities=("Highest", "High", "Medium", None),
    start=datetime(2026, 3, 23, 6, 0, tzinfo=UTC),
)

# B: explicit hand-offs with a shortcut (build -> release), statuses by id, a process-level ownership
# override ("Review" belongs to release in the hotfix process), done by category in one process, a
# lunch-break London calendar and 24x7, reopen window of 1 day, weights 0.7 / 0.3.
HANDOFFS = BatonConfig.model_validate(
    {
        "calendars": {
            "london": {
                "timezone": "Europe/London",
                "hours": {"mon-thu": ["09:00-12:00", "13:00-17:30"], "fri": ["09:00-12:00"]},
                "holidays": {"country": "GB", "subdivision": "ENG", "extra": ["2026-03-31"], "working": ["2026-04-06"]},
            },
            "always": "24x7",
        },
        "teams": {
            "analysis": {"calendar": "london", "statuses": {"queue": ["Backlog Review"], "active": ["Analysis"]}},
            "build": {"calendar": "london", "statuses": {"queue": [{"id": "20001"}], "active": ["Building"]}},
            "review": {"calendar": "always", "statuses": {"queue": ["Review"], "active": ["Reviewing"]}},
            "release": {"calendar": "always", "statuses": {"queue": ["Release Queue"], "active": ["Releasing"]}},
        },
        "processes": {
            "main": {
                "match": {"projects": ["ALPHA"], "issue_types": ["Story", "Bug"]},
                "handoffs": [
                    {"from": "analysis", "to": "build"},
                    {"from": "build", "to": "review"},
                    {"from": "review", "to": "release"},
                    {"from": "build", "to": "release"},
                ],
                "pause": ["Waiting"],
                "done": [{"id": "30001"}, "Done"],
                "reopen_window": "1d",
                "sla": [
                    {"provider": "build", "requester": "analysis", "response": "2h", "resolution": "1d"},
                    {"provider": "build", "response": "1h", "resolution": "4h", "rework": "3h", "at_risk": 0.9},
                    {"provider": "review", "when": {"issue_type": ["Bug"], "priority": ["P1"]}, "response": "15m",
                     "resolution": "1h"},
                    {"provider": "review", "response": "4h", "resolution": "12h"},
                    {"provider": "release", "resolution": "2h", "rework": "1h"},
                ],
            },
            "hotfix": {
                "match": {"projects": ["ALPHA", "BETA"]},
                "handoffs": [{"from": "build", "to": "release"}, {"from": "analysis", "to": "build"}],
                "pause": ["Waiting", "Review Hold"],
                "ownership": {"release": {"queue": ["Review"], "active": ["Releasing"]}},
                "at_risk": 0.5,
                "sla": [
                    {"provider": "release", "response": "1h", "resolution": "3h"},
                    {"provider": "build", "when": {"priority": ["P1"]}, "resolution": "2h", "rework": "1h"},
                ],
            },
        },
        "scoring": {"weights": {"timeliness": 0.7, "quality": 0.3}, "timezone": "Europe/London"},
    }
)  # fmt: skip

HANDOFFS_SPEC = Spec(
    name="handoffs",
    config=HANDOFFS,
    categories={"id:30001": "done", "id:40001": "done", "name:done": "done", "id:10000": "new"},
    statuses=(
        ("10000", "Open"),
        ("10001", "Backlog Review"),
        ("10002", "Analysis"),
        ("20001", "Ready"),
        ("20001", "Ready for Build"),
        ("20002", "Building"),
        ("20003", "Review"),
        ("20004", "Reviewing"),
        ("20005", "Release Queue"),
        ("20006", "Releasing"),
        ("20007", "Waiting"),
        ("20008", "Review Hold"),
        ("30001", "Shipped"),
        ("40001", "Closed"),
        ("40002", "Done"),
    ),
    projects=("ALPHA", "BETA", "GAMMA"),
    issue_types=("Story", "Bug", "Task", None),
    priorities=("P1", "P2", None),
    start=datetime(2026, 3, 26, 7, 0, tzinfo=UTC),
)

# C: DST crossing on both sides of the Atlantic (EU 2026-10-25, US 2026-11-01), a Sunday working
# 00:00-24:00 in New York (a 25-hour working day when the clocks go back), quarter-hour boundaries,
# scores in New York time.
DST = BatonConfig.model_validate(
    {
        "calendars": {
            "ny": {
                "timezone": "America/New_York",
                "hours": {"mon-fri": ["09:00-17:00"], "sun": ["00:00-24:00"]},
                "holidays": {"country": "US", "subdivision": "NY"},
            },
            "berlin": {
                "timezone": "Europe/Berlin",
                "hours": {"mon-fri": ["07:30-11:45", "12:15-16:00"], "sun": ["01:30-02:30"]},  # repeated hour
            },
        },
        "teams": {
            "front": {"calendar": "ny", "statuses": {"queue": ["Triage"], "active": ["Fixing"]}},
            "back": {
                "calendar": "berlin",
                "statuses": {"queue": ["Backend Queue"], "active": ["Backend Work"]},
            },
            "verify": {"calendar": "ny", "statuses": {"queue": ["Verify"], "active": ["Verifying"]}},
        },
        "processes": {
            "support": {
                "match": {"projects": ["DST"]},
                "stages": ["front", "back", "verify"],
                "pause": ["Parked"],
                "done": ["Resolved"],
                "reopen_window": "10d",
                "sla": [
                    {"provider": "front", "response": "30m", "resolution": "3h"},
                    {"provider": "back", "response": "2h", "resolution": "10h", "rework": "5h"},
                    {"provider": "verify", "requester": "back", "response": "1h", "resolution": "6h"},
                    {"provider": "verify", "resolution": "20h", "rework": "20h"},
                ],
            }
        },
        "scoring": {"weights": {"timeliness": 0.6, "quality": 0.4}, "timezone": "America/New_York"},
    }
)

DST_SPEC = Spec(
    name="dst",
    config=DST,
    categories={},
    statuses=(
        (None, "New"),
        (None, "Triage"),
        (None, "Fixing"),
        (None, "Backend Queue"),
        (None, "Backend Work"),
        (None, "Verify"),
        (None, "Verifying"),
        (None, "Parked"),
        (None, "Resolved"),
    ),
    projects=("DST",),
    issue_types=("Incident",),
    priorities=("P1", None),
    start=datetime(2026, 10, 22, 12, 0, tzinfo=UTC),
)

WORKED_SPEC = Spec(
    name="worked",
    config=WORKED_CONFIG,
    categories={},
    statuses=((None, "To Do"), (None, "In Development"), (None, "Ready for QA"), (None, "In QA"),
              (None, "Ready to Deploy"), (None, "Deploying"), (None, "Done")),
    projects=("PROJ",),
    issue_types=("Story",),
    priorities=("Medium",),
    start=datetime(2026, 3, 2, 8, 0, tzinfo=UTC),
)  # fmt: skip
"""The worked example's config (docs/semantics.md); random walks over it are the plainest case."""

SPECS = {spec.name: spec for spec in (RELAY_SPEC, HANDOFFS_SPEC, DST_SPEC, WORKED_SPEC)}


@dataclass(frozen=True)
class Scenario:
    spec_name: str
    issues: tuple[IssueFacts, ...]
    transitions: tuple[Transition, ...]
    now: datetime

    def __repr__(self) -> str:
        lines = [f"Scenario(config={self.spec_name!r}, now={self.now.isoformat()})"]
        for facts in self.issues:
            lines.append(f"  issue {facts.issue_id} {facts.project} {facts.issue_type} {facts.priority}")
        for t in self.transitions:
            frm = t.from_name if t.from_id is None else f"{t.from_name}#{t.from_id}"
            to = t.to_name if t.to_id is None else f"{t.to_name}#{t.to_id}"
            lines.append(f"  {t.issue_id} {t.at.isoformat()} [{t.change_id}] {frm!r} -> {to!r}")
        return "\n".join(lines)


NEXT = ("next", "next")
"""Walk step marker: the status listed after the current one."""

_GAP = st.one_of(
    st.just(0),  # the same instant as the previous change
    st.integers(1, 3600),
    st.integers(3600, 20 * 3600),
    st.integers(20 * 3600, 4 * 86400),
    st.sampled_from([900, 1800, 3600, 7200, 4 * 3600, 86400]),  # slot boundaries, exact goals (24x7)
    st.sampled_from([86400, 3 * 86400, 10 * 86400]),  # exactly a reopen window
)


@st.composite
def issue_history(
    draw: st.DrawFn, spec: Spec, issue_id: str, gaps: bool = False
) -> tuple[IssueFacts, list[Transition]]:
    """One issue's walk; with `gaps`, some transitions start from another status than the previous
    `to` (a change that was never delivered), which semantics.md classifies by the transition's own `from`."""
    facts = IssueFacts(
        issue_id=issue_id,
        issue_key=f"K-{issue_id}",
        project=draw(st.sampled_from(spec.projects)),
        issue_type=draw(st.sampled_from(spec.issue_types)),
        priority=draw(st.sampled_from(spec.priorities)),
    )
    at = spec.start + timedelta(seconds=draw(st.integers(0, 5 * 86400)))
    change = draw(st.integers(1, 120))
    # Each step goes to a random status, or to the one listed after the current status (the statuses
    # are listed roughly in flow order), so that long forward chains and their returns are common.
    walk = draw(st.lists(st.one_of(st.sampled_from(spec.statuses), st.just(NEXT)), min_size=1, max_size=14))
    midway = draw(st.booleans())
    current: tuple[str | None, str] | None = draw(st.sampled_from(spec.statuses)) if midway else None
    transitions: list[Transition] = []
    for index, step in enumerate(walk):
        if step is NEXT:
            position = spec.statuses.index(current) if current in spec.statuses else -1
            status = spec.statuses[(position + 1) % len(spec.statuses)]
        else:
            status = step
        if index == 0 and current is None:
            change_id = CREATION_CHANGE_ID
        else:
            change_id = str(change)
            change += draw(st.integers(1, 40))
        if index > 0:
            at = at + timedelta(seconds=draw(_GAP))
        if gaps and index > 0 and draw(st.integers(0, 3)) == 0:
            current = draw(st.sampled_from(spec.statuses))
        frm_id, frm_name = current if current is not None else (None, None)
        transitions.append(
            Transition(issue_id, at, frm_id, frm_name, status[0], status[1], change_id, "u", facts.issue_key)
        )
        current = status
    return facts, transitions


@st.composite
def scenarios(draw: st.DrawFn, spec: Spec, max_issues: int = 3, gaps: bool = False) -> Scenario:
    count = draw(st.integers(1, max_issues))
    issues: list[IssueFacts] = []
    transitions: list[Transition] = []
    for n in range(count):
        facts, history = draw(issue_history(spec, f"{100 + n}", gaps))
        issues.append(facts)
        transitions.extend(history)
    last = max(t.at for t in transitions)
    now = last + timedelta(seconds=draw(st.one_of(st.just(0), st.integers(0, 6 * 86400))))
    return Scenario(spec.name, tuple(issues), tuple(transitions), now)


# -- frames ------------------------------------------------------------------------------------------


def transition_frame(transitions: list[Transition] | tuple[Transition, ...]) -> pd.DataFrame:
    rows = [
        {
            "issue_id": t.issue_id,
            "at": t.at,
            "change_id": t.change_id,
            "from_id": t.from_id,
            "from_name": t.from_name,
            "to_id": t.to_id,
            "to_name": t.to_name,
            "author": t.author,
        }
        for t in transitions
    ]
    frame = pd.DataFrame(rows, columns=list(TRANSITION_COLUMNS))
    frame["at"] = pd.to_datetime(frame["at"], utc=True)
    return frame


def issue_frame(issues: list[IssueFacts] | tuple[IssueFacts, ...]) -> pd.DataFrame:
    return pd.DataFrame(
        [{c: getattr(f, c) for c in ISSUE_COLUMNS} for f in issues], columns=list(ISSUE_COLUMNS)
    )


def plain(value: object) -> object:
    """A frame cell as a comparable plain value: epoch seconds for instants, None for missing."""
    if value is None:
        return None
    if isinstance(value, pd.Timestamp | datetime):
        if pd.isna(value):
            return None
        return pd.Timestamp(value).timestamp()
    if isinstance(value, float) and value != value:
        return None
    try:
        if pd.isna(value):  # type: ignore[call-overload]
            return None
    except (TypeError, ValueError):
        pass
    if hasattr(value, "item"):  # numpy scalars
        return value.item()  # type: ignore[no-any-return,attr-defined]
    if isinstance(value, str):
        return str(value)  # StrEnum -> str
    return value


def engine_rows(frame: pd.DataFrame) -> list[dict[str, object]]:
    rows = [{k: plain(v) for k, v in row.items()} for row in frame.to_dict("records")]
    return sorted(rows, key=lambda r: (str(r["issue_id"]), int(r["seq"])))  # type: ignore[call-overload]


# -- verdicts ----------------------------------------------------------------------------------------


def verdict_config(config: BatonConfig, draw: st.DrawFn) -> BatonConfig:
    """`config` with a customer for done deliveries, an acceptance window and rejection reasons per
    process (drawn), and sometimes a satisfaction weight."""
    data = config.model_dump(by_alias=True, exclude_none=True)
    teams = sorted(data["teams"])
    for process in data["processes"].values():
        process["customer"] = draw(st.one_of(st.none(), st.sampled_from(teams)))
        if process["customer"] is None:
            del process["customer"]
        window = draw(st.sampled_from([None, 3600, 86400, 2 * 86400]))
        if window is not None:
            process["acceptance_window"] = window
        process["rejection_reasons"] = ["incomplete", "defects"]
    if draw(st.booleans()):
        data["scoring"]["weights"] = {"timeliness": 0.4, "quality": 0.4, "satisfaction": 0.2}
    return BatonConfig.model_validate(data)


_VERDICT_OFFSET = st.one_of(
    st.just(0),
    st.integers(-86400, 3 * 86400),
    st.sampled_from([3600, 86400, 2 * 86400, 3 * 86400, 10 * 86400, 14 * 86400]),  # windows' ends
    st.sampled_from([3601, 86401, 2 * 86400 + 1, 14 * 86400 + 1]),  # just past them
)


@st.composite
def verdict_scenarios(
    draw: st.DrawFn, spec: Spec, max_issues: int = 3
) -> tuple[Scenario, tuple[Verdict, ...], BatonConfig]:
    scenario = draw(scenarios(spec, max_issues=max_issues))
    config = verdict_config(spec.config, draw)
    teams = sorted(config.teams)
    verdicts: list[Verdict] = []
    for _ in range(draw(st.integers(0, 8))):
        base = draw(st.sampled_from(scenario.transitions))
        at = base.at + timedelta(seconds=draw(_VERDICT_OFFSET))
        if draw(st.booleans()):
            verdict = Verdict(
                base.issue_id, draw(st.sampled_from(teams)), at, draw(st.sampled_from(["a", "b"])),
                VerdictAction.ACCEPT, rating=draw(st.one_of(st.none(), st.integers(1, 5))),
            )  # fmt: skip
        else:
            verdict = Verdict(
                base.issue_id, draw(st.sampled_from(teams)), at, draw(st.sampled_from(["a", "b"])),
                VerdictAction.REJECT, reason=draw(st.sampled_from(["incomplete", "defects"])),
            )  # fmt: skip
        verdicts.append(verdict)
    last = max([scenario.now, *(v.at for v in verdicts)])
    now = last + timedelta(seconds=draw(st.sampled_from([0, 3600, 86400, 3 * 86400, 15 * 86400])))
    return (
        Scenario(scenario.spec_name, scenario.issues, scenario.transitions, now),
        tuple(verdicts),
        config,
    )
