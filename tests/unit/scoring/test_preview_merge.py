"""Previewing a site in parts (`PreviewAccumulator.merge`, after `compact` for the trip between
processes) gives what one accumulator fed every chunk in order gives (scoring/preview.py, issue 15)."""

from __future__ import annotations

import pickle
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from baton.config import load_config_text
from baton.scoring import engine
from baton.scoring.preview import PreviewAccumulator
from baton.scoring.simulate import simulate_frames, status_categories

REPO = Path(__file__).resolve().parents[3]
DEMO_TEXT = (REPO / "config" / "examples" / "demo.yaml").read_text()
LIVE = load_config_text(DEMO_TEXT)
DRAFT = load_config_text(
    DEMO_TEXT.replace("stages: [support, dev, ops]", "stages: [support, dev]").replace(
        "      - {provider: ops, response: 2h, resolution: 8h}\n", ""
    )
)
NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def _chunks(size: int) -> list[tuple[pd.DataFrame, pd.DataFrame]]:
    """Simulated history cut into chunks of `size` issues: each derived under both configurations."""
    transitions, issues = simulate_frames(
        LIVE, 60, seed=7, start=datetime(2026, 11, 2, tzinfo=UTC), end=datetime(2026, 12, 3, tzinfo=UTC)
    )
    categories = status_categories(LIVE)
    ids = sorted(issues["issue_id"].unique())
    out = []
    for start in range(0, len(ids), size):
        wanted = set(ids[start : start + size])
        log = transitions[transitions["issue_id"].isin(wanted)]
        facts = issues[issues["issue_id"].isin(wanted)]
        before = engine.derive_requests(log, facts, LIVE, categories, [])[list(engine.PREVIEW_COLUMNS)]
        after = engine.derive_requests(log, facts, DRAFT, categories, [])[list(engine.PREVIEW_COLUMNS)]
        out.append((before, after))
    return out


def _accumulator(max_changed: int) -> PreviewAccumulator:
    return PreviewAccumulator(LIVE, DRAFT, NOW, period="week", max_changed=max_changed)


def _fed(acc: PreviewAccumulator, chunks: list[tuple[pd.DataFrame, pd.DataFrame]]) -> PreviewAccumulator:
    for before, after in chunks:
        acc.add(before, after, issues=before["issue_id"].nunique(), transitions=1)
    return acc


@pytest.mark.parametrize("max_changed", [3, 500])
@pytest.mark.parametrize("cut", [1, 3, 5])
def test_parts_merged_in_order_equal_one_pass(max_changed: int, cut: int) -> None:
    chunks = _chunks(10)
    whole = _fed(_accumulator(max_changed), chunks).result()
    first = _fed(_accumulator(max_changed), chunks[:cut])
    later = _fed(_accumulator(max_changed), chunks[cut:])
    later.compact()
    first.merge(pickle.loads(pickle.dumps(later)))  # as it comes back from another process
    merged = first.result()

    assert whole.changed_total > 3 and whole.handoffs_unmapped  # the draft changes requests in every part
    assert merged.to_json() == whole.to_json()
    pd.testing.assert_frame_equal(merged.before_scores, whole.before_scores)
    pd.testing.assert_frame_equal(merged.after_scores, whole.after_scores)
    assert [c.as_dict() for c in merged.changed_requests] == [c.as_dict() for c in whole.changed_requests]
    assert len(merged.changed_requests) == min(max_changed, whole.changed_total)


def test_compact_keeps_the_values_and_shrinks_what_travels() -> None:
    acc = _fed(_accumulator(500), _chunks(10))
    before = acc.scores("before")
    size = len(pickle.dumps(acc))
    acc.compact()
    assert len(pickle.dumps(acc)) < size
    pd.testing.assert_frame_equal(acc.scores("before"), before)


def test_what_travels_refers_to_one_string_per_label() -> None:
    """Pickle writes a string once and refers to it after: a side's text columns (teams, kinds, clock
    states) must not hold a copy of their value per request, or the trip back costs a string each."""
    acc = _fed(_accumulator(500), _chunks(10))
    acc.compact()
    for side in (acc._before, acc._after):
        (frame,) = side
        for name in frame.columns:
            if frame[name].dtype == object or pd.api.types.is_string_dtype(frame[name].dtype):
                values = [v for v in frame[name].tolist() if isinstance(v, str)]
                assert len(values) > 100, name
                assert len({id(v) for v in values}) == len(set(values)), name
