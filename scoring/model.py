"""The domain's nouns (docs/semantics.md), shared by every layer.

Row-by-row values are frozen dataclasses; the engine works on pandas frames whose columns are
fixed here so that `store/`, `webhooks/` and `connector/` can build and read them without guessing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

CREATION_CHANGE_ID = "created"
"""change_id of an issue's creation into its first status, whichever source reports it.

Webhooks (`jira:issue_created`) and REST backfill describe the same creation differently; giving it
one fixed id makes the two sources de-duplicate against each other in the transition log."""


@dataclass(frozen=True, slots=True)
class Transition:
    """One status change of one issue: the unit of the transition log."""

    issue_id: str
    at: datetime
    """When the change happened (timezone-aware, UTC)."""
    from_id: str | None
    from_name: str | None
    to_id: str | None
    to_name: str | None
    change_id: str
    """Jira changelog id (or CREATION_CHANGE_ID); unique per issue."""
    author: str | None = None
    issue_key: str | None = None


@dataclass(frozen=True, slots=True)
class IssueFacts:
    """What we keep of an issue besides its transitions (used to match processes and SLA rows)."""

    issue_id: str
    issue_key: str | None
    project: str | None
    issue_type: str | None
    priority: str | None
    status_id: str | None = None
    status_name: str | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class StatusInfo:
    """A Jira status and its category key (`new`, `indeterminate`, `done`), as Jira reports it."""

    status_id: str | None
    name: str
    category: str | None


@dataclass(frozen=True, slots=True)
class Extraction:
    """Everything a payload tells us: the event, the status transitions, the issue and its statuses."""

    event: str
    transitions: tuple[Transition, ...]
    issue: IssueFacts | None
    statuses: tuple[StatusInfo, ...] = ()

    @property
    def has_status_change(self) -> bool:
        return bool(self.transitions)


class Kind(StrEnum):
    NEW = "new"
    REWORK = "rework"
    UNMAPPED = "unmapped"


class Outcome(StrEnum):
    DELIVERED = "delivered"
    RETURNED = "returned"
    HANDED_OFF = "handed_off"
    RELEASED = "released"


class ClockState(StrEnum):
    MET = "met"
    BREACHED = "breached"
    AT_RISK = "at_risk"
    RUNNING = "running"
    NONE = "none"


class VerdictAction(StrEnum):
    ACCEPT = "accept"
    REJECT = "reject"


class VerdictOutcome(StrEnum):
    """A delivery's `verdict` (docs/semantics.md "Verdicts")."""

    ACCEPTED = "accepted"
    REJECTED = "rejected"
    IMPLICIT = "implicit"


@dataclass(frozen=True, slots=True)
class Verdict:
    """One verdict event of the internal customer (append-only; the latest valid one counts)."""

    issue_id: str
    team: str
    """The judging team (the customer of the delivery)."""
    at: datetime
    """When the verdict was given (timezone-aware, UTC)."""
    by: str
    """Who gave it (an Atlassian account id, or what the CLI's `--by` said)."""
    action: VerdictAction
    rating: int | None = None
    """1-5 with an accept, else None."""
    reason: str | None = None
    """One of the process's `rejection_reasons` with a reject, else None."""
    comment: str | None = None


DONE_REQUESTER = "done"
"""Requester of rework opened by reopening a done issue."""

# Frame contracts ---------------------------------------------------------------------------------

TRANSITION_COLUMNS: tuple[str, ...] = (
    "issue_id",  # str
    "at",  # datetime64[ns, UTC]
    "change_id",  # str
    "from_id",  # str | None
    "from_name",  # str | None
    "to_id",  # str | None
    "to_name",  # str | None
    "author",  # str | None
)
"""Columns of the transitions frame the engine derives requests from (one row per transition)."""

DERIVED_FROM_COLUMNS: tuple[str, ...] = tuple(c for c in TRANSITION_COLUMNS if c != "author")
"""What derivation reads of a transitions frame: bulk reads for it (re-derivation, preview) leave out
the rest (who made a transition sets no clock and opens no request)."""

ISSUE_COLUMNS: tuple[str, ...] = ("issue_id", "issue_key", "project", "issue_type", "priority")
"""Columns of the issues frame (one row per issue)."""

REQUEST_COLUMNS: tuple[str, ...] = (
    "issue_id",
    "issue_key",
    "seq",  # 0-based order of the request within its issue
    "process",
    "provider",
    "requester",  # team, DONE_REQUESTER, or None (intake)
    "kind",  # Kind
    "opened_at",
    "first_response_at",
    "resolved_at",
    "outcome",  # Outcome or None while open
    "rejected",  # bool
    "rejected_at",  # when the rejection happened (None if not rejected)
    "from_status",  # status names of the transition that opened the request
    "to_status",
    "issue_type",
    "priority",
    "response_goal_s",  # float seconds or NaN
    "resolution_goal_s",
    "at_risk_ratio",  # threshold fraction for at_risk
    "response_elapsed_s",  # working seconds; for open clocks: up to `clock_at`
    "resolution_elapsed_s",
    "clock_at",  # instant the open clocks were measured to (last event of the issue)
    "paused",  # bool: the issue sat in a pause status at `clock_at` (open clocks stopped)
    "customer",  # the team that judges a delivery (None: not a delivery, or nobody judges it)
    "verdict_due_at",  # end of the acceptance window of a judged delivery
    "verdict",  # VerdictOutcome of the latest valid verdict ("implicit" is added as of `now`)
    "rating",  # float 1-5 or NaN
    "verdict_reason",
    "verdict_by",
    "verdict_at",
)
"""Columns of the derived requests frame. States are computed as of `now` by `baton.scoring.clocks`."""
