"""`GET /api/v1/handoffs/matrix` gives each cell's rejection reasons (by verdict) and its returns, and
`baton handoffs --report matrix --format json` the same (issue 14, item 4), on SQLite and PostgreSQL.

Four copies of docs/semantics.md's worked example (PROJ-1..PROJ-4); ops sends qa's Q2 back on three of
them, twice "incomplete" and once "wrong environment" (a reason this test's configuration adds):
`tests.integration.api.seeding.seed_matrix_reasons`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from baton.store.db import create_engine_for
from baton.webhooks.http.auth import make_share_token
from baton.webhooks.settings import Settings
from tests.integration.api.seeding import REASONS_NOW, SITE_A, matrix_reasons_config, seed_matrix_reasons
from tests.integration.cli.conftest import baton, baton_json

SECRET = "test-secret-key-that-is-long-enough-0123456789"


@pytest.fixture
def seeded(db_url: str, tmp_path: Path) -> Iterator[tuple[Flask, Path]]:
    from baton.webhooks.http.app import create_app

    config_path = matrix_reasons_config(tmp_path)
    engine = create_engine_for(db_url)
    try:
        seed_matrix_reasons(engine, config_path)
    finally:
        engine.dispose()
    settings = Settings.from_env(
        {"BATON_NOW": REASONS_NOW.isoformat(), "BATON_SECRET_KEY": SECRET},
        database_url=db_url,
        config_path=str(config_path),
        background_processing=False,
    )
    app = create_app(settings)
    app.config.update(TESTING=True)
    try:
        yield app, config_path
    finally:
        app.extensions["baton"].engine.dispose()


def _matrix(app: Flask, query: str = "") -> Any:
    share = make_share_token(SECRET.encode(), SITE_A)
    answer = app.test_client().get(f"/api/v1/handoffs/matrix{query}", headers={"X-Baton-Share": share})
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()


def test_each_cell_carries_its_reasons_and_returns(seeded: tuple[Flask, Path], db_url: str) -> None:
    app, config_path = seeded
    body = _matrix(app)
    picked = [
        (
            c["requester"],
            c["provider"],
            c["delivered"],
            c["rejected"],
            c["returns"],
            c["rejection_reasons"],
        )
        for c in body["cells"]
    ]
    assert picked == [
        ("dev", "qa", 4, 3, 0, [{"reason": "incomplete", "count": 2}, {"reason": "wrong environment", "count": 1}]),
        ("qa", "dev", 4, 0, 0, []),  # D2: dev's rework
        ("qa", "ops", 4, 0, 0, []),  # O1: pm has not judged
        ("intake", "dev", 4, 4, 4, []),  # D1: rejected by qa's return, no reason
    ]  # fmt: skip
    dev_qa = body["cells"][0]
    assert (dev_qa["requests"], dev_qa["resolved"], dev_qa["rejection_rate"]) == (8, 8, 0.75)  # Q1 returned
    assert list(dev_qa)[-2:] == ["returns", "rejection_reasons"]
    # the week containing now holds the same cells (every request was resolved in 2026-W10)
    assert _matrix(app, "?period=week")["cells"] == body["cells"]
    # one process, as the gadget asks for it
    assert _matrix(app, "?process=delivery")["cells"] == body["cells"]

    # `baton handoffs --report matrix --format json`: the same cells (requester null for intake)
    rows = baton_json(
        "handoffs", "--report", "matrix", "--format", "json", "--config", str(config_path),
        "--db", db_url, "--site", SITE_A, "--now", REASONS_NOW.isoformat(),
    )  # fmt: skip
    assert [{**r, "requester": r["requester"] or "intake"} for r in rows] == body["cells"]
    csv = baton(
        "handoffs", "--report", "matrix", "--format", "csv", "--config", str(config_path),
        "--db", db_url, "--site", SITE_A, "--now", REASONS_NOW.isoformat(),
    )  # fmt: skip
    lines = csv.stdout.splitlines()
    assert lines[0].split(",")[-2:] == ["returns", "rejection_reasons"]
    assert lines[1].endswith(",0,incomplete: 2; wrong environment: 1")
    assert lines[4].endswith(",4,4,1.0,4,")  # intake -> dev: 4 returns, no reason
