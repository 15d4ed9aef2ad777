"""The transition log and the issue facts: recording extractions, loading the engine's frames.

The log is append-only and idempotent: a transition is stored once per (site, issue, change id)
whatever the number of copies delivered (`INSERT .. ON CONFLICT DO NOTHING` on both dialects).
Issue facts are upserted with the newest `updated_at` winning, so late deliveries never roll an
issue's project, type or priority back; a missing value never erases a known one.

None of these functions commits: they add to the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

import pandas as pd
from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from baton.config.ownership import id_key, keys_of, name_key
from baton.scoring.model import ISSUE_COLUMNS, TRANSITION_COLUMNS, Extraction, IssueFacts, StatusInfo
from baton.store.models import IssueRow, StatusRow, TransitionRow
from baton.store.sqlutil import chunks, dialect_name, insert_for, unique

V = TypeVar("V")

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


_STATEMENTS: dict[tuple[str, str], Any] = {}


def _statement(session: Session, name: str) -> Any:
    """Upsert statements built once per dialect and reused (executemany), so SQLAlchemy's compiled
    cache is hit without re-building the ON CONFLICT clauses for every delivery."""
    dialect = dialect_name(session)
    stmt = _STATEMENTS.get((dialect, name))
    if stmt is not None:
        return stmt
    if name == "transitions":
        table = TransitionRow.__table__
        stmt = (
            insert_for(session, table)
            .on_conflict_do_nothing(index_elements=["site_id", "issue_id", "change_id"])
            .returning(table.c.issue_id, table.c.change_id)
        )
    elif name == "issues":
        table = IssueRow.__table__
        base = insert_for(session, table)
        excluded = base.excluded
        newer = or_(
            and_(
                excluded.updated_at.is_not(None),
                or_(table.c.updated_at.is_(None), excluded.updated_at >= table.c.updated_at),
            ),
            and_(excluded.updated_at.is_(None), table.c.updated_at.is_(None)),
        )
        stmt = base.on_conflict_do_update(
            index_elements=["site_id", "issue_id"],
            set_={
                column: case(
                    (newer, func.coalesce(excluded[column], table.c[column])),
                    else_=func.coalesce(table.c[column], excluded[column]),
                )
                for column in (*FACT_FIELDS, "status_id", "status_name", "updated_at")
            },
        )
    elif name == "statuses":
        table = StatusRow.__table__
        base = insert_for(session, table)
        excluded = base.excluded
        stmt = base.on_conflict_do_update(
            index_elements=["site_id", "key"],
            set_={
                "name": excluded.name,
                "category": func.coalesce(excluded.category, table.c.category),
                "status_id": func.coalesce(excluded.status_id, table.c.status_id),
            },
        )
    else:  # pragma: no cover - programming error
        raise KeyError(name)
    _STATEMENTS[(dialect, name)] = stmt
    return stmt


def _newer(candidate: datetime | None, than: datetime | None) -> bool:
    """Whether a copy stamped `candidate` supersedes one stamped `than`. A copy without a timestamp
    (e.g. a comment event's issue snapshot) is of unknown age: it only fills gaps of a stamped one."""
    if candidate is None:
        return than is None
    return than is None or candidate >= than


def _pick(old: V | None, new: V | None, newer: bool) -> V | None:
    """The newer side's value wins; a missing value never erases a known one."""
    if newer:
        return new if new is not None else old
    return old if old is not None else new


def _apply(old: tuple[object, ...], new: tuple[object, ...], newer: bool) -> tuple[object, ...]:
    return tuple(_pick(o, n, newer) for n, o in zip(new, old, strict=True))


def _fold_facts(facts: Iterable[IssueFacts]) -> dict[str, IssueFacts]:
    """One IssueFacts per issue, combined by the rule the upsert applies against stored rows."""
    merged: dict[str, IssueFacts] = {}
    for f in facts:
        old = merged.get(f.issue_id)
        if old is None:
            merged[f.issue_id] = f
            continue
        newer = _newer(f.updated_at, old.updated_at)
        merged[f.issue_id] = IssueFacts(
            f.issue_id,
            issue_key=_pick(old.issue_key, f.issue_key, newer),
            project=_pick(old.project, f.project, newer),
            issue_type=_pick(old.issue_type, f.issue_type, newer),
            priority=_pick(old.priority, f.priority, newer),
            status_id=_pick(old.status_id, f.status_id, newer),
            status_name=_pick(old.status_name, f.status_name, newer),
            updated_at=_pick(old.updated_at, f.updated_at, newer),
        )
    return merged


def _upsert_issues(session: Session, site_id: str, facts: Mapping[str, IssueFacts]) -> set[str]:
    """Upsert issue facts (one per issue); returns the ids whose FACT_FIELDS changed (or that are new)."""
    if not facts:
        return set()
    table = IssueRow.__table__
    ids = sorted(facts)
    before: dict[str, tuple[datetime | None, tuple[object, ...]]] = {}
    for batch in chunks(ids):
        for row in session.execute(
            select(table.c.issue_id, table.c.updated_at, *(table.c[n] for n in FACT_FIELDS)).where(
                table.c.site_id == site_id, table.c.issue_id.in_(batch)
            )
        ):
            before[row[0]] = (row[1], tuple(row[2:]))
    changed: set[str] = set()
    for issue_id in ids:
        f = facts[issue_id]
        known = before.get(issue_id)
        incoming = tuple(getattr(f, name) for name in FACT_FIELDS)
        if known is None or _apply(known[1], incoming, _newer(f.updated_at, known[0])) != known[1]:
            changed.add(issue_id)
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
        for f in (facts[i] for i in ids)
    ]
    for part in chunks(values):
        session.execute(_statement(session, "issues"), part)
    return changed


