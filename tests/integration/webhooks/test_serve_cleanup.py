"""`baton serve` leaves nothing in the temp folder: the Prometheus multiprocess directory it makes for
itself is removed when it stops (issue 16, item 9)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _serve_and_stop(tmp_path: Path, extra_env: dict[str, str]) -> None:
    port = _free_port()
    env = {name: value for name, value in os.environ.items() if name != "PROMETHEUS_MULTIPROC_DIR"}
    env |= {"TMPDIR": str(tmp_path / "tmp"), "BATON_DATABASE_URL": f"sqlite:///{tmp_path / 'baton.db'}"}
    env |= extra_env
    server = subprocess.Popen(
        [sys.executable, "-m", "baton", "serve", "--port", str(port), "--workers", "1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
                    assert response.status == 200
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, "baton serve did not start"
                time.sleep(0.3)
    finally:
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=60) == 0


def test_serve_removes_the_metrics_directory_it_made(tmp_path: Path) -> None:
    (tmp_path / "tmp").mkdir()
    _serve_and_stop(tmp_path, {})
    assert sorted(p.name for p in (tmp_path / "tmp").iterdir()) == []


def test_serve_keeps_a_metrics_directory_it_was_given(tmp_path: Path) -> None:
    (tmp_path / "tmp").mkdir()
    given = tmp_path / "metrics"
    given.mkdir()
    _serve_and_stop(tmp_path, {"PROMETHEUS_MULTIPROC_DIR": str(given)})
    assert given.is_dir()
    assert sorted(p.name for p in (tmp_path / "tmp").iterdir()) == []
