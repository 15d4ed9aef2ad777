"""The Flask application factory. Importing this module does nothing; `create_app()` builds an app.

    gunicorn -c python:baton.webhooks.http.gunicorn_conf 'baton.webhooks.http.app:create_app()'

Everything the app needs (database, configuration path, credentials, mode) comes from one
`Settings` value, by default read from the environment (`baton.webhooks.settings`). The factory builds
the process's one `Clock` and its one PMO configuration loader from it and hands both to the API, the
drainer and the reconcile schedule.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flask import Flask
from sqlalchemy import Engine

from baton.store.inbox_writer import InboxWriter
from baton.webhooks.http.admin import admin_api_blueprint, admin_pages_blueprint
from baton.webhooks.http.api import api_blueprint
from baton.webhooks.http.errors import register_error_handlers
from baton.webhooks.http.gadgets import gadgets_blueprint
from baton.webhooks.http.health import health_blueprint, inbox_api_blueprint, read_backlog, read_unmatched
from baton.webhooks.http.ratelimit import install as install_limiter
from baton.webhooks.http.ratelimit import limit_admin_token
from baton.webhooks.http.receiver import SiteDirectory, noop_blueprint, receiver_blueprint
from baton.webhooks.http.verdicts_api import verdicts_blueprint
from baton.webhooks.logging import configure_logging
from baton.webhooks.metrics import metrics_blueprint
from baton.webhooks.settings import DEFAULT_SITE, Clock, Settings
from baton.webhooks.worker.alert_schedule import AlertSchedule, start_alert_schedule
from baton.webhooks.worker.loop import (
    ConfigLoader,
    Drainer,
    ResolverLoader,
    load_config_lazily,
    resolver_lazily,
)
from baton.webhooks.worker.processor import separate_processor
from baton.webhooks.worker.reconcile_schedule import start_reconcile_schedule
from baton.webhooks.worker.schedule_lock import HeldSchedule

if TYPE_CHECKING:
    from baton.connector.reconcile import ReconcileSchedule

log = logging.getLogger("baton.webhooks")


@dataclass
class Baton:
    """What the app's parts share; `app.extensions["baton"]`."""

    settings: Settings
    clock: Clock
    config: ConfigLoader
    """The PMO configuration, loaded once on first use (None without BATON_CONFIG)."""
    engine: Engine
    drainer: Drainer | None
    sites: SiteDirectory
    writer: InboxWriter
    reconcile: HeldSchedule[ReconcileSchedule] | None = None
    alerts: HeldSchedule[AlertSchedule] | None = None
    configs: ResolverLoader | None = None
    """Per-site configuration (`baton.store.live_config.ConfigResolver`): the file when
    `settings.config_as_code`, else each site's applied published version, else the file."""

    @property
    def config_as_code(self) -> bool:
        """The configuration file is the truth (started with `--config FILE`): the admin page is
        read-only and says why."""
        return self.settings.config_as_code

    def close(self) -> None:
        """Release every database connection (tests; a server process just exits)."""
        if self.alerts is not None:
            self.alerts.stop()
        if self.reconcile is not None:
            self.reconcile.stop()
        if self.drainer is not None:
            self.drainer.stop()
        self.writer.close()
        self.engine.dispose()


def _inbox_accept(writer: InboxWriter) -> Any:
    """Store one raw delivery (or quarantine a malformed one); committed before it returns."""

    def accept(
        site: str,
        body: bytes,
        headers: dict[str, str],
        idempotency_key: str,
        event: str | None,
        quarantine_reason: str | None,
    ) -> tuple[int, bool]:
        return writer.accept(site, body, headers, idempotency_key, event, quarantine_reason=quarantine_reason)

    return accept


