"""`baton serve` (the HTTP service) and `baton worker` (inbox processing for production).

Embedded (default): SQLite, the database is upgraded automatically, and one processor process beside
the serving processes processes deliveries right after they are stored. Production (`--production`): gunicorn with several
workers that only receive; `baton worker` processes (any number, on any host) process the inbox.
"""

from __future__ import annotations

import os
import signal
import threading
from typing import Any

import click

from baton.webhooks.cli.common import config_option, db_option, load_config_or_exit
from baton.webhooks.cli.errors import Unavailable
from baton.webhooks.cli.replay_cmd import DEMO_CONFIG
from baton.webhooks.http.gadget_registry import GADGET_NAMES
from baton.webhooks.settings import Settings

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000


def _export(env: dict[str, str | None]) -> None:
    """Settings reach gunicorn's workers through the environment (`Settings.from_env`)."""
    for name, value in env.items():
        if value is not None:
            os.environ[name] = value


def _database_ready(url: str, upgrade: bool) -> None:
    """Migrated (or, without `upgrade`, checked); DatabaseUnavailable (exit 3) when unreachable."""
    from baton.store.db import current_revision, head_revision, upgrade_database

    if upgrade:
        upgrade_database(url)
    elif current_revision(url) != head_revision():
        raise Unavailable(
            "the database schema is not up to date", "run `baton db upgrade --db URL` once before serving"
        )


