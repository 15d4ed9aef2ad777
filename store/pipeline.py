"""The one way through the system: delivery -> extraction -> transition log -> derived requests.

    accept_delivery / InboxWriter (store)   raw bytes committed before the 2xx
    process_deliveries                      THE processing path: parse, extract, record, re-derive the
                                            touched issues, mark; one derivation per site
    process_delivery                        the same for one delivery
    process_pending                         claim (SKIP LOCKED) and process_deliveries until drained
    ingest_extractions                      the same recording + re-derive for REST exports/backfill pages
    rederive_issues / rederive_site         recompute requests from the log (config changes)
    sync_config                             re-derive every site whose config fingerprint is stale

Replay (`baton replay`, `baton demo load`), the embedded drainer and `baton worker` all process stored
deliveries with `process_deliveries`, so the three cannot drift apart.

Transactions: `process_deliveries` parses its deliveries holding no lock, records their log in one
transaction, derives their issues' requests (and converts them to rows) holding no write lock, then
stores the requests and marks the deliveries in a second transaction, which reads the version of the
derivation's input (`_LogVersion`: counts and highest ids of the insert-only transitions and verdicts,
the issue facts, the status categories) and re-derives under the lock only a site whose log another
writer changed in between. On SQLite the write lock is the whole database's, so the receivers'
acknowledgements no longer wait for a derivation. A delivery is `done` only once its requests are
stored; one recorded but not finished (a crash between the two) is derived from all the issues it
touches when it is processed again. If
processing fails, each delivery is processed again on its own, so failures stay isolated per delivery
(the culprit's rolled-back work is replaced by its error, committed). `process_pending` opens
its own session. `ingest_extractions`, `rederive_issues` and `rederive_site(commit=False)` only add to
the caller's transaction. Nothing here ever deletes a delivery, a transition or a verdict, nor
changes a stored transition or verdict.

`config` may be None ("store, don't derive"): the log and facts are recorded and the site's
`config_fingerprint` is cleared, so the next `sync_config` with a real config re-derives it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import socket
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from baton.config.schema import BatonConfig
from baton.scoring import engine as scoring_engine
from baton.scoring.model import Extraction, Verdict
from baton.store import inbox
from baton.store.live_config import SiteConfigs, as_site_configs
from baton.store.models import (
    DELIVERY_SOURCES,
    Delivery,
    IssueRow,
    RequestRow,
    Site,
    TransitionRow,
    VerdictRow,
)
from baton.store.requests import (
    RequestValues,
    delete_requests,
    insert_request_values,
    replace_requests,
    rows_for_issues,
)
from baton.store.sqlutil import FileLock, chunks, dialect_name, driver_rows, sqlite_write_lock_path, unique
from baton.store.transitions import (
    issues_frame,
    list_issue_ids,
    load_issue_groups,
    load_issue_rows,
    load_issues_frame,
    load_status_categories,
    load_transition_rows,
    load_transitions_frame,
    record_many,
    transitions_frame,
)
from baton.store.verdicts import load_verdicts

log = logging.getLogger("baton.store.pipeline")

ConfigArg = BatonConfig | SiteConfigs | None
"""One configuration for every site, a per-site resolver (`baton.store.live_config.ConfigResolver`: the
site's applied published version, else the file), or None (store, don't derive)."""

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
    verdicts: Sequence[Verdict] = (),
) -> pd.DataFrame:
    from baton.scoring.engine import derive_requests

    return derive_requests(transitions, issues, config, categories, verdicts)


def lock_issues(session: Session, site_id: str, issue_ids: list[str]) -> None:
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
    """Recompute the derived requests of some issues from their full transition log and their
    verdicts; returns the number of requests stored. Does not commit."""
    ids = unique(str(i) for i in issue_ids)
    if not ids:
        return 0
    lock_issues(session, site_id, ids)
    categories = (
        status_categories if status_categories is not None else load_status_categories(session, site_id)
    )
    transitions = load_transitions_frame(session, site_id, ids)
    issues = load_issues_frame(session, site_id, ids)
    requests = _derive(transitions, issues, config, categories, load_verdicts(session, site_id, ids))
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
    progress: Callable[[int, int], None] | None = None,
) -> RederiveResult:
    """Recompute every derived request of a site (after a config change), `chunk_size` issues per
    engine call, then store the config's fingerprint on the site. With `commit=True` each chunk is
    committed as it is done (for large sites); otherwise the caller commits. `progress(done, total)`
    is called with issue counts after each chunk."""
    categories = load_status_categories(session, site_id)
    issue_ids = list_issue_ids(session, site_id)
    total = 0
    done = 0
    for batch in chunks(issue_ids, chunk_size):
        total += rederive_issues(session, site_id, batch, config, status_categories=categories)
        if commit:
            session.commit()
        done += len(batch)
        if progress is not None:
            progress(done, len(issue_ids))
    fp = config_fingerprint(config)
    session.execute(update(Site).where(Site.id == site_id).values(config_fingerprint=fp))
    if commit:
        session.commit()
    log.info("rederived site", extra={"site": site_id, "issues": len(issue_ids), "requests": total})
    return RederiveResult(issues=len(issue_ids), requests=total, fingerprint=fp)


@dataclass(frozen=True)
class Derivation:
    """Under which configuration a site's stored requests were derived, against the one in hand."""

    site: str
    derived_under: str | None
    """The stored fingerprint: set when a whole site is (re-)derived (`rederive_site`); None before
    that, when the site's requests come only from processing deliveries under the running config."""
    config_fingerprint: str

    @property
    def stale(self) -> bool:
        """Known to be derived under another configuration."""
        return self.derived_under is not None and self.derived_under != self.config_fingerprint

    def as_dict(self) -> dict[str, Any]:
        return {
            "config_fingerprint": self.config_fingerprint,
            "derived_under": self.derived_under,
            "stale": self.stale,
        }


