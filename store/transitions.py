"""The transition log and the issue facts: recording extractions, loading the engine's frames.

The log is append-only and idempotent: a transition is stored once per (site, issue, change id)
whatever the number of copies delivered (`INSERT .. ON CONFLICT DO NOTHING` on both dialects).
Issue facts are upserted with the newest `updated_at` winning, so late deliveries never roll an
issue's project, type or priority back; a missing value never erases a known one.

None of these functions commits: they add to the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import pandas as pd
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from config.ownership import id_key, keys_of, name_key
from scoring.model import ISSUE_COLUMNS, TRANSITION_COLUMNS, Extraction, IssueFacts, StatusInfo
from store.models import IssueRow, StatusRow, TransitionRow
from store.sqlutil import chunks, insert_for, unique

FACT_FIELDS: tuple[str, ...] = ("issue_key", "project", "issue_type", "priority")
"""Issue facts that change derived requests (process match, SLA row); a change re-derives the issue."""


@dataclass(frozen=True, slots=True)
class RecordResult:
    inserted: int
    """Transitions newly added to the log."""
    duplicates: int
    """Transitions already in the log (same site, issue and change id)."""
    issue_ids: tuple[str, ...]
    """Every issue the extraction(s) mentioned."""
    changed_issue_ids: tuple[str, ...] = field(default=())
    """Issues whose derived requests may change: new transitions, or changed facts of an issue with a log."""


def status_key_of(status_id: str | None, name: str | None) -> str:
    """Primary key of a status row: `id:<id>` when Jira gave one, else `name:<normalised name>`."""
    if status_id:
        return id_key(status_id)
    if name:
        return name_key(name)
    raise ValueError("a status needs an id or a name")


def _insert_transitions(
    session: Session, site_id: str, extraction: Extraction, delivery_id: int | None
) -> tuple[int, int, set[str]]:
    rows = {}
    for t in extraction.transitions:
        rows[(t.issue_id, t.change_id)] = {
            "site_id": site_id,
            "issue_id": t.issue_id,
            "change_id": t.change_id,
            "at": t.at,
            "from_id": t.from_id,
            "from_name": t.from_name,
            "to_id": t.to_id,
            "to_name": t.to_name,
            "author": t.author,
            "delivery_id": delivery_id,
        }
    inserted, touched = 0, set()
    for batch in chunks(list(rows.values()), 200):
        table = TransitionRow.__table__
        stmt = (
            insert_for(session, table)
            .values(batch)
            .on_conflict_do_nothing(index_elements=["site_id", "issue_id", "change_id"])
            .returning(table.c.issue_id)
        )
        new = session.execute(stmt).scalars().all()
        inserted += len(new)
        touched.update(new)
    return inserted, len(extraction.transitions) - inserted, touched


def _facts_from(extraction: Extraction) -> list[IssueFacts]:
    facts: dict[str, IssueFacts] = {}
    for t in extraction.transitions:  # issues known only from their transitions still get a row
        if t.issue_id not in facts:
            facts[t.issue_id] = IssueFacts(t.issue_id, t.issue_key, None, None, None)
    if extraction.issue is not None:
        facts[extraction.issue.issue_id] = extraction.issue
    return list(facts.values())


def _merged(old: tuple[object, ...] | None, new: IssueFacts) -> tuple[object, ...]:
    """FACT_FIELDS after the upsert below: the newer copy wins, a missing value never erases."""
    incoming = tuple(getattr(new, name) for name in FACT_FIELDS)
    if old is None:
        return incoming
    return tuple(n if n is not None else o for n, o in zip(incoming, old, strict=True))


def _upsert_issues(session: Session, site_id: str, facts: list[IssueFacts]) -> set[str]:
    """Upsert issue facts; returns the ids whose FACT_FIELDS changed (or that are new)."""
    if not facts:
        return set()
    table = IssueRow.__table__
    ids = [f.issue_id for f in facts]
    before = {
        row[0]: (row[1], tuple(row[2:]))
        for row in session.execute(
            select(table.c.issue_id, table.c.updated_at, *(table.c[n] for n in FACT_FIELDS)).where(
                table.c.site_id == site_id, table.c.issue_id.in_(ids)
            )
        )
    }
    changed: set[str] = set()
    for f in facts:
        known = before.get(f.issue_id)
        if known is None:
            changed.add(f.issue_id)
            continue
        known_at, known_facts = known
        newer = f.updated_at is None or known_at is None or f.updated_at >= known_at
        if newer and _merged(known_facts, f) != known_facts:
            changed.add(f.issue_id)
    values = [
        {
            "site_id": site_id,
            "issue_id": f.issue_id,
            "issue_key": f.issue_key,
            "project": f.project,
            "issue_type": f.issue_type,
            "priority": f.priority,
            "status_id": f.status_id,
            "status_name": f.status_name,
            "updated_at": f.updated_at,
        }
        for f in sorted(facts, key=lambda f: f.issue_id)
    ]
    stmt = insert_for(session, table).values(values)
    excluded = stmt.excluded
    updated = {
        name: func.coalesce(getattr(excluded, name), table.c[name])
        for name in (*FACT_FIELDS, "status_id", "status_name", "updated_at")
    }
    newer_clause = or_(
        excluded.updated_at.is_(None),
        table.c.updated_at.is_(None),
        excluded.updated_at >= table.c.updated_at,
    )
    session.execute(
        stmt.on_conflict_do_update(index_elements=["site_id", "issue_id"], set_=updated, where=newer_clause)
    )
    return changed


def record_statuses(session: Session, site_id: str, statuses: Iterable[StatusInfo]) -> int:
    """Upsert statuses and their categories (a missing category never erases a known one)."""
    rows: dict[str, dict[str, object]] = {}
    for s in statuses:
        if not (s.status_id or s.name):
            continue
        rows[status_key_of(s.status_id, s.name)] = {
            "site_id": site_id,
            "key": status_key_of(s.status_id, s.name),
            "status_id": s.status_id,
            "name": s.name,
            "category": s.category,
        }
    if not rows:
        return 0
    # Statuses rarely change: write only what is new or different, so that concurrent workers do not
    # queue on the same status rows.
    known = {
        key: (status_id, name, category)
        for key, status_id, name, category in session.execute(
            select(StatusRow.key, StatusRow.status_id, StatusRow.name, StatusRow.category).where(
                StatusRow.site_id == site_id, StatusRow.key.in_(list(rows))
            )
        )
    }
    for key in list(rows):
        old = known.get(key)
        row = rows[key]
        if (
            old is not None
            and old[1] == row["name"]
            and (row["category"] is None or old[2] == row["category"])
        ):
            del rows[key]
    if not rows:
        return 0
    stmt = insert_for(session, StatusRow.__table__).values([rows[key] for key in sorted(rows)])
    table = StatusRow.__table__.c
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=["site_id", "key"],
            set_={
                "name": stmt.excluded.name,
                "category": func.coalesce(stmt.excluded.category, table.category),
                "status_id": func.coalesce(stmt.excluded.status_id, table.status_id),
            },
        )
    )
    return len(rows)


def issues_with_log(session: Session, site_id: str, issue_ids: Iterable[str]) -> set[str]:
    """The given issues that have at least one transition in the log."""
    found: set[str] = set()
    for batch in chunks(unique(issue_ids)):
        found.update(
            session.execute(
                select(TransitionRow.issue_id)
                .where(TransitionRow.site_id == site_id, TransitionRow.issue_id.in_(batch))
                .distinct()
            ).scalars()
        )
    return found


def record_extraction(
    session: Session, site_id: str, extraction: Extraction, delivery_id: int | None = None
) -> RecordResult:
    """Add an extraction's transitions to the log (idempotently), upsert its issue facts and statuses."""
    inserted, duplicates, touched = _insert_transitions(session, site_id, extraction, delivery_id)
    facts = _facts_from(extraction)
    fact_changes = _upsert_issues(session, site_id, facts)
    statuses = list(extraction.statuses)
    for t in extraction.transitions:  # names/ids seen in transitions, category unknown
        for sid, name in ((t.from_id, t.from_name), (t.to_id, t.to_name)):
            if name:
                statuses.append(StatusInfo(sid, name, None))
    record_statuses(session, site_id, _prefer_categorised(statuses))
    changed = set(touched)
    fact_changes -= changed
    if fact_changes:
        changed |= issues_with_log(session, site_id, fact_changes)
    issue_ids = unique([*(t.issue_id for t in extraction.transitions), *(f.issue_id for f in facts)])
    return RecordResult(
        inserted=inserted,
        duplicates=duplicates,
        issue_ids=tuple(issue_ids),
        changed_issue_ids=tuple(i for i in issue_ids if i in changed),
    )


