"""The bulk request writer (`baton.store.requests.insert_requests`, used by re-derivation's staging and by
`replace_requests`) stores exactly what `frame_to_rows` + a Core insert store, on SQLite and PostgreSQL:
the same text for SQLite's instants, the same NULLs, booleans, floats and integers."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sqlalchemy.orm import Session

from baton.config import load_config_text
from baton.scoring import engine as scoring_engine
from baton.scoring.model import REQUEST_COLUMNS
from baton.scoring.simulate import simulate_frames, status_categories
from baton.store.inbox import ensure_site
from baton.store.models import RequestRow
from baton.store.requests import (
    LABEL_COLUMNS,
    frame_to_rows,
    insert_requests,
    load_requests_between,
    load_requests_frame,
)
from baton.store.sqlutil import driver_rows

pytestmark = pytest.mark.postgres

REPO = Path(__file__).resolve().parents[3]
DEMO = load_config_text((REPO / "config" / "examples" / "demo.yaml").read_text())


def _requests() -> pd.DataFrame:
    """Derived requests of 40 simulated issues, with a verdict of each kind written into three rows."""
    transitions, issues = simulate_frames(
        DEMO, 40, seed=3, start=datetime(2026, 11, 2, tzinfo=UTC), end=datetime(2026, 12, 1, tzinfo=UTC)
    )
    frame = scoring_engine.derive_requests(transitions, issues, DEMO, status_categories(DEMO))
    assert len(frame) > 50
    at = pd.Timestamp("2026-11-20 10:15:30.123456", tz="UTC")
    frame.loc[0, ["verdict", "rating", "verdict_by", "verdict_at"]] = ["accepted", 4.0, "ann", at]
    frame.loc[1, ["verdict", "verdict_reason", "verdict_by", "verdict_at", "rejected", "rejected_at"]] = [
        "rejected",
        "incomplete",
        "bob",
        at,
        True,
        at,
    ]
    return frame


def _stored(session: Session, site: str) -> list[tuple[Any, ...]]:
    names = ", ".join(REQUEST_COLUMNS)
    return driver_rows(
        session, f"SELECT {names} FROM requests WHERE site_id = ? ORDER BY issue_id, seq", (site,)
    )


def test_the_bulk_writer_stores_what_the_core_insert_stores(session: Session, db_kind: str) -> None:
    frame = _requests()
    for site in ("core", "bulk"):
        ensure_site(session, site)
    session.flush()
    session.execute(RequestRow.__table__.insert(), frame_to_rows("core", frame))
    assert insert_requests(session, "requests", "bulk", frame) == len(frame)
    session.commit()

    core, bulk = _stored(session, "core"), _stored(session, "bulk")
    assert len(core) == len(frame)
    assert bulk == core  # the driver's own values: on SQLite the very text of each instant
    if db_kind == "sqlite":
        opened = REQUEST_COLUMNS.index("opened_at")
        assert all(isinstance(r[opened], str) and len(r[opened]) == 26 for r in bulk)
    pd.testing.assert_frame_equal(
        load_requests_frame(session, "bulk").drop(columns="site_id"),
        load_requests_frame(session, "core").drop(columns="site_id"),
    )
    back = load_requests_frame(session, "bulk")
    first = back.iloc[0]
    assert (first["verdict"], first["rating"], first["verdict_by"]) == ("accepted", 4.0, "ann")
    assert first["verdict_at"] == pd.Timestamp("2026-11-20 10:15:30.123456", tz="UTC")
    second = back.iloc[1]
    assert (second["verdict"], second["verdict_reason"], bool(second["rejected"])) == (
        "rejected",
        "incomplete",
        True,
    )
    assert np.isnan(back["rating"].iloc[2]) and back["verdict"].iloc[2] is None


def test_the_bulk_writer_takes_an_empty_frame(session: Session) -> None:
    ensure_site(session, "bulk")
    assert insert_requests(session, "requests", "bulk", _requests().iloc[0:0]) == 0
    session.commit()
    assert _stored(session, "bulk") == []


def test_the_range_reader_reads_what_the_frame_reader_reads_with_one_string_per_label(
    session: Session,
) -> None:
    """`load_requests_between` (the preview's read) gives `load_requests_frame`'s values, and each label
    column (teams, kinds, statuses...) refers to one string per distinct value: the driver makes one
    per row, and a preview pickles these frames between processes."""
    frame = _requests()
    ensure_site(session, "bulk")
    insert_requests(session, "requests", "bulk", frame)
    session.commit()
    whole = load_requests_frame(session, "bulk").drop(columns="site_id")
    ids = sorted(whole["issue_id"].unique())
    columns = [c for c in REQUEST_COLUMNS if c != "site_id"]
    ranged = load_requests_between(session, "bulk", ids[0], ids[-1], columns)
    assert ranged["issue_id"].is_monotonic_increasing
    in_order = ranged.sort_values(["issue_id", "seq"], kind="stable").reset_index(drop=True)
    pd.testing.assert_frame_equal(in_order, whole)
    for name in LABEL_COLUMNS:
        values = [v for v in ranged[name].tolist() if isinstance(v, str)]
        assert len({id(v) for v in values}) == len(set(values)), name
    assert in_order["verdict"].iloc[2] is None and in_order["verdict"].iloc[0] == "accepted"
    assert len([v for v in ranged["provider"] if isinstance(v, str)]) == len(ranged)