def derivation_of(session: Session, site_id: str, config: BatonConfig) -> Derivation:
    """The site's stored derivation fingerprint beside `config`'s (read commands and the API say when
    their numbers were derived under another configuration)."""
    stored = session.execute(select(Site.config_fingerprint).where(Site.id == site_id)).scalar_one_or_none()
    return Derivation(site_id, stored, config_fingerprint(config))


def unmatched_report(
    session: Session,
    site_id: str,
    config: BatonConfig,
    issue_ids: Iterable[str] | None = None,
    *,
    examples: bool = True,
) -> pd.DataFrame:
    """The site's stored issues (or those of `issue_ids`) that match no process, per project and issue
    type (`baton.scoring.engine.unmatched_issues`). `examples=False` counts in the database and gives
    no example keys (for /metrics and one-line warnings)."""
    if not examples and issue_ids is None:
        return scoring_engine.unmatched_issues(load_issue_groups(session, site_id), config)
    return scoring_engine.unmatched_issues(load_issues_frame(session, site_id, issue_ids), config)


def _log_progress(site_id: str) -> Callable[[int, int], None]:
    """A `rederive_site` progress callback that logs every chunk (a service re-deriving on start says
    how far it is)."""

    def report(done: int, total: int) -> None:
        log.info("re-deriving site", extra={"site": site_id, "issues_done": done, "issues": total})

    return report


def stale_sites(session: Session, config: ConfigArg) -> list[str]:
    """Sites whose stored requests were not derived with their configuration (one for all, or each
    site's own from a resolver)."""
    if config is None or isinstance(config, BatonConfig):
        if config is None:
            return []
        fp = config_fingerprint(config)
        stmt = select(Site.id).where((Site.config_fingerprint.is_(None)) | (Site.config_fingerprint != fp))
        return list(session.execute(stmt.order_by(Site.id)).scalars())
    stale: list[str] = []
    for site_id, stored in session.execute(select(Site.id, Site.config_fingerprint).order_by(Site.id)).all():
        site_config = config.for_site(session, site_id)
        if site_config is not None and stored != config_fingerprint(site_config):
            stale.append(site_id)
    return stale


