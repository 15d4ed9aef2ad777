"""Issue 12 row 4: an embedded server restarted over a backlog left it there until the next delivery
arrived (162 s observed): its drainer started only on `wake()`. It must drain on start."""

from __future__ import annotations

from collections.abc import Callable

import requests

from tests.hostile.conftest import WEBHOOK_PATH, Inbox, Neighbours
from tests.integration.webhooks.support import GunicornServer, generated_history


def test_an_embedded_server_drains_leftover_deliveries_without_new_traffic(
    start_server: Callable[..., GunicornServer], inbox: Inbox
) -> None:
    receiver = start_server(BATON_MODE="production")  # receives only: what it stores stays pending
    deliveries = generated_history(3)
    for delivery in deliveries:
        response = requests.post(
            receiver.base + WEBHOOK_PATH, data=delivery.body, headers=delivery.headers(), timeout=10
        )
        assert response.status_code == 202
    receiver.stop()
    assert inbox.states() == {"pending": 30}

    restarted = start_server()  # embedded; nothing is sent to it
    assert inbox.wait_until_settled(timeout=60) == {"done": 30}

    neighbours = Neighbours(restarted.base, inbox, generated_history(4)[30:])
    neighbours.send()
    neighbours.assert_stored_once_and_processed()
    assert inbox.states() == {"done": 31}
