"""Issue 12 row 10: a worker loaded its whole batch of 500 deliveries at once, whatever their size
(1.48 GB peak RSS for 100 bodies of 4.5 MB). Batches are now bounded by body bytes as well as rows:
30 bodies of 3 MB (90 MB) pending are claimed in two batches under the 64 MiB default."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable

import requests

from baton.store.inbox import DEFAULT_BATCH_BYTES
from tests.hostile.conftest import WEBHOOK_PATH, Inbox, run_worker, signed
from tests.integration.webhooks.support import GunicornServer

BODY_BYTES = 3_000_000
BODIES = 30


def _large_body(n: int) -> bytes:
    head = json.dumps({"webhookEvent": "jira:issue_updated", "n": n, "padding": ""})[:-2].encode()
    return head + b"p" * (BODY_BYTES - len(head) - 2) + b'"}'


def test_large_pending_bodies_are_claimed_in_batches_bounded_by_bytes_and_all_processed(
    start_server: Callable[..., GunicornServer], inbox: Inbox, db_url: str
) -> None:
    receiver = start_server(BATON_MODE="production")  # receives only: the worker does the processing
    bodies = [_large_body(n) for n in range(BODIES)]
    assert {len(body) for body in bodies} == {BODY_BYTES}
    with requests.Session() as http:
        for body in bodies:
            response = http.post(receiver.base + WEBHOOK_PATH, data=body, headers=signed(body), timeout=30)
            assert response.status_code == 202
    assert inbox.states() == {"pending": BODIES}

    run_worker(db_url)  # `baton worker --exit-when-idle`, default batch (500 rows) and byte budget

    rows = inbox.rows()
    assert [(row.body == body, row.state) for row, body in zip(rows, bodies, strict=True)] == [
        (True, "ignored")
    ] * BODIES
    # One claim is one statement stamping one `claimed_at`: equal stamps are one batch.
    per_batch = sorted(Counter(row.claimed_at for row in rows).values(), reverse=True)
    per_batch_by_budget = DEFAULT_BATCH_BYTES // BODY_BYTES
    assert per_batch == [per_batch_by_budget, BODIES - per_batch_by_budget] == [22, 8]
