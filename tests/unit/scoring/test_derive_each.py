"""`derive_requests_each`: the same log derived under several configurations (a preview's live and
draft) gives exactly what deriving under each alone gives, sharing the ordering and status-coding
stages only between configurations that put every issue in the same process (scoring/derive.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from baton.config import load_config_text
from baton.scoring import derive, engine
from baton.scoring.simulate import simulate_frames, status_categories

REPO = Path(__file__).resolve().parents[3]
DEMO_TEXT = (REPO / "config" / "examples" / "demo.yaml").read_text()
LIVE = load_config_text(DEMO_TEXT)
DRAFT = load_config_text(  # other stages and goals, the same issues in each process
    DEMO_TEXT.replace("stages: [support, dev, ops]", "stages: [support, dev]").replace(
        "      - {provider: ops, response: 2h, resolution: 8h}\n", ""
    )
)
MOVED = load_config_text(DEMO_TEXT.replace("match: {projects: [WEB, APP]}", "match: {projects: [WEB]}"))
"""APP's issues leave the delivery process: the stages that depend on it run again."""


@pytest.fixture(scope="module")
def history() -> tuple[pd.DataFrame, pd.DataFrame]:
    return simulate_frames(
        LIVE, 80, seed=5, start=datetime(2026, 10, 5, tzinfo=UTC), end=datetime(2026, 12, 3, tzinfo=UTC)
    )


def test_each_configuration_gets_what_deriving_under_it_alone_gives(
    history: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    transitions, issues = history
    categories = status_categories(LIVE)
    configs = [LIVE, DRAFT, MOVED, LIVE]
    together = engine.derive_requests_each(transitions, issues, configs, categories)
    assert len(together) == 4
    for config, frame in zip(configs, together, strict=True):
        pd.testing.assert_frame_equal(frame, engine.derive_requests(transitions, issues, config, categories))
    live, draft, moved, _again = together
    assert len(live) > 100 and not live.equals(draft) and not live.equals(moved)  # the drafts matter
    assert set(moved["process"]) >= {"delivery"} and len(moved) < len(live)


def test_the_log_is_ordered_once_for_configurations_that_keep_the_processes(
    history: tuple[pd.DataFrame, pd.DataFrame], monkeypatch: pytest.MonkeyPatch
) -> None:
    transitions, issues = history
    calls: list[int] = []
    ordered = derive._ordered_log

    def counted(*args: object) -> object:
        calls.append(1)
        return ordered(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(derive, "_ordered_log", counted)
    engine.derive_requests_each(transitions, issues, [LIVE, DRAFT], status_categories(LIVE))
    assert len(calls) == 1
    engine.derive_requests_each(transitions, issues, [LIVE, MOVED], status_categories(LIVE))
    assert len(calls) == 3


def test_no_configurations_no_frames_and_an_empty_log_empty_frames() -> None:
    empty_log = pd.DataFrame(
        columns=["issue_id", "at", "change_id", "from_id", "from_name", "to_id", "to_name"]
    )
    assert engine.derive_requests_each(empty_log, pd.DataFrame(), []) == []
    frames = engine.derive_requests_each(empty_log, pd.DataFrame(), [LIVE, DRAFT])
    assert [len(f) for f in frames] == [0, 0]
