"""One process per host and database runs each periodic pass (the reconcile, the alerts).

Gunicorn runs several workers and a host may run several `baton worker` processes, and each of them
starts the schedules. The first to take a non-blocking file lock named after the pass and the
database runs the schedule and holds the lock for its lifetime; the others skip it. The kernel drops
the lock when the holding process dies, so another process's next start takes it over.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import tempfile
from collections.abc import Callable
from typing import IO, Generic, Protocol, TypeVar

from sqlalchemy import Engine


class Schedule(Protocol):
    def stop(self) -> None: ...


S = TypeVar("S", bound=Schedule)


class HeldSchedule(Generic[S]):
    """A running schedule and the lock that makes it this host's only one."""

    def __init__(self, schedule: S, lock: IO[str]) -> None:
        self.schedule = schedule
        self._lock = lock

    def stop(self) -> None:
        self.schedule.stop()
        self._lock.close()  # releases the flock


def lock_path(engine: Engine, name: str) -> str:
    """The lock file of the pass `name` for the engine's database (the URL without its password)."""
    digest = hashlib.sha256(engine.url.render_as_string(hide_password=True).encode()).hexdigest()[:16]
    return os.path.join(tempfile.gettempdir(), f"baton-{name}-{digest}.lock")


def start_held(engine: Engine, name: str, start: Callable[[], S | None]) -> HeldSchedule[S] | None:
    """`start()`'s schedule held under this host's lock for `name` and the engine's database; None
    when another process holds the lock (`start` is not called) or `start()` gives None (the lock is
    released)."""
    lock = open(lock_path(engine, name), "a")  # noqa: SIM115 - held for the schedule's lifetime
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        lock.close()
        return None
    schedule = start()
    if schedule is None:
        lock.close()
        return None
    return HeldSchedule(schedule, lock)
