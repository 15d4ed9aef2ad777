"""Re-deriving a whole site without anyone seeing it half done (issue 15).

`rederive_staged` derives the site's history a chunk of issues at a time (`baton.store.chunked`) into
`requests_staging`, committing each chunk, so memory and transactions stay small whatever the size of
the site. Then `_swap` does, in ONE transaction:

1. take the site's re-derivation lock (PostgreSQL: an exclusive transaction advisory lock; the
   processing path takes it shared before it picks the configuration, `lock_site_shared`; SQLite
   serialises writers anyway);
2. re-derive into staging the issues that got new transitions or new verdicts while the chunks ran
   (their transition or verdict ids are above the watermarks read at the start);
3. replace the site's rows in `requests` by the staged ones (`DELETE` + `INSERT ... SELECT`), empty the
   staging rows, and record the configuration's fingerprint and version on the site.

The watermarks are read holding the same lock exclusively, so every writer that holds it shared (the
processing path, and `baton.store.verdicts.record_verdict` from before it inserts its verdict) has
committed or rolled back by then: no verdict with an id at or below the watermark can still commit
after the chunks read the log. A verdict recorded while the chunks run re-derives its issue into
`requests` (which the swap replaces) but not into staging; the catch-up is what keeps it.

Readers see the old numbers until that commit and the new ones after it, on SQLite (WAL snapshots) and
PostgreSQL (MVCC) alike.

`apply_pending` is what a worker and the embedded drainer call in their loop: it claims each site
whose newest published version is `pending` (one claimant per site: a conditional UPDATE), applies it
with `rederive_staged`, and records progress (`baton.store.config_versions.rederive_status`) and the
log lines `re-deriving site` / `configuration version applied`.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pandas as pd
from sqlalchemy import ColumnElement, Engine, delete, func, insert, select, text, update
from sqlalchemy.orm import Session

from baton.config import fingerprint
from baton.config.schema import BatonConfig
from baton.scoring import engine as scoring_engine
from baton.scoring.model import REQUEST_COLUMNS
from baton.store import config_versions
from baton.store.chunked import DEFAULT_CHUNK, issue_chunks
from baton.store.live_config import ConfigResolver
from baton.store.models import (
    IssueRow,
    RequestRow,
    Site,
    SiteConfigState,
    StagedRequestRow,
    TransitionRow,
    VerdictRow,
)
from baton.store.requests import insert_requests
from baton.store.sqlutil import chunks, dialect_name
from baton.store.transitions import load_issues_frame, load_status_categories, load_transitions_frame
from baton.store.verdicts import load_verdicts

log = logging.getLogger("baton.store.rederive")

STALE_CLAIM = timedelta(minutes=10)
"""A `running` re-derivation whose progress has not moved for this long is taken over (its worker died)."""

Progress = Callable[[int, int], None]


def _lock_key(site: str) -> int:
    """A stable signed 64-bit advisory-lock key per site."""
    return int.from_bytes(hashlib.sha256(f"baton-rederive:{site}".encode()).digest()[:8], "big", signed=True)


def lock_site_shared(session: Session, site: str) -> None:
    """Processing a site's deliveries: wait while its numbers are being swapped (PostgreSQL; SQLite
    serialises writers). Held until the transaction ends."""
    if dialect_name(session) == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock_shared(:k)"), {"k": _lock_key(site)})


def _lock_site_exclusive(session: Session, site: str) -> None:
    if dialect_name(session) == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _lock_key(site)})


def _stage(session: Session, site: str, frame: pd.DataFrame) -> int:
    """The chunk's requests into staging, in bulk (`baton.store.requests.insert_requests`)."""
    return insert_requests(session, StagedRequestRow.__tablename__, site, frame)


@dataclass(frozen=True, slots=True)
class _Watermark:
    """The highest transition and verdict ids of a site when a re-derivation starts."""

    transition: int
    verdict: int


def _watermark(session: Session, site: str) -> _Watermark:
    transition = select(func.max(TransitionRow.id)).where(TransitionRow.site_id == site)
    verdict = select(func.max(VerdictRow.id)).where(VerdictRow.site_id == site)
    return _Watermark(
        int(session.execute(transition).scalar_one_or_none() or 0),
        int(session.execute(verdict).scalar_one_or_none() or 0),
    )


