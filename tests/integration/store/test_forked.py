"""`baton.store.forked.run_forked`: tasks in child processes, results in order, failures reported
(the parallel preview's machinery, issue 15). Real processes, no mocks; both ways of starting them."""

from __future__ import annotations

import multiprocessing
import os
import re
import signal
import sqlite3
import sys
import threading
import time
from functools import partial
from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError

from baton.store.forked import ForkedTaskError, run_forked, start_method

METHODS = [m for m in ("fork", "forkserver") if m in multiprocessing.get_all_start_methods()]
FORK = pytest.mark.skipif(sys.platform != "linux", reason="Baton forks from one thread on Linux only")
pytestmark = pytest.mark.skipif(not METHODS, reason="no way to start a child process here")


def named_pid(name: str) -> tuple[str, int, int]:
    return name, os.getpid(), os.getppid()


def fails() -> int:
    raise ValueError("the chunk could not be read")


def exits() -> int:
    sys.exit(0)


def dies() -> int:
    os._exit(3)


def killed() -> int:
    os.kill(os.getpid(), signal.SIGKILL)
    return 0


def sleeps(pid_file: Path) -> None:
    pid_file.write_text(str(os.getpid()))
    time.sleep(60)


@pytest.mark.parametrize("method", METHODS)
def test_results_come_back_in_order_and_only_the_first_task_runs_here(method: str) -> None:
    here = os.getpid()
    results = run_forked([partial(named_pid, n) for n in "abc"], method=method)
    assert [name for name, _pid, _parent in results] == ["a", "b", "c"]
    pids = [pid for _name, pid, _parent in results]
    assert pids[0] == here and here not in pids[1:] and len(set(pids)) == 3
    parents = {parent for _name, _pid, parent in results[1:]}
    # forked from here, or from the fork server (one process of its own)
    assert parents == {here} if method == "fork" else (len(parents) == 1 and here not in parents)


@FORK
def test_a_forked_child_inherits_its_inputs_without_pickling_them() -> None:
    unpicklable = (lambda: None, 41)  # a lambda cannot be pickled: only the result travels
    assert run_forked([lambda: 0, lambda: unpicklable[1] + 1], method="fork") == [0, 42]


@pytest.mark.parametrize("method", METHODS)
def test_a_childs_exception_is_raised_here_as_itself_with_its_message(method: str) -> None:
    with pytest.raises(ValueError, match=r"^the chunk could not be read$") as raised:
        run_forked([partial(named_pid, "a"), fails], method=method)
    cause = raised.value.__cause__
    assert isinstance(cause, ForkedTaskError)
    assert re.search(r"task 1 failed .*\n.*ValueError: the chunk could not be read", str(cause), re.S)
    assert "in fails\n" in str(cause)  # the child's traceback


def database_gone() -> int:
    raise OperationalError("SELECT 1", {}, sqlite3.OperationalError("unable to open database file"))


class Unpicklable(Exception):
    def __init__(self) -> None:
        super().__init__("holds a lock")
        self.lock = threading.Lock()


def unpicklable() -> int:
    raise Unpicklable()


@pytest.mark.parametrize("method", METHODS)
def test_a_childs_database_error_reaches_the_handlers_of_database_errors(method: str) -> None:
    """The CLI and the HTTP layer turn OperationalError into "database unavailable" (exit 3 / 503)."""
    with pytest.raises(OperationalError, match="unable to open database file") as raised:
        run_forked([partial(named_pid, "a"), database_gone], method=method)
    assert isinstance(raised.value.orig, sqlite3.OperationalError)


@pytest.mark.parametrize("method", METHODS)
def test_an_exception_that_cannot_travel_comes_as_its_text(method: str) -> None:
    with pytest.raises(ForkedTaskError, match=r"task 1 failed .*Unpicklable: holds a lock"):
        run_forked([partial(named_pid, "a"), unpicklable], method=method)


@pytest.mark.parametrize("method", METHODS)
def test_a_childs_system_exit_is_reported_and_does_not_end_this_process(method: str) -> None:
    with pytest.raises(ForkedTaskError, match=r"task 1 failed in process \d+: SystemExit: 0"):
        run_forked([os.getpid, exits], method=method)


@pytest.mark.parametrize("method", METHODS)
def test_a_child_that_dies_is_reported_with_its_exit_code(method: str) -> None:
    with pytest.raises(ForkedTaskError, match=r"task 1 ended without a result .*exit code 3"):
        run_forked([partial(named_pid, "a"), dies], method=method)


@pytest.mark.parametrize("method", METHODS)
def test_a_child_killed_by_the_kernel_is_reported_as_such(method: str) -> None:
    with pytest.raises(
        ForkedTaskError, match=r"task 1 ended without a result .*killed by SIGKILL \(the kernel's"
    ):
        run_forked([partial(named_pid, "a"), killed], method=method)


@pytest.mark.parametrize("method", METHODS)
def test_when_the_task_here_fails_the_children_are_stopped(method: str, tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"

    def fails_here() -> None:
        while not pid_file.exists():
            time.sleep(0.01)
        raise RuntimeError("here")

    started = time.monotonic()
    with pytest.raises(RuntimeError, match="here"):
        run_forked([fails_here, partial(sleeps, pid_file)], method=method)
    assert time.monotonic() - started < 30
    time.sleep(0.2)  # a fork server's child is reaped by the server, just after it is stopped
    with pytest.raises(ProcessLookupError):
        os.kill(int(pid_file.read_text()), 0)


def test_children_are_forked_only_while_this_process_has_one_thread() -> None:
    """With other threads running, a fork copies the locks they hold (an import lock: the child could
    hang on it): the children then come from the fork server."""
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert start_method() == "forkserver"
        (_n, _pid, _parent), (_m, _child, server) = run_forked(
            [partial(named_pid, "a"), partial(named_pid, "b")]
        )
        assert server != os.getpid()
    finally:
        stop.set()
        other.join()
    if threading.active_count() == 1 and sys.platform == "linux":  # pytest-xdist runs helper threads
        assert start_method() == "fork"


GEVENT_WORKER = """
from gevent import monkey

monkey.patch_all()
import os, sys, time

import gevent

from baton.store.forked import run_forked, start_method
from tests.integration.store.test_forked import waits_for_io

worker = os.getpid()


def watches_its_parent():  # what gunicorn's gevent worker loop does, once a second
    while True:
        if os.getpid() != worker:
            sys.exit(0)
        gevent.sleep(0.01)


gevent.spawn(watches_its_parent)
gevent.sleep(0)
print(start_method(), run_forked([os.getpid, waits_for_io]) != [worker, worker], flush=True)
"""


def waits_for_io() -> int:
    time.sleep(0.3)  # under gevent, a wait that runs the hub's other greenlets
    return os.getpid()


def test_a_gevent_worker_starts_children_from_the_fork_server() -> None:
    """A child forked from a gevent worker would run the worker's greenlets at its first wait for I/O;
    gunicorn's loop, seeing a new parent, ends it (exit code 0, no result) before its task is done."""
    import subprocess

    pytest.importorskip("gevent")
    if "forkserver" not in METHODS:
        pytest.skip("no fork server here")
    repo = Path(__file__).resolve().parents[3]
    ran = subprocess.run(
        [sys.executable, "-c", GEVENT_WORKER],
        cwd=repo,
        env={**os.environ, "PYTHONPATH": str(repo)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ran.returncode == 0, ran.stderr[-3000:]
    assert ran.stdout.split() == ["forkserver", "True"]


def test_one_task_runs_here_without_a_child() -> None:
    assert run_forked([os.getpid]) == [os.getpid()]
    assert run_forked([]) == []
