"""Hostile input against a real server: gunicorn (embedded mode, two workers) on SQLite and PostgreSQL.

One module per row of issue 12. Each test sends its hostile input between two ordinary signed
deliveries and asserts the exact status, what the inbox holds afterwards (nothing, a quarantined
row, or the delivery once) and that both neighbours were stored and processed as usual.

Fixtures and helpers for the next rows:
- `server`: a started `GunicornServer` (tests/integration/webhooks/support.py) on `db_url`;
  `start_server(**env)` starts another one (e.g. after a restart), stopped at teardown;
- `inbox`: an `Inbox` reading the deliveries table of `db_url` (counts per state, rows, bodies);
- `neighbours`: sends ordinary deliveries before and after the hostile one and checks them;
- `raw_request(port, data)`: bytes over a plain socket, for what `requests` will not send
  (chunked bodies, broken framing); returns status, headers and body;
- `run_worker(db_url)`: `baton worker --exit-when-idle` over the database, to completion;
- `server_log(server)`: what the server wrote to its log so far.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from baton.connector.signatures import sign
from baton.store.db import create_engine_for
from baton.store.models import Delivery
from tests.integration.webhooks.support import (
    EXAMPLE_CONFIG,
    REPO_ROOT,
    SECRET,
    GeneratedDelivery,
    GunicornServer,
    generated_history,
)

HOSTILE_DIR = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test here starts a real server: all are slow (`pytestmark` in a conftest marks nothing)."""
    for item in items:
        if HOSTILE_DIR in item.path.parents:
            item.add_marker(pytest.mark.slow)


WEBHOOK_PATH = "/webhooks/jira"


@dataclass(frozen=True, slots=True)
class RawResponse:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def raw_request(port: int, data: bytes | list[bytes], timeout: float = 30.0) -> RawResponse:
    """Send `data` (one buffer, or parts sent one after another) and read the answer until the
    server closes the connection or the announced body is complete. Send `Connection: close`."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        try:
            for part in [data] if isinstance(data, bytes) else data:
                sock.sendall(part)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may answer and close before the whole body is sent (a 413)
        received = b""
        while True:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            received += chunk
            head, sep, body = received.partition(b"\r\n\r\n")
            if sep:
                length = _content_length(head)
                if length is not None and len(body) >= length:
                    break
    head, _, body = received.partition(b"\r\n\r\n")
    if not head:
        raise AssertionError("the server closed the connection without an answer")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return RawResponse(status, headers, body)


def _content_length(head: bytes) -> int | None:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value.strip())
    return None


def chunked_post(path: str, body: bytes, headers: dict[str, str], chunk_size: int = 64 * 1024) -> list[bytes]:
    """A POST with `Transfer-Encoding: chunked` (no Content-Length), as parts for `raw_request`."""
    head = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", "Transfer-Encoding: chunked", "Connection: close"]
    head += [f"{name}: {value}" for name, value in headers.items()]
    parts = ["\r\n".join(head).encode() + b"\r\n\r\n"]
    for start in range(0, len(body), chunk_size):
        chunk = body[start : start + chunk_size]
        parts.append(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
    parts.append(b"0\r\n\r\n")
    return parts


def post(base: str, delivery: GeneratedDelivery) -> requests.Response:
    """POST one generated delivery, signed, to the webhook at `base`."""
    return requests.post(base + WEBHOOK_PATH, data=delivery.body, headers=delivery.headers(), timeout=30)


def run_worker(db_url: str, timeout: float = 120.0) -> None:
    """`baton worker --exit-when-idle` over `db_url` until the inbox is empty; fails on a non-zero exit."""
    command = [sys.executable, "-m", "baton", "worker", "--config", str(EXAMPLE_CONFIG), "--db", db_url]
    finished = subprocess.run(
        [*command, "--exit-when-idle"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=timeout
    )
    assert finished.returncode == 0, finished.stderr[-3000:]


def server_log(server: GunicornServer) -> str:
    """Everything the server (master and workers) wrote to its log file so far."""
    server.log.flush()
    return (server.tmp / f"gunicorn-{server.port}.log").read_text(errors="replace")


def signed(body: bytes, **extra: str) -> dict[str, str]:
    return {"Content-Type": "application/json", "X-Hub-Signature": sign(SECRET, body), **extra}


class Inbox:
    """The deliveries table, read directly."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def states(self) -> dict[str, int]:
        """Rows per state, e.g. {"done": 2, "quarantined": 1}."""
        query = select(Delivery.state, func.count(Delivery.id)).group_by(Delivery.state)
        with Session(self.engine) as session:
            return {state: int(count) for state, count in session.execute(query).all()}

    def rows(self) -> list[Delivery]:
        with Session(self.engine) as session:
            return list(session.execute(select(Delivery).order_by(Delivery.id)).scalars())

    def wait_until_settled(self, timeout: float = 60.0) -> dict[str, int]:
        """States once nothing is pending or processing (or when `timeout` runs out)."""
        deadline = time.monotonic() + timeout
        while True:
            states = self.states()
            if not ({"pending", "processing"} & states.keys()) or time.monotonic() > deadline:
                return states
            time.sleep(0.1)


@dataclass
class Neighbours:
    """Ordinary deliveries sent around a hostile one; each must be stored once and processed."""

    base: str  # the server's URL, or a proxy's in front of it
    inbox: Inbox
    history: list[GeneratedDelivery]
    sent: list[GeneratedDelivery] = field(default_factory=list)

    def send(self) -> None:
        delivery = self.history[len(self.sent)]
        response = post(self.base, delivery)
        assert response.status_code == 202, response.text
        self.sent.append(delivery)

    def assert_stored_once_and_processed(self) -> None:
        self.inbox.wait_until_settled()
        rows = self.inbox.rows()
        for delivery in self.sent:
            mine = [(row.state, row.error) for row in rows if row.body == delivery.body]
            assert mine == [("done", None)], delivery.identifier


@pytest.fixture
def inbox(db_url: str) -> Iterator[Inbox]:
    engine = create_engine_for(db_url, pool_size=1, max_overflow=0)
    try:
        yield Inbox(engine)
    finally:
        engine.dispose()


@pytest.fixture
def start_server(db_url: str, tmp_path: Path) -> Iterator[Callable[..., GunicornServer]]:
    started: list[GunicornServer] = []

    def start(**env: str) -> GunicornServer:
        server = GunicornServer(db_url, tmp_path, **env).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def server(start_server: Callable[..., GunicornServer]) -> GunicornServer:
    return start_server()


@pytest.fixture
def neighbours(server: GunicornServer, inbox: Inbox) -> Neighbours:
    return Neighbours(server.base, inbox, generated_history(2))
