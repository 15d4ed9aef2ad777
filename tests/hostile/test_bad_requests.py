"""Issue 12 rows 6, 7 and 12 against a real server: a non-ASCII share link (500, now 401), a
non-numeric `/api/inbox?limit=` (500, now 400) and an unknown site name of 5,000 characters in the
URL (logged in full, now cut to 64 characters). None stores anything or touches its neighbours."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.hostile.conftest import WEBHOOK_PATH, Inbox, Neighbours, raw_request, server_log
from tests.integration.webhooks.support import GunicornServer, generated_history

ADMIN = "admin-token-for-the-hostile-tests"


@pytest.fixture
def admin_server(start_server: Callable[..., GunicornServer]) -> GunicornServer:
    return start_server(BATON_ADMIN_TOKEN=ADMIN)


@pytest.fixture
def around(admin_server: GunicornServer, inbox: Inbox) -> Neighbours:
    return Neighbours(admin_server.base, inbox, generated_history(2))


def _get(path: str, *headers: bytes) -> bytes:
    head = [f"GET {path} HTTP/1.1".encode(), b"Host: 127.0.0.1", b"Connection: close", *headers]
    return b"\r\n".join(head) + b"\r\n\r\n"


@pytest.mark.parametrize(
    "share",
    [b"\xe9.\xe9", "é.é".encode()],  # é in latin-1 (one byte), and in UTF-8 (read as latin-1: two)
    ids=["latin-1", "utf-8"],
)
def test_a_non_ascii_share_link_is_401(
    admin_server: GunicornServer, inbox: Inbox, around: Neighbours, share: bytes
) -> None:
    around.send()
    response = raw_request(admin_server.port, _get("/api/v1/teams", b"X-Baton-Share: " + share))
    around.send()

    assert response.status == 401
    assert response.json()["message"] == "share link is malformed"
    around.assert_stored_once_and_processed()
    assert inbox.states() == {"done": 2}


def test_a_non_numeric_inbox_limit_is_400(
    admin_server: GunicornServer, inbox: Inbox, around: Neighbours
) -> None:
    around.send()
    bearer = f"Authorization: Bearer {ADMIN}".encode()
    response = raw_request(admin_server.port, _get("/api/inbox?limit=abc", bearer))
    valid = raw_request(admin_server.port, _get("/api/inbox?limit=5", bearer))
    around.send()

    assert response.status == 400
    assert response.json() == {
        "error": "bad_request",
        "message": "limit must be a whole number, not 'abc'",
        "hint": "for example limit=100",
    }
    assert valid.status == 200
    around.assert_stored_once_and_processed()
    assert inbox.states() == {"done": 2}


def test_an_unknown_site_name_of_5000_characters_is_404_and_logged_cut_to_64(
    admin_server: GunicornServer, inbox: Inbox, around: Neighbours
) -> None:
    name = "s" * 5000
    body = b'{"webhookEvent":"jira:issue_updated"}'
    request = (
        f"POST {WEBHOOK_PATH}/{name} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    around.send()
    response = raw_request(admin_server.port, request)
    around.send()

    assert response.status == 404
    assert response.json()["message"] == f"no Jira site named '{'s' * 64}' is registered"
    around.assert_stored_once_and_processed()
    assert inbox.states() == {"done": 2}
    log = server_log(admin_server)
    rejected = [line for line in log.splitlines() if "delivery_rejected" in line]
    assert len(rejected) == 1, log[-3000:]
    assert "s" * 64 in rejected[0]
    assert "s" * 65 not in log  # neither the rejection nor an access log line holds the whole name
