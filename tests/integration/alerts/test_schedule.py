"""The worker and the embedded server send alerts every minute, from one process per host and database."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from baton.config.loader import load_config
from baton.store.db import create_engine_for, upgrade_database
from baton.webhooks.http.app import create_app
from baton.webhooks.settings import Settings
from baton.webhooks.worker.alert_schedule import start_alert_schedule
from baton.webhooks.worker.loop import load_config_lazily
from tests.integration.alerts.receivers import Receiver
from tests.integration.alerts.test_alerts import ENV, _seed, config_text


@pytest.fixture
def receivers() -> Iterator[dict[str, Receiver]]:
    made = {kind: Receiver() for kind in ("slack", "teams", "automation", "json")}
    yield made
    for receiver in made.values():
        receiver.close()


def _wait_for(receivers: dict[str, Receiver], total: int) -> int:
    """Wait (up to a minute, never asserting on time) until the receivers got `total` requests."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        got = sum(len(r.received) for r in receivers.values())
        if got >= total:
            return got
        time.sleep(0.05)
    return sum(len(r.received) for r in receivers.values())


@pytest.fixture
def seeded(tmp_path: Path, receivers: dict[str, Receiver]) -> Iterator[tuple[str, Path, Engine]]:
    url = f"sqlite:///{tmp_path / 'baton.db'}"
    upgrade_database(url)
    path = tmp_path / "baton.yaml"
    path.write_text(config_text({k: r.url for k, r in receivers.items()}))
    engine = create_engine_for(url)
    _seed(engine, load_config(path))
    yield url, path, engine
    engine.dispose()


def test_the_schedule_sends_at_once_and_runs_once_per_host(
    seeded: tuple[str, Path, Engine], receivers: dict[str, Receiver]
) -> None:
    _, path, engine = seeded
    settings = Settings.from_env({**ENV, "BATON_NOW": "2026-03-03T14:00:00Z"})
    first = start_alert_schedule(engine, settings, load_config_lazily(str(path)), settings.clock())
    second = start_alert_schedule(engine, settings, load_config_lazily(str(path)), settings.clock())
    try:
        assert first is not None
        assert first.schedule.interval_s == 60.0
        assert second is None  # another process on this host already runs it for this database
        assert _wait_for(receivers, 4) == 4
    finally:
        if first is not None:
            first.stop()
    assert first.schedule.runs >= 1 and first.schedule.last_error is None
    assert sum(len(r.received) for r in receivers.values()) == 4


def test_no_schedule_without_alert_targets(seeded: tuple[str, Path, Engine], tmp_path: Path) -> None:
    _, path, engine = seeded
    bare = tmp_path / "bare.yaml"
    bare.write_text(path.read_text().split("alerts:")[0])
    settings = Settings.from_env(ENV)
    assert start_alert_schedule(engine, settings, load_config_lazily(str(bare)), settings.clock()) is None
    assert start_alert_schedule(engine, settings, load_config_lazily(None), settings.clock()) is None


def test_the_embedded_server_sends_alerts_in_the_background(
    seeded: tuple[str, Path, Engine], receivers: dict[str, Receiver]
) -> None:
    url, path, _ = seeded
    settings = Settings.from_env(
        {**ENV, "BATON_DATABASE_URL": url, "BATON_CONFIG": str(path), "BATON_NOW": "2026-03-05T12:00:00Z"}
    )
    app = create_app(settings)
    baton = app.extensions["baton"]
    try:
        assert baton.alerts is not None
        # at risk and breached, to four targets: eight alerts, without any web request
        assert _wait_for(receivers, 8) == 8
    finally:
        baton.close()
    assert {kind: len(r.received) for kind, r in receivers.items()} == dict.fromkeys(receivers, 2)