def _prefer_categorised(statuses: list[StatusInfo]) -> list[StatusInfo]:
    chosen: dict[str, StatusInfo] = {}
    for s in statuses:
        if not (s.status_id or s.name):
            continue
        key = status_key_of(s.status_id, s.name)
        if key not in chosen or (chosen[key].category is None and s.category is not None):
            chosen[key] = s
    return list(chosen.values())


def _frame(
    rows: list[tuple[object, ...]], columns: tuple[str, ...], datetimes: tuple[str, ...] = ()
) -> pd.DataFrame:
    """A frame built column by column: object columns keep None; `datetimes` become datetime64[ns, UTC]."""
    values = list(zip(*rows, strict=True)) if rows else [() for _ in columns]
    data: dict[str, object] = {}
    for name, column in zip(columns, values, strict=True):
        if name in datetimes:
            data[name] = pd.Series(pd.to_datetime(list(column), utc=True).as_unit("ns"))
        else:
            data[name] = pd.Series(list(column), dtype=object)
    frame = pd.DataFrame(data, columns=list(columns))
    for name in datetimes:
        if str(frame[name].dtype) != "datetime64[ns, UTC]":
            frame[name] = frame[name].astype("datetime64[ns, UTC]")
    return frame


def load_transitions_frame(
    session: Session, site_id: str, issue_ids: Iterable[str] | None = None
) -> pd.DataFrame:
    """The site's transition log (optionally of some issues) as a frame with TRANSITION_COLUMNS,
    ordered by issue, `at`, change id; `at` is datetime64[ns, UTC]."""
    columns = [getattr(TransitionRow, c) for c in TRANSITION_COLUMNS]
    order = (TransitionRow.issue_id, TransitionRow.at, TransitionRow.change_id)
    rows: list[tuple[object, ...]] = []
    if issue_ids is None:
        stmt = select(*columns).where(TransitionRow.site_id == site_id).order_by(*order)
        rows.extend(tuple(r) for r in session.execute(stmt))
    else:
        for batch in chunks(unique(issue_ids)):
            stmt = (
                select(*columns)
                .where(TransitionRow.site_id == site_id, TransitionRow.issue_id.in_(batch))
                .order_by(*order)
            )
            rows.extend(tuple(r) for r in session.execute(stmt))
    return _frame(rows, TRANSITION_COLUMNS, datetimes=("at",))


