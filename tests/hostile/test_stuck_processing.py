"""Issue 12 row 11: deliveries left `processing` by a killed worker did not count in `/healthz`
`oldest_unprocessed_age_s` (null for the five minutes before they are claimable again). They must."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import update

from baton.store.models import Delivery, utcnow
from tests.hostile.conftest import Inbox, post, run_worker
from tests.integration.webhooks.support import GunicornServer, generated_history

AN_HOUR = 3600.0


def test_a_delivery_left_processing_counts_in_healthz_until_a_worker_takes_it_again(
    start_server: Callable[..., GunicornServer], inbox: Inbox, db_url: str
) -> None:
    receiver = start_server(BATON_MODE="production")  # receives only: nothing is processed under us
    stuck, *later = generated_history(1)[:3]
    assert post(receiver.base, stuck).status_code == 202
    with inbox.engine.begin() as connection:
        # As a worker killed mid-batch leaves it: claimed ten minutes ago, received an hour ago.
        connection.execute(
            update(Delivery).values(
                state="processing",
                claimed_by="killed-worker",
                claimed_at=utcnow() - timedelta(minutes=10),
                received_at=utcnow() - timedelta(seconds=AN_HOUR),
            )
        )

    health = receiver.health()
    assert health["inbox_backlog"] == 1
    assert AN_HOUR <= health["oldest_unprocessed_age_s"] < AN_HOUR + 300

    for delivery in later:
        assert post(receiver.base, delivery).status_code == 202
    run_worker(db_url)  # claims the stale row again (claimed over five minutes ago) with the new ones
    rows = [(row.body, row.state, row.error) for row in inbox.rows()]
    assert rows == [(d.body, "done", None) for d in (stuck, *later)]
    health = receiver.health()
    assert (health["inbox_backlog"], health["oldest_unprocessed_age_s"]) == (0, None)
