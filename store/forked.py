"""`run_forked`: independent CPU-bound tasks on several cores, for preview (issue 15).

Pandas holds the GIL for most of a derivation and the driver holds it while it builds rows, so threads
do not run them side by side; processes do (`start_method`):

- in a process with one thread (the CLI, a benchmark) on Linux the children are forked from it: they
  start at once (nothing is imported again) and inherit the task's inputs, so only each result is
  pickled back through a pipe;
- where other threads run (a gthread server's request threads), forking would copy the locks they hold
  at that instant, an import lock among them, and a child could wait for it forever. Where gevent has
  patched the process (a gevent server worker), a forked child would inherit the worker's greenlets and
  run them at its first wait for I/O: gunicorn's own loop among them, which sees a new parent process
  and exits the child before its task is done. The children are then forked from multiprocessing's
  fork server, a process of one thread started on first use and kept (the modules named in `preload`
  are imported there once): each task is pickled to its child.

A task must open its own database connection: one inherited from the parent is never used in a
child. Where neither way is available or one task is all there is, the tasks run one after another in
the calling process.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import signal
import sys
import threading
import traceback
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection
from typing import Any, TypeVar

T = TypeVar("T")


class ForkedTaskError(RuntimeError):
    """A task failed in its child process, or the child ended without a result (the message says which
    child and carries its traceback)."""


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity where the system tells it)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def start_method() -> str | None:
    """How `run_forked` starts its children in this process now: "fork" on Linux with one thread and
    no gevent, else "forkserver" (macOS's own libraries are not safe to use in a forked child either);
    None where the system has neither (the tasks then run here, one after another)."""
    methods = multiprocessing.get_all_start_methods()
    if (
        "fork" in methods
        and sys.platform == "linux"
        and threading.active_count() == 1
        and not _gevent_patched()
    ):
        return "fork"
    return "forkserver" if "forkserver" in methods else None


def _gevent_patched() -> bool:
    """Whether gevent has patched this process (gevent itself is never imported here to find out)."""
    monkey = sys.modules.get("gevent.monkey")
    return monkey is not None and bool(monkey.is_anything_patched())


def run_forked(
    tasks: Sequence[Callable[[], T]], *, method: str | None = None, preload: Sequence[str] = ()
) -> list[T]:
    """The tasks' results, in order: the first runs in this process while each other one runs in a
    child process (`method`: "fork" or "forkserver", default `start_method()`; `preload`: modules the
    fork server imports when it starts). A child's exception is raised here as itself (its cause, a
    `ForkedTaskError`, says which child and holds the child's traceback), or as a `ForkedTaskError`
    when it cannot be pickled or is not an `Exception` (a child's `SystemExit` does not end this
    process); if this process's own task fails, the children are stopped."""
    method = method or start_method()
    if len(tasks) <= 1 or method is None:
        return [task() for task in tasks]
    context: Any = multiprocessing.get_context(method)
    if method == "forkserver" and preload:
        context.set_forkserver_preload(list(preload))  # read when the server starts (first use)
    children: list[tuple[Any, Connection]] = []
    try:
        for task in tasks[1:]:
            receiving, sending = context.Pipe(duplex=False)
            child = context.Process(target=_child, args=(task, sending), daemon=True)
            child.start()
            sending.close()  # the child holds its end: a child that dies closes the pipe
            children.append((child, receiving))
        results = [tasks[0]()]
        for index, (child, receiving) in enumerate(children, start=1):
            results.append(_receive(child, receiving, index))
        return results
    finally:
        for child, receiving in children:
            if child.is_alive():
                child.terminate()
            child.join()
            receiving.close()


def _child(task: Callable[[], Any], sending: Connection) -> None:
    try:
        outcome: tuple[str, Any] = ("ok", task())
    except BaseException as error:  # everything goes back to the parent
        where = traceback.format_exc()
        text = ("error", f"{type(error).__name__}: {error}\n{where}")
        if not isinstance(error, Exception):  # SystemExit raised again there would end the parent
            outcome = text
        else:
            try:
                outcome = ("raise", (pickle.dumps(error), where))
            except Exception:  # an exception that cannot travel: its text does
                outcome = text
    sending.send(outcome)
    sending.close()


def _receive(child: Any, receiving: Connection, index: int) -> Any:
    try:
        kind, value = receiving.recv()
    except EOFError:
        child.join()
        raise ForkedTaskError(
            f"task {index} ended without a result (process {child.pid}): {_how(child.exitcode)}"
        ) from None
    if kind == "raise":  # the child's own exception, so callers handle it as if raised here
        pickled, where = value
        raise pickle.loads(pickled) from ForkedTaskError(
            f"task {index} failed in process {child.pid}:\n{where}"
        )
    if kind == "error":
        raise ForkedTaskError(f"task {index} failed in process {child.pid}: {value}")
    return value


def _how(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        name = signal.Signals(-exitcode).name if -exitcode in signal.valid_signals() else str(-exitcode)
        hint = " (the kernel's answer to running out of memory)" if -exitcode == signal.SIGKILL else ""
        return f"killed by {name}{hint}"
    return f"exit code {exitcode}"


__all__ = ["ForkedTaskError", "run_forked", "start_method", "usable_cores"]
