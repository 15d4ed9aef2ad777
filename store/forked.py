"""`run_forked`: independent CPU-bound tasks on several cores, for preview (issue 15).

Pandas holds the GIL for most of a derivation and the driver holds it while it builds rows, so threads
do not run them side by side; processes do. The children are forked: they start at once (nothing is
imported again) and inherit the task's inputs, so only each result is pickled back through a pipe.

A task must open its own database connection: one inherited from the parent is never used in a
child. Where forking is not available (not Linux or macOS) or would give nothing (one task), the tasks
run one after another in the calling process.
"""

from __future__ import annotations

import multiprocessing
import os
import traceback
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection
from typing import Any, TypeVar

T = TypeVar("T")


class ForkedTaskError(RuntimeError):
    """A task failed in its child process (the message carries the child's error and traceback)."""


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity where the system tells it)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def can_fork() -> bool:
    return "fork" in multiprocessing.get_all_start_methods()


def run_forked(tasks: Sequence[Callable[[], T]]) -> list[T]:
    """The tasks' results, in order: the first runs in this process while each other one runs in a
    forked child. A child's exception is raised here as `ForkedTaskError`; if this process's own task
    fails, the children are stopped."""
    if len(tasks) <= 1 or not can_fork():
        return [task() for task in tasks]
    context = multiprocessing.get_context("fork")
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
    except BaseException as error:  # everything goes back to the parent, which raises it
        outcome = ("error", f"{type(error).__name__}: {error}\n{traceback.format_exc()}")
    sending.send(outcome)
    sending.close()


def _receive(child: Any, receiving: Connection, index: int) -> Any:
    try:
        kind, value = receiving.recv()
    except EOFError:
        child.join()
        raise ForkedTaskError(
            f"task {index} ended without a result (process {child.pid}, exit code {child.exitcode}): "
            "it was killed, most likely for lack of memory"
        ) from None
    if kind == "error":
        raise ForkedTaskError(f"task {index} failed in process {child.pid}: {value}")
    return value


__all__ = ["ForkedTaskError", "can_fork", "run_forked", "usable_cores"]
