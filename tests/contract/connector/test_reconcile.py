"""Reconcile: what it reports as missed, its schedule, and Ctrl-C resume at the contract level."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from baton.config.loader import load_config
from baton.connector.backfill import Backfill, BackfillOptions
from baton.connector.ledger import MemoryLedger
from baton.connector.reconcile import (
    ReconcileReport,
    ReconcileSchedule,
    parse_interval,
    reconcile,
    schedule_from_env,
)
from tests.contract.connector.conftest import JiraMock
from tests.contract.connector.standin import generate_issues

CONFIG = load_config("config/examples/delivery.yaml")


def test_missed_counts_only_transitions_new_to_the_log(jira: JiraMock) -> None:
    issues = generate_issues(60, seed=6)
    jira.standin.add_issues(issues)
    ledger = MemoryLedger()
    synced = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)  # every generated issue changes after this
    Backfill(jira.client(), ledger, CONFIG, BackfillOptions(page_size=25), now=lambda: synced).run()
    # Two changes never arrived (lost webhooks): drop them from the log.
    lost = [k for k in ledger.transitions if k[2] != "created"][:2]
    for key in lost:
        del ledger.transitions[key]
    report = reconcile(jira.client(), ledger, CONFIG, BackfillOptions(page_size=25))
    # Incremental: only issues updated since the last sync minus the 15-minute overlap were asked for.
    assert 'updated >= "2026/03/01 23:45"' in report.backfill.jql
    assert report.missed == 2 and "2 transitions had been missed by webhooks" in report.summary()
    assert set(lost) <= set(ledger.transitions)


def test_ctrl_c_mid_run_then_resume_completes_without_duplicates(jira: JiraMock) -> None:
    issues = generate_issues(260, seed=12)
    jira.standin.add_issues(issues)
    ledger = MemoryLedger(fail_after_pages=2)
    with pytest.raises(KeyboardInterrupt):
        Backfill(jira.client(), ledger, CONFIG, BackfillOptions(page_size=50)).run()
    assert len({k[1] for k in ledger.transitions}) == 100  # two whole pages of 50
    ledger.fail_after_pages = None
    report = Backfill(jira.client(), ledger, CONFIG, BackfillOptions(page_size=50)).run()
    assert report.resumed and report.issues == 160 and report.duplicates == 0
    assert len(ledger.transitions) == sum(len(i.histories) + 1 for i in issues)


def test_schedule_runs_until_stopped_and_survives_errors() -> None:
    calls: list[int] = []

    def run_once() -> list[ReconcileReport]:
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("Jira hiccup")
        return []

    schedule = ReconcileSchedule(run_once, 0.05).start()
    deadline = time.monotonic() + 5
    while len(calls) < 4 and time.monotonic() < deadline:
        time.sleep(0.02)
    schedule.stop()
    assert len(calls) >= 4 and schedule.runs >= 4


def test_interval_setting() -> None:
    assert parse_interval(None) == 0 and parse_interval("0") == 0
    assert parse_interval("15m") == 900 and parse_interval("1h30m") == 5400 and parse_interval("120") == 120
    with pytest.raises(ValueError):
        parse_interval("soon")
    assert schedule_from_env(None, CONFIG, {}) is None  # type: ignore[arg-type]
    assert schedule_from_env(None, CONFIG, {"BATON_RECONCILE_INTERVAL": "15m"}) is None  # type: ignore[arg-type]


@pytest.mark.parametrize("zone", ["America/New_York", "Asia/Tokyo", "UTC"])
def test_incremental_runs_read_a_change_whatever_the_account_zone(jira: JiraMock, zone: str) -> None:
    """Issue 16 item 9: Jira reads the JQL date literal in the searching account's zone; written in UTC,
    an account on America/New_York searched five hours late and never read a change."""
    issues = generate_issues(20, seed=7)
    jira.standin.add_issues(issues)
    jira.standin.account_timezone = zone
    ledger = MemoryLedger()
    synced = max(issue.updated for issue in issues)
    Backfill(jira.client(), ledger, CONFIG, BackfillOptions(page_size=25), now=lambda: synced).run()
    changed = issues[0]
    later = synced + timedelta(minutes=1)  # a change just after the last sync, inside the overlap
    next_status = "10001" if changed.status_id != "10001" else "10002"
    changed.move(next_status, later, change_id="999001")
    report = reconcile(jira.client(), ledger, CONFIG, BackfillOptions(page_size=25))
    expected = (synced - timedelta(minutes=15)).astimezone(ZoneInfo(zone)).strftime("%Y/%m/%d %H:%M")
    assert f'updated >= "{expected}"' in report.backfill.jql
    assert (changed.id, "999001") in {(key[1], key[2]) for key in ledger.transitions}
    assert report.missed == 1
