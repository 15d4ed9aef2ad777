"""The internal customers' verdicts: an append-only table per site (docs/semantics.md "Verdicts").

Whether a verdict applies (which delivery, the window, an accept after a rejection) and whether its
input is right are decided by the engine (`baton.scoring.engine.judge_verdict`), a pure function;
this module records the verdicts it accepts and re-derives their issue. None of these functions
commits.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from baton.config.schema import BatonConfig
from baton.scoring.model import Verdict, VerdictAction
from baton.scoring.verdicts import Judgement, VerdictRefused
from baton.store.live_config import SiteConfigs, as_site_configs
from baton.store.models import IssueRow, VerdictRow
from baton.store.sqlutil import chunks, unique
from baton.store.transitions import load_issues_frame, load_status_categories, load_transitions_frame

VERDICT_SOURCES: tuple[str, ...] = ("cli", "api")
COMMENT_LIMIT = 4000
"""Longest comment kept (characters); a longer one is refused, not cut."""


class UnknownIssue(LookupError):
    """The issue is not in the site's transition log (never delivered, or another site's)."""


@dataclass(frozen=True, slots=True)
class RecordedVerdict:
    id: int
    issue_id: str
    issue_key: str | None
    judgement: Judgement


def _verdict(row: VerdictRow) -> Verdict:
    return Verdict(
        issue_id=row.issue_id,
        team=row.team,
        at=row.at,
        by=row.account,
        action=VerdictAction(row.action),
        rating=row.rating,
        reason=row.reason,
        comment=row.comment,
    )


def load_verdicts(session: Session, site_id: str, issue_ids: Iterable[str] | None = None) -> list[Verdict]:
    """The site's verdicts (of `issue_ids` only, when given), in recording order."""
    stmt = select(VerdictRow).where(VerdictRow.site_id == site_id).order_by(VerdictRow.id)
    if issue_ids is None:
        return [_verdict(r) for r in session.scalars(stmt)]
    rows: list[VerdictRow] = []
    for batch in chunks(unique(str(i) for i in issue_ids)):
        rows.extend(session.scalars(stmt.where(VerdictRow.issue_id.in_(batch))))
    rows.sort(key=lambda r: r.id)
    return [_verdict(r) for r in rows]


def load_verdicts_between(session: Session, site_id: str, first: str, last: str) -> list[Verdict]:
    """The site's verdicts on issues with ids in [first, last] (one range query), in recording order."""
    stmt = (
        select(VerdictRow)
        .where(VerdictRow.site_id == site_id, VerdictRow.issue_id >= first, VerdictRow.issue_id <= last)
        .order_by(VerdictRow.id)
    )
    return [_verdict(r) for r in session.scalars(stmt)]


def resolve_issue(session: Session, site_id: str, issue: str) -> tuple[str, str | None]:
    """(issue id, issue key) of an issue given by key (`PROJ-1`, any case) or id, on this site."""
    row = session.execute(
        select(IssueRow.issue_id, IssueRow.issue_key).where(
            IssueRow.site_id == site_id,
            or_(IssueRow.issue_id == issue, IssueRow.issue_key == issue.upper()),
        )
    ).first()
    if row is None:
        raise UnknownIssue(
            f"issue {issue} is not known on site '{site_id}': Baton has no transition of it yet "
            "(check the key, the site, or backfill the project)"
        )
    return str(row[0]), row[1]


def record_verdict(
    session: Session,
    site_id: str,
    verdict: Verdict,
    config: BatonConfig | SiteConfigs,
    *,
    source: str,
) -> RecordedVerdict:
    """Judge a new verdict against the issue's transitions and earlier verdicts, record it if it
    applies and re-derive the issue. Raises `VerdictRefused` (nothing recorded) with the reason.

    Takes the site's re-derivation lock shared first (`baton.store.rederive.lock_site_shared`), as the
    processing path does, and only then picks the configuration (`config`, or what a resolver gives
    for the site): a verdict never lands in the middle of an atomic re-derivation's swap, and one
    recorded while its chunks run is caught up by the swap (its id is above the verdict watermark)."""
    from baton.scoring.engine import derive_requests, judge_verdict
    from baton.store.pipeline import lock_issues, rederive_issues
    from baton.store.rederive import lock_site_shared

    if source not in VERDICT_SOURCES:
        raise ValueError(f"unknown verdict source {source!r}")
    if verdict.comment is not None and len(verdict.comment) > COMMENT_LIMIT:
        raise VerdictRefused(f"the comment is longer than {COMMENT_LIMIT} characters; shorten it")
    if verdict.reason is not None and len(verdict.reason) > 200:
        raise VerdictRefused("the reason is longer than 200 characters; use one of the PMO's reasons")
    lock_site_shared(session, site_id)
    site_config = as_site_configs(config).for_site(session, site_id)
    if site_config is None:
        raise VerdictRefused(f"site '{site_id}' has no configuration; load one before recording verdicts")
    ids = [verdict.issue_id]
    lock_issues(session, site_id, ids)
    transitions = load_transitions_frame(session, site_id, ids)
    issues = load_issues_frame(session, site_id, ids)
    plain = derive_requests(transitions, issues, site_config, load_status_categories(session, site_id))
    prior = load_verdicts(session, site_id, ids)
    judgement = judge_verdict(plain, prior, verdict, site_config)
    row = VerdictRow(
        site_id=site_id,
        issue_id=verdict.issue_id,
        team=verdict.team,
        at=verdict.at,
        account=verdict.by,
        action=verdict.action.value,
        rating=verdict.rating,
        reason=verdict.reason,
        comment=verdict.comment,
        source=source,
    )
    session.add(row)
    session.flush()
    rederive_issues(session, site_id, ids, site_config)
    key = None if issues.empty else issues["issue_key"].iloc[0]
    return RecordedVerdict(row.id, verdict.issue_id, None if key is None else str(key), judgement)


__all__ = [
    "COMMENT_LIMIT",
    "RecordedVerdict",
    "UnknownIssue",
    "VerdictRefused",
    "load_verdicts",
    "load_verdicts_between",
    "record_verdict",
    "resolve_issue",
]
