"""The SQLite write turn (`baton.store.sqlutil.FileLock`) is a mutex between the threads of one process
as well as between processes. An `flock` belongs to the open file, so threads sharing the descriptor
used to enter together, and two threads opening it at once on first use left it locked for good:
`test_concurrent_workers_converge` (four workers in one process) hung that way."""

from __future__ import annotations

import multiprocessing
import threading
import time
from pathlib import Path

from baton.store.sqlutil import FileLock

THREADS = 8
ROUNDS = 200


def test_threads_sharing_one_lock_take_turns_and_never_hang(tmp_path: Path) -> None:
    lock = FileLock(str(tmp_path / "baton.db.write-lock"))
    start = threading.Barrier(THREADS)  # every thread's first use at once: the descriptor is opened once
    inside = 0
    most_inside = 0
    counter = threading.Lock()

    def work() -> None:
        nonlocal inside, most_inside
        start.wait()
        for _ in range(ROUNDS):
            with lock:
                with counter:
                    inside += 1
                    most_inside = max(most_inside, inside)
                time.sleep(0)  # let another thread try to enter
                with counter:
                    inside -= 1

    threads = [threading.Thread(target=work, daemon=True) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 60
    for thread in threads:
        thread.join(timeout=max(0.0, deadline - time.monotonic()))
    assert not [t for t in threads if t.is_alive()], "a thread is still waiting for the lock"
    assert most_inside == 1


def _hold(
    path: str, held: multiprocessing.synchronize.Event, release: multiprocessing.synchronize.Event
) -> None:
    with FileLock(path):
        held.set()
        release.wait(30)


def test_another_process_waits_for_the_holder(tmp_path: Path) -> None:
    path = str(tmp_path / "baton.db.write-lock")
    context = multiprocessing.get_context("spawn")
    held, release = context.Event(), context.Event()
    holder = context.Process(target=_hold, args=(path, held, release))
    holder.start()
    try:
        assert held.wait(30)
        entered = threading.Event()

        def enter() -> None:
            with FileLock(path):
                entered.set()

        waiter = threading.Thread(target=enter, daemon=True)
        waiter.start()
        assert not entered.wait(0.5)  # the other process holds it
        release.set()
        assert entered.wait(30)
    finally:
        release.set()
        holder.join(30)