def gunicorn_options(
    bind: str, workers: int, threads: int | None, extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    """baton.webhooks.http.gunicorn_conf's settings with command-line overrides."""
    import baton.webhooks.http.gunicorn_conf as conf

    options = {
        name: getattr(conf, name)
        for name in dir(conf)
        if not name.startswith("_")
        and name not in {"os", "shutil", "tempfile", "Any", "Settings", "annotations", "raw_env"}
    }
    options.update(bind=bind, workers=workers, **(extra or {}))
    if threads:
        options["threads"] = threads
    return options


def _config_is_code() -> bool:
    """`--config FILE` given on the command line (not taken from $BATON_CONFIG), or
    $BATON_CONFIG_AS_CODE set: the file is the truth for every site (docs/configuration.md, "Precedence")."""
    context = click.get_current_context(silent=True)
    source = context.get_parameter_source("config_path") if context is not None else None
    return source == click.core.ParameterSource.COMMANDLINE or Settings.from_env().config_as_code


def run_gunicorn(options: dict[str, Any]) -> None:
    from gunicorn.app.base import BaseApplication

    class BatonServer(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            for key, value in options.items():
                if key in self.cfg.settings and value is not None:
                    self.cfg.set(key, value)

        def load(self) -> Any:
            from baton.webhooks.http.app import create_app

            return create_app()

    BatonServer().run()


def register(group: click.Group) -> None:
    @group.command("serve")
    @config_option()
    @db_option()
    @click.option("--host", default=DEFAULT_HOST, show_default=True, help="Address to listen on.")
    @click.option("--port", default=DEFAULT_PORT, show_default=True, type=int)
    @click.option(
        "--production", is_flag=True, help="Receive only; process with `baton worker` (PostgreSQL)."
    )
    @click.option(
        "--workers",
        type=int,
        default=None,
        help="Gunicorn workers (default: 2 embedded, 2 x cores + 1 production).",
    )
    @click.option(
        "--threads", type=int, default=None, help="Threads per worker (default 8, or $BATON_THREADS)."
    )
    @click.option("--no-upgrade", is_flag=True, help="Embedded: do not upgrade the database schema on start.")
    @click.option("--demo", is_flag=True, help="Demo mode (set by scripts/demo).")
    @click.option("--dev-server", is_flag=True, help="Use Flask's development server instead of gunicorn.")
    def serve(
        config_path: str | None,
        db_url: str | None,
        host: str,
        port: int,
        production: bool,
        workers: int | None,
        threads: int | None,
        no_upgrade: bool,
        demo: bool,
        dev_server: bool,
    ) -> None:
        """Serve the Jira webhook endpoint, gadgets, JSON API, /healthz and /metrics.

        \b
        Embedded (default): upgrades the database, processes deliveries in one processor process.
        --production: gunicorn workers only receive; run `baton worker` processes next to it.
        The webhook secret comes from $BATON_WEBHOOK_SECRET (never from the command line).
        """
        from baton.store.db import is_sqlite, resolve_database_url

        url = resolve_database_url(db_url)
        if production and is_sqlite(url):
            click.echo(
                "warning: --production on SQLite: fine for one host, but use PostgreSQL to scale out",
                err=True,
            )
        if demo and not config_path:
            config_path = str(DEMO_CONFIG)  # the configuration `baton demo load` used
        if not config_path:
            click.echo(
                "warning: no --config/$BATON_CONFIG: deliveries are stored but not processed", err=True
            )
        _database_ready(url, upgrade=not production and not no_upgrade)
        _export(
            {
                "BATON_DATABASE_URL": url,
                "BATON_CONFIG": os.path.abspath(config_path) if config_path else None,
                "BATON_MODE": "production" if production else "embedded",
                "BATON_DEMO": "1" if demo else None,
                "BATON_CONFIG_AS_CODE": "1" if _config_is_code() else None,
            }
        )
        if dev_server:
            from baton.webhooks.http.app import create_app

            create_app().run(host=host, port=port, threaded=True)
            return
        try:
            import gunicorn  # noqa: F401
        except ImportError:  # e.g. Windows: no gunicorn
            click.echo("warning: gunicorn is not installed; using Flask's development server", err=True)
            from baton.webhooks.http.app import create_app

            create_app().run(host=host, port=port, threaded=True)
            return
        default_workers = (2 * (os.cpu_count() or 1) + 1) if production else 2
        run_gunicorn(gunicorn_options(f"{host}:{port}", workers or default_workers, threads))

    @group.command("share-link")
    @click.option("--site", default="default", show_default=True, help="The one site the link may read.")
    @click.option(
        "--base-url", default="http://127.0.0.1:8000", show_default=True, help="Where Baton is served."
    )
    @click.option("--ttl", default="7d", show_default=True, help="Lifetime, e.g. 12h, 7d, 4w.")
    @click.option("--gadget", type=click.Choice(GADGET_NAMES), help="Link one gadget.")
    @click.option("--token-only", is_flag=True, help="Print only the token (Data Center gadget preferences).")
    def share_link(site: str, base_url: str, ttl: str, gadget: str | None, token_only: bool) -> None:
        """Print a signed, expiring link to the standalone scorecards of one site.

        Signed with $BATON_SECRET_KEY, which must be the key the server runs with; the link reads
        that one site only and stops working after --ttl.
        """
        from baton.webhooks.http.auth import SECRET_KEY_MISSING, share_link_text

        key = Settings.from_env().secret("secret_key")
        if not key:
            raise click.UsageError(SECRET_KEY_MISSING)
        click.echo(share_link_text(key, site, base_url, ttl, gadget, token_only))

    @group.command("worker")
    @config_option(required=True)
    @db_option()
    @click.option("--processes", type=int, default=1, show_default=True, help="Worker processes to run.")
    @click.option(
        "--batch", type=int, default=500, show_default=True, help="Deliveries claimed per transaction."
    )
    @click.option(
        "--batch-bytes",
        type=click.IntRange(min=1),
        default=None,
        help="Body bytes claimed per transaction, bounding memory (default 64 MiB, or $BATON_WORKER_BATCH_BYTES).",
    )
    @click.option(
        "--poll", type=float, default=1.0, show_default=True, help="Seconds to wait when the inbox is empty."
    )
    @click.option(
        "--exit-when-idle", is_flag=True, help="Stop once the inbox is empty (batch jobs, benchmarks)."
    )
    @click.option(
        "--metrics-port", type=int, default=None, help="Expose this worker's /metrics on 127.0.0.1:PORT."
    )
    def worker(
        config_path: str,
        db_url: str | None,
        processes: int,
        batch: int,
        batch_bytes: int | None,
        poll: float,
        exit_when_idle: bool,
        metrics_port: int | None,
    ) -> None:
        """Process the inbox: claim deliveries (FOR UPDATE SKIP LOCKED on PostgreSQL), record
        transitions, re-derive requests. Run as many as needed, on any host; stop with SIGTERM."""
        from baton.store.db import resolve_database_url

        url = resolve_database_url(db_url)
        config = load_config_or_exit(config_path)
        if _config_is_code():
            _export({"BATON_CONFIG_AS_CODE": "1"})  # spawned worker processes read it too
        batch_bytes = batch_bytes or Settings.from_env().worker_batch_bytes
        if processes <= 1:
            _run_worker(url, config, batch, batch_bytes, poll, exit_when_idle, metrics_port)
            return
        import multiprocessing

        context = multiprocessing.get_context("spawn")
        children = [
            context.Process(
                target=_worker_process,
                args=(url, config_path, batch, batch_bytes, poll, exit_when_idle, None),
            )
            for _ in range(processes)
        ]
        for child in children:
            child.start()

        def forward(signum: int, _frame: Any) -> None:
            for child in children:
                if child.pid is not None:
                    os.kill(child.pid, signum)

        signal.signal(signal.SIGTERM, forward)
        signal.signal(signal.SIGINT, forward)
        for child in children:
            child.join()
        failed = [child.exitcode for child in children if child.exitcode]
        if failed:
            raise Unavailable(
                f"{len(failed)} of {len(children)} worker processes failed (exit codes {failed})",
                "see the log above; processing is idempotent, so run the workers again",
            )


def _worker_process(
    url: str,
    config_path: str,
    batch: int,
    batch_bytes: int,
    poll: float,
    exit_when_idle: bool,
    metrics_port: int | None,
) -> None:
    """One spawned worker process: it loads the configuration once for itself."""
    _run_worker(url, load_config_or_exit(config_path), batch, batch_bytes, poll, exit_when_idle, metrics_port)


def _run_worker(
    url: str,
    config: Any,
    batch: int,
    batch_bytes: int,
    poll: float,
    exit_when_idle: bool,
    metrics_port: int | None,
) -> None:
    from baton.store.db import create_engine_for
    from baton.webhooks.logging import configure_logging
    from baton.webhooks.worker.alert_schedule import start_alert_schedule
    from baton.webhooks.worker.loop import run_worker
    from baton.webhooks.worker.reconcile_schedule import start_reconcile_schedule

    settings = Settings.from_env(database_url=url)
    configure_logging(settings.log_level)
    if metrics_port:
        from prometheus_client import start_http_server

        start_http_server(metrics_port, addr="127.0.0.1")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    engine = create_engine_for(url)
    reconcile = None if exit_when_idle else start_reconcile_schedule(engine, settings, lambda: config)
    alerts = (
        None if exit_when_idle else start_alert_schedule(engine, settings, lambda: config, settings.clock())
    )
    try:
        run_worker(
            engine,
            config,
            batch=batch,
            batch_bytes=batch_bytes,
            poll_interval=poll,
            stop=stop,
            exit_when_idle=exit_when_idle,
            as_code=settings.config_as_code,
            freeze_startup_objects=True,
        )
    finally:
        if alerts is not None:
            alerts.stop()
        if reconcile is not None:
            reconcile.stop()
        engine.dispose()
