"""Embedded mode under gunicorn: one processing process beside the serving workers.

Processing (extract, record, re-derive) is CPU-bound. Run as a thread inside a serving process it
holds the GIL while acknowledgements wait: p99 acknowledgement rose to 85-244 ms at 50-250
deliveries/s (bench/README.md, "Capacity"). So gunicorn's master starts one child process, the
*embedded processor*, before it forks the serving workers. The processor runs the loop of `baton
worker` (`run_worker`: the same `process_pending` path, the same configuration sync on start, the
periodic reconcile, the alert pass every minute) and polls the inbox every `POLL_SECONDS`, so a delivery is processed well within a
second of its acknowledgement and a restart's leftovers are drained at once without new traffic.
The serving workers then only receive, like production receivers.

The master restarts the processor if it dies (a killed processor loses nothing: claimed rows return
to the inbox after `baton.store.inbox`'s claim timeout) and stops it when the server stops. A
processor that ends while the server is stopping (a SIGTERM to the whole process group, as systemd
and `docker stop` send, reaches it before the master's own shutdown does) is not restarted, and
says so at INFO: an ERROR there would page someone at every deploy.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import wait
from typing import Any

log = logging.getLogger("baton.webhooks.worker")

POLL_SECONDS = 0.2
"""How often the processor looks at an empty inbox: the ceiling on ack-to-processed latency at rest."""
RESTART_BACKOFF_SECONDS = 1.0
"""How long the master waits before restarting a processor that ended, watching meanwhile whether the
server is stopping (then the processor is not restarted)."""

_running_in_master = False
"""Set in gunicorn's master before it forks the serving workers, which inherit it."""


def separate_processor() -> bool:
    """Whether this serving process's deliveries are processed by the master's processor process
    (then the app starts no drainer thread of its own)."""
    return _running_in_master


def run_processor() -> None:
    """The processor process's body: the settings come from the environment `baton serve` exported."""
    from baton.store.db import create_engine_for, resolve_database_url
    from baton.webhooks.logging import configure_logging
    from baton.webhooks.settings import Settings
    from baton.webhooks.worker.alert_schedule import start_alert_schedule
    from baton.webhooks.worker.loop import load_config_lazily, run_worker
    from baton.webhooks.worker.reconcile_schedule import start_reconcile_schedule

    settings = Settings.from_env()
    configure_logging(settings.log_level)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group; the master stops us
    config = load_config_lazily(settings.config_path)
    engine = create_engine_for(resolve_database_url(settings.database_url))
    try:
        pmo = config()
        if pmo is None:
            log.warning(
                "no PMO configuration: deliveries are stored but not processed; set BATON_CONFIG",
                extra={"event": "processing_disabled"},
            )
            stop.wait()
            return
        reconcile = start_reconcile_schedule(engine, settings, config)
        alerts = start_alert_schedule(engine, settings, config, settings.clock())
        try:
            run_worker(
                engine,
                pmo,
                batch_bytes=settings.worker_batch_bytes,
                poll_interval=POLL_SECONDS,
                stop=stop,
                name=f"embedded-{os.getpid()}",
                as_code=settings.config_as_code,
                freeze_startup_objects=True,
            )
        finally:
            if alerts is not None:
                alerts.stop()
            if reconcile is not None:
                reconcile.stop()
    finally:
        engine.dispose()


class ProcessorSupervisor:
    """Held by gunicorn's master: starts the processor, restarts it when it dies, stops it on exit.

    `server_stopping` says whether the server has begun to stop (gunicorn's master: its listeners are
    closed first thing, `baton.webhooks.http.gunicorn_conf`); `stop()` says it too, but only after the
    serving workers have ended, which can be many seconds later."""

    def __init__(self, server_stopping: Callable[[], bool] = lambda: False) -> None:
        self._context = multiprocessing.get_context("spawn")  # no inherited sockets or locks
        self._process: Any = None
        self._stopping = threading.Event()
        self._server_stopping = server_stopping
        self._watch: threading.Thread | None = None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def start(self) -> None:
        global _running_in_master
        _running_in_master = True
        self._spawn()
        self._watch = threading.Thread(target=self._supervise, name="baton-processor-watch", daemon=True)
        self._watch.start()

    def _spawn(self) -> None:
        self._process = self._context.Process(target=run_processor, name="baton-processor", daemon=False)
        self._process.start()
        log.info("embedded processor started", extra={"event": "processor_started", "pid": self._process.pid})

    def _supervise(self) -> None:
        # The process's sentinel (a pipe end) becomes ready when it ends. `is_alive()` cannot be
        # trusted here: gunicorn's master reaps every child on SIGCHLD (`waitpid(-1)`), ours too.
        while not self._stopping.is_set():
            if not wait([self._process.sentinel], timeout=0.5) or self._stopping.is_set():
                continue
            pid = self._process.pid
            if self._stops_with_the_server():
                log.info(
                    "embedded processor stopped with the server",
                    extra={"event": "processor_stopped", "pid": pid},
                )
                return
            log.error(
                "embedded processor exited; restarting it", extra={"event": "processor_exited", "pid": pid}
            )
            self._spawn()

    def _stops_with_the_server(self) -> bool:
        """Whether the server is stopping, watched for the restart backoff: a signal to the whole group
        can end the processor a moment before the master has begun to stop."""
        deadline = time.monotonic() + RESTART_BACKOFF_SECONDS
        while True:
            if self._stopping.is_set() or self._server_stopping():
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping.set()
        process = self._process
        if process is None or wait([process.sentinel], timeout=0):
            return
        process.terminate()
        if not wait([process.sentinel], timeout=timeout):
            process.kill()
            wait([process.sentinel], timeout=2.0)
