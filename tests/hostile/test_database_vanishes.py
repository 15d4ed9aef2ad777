"""Issue 12 row 5, the fault test: PostgreSQL vanishing mid-stream made 364 × 500 and 2 × 503
(`psycopg.OperationalError` raised outside the `try` in the fast writer).

A TCP proxy stands between a receive-only server and PostgreSQL. While deliveries stream in, the
proxy is cut (listener and every connection closed) for about three seconds, then listens again on the
same port. Every answer must be 202/200, or 503 with `Retry-After`; never a 500 or a traceback. Once
the database is back, the refused deliveries are sent again (as Jira retries) and every delivery is
stored exactly once and processed by `baton worker`."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import make_url

from baton.store.db import create_engine_for
from baton.webhooks.http.errors import RETRY_AFTER_S
from tests.hostile.conftest import Inbox, post, run_worker, server_log
from tests.hostile.tcp_proxy import TcpProxy
from tests.integration.webhooks.support import GeneratedDelivery, GunicornServer, generated_history

SENDERS = 4
OUTAGE_S = 3.0
ACKNOWLEDGED_BEFORE_THE_CUT = 50


@dataclass(frozen=True, slots=True)
class Answer:
    delivery: GeneratedDelivery
    status: int
    retry_after: str | None
    after_restart: bool


@pytest.fixture
def proxy(postgres_url: str) -> Iterator[TcpProxy]:
    upstream = make_url(postgres_url)
    proxy = TcpProxy(upstream.port or 5432).start()
    yield proxy
    proxy.stop()


@pytest.fixture
def pg_inbox(postgres_url: str) -> Iterator[Inbox]:
    engine = create_engine_for(postgres_url, pool_size=1, max_overflow=0)
    yield Inbox(engine)
    engine.dispose()


def test_the_database_vanishing_mid_stream_gives_503s_never_500s_and_loses_nothing(
    postgres_url: str, proxy: TcpProxy, pg_inbox: Inbox, tmp_path: Path
) -> None:
    through_proxy = make_url(postgres_url).set(host="127.0.0.1", port=proxy.port)
    server = GunicornServer(
        through_proxy.render_as_string(hide_password=False), tmp_path, mode="production"
    ).start()
    try:
        answers = _stream_through_an_outage(server, proxy)
        retried = [post(server.base, a.delivery) for a in answers if a.status == 503]
        log = server_log(server)
    finally:
        server.stop()

    statuses = Counter(a.status for a in answers)
    assert set(statuses) <= {202, 503}, statuses
    assert statuses[503] > 0, "the outage was not seen: nothing was refused"
    assert {a.retry_after for a in answers if a.status == 503} == {str(RETRY_AFTER_S)}
    assert any(a.status == 202 for a in answers if a.after_restart), "never recovered"
    assert "Traceback" not in log
    # Retried, each refused delivery is acknowledged: 202, or 200 when the cut came after its commit
    # reached the database but before the server heard back (the retry finds it stored).
    assert {r.status_code for r in retried} <= {200, 202}, [r.status_code for r in retried]

    sent = [a.delivery for a in answers]
    bodies = Counter(row.body for row in pg_inbox.rows())
    assert [bodies[d.body] for d in sent] == [1] * len(sent)
    assert sum(bodies.values()) == len(sent)
    run_worker(postgres_url)
    assert pg_inbox.states() == {"done": len(sent)}


def _stream_through_an_outage(server: GunicornServer, proxy: TcpProxy) -> list[Answer]:
    """Send deliveries from SENDERS threads; cut the proxy for OUTAGE_S, restart it, and stop
    once a delivery was acknowledged after the restart."""
    pending = iter(generated_history(100))  # 1,000: more than the test sends
    lock = threading.Lock()
    answers: list[Answer] = []
    restarted = threading.Event()
    finished = threading.Event()

    def send() -> None:
        while not finished.is_set():
            with lock:
                delivery = next(pending, None)
            if delivery is None:
                return
            after_restart = restarted.is_set()
            response = post(server.base, delivery)
            answer = Answer(
                delivery, response.status_code, response.headers.get("Retry-After"), after_restart
            )
            with lock:
                answers.append(answer)
            if after_restart and response.status_code == 202:
                finished.set()
            if response.status_code == 503:
                time.sleep(0.1)  # a client backing off a little: keeps the outage's answers few

    senders = [threading.Thread(target=send) for _ in range(SENDERS)]
    for sender in senders:
        sender.start()
    while len(answers) < ACKNOWLEDGED_BEFORE_THE_CUT:  # deliveries flowing through the proxy
        time.sleep(0.05)
    proxy.stop()
    time.sleep(OUTAGE_S)
    proxy.start()
    restarted.set()
    for sender in senders:
        sender.join(60)
    finished.set()
    return answers
