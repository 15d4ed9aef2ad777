"""Start the periodic reconcile (connector.reconcile) next to a serving or working process.

Gunicorn runs several workers and a host may run several `baton worker` processes; a reconcile per
process would only repeat the same idempotent work, so one process per host and database takes a
non-blocking file lock and runs the schedule, and the others skip it.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import tempfile
from typing import IO, Any

from sqlalchemy import Engine

from baton.webhooks.settings import Settings
from baton.webhooks.worker.loop import ConfigLoader

log = logging.getLogger("baton.webhooks")


class HeldSchedule:
    """A running ReconcileSchedule and the lock that makes it this host's only one."""

    def __init__(self, schedule: Any, lock: IO[str]) -> None:
        self.schedule = schedule
        self._lock = lock

    def stop(self) -> None:
        self.schedule.stop()
        self._lock.close()  # releases the flock


def _lock_path(engine: Engine) -> str:
    digest = hashlib.sha256(engine.url.render_as_string(hide_password=True).encode()).hexdigest()[:16]
    return os.path.join(tempfile.gettempdir(), f"baton-reconcile-{digest}.lock")


def start_reconcile_schedule(engine: Engine, settings: Settings, config: ConfigLoader) -> HeldSchedule | None:
    """The schedule when BATON_RECONCILE_INTERVAL and a Jira site are set and no other process on
    this host runs it for the same database; else None. `config` is the process's one PMO configuration."""
    from baton.connector.reconcile import INTERVAL_ENV, schedule_for_sites
    from baton.connector.sites import sites_from_env

    if settings.reconcile_interval_s <= 0:
        return None
    pmo = config()
    if pmo is None:
        log.warning("%s is set but there is no --config/$BATON_CONFIG: not reconciling", INTERVAL_ENV)
        return None
    lock = open(_lock_path(engine), "a")  # noqa: SIM115 - held for the schedule's lifetime
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        lock.close()
        return None
    schedule = schedule_for_sites(engine, pmo, sites_from_env(settings.jira), settings.reconcile_interval_s)
    if schedule is None:
        lock.close()
        return None
    return HeldSchedule(schedule, lock)
