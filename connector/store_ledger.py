"""`Ledger` on Baton's database: the adapter between the connector and `store/`.

Pages enter the transition log through the function webhook processing shares:
`baton.store.pipeline.ingest_extractions` records the transitions, issue facts and statuses idempotently and
re-derives the touched issues. The page, its derived requests and the checkpoint row commit in one
transaction: an interruption leaves either the whole page or none of it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from baton.config.schema import BatonConfig
from baton.connector.ledger import Checkpoint, PageResult
from baton.scoring.model import Extraction
from baton.store.inbox import ensure_site
from baton.store.models import SyncCheckpoint, WritebackState
from baton.store.pipeline import ingest_extractions


def _upsert(session: Session, model: Any, keys: Mapping[str, Any], values: Mapping[str, Any]) -> None:
    row = session.get(model, tuple(keys.values()))
    if row is None:
        session.add(model(**keys, **values))
    else:
        for k, v in values.items():
            setattr(row, k, v)


def ingest(
    session: Session, site: str, extractions: Sequence[Extraction], config: BatonConfig | None
) -> tuple[int, int, list[str]]:
    """(inserted, duplicates, re-derived issue ids) for a batch of extractions, in the caller's transaction."""
    result = ingest_extractions(session, site, list(extractions), source="backfill", config=config)
    return result.inserted, result.duplicates, list(result.rederived)


class StoreLedger:
    """Checkpoints in `sync_checkpoints`, write-back hashes in `writeback_state`, pages via store/."""

    def __init__(self, engine: Engine, config: BatonConfig | None = None) -> None:
        self.engine = engine
        self.config = config

    def _session(self) -> Session:
        return Session(bind=self.engine, expire_on_commit=False)

    def load_checkpoint(self, site: str, scope: str) -> Checkpoint | None:
        with self._session() as session:
            row = session.get(SyncCheckpoint, (site, scope))
            return Checkpoint.from_json(row.cursor) if row is not None else None

    def _save(self, session: Session, site: str, scope: str, checkpoint: Checkpoint) -> None:
        _upsert(
            session,
            SyncCheckpoint,
            {"site_id": site, "name": scope},
            {"cursor": checkpoint.to_json(), "updated_at": datetime.now(UTC)},
        )

    def save_checkpoint(self, site: str, scope: str, checkpoint: Checkpoint) -> None:
        with self._session() as session, session.begin():
            ensure_site(session, site)
            self._save(session, site, scope, checkpoint)

    def commit_page(
        self, site: str, scope: str, extractions: Sequence[Extraction], checkpoint: Checkpoint
    ) -> PageResult:
        with self._session() as session, session.begin():
            ensure_site(session, site)
            inserted, duplicates, _ = ingest(session, site, extractions, self.config)
            self._save(session, site, scope, checkpoint)
        return PageResult(len(extractions), inserted, duplicates)

    def writeback_hashes(self, site: str, targets: Iterable[str]) -> dict[str, str]:
        wanted = list(targets)
        out: dict[str, str] = {}
        with self._session() as session:
            for start in range(0, len(wanted), 500):
                batch = wanted[start : start + 500]
                rows = session.execute(
                    select(WritebackState.target, WritebackState.content_hash).where(
                        WritebackState.site_id == site, WritebackState.target.in_(batch)
                    )
                )
                out.update({t: h for t, h in rows})
        return out

    def save_writeback_hashes(self, site: str, hashes: Mapping[str, str], at: datetime) -> None:
        with self._session() as session, session.begin():
            ensure_site(session, site)
            for target, digest in hashes.items():
                _upsert(
                    session,
                    WritebackState,
                    {"site_id": site, "target": target},
                    {"content_hash": digest, "written_at": at},
                )
