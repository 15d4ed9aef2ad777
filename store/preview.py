"""`run_preview`: what a draft configuration would do to a site's numbers, on its stored log (issue 15).

Nothing is written. The site is read a chunk of issues at a time (`baton.store.chunked.issue_chunks`), and
`baton.scoring.engine.derivation_plan` says which processes the draft changes: the requests of a process
it leaves alone are the same under both (`carried_requests`: goals looked up again where only goals
differ), and only the issues of the other processes need deriving under the draft.

- When the site's stored requests were derived under the live configuration (`sites.config_fingerprint`
  is its fingerprint: `stored_under`), the requests of the processes the draft leaves alone are read as
  they are stored (what `baton score` prints), and only the other issues' transitions are read and
  derived, under both configurations.
- Otherwise (or when the draft changes calendars, teams or which process an issue is in) the chunk's
  whole log is read and derived under the live configuration, and the changed issues under the draft.

Both sides go to the pure `baton.scoring.engine.preview_accumulator`, which compares only the derived
issues. The site's issues are cut into runs (`baton.store.chunked.split_ids`), one per process
(`preview_workers`: one per core): each run is accumulated in a child process on a connection of its
own (`baton.store.forked.run_forked`) and the accumulators are merged in issue order. The `after` rows
are what `baton score --by process` prints once the draft is published and applied
(tests/integration/store/test_config_versions.py checks it, both ways). Shape the result for the CLI
and the API with `baton.webhooks.serialize.preview_record`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Literal

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from baton.config import fingerprint
from baton.config.schema import BatonConfig
from baton.scoring import engine
from baton.scoring.preview import Preview, PreviewAccumulator
from baton.store.chunked import DEFAULT_CHUNK, IssueChunk, issue_chunks, split_ids, transitions_of
from baton.store.db import create_engine_for
from baton.store.forked import run_forked, start_method, usable_cores
from baton.store.models import Site
from baton.store.requests import load_requests_between
from baton.store.sqlutil import dialect_name, driver_rows
from baton.store.transitions import load_status_categories

log = logging.getLogger("baton.store.preview")

MAX_WORKERS = 8
"""At most this many processes per preview, however many cores: past it the parent's merge dominates."""

_PRELOAD = ("baton.store.preview",)
"""What the fork server imports once (`baton.store.forked`): all a run of the preview needs."""

MIN_RUN = 1000
"""Issues: a site is not cut into runs shorter than this (or than a chunk): a process costs more than
it saves below it."""

_COLUMNS = list(engine.PREVIEW_COLUMNS)
_KEPT_COLUMNS = [c for c in engine.PREVIEW_COLUMNS if c not in ("issue_key", "from_status", "to_status")]
"""What is read of the stored requests the draft keeps: they are scored, never compared."""


def stored_under(session: Session, site: str, config: BatonConfig) -> bool:
    """Whether the site's stored requests were derived under `config` (its fingerprint is recorded on the
    site by every whole-site derivation; None: never derived whole, so not known)."""
    stored = session.execute(select(Site.config_fingerprint).where(Site.id == site)).scalar_one_or_none()
    return stored is not None and stored == fingerprint(config)


