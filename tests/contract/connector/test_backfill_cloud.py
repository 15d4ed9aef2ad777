"""Cloud backfill against the contract: search/jql + approximate-count + changelog/bulkfetch."""

from __future__ import annotations

from baton.config.loader import load_config
from baton.connector.backfill import Backfill, BackfillOptions
from baton.connector.ledger import MemoryLedger
from tests.contract.connector.conftest import JiraMock
from tests.contract.connector.standin import generate_issues

CONFIG = "config/examples/delivery.yaml"


def _expected_transitions(issues) -> int:  # type: ignore[no-untyped-def]
    return sum(len(i.histories) + 1 for i in issues)  # + the creation transition


def test_backfill_reads_every_issue_and_transition(jira: JiraMock) -> None:
    issues = generate_issues(230, seed=1)
    jira.standin.add_issues(issues)
    ledger = MemoryLedger()
    report = Backfill(
        jira.client(), ledger, load_config(CONFIG), BackfillOptions(page_size=100, concurrency=3)
    ).run()
    assert report.issues == 230
    assert report.inserted == _expected_transitions(issues)
    assert report.approximate_total == 230
    assert {p for _, p, _ in jira.sent} == {
        "/rest/api/3/search/approximate-count",
        "/rest/api/3/search/jql",
        "/rest/api/3/changelog/bulkfetch",
    }
    for _, _path, body in jira.calls("POST", "/rest/api/3/changelog/bulkfetch"):
        assert body["fieldIds"] == ["status"] and 1 <= len(body["issueIdsOrKeys"]) <= 1000
    # Every search is bounded by the configured projects.
    for _, _, body in jira.calls("POST", "/rest/api/3/search/jql"):
        assert body["jql"].startswith('project in ("PROJ")')
