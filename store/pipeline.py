"""The one way through the system: delivery -> extraction -> transition log -> derived requests.

    accept_delivery (store.inbox)           raw bytes committed before the 2xx
    process_delivery                        one delivery: parse, extract, record, re-derive touched issues
    process_batch                           the same for several deliveries, one transaction + one derivation
    process_pending                         claim (SKIP LOCKED) and process_batch until the inbox is drained
    ingest_extractions                      the same recording + re-derive for replay/backfill pages
    rederive_issues / rederive_site         recompute requests from the log (config changes)
    sync_config                             re-derive every site whose config fingerprint is stale

Transactions: `process_delivery` runs one transaction per delivery and commits it (on failure it
rolls the delivery's work back, records the error on the delivery and commits that). `process_batch`
commits one transaction for the batch; if it fails it falls back to `process_delivery` for each
delivery, so failures stay isolated per delivery. `process_pending` opens its own session. `ingest_extractions`, `rederive_issues` and `rederive_site(commit=False)` only
add to the caller's transaction. Nothing here ever deletes a delivery or a transition.

`config` may be None ("store, don't derive"): the log and facts are recorded and the site's
`config_fingerprint` is cleared, so the next `sync_config` with a real config re-derives it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import socket
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from baton.config.schema import BatonConfig
from baton.scoring.model import Extraction
from baton.store import inbox
from baton.store.models import DELIVERY_SOURCES, Delivery, IssueRow, Site
from baton.store.requests import replace_requests
from baton.store.sqlutil import chunks, dialect_name, unique
from baton.store.transitions import (
    list_issue_ids,
    load_issues_frame,
    load_status_categories,
    load_transitions_frame,
    record_many,
)

log = logging.getLogger("baton.store.pipeline")

DEFAULT_BATCH = 50
"""Deliveries claimed per claim statement by `process_pending`."""
REDERIVE_CHUNK = 500
"""Issues re-derived per engine call by `rederive_site`."""


@dataclass(frozen=True, slots=True)
class DeliveryOutcome:
    delivery_id: int
    state: str
    """`done`, `ignored`, `failed`, or the unchanged state of a delivery that was not processed."""
    inserted: int = 0
    duplicates: int = 0
    issue_ids: tuple[str, ...] = ()
    requests: int = 0
    error: str | None = None


@dataclass(frozen=True, slots=True)
class PendingSummary:
    claimed: int
    done: int
    ignored: int
    failed: int

    @property
    def processed(self) -> int:
        """Deliveries that reached `done` (the webhook worker's metrics read this name)."""
        return self.done


@dataclass(frozen=True, slots=True)
class IngestResult:
    inserted: int
    duplicates: int
    issue_ids: tuple[str, ...]
    rederived: tuple[str, ...]
    requests: int


def config_fingerprint(config: BatonConfig) -> str:
    """`baton.config.loader.fingerprint` (a hash of the normalised config)."""
    try:
        from baton.config.loader import fingerprint
    except ImportError:  # pragma: no cover - older trees without the loader's fingerprint
        return hashlib.sha256(config.model_dump_json().encode("utf-8")).hexdigest()
    return fingerprint(config)


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _derive(
    transitions: pd.DataFrame,
    issues: pd.DataFrame,
    config: BatonConfig,
    categories: Mapping[str, str],
) -> pd.DataFrame:
    from baton.scoring.engine import derive_requests

    return derive_requests(transitions, issues, config, categories)


def _lock_issues(session: Session, site_id: str, issue_ids: list[str]) -> None:
    """Serialise re-derivation of the same issue by concurrent workers (PostgreSQL row locks, in a
    fixed order so two workers can never deadlock). SQLite serialises writers anyway."""
    if dialect_name(session) != "postgresql":
        return
    for batch in chunks(sorted(issue_ids)):
        session.execute(
            select(IssueRow.issue_id)
            .where(IssueRow.site_id == site_id, IssueRow.issue_id.in_(batch))
            .order_by(IssueRow.issue_id)
            .with_for_update()
        ).all()


def rederive_issues(
    session: Session,
    site_id: str,
    issue_ids: Iterable[str],
    config: BatonConfig,
    *,
    status_categories: Mapping[str, str] | None = None,
) -> int:
    """Recompute the derived requests of some issues from their full transition log; returns the
    number of requests stored. Does not commit."""
    ids = unique(str(i) for i in issue_ids)
    if not ids:
        return 0
    _lock_issues(session, site_id, ids)
    categories = (
        status_categories if status_categories is not None else load_status_categories(session, site_id)
    )
    transitions = load_transitions_frame(session, site_id, ids)
    issues = load_issues_frame(session, site_id, ids)
    requests = _derive(transitions, issues, config, categories)
    return replace_requests(session, site_id, ids, requests)


@dataclass(frozen=True, slots=True)
class RederiveResult:
    issues: int
    requests: int
    fingerprint: str


def rederive_site(
    session: Session,
    site_id: str,
    config: BatonConfig,
    *,
    chunk_size: int = REDERIVE_CHUNK,
    commit: bool = False,
) -> RederiveResult:
    """Recompute every derived request of a site (after a config change), `chunk_size` issues per
    engine call, then store the config's fingerprint on the site. With `commit=True` each chunk is
    committed as it is done (for large sites); otherwise the caller commits."""
    categories = load_status_categories(session, site_id)
    issue_ids = list_issue_ids(session, site_id)
    total = 0
    for batch in chunks(issue_ids, chunk_size):
        total += rederive_issues(session, site_id, batch, config, status_categories=categories)
        if commit:
            session.commit()
    fp = config_fingerprint(config)
    session.execute(update(Site).where(Site.id == site_id).values(config_fingerprint=fp))
    if commit:
        session.commit()
    log.info("rederived site", extra={"site": site_id, "issues": len(issue_ids), "requests": total})
    return RederiveResult(issues=len(issue_ids), requests=total, fingerprint=fp)


def stale_sites(session: Session, config: BatonConfig) -> list[str]:
    """Sites whose stored requests were not derived with this config."""
    fp = config_fingerprint(config)
    stmt = select(Site.id).where((Site.config_fingerprint.is_(None)) | (Site.config_fingerprint != fp))
    return list(session.execute(stmt.order_by(Site.id)).scalars())


def sync_config(
    session: Session, config: BatonConfig, site_ids: Iterable[str] | None = None, *, commit: bool = True
) -> list[str]:
    """Re-derive every site (or the given ones) whose `config_fingerprint` differs from `config`'s.
    Returns the sites re-derived. Call it when a service or worker starts with a config."""
    wanted = set(site_ids) if site_ids is not None else None
    done: list[str] = []
    for site_id in stale_sites(session, config):
        if wanted is not None and site_id not in wanted:
            continue
        rederive_site(session, site_id, config, commit=commit)
        done.append(site_id)
    return done


def _mark_unconfigured(session: Session, site_id: str) -> None:
    session.execute(update(Site).where(Site.id == site_id).values(config_fingerprint=None))


def _record_and_derive(
    session: Session,
    site_id: str,
    extractions: Iterable[Extraction],
    config: BatonConfig | None,
    delivery_id: int | None,
) -> IngestResult:
    inserted = duplicates = 0
    issue_ids: list[str] = []
    changed: list[str] = []
    for batch in chunks(extractions, 200):
        for result in record_many(session, site_id, [(extraction, delivery_id) for extraction in batch]):
            inserted += result.inserted
            duplicates += result.duplicates
            issue_ids.extend(result.issue_ids)
            changed.extend(result.changed_issue_ids)
    changed = unique(changed)
    requests = 0
    if changed:
        if config is None:
            _mark_unconfigured(session, site_id)
        else:
            requests = rederive_issues(session, site_id, changed, config)
    return IngestResult(inserted, duplicates, tuple(unique(issue_ids)), tuple(changed), requests)


def ingest_extractions(
    session: Session,
    site_id: str,
    extractions: Iterable[Extraction],
    source: str = "backfill",
    config: BatonConfig | None = None,
) -> IngestResult:
    """Record extractions that did not arrive as one webhook delivery (replay files, backfill pages)
    and re-derive the issues they changed, exactly as `process_delivery` does. Creates the site if
    needed. Does not commit."""
    if source not in DELIVERY_SOURCES:
        raise ValueError(f"source must be one of {DELIVERY_SOURCES}, not {source!r}")
    inbox.ensure_site_exists(session, site_id)
    result = _record_and_derive(session, site_id, extractions, config, None)
    log.info(
        "ingested",
        extra={
            "site": site_id,
            "source": source,
            "inserted": result.inserted,
            "duplicates": result.duplicates,
        },
    )
    return result


def _error_text(error: BaseException) -> str:
    text = str(error).strip()
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def process_delivery(session: Session, delivery_id: int, config: BatonConfig | None) -> DeliveryOutcome:
    """Process one stored delivery in its own transaction and COMMIT.

    Parse the raw body, extract it (`baton.scoring.extract.extract_payload`), record transitions, issue facts
    and statuses, re-derive the touched issues and mark the delivery `done` (`ignored` when the event
    has no status change; its issue facts are still recorded). Any exception rolls back this delivery's
    work and marks it `failed` with the error text. Deliveries already `done`/`ignored` or
    `quarantined` are left as they are (run `baton.store.inbox.retry` first to reprocess one)."""
    session.rollback()  # start from a clean transaction: nothing of the caller's is half-done here
    row = session.execute(
        select(Delivery.site_id, Delivery.state, Delivery.body, Delivery.event).where(
            Delivery.id == delivery_id
        )
    ).one_or_none()
    if row is None:
        raise LookupError(f"no delivery {delivery_id}")
    site_id, state, body, event = row
    if state in (inbox.DONE, inbox.IGNORED, inbox.QUARANTINED):
        session.rollback()
        return DeliveryOutcome(delivery_id, state)
    try:
        if state == inbox.PENDING:  # processed without a claim (embedded mode): count the attempt
            session.execute(
                update(Delivery).where(Delivery.id == delivery_id).values(attempts=Delivery.attempts + 1)
            )
        extraction = _parse(body)
        result = _record_and_derive(session, site_id, [extraction], config, delivery_id)
        if extraction.has_status_change:
            final = inbox.DONE
            inbox.mark_done(session, delivery_id)
        else:
            final = inbox.IGNORED
            inbox.mark_ignored(session, delivery_id, f"no status change in {extraction.event or event}")
        session.commit()
        return DeliveryOutcome(
            delivery_id,
            final,
            inserted=result.inserted,
            duplicates=result.duplicates,
            issue_ids=result.issue_ids,
            requests=result.requests,
        )
    except Exception as error:
        session.rollback()
        message = _error_text(error)
        log.warning("delivery failed", extra={"delivery_id": delivery_id, "site": site_id, "error": message})
        update_stmt = update(Delivery).where(Delivery.id == delivery_id)
        session.execute(update_stmt.values(attempts=Delivery.attempts + (1 if state == inbox.PENDING else 0)))
        inbox.mark_failed(session, delivery_id, message)
        session.commit()
        return DeliveryOutcome(delivery_id, inbox.FAILED, error=message)


def _parse(body: bytes) -> Extraction:
    from baton.scoring.extract import extract_payload

    payload: Any = json.loads(bytes(body).decode("utf-8"))
    return extract_payload(payload)


def _primary_issue(extraction: Extraction) -> str:
    if extraction.issue is not None:
        return extraction.issue.issue_id
    return extraction.transitions[0].issue_id if extraction.transitions else ""


def process_batch(
    session: Session, delivery_ids: Iterable[int], config: BatonConfig | None
) -> list[DeliveryOutcome]:
    """Process several deliveries in ONE transaction with one derivation per site over every issue
    they touched, and COMMIT; the fast path of `process_pending`.

    Same outcome as `process_delivery` for each delivery: a delivery that cannot be parsed or
    extracted is marked `failed` with its error while the others go through; if the shared
    transaction itself fails, it is rolled back and every delivery is processed again on its own
    (`process_delivery`), so one bad delivery never takes the batch down with it."""
    ids = sorted({int(i) for i in delivery_ids})
    if not ids:
        return []
    session.rollback()
    rows = session.execute(
        select(Delivery.id, Delivery.site_id, Delivery.state, Delivery.body, Delivery.event)
        .where(Delivery.id.in_(ids))
        .order_by(Delivery.id)
    ).all()
    found = {row[0] for row in rows}
    if len(found) != len(ids):
        missing = sorted(set(ids) - found)
        raise LookupError(f"no delivery {', '.join(map(str, missing))}")
    outcomes: dict[int, DeliveryOutcome] = {}
    parsed: list[tuple[int, str, str, Extraction]] = []
    broken: list[tuple[int, str, str]] = []
    for delivery_id, site_id, state, body, _event in rows:
        if state in (inbox.DONE, inbox.IGNORED, inbox.QUARANTINED):
            outcomes[delivery_id] = DeliveryOutcome(delivery_id, state)
            continue
        try:
            parsed.append((delivery_id, site_id, state, _parse(body)))
        except Exception as error:
            broken.append((delivery_id, state, _error_text(error)))
    try:
        # A stable order (site, issue) keeps concurrent workers from locking the same rows crosswise.
        parsed.sort(key=lambda item: (item[1], _primary_issue(item[3]), item[0]))
        changed: dict[str, list[str]] = {}
        results: dict[int, Any] = {}
        by_site: dict[str, list[tuple[int, Extraction]]] = {}
        for delivery_id, site_id, _state, extraction in parsed:
            by_site.setdefault(site_id, []).append((delivery_id, extraction))
        for site_id, items in by_site.items():
            recorded = record_many(
                session, site_id, [(extraction, delivery_id) for delivery_id, extraction in items]
            )
            for (delivery_id, _extraction), result in zip(items, recorded, strict=True):
                results[delivery_id] = result
                changed.setdefault(site_id, []).extend(result.changed_issue_ids)
        derived: dict[str, int] = {}
        for site_id, issue_ids in changed.items():
            if not issue_ids:
                continue
            if config is None:
                _mark_unconfigured(session, site_id)
            else:
                derived[site_id] = rederive_issues(session, site_id, issue_ids, config)
        pending = [d for d, _s, state, _e in parsed if state == inbox.PENDING]
        pending += [d for d, state, _m in broken if state == inbox.PENDING]
        if pending:  # processed without a claim (embedded mode): count the attempt
            session.execute(
                update(Delivery.__table__)
                .where(Delivery.id.in_(pending))
                .values(attempts=Delivery.attempts + 1)
            )
        finished: dict[tuple[str, str | None], list[int]] = {}
        for delivery_id, _site, _state, extraction in parsed:
            result = results[delivery_id]
            if extraction.has_status_change:
                final, reason = inbox.DONE, None
            else:
                final, reason = inbox.IGNORED, f"no status change in {extraction.event}"
            finished.setdefault((final, reason), []).append(delivery_id)
            outcomes[delivery_id] = DeliveryOutcome(
                delivery_id,
                final,
                inserted=result.inserted,
                duplicates=result.duplicates,
                issue_ids=result.issue_ids,
            )
        for (final, reason), finished_ids in finished.items():
            inbox.mark_many(session, finished_ids, final, reason)
        for delivery_id, _state, message in broken:
            inbox.mark_failed(session, delivery_id, message)
            outcomes[delivery_id] = DeliveryOutcome(delivery_id, inbox.FAILED, error=message)
            log.warning("delivery failed", extra={"delivery_id": delivery_id, "error": message})
        session.commit()
    except Exception as error:
        session.rollback()
        log.warning(
            "batch failed; processing its deliveries one by one",
            extra={"deliveries": len(ids), "error": _error_text(error)},
        )
        return [process_delivery(session, delivery_id, config) for delivery_id in ids]
    return [outcomes[delivery_id] for delivery_id in ids]


def process_pending(
    engine: Engine,
    config: BatonConfig | None,
    limit: int = 200,
    worker_id: str | None = None,
    *,
    worker: str | None = None,
    batch_size: int = DEFAULT_BATCH,
    site_id: str | None = None,
) -> PendingSummary:
    """Claim pending deliveries in batches (`FOR UPDATE SKIP LOCKED` on PostgreSQL) and process them
    (`process_batch`: one transaction and one derivation per batch, falling back to one transaction
    per delivery when the batch fails), until `limit` were handled or none is pending. Safe to run in
    several processes at once. `worker` is an alias of `worker_id`; `batch_size=1` processes every
    delivery in its own transaction."""
    wid = worker_id or worker or default_worker_id()
    claimed = done = ignored = failed = 0
    with Session(bind=engine, expire_on_commit=False) as session:
        while claimed < limit:
            ids = inbox.claim_pending(session, min(batch_size, limit - claimed), wid, site_id=site_id)
            if not ids:
                break
            claimed += len(ids)
            if len(ids) == 1:
                outcomes = [process_delivery(session, ids[0], config)]
            else:
                outcomes = process_batch(session, ids, config)
            for outcome in outcomes:
                if outcome.state == inbox.DONE:
                    done += 1
                elif outcome.state == inbox.IGNORED:
                    ignored += 1
                elif outcome.state == inbox.FAILED:
                    failed += 1
    return PendingSummary(claimed=claimed, done=done, ignored=ignored, failed=failed)


__all__ = [
    "DeliveryOutcome",
    "IngestResult",
    "PendingSummary",
    "RederiveResult",
    "config_fingerprint",
    "ingest_extractions",
    "process_batch",
    "process_delivery",
    "process_pending",
    "rederive_issues",
    "rederive_site",
    "stale_sites",
    "sync_config",
]
