"""docs/semantics.md's worked example: its config and PROJ-1's transitions (Europe/Berlin times)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from baton.config.schema import BatonConfig
from baton.scoring.model import IssueFacts, Transition, Verdict, VerdictAction

BERLIN = ZoneInfo("Europe/Berlin")

CONFIG = BatonConfig.model_validate(
    {
        "version": 1,
        "calendars": {"berlin": {"timezone": "Europe/Berlin", "hours": {"mon-fri": ["09:00-17:00"]}}},
        "teams": {
            "dev": {"calendar": "berlin", "statuses": {"active": ["In Development"]}},
            "qa": {"calendar": "berlin", "statuses": {"queue": ["Ready for QA"], "active": ["In QA"]}},
            "ops": {
                "calendar": "berlin",
                "statuses": {"queue": ["Ready to Deploy"], "active": ["Deploying"]},
            },
            "pm": {"calendar": "berlin"},
        },
        "processes": {
            "delivery": {
                "match": {"projects": ["PROJ"]},
                "stages": ["dev", "qa", "ops"],
                "done": ["Done"],
                "reopen_window": "14d",
                "customer": "pm",
                "rejection_reasons": ["incomplete", "defects", "undocumented"],
                "sla": [
                    {"provider": "qa", "response": "4h", "resolution": "16h"},
                    {"provider": "ops", "response": "8h", "resolution": "24h"},
                ],
            }
        },
    }
)

FACTS = IssueFacts(
    issue_id="10001", issue_key="PROJ-1", project="PROJ", issue_type="Story", priority="Medium"
)


def berlin(day: int, hour: int, minute: int = 0) -> datetime:
    """An instant in March 2026, given in Berlin time, as UTC."""
    return datetime(2026, 3, day, hour, minute, tzinfo=BERLIN).astimezone(UTC)


_STEPS = [
    (berlin(2, 10), "To Do", "In Development"),
    (berlin(2, 11), "In Development", "Ready for QA"),
    (berlin(2, 16), "Ready for QA", "In QA"),
    (berlin(3, 11), "In QA", "In Development"),
    (berlin(3, 16), "In Development", "Ready for QA"),
    (berlin(4, 9, 30), "Ready for QA", "In QA"),
    (berlin(4, 12), "In QA", "Ready to Deploy"),
    (berlin(6, 10), "Ready to Deploy", "Deploying"),
    (berlin(6, 11), "Deploying", "Done"),
]

TRANSITIONS = [
    Transition(FACTS.issue_id, at, None, frm, None, to, str(100 + i), "alice", "PROJ-1")
    for i, (at, frm, to) in enumerate(_STEPS)
]

REOPEN = Transition(
    FACTS.issue_id, berlin(9, 10), None, "Done", None, "In Development", "200", "bob", "PROJ-1"
)
"""The follow-up: the next Monday 10:00 the issue goes Done -> In Development."""


def _with_weights(config: BatonConfig, weights: dict[str, float]) -> BatonConfig:
    data = config.model_dump(by_alias=True, exclude_none=True)
    data["scoring"]["weights"] = weights
    return BatonConfig.model_validate(data)


WEIGHTED = _with_weights(CONFIG, {"timeliness": 0.4, "quality": 0.4, "satisfaction": 0.2})
"""The worked example with `scoring.weights.satisfaction: 0.2` (timeliness 0.4, quality 0.4)."""

ACCEPT_D2 = Verdict(FACTS.issue_id, "qa", berlin(4, 10), "qa-lead", VerdictAction.ACCEPT, rating=4)
"""Wed 10:00: qa accepts dev's rework D2 (delivered Tue 16:00), 4 stars."""
ACCEPT_Q2 = Verdict(FACTS.issue_id, "ops", berlin(5, 10), "ops-lead", VerdictAction.ACCEPT, rating=5)
"""Thu 10:00: ops accepts qa's Q2 (delivered Wed 12:00), 5 stars."""
REJECT_Q2 = Verdict(
    FACTS.issue_id, "ops", berlin(6, 9), "ops-lead", VerdictAction.REJECT, reason="incomplete",
    comment="release notes missing",
)  # fmt: skip
"""Fri 09:00: ops changes its mind and sends Q2 back (within the 14-day window): the veto."""
ACCEPT_Q2_AGAIN = Verdict(FACTS.issue_id, "ops", berlin(6, 9, 30), "ops-lead", VerdictAction.ACCEPT, rating=3)
"""Fri 09:30: refused, an accept cannot undo a rejection."""
LATE_ACCEPT_D2 = Verdict(FACTS.issue_id, "qa", berlin(20, 10), "qa-lead", VerdictAction.ACCEPT)
"""Fri 20 March: refused, D2's window ended Tue 17 March 16:00."""

BEFORE = [ACCEPT_D2, ACCEPT_Q2]
AFTER = [*BEFORE, REJECT_Q2]
ALL_VERDICTS = [*AFTER, ACCEPT_Q2_AGAIN, LATE_ACCEPT_D2]