def sync_config(
    session: Session, config: ConfigArg, site_ids: Iterable[str] | None = None, *, commit: bool = True
) -> list[str]:
    """Re-derive every site (or the given ones) whose `config_fingerprint` differs from its configuration
    (`config`, or what a resolver gives for the site). Returns the sites re-derived. Call it when a
    service or worker starts. With `commit=True` each site is re-derived into staging and swapped in
    one transaction (`baton.store.rederive.rederive_staged`): readers never see it half done."""
    from baton.store.rederive import rederive_staged

    wanted = set(site_ids) if site_ids is not None else None
    configs = as_site_configs(config)
    done: list[str] = []
    for site_id in stale_sites(session, config):
        if wanted is not None and site_id not in wanted:
            continue
        site_config = configs.for_site(session, site_id)
        if site_config is None:
            continue
        log.info(
            "re-deriving site: its requests were derived under another configuration", extra={"site": site_id}
        )
        if commit:
            rederive_staged(session, site_id, site_config, progress=_log_progress(site_id))
        else:
            rederive_site(session, site_id, site_config, commit=False, progress=_log_progress(site_id))
        done.append(site_id)
    return done


def _mark_unconfigured(session: Session, site_id: str) -> None:
    session.execute(update(Site).where(Site.id == site_id).values(config_fingerprint=None))


def _record_and_derive(
    session: Session,
    site_id: str,
    extractions: Iterable[Extraction],
    config: ConfigArg,
    delivery_id: int | None,
) -> IngestResult:
    from baton.store.rederive import lock_site_shared

    inserted = duplicates = 0
    issue_ids: list[str] = []
    changed: list[str] = []
    # Before the first insert: a staged re-derivation reads its watermark under the exclusive lock,
    # so no transition of ours can commit below it unseen (store/rederive.py).
    lock_site_shared(session, site_id)
    for batch in chunks(extractions, 200):
        for result in record_many(session, site_id, [(extraction, delivery_id) for extraction in batch]):
            inserted += result.inserted
            duplicates += result.duplicates
            issue_ids.extend(result.issue_ids)
            changed.extend(result.changed_issue_ids)
    changed = unique(changed)
    requests = 0
    if changed:
        site_config = as_site_configs(config).for_site(session, site_id)
        if site_config is None:
            _mark_unconfigured(session, site_id)
        else:
            requests = rederive_issues(session, site_id, changed, site_config)
    return IngestResult(inserted, duplicates, tuple(unique(issue_ids)), tuple(changed), requests)