def run_preview(
    session: Session,
    site: str,
    *,
    live: BatonConfig,
    draft: BatonConfig,
    now: datetime,
    period: Literal["week", "month"] = "week",
    since: datetime | None = None,
    until: datetime | None = None,
    chunk_size: int = DEFAULT_CHUNK,
    use_stored: bool | None = None,
    workers: int | None = None,
) -> Preview:
    """Before (`live`) and after (`draft`) on the site's stored history, as of `now`; `since`/`until`
    keep the requests alive in [since, until) as `baton score --since/--until` do. Reads only.
    `use_stored`: take the kept processes' requests from storage (default: when they were derived under
    `live`, `stored_under`); False derives everything from the log. Both give the same result.
    `workers`: processes to spread the site's issues over (default: `preview_workers`, one per core);
    the result does not depend on it."""
    categories = load_status_categories(session, site)
    plan = engine.derivation_plan(live, draft)
    stored = stored_under(session, site, live) if use_stored is None else use_stored
    from_storage = stored and not plan.derive_all
    part = _Part(site, live, draft, now, period, since, until, chunk_size, plan, from_storage, categories)
    count = preview_workers(session) if workers is None else max(1, workers)
    cuts = split_ids(session, site, count, at_least=min(chunk_size, MIN_RUN)) if count > 1 else []
    url = _database_url(session) if cuts else None
    if url is None:
        acc = part.accumulate(session, None, None)
        result = acc.result()
    else:
        bounds = list(zip([None, *cuts], [*cuts, None], strict=True))
        tasks: list[Callable[[], PreviewAccumulator]] = [partial(part.accumulate, session, *bounds[0])]
        tasks += [partial(part.in_own_session, url, lo, hi) for lo, hi in bounds[1:]]
        method = start_method()
        acc, *later = run_forked(tasks, method=method, preload=_PRELOAD)
        for other in later:
            acc.merge(other)
        if method == "fork":  # the child inherits the frames to score; nothing is pickled
            scoring = [partial(acc.scores, "after"), partial(acc.scores, "before")]
            after, before = run_forked(scoring, method=method)
            result = acc.result(before_scores=before, after_scores=after)
        else:
            result = acc.result()
    log.info(
        "previewed a draft configuration",
        extra={
            "site": site,
            "issues": result.issues,
            "changed_requests": result.changed_total,
            "stored_requests": from_storage,
            "processes": len(cuts) + 1,
        },
    )
    return result


def preview_workers(session: Session) -> int:
    """Processes a preview of the session's database spreads a site over by default: `default_workers`,
    one when the database is in this process's memory. (A site is never cut into runs of fewer than
    `MIN_RUN` issues, or than a chunk: `split_ids`.)"""
    return 1 if _database_url(session) is None else default_workers()


def default_workers() -> int:
    """One process per usable core, at most `MAX_WORKERS`; one when no child process can be started."""
    return min(usable_cores(), MAX_WORKERS) if start_method() else 1


def _database_url(session: Session) -> str | None:
    """The session's database URL, for a child process to open its own connection (None: an in-memory
    SQLite database, which no other process can open)."""
    url = session.get_bind().engine.url
    if url.get_backend_name() == "sqlite" and (url.database or ":memory:") == ":memory:":
        return None
    return url.render_as_string(hide_password=False)


@dataclass(frozen=True)
class _Part:
    """What previewing a run of the site's issues needs: the same for every part of one preview."""

    site: str
    live: BatonConfig
    draft: BatonConfig
    now: datetime
    period: Literal["week", "month"]
    since: datetime | None
    until: datetime | None
    chunk_size: int
    plan: engine.DerivationPlan
    from_storage: bool
    categories: Mapping[str, str]

    def accumulate(self, session: Session, lower: str | None, upper: str | None) -> PreviewAccumulator:
        """The issues with ids above `lower` and up to `upper` (None: no bound), chunk by chunk,
        unscored."""
        acc = engine.preview_accumulator(
            self.live,
            self.draft,
            self.now,
            period=self.period,
            since=self.since,
            until=self.until,
            live_fingerprint=fingerprint(self.live),
            draft_fingerprint=fingerprint(self.draft),
        )
        with _pages_mapped(session):
            return self._accumulate(session, acc, lower, upper)

    def _accumulate(
        self, session: Session, acc: PreviewAccumulator, lower: str | None, upper: str | None
    ) -> PreviewAccumulator:
        chunks = issue_chunks(
            session, self.site, self.chunk_size, transitions=not self.from_storage, after=lower, upto=upper
        )
        for chunk in chunks:
            args = (chunk, self.live, self.draft, self.plan, self.categories)
            if self.from_storage:
                before, after, derived = _from_storage(session, self.site, *args)
            else:
                before, after, derived = _from_log(*args)
            acc.add(
                before,
                after,
                issues=len(chunk.issue_ids),
                transitions=chunk.transition_count,
                derived=None if self.plan.derive_all else derived,
            )
        return acc

    def in_own_session(self, url: str, lower: str | None, upper: str | None) -> PreviewAccumulator:
        """`accumulate` on a connection of its own (in a child process), compacted for the way back."""
        own = create_engine_for(url)
        try:
            with Session(own) as session:
                acc = self.accumulate(session, lower, upper)
        finally:
            own.dispose()
        acc.compact()
        return acc


