"""Edge cases of payload extraction, built by editing real fixtures loaded from disk."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from baton.scoring.extract import (
    SkippedHistory,
    UnsupportedPayload,
    extract_issue,
    extract_payload,
    iter_documents,
    parse_jira_datetime,
    transitions_from_histories,
)
from baton.scoring.model import CREATION_CHANGE_ID
from tests.recorded import devlake_changelog_histories, devlake_issues

SERVER_IN_PROGRESS = "jira-webhooks/mattermost-plugin-jira/webhook-server-issue-updated-in-progress.json"
CLOUD_STARTED = "jira-webhooks/mattermost-plugin-jira/webhook-issue-updated-started-working.json"
CLOUD_CREATED = "jira-webhooks/mattermost-plugin-jira/webhook-issue-created.json"


def load(fixtures: Path, rel: str) -> Any:
    return json.loads((fixtures / rel).read_text(encoding="utf-8"))


def test_epoch_ms_timestamp_is_utc(fixtures: Path) -> None:
    (t,) = extract_payload(load(fixtures, CLOUD_STARTED)).transitions
    assert t.at == datetime(2019, 2, 16, 3, 14, 22, 39000, tzinfo=UTC)


# Jira Server sends `timestamp` as local text without a zone in some versions; this delivery's
# issue.fields.updated is 2019-08-14T11:02:33.678+0800.


def test_string_timestamp_close_to_updated_is_updated(fixtures: Path) -> None:
    payload = load(fixtures, SERVER_IN_PROGRESS)
    payload["timestamp"] = "2019-08-14 11:02:34,870"
    (t,) = extract_payload(payload).transitions
    assert t.at == parse_jira_datetime("2019-08-14T11:02:33.678+0800")


def test_string_timestamp_far_from_updated_is_read_in_updated_offset(fixtures: Path) -> None:
    payload = load(fixtures, SERVER_IN_PROGRESS)
    payload["timestamp"] = "2019-8-14 15:00:00,000"  # hours after issue.fields.updated (+0800)
    (t,) = extract_payload(payload).transitions
    assert t.at == datetime(2019, 8, 14, 7, 0, tzinfo=UTC)


def test_us_style_string_timestamp(fixtures: Path) -> None:
    payload = load(fixtures, SERVER_IN_PROGRESS)
    payload["timestamp"] = "8/14/2019, 11:02:34 AM,870"
    (t,) = extract_payload(payload).transitions
    assert t.at == parse_jira_datetime("2019-08-14T11:02:33.678+0800")


def test_string_timestamp_without_updated_is_utc(fixtures: Path) -> None:
    payload = load(fixtures, SERVER_IN_PROGRESS)
    payload["timestamp"] = "2019-08-14 11:02:34,870"
    del payload["issue"]["fields"]["updated"]
    (t,) = extract_payload(payload).transitions
    assert t.at == datetime(2019, 8, 14, 11, 2, 34, 870000, tzinfo=UTC)


def test_two_status_items_in_one_changelog_get_distinct_ids(fixtures: Path) -> None:
    payload = load(fixtures, CLOUD_STARTED)
    item = next(i for i in payload["changelog"]["items"] if i.get("fieldId") == "status")
    second = dict(item, **{"from": "3", "fromString": "In Progress", "to": "10002", "toString": "Done"})
    payload["changelog"]["items"].append(second)
    ids = [t.change_id for t in extract_payload(payload).transitions]
    assert ids == ["10227", "10227#2"]


def test_created_event_with_status_item_dates_creation_at_fields_created(fixtures: Path) -> None:
    (t,) = extract_payload(load(fixtures, CLOUD_CREATED)).transitions
    assert t.change_id == CREATION_CHANGE_ID
    assert t.at == parse_jira_datetime("2019-02-15T19:01:52.971-0800")


def test_webhook_and_rest_creation_share_the_change_id(fixtures: Path) -> None:
    """Creation from a webhook and from a REST history de-duplicate in the log (same change id)."""
    webhook = extract_payload(load(fixtures, CLOUD_CREATED)).transitions[0]
    rest = extract_issue(devlake_issues()[0]).transitions[0]
    assert webhook.change_id == rest.change_id == CREATION_CHANGE_ID


def test_truncated_embedded_changelog_has_no_creation() -> None:
    issue = devlake_issues()[0]
    issue["changelog"]["total"] = len(issue["changelog"]["histories"]) + 5
    assert all(t.change_id != CREATION_CHANGE_ID for t in extract_issue(issue).transitions)


def test_histories_in_any_order() -> None:
    issue = devlake_issues()[0]
    histories = issue["changelog"]["histories"]
    forward = transitions_from_histories(issue["id"], histories, issue["key"])
    backward = transitions_from_histories(issue["id"], list(reversed(histories)), issue["key"])
    assert forward == backward
    assert all(t.issue_key == issue["key"] for t in forward)


def test_unsupported_payloads(fixtures: Path) -> None:
    with pytest.raises(UnsupportedPayload, match="JSON object"):
        extract_payload([1, 2])  # type: ignore[arg-type]
    with pytest.raises(UnsupportedPayload, match="issueChangeLogs"):
        list(iter_documents({"issueChangeLogs": [{"changeHistories": []}]}))
    with pytest.raises(UnsupportedPayload, match="REST issue"):
        extract_issue({"key": "X-1"})
    with pytest.raises(UnsupportedPayload, match="expected"):
        list(iter_documents("text"))
    payload = load(fixtures, CLOUD_STARTED)
    del payload["timestamp"]
    del payload["issue"]["fields"]["updated"]
    with pytest.raises(UnsupportedPayload, match="timestamp"):
        extract_payload(payload)


def test_json_array_of_documents(fixtures: Path) -> None:
    docs = [load(fixtures, CLOUD_CREATED), load(fixtures, CLOUD_STARTED)]
    extractions = list(iter_documents(docs))
    assert [len(x.transitions) for x in extractions] == [1, 1]


def test_changelog_page_is_named_and_the_fix_given() -> None:
    """A `/issue/{key}/changelog` page does not say which issue it belongs to: the message names the
    shape and says how to replay it."""
    histories = devlake_changelog_histories()["13383"]
    page = {"startAt": 0, "maxResults": 100, "total": len(histories), "isLast": True, "values": histories}
    with pytest.raises(UnsupportedPayload) as raised:
        list(iter_documents(page))
    message = str(raised.value)
    assert "/issue/{key}/changelog page ('values', 'isLast')" in message
    assert '{"issueChangeLogs": [{"issueId": "<issue id>", "changeHistories": <values>}]}' in message
    assert "expand=changelog" in message


def test_one_history_without_id_is_skipped_with_a_warning_and_the_rest_kept() -> None:
    issue = devlake_issues()[0]  # EE-1: five status changes after its creation
    expected = [t for t in extract_issue(issue).transitions if t.change_id != "11066"]
    broken = next(h for h in issue["changelog"]["histories"] if h["id"] == "11066")
    del broken["id"]
    with pytest.warns(SkippedHistory, match="issue 10063: skipped a changelog history") as caught:
        transitions = extract_issue(issue).transitions
    assert len(caught) == 1
    assert list(transitions) == expected
    assert [t.change_id for t in transitions] == ["created", "10900", "10911", "12025", "86412"]
