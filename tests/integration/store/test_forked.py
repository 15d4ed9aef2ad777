"""`baton.store.forked.run_forked`: tasks in forked processes, results in order, failures reported
(the parallel preview's machinery, issue 15). Real processes, no mocks."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from baton.store.forked import ForkedTaskError, can_fork, run_forked

pytestmark = pytest.mark.skipif(not can_fork(), reason="forking is not available on this system")


def test_results_come_back_in_order_and_only_the_first_task_runs_here() -> None:
    here = os.getpid()
    results = run_forked([lambda: ("a", os.getpid()), lambda: ("b", os.getpid()), lambda: ("c", os.getpid())])
    assert [name for name, _pid in results] == ["a", "b", "c"]
    pids = [pid for _name, pid in results]
    assert pids[0] == here
    assert here not in pids[1:] and len(set(pids)) == 3


def test_a_child_inherits_its_inputs_without_pickling_them() -> None:
    unpicklable = (lambda: None, 41)  # a lambda cannot be pickled: only the result travels
    assert run_forked([lambda: 0, lambda: unpicklable[1] + 1]) == [0, 42]


def test_a_childs_exception_is_raised_here_with_its_message() -> None:
    def fails() -> int:
        raise ValueError("the chunk could not be read")

    with pytest.raises(ForkedTaskError, match=r"task 1 failed .*ValueError: the chunk could not be read"):
        run_forked([lambda: 1, fails])


def test_a_child_that_dies_is_reported_with_its_exit_code() -> None:
    with pytest.raises(ForkedTaskError, match=r"task 1 ended without a result .*exit code 3"):
        run_forked([lambda: 1, lambda: os._exit(3)])


def test_when_the_task_here_fails_the_children_are_stopped(tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"

    def sleeps() -> None:
        pid_file.write_text(str(os.getpid()))
        time.sleep(60)

    def fails_here() -> None:
        while not pid_file.exists():
            time.sleep(0.01)
        raise RuntimeError("here")

    started = time.monotonic()
    with pytest.raises(RuntimeError, match="here"):
        run_forked([fails_here, sleeps])
    assert time.monotonic() - started < 30
    with pytest.raises(ProcessLookupError):  # stopped and reaped
        os.kill(int(pid_file.read_text()), 0)


def test_one_task_runs_here_without_forking() -> None:
    assert run_forked([os.getpid]) == [os.getpid()]
    assert run_forked([]) == []
