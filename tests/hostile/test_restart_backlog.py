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


def test_an_embedded_server_rederives_a_stale_site_on_start(
    start_server: Callable[..., GunicornServer], inbox: Inbox
) -> None:
    """Issue 16 item 6: after a configuration change, restarting `serve` applies it to history."""
    import time

    from sqlalchemy import select, update
    from sqlalchemy.orm import Session

    from baton.config.loader import load_config
    from baton.store.models import Site
    from baton.store.pipeline import config_fingerprint
    from tests.integration.webhooks.support import EXAMPLE_CONFIG

    first = start_server()
    for delivery in generated_history(2):
        response = requests.post(
            first.base + WEBHOOK_PATH, data=delivery.body, headers=delivery.headers(), timeout=10
        )
        assert response.status_code == 202
    assert inbox.wait_until_settled(timeout=60) == {"done": 20}
    first.stop()
    with Session(inbox.engine) as session:  # as if the requests had been derived under another configuration
        session.execute(update(Site).values(config_fingerprint="0" * 64))
        session.commit()

    start_server()  # nothing is sent to it
    expected = config_fingerprint(load_config(EXAMPLE_CONFIG))
    deadline = time.monotonic() + 60
    while True:
        with Session(inbox.engine) as session:
            stored = set(session.execute(select(Site.config_fingerprint)).scalars())
        if stored == {expected}:
            break
        assert time.monotonic() < deadline, f"still derived under {stored}"
        time.sleep(0.3)
