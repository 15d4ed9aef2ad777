"""End to end through a real gunicorn server on loopback, on SQLite and PostgreSQL.

- out-of-order, duplicated and late deliveries converge to the state of a clean, in-order run;
- a crash (SIGKILL of master and workers mid-load) loses no acknowledged delivery, stores none twice,
  and after a restart and a resend of everything unacknowledged the derived state equals a clean run.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from baton.webhooks.http.app import create_app, drain
from baton.webhooks.settings import Settings
from tests.integration.webhooks.support import (
    EXAMPLE_CONFIG,
    SECRET,
    GeneratedDelivery,
    GunicornServer,
    delivery_count,
    generated_history,
    request_set,
    shuffled,
    transition_set,
)

pytestmark = pytest.mark.slow


def clean_run(tmp_path: Path, deliveries: list[GeneratedDelivery]) -> tuple[set[Any], set[Any]]:
    """The reference: every delivery once, in order, through the test client, then processed."""
    app = create_app(
        Settings(
            database_url=f"sqlite:///{tmp_path / 'clean.db'}",
            config_path=str(EXAMPLE_CONFIG),
            webhook_secret=SECRET,
            background_processing=False,
        )
    )
    from baton.store.db import upgrade_database

    upgrade_database(f"sqlite:///{tmp_path / 'clean.db'}")
    client = app.test_client()
    for delivery in deliveries:
        assert (
            client.post("/webhooks/jira", data=delivery.body, headers=delivery.headers()).status_code == 202
        )
        drain(app)
    engine = app.extensions["baton"].engine
    try:
        return transition_set(engine), request_set(engine)
    finally:
        app.extensions["baton"].close()


@pytest.fixture
def server(db_url: str, tmp_path: Path) -> Iterator[GunicornServer]:
    srv = GunicornServer(db_url, tmp_path).start()
    yield srv
    srv.stop()


def _post(session: requests.Session, base: str, delivery: GeneratedDelivery, **extra: str) -> int:
    response = session.post(
        base + "/webhooks/jira", data=delivery.body, headers={**delivery.headers(), **extra}, timeout=10
    )
    return response.status_code


def test_out_of_order_duplicate_and_late_deliveries_converge(
    server: GunicornServer, engine: Engine, tmp_path: Path
) -> None:
    history = generated_history(6)
    late = history[5::7]  # a few arrive only at the very end, after the rest was processed
    early = [d for d in history if d not in late]
    with requests.Session() as http:
        for delivery in shuffled(early, seed=3):
            assert _post(http, server.base, delivery) == 202
        for delivery in shuffled(early, seed=4)[:15]:  # Jira retries: harmless
            assert _post(http, server.base, delivery, **{"X-Atlassian-Webhook-Retry": "1"}) == 200
        assert server.wait_processed()["inbox_backlog"] == 0
        for delivery in late:
            assert _post(http, server.base, delivery) == 202
        health = server.wait_processed()
        assert health["inbox_backlog"] == 0 and health["database"] == "ok"
        metrics = http.get(server.base + "/metrics", timeout=5).text

    assert delivery_count(engine) == len(history)
    assert delivery_count(engine, "done") == len(history)
    transitions, derived = clean_run(tmp_path, history)
    assert transition_set(engine) == transitions
    assert request_set(engine) == derived and derived
    # counters from both gunicorn workers are summed through PROMETHEUS_MULTIPROC_DIR
    assert f'baton_deliveries_total{{outcome="accepted"}} {float(len(history))}' in metrics
    assert 'baton_deliveries_total{outcome="duplicate"} 15.0' in metrics


@pytest.mark.parametrize("mode", ["embedded", "production"])  # gthread workers / gevent workers
def test_sigkill_mid_load_loses_nothing_and_stores_nothing_twice(
    db_url: str, engine: Engine, tmp_path: Path, mode: str
) -> None:
    history = generated_history(20)  # 200 deliveries
    order = shuffled(history, seed=11)
    server = GunicornServer(db_url, tmp_path, mode=mode).start()
    acknowledged: set[str] = set()
    lock = threading.Lock()
    kill_after = len(order) // 3

    def send(part: list[GeneratedDelivery]) -> None:
        with requests.Session() as http:
            for delivery in part:
                try:
                    status = _post(http, server.base, delivery)
                except requests.RequestException:
                    continue  # not acknowledged: the sender retries it later
                if status in (200, 202):
                    with lock:
                        acknowledged.add(delivery.identifier)
                        if len(acknowledged) == kill_after:
                            server.kill()  # SIGKILL master and workers while requests are in flight

    senders = [threading.Thread(target=send, args=(order[i::4],)) for i in range(4)]
    for thread in senders:
        thread.start()
    for thread in senders:
        thread.join()
    server.kill()
    assert kill_after <= len(acknowledged) < len(order)

    # Everything acknowledged before the crash is in the inbox, once.
    from baton.store.models import Delivery

    with Session(engine) as session:
        keys = session.execute(
            select(Delivery.idempotency_key, func.count()).group_by(Delivery.idempotency_key)
        ).all()
        stored_identifiers = {
            h["X-Atlassian-Webhook-Identifier"] for h in session.execute(select(Delivery.headers)).scalars()
        }
        assert all(count == 1 for _, count in keys)
        assert acknowledged <= stored_identifiers
        # The killed drainers' in-flight claims: an operator's `baton inbox retry --stale`.
        from baton.store.inbox import requeue_stale

        requeue_stale(session, timedelta(0))
        session.commit()

    # Restart and resend everything that was not acknowledged (as Jira's retries would).
    server = GunicornServer(db_url, tmp_path, mode=mode).start()
    try:
        with requests.Session() as http:
            for delivery in order:
                if delivery.identifier not in acknowledged:
                    assert _post(http, server.base, delivery) in (200, 202)
        if mode == "embedded":
            assert server.wait_processed(180)["inbox_backlog"] == 0
    finally:
        server.stop()
    if mode == "production":
        assert _run_baton_workers(db_url, processes=1) == [0]

    assert delivery_count(engine) == len(history)  # every delivery exactly once
    assert delivery_count(engine, "done") == len(history)
    transitions, derived = clean_run(tmp_path, history)
    assert transition_set(engine) == transitions
    assert request_set(engine) == derived


def _run_baton_workers(db_url: str, processes: int) -> list[int]:
    """`baton worker --exit-when-idle` in `processes` processes at once; their exit codes."""
    import subprocess
    import sys

    command = [
        sys.executable,
        "-m",
        "baton.webhooks.cli",
        "worker",
        "--config",
        str(EXAMPLE_CONFIG),
        "--db",
        db_url,
    ]
    workers = [
        subprocess.Popen(
            [*command, "--batch", "7", "--exit-when-idle"], cwd=Path(__file__).resolve().parents[3]
        )
        for _ in range(processes)
    ]
    return [w.wait(120) for w in workers]


def test_production_receivers_only_store_and_baton_workers_process(
    db_url: str, engine: Engine, tmp_path: Path
) -> None:
    from baton.store.models import Delivery

    history = generated_history(5)
    server = GunicornServer(db_url, tmp_path, mode="production").start()
    try:
        with requests.Session() as http:
            for delivery in shuffled(history, seed=5):
                assert _post(http, server.base, delivery) == 202
        assert server.health()["inbox_backlog"] == len(history)  # receivers do not process
    finally:
        server.stop()
    assert "Using worker: gevent" in (tmp_path / f"gunicorn-{server.port}.log").read_text()

    # Two `baton worker` processes claim concurrently (FOR UPDATE SKIP LOCKED on PostgreSQL).
    assert _run_baton_workers(db_url, processes=2) == [0, 0]

    with Session(engine) as session:
        rows = session.execute(select(Delivery.state, Delivery.attempts)).all()
    assert sorted(rows) == [("done", 1)] * len(history)  # each claimed and processed exactly once

    # The dashboards' API answers from gevent workers exactly as in process.
    path = "/api/v1/handoffs/matrix"
    server = GunicornServer(db_url, tmp_path, mode="production", BATON_DEMO="1").start()
    try:
        served = requests.get(server.base + path, timeout=30)
    finally:
        server.stop()
    in_process = (
        create_app(
            Settings(database_url=db_url, config_path=str(EXAMPLE_CONFIG), mode="production", demo=True)
        )
        .test_client()
        .get(path)
    )
    assert served.status_code == in_process.status_code == 200
    served_body, in_process_body = served.json(), in_process.get_json()
    served_body.pop("as_of"), in_process_body.pop("as_of")  # the clock moved on between the two
    assert served_body == in_process_body and served_body["cells"]
    transitions, derived = clean_run(tmp_path, history)
    assert transition_set(engine) == transitions
    assert request_set(engine) == derived
