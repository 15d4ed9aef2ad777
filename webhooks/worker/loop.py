"""Draining the inbox: deliveries -> transitions -> re-derived requests, after the acknowledgement.

Two ways to run the same `baton.store.pipeline.process_pending` (which hands every claimed batch to
`process_deliveries`, the processing path replay takes too), in batches bounded by rows (`batch`) and
by body bytes (`batch_bytes`, `baton.store.inbox.DEFAULT_BATCH_BYTES`):
- embedded (`Drainer`): one background thread in each serving process, woken after every stored
  delivery, so the request path only commits the raw body;
- production (`run_worker`, i.e. `baton worker`): separate processes that claim inbox rows
  (`FOR UPDATE SKIP LOCKED` on PostgreSQL), so receivers and workers scale independently.

A failure inside processing leaves the delivery in the inbox with its error (`baton inbox list`);
the loop keeps going.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine

from baton.store.inbox import DEFAULT_BATCH_BYTES
from baton.webhooks.metrics import PROCESSED, PROCESSING_SECONDS

log = logging.getLogger("baton.webhooks.worker")

DEFAULT_BATCH = 500
IDLE_POLL_SECONDS = 5.0
"""Embedded: how often the drainer looks at the inbox without being woken (rows left by a crash)."""

ConfigLoader = Callable[[], Any]
ResolverLoader = Callable[[], Any]
"""Returns the process's `baton.store.live_config.ConfigResolver` (None without a configuration file)."""


def load_config_lazily(path: str | None) -> ConfigLoader:
    """Load the PMO configuration once, on first use; None without a path (store, don't process)."""
    loaded: dict[str, Any] = {}

    def get() -> Any:
        if "config" not in loaded:
            if path is None:
                loaded["config"] = None
            else:
                from baton.config.loader import load_config

                loaded["config"] = load_config(path)
        return loaded["config"]

    return get


def resolver_lazily(config: ConfigLoader, as_code: bool) -> ResolverLoader:
    """The per-site configuration resolver over the file loader `config`, built once on first use: the
    file for every site when `as_code`, else each site's applied published version, else the file."""
    built: dict[str, Any] = {}

    def get() -> Any:
        if "resolver" not in built:
            from baton.store.live_config import ConfigResolver

            file_config = config()
            built["resolver"] = None if file_config is None else ConfigResolver(file_config, as_code=as_code)
        return built["resolver"]

    return get


def apply_pending_versions(engine: Engine, resolver: Any, worker: str) -> list[tuple[str, int]]:
    """Re-derive every site whose newest published configuration version is pending, each swapped in
    atomically (`baton.store.rederive.apply_pending`); logs each one applied."""
    from baton.store.rederive import apply_pending

    if resolver is None or getattr(resolver, "as_code", True):
        return []
    applied: list[tuple[str, int]] = apply_pending(engine, resolver, worker=worker)
    for site, version in applied:
        log.info(
            "configuration version applied",
            extra={"event": "config_version_applied", "site": site, "version": version},
        )
    return applied


def drain_batch(
    engine: Engine,
    config: Any,
    limit: int = DEFAULT_BATCH,
    worker: str | None = None,
    batch_bytes: int = DEFAULT_BATCH_BYTES,
) -> tuple[int, Any]:
    """Process up to `limit` pending deliveries, in batches of at most `batch_bytes` body bytes;
    returns (deliveries handled, pipeline summary)."""
    from baton.store.pipeline import process_pending

    started = time.perf_counter()
    summary = process_pending(
        engine, config, limit=limit, worker=worker, batch_size=limit, batch_bytes=batch_bytes
    )
    if summary.claimed:
        PROCESSING_SECONDS.observe(time.perf_counter() - started)
        for result in ("done", "ignored", "failed"):
            count = getattr(summary, result)
            if count:
                PROCESSED.labels(result=result).inc(count)
    return int(summary.claimed), summary


def sync_config(engine: Engine, config: Any) -> list[str]:
    """Re-derive the sites whose requests were derived with another configuration (a config change
    applies to history). Called once when a worker or an embedded server starts processing."""
    from sqlalchemy.orm import Session

    from baton.store.pipeline import sync_config as rederive_stale_sites

    with Session(engine, expire_on_commit=False) as session:
        sites = rederive_stale_sites(session, config, commit=True)
    if sites:
        log.info(
            "configuration changed: sites re-derived",
            extra={"event": "config_synced", "sites": ",".join(sites)},
        )
    return sites


def drain_all(
    engine: Engine,
    config: Any,
    limit: int = DEFAULT_BATCH,
    worker: str | None = None,
    batch_bytes: int = DEFAULT_BATCH_BYTES,
) -> int:
    """Process until the inbox has nothing pending; returns the number of deliveries handled."""
    total = 0
    while True:
        handled, _ = drain_batch(engine, config, limit, worker, batch_bytes)
        if not handled:
            return total
        total += handled