def ingest_extractions(
    session: Session,
    site_id: str,
    extractions: Iterable[Extraction],
    source: str = "backfill",
    config: ConfigArg = None,
) -> IngestResult:
    """Record extractions that did not arrive as one webhook delivery (replay files, backfill pages)
    and re-derive the issues they changed, exactly as `process_deliveries` does. Creates the site if
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


def _parse(body: bytes) -> Extraction:
    from baton.scoring.extract import extract_payload

    payload: Any = json.loads(bytes(body).decode("utf-8"))
    return extract_payload(payload)


def _primary_issue(extraction: Extraction) -> str:
    if extraction.issue is not None:
        return extraction.issue.issue_id
    return extraction.transitions[0].issue_id if extraction.transitions else ""


def process_delivery(session: Session, delivery_id: int, config: ConfigArg) -> DeliveryOutcome:
    """`process_deliveries` for one delivery (its own transaction; COMMITS)."""
    return process_deliveries(session, [delivery_id], config)[0]


def process_deliveries(
    session: Session,
    delivery_ids: Iterable[int],
    config: ConfigArg,
    *,
    derive_touched: bool = False,
) -> list[DeliveryOutcome]:
    """THE processing path (replay, the embedded drainer and `baton worker` all come through here):
    extract -> record -> re-derive -> mark, for stored deliveries, with one derivation per site over
    every issue they changed (the module's docstring has the two transactions); COMMITS. Outcomes come
    back in id order. `derive_touched` derives every issue a delivery mentions, changed or not.

    Each delivery's body is parsed and extracted (`baton.scoring.extract.extract_payload`); its
    transitions, issue facts and statuses are recorded; the touched issues are re-derived; it is
    marked `done` (`ignored` when the event has no status change; its issue facts are still recorded).
    A delivery that cannot be parsed or extracted is marked `failed` with its error while the others go
    through. If the batch itself fails, it is rolled back and every delivery is processed
    again in a transaction of its own, so only the culprit is marked `failed` (with the error text).
    Deliveries already `done`/`ignored` or `quarantined` are left as they are (run
    `baton.store.inbox.retry` first to reprocess one). A `pending` delivery (processed without a claim,
    as replay does) has its attempt counted here; a claimed one was counted by `claim_pending`."""
    ids = sorted({int(i) for i in delivery_ids})
    if not ids:
        return []
    session.rollback()  # start from a clean transaction: nothing of the caller's is half-done here
    rows = session.execute(
        select(
            Delivery.id, Delivery.site_id, Delivery.state, Delivery.body, Delivery.event, Delivery.attempts
        )
        .where(Delivery.id.in_(ids))
        .order_by(Delivery.id)
    ).all()
    if len(rows) != len(ids):
        missing = sorted(set(ids) - {row[0] for row in rows})
        raise LookupError(f"no delivery {', '.join(map(str, missing))}")
    recorded_committed = False  # with the log, an unclaimed delivery's attempt was counted
    write_turn = _write_turn(session)
    try:
        batch = _parse_batch(rows, derive_touched)
        with write_turn:
            recorded = _record(session, batch, as_site_configs(config))
            session.commit()  # the log is durable; the deliveries stay unfinished until their requests are
        recorded_committed = True
        derived = _derive_outside_the_write_lock(session, recorded)
        with write_turn:
            outcomes = _finish(session, recorded, derived)
            session.commit()
    except Exception as error:
        session.rollback()
        if len(ids) == 1:
            return [_record_failure(session, rows[0], error, attempt_counted=recorded_committed)]
        log.warning(
            "batch failed; processing its deliveries one by one",
            extra={"deliveries": len(ids), "error": _error_text(error)},
        )
        # The batch's log may be recorded already (the failure came after its commit): derive every
        # issue a delivery touches, not only those whose log changes now.
        return [
            process_deliveries(session, [delivery_id], config, derive_touched=True)[0] for delivery_id in ids
        ]
    return [outcomes[delivery_id] for delivery_id in ids]


_WRITE_TURNS: dict[tuple[int, str], FileLock] = {}


def _write_turn(session: Session) -> FileLock:
    """SQLite: the receivers' write turn (`baton.store.sqlutil.sqlite_write_lock_path`), so an
    acknowledgement queued behind processing is woken the moment a transaction ends instead of in
    SQLite's busy handler's next 1-100 ms sleep. Its own descriptor per process, so it also excludes
    the receivers' threads of this process. A no-op elsewhere."""
    path = sqlite_write_lock_path(session.get_bind()) if dialect_name(session) == "sqlite" else None
    if path is None:
        return FileLock(None)
    key = (os.getpid(), path)
    turn = _WRITE_TURNS.get(key)
    if turn is None:  # setdefault: threads asking at once get the same lock, not one descriptor each
        turn = _WRITE_TURNS.setdefault(key, FileLock(path))
    return turn


@dataclass
class _Parsed:
    """A batch's bodies parsed and extracted, before any lock is taken (pure CPU work)."""

    rows: Sequence[Any]
    parsed: list[tuple[int, str, str, str | None, Extraction]]
    broken: list[tuple[int, str, str]]
    retried: set[int]
    outcomes: dict[int, DeliveryOutcome]
    """Deliveries already finished before this batch, left as they are."""


@dataclass
class _Recorded:
    """What `_record` did to a batch: the input of derivation and of the final marks."""

    batch: _Parsed
    results: dict[int, Any]
    to_derive: dict[str, list[str]]
    """Per site, the issues whose requests must be derived again."""
    configs: dict[str, BatonConfig]
    """Per site in `to_derive`, the configuration its requests are derived under."""
    resolver: SiteConfigs


def _attempted_before(state: str, attempts: int) -> bool:
    """A claim counts its attempt (`claim_pending`), an unclaimed delivery counts it when recorded."""
    return attempts > (1 if state == inbox.PROCESSING else 0)


def _parse_batch(rows: Sequence[Any], derive_touched: bool) -> _Parsed:
    outcomes: dict[int, DeliveryOutcome] = {}
    parsed: list[tuple[int, str, str, str | None, Extraction]] = []
    broken: list[tuple[int, str, str]] = []
    retried: set[int] = set()
    for delivery_id, site_id, state, body, event, attempts in rows:
        if state in (inbox.DONE, inbox.IGNORED, inbox.QUARANTINED):
            outcomes[delivery_id] = DeliveryOutcome(delivery_id, state)
            continue
        if derive_touched or _attempted_before(state, attempts):
            retried.add(delivery_id)
        try:
            parsed.append((delivery_id, site_id, state, event, _parse(body)))
        except Exception as error:
            broken.append((delivery_id, state, _error_text(error)))
    return _Parsed(rows, parsed, broken, retried, outcomes)


def _record(session: Session, batch: _Parsed, configs: SiteConfigs) -> _Recorded:
    """Transaction 1 of `process_deliveries`: record the log and the facts, count attempts.
    Does not commit. Marks nothing `done`: a delivery is finished only with its requests. A site's
    configuration is picked after its transitions are recorded, with the site's re-derivation lock
    held shared (`baton.store.rederive.lock_site_shared`) from before the first insert."""
    from baton.store.rederive import lock_site_shared

    parsed, broken, retried = batch.parsed, batch.broken, batch.retried
    # A stable order (site, issue) keeps concurrent workers from locking the same rows crosswise.
    parsed.sort(key=lambda item: (item[1], _primary_issue(item[4]), item[0]))
    by_site: dict[str, list[tuple[int, Extraction]]] = {}
    for delivery_id, site_id, _state, _event, extraction in parsed:
        by_site.setdefault(site_id, []).append((delivery_id, extraction))
    results: dict[int, Any] = {}
    to_derive: dict[str, list[str]] = {}
    site_configs: dict[str, BatonConfig] = {}
    for site_id, items in by_site.items():
        # Before the first insert: a staged re-derivation reads its watermark under the exclusive
        # lock, so no transition of ours can commit below it unseen (store/rederive.py).
        lock_site_shared(session, site_id)
        recorded = record_many(
            session, site_id, [(extraction, delivery_id) for delivery_id, extraction in items]
        )
        issues: list[str] = []
        for (delivery_id, _extraction), result in zip(items, recorded, strict=True):
            results[delivery_id] = result
            issues.extend(result.changed_issue_ids)
            if delivery_id in retried:
                # A previous attempt may have recorded this log and stopped before deriving from it:
                # its transitions are duplicates now, so derive every issue it touched.
                issues.extend(result.issue_ids)
        if issues:
            site_config = configs.for_site(session, site_id)
            if site_config is None:
                _mark_unconfigured(session, site_id)
            else:
                to_derive[site_id] = unique(issues)
                site_configs[site_id] = site_config
    unclaimed = [d for d, _site, state, _event, _e in parsed if state == inbox.PENDING]
    unclaimed += [d for d, state, _m in broken if state == inbox.PENDING]
    _count_unclaimed_attempts(session, unclaimed)
    return _Recorded(batch, results, to_derive, site_configs, configs)


@dataclass(frozen=True)
class _LogVersion:
    """What `_finish` reads under the write lock to tell whether another writer changed the log a
    derivation read. Transitions and verdicts are only ever inserted (module docstring), so the
    number and the highest id of those of the issues say whether any were added: two aggregate rows,
    where reading the transitions again was most of the time the write turn was held. Issue facts
    (one row per issue, updated in place) and status categories (a few per site) are compared whole."""

    transitions: tuple[int, int | None]
    verdicts: tuple[int, int | None]
    issue_rows: list[tuple[object, ...]]
    categories: dict[str, str]


@dataclass(frozen=True)
class _LogSnapshot:
    """Everything a derivation of some issues reads, as the driver returned it, with the `_LogVersion`
    read before it (so a change committed while it was read shows as a newer version, never as an
    older log under the same version)."""

    version: _LogVersion
    transition_rows: list[tuple[object, ...]]
    verdicts: list[Verdict]

    def derive(self, config: BatonConfig) -> pd.DataFrame:
        return _derive(
            transitions_frame(self.transition_rows),
            issues_frame(self.version.issue_rows),
            config,
            self.version.categories,
            self.verdicts,
        )


def _inserted(session: Session, table: str, site_id: str, issue_ids: list[str]) -> tuple[int, int | None]:
    """(rows, highest id) of an insert-only table's rows of some issues of a site."""
    count, highest = 0, None
    for batch in chunks(issue_ids):
        marks = ", ".join("?" for _ in batch)
        rows = driver_rows(
            session,
            f"SELECT count(*), max(id) FROM {table} WHERE site_id = ? AND issue_id IN ({marks})",
            (site_id, *batch),
        )
        n, top = rows[0]
        count += int(n)
        if top is not None and (highest is None or int(top) > highest):
            highest = int(top)
    return count, highest


def _log_version(session: Session, site_id: str, issue_ids: list[str]) -> _LogVersion:
    return _LogVersion(
        _inserted(session, TransitionRow.__tablename__, site_id, issue_ids),
        _inserted(session, VerdictRow.__tablename__, site_id, issue_ids),
        load_issue_rows(session, site_id, issue_ids),
        dict(load_status_categories(session, site_id)),
    )


def _snapshot(session: Session, site_id: str, issue_ids: list[str]) -> _LogSnapshot:
    version = _log_version(session, site_id, issue_ids)  # first: see `_LogSnapshot`
    return _LogSnapshot(
        version,
        load_transition_rows(session, site_id, issue_ids),
        load_verdicts(session, site_id, issue_ids),
    )


@dataclass(frozen=True)
class _Derived:
    """A site's derivation in `_derive_outside_the_write_lock`: what it read and the rows to store."""

    snapshot: _LogSnapshot
    rows: RequestValues


def _derive_outside_the_write_lock(session: Session, recorded: _Recorded) -> dict[str, _Derived]:
    """Read the logs, derive and convert the requests to rows, holding no write lock: on SQLite one
    writer at a time holds the whole database, and the receivers' acknowledgements wait behind it
    (bench/README.md, "Capacity")."""
    derived: dict[str, _Derived] = {}
    for site_id, issue_ids in recorded.to_derive.items():
        snapshot = _snapshot(session, site_id, issue_ids)
        frame = snapshot.derive(recorded.configs[site_id])
        rows = rows_for_issues(site_id, issue_ids, frame, sqlite=dialect_name(session) == "sqlite")
        derived[site_id] = _Derived(snapshot, rows)
    session.commit()  # end the read transaction (PostgreSQL): the write transaction starts afresh
    return derived


def _finish(
    session: Session, recorded: _Recorded, derived: dict[str, _Derived]
) -> dict[int, DeliveryOutcome]:
    """Transaction 2 of `process_deliveries`: store the derived requests and mark the deliveries, in
    one transaction, so a delivery is `done` only once its requests are. If another writer changed
    an issue's log since it was read, or an atomic re-derivation switched the site to another
    configuration, that site is derived again here, under the locks. No commit."""
    from baton.store.rederive import lock_site_shared

    outcomes = dict(recorded.batch.outcomes)
    finished: dict[tuple[str, str | None], list[int]] = {}
    requests_per_site: dict[str, int] = {}
    for site_id, derivation in derived.items():
        issue_ids = recorded.to_derive[site_id]
        rows = derivation.rows
        lock_site_shared(session, site_id)  # PostgreSQL: not while the site's numbers are swapped
        lock_issues(session, site_id, issue_ids)  # PostgreSQL: row locks in a fixed order
        delete_requests(session, site_id, issue_ids)  # SQLite: the first write takes the write lock
        config = recorded.resolver.for_site(session, site_id)
        if config is None:
            _mark_unconfigured(session, site_id)
            continue
        used = recorded.configs[site_id]
        same_config = config is used or config_fingerprint(config) == config_fingerprint(used)
        if not (same_config and _log_version(session, site_id, issue_ids) == derivation.snapshot.version):
            current = _snapshot(session, site_id, issue_ids)
            rows = rows_for_issues(
                site_id, issue_ids, current.derive(config), sqlite=dialect_name(session) == "sqlite"
            )
        # their old requests were deleted above
        requests_per_site[site_id] = insert_request_values(session, RequestRow.__tablename__, rows)
    for delivery_id, _site_id, _state, event, extraction in recorded.batch.parsed:
        result = recorded.results[delivery_id]
        if extraction.has_status_change:
            final, reason = inbox.DONE, None
        else:
            final, reason = inbox.IGNORED, f"no status change in {extraction.event or event}"
        finished.setdefault((final, reason), []).append(delivery_id)
        outcomes[delivery_id] = DeliveryOutcome(
            delivery_id,
            final,
            inserted=result.inserted,
            duplicates=result.duplicates,
            issue_ids=result.issue_ids,
            # the requests of a whole site's derivation: exact for a batch of one delivery
            requests=requests_per_site.get(_site_id, 0) if len(recorded.batch.rows) == 1 else 0,
        )
    for (final, reason), finished_ids in finished.items():
        inbox.mark_many(session, finished_ids, final, reason)
    for delivery_id, _state, message in recorded.batch.broken:
        inbox.mark_failed(session, delivery_id, message)
        outcomes[delivery_id] = DeliveryOutcome(delivery_id, inbox.FAILED, error=message)
        log.warning("delivery failed", extra={"delivery_id": delivery_id, "error": message})
    return outcomes


def _count_unclaimed_attempts(session: Session, delivery_ids: list[int]) -> None:
    """Deliveries processed without a claim (still `pending`: replay, direct calls) count their
    attempt here; `claim_pending` counted the attempt of a claimed one."""
    if delivery_ids:
        session.execute(
            update(Delivery.__table__)
            .where(Delivery.id.in_(delivery_ids))
            .values(attempts=Delivery.attempts + 1)
        )


def _record_failure(
    session: Session, row: Any, error: Exception, *, attempt_counted: bool = False
) -> DeliveryOutcome:
    """Mark one delivery `failed` with `error` after its transaction was rolled back; COMMITS."""
    delivery_id, site_id, state, _body, _event, _attempts = row
    message = _error_text(error)
    log.warning("delivery failed", extra={"delivery_id": delivery_id, "site": site_id, "error": message})
    if state == inbox.PENDING and not attempt_counted:  # the rolled-back attempt still counts
        _count_unclaimed_attempts(session, [delivery_id])
    inbox.mark_failed(session, delivery_id, message)
    session.commit()
    return DeliveryOutcome(delivery_id, inbox.FAILED, error=message)


def process_pending(
    engine: Engine,
    config: ConfigArg,
    limit: int = 200,
    worker_id: str | None = None,
    *,
    worker: str | None = None,
    batch_size: int = DEFAULT_BATCH,
    site_id: str | None = None,
    batch_bytes: int = inbox.DEFAULT_BATCH_BYTES,
) -> PendingSummary:
    """Claim pending deliveries in batches (`FOR UPDATE SKIP LOCKED` on PostgreSQL) and process them
    (`process_deliveries`: one transaction and one derivation per batch, falling back to one
    transaction per delivery when the batch fails), until `limit` were handled or none is pending. Safe to run in
    several processes at once. `worker` is an alias of `worker_id`; `batch_size=1` processes every
    delivery in its own transaction. A batch also stops before the delivery whose body would take it
    past `batch_bytes` (a batch is loaded and parsed at once: this bounds the worker's memory)."""
    wid = worker_id or worker or default_worker_id()
    claimed = done = ignored = failed = 0
    with Session(bind=engine, expire_on_commit=False) as session:
        write_turn = _write_turn(session)
        while claimed < limit:
            # An idle poll only reads. A claim writes, so on SQLite it takes the receivers' write turn:
            # a receiver finding the database locked would sleep in SQLite's busy handler instead.
            if not inbox.claimable(session, site_id=site_id):
                break
            with write_turn:
                ids = inbox.claim_pending(
                    session, min(batch_size, limit - claimed), wid, site_id=site_id, max_bytes=batch_bytes
                )
            if not ids:
                break
            claimed += len(ids)
            for outcome in process_deliveries(session, ids, config):
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
    "process_deliveries",
    "process_delivery",
    "process_pending",
    "rederive_issues",
    "rederive_site",
    "stale_sites",
    "sync_config",
]
