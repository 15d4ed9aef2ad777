"""Issue 12, embedded capacity: processing ran as a thread inside the serving processes, so
re-derivation held the GIL while acknowledgements waited (p99 85-244 ms at 50-250 deliveries/s).
Under gunicorn, embedded mode now processes in one separate process started by the master
(baton.webhooks.worker.processor), which the master restarts if it dies."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

import requests

from tests.hostile.conftest import WEBHOOK_PATH, Inbox
from tests.integration.webhooks.support import GunicornServer, generated_history


def _children(pid: int) -> dict[int, str]:
    """Direct children of `pid` with their command lines."""
    children: dict[int, str] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            children[int(child)] = cmdline
    return children


def _processor_pid(master: int) -> int:
    """The one child of the master that multiprocessing spawned (the serving workers are forks)."""
    spawned = [pid for pid, cmdline in _children(master).items() if "spawn_main" in cmdline]
    assert len(spawned) == 1, _children(master)
    return spawned[0]


def _processed_by(inbox: Inbox) -> set[str]:
    return {row.claimed_by or "" for row in inbox.rows() if row.state == "done"}


def _send(server: GunicornServer, deliveries: list) -> None:  # type: ignore[type-arg]
    for delivery in deliveries:
        response = requests.post(
            server.base + WEBHOOK_PATH, data=delivery.body, headers=delivery.headers(), timeout=10
        )
        assert response.status_code == 202, response.text


def test_embedded_gunicorn_processes_in_one_separate_process_and_restarts_it(
    start_server: Callable[..., GunicornServer], inbox: Inbox
) -> None:
    server = start_server()
    master = server.process.pid
    processor = _processor_pid(master)
    serving = {pid for pid, cmdline in _children(master).items() if "gunicorn" in cmdline}
    assert len(serving) == 2  # the two serving workers, which only receive

    history = generated_history(2)
    _send(server, history[:10])
    assert inbox.wait_until_settled(timeout=60) == {"done": 10}
    assert _processed_by(inbox) == {f"embedded-{processor}"}

    os.kill(processor, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while True:  # the master notices and starts a new processor
        try:
            replacement = _processor_pid(master)
            if replacement != processor:
                break
        except AssertionError:
            pass
        assert time.monotonic() < deadline, "the processor was not restarted"
        time.sleep(0.2)

    _send(server, history[10:])
    assert inbox.wait_until_settled(timeout=60) == {"done": 20}
    assert _processed_by(inbox) == {f"embedded-{processor}", f"embedded-{replacement}"}
    assert {pid for pid, cmdline in _children(master).items() if "gunicorn" in cmdline} == serving

    server.stop()
    assert (
        not Path(f"/proc/{replacement}").exists()
        or "zombie" in Path(f"/proc/{replacement}/status").read_text().lower()
    )


def test_a_sigterm_to_the_whole_group_stops_the_processor_without_an_error_or_a_restart(
    start_server: Callable[..., GunicornServer], inbox: Inbox
) -> None:
    """systemd and `docker stop` signal the whole process group: the processor ends a moment before
    the master begins to stop. That is a shutdown, not a crash: no ERROR, no new processor."""
    server = start_server()
    master = server.process.pid
    processor = _processor_pid(master)
    _send(server, generated_history(1)[:3])
    assert inbox.wait_until_settled(timeout=60) == {"done": 3}

    server.stop()  # SIGTERM to the process group
    assert server.process.returncode == 0
    log = (server.tmp / f"gunicorn-{server.port}.log").read_text()
    assert "embedded processor stopped with the server" in log
    assert "restarting it" not in log
    assert log.count("embedded processor started") == 1
    assert (
        not Path(f"/proc/{processor}").exists()
        or "zombie" in Path(f"/proc/{processor}/status").read_text().lower()
    )