class Drainer:
    """Embedded mode: drains the inbox in a background thread of the serving process.

    `start()` (called when the app is built, in each gunicorn worker after its fork) starts the thread
    and drains at once, so deliveries left by a restart are processed without waiting for new
    traffic. `wake()` starts it as well in a process that has none (a fork after `start()`). The
    thread is a daemon: a killed server loses no delivery, only the work in flight, which the next
    drain picks up again."""

    def __init__(
        self,
        engine: Engine,
        config: ConfigLoader,
        batch: int = DEFAULT_BATCH,
        batch_bytes: int = DEFAULT_BATCH_BYTES,
        *,
        as_code: bool = False,
        resolver: ResolverLoader | None = None,
    ) -> None:
        self._engine = engine
        self._config = resolver or resolver_lazily(config, as_code)
        self._batch = batch
        self._batch_bytes = batch_bytes
        self._wakeup = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid: int | None = None
        self._stopping = False
        self._warned_no_config = False
        self._synced = False

    def start(self) -> None:
        """Run the thread in this process and drain now (leftovers of a previous run included)."""
        self.wake()

    def wake(self) -> None:
        with self._lock:
            if self._thread is None or self._pid != os.getpid() or not self._thread.is_alive():
                self._pid = os.getpid()
                self._thread = threading.Thread(target=self._run, name="baton-drainer", daemon=True)
                self._thread.start()
        self._wakeup.set()

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping = True
        self._wakeup.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def drain_now(self) -> int:
        """Drain synchronously in the caller's thread (tests, CLI)."""
        config = self._config()
        if config is None:
            return 0
        apply_pending_versions(self._engine, config, f"embedded-{os.getpid()}")
        return drain_all(self._engine, config, self._batch, f"embedded-{os.getpid()}", self._batch_bytes)

    def _run(self) -> None:
        while not self._stopping:
            self._wakeup.wait(IDLE_POLL_SECONDS)
            self._wakeup.clear()
            if self._stopping:
                return
            try:
                config = self._config()
                if config is None:
                    if not self._warned_no_config:
                        log.warning(
                            "no PMO configuration: deliveries are stored but not processed; set BATON_CONFIG",
                            extra={"event": "processing_disabled"},
                        )
                        self._warned_no_config = True
                    continue
                if not self._synced:
                    sync_config(self._engine, config)
                    self._synced = True
                apply_pending_versions(self._engine, config, f"embedded-{os.getpid()}")
                drain_all(self._engine, config, self._batch, f"embedded-{os.getpid()}", self._batch_bytes)
            except Exception as error:  # keep the thread alive; the rows stay in the inbox
                log.exception(
                    "inbox drain failed", extra={"event": "drain_failed", "error": type(error).__name__}
                )
                time.sleep(1.0)


def _freeze_startup_objects() -> None:
    """Modules, the configuration and the processing path's imports (pandas, the engine: about 125,000
    objects) live as long as the worker, yet every full collection walked them again: 74 ms on an idle
    machine, 90-130 ms under load. In embedded mode this sometimes fell inside SQLite's write turn,
    where every receiver's acknowledgement waited for it (bench/README.md, "Capacity"). Collected
    once and frozen, the collector leaves them alone."""
    import gc

    import baton.store.pipeline  # noqa: F401  (the first batch would import it: load it before freezing)

    gc.collect()
    gc.freeze()


def run_worker(
    engine: Engine,
    config: Any,
    *,
    batch: int = DEFAULT_BATCH,
    batch_bytes: int = DEFAULT_BATCH_BYTES,
    poll_interval: float = 1.0,
    stop: threading.Event | None = None,
    exit_when_idle: bool = False,
    name: str | None = None,
    as_code: bool = False,
    freeze_startup_objects: bool = False,
) -> int:
    """`baton worker`: claim and process inbox rows until stopped; returns deliveries handled. `config`
    is the file's configuration: the truth for every site when `as_code`, else the default of sites
    with no published version (each loop also applies pending published versions).
    `freeze_startup_objects`: the process is this worker's own (`baton worker`, the embedded
    processor): after the start-up sync, what it loaded is frozen out of the garbage collector."""
    from baton.store.live_config import ConfigResolver

    stop = stop or threading.Event()
    if config is not None and not hasattr(config, "for_site"):
        config = ConfigResolver(config, as_code=as_code)
    worker = name or f"worker-{os.uname().nodename}-{os.getpid()}"
    total = 0
    log.info("worker started", extra={"event": "worker_started", "worker": worker, "batch": batch})
    try:
        sync_config(engine, config)
    except Exception as error:
        log.exception(
            "re-deriving after a config change failed",
            extra={"event": "config_sync_failed", "error": type(error).__name__},
        )
    if freeze_startup_objects:
        _freeze_startup_objects()
    while not stop.is_set():
        try:
            apply_pending_versions(engine, config, worker)
            handled, _ = drain_batch(engine, config, batch, worker, batch_bytes)
        except Exception as error:
            log.exception(
                "worker batch failed", extra={"event": "worker_batch_failed", "error": type(error).__name__}
            )
            stop.wait(poll_interval)
            continue
        total += handled
        if handled == 0:
            if exit_when_idle:
                break
            stop.wait(poll_interval)
    log.info("worker stopped", extra={"event": "worker_stopped", "worker": worker, "handled": total})
    return total