def load_issues_frame(session: Session, site_id: str, issue_ids: Iterable[str] | None = None) -> pd.DataFrame:
    """Issue facts as a frame with ISSUE_COLUMNS (one row per issue)."""
    columns = [getattr(IssueRow, c) for c in ISSUE_COLUMNS]
    rows: list[tuple[object, ...]] = []
    if issue_ids is None:
        stmt = select(*columns).where(IssueRow.site_id == site_id).order_by(IssueRow.issue_id)
        rows.extend(tuple(r) for r in session.execute(stmt))
    else:
        for batch in chunks(unique(issue_ids)):
            stmt = select(*columns).where(IssueRow.site_id == site_id, IssueRow.issue_id.in_(batch))
            rows.extend(tuple(r) for r in session.execute(stmt))
    return _frame(rows, ISSUE_COLUMNS)


def list_issue_ids(session: Session, site_id: str) -> list[str]:
    """Every issue of the site that has a fact row (every issue with transitions has one)."""
    stmt = select(IssueRow.issue_id).where(IssueRow.site_id == site_id).order_by(IssueRow.issue_id)
    return list(session.execute(stmt).scalars())


def load_status_categories(session: Session, site_id: str) -> dict[str, str]:
    """Jira status category per status key, keyed like `config.ownership.keys_of`: every status with
    a known category appears as `id:<id>` (when its id is known) and as `name:<normalised name>`."""
    categories: dict[str, str] = {}
    stmt = (
        select(StatusRow.status_id, StatusRow.name, StatusRow.category)
        .where(StatusRow.site_id == site_id, StatusRow.category.is_not(None))
        .order_by(StatusRow.key)
    )
    for status_id, name, category in session.execute(stmt):
        for key in keys_of(status_id, name):
            if key.startswith("id:"):
                categories[key] = category
            else:
                categories.setdefault(key, category)
    return categories


def load_statuses(session: Session, site_id: str) -> list[Mapping[str, object]]:
    """Every status seen on the site: key, status_id, name, category."""
    stmt = select(StatusRow).where(StatusRow.site_id == site_id).order_by(StatusRow.key)
    return [
        {"key": s.key, "status_id": s.status_id, "name": s.name, "category": s.category}
        for s in session.execute(stmt).scalars()
    ]


__all__ = [
    "RecordResult",
    "issues_with_log",
    "list_issue_ids",
    "load_issues_frame",
    "load_status_categories",
    "load_statuses",
    "load_transitions_frame",
    "record_extraction",
    "record_statuses",
    "status_key_of",
]
