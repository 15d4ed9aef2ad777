"""Backfill into a real database (SQLite and PostgreSQL): resumable, atomic per page, and reconcile
repairs dropped webhooks to exactly the state of a clean run."""

from __future__ import annotations

import json
import random
from datetime import datetime
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from baton.config.loader import load_config
from baton.connector.backfill import Backfill, BackfillOptions
from baton.connector.client import JiraUnavailable, RetryPolicy
from baton.connector.reconcile import reconcile
from baton.connector.store_ledger import StoreLedger
from baton.store.models import IssueRow, TransitionRow
from tests.contract.connector.conftest import JiraMock
from tests.contract.connector.standin import BASE, StandInIssue, generate_issues, status_json

CONFIG = load_config("config/examples/delivery.yaml")


def _count(engine: Any, model: Any, site: str) -> int:
    with Session(engine) as s:
        return int(s.scalar(select(func.count()).select_from(model).where(model.site_id == site)) or 0)


def _expected(issues: list[StandInIssue]) -> int:
    return sum(len(i.histories) + 1 for i in issues)


def test_interrupted_backfill_resumes_without_duplicates(jira: JiraMock, engine: Any) -> None:
    issues = generate_issues(450, seed=3)
    jira.standin.add_issues(issues)
    ledger = StoreLedger(engine, CONFIG)
    options = BackfillOptions(page_size=100, concurrency=2)
    # Jira goes down after a few pages: the run fails with a typed error after its retries.
    jira.standin.fail_from_request = 6
    client = jira.client(retry=RetryPolicy(attempts=2, initial=0, jitter=0, sleep=lambda s: None))
    with pytest.raises(JiraUnavailable):
        Backfill(client, ledger, CONFIG, options).run()
    # Whole pages only: the issue rows are a multiple of the page size and match the checkpoint.
    committed = _count(engine, IssueRow, "acme")
    assert committed % 100 == 0 and 0 < committed < 450
    checkpoint = ledger.load_checkpoint("acme", "backfill")
    assert checkpoint is not None and checkpoint.in_progress and checkpoint.processed == committed
    partial = _count(engine, TransitionRow, "acme")
    assert partial == _expected(issues[:committed])

    jira.standin.fail_from_request = None
    searches_before = len(jira.calls("POST", "/rest/api/3/search/jql"))
    report = Backfill(jira.client(), ledger, CONFIG, options).run()
    assert report.resumed
    assert report.issues == 450 - committed
    # It continued from the saved cursor: it did not search the committed pages again.
    assert (
        len(jira.calls("POST", "/rest/api/3/search/jql")) - searches_before == (450 - committed + 99) // 100
    )
    assert _count(engine, TransitionRow, "acme") == _expected(issues)
    assert _count(engine, IssueRow, "acme") == 450
    done = ledger.load_checkpoint("acme", "backfill")
    assert done is not None and not done.in_progress and done.last_synced_at is not None

    # Running again is incremental (updated >= last sync - overlap) and changes nothing.
    again = Backfill(jira.client(), ledger, CONFIG, options).run()
    assert 'updated >= "' in again.jql and again.inserted == 0
    assert _count(engine, TransitionRow, "acme") == _expected(issues)


def _webhook(issue: StandInIssue, history: dict[str, Any] | None) -> dict[str, Any]:
    """A Jira Cloud webhook body for one status change (or the creation when history is None)."""
    fields = issue.fields(["project", "issuetype", "priority", "status", "created", "updated"], BASE)
    if history is None:
        first = issue.histories[0]["items"][0]["from"] if issue.histories else issue.status_id
        fields["status"] = status_json(first)
        return {
            "webhookEvent": "jira:issue_created",
            "issue_event_type_name": "issue_created",
            "timestamp": int(issue.created.timestamp() * 1000),
            "issue": {"id": issue.id, "key": issue.key, "fields": fields},
        }
    to_id = history["items"][0]["to"]
    fields["status"] = status_json(to_id)
    return {
        "webhookEvent": "jira:issue_updated",
        "issue_event_type_name": "issue_generic",
        "timestamp": int(
            datetime.fromisoformat(history["created"].replace("+0000", "+00:00")).timestamp() * 1000
        ),
        "issue": {"id": issue.id, "key": issue.key, "fields": fields},
        "changelog": {"id": history["id"], "items": history["items"]},
        "user": history["author"],
    }


def _requests(engine: Any, site: str) -> pd.DataFrame:
    from baton.store.requests import load_requests_frame

    with Session(engine) as s:
        frame = load_requests_frame(s, site)
    frame = frame.drop(columns=[c for c in ("site_id", "id") if c in frame.columns])
    return frame.sort_values(["issue_id", "seq"]).reset_index(drop=True)


def test_reconcile_after_dropped_webhooks_restores_the_clean_state(jira: JiraMock, engine: Any) -> None:
    from baton.store.inbox import accept_delivery
    from baton.store.pipeline import process_pending

    issues = generate_issues(60, seed=11)
    jira.standin.add_issues(issues)

    # Clean run: a full backfill of site "clean".
    Backfill(
        jira.client(jira.cloud_site("clean")),
        StoreLedger(engine, CONFIG),
        CONFIG,
        BackfillOptions(page_size=50),
    ).run()

    # Site "acme" got its changes by webhook only, and 15 % of the deliveries were lost.
    rng = random.Random(5)
    dropped = 0
    with Session(engine) as s:
        for issue in issues:
            for history in [None, *issue.histories]:
                if rng.random() < 0.15:
                    dropped += 1
                    continue
                body = json.dumps(_webhook(issue, history)).encode()
                accept_delivery(s, "acme", body=body, headers={"Content-Type": "application/json"})
    process_pending(engine, CONFIG, limit=100_000)
    assert _count(engine, TransitionRow, "acme") == _expected(issues) - dropped
    assert not _requests(engine, "acme").equals(_requests(engine, "clean"))

    report = reconcile(jira.client(), StoreLedger(engine, CONFIG), CONFIG, BackfillOptions(page_size=50))
    assert report.missed == dropped
    assert _count(engine, TransitionRow, "acme") == _count(engine, TransitionRow, "clean")
    pd.testing.assert_frame_equal(_requests(engine, "acme"), _requests(engine, "clean"))