def _late_issues(session: Session, site: str, watermark: _Watermark) -> list[str]:
    """Issues with a transition or a verdict recorded after `watermark` was read, sorted."""
    transitions = session.execute(
        select(TransitionRow.issue_id).where(
            TransitionRow.site_id == site, TransitionRow.id > watermark.transition
        )
    ).scalars()
    verdicts = session.execute(
        select(VerdictRow.issue_id).where(VerdictRow.site_id == site, VerdictRow.id > watermark.verdict)
    ).scalars()
    return sorted({str(i) for i in (*transitions, *verdicts)})


def _count_issues(session: Session, site: str) -> int:
    return int(session.execute(select(func.count()).where(IssueRow.site_id == site)).scalar_one())


def _swap(
    session: Session, site: str, config: BatonConfig, watermark: _Watermark, categories: dict[str, str]
) -> int:
    """Step 2 and 3 of the module docstring; does not commit. Returns the issues caught up."""
    _lock_site_exclusive(session, site)
    late = _late_issues(session, site, watermark)
    for batch in chunks(late, 500):
        session.execute(
            delete(StagedRequestRow).where(
                StagedRequestRow.site_id == site, StagedRequestRow.issue_id.in_(batch)
            ),
            execution_options={"synchronize_session": False},
        )
        frame = scoring_engine.derive_requests(
            load_transitions_frame(session, site, batch),
            load_issues_frame(session, site, batch),
            config,
            categories,
            load_verdicts(session, site, batch),
        )
        _stage(session, site, frame)
    columns = ["site_id", *REQUEST_COLUMNS]
    session.execute(
        delete(RequestRow).where(RequestRow.site_id == site), execution_options={"synchronize_session": False}
    )
    staged = StagedRequestRow.__table__
    session.execute(
        insert(RequestRow.__table__).from_select(
            columns, select(*(staged.c[c] for c in columns)).where(staged.c.site_id == site)
        )
    )
    session.execute(
        delete(StagedRequestRow).where(StagedRequestRow.site_id == site),
        execution_options={"synchronize_session": False},
    )
    session.execute(update(Site).where(Site.id == site).values(config_fingerprint=fingerprint(config)))
    return len(late)


def rederive_staged(
    session: Session,
    site: str,
    config: BatonConfig,
    *,
    chunk_size: int = DEFAULT_CHUNK,
    progress: Progress | None = None,
    before_swap: Callable[[Session], None] | None = None,
) -> tuple[int, int]:
    """Re-derive every request of `site` under `config` and swap them in atomically (module docstring).
    COMMITS (per chunk into staging, once for the swap). `progress(done, total)` counts issues;
    `before_swap(session)` runs inside the swap's transaction (the caller records the version there).
    Returns (issues, requests)."""
    session.rollback()
    _lock_site_exclusive(session, site)  # writers in flight finish first (module docstring)
    session.execute(
        delete(StagedRequestRow).where(StagedRequestRow.site_id == site),
        execution_options={"synchronize_session": False},
    )
    watermark = _watermark(session, site)
    total = _count_issues(session, site)
    categories = load_status_categories(session, site)
    session.commit()
    done = 0
    for chunk in issue_chunks(session, site, chunk_size):
        frame = scoring_engine.derive_requests(
            chunk.transitions, chunk.issues, config, categories, chunk.verdicts
        )
        _stage(session, site, frame)
        done += len(chunk.issue_ids)
        session.commit()
        if progress is not None:
            progress(done, max(total, done))
    caught_up = _swap(session, site, config, watermark, categories)
    if before_swap is not None:
        before_swap(session)
    requests = int(session.execute(select(func.count()).where(RequestRow.site_id == site)).scalar_one())
    session.commit()
    log.info(
        "rederived site atomically",
        extra={"site": site, "issues": done, "requests": requests, "caught_up": caught_up},
    )
    return done, requests


