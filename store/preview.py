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
issues. The `after` rows are what `baton score --by process` prints once the draft is published and
applied (tests/integration/store/test_config_versions.py checks it, both ways). Shape the result for the
CLI and the API with `baton.webhooks.serialize.preview_record`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Literal

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from baton.config import fingerprint
from baton.config.schema import BatonConfig
from baton.scoring import engine
from baton.scoring.preview import Preview
from baton.store.chunked import DEFAULT_CHUNK, IssueChunk, issue_chunks, transitions_of
from baton.store.models import Site
from baton.store.requests import load_requests_between
from baton.store.transitions import load_status_categories

log = logging.getLogger("baton.store.preview")

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
) -> Preview:
    """Before (`live`) and after (`draft`) on the site's stored history, as of `now`; `since`/`until`
    keep the requests alive in [since, until) as `baton score --since/--until` do. Reads only.
    `use_stored`: take the kept processes' requests from storage (default: when they were derived under
    `live`, `stored_under`); False derives everything from the log. Both give the same result."""
    categories = load_status_categories(session, site)
    plan = engine.derivation_plan(live, draft)
    stored = stored_under(session, site, live) if use_stored is None else use_stored
    from_storage = stored and not plan.derive_all
    acc = engine.preview_accumulator(
        live,
        draft,
        now,
        period=period,
        since=since,
        until=until,
        live_fingerprint=fingerprint(live),
        draft_fingerprint=fingerprint(draft),
    )
    for chunk in issue_chunks(session, site, chunk_size, transitions=not from_storage):
        if from_storage:
            before, after, derived = _from_storage(session, site, chunk, live, draft, plan, categories)
        else:
            before, after, derived = _from_log(chunk, live, draft, plan, categories)
        acc.add(
            before,
            after,
            issues=len(chunk.issue_ids),
            transitions=chunk.transition_count,
            derived=None if plan.derive_all else derived,
        )
    result = acc.result()
    log.info(
        "previewed a draft configuration",
        extra={
            "site": site,
            "issues": result.issues,
            "changed_requests": result.changed_total,
            "stored_requests": from_storage,
        },
    )
    return result


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
    config: BatonConfig,
    categories: Mapping[str, str],
) -> pd.DataFrame:
    wanted = set(ids)
    issues = chunk.issues[chunk.issues["issue_id"].isin(wanted).to_numpy()]
    verdicts = [v for v in chunk.verdicts if str(v.issue_id) in wanted]
    return engine.derive_requests(transitions, issues, config, categories, verdicts)[_COLUMNS]


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
    return before, _joined([carried, _derive_some(chunk, transitions, ids, draft, categories)]), ids


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
    before = _derive_some(chunk, transitions, ids, live, categories)
    after = _derive_some(chunk, transitions, ids, draft, categories)
    return _joined([kept, before]), _joined([carried, after]), ids


__all__ = ["Preview", "run_preview", "stored_under"]
