"""Gunicorn settings for Baton (`gunicorn -c python:baton.webhooks.http.gunicorn_conf 'baton.webhooks.http.app:create_app()'`).

Environment knobs: `BATON_BIND` (default 127.0.0.1:8000), `BATON_WORKERS` (default 2 x cores + 1),
`BATON_WORKER_CLASS`, `BATON_THREADS` (gthread: threads per worker, default 8),
`BATON_WORKER_CONNECTIONS` (gevent: concurrent requests per worker, default 1000), `BATON_TIMEOUT`
(default 30 s).

Worker class: production mode (`BATON_MODE=production`, receive only) runs `gevent` workers. A
receiver is pure I/O (read, verify, commit, answer), and in one OS thread per process its requests
never compete for the GIL while one of them holds the database's write lock, and concurrent
deliveries fall naturally into one group commit: 1.7x the deliveries/s of `gthread` on the same
machine (bench/README.md, "Ingest"). Embedded mode keeps `gthread`: it also processes deliveries
(CPU-bound re-derivation) in the serving process, which would stall a gevent worker's other requests.

The access log never contains the query string (it may hold a site's `?token=`), nor headers.
Prometheus metrics from all workers are aggregated through `PROMETHEUS_MULTIPROC_DIR`, created here
when unset and wiped when the server starts.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from typing import Any

from baton.webhooks.settings import Settings

# Read once when gunicorn loads this file; every BATON_* name is parsed (and checked) by the settings.
_settings = Settings.from_env()
bind = _settings.serving.bind
workers = _settings.serving.workers
worker_class = _settings.worker_class
threads = _settings.serving.threads
worker_connections = _settings.serving.worker_connections
timeout = _settings.serving.timeout
graceful_timeout = 20
keepalive = 5
# Jira's admin webhooks carry only small JSON bodies; the app enforces BATON_MAX_BODY_BYTES too.
limit_request_line = 8190
limit_request_fields = 100
preload_app = False  # each worker builds its own app (and its own database pool) after the fork
accesslog = _settings.serving.access_log
access_log_format = (
    '{"remote":"%(h)s","method":"%(m)s","path":"%(U)s","status":%(s)s,"bytes":%(B)s,"ms":%(M)s}'
)
errorlog = "-"
loglevel = _settings.log_level.lower()
proc_name = "baton"

_CREATED_METRICS_DIR: str | None = None
"""The metrics directory this process made in the temp folder (removed again in `on_exit`); None when
PROMETHEUS_MULTIPROC_DIR was given, which is the operator's to keep."""
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    _CREATED_METRICS_DIR = tempfile.mkdtemp(prefix="baton-prometheus-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = _CREATED_METRICS_DIR
raw_env = [f"PROMETHEUS_MULTIPROC_DIR={os.environ['PROMETHEUS_MULTIPROC_DIR']}"]


_PROCESSOR: Any = None
"""Embedded mode: the master's one processing process (baton.webhooks.worker.processor)."""


def when_ready(server: Any) -> None:
    """Embedded mode: start the processor before the serving workers are forked, so they know
    (`separate_processor()`) that they only receive."""
    global _PROCESSOR
    if _settings.embedded and _settings.background_processing:
        from baton.webhooks.logging import configure_logging
        from baton.webhooks.worker.processor import ProcessorSupervisor

        configure_logging(_settings.log_level)  # the supervisor's lines, as JSON like every process's

        # gunicorn's master closes its listeners first thing when it stops (`Arbiter.stop`)
        _PROCESSOR = ProcessorSupervisor(server_stopping=lambda: not server.LISTENERS)
        _PROCESSOR.start()


def post_fork(server: Any, worker: Any) -> None:
    """A serving worker is forked after the processor started: it must not treat the processor as its
    own child (multiprocessing's exit handler would try to join it and print a traceback)."""
    import multiprocessing.process

    getattr(multiprocessing.process, "_children", set()).clear()


def post_worker_init(worker: Any) -> None:
    """Everything the app loaded at start (modules, Flask, SQLAlchemy: about 155,000 objects) lives as
    long as the worker, yet every full collection walked it again: 87 ms on an idle 2-core machine,
    90-215 ms under load, with the GIL held. Meanwhile the worker answered nothing and, when it held
    SQLite's write turn, no worker did: these pauses were the embedded mode's p99 acknowledgement
    above 200 deliveries/s (bench/README.md, "Capacity"). Frozen, the collector leaves them alone."""
    import gc

    gc.collect()
    gc.freeze()


def on_starting(server: Any) -> None:
    """Stale metric files from a previous run would be summed in: start from an empty directory."""
    directory = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    shutil.rmtree(directory, ignore_errors=True)
    os.makedirs(directory, exist_ok=True)


def on_exit(server: Any) -> None:
    """The processor stops with the server; a directory Baton made for itself goes when the server
    stops: one start, nothing left behind."""
    if _PROCESSOR is not None:
        _PROCESSOR.stop()
    if _CREATED_METRICS_DIR is not None:
        shutil.rmtree(_CREATED_METRICS_DIR, ignore_errors=True)


def child_exit(server: Any, worker: Any) -> None:
    from baton.webhooks.metrics import mark_process_dead

    mark_process_dead(worker.pid)
