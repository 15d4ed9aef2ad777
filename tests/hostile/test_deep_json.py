"""Issue 12 row 2: JSON nested 1,030 levels deep made a 500 (orjson refuses it, and the `json`
fallback raised an uncaught RecursionError). It must be 400, with the raw body in quarantine."""

from __future__ import annotations

import pytest
import requests

from tests.hostile.conftest import WEBHOOK_PATH, Inbox, Neighbours, signed
from tests.integration.webhooks.support import GunicornServer


def _nested(depth: int) -> bytes:
    """An object whose `issue` holds lists nested until the whole is `depth` levels deep."""
    return b'{"webhookEvent":"jira:issue_updated","issue":' + b"[" * (depth - 1) + b"]" * (depth - 1) + b"}"


@pytest.mark.parametrize("depth", [1_030, 100_000])
def test_too_deep_json_is_400_and_quarantined_once(
    server: GunicornServer, inbox: Inbox, neighbours: Neighbours, depth: int
) -> None:
    neighbours.send()
    body = _nested(depth)
    response = requests.post(server.base + WEBHOOK_PATH, data=body, headers=signed(body), timeout=30)
    neighbours.send()

    assert response.status_code == 400
    answer = response.json()
    assert (answer["error"], answer["message"]) == (
        "malformed_payload",
        "the body is nested more than 512 levels deep",
    )
    neighbours.assert_stored_once_and_processed()
    quarantined = [row for row in inbox.rows() if row.state == "quarantined"]
    assert [(row.id, row.body, row.error) for row in quarantined] == [
        (answer["delivery_id"], body, "the body is nested more than 512 levels deep")
    ]
    assert inbox.states() == {"done": 2, "quarantined": 1}


def test_json_nested_512_deep_is_accepted_and_processed(
    server: GunicornServer, inbox: Inbox, neighbours: Neighbours
) -> None:
    body = _nested(512)
    response = requests.post(server.base + WEBHOOK_PATH, data=body, headers=signed(body), timeout=30)
    neighbours.send()

    assert response.status_code == 202
    neighbours.assert_stored_once_and_processed()
    assert [(row.body, row.state) for row in inbox.rows() if row.body == body] == [(body, "ignored")]
