"""Start the periodic reconcile (connector.reconcile) next to a serving or working process.

Gunicorn runs several workers and a host may run several `baton worker` processes; a reconcile per
process would only repeat the same idempotent work, so one process per host and database runs the
schedule (`baton.webhooks.worker.schedule_lock`), and the others skip it.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from sqlalchemy import Engine

from baton.webhooks.settings import Settings
from baton.webhooks.worker.loop import ConfigLoader
from baton.webhooks.worker.schedule_lock import HeldSchedule, start_held

if TYPE_CHECKING:
    from baton.connector.reconcile import ReconcileSchedule

log = logging.getLogger("baton.webhooks")


def start_reconcile_schedule(
    engine: Engine, settings: Settings, config: ConfigLoader
) -> HeldSchedule[ReconcileSchedule] | None:
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
    return start_held(
        engine,
        "reconcile",
        lambda: schedule_for_sites(engine, pmo, sites_from_env(settings.jira), settings.reconcile_interval_s),
    )
