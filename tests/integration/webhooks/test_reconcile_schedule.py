"""The periodic reconcile runs in exactly one process per host and database."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from baton.connector.reconcile import ReconcileSchedule
from baton.store.db import create_engine_for
from baton.webhooks.settings import Settings
from baton.webhooks.worker.loop import load_config_lazily
from baton.webhooks.worker.reconcile_schedule import start_reconcile_schedule as start_with
from baton.webhooks.worker.schedule_lock import HeldSchedule


def start_reconcile_schedule(
    engine: Engine, config_path: str | None
) -> HeldSchedule[ReconcileSchedule] | None:
    """As a process starts it: settings read from the environment, the configuration loaded once."""
    return start_with(engine, Settings.from_env(), load_config_lazily(config_path))


REPO = Path(__file__).resolve().parents[3]
CONFIG = str(REPO / "config" / "examples" / "delivery.yaml")


@pytest.fixture
def jira_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BATON_RECONCILE_INTERVAL", "1h")
    monkeypatch.setenv("BATON_JIRA_URL", "http://127.0.0.1:9")  # never called within the test
    monkeypatch.setenv("BATON_JIRA_EMAIL", "pmo@example.com")
    monkeypatch.setenv("BATON_JIRA_TOKEN", "not-a-real-token")


def test_one_schedule_per_host_and_database(jira_env: None, tmp_path: Path) -> None:
    engine = create_engine_for(f"sqlite:///{tmp_path / 'a.db'}")
    first = start_reconcile_schedule(engine, CONFIG)
    second = start_reconcile_schedule(engine, CONFIG)
    try:
        assert first is not None
        assert first.schedule.interval_s == 3600.0
        assert second is None  # another process (or app) on this host already runs it
        other_db = create_engine_for(f"sqlite:///{tmp_path / 'b.db'}")
        third = start_reconcile_schedule(other_db, CONFIG)
        assert third is not None  # a different database gets its own schedule
        third.stop()
    finally:
        if first is not None:
            first.stop()
    again = start_reconcile_schedule(engine, CONFIG)  # the lock was released by stop()
    assert again is not None
    again.stop()


def test_no_schedule_without_interval_or_config(
    jira_env: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = create_engine_for(f"sqlite:///{tmp_path / 'a.db'}")
    assert start_reconcile_schedule(engine, None) is None
    monkeypatch.delenv("BATON_RECONCILE_INTERVAL")
    assert start_reconcile_schedule(engine, CONFIG) is None
