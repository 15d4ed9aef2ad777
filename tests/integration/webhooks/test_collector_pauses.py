"""What a serving worker and a processing worker load at start is frozen out of Python's garbage
collector. Every full collection used to walk it again (74-215 ms with the GIL held), and in embedded
mode such a pause inside SQLite's write turn held up every receiver: it set the p99 acknowledgement
above 200 deliveries/s (bench/README.md, "Capacity", (a4))."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from baton.config.loader import load_config
from baton.webhooks.worker.loop import run_worker

from ..store.test_pipeline import REPO

SERVING_WORKER = """
import gc, json
from baton.webhooks.http import gunicorn_conf
from baton.webhooks.http.app import create_app

app = create_app()  # what gunicorn's worker does before `post_worker_init`
before = gc.get_freeze_count()
gunicorn_conf.post_worker_init(None)
print(json.dumps({"before": before, "frozen": gc.get_freeze_count(), "tracked": len(gc.get_objects())}))
"""


def test_a_serving_worker_freezes_what_its_app_loaded(tmp_path: Path) -> None:
    # In a process of its own: importing the gunicorn settings reads the environment and the freeze is
    # process-wide.
    env = {
        **os.environ,
        "BATON_WEBHOOK_SECRET": "s3cret",
        "BATON_DATABASE_URL": f"sqlite:///{tmp_path / 'baton.db'}",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prom"),
    }
    (tmp_path / "prom").mkdir()
    out = subprocess.run(
        [sys.executable, "-c", SERVING_WORKER], env=env, cwd=REPO, capture_output=True, text=True, check=True
    )
    counts = json.loads(out.stdout.strip().splitlines()[-1])
    assert counts["before"] == 0
    assert counts["frozen"] > 50_000  # Flask, SQLAlchemy, the app: about 155,000 objects
    assert counts["tracked"] < 1_000  # what a full collection still walks


@pytest.fixture
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()


@pytest.mark.usefixtures("unfrozen")
def test_a_processing_worker_freezes_its_startup_objects(engine: Engine) -> None:
    config = load_config(REPO / "config" / "examples" / "demo.yaml")
    assert run_worker(engine, config, exit_when_idle=True, name="in-process") == 0
    assert gc.get_freeze_count() == 0  # called inside another process (tests, scripts): nothing frozen
    assert run_worker(engine, config, exit_when_idle=True, name="own", freeze_startup_objects=True) == 0
    assert gc.get_freeze_count() > 50_000  # modules, pandas, the engine: about 125,000 objects


BATON_WORKER = """
import json, sys
from baton.webhooks.cli import serve_cmd
from baton.webhooks.worker import loop

calls = []
loop.run_worker = lambda *args, **kwargs: calls.append(kwargs.get("freeze_startup_objects")) or 0
serve_cmd._run_worker(sys.argv[1], None, 10, 1 << 20, 0.1, True, None)  # what `baton worker` runs
print(json.dumps(calls))
"""


def test_baton_worker_runs_its_loop_as_its_own_process(db_url: str) -> None:
    # In a process of its own: the command sets signal handlers and logging for the whole process.
    out = subprocess.run(
        [sys.executable, "-c", BATON_WORKER, db_url], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert json.loads(out.stdout.strip().splitlines()[-1]) == [True]
