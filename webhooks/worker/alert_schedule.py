"""Alerts every minute next to a serving or working process (`baton.connector.alerts.run_pass`).

The embedded server (each gunicorn worker builds the app) and `baton worker` processes all start it;
one process per host and database runs the passes (`baton.webhooks.worker.schedule_lock`), the others
skip it. Processes on other hosts may run passes at the same time: the alert log's leases
(`baton.store.alerts.claim`) keep them from sending the same alert twice.

A pass runs at once when the schedule starts (a restart sends what is pending without waiting), then
every `ALERT_INTERVAL_S`. It runs in its own daemon thread: a slow or failing target never holds up
the inbox drainer or the webhook receiver.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from baton.webhooks.metrics import count_alert
from baton.webhooks.settings import Clock, Settings
from baton.webhooks.worker.loop import ConfigLoader
from baton.webhooks.worker.schedule_lock import HeldSchedule, start_held

log = logging.getLogger("baton.webhooks.worker")

ALERT_INTERVAL_S = 60.0


def run_alert_pass(engine: Engine, config: Any, now: datetime, settings: Settings, **options: Any) -> Any:
    """One pass (`baton alerts send` and the schedule): metrics counted, secrets from the settings;
    `options` go to `baton.connector.alerts.run_pass` (tests pass a retry policy)."""
    from baton.connector.alerts import Outcome, run_pass

    def counted(outcome: Outcome) -> None:
        count_alert(outcome.target, outcome.state, outcome.status)

    return run_pass(engine, config, now, settings.alerts, on_outcome=counted, **options)


class AlertSchedule:
    """Runs `run_once` now and every `interval_s` seconds in a daemon thread until `stop()`."""

    def __init__(self, run_once: Callable[[], Any], interval_s: float = ALERT_INTERVAL_S) -> None:
        self.run_once = run_once
        self.interval_s = interval_s
        self.runs = 0
        self.last_error: str | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="baton-alerts", daemon=True)

    def start(self) -> AlertSchedule:
        self._thread.start()
        return self

    def stop(self, timeout: float = 10) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def _loop(self) -> None:
        while True:
            try:
                self.run_once()
                self.last_error = None
            except Exception as error:  # never kill the thread: the next pass tries again
                self.last_error = type(error).__name__
                log.exception(
                    "alert pass failed", extra={"event": "alerts_failed", "error": type(error).__name__}
                )
            self.runs += 1
            if self._stop.wait(self.interval_s):
                return


def start_alert_schedule(
    engine: Engine,
    settings: Settings,
    config: ConfigLoader,
    clock: Clock,
    interval_s: float = ALERT_INTERVAL_S,
) -> HeldSchedule[AlertSchedule] | None:
    """The schedule when the PMO configuration has `alerts:` targets and no other process on this host
    runs it for the same database; else None. `clock` evaluates the clocks (BATON_NOW pins it)."""
    try:
        pmo = config()
    except Exception as error:  # the drainer reports a broken configuration; alerts just stay off
        log.warning("no alerts: the configuration did not load (%s)", type(error).__name__)
        return None
    if pmo is None or not getattr(pmo, "alerts", None):
        return None

    def start() -> AlertSchedule:
        log.info(
            "sending alerts every %.0fs",
            interval_s,
            extra={"event": "alerts_started", "targets": len(pmo.alerts)},
        )
        return AlertSchedule(lambda: run_alert_pass(engine, pmo, clock(), settings), interval_s).start()

    return start_held(engine, "alerts", start)
