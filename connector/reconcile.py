"""Reconciliation: repair what webhooks missed by re-reading recently updated issues.

`reconcile()` is the incremental backfill (`updated >= last sync - overlap`, the whole history when the
site was never synced). Because backfilled pages enter the log through the same idempotent path as
webhook deliveries, the transitions it *inserts* are exactly those no webhook had delivered: that count
is the report's `missed`.

While serving, `ReconcileSchedule` runs it every `BATON_RECONCILE_INTERVAL` (e.g. `15m`, `1h`; unset or
`0` = off) in a daemon thread, for every site configured in the environment (`BATON_JIRA_*`).
`schedule_from_env(engine, config)` returns a started schedule or None; `baton serve` may call it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from sqlalchemy import Engine

from baton.config.durations import parse_duration
from baton.config.schema import BatonConfig
from baton.connector.backfill import Backfill, BackfillOptions, BackfillReport, Progress
from baton.connector.client import JiraClient, JiraError
from baton.connector.ledger import Ledger
from baton.connector.sites import Site, sites_from_env
from baton.connector.store_ledger import StoreLedger

log = logging.getLogger(__name__)

INTERVAL_ENV = "BATON_RECONCILE_INTERVAL"


@dataclass
class ReconcileReport:
    backfill: BackfillReport

    @property
    def missed(self) -> int:
        """Transitions found in Jira that were not in the log: webhooks had missed them."""
        return self.backfill.inserted

    def summary(self) -> str:
        b = self.backfill
        return (
            f"site {b.site}: checked {b.issues} recently updated issues; {self.missed} transitions had been "
            f"missed by webhooks and are now recorded ({b.duplicates} already known)"
        )


def reconcile(
    client: JiraClient,
    ledger: Ledger,
    config: BatonConfig,
    options: BackfillOptions | None = None,
    *,
    progress: Progress | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> ReconcileReport:
    opts = replace(options or BackfillOptions(), since=None, full=False)
    return ReconcileReport(Backfill(client, ledger, config, opts, progress=progress, now=now).run())


class ReconcileSchedule:
    """Runs `reconcile` for each site every `interval_s` seconds until `stop()`."""

    def __init__(
        self,
        run_once: Callable[[], list[ReconcileReport]],
        interval_s: float,
    ) -> None:
        self.run_once = run_once
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="baton-reconcile", daemon=True)
        self.runs = 0
        self.last_error: str | None = None
        self.last_run_at: datetime | None = None

    def start(self) -> ReconcileSchedule:
        self._thread.start()
        return self

    def stop(self, timeout: float = 10) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                for report in self.run_once():
                    log.info("reconcile: %s", report.summary())
                self.last_error = None
            except JiraError as error:  # typed, already redacted: log and try again next time
                self.last_error = str(error)
                log.warning("reconcile failed: %s", error)
            except Exception as error:  # never kill the server's thread
                self.last_error = f"{type(error).__name__}: {error}"
                log.exception("reconcile crashed")
            self.runs += 1
            self.last_run_at = datetime.now(UTC)


def parse_interval(text: str | None) -> float:
    """Seconds from `15m`, `1h`, `90s`, `2h30m` or a bare number of seconds; 0 when unset."""
    if not text or not text.strip() or text.strip() == "0":
        return 0.0
    if text.strip().replace(".", "", 1).isdigit():
        return float(text.strip())
    value = parse_duration(text.strip())
    if not isinstance(value, int | float) or value < 0:
        raise ValueError(f"{INTERVAL_ENV}={text!r} is not a duration like 15m or 1h")
    return float(value)


def schedule_from_env(
    engine: Engine, config: BatonConfig, env: Mapping[str, str]
) -> ReconcileSchedule | None:
    """A started schedule when `env` sets BATON_RECONCILE_INTERVAL and at least one Jira site
    (`env` is a mapping of variables, e.g. the settings' snapshot; nothing here reads the process environment)."""
    return schedule_for_sites(engine, config, sites_from_env(env), parse_interval(env.get(INTERVAL_ENV)))


def schedule_for_sites(
    engine: Engine, config: BatonConfig, sites: Mapping[str, Site], interval: float
) -> ReconcileSchedule | None:
    """A started schedule reconciling `sites` every `interval` seconds; None when either is missing."""
    if interval <= 0:
        return None
    if not sites:
        log.warning(
            "%s is set but no Jira site is configured (BATON_JIRA_URL...): not reconciling", INTERVAL_ENV
        )
        return None
    ledger = StoreLedger(engine, config)

    def run_once() -> list[ReconcileReport]:
        reports = []
        for site in sites.values():
            client = JiraClient(site)
            try:
                reports.append(reconcile(client, ledger, config))
            finally:
                client.close()
        return reports

    log.info("reconciling %s every %.0fs", ", ".join(sites), interval)
    return ReconcileSchedule(run_once, interval).start()
