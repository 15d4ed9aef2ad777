"""Serve a `JiraStandIn` over real HTTP on 127.0.0.1 (a thread per connection, keep-alive).

With `contract=` every request is validated against the OpenAPI spec before the stand-in sees it
(an invalid one gets 400 with the violation, like Prism's validation proxy) and every response body
is validated before it is sent (a mismatch gets 500). The integration test and the benchmark use it.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.contract.connector.standin import JiraStandIn


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: StandInServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        srv = self.server
        checked = None
        if srv.contract is not None and parts.path.startswith("/rest/api/3/"):
            try:
                checked = srv.contract.check_request(self.command, f"{srv.url}{self.path}", raw or None)
            except AssertionError as error:
                srv.violations.append(str(error))
                self._send(400, {}, {"errorMessages": [f"contract violation: {error}"], "errors": {}})
                return
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            self._send(400, {}, {"errorMessages": ["body is not JSON"], "errors": {}})
            return
        status, headers, payload = srv.standin.handle(self.command, parts.path, parse_qs(parts.query), body)
        if checked is not None:
            try:
                srv.contract.check_response(checked, status, payload)  # type: ignore[union-attr]
            except AssertionError as error:
                srv.violations.append(str(error))
                self._send(
                    500,
                    {},
                    {"errorMessages": [f"stand-in response violates the contract: {error}"], "errors": {}},
                )
                return
        self._send(status, headers, payload)

    def _send(self, status: int, headers: dict[str, str], payload: Any) -> None:
        data = b"" if payload is None else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        if data:
            self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = _serve


class StandInServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def __init__(self, standin: JiraStandIn, contract: Any = None, port: int = 0) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.standin = standin
        self.contract = contract
        self.violations: list[str] = []

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"


@contextmanager
def serving(standin: JiraStandIn, contract: Any = None, port: int = 0) -> Iterator[StandInServer]:
    server = StandInServer(standin, contract, port)
    standin.base = server.url
    thread = threading.Thread(target=server.serve_forever, name="jira-standin", daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
