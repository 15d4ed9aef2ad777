"""Issue 12 row 1: a body over the limit sent with `Transfer-Encoding: chunked` (no Content-Length).

werkzeug's `get_data()` cut such a body at the limit: signed, the cut body failed its signature (a
misleading 401); unsigned, 5 MiB were quarantined. It must be 413 and store nothing."""

from __future__ import annotations

from tests.hostile.conftest import (
    WEBHOOK_PATH,
    Inbox,
    Neighbours,
    chunked_post,
    raw_request,
    signed,
)
from tests.integration.webhooks.support import GunicornServer

LIMIT = 5 * 1024 * 1024  # BATON_MAX_BODY_BYTES's default


def _json_of_size(size: int) -> bytes:
    head, tail = b'{"webhookEvent":"jira:issue_updated","padding":"', b'"}'
    return head + b"x" * (size - len(head) - len(tail)) + tail


def test_a_signed_chunked_body_over_the_limit_is_413_and_stores_nothing(
    server: GunicornServer, inbox: Inbox, neighbours: Neighbours
) -> None:
    neighbours.send()
    body = _json_of_size(6 * 1024 * 1024)
    response = raw_request(server.port, chunked_post(WEBHOOK_PATH, body, signed(body)))
    neighbours.send()

    assert response.status == 413
    assert response.json() == {
        "error": "payload_too_large",
        "message": f"the body exceeds the limit of {LIMIT} bytes",
        "hint": "Jira bodies are far below this limit; check what is posting here, or raise BATON_MAX_BODY_BYTES",
    }
    neighbours.assert_stored_once_and_processed()
    assert inbox.states() == {"done": 2}


def test_an_unsigned_chunked_body_over_the_limit_is_413_not_quarantined(
    server: GunicornServer, inbox: Inbox, neighbours: Neighbours
) -> None:
    neighbours.send()
    body = b"{" * (6 * 1024 * 1024)  # unsigned and not JSON: refused for its size before anything else
    response = raw_request(
        server.port, chunked_post(WEBHOOK_PATH, body, {"Content-Type": "application/json"})
    )
    neighbours.send()

    assert response.status == 413
    assert response.json()["error"] == "payload_too_large"
    neighbours.assert_stored_once_and_processed()
    assert inbox.states() == {"done": 2}


def test_a_chunked_body_exactly_at_the_limit_is_accepted_once(
    server: GunicornServer, inbox: Inbox, neighbours: Neighbours
) -> None:
    neighbours.send()
    body = _json_of_size(LIMIT)
    response = raw_request(server.port, chunked_post(WEBHOOK_PATH, body, signed(body)))
    neighbours.send()

    assert response.status == 202
    neighbours.assert_stored_once_and_processed()
    stored = [row for row in inbox.rows() if row.body == body]
    assert [(row.event, row.state) for row in stored] == [("jira:issue_updated", "ignored")]
