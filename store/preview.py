"""`run_preview`: what a draft configuration would do to a site's numbers, on its stored log (issue 15).

Nothing is written: the log is read a chunk of issues at a time (`baton.store.chunked.issue_chunks`),
each chunk derived under the live configuration and under the draft, and the two compared by the pure
`baton.scoring.engine.preview_accumulator`. The `after` rows are what `baton score --by process` prints
once the draft is published and applied (tests/integration/store/test_config_versions.py checks it).
Shape the result for the CLI and the API with `baton.webhooks.serialize.preview_record`.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Literal

from sqlalchemy.orm import Session

from baton.config import fingerprint
from baton.config.schema import BatonConfig
from baton.scoring import engine
from baton.scoring.preview import Preview
from baton.store.chunked import DEFAULT_CHUNK, issue_chunks
from baton.store.transitions import load_status_categories
from baton.store.verdicts import load_verdicts

log = logging.getLogger("baton.store.preview")


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
) -> Preview:
    """Before (`live`) and after (`draft`) on the site's stored history, as of `now`; `since`/`until`
    keep the requests alive in [since, until) as `baton score --since/--until` do. Reads only."""
    categories = load_status_categories(session, site)
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
    for chunk in issue_chunks(session, site, chunk_size):
        verdicts = load_verdicts(session, site, chunk.issue_ids)
        before = engine.derive_requests(chunk.transitions, chunk.issues, live, categories, verdicts)
        after = engine.derive_requests(chunk.transitions, chunk.issues, draft, categories, verdicts)
        acc.add(before, after, issues=len(chunk.issue_ids), transitions=len(chunk.transitions))
    result = acc.result()
    log.info(
        "previewed a draft configuration",
        extra={"site": site, "issues": result.issues, "changed_requests": result.changed_total},
    )
    return result


__all__ = ["Preview", "run_preview"]