MAPPED_BYTES = 1 << 30
"""How much of a SQLite database a preview's reads map into memory (`_pages_mapped`)."""


@contextmanager
def _pages_mapped(session: Session) -> Iterator[None]:
    """On SQLite, the session's connection reads the database through a memory map for the duration:
    a preview reads each issue's rows wherever they were appended, a page per row, and reading a page
    through the map saves a system call and a copy (7-13 % of the reads' time, bench/README.md). The
    connection goes back to plain reads after, as every other one uses."""
    if dialect_name(session) != "sqlite":
        yield
        return
    driver_rows(session, f"PRAGMA mmap_size = {MAPPED_BYTES}")
    try:
        yield
    except BaseException:
        with suppress(Exception):  # the run's own error is the one to report
            driver_rows(session, "PRAGMA mmap_size = 0")
        raise
    driver_rows(session, "PRAGMA mmap_size = 0")


def _changed_issues(chunk: IssueChunk, config: BatonConfig, plan: engine.DerivationPlan) -> list[str]:
    """The chunk's issues in a process the draft changes (all of them when it changes everything)."""
    if plan.derive_all:
        return list(chunk.issue_ids)
    _ids, processes = engine.issue_processes(chunk.issues, config)
    names = processes.to_numpy(dtype=object)
    needs = ~np.asarray(pd.isna(names), dtype=bool) & ~np.isin(names, list(plan.kept))
    return [str(i) for i in processes.index[needs]]


def _derive_some(
    chunk: IssueChunk,
    transitions: pd.DataFrame,
    ids: list[str],
    configs: list[BatonConfig],
    categories: Mapping[str, str],
) -> list[pd.DataFrame]:
    """The requests of some of the chunk's issues, derived from `transitions` under each configuration."""
    wanted = set(ids)
    issues = chunk.issues[chunk.issues["issue_id"].isin(wanted).to_numpy()]
    verdicts = [v for v in chunk.verdicts if str(v.issue_id) in wanted]
    derived = engine.derive_requests_each(transitions, issues, configs, categories, verdicts)
    return [frame[_COLUMNS] for frame in derived]


def _joined(parts: list[pd.DataFrame]) -> pd.DataFrame:
    parts = [p for p in parts if len(p)]
    if not parts:
        return pd.DataFrame({c: pd.Series([], dtype=object) for c in _COLUMNS})
    return parts[0].reset_index(drop=True) if len(parts) == 1 else pd.concat(parts, ignore_index=True)


def _from_log(
    chunk: IssueChunk,
    live: BatonConfig,
    draft: BatonConfig,
    plan: engine.DerivationPlan,
    categories: Mapping[str, str],
) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """The chunk's whole log derived under the live configuration; the changed issues under the draft."""
    before = engine.derive_requests(chunk.transitions, chunk.issues, live, categories, chunk.verdicts)[
        _COLUMNS
    ]
    ids = _changed_issues(chunk, draft, plan)
    carried = engine.carried_requests(before, draft, plan) if not plan.derive_all else before.iloc[0:0]
    if not ids:
        return before, carried, ids
    transitions = chunk.transitions[chunk.transitions["issue_id"].isin(set(ids)).to_numpy()]
    (after,) = _derive_some(chunk, transitions, ids, [draft], categories)
    return before, _joined([carried, after]), ids


def _from_storage(
    session: Session,
    site: str,
    chunk: IssueChunk,
    live: BatonConfig,
    draft: BatonConfig,
    plan: engine.DerivationPlan,
    categories: Mapping[str, str],
) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """The kept processes' stored requests (derived under the live configuration: `stored_under`), and
    the changed issues derived under both configurations from their transitions, read for them alone."""
    kept = load_requests_between(
        session, site, chunk.first, chunk.last, _KEPT_COLUMNS, processes=sorted(plan.kept)
    )
    carried = engine.carried_requests(kept, draft, plan)
    ids = _changed_issues(chunk, live, plan)
    if not ids:
        return kept, carried, ids
    transitions = transitions_of(session, site, ids)
    before, after = _derive_some(chunk, transitions, ids, [live, draft], categories)
    return _joined([kept, before]), _joined([carried, after]), ids


__all__ = ["MAX_WORKERS", "Preview", "default_workers", "preview_workers", "run_preview", "stored_under"]
