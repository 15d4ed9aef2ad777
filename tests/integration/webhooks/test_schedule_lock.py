"""The per-host lock that lets one process run each periodic pass (`baton.webhooks.worker.schedule_lock`)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from baton.store.db import create_engine_for
from baton.webhooks.worker.schedule_lock import lock_path, start_held


class Stub:
    def __init__(self) -> None:
        self.stopped = 0

    def stop(self) -> None:
        self.stopped += 1


def test_lock_files_are_named_by_pass_and_database(tmp_path: Path) -> None:
    engine = create_engine_for(f"sqlite:///{tmp_path / 'a.db'}")
    other = create_engine_for(f"sqlite:///{tmp_path / 'b.db'}")
    reconcile = lock_path(engine, "reconcile")
    assert os.path.dirname(reconcile) == tempfile.gettempdir()
    assert os.path.basename(reconcile).startswith("baton-reconcile-")
    assert os.path.basename(reconcile).endswith(".lock")
    assert len(os.path.basename(reconcile)) == len("baton-reconcile-") + 16 + len(".lock")
    assert os.path.basename(lock_path(engine, "alerts")).startswith("baton-alerts-")
    assert lock_path(engine, "reconcile") == reconcile
    assert lock_path(other, "reconcile") != reconcile


def test_second_start_skips_until_the_first_stops(tmp_path: Path) -> None:
    engine = create_engine_for(f"sqlite:///{tmp_path / 'a.db'}")
    calls: list[str] = []

    def start(label: str) -> Stub:
        calls.append(label)
        return Stub()

    first = start_held(engine, "test-pass", lambda: start("first"))
    assert first is not None
    assert start_held(engine, "test-pass", lambda: start("second")) is None
    assert calls == ["first"]  # the process without the lock never builds its schedule
    other_pass = start_held(engine, "test-other-pass", lambda: start("other"))
    assert other_pass is not None  # each pass has its own lock
    other_pass.stop()
    first.stop()
    assert first.schedule.stopped == 1
    again = start_held(engine, "test-pass", lambda: start("again"))
    assert again is not None
    assert calls == ["first", "other", "again"]
    again.stop()


def test_no_schedule_releases_the_lock(tmp_path: Path) -> None:
    engine = create_engine_for(f"sqlite:///{tmp_path / 'a.db'}")
    assert start_held(engine, "test-pass", lambda: None) is None
    held = start_held(engine, "test-pass", Stub)
    assert held is not None
    held.stop()