def register_blueprints(app: Flask, baton: Baton) -> None:
    """Every HTTP area of the service, registered in one place."""
    settings = baton.settings
    wake = baton.drainer.wake if baton.drainer is not None else (lambda: None)
    app.register_blueprint(receiver_blueprint(settings, baton.sites, _inbox_accept(baton.writer), wake))
    app.register_blueprint(health_blueprint(baton.engine, lambda: {"mode": settings.mode}))
    app.register_blueprint(
        metrics_blueprint(
            lambda: read_backlog(baton.engine), lambda: read_unmatched(baton.engine, baton.config())
        )
    )
    inbox_api = inbox_api_blueprint(baton.engine, settings.secret("admin_token"))
    app.register_blueprint(inbox_api)
    if settings.bench_noop:
        app.register_blueprint(noop_blueprint())

    app.register_blueprint(api_blueprint(baton))
    app.register_blueprint(verdicts_blueprint())
    app.register_blueprint(gadgets_blueprint(baton))
    admin_pages, admin_api = admin_pages_blueprint(baton), admin_api_blueprint(baton)
    app.register_blueprint(admin_pages)
    app.register_blueprint(admin_api)
    # Wrong admin tokens: one count per client address across the three doors that take the token.
    limit_admin_token(app, settings, admin_pages, admin_api, inbox_api)


def create_app(settings: Settings | None = None) -> Flask:
    """Build the service. `settings=None` reads them from the environment."""
    from baton.store.db import create_engine_for, resolve_database_url

    settings = settings or Settings.from_env()
    configure_logging(settings.log_level)
    app = Flask(__name__)  # root_path: this package, whose static/ holds the gadget thumbnails
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.json.sort_keys = False  # type: ignore[attr-defined]

    # Each serving thread keeps one connection for the inbox writer; leave room for the rest.
    pool_size = settings.serving.threads + 5
    engine = create_engine_for(resolve_database_url(settings.database_url), pool_size=pool_size)
    config = load_config_lazily(settings.config_path)
    configs = resolver_lazily(config, settings.config_as_code)
    # Embedded under gunicorn, the master's processor process drains (baton.webhooks.worker.processor);
    # elsewhere (the development server, a bare create_app()) a thread of this process does.
    in_process = settings.embedded and not separate_processor()
    drainer = (
        Drainer(engine, config, batch_bytes=settings.worker_batch_bytes, resolver=configs)
        if in_process
        else None
    )
    baton = Baton(
        settings=settings,
        clock=settings.clock(),
        config=config,
        engine=engine,
        drainer=drainer,
        sites=SiteDirectory(engine, settings),
        writer=InboxWriter(engine),
        configs=configs,
    )
    app.extensions["baton"] = baton
    if not settings.background_processing and drainer is not None:
        baton.drainer = None  # tests drain explicitly with `drain(app)`
        app.extensions["baton_drainer"] = drainer
    if in_process and settings.background_processing:
        baton.reconcile = start_reconcile_schedule(engine, settings, config)
        baton.alerts = start_alert_schedule(engine, settings, config, baton.clock)
        if drainer is not None:
            drainer.start()  # a restart's leftover deliveries must not wait for the next one

    register_error_handlers(app)
    install_limiter(app, settings)
    register_blueprints(app, baton)
    if not (settings.webhook_secret or settings.webhook_token):
        log.warning(
            "the default site has no webhook secret or token: any sender can post deliveries; "
            "set BATON_WEBHOOK_SECRET (and the same secret on the Jira webhook)",
            extra={"event": "unauthenticated_default_site", "site": DEFAULT_SITE},
        )
    log.info("app created", extra={"event": "app_created", **settings.safe_summary()})
    return app


def drain(app: Flask) -> int:
    """Process everything pending now, in this thread (tests and the CLI)."""
    baton: Baton = app.extensions["baton"]
    drainer = baton.drainer or app.extensions.get("baton_drainer")
    if drainer is None:
        drainer = Drainer(
            baton.engine, baton.config, batch_bytes=baton.settings.worker_batch_bytes, resolver=baton.configs
        )
    return drainer.drain_now()