def record_statuses(session: Session, site_id: str, statuses: Iterable[StatusInfo]) -> int:
    """Upsert statuses and their categories (a missing category never erases a known one)."""
    rows: dict[str, dict[str, object]] = {}
    for s in _prefer_categorised(list(statuses)):
        key = status_key_of(s.status_id, s.name)
        rows[key] = {
            "site_id": site_id,
            "key": key,
            "status_id": s.status_id,
            "name": s.name,
            "category": s.category,
        }
    if not rows:
        return 0
    # Statuses rarely change: write only what is new or different, so that concurrent workers do not
    # queue on the same status rows.
    table = StatusRow.__table__.c
    known = {
        key: (status_id, name, category)
        for key, status_id, name, category in session.execute(
            select(table.key, table.status_id, table.name, table.category).where(
                table.site_id == site_id, table.key.in_(list(rows))
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
    session.execute(_statement(session, "statuses"), [rows[key] for key in sorted(rows)])
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


def _facts_from(extraction: Extraction) -> list[IssueFacts]:
    facts: dict[str, IssueFacts] = {}
    for t in extraction.transitions:  # issues known only from their transitions still get a row
        if t.issue_id not in facts:
            facts[t.issue_id] = IssueFacts(t.issue_id, t.issue_key, None, None, None)
    if extraction.issue is not None:
        facts[extraction.issue.issue_id] = extraction.issue
    return list(facts.values())


def record_many(
    session: Session, site_id: str, items: Sequence[tuple[Extraction, int | None]]
) -> list[RecordResult]:
    """`record_extraction` for several (extraction, delivery id) pairs with a few statements in all.

    A change present in several items is stored once, attributed to the first item carrying it.
    Each item's `changed_issue_ids` lists the issues needing re-derivation because of the batch."""
    rows: dict[tuple[str, str], dict[str, object]] = {}
    owner: dict[tuple[str, str], int] = {}
    for index, (extraction, delivery_id) in enumerate(items):
        for t in extraction.transitions:
            key = (t.issue_id, t.change_id)
            if key in rows:
                continue
            owner[key] = index
            rows[key] = {
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
    inserted_keys: set[tuple[str, str]] = set()
    ordered = [rows[key] for key in sorted(rows)]  # a fixed order: concurrent writers lock alike
    for batch in chunks(ordered, 200):
        for issue_id, change_id in session.execute(_statement(session, "transitions"), batch):
            inserted_keys.add((issue_id, change_id))
    touched = {issue_id for issue_id, _ in inserted_keys}

    per_item_facts = [_facts_from(extraction) for extraction, _ in items]
    fact_changes = _upsert_issues(session, site_id, _fold_facts(f for facts in per_item_facts for f in facts))
    statuses: list[StatusInfo] = []
    for extraction, _ in items:
        statuses.extend(extraction.statuses)
        for t in extraction.transitions:  # names/ids seen in transitions, category unknown
            for sid, name in ((t.from_id, t.from_name), (t.to_id, t.to_name)):
                if name:
                    statuses.append(StatusInfo(sid, name, None))
    record_statuses(session, site_id, statuses)
    changed = set(touched)
    fact_changes -= changed
    if fact_changes:
        changed |= issues_with_log(session, site_id, fact_changes)

    results: list[RecordResult] = []
    for index, ((extraction, _), facts) in enumerate(zip(items, per_item_facts, strict=True)):
        mine = sum(1 for key, who in owner.items() if who == index and key in inserted_keys)
        issue_ids = unique([*(t.issue_id for t in extraction.transitions), *(f.issue_id for f in facts)])
        results.append(
            RecordResult(
                inserted=mine,
                duplicates=len(extraction.transitions) - mine,
                issue_ids=tuple(issue_ids),
                changed_issue_ids=tuple(i for i in issue_ids if i in changed),
            )
        )
    return results


def record_extraction(
    session: Session, site_id: str, extraction: Extraction, delivery_id: int | None = None
) -> RecordResult:
    """Add an extraction's transitions to the log (idempotently), upsert its issue facts and statuses.
    The site must exist (`baton.store.inbox.ensure_site`). Does not commit."""
    return record_many(session, site_id, [(extraction, delivery_id)])[0]


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


def load_transition_rows(
    session: Session, site_id: str, issue_ids: Iterable[str] | None = None
) -> list[tuple[object, ...]]:
    """The site's transition log (optionally of some issues) as raw rows of TRANSITION_COLUMNS, as
    the driver returns them, ordered by issue, `at`, change id: what `load_transitions_frame` frames,
    and what a cheap "has this log changed?" comparison reads."""
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
    return rows


def transitions_frame(rows: list[tuple[object, ...]]) -> pd.DataFrame:
    """`load_transition_rows`'s rows as a frame with TRANSITION_COLUMNS; `at` is datetime64[ns, UTC]."""
    return _frame(rows, TRANSITION_COLUMNS, datetimes=("at",))


def load_transitions_frame(
    session: Session, site_id: str, issue_ids: Iterable[str] | None = None
) -> pd.DataFrame:
    """The site's transition log (optionally of some issues) as a frame with TRANSITION_COLUMNS,
    ordered by issue, `at`, change id; `at` is datetime64[ns, UTC]."""
    return transitions_frame(load_transition_rows(session, site_id, issue_ids))


def load_issue_rows(
    session: Session, site_id: str, issue_ids: Iterable[str] | None = None
) -> list[tuple[object, ...]]:
    """Issue facts as raw rows of ISSUE_COLUMNS (one per issue), ordered by issue id."""
    columns = [getattr(IssueRow, c) for c in ISSUE_COLUMNS]
    rows: list[tuple[object, ...]] = []
    if issue_ids is None:
        stmt = select(*columns).where(IssueRow.site_id == site_id).order_by(IssueRow.issue_id)
        rows.extend(tuple(r) for r in session.execute(stmt))
    else:
        for batch in chunks(sorted(unique(issue_ids))):
            stmt = (
                select(*columns)
                .where(IssueRow.site_id == site_id, IssueRow.issue_id.in_(batch))
                .order_by(IssueRow.issue_id)
            )
            rows.extend(tuple(r) for r in session.execute(stmt))
    return rows


def issues_frame(rows: list[tuple[object, ...]]) -> pd.DataFrame:
    """`load_issue_rows`'s rows as a frame with ISSUE_COLUMNS."""
    return _frame(rows, ISSUE_COLUMNS)


def load_issues_frame(session: Session, site_id: str, issue_ids: Iterable[str] | None = None) -> pd.DataFrame:
    """Issue facts as a frame with ISSUE_COLUMNS (one row per issue, ordered by issue id)."""
    return issues_frame(load_issue_rows(session, site_id, issue_ids))


def load_issue_groups(session: Session, site_id: str) -> pd.DataFrame:
    """The site's issues counted per (project, issue type): columns `project`, `issue_type`, `count`
    (what `baton.scoring.engine.unmatched_issues` needs for counts alone, without reading every issue)."""
    stmt = (
        select(IssueRow.project, IssueRow.issue_type, func.count())
        .where(IssueRow.site_id == site_id)
        .group_by(IssueRow.project, IssueRow.issue_type)
        .order_by(IssueRow.project, IssueRow.issue_type)
    )
    frame = _frame([tuple(r) for r in session.execute(stmt)], ("project", "issue_type", "count"))
    frame["count"] = frame["count"].astype("int64")
    return frame


def logged_status_keys(session: Session, site_id: str) -> set[str]:
    """The keys (`baton.config.ownership.keys_of`: `id:<id>` and `name:<normalised name>`) of every status
    a transition of the site's log comes from or goes to."""
    seen: set[str] = set()
    for id_column, name_column in (
        (TransitionRow.from_id, TransitionRow.from_name),
        (TransitionRow.to_id, TransitionRow.to_name),
    ):
        stmt = select(id_column, name_column).where(TransitionRow.site_id == site_id).distinct()
        for status_id, name in session.execute(stmt):
            seen.update(keys_of(status_id, name))
    return seen


def list_issue_ids(session: Session, site_id: str) -> list[str]:
    """Every issue of the site that has a fact row (every issue with transitions has one)."""
    stmt = select(IssueRow.issue_id).where(IssueRow.site_id == site_id).order_by(IssueRow.issue_id)
    return list(session.execute(stmt).scalars())


def load_status_categories(session: Session, site_id: str) -> dict[str, str]:
    """Jira status category per status key, keyed like `baton.config.ownership.keys_of`: every status with
    a known category appears as `id:<id>` (when its id is known) and as `name:<normalised name>`."""
    categories: dict[str, str] = {}
    stmt = (
        select(StatusRow.status_id, StatusRow.name, StatusRow.category)
        .where(StatusRow.site_id == site_id, StatusRow.category.is_not(None))
        .order_by(StatusRow.key)
    )
    for status_id, name, category in session.execute(stmt):
        if category is None:
            continue
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
    "issues_frame",
    "issues_with_log",
    "list_issue_ids",
    "load_issue_groups",
    "load_issue_rows",
    "load_issues_frame",
    "load_status_categories",
    "load_statuses",
    "load_transition_rows",
    "load_transitions_frame",
    "logged_status_keys",
    "record_extraction",
    "record_many",
    "record_statuses",
    "status_key_of",
    "transitions_frame",
]
