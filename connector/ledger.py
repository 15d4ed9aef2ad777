"""Where the connector keeps its progress: backfill checkpoints, ingested pages, write-back hashes.

`Ledger` is the narrow interface the backfill, reconcile and write-back code needs from storage.
`StoreLedger` implements it on Baton's database (`baton.store.models.SyncCheckpoint`, `WritebackState`, and
`baton.store.pipeline` for the transition log: the same door webhook deliveries go through, so a backfilled
change that a webhook already delivered is stored once). `MemoryLedger` implements it in memory for
contract tests that are about HTTP, not SQL.

A page is committed atomically: its transitions, issue facts, derived requests and the checkpoint that
says "this page is done" go in one transaction, so an interrupted backfill never leaves half a page and
restarts exactly after the last committed one.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Protocol

from baton.scoring.model import Extraction

CHECKPOINT_VERSION = 1


@dataclass(frozen=True)
class Checkpoint:
    """Progress of one backfill scope on one site (serialised as the checkpoint row's JSON cursor)."""

    jql: str = ""
    cursor: str | None = None
    """Cloud: the `nextPageToken` of the next page to fetch; Data Center: its `startAt`."""
    in_progress: bool = False
    processed: int = 0
    """Issues committed so far in the current run."""
    last_ids: tuple[str, ...] = ()
    """Issue ids of the last committed page (Data Center: skip them if `startAt` drifted)."""
    run_started_at: datetime | None = None
    last_synced_at: datetime | None = None
    """Start of the last *completed* run: the next incremental run asks for `updated >= this - overlap`."""

    def to_json(self) -> dict[str, Any]:
        return {
            "version": CHECKPOINT_VERSION,
            "jql": self.jql,
            "cursor": self.cursor,
            "in_progress": self.in_progress,
            "processed": self.processed,
            "last_ids": list(self.last_ids),
            "run_started_at": self.run_started_at.isoformat() if self.run_started_at else None,
            "last_synced_at": self.last_synced_at.isoformat() if self.last_synced_at else None,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> Checkpoint | None:
        if not data:
            return None

        def when(key: str) -> datetime | None:
            value = data.get(key)
            return datetime.fromisoformat(value) if value else None

        return cls(
            jql=str(data.get("jql") or ""),
            cursor=data.get("cursor"),
            in_progress=bool(data.get("in_progress")),
            processed=int(data.get("processed") or 0),
            last_ids=tuple(str(i) for i in data.get("last_ids") or ()),
            run_started_at=when("run_started_at"),
            last_synced_at=when("last_synced_at"),
        )


@dataclass(frozen=True)
class PageResult:
    issues: int
    inserted: int
    """Transitions new to the log (i.e. not already delivered by a webhook or an earlier page)."""
    duplicates: int


class Ledger(Protocol):
    def load_checkpoint(self, site: str, scope: str) -> Checkpoint | None: ...

    def save_checkpoint(self, site: str, scope: str, checkpoint: Checkpoint) -> None: ...

    def commit_page(
        self, site: str, scope: str, extractions: Sequence[Extraction], checkpoint: Checkpoint
    ) -> PageResult: ...

    def writeback_hashes(self, site: str, targets: Iterable[str]) -> dict[str, str]: ...

    def save_writeback_hashes(self, site: str, hashes: Mapping[str, str], at: datetime) -> None: ...


@dataclass
class MemoryLedger:
    """In-memory ledger: a transition log keyed like the real one (site, issue, change id)."""

    checkpoints: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    transitions: dict[tuple[str, str, str], Any] = field(default_factory=dict)
    issues: dict[tuple[str, str], Any] = field(default_factory=dict)
    hashes: dict[tuple[str, str], str] = field(default_factory=dict)
    fail_after_pages: int | None = None
    """Raise after committing this many pages (to simulate an interrupted run)."""
    pages_committed: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def load_checkpoint(self, site: str, scope: str) -> Checkpoint | None:
        return Checkpoint.from_json(self.checkpoints.get((site, scope)))

    def save_checkpoint(self, site: str, scope: str, checkpoint: Checkpoint) -> None:
        self.checkpoints[(site, scope)] = checkpoint.to_json()

    def commit_page(
        self, site: str, scope: str, extractions: Sequence[Extraction], checkpoint: Checkpoint
    ) -> PageResult:
        with self._lock:
            if self.fail_after_pages is not None and self.pages_committed >= self.fail_after_pages:
                raise KeyboardInterrupt("simulated interruption")
            inserted = duplicates = 0
            for extraction in extractions:
                if extraction.issue is not None:
                    self.issues[(site, extraction.issue.issue_id)] = extraction.issue
                for t in extraction.transitions:
                    key = (site, t.issue_id, t.change_id)
                    if key in self.transitions:
                        duplicates += 1
                    else:
                        self.transitions[key] = t
                        inserted += 1
            self.save_checkpoint(site, scope, checkpoint)
            self.pages_committed += 1
            return PageResult(len(extractions), inserted, duplicates)

    def writeback_hashes(self, site: str, targets: Iterable[str]) -> dict[str, str]:
        return {t: self.hashes[(site, t)] for t in targets if (site, t) in self.hashes}

    def save_writeback_hashes(self, site: str, hashes: Mapping[str, str], at: datetime) -> None:
        for target, digest in hashes.items():
            self.hashes[(site, target)] = digest


def advance(checkpoint: Checkpoint, **changes: Any) -> Checkpoint:
    return replace(checkpoint, **changes)
