"""Issue 12 row 3: a NUL in `webhookEvent` made a 500 on PostgreSQL (`DataError 0x00` on insert) and,
by the code's reading, could fail the deliveries inserted in the same batch. It must be stored once,
its event cleaned, and never affect the deliveries around it."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from tests.hostile.conftest import Inbox, Neighbours, post
from tests.integration.webhooks.support import GeneratedDelivery, GunicornServer, generated_history

UPDATED = b'"webhookEvent":"jira:issue_updated"'


def _with_nul_event(delivery: GeneratedDelivery) -> GeneratedDelivery:
    """The same delivery (new identifier) whose `webhookEvent` holds an escaped NUL."""
    body = delivery.body.replace(UPDATED, b'"webhookEvent":"jira:issue_\\u0000updated"')
    assert body != delivery.body
    return GeneratedDelivery(identifier=delivery.identifier + "-nul", body=body)


def test_a_nul_in_the_event_is_stored_once_cleaned_and_its_batch_mates_are_unaffected(
    server: GunicornServer, inbox: Inbox
) -> None:
    history = generated_history(1)  # one issue: created, then nine status changes
    neighbours = Neighbours(server.base, inbox, history)
    neighbours.send()
    hostile = _with_nul_event(history[1])
    batch_mates = history[1:9]  # sent at the same moment as the hostile one, so written alongside it
    with ThreadPoolExecutor(max_workers=len(batch_mates) + 1) as pool:
        statuses = list(pool.map(lambda d: post(server.base, d).status_code, [hostile, *batch_mates]))
    neighbours.sent.extend(batch_mates)
    neighbours.history = history
    neighbours.send()

    assert statuses == [202] * 9
    neighbours.assert_stored_once_and_processed()
    stored = [(row.event, row.state, row.error) for row in inbox.rows() if row.body == hostile.body]
    # Stored once under the cleaned event; processing reads the raw payload, whose event it does not
    # know, and ignores it (on PostgreSQL the reason quoting the NUL used to fail the delivery).
    assert stored == [("jira:issue_updated", "ignored", "no status change in jira:issue_updated")]
    assert inbox.states() == {"done": 10, "ignored": 1}