def _claim(session: Session, site: str, number: int, worker: str, now: datetime) -> bool:
    stale = now - STALE_CLAIM
    result = session.execute(
        update(SiteConfigState)
        .where(
            SiteConfigState.site_id == site,
            SiteConfigState.target_version == number,
            (SiteConfigState.state == config_versions.PENDING)
            | ((SiteConfigState.state == config_versions.RUNNING) & (SiteConfigState.updated_at < stale)),
        )
        .values(state=config_versions.RUNNING, claimed_by=worker, updated_at=now, error=None)
    )
    session.commit()
    return int(getattr(result, "rowcount", 0) or 0) == 1


def _while_target(site: str, number: int) -> ColumnElement[bool]:
    """Rows of the site's state whose target is still `number` (a newer publish takes the row over)."""
    return (SiteConfigState.site_id == site) & (SiteConfigState.target_version == number)


def apply_version(
    session: Session,
    site: str,
    number: int,
    resolver: ConfigResolver,
    *,
    chunk_size: int = DEFAULT_CHUNK,
    progress: Progress | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> tuple[int, int]:
    """Re-derive `site` under its published version `number` and make it the applied one (atomically).
    The caller has claimed it (`apply_pending`) or runs it by hand (`baton rederive`). COMMITS."""
    config = resolver.version_config(session, site, number)
    where = _while_target(site, number)

    def report(done: int, total: int) -> None:
        session.execute(
            update(SiteConfigState)
            .where(where)
            .values(done_issues=done, total_issues=total, updated_at=clock())
        )
        log.info(
            "re-deriving site",
            extra={"site": site, "version": number, "issues_done": done, "issues": total},
        )
        if progress is not None:
            progress(done, total)

    def record(swap_session: Session) -> None:
        state = swap_session.get(SiteConfigState, site, populate_existing=True)
        if state is None:
            state = SiteConfigState(site_id=site, target_version=number, done_issues=0, total_issues=0)
            swap_session.add(state)
        state.applied_version = number
        if state.target_version in (None, number):
            state.target_version = number
            state.state = config_versions.DONE
            state.error = None
        state.updated_at = clock()

    session.execute(
        update(SiteConfigState)
        .where(where)
        .values(done_issues=0, total_issues=_count_issues(session, site), updated_at=clock())
    )
    session.commit()
    try:
        issues, requests = rederive_staged(
            session, site, config, chunk_size=chunk_size, progress=report, before_swap=record
        )
    except Exception as error:
        session.rollback()
        message = f"{type(error).__name__}: {error}"[:2000]
        session.execute(
            update(SiteConfigState)
            .where(where)
            .values(state=config_versions.FAILED, error=message, updated_at=clock())
        )
        session.commit()
        log.exception("applying a configuration version failed", extra={"site": site, "version": number})
        raise
    log.info(
        "configuration version applied",
        extra={"site": site, "version": number, "issues": issues, "requests": requests},
    )
    return issues, requests


def apply_pending(
    engine: Engine,
    resolver: ConfigResolver,
    *,
    worker: str = "worker",
    chunk_size: int = DEFAULT_CHUNK,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> list[tuple[str, int]]:
    """Apply every site's pending published version (nothing when the configuration is code). Returns
    the (site, version) pairs applied; a failing site is marked `failed` and the others go on."""
    if resolver.as_code:
        return []
    applied: list[tuple[str, int]] = []
    with Session(engine, expire_on_commit=False) as session:
        now = clock()
        candidates = session.execute(
            select(SiteConfigState.site_id, SiteConfigState.target_version)
            .where(
                SiteConfigState.target_version.is_not(None),
                (SiteConfigState.state == config_versions.PENDING)
                | (
                    (SiteConfigState.state == config_versions.RUNNING)
                    & (SiteConfigState.updated_at < now - STALE_CLAIM)
                ),
            )
            .order_by(SiteConfigState.site_id)
        ).all()
        session.commit()
        for site, number in candidates:
            if number is None or not _claim(session, site, int(number), worker, clock()):
                continue
            try:
                apply_version(session, site, int(number), resolver, chunk_size=chunk_size, clock=clock)
            except Exception:  # recorded as failed; the next site still gets its turn
                continue
            applied.append((site, int(number)))
    return applied


__all__ = ["apply_pending", "apply_version", "lock_site_shared", "rederive_staged"]
