"""The client: 429/503 retried honouring Retry-After with jittered backoff; 401/403/404 typed, with the fix."""

from __future__ import annotations

import logging

import pytest

from baton.config.loader import load_config
from baton.connector.backfill import Backfill, BackfillOptions
from baton.connector.client import (
    JiraAuthError,
    JiraNotFound,
    JiraPermissionError,
    JiraUnavailable,
    RetryPolicy,
)
from baton.connector.ledger import MemoryLedger
from tests.contract.connector.conftest import JiraMock
from tests.contract.connector.standin import generate_issues

CONFIG = load_config("config/examples/delivery.yaml")


def test_rate_limits_are_retried_after_retry_after(jira: JiraMock) -> None:
    jira.standin.add_issues(generate_issues(120, seed=2))
    jira.standin.rate_limit_every = 3
    jira.standin.retry_after = "7"
    waits: list[float] = []
    client = jira.client(retry=RetryPolicy(attempts=5, initial=0.5, jitter=0.25, sleep=waits.append))
    report = Backfill(client, MemoryLedger(), CONFIG, BackfillOptions(page_size=50, concurrency=2)).run()
    assert report.issues == 120
    assert report.retries == len(waits) > 0
    assert all(7 <= w <= 7.25 for w in waits)  # Retry-After is a floor; jitter on top


def test_outage_backs_off_exponentially_then_gives_up_with_advice(jira: JiraMock) -> None:
    jira.standin.fail_from_request = 0
    waits: list[float] = []
    client = jira.client(
        retry=RetryPolicy(attempts=4, initial=1.0, maximum=60, jitter=0.0, sleep=waits.append)
    )
    with pytest.raises(JiraUnavailable, match="try again later"):
        client.request("GET", "/rest/api/3/myself")
    assert waits == [1.0, 2.0, 4.0]


@pytest.mark.parametrize(
    ("status", "error", "advice"),
    [
        (401, JiraAuthError, "API token belongs to ops@example.org"),
        (403, JiraPermissionError, "Browse projects"),
        (404, JiraNotFound, "check the site URL"),
    ],
)
def test_client_errors_are_typed_and_say_what_to_fix(
    jira: JiraMock, status: int, error: type, advice: str, caplog: pytest.LogCaptureFixture
) -> None:
    original = jira.standin.handle

    def refuse(method, path, query, body):  # type: ignore[no-untyped-def]
        if path.startswith("/rest/api/3/issue/"):
            return status, {}, {"errorMessages": ["refused"], "errors": {}}
        return original(method, path, query, body)

    jira.standin.handle = refuse  # type: ignore[method-assign]
    caplog.set_level(logging.DEBUG)
    client = jira.client()
    with pytest.raises(error, match=advice) as raised:
        client.request("PUT", "/rest/api/3/issue/10001/properties/baton.sla", json={"state": "met"})
    assert raised.value.status == status
    assert "s3cr3t-api-token" not in str(raised.value)
    assert "s3cr3t-api-token" not in caplog.text
    assert "s3cr3t-api-token" not in repr(client.site) and "s3cr3t-api-token" not in repr(client)
