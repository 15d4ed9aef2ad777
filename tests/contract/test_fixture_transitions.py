"""Every status-changing Jira fixture in tests/fixtures yields exactly the right transitions.

Expected values were read off the fixture files by hand (SOURCES.md marks them STATUS / INITIAL-STATUS);
the fixtures themselves are always loaded from disk.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from baton.scoring.extract import (
    LEGACY_TRANSITION_EVENT,
    UnsupportedPayload,
    extract_issue,
    extract_payload,
    iter_documents,
)
from baton.scoring.model import CREATION_CHANGE_ID, Transition
from tests.recorded import devlake_documents, devlake_issues, devlake_search_response, read_csv

WEBHOOKS = "jira-webhooks"


def load(fixtures: Path, rel: str) -> Any:
    return json.loads((fixtures / rel).read_text(encoding="utf-8"))


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def row(t: Transition) -> tuple[str, datetime, str | None, str | None, str | None, str | None, str]:
    return (t.issue_id, t.at, t.from_id, t.from_name, t.to_id, t.to_name, t.change_id)


# (issue id, at, from id, from name, to id, to name, change id) per fixture file, in order.
EXPECTED_WEBHOOKS: dict[str, list[tuple[str, str, str | None, str | None, str | None, str | None, str]]] = {
    # --- zulip ---
    # legacy payload: no webhookEvent, a `transition` block with names only; epoch-ms timestamp
    "zulip/change_status_v1.json": [
        (
            "10200",
            "2013-05-23T15:07:38.777+00:00",
            None,
            "To Do",
            None,
            "In Progress",
            "transition:1369321658777",
        ),
    ],
    "zulip/change_status_v2.json": [
        ("10000", "2017-01-30T17:32:14.721+00:00", "10000", "To Do", "3", "In Progress", "10000"),
    ],
    "zulip/issue_updated__status.json": [
        ("10000", "2017-01-30T17:32:14.721+00:00", "10000", "To Do", "3", "In Progress", "10000"),
    ],
    # issue_created without a changelog: creation into issue.fields.status at issue.fields.created
    "zulip/created_v1.json": [("10400", "2013-03-27T16:53:58.301+00:00", None, None, "1", "Open", "created")],
    "zulip/created_v2.json": [("10400", "2013-03-27T16:53:58.301+00:00", None, None, "1", "Open", "created")],
    "zulip/issue_created.json": [
        ("10400", "2013-03-27T16:53:58.301+00:00", None, None, "1", "Open", "created")
    ],
    # --- mattermost (Cloud: fieldId present; Server: no fieldId) ---
    "mattermost-plugin-jira/webhook-cloud-issue-created-many-fields.json": [
        ("10509", "2019-08-27T12:43:24.193-07:00", None, None, "10004", "To Do", "created"),
    ],
    **{
        f"mattermost-plugin-jira/webhook-issue-created{suffix}.json": [
            ("10040", "2019-02-15T19:01:52.971-08:00", None, None, "10001", "To Do", "created"),
        ]
        for suffix in (
            "",
            "-no-description",
            "-no-description-nor-relevant-fields",
            "-no-relevant-fields",
            "-with-security-level",
        )
    },
    "mattermost-plugin-jira/webhook-issue-updated-started-working.json": [
        ("10040", "2019-02-16T03:14:22.039+00:00", "10001", "To Do", "3", "In Progress", "10227"),
    ],
    "mattermost-plugin-jira/webhook-issue-updated-resolved.json": [
        ("10040", "2019-02-16T03:15:40.507+00:00", "3", "In Progress", "10002", "Done", "10228"),
    ],
    "mattermost-plugin-jira/webhook-issue-updated-reopened.json": [
        ("10040", "2019-02-16T03:17:06.531+00:00", "10002", "Done", "10001", "To Do", "10229"),
    ],
    "mattermost-plugin-jira/webhook-server-issue-updated-resolved.json": [
        ("10300", "2019-08-12T23:23:02.025+00:00", "3", "In Progress", "5", "Resolved", "10414"),
    ],
    "mattermost-plugin-jira/webhook-server-issue-updated-reopened.json": [
        ("10300", "2019-08-14T03:01:43.657+00:00", "5", "Resolved", "4", "Reopened", "10507"),
    ],
    "mattermost-plugin-jira/webhook-server-issue-updated-in-progress.json": [
        ("10300", "2019-08-14T03:02:33.680+00:00", "4", "Reopened", "3", "In Progress", "10508"),
    ],
    "mattermost-plugin-jira/webhook-server-issue-updated-closed.json": [
        ("10300", "2019-08-14T03:07:58.358+00:00", "5", "Resolved", "6", "Closed", "10511"),
    ],
}

NOT_A_WEBHOOK = {"zulip/example_anomalous_payload.json"}


def webhook_files(fixtures: Path) -> list[str]:
    root = fixtures / WEBHOOKS
    return sorted(str(p.relative_to(root)) for p in root.rglob("*.json"))


@pytest.mark.parametrize("rel", sorted(EXPECTED_WEBHOOKS))
def test_status_webhook_yields_exact_transitions(fixtures: Path, rel: str) -> None:
    payload = load(fixtures, f"{WEBHOOKS}/{rel}")
    extraction = extract_payload(payload)
    expected = [(i, utc(at), fi, fn, ti, tn, c) for (i, at, fi, fn, ti, tn, c) in EXPECTED_WEBHOOKS[rel]]
    assert [row(t) for t in extraction.transitions] == expected
    assert all(
        t.at.tzinfo is not None and t.at.utcoffset().total_seconds() == 0 for t in extraction.transitions
    )
    assert extraction.issue is not None and extraction.issue.issue_id == expected[0][0]
    # the same result whichever entry point replay uses
    assert list(iter_documents(payload)) == [extraction]


def test_every_status_fixture_is_covered(fixtures: Path) -> None:
    """No fixture with a status item (or a creation) escapes the exact table above."""
    files = webhook_files(fixtures)
    assert set(EXPECTED_WEBHOOKS) <= set(files)
    found = set()
    for rel in files:
        if rel in NOT_A_WEBHOOK:
            continue
        if extract_payload(load(fixtures, f"{WEBHOOKS}/{rel}")).transitions:
            found.add(rel)
    assert found == set(EXPECTED_WEBHOOKS)


def test_non_status_webhooks_yield_no_transitions(fixtures: Path) -> None:
    files = [f for f in webhook_files(fixtures) if f not in EXPECTED_WEBHOOKS and f not in NOT_A_WEBHOOK]
    assert len(files) == 67 - len(EXPECTED_WEBHOOKS) - len(NOT_A_WEBHOOK)
    events: Counter[str] = Counter()
    for rel in files:
        payload = load(fixtures, f"{WEBHOOKS}/{rel}")
        extraction = extract_payload(payload)
        assert extraction.transitions == (), rel
        events[extraction.event] += 1
        issue = payload.get("issue")
        if isinstance(issue, dict) and "id" in issue:
            assert extraction.issue is not None and extraction.issue.issue_id == str(issue["id"]), rel
    # comments, worklogs, attachments, deletions and non-status updates all covered
    assert events == {
        "jira:issue_updated": 36,
        "jira:issue_deleted": 1,
        "jira:issue_unknown": 1,
        "comment_created": 3,
        "comment_deleted": 2,
        "comment_updated": 2,
        "attachment_created": 1,
        "worklog_created": 1,
    }


def test_one_changelog_resolve_without_status_item_is_not_a_transition(fixtures: Path) -> None:
    for rel in (
        "webhook-issue-updated-resolved-one-changelog.json",
        "webhook-issue-updated-reopened-one-changelog.json",
    ):
        extraction = extract_payload(load(fixtures, f"{WEBHOOKS}/mattermost-plugin-jira/{rel}"))
        assert extraction.transitions == ()


def test_missing_event_type_name_still_extracts(fixtures: Path) -> None:
    payload = load(fixtures, f"{WEBHOOKS}/mattermost-plugin-jira/webhook-server-issue-updated-resolved.json")
    payload.pop("issue_event_type_name", None)
    assert [row(t) for t in extract_payload(payload).transitions] == [
        ("10300", utc("2019-08-12T23:23:02.025+00:00"), "3", "In Progress", "5", "Resolved", "10414")
    ]


SERVER_IN_PROGRESS = "mattermost-plugin-jira/webhook-server-issue-updated-in-progress.json"
CLOUD_STARTED = "mattermost-plugin-jira/webhook-issue-updated-started-working.json"
CLOUD_CREATED = "mattermost-plugin-jira/webhook-issue-created.json"


def test_localised_field_name_counts_only_with_status_field_id(fixtures: Path) -> None:
    payload = load(fixtures, f"{WEBHOOKS}/{CLOUD_STARTED}")
    item = next(i for i in payload["changelog"]["items"] if i.get("fieldId") == "status")
    item["field"] = "状态"
    assert len(extract_payload(payload).transitions) == 1
    del item["fieldId"]
    assert extract_payload(payload).transitions == ()
    item["field"] = "STATUS"
    assert len(extract_payload(payload).transitions) == 1


def test_localised_initial_status_item_is_the_creation(fixtures: Path) -> None:
    payload = load(fixtures, f"{WEBHOOKS}/{CLOUD_CREATED}")
    item = next(i for i in payload["changelog"]["items"] if i.get("fieldId") == "status")
    item["field"] = "Статус"
    assert [row(t) for t in extract_payload(payload).transitions] == [
        ("10040", utc("2019-02-15T19:01:52.971-08:00"), None, None, "10001", "To Do", "created")
    ]


def test_issue_facts_and_status_info(fixtures: Path) -> None:
    extraction = extract_payload(load(fixtures, f"{WEBHOOKS}/{SERVER_IN_PROGRESS}"))
    assert extraction.issue is not None
    facts = extraction.issue
    assert (facts.issue_id, facts.issue_key, facts.status_id, facts.status_name) == (
        "10300",
        "TES-4",
        "3",
        "In Progress",
    )
    assert (facts.project, facts.issue_type, facts.priority) == ("TES", "Bug", "Medium")
    assert facts.updated_at == utc("2019-08-14T11:02:33.678+08:00")
    assert [(s.status_id, s.name, s.category) for s in extraction.statuses] == [
        ("3", "In Progress", "indeterminate")
    ]


def test_legacy_transition_event(fixtures: Path) -> None:
    extraction = extract_payload(load(fixtures, f"{WEBHOOKS}/zulip/change_status_v1.json"))
    assert extraction.event == LEGACY_TRANSITION_EVENT
    assert extraction.issue is not None and extraction.issue.issue_key == "TEST-1"


def test_unrecognisable_documents_raise_typed_error(fixtures: Path) -> None:
    # real REST responses that are not issues: DevLake's recorded /status and /issuetype entries
    documents = devlake_documents("status") + devlake_documents("issue_types")
    assert len(documents) == 60
    for document in documents:
        with pytest.raises(UnsupportedPayload, match="expected"):
            list(iter_documents(document))
    with pytest.raises(UnsupportedPayload, match="webhookEvent"):
        extract_payload(load(fixtures, f"{WEBHOOKS}/zulip/example_anomalous_payload.json"))


def test_rest_issue_without_changelog_keeps_its_facts_and_guesses_no_history() -> None:
    issue = devlake_issues()[0]  # EE-1, as a search without expand=changelog returns it
    del issue["changelog"]
    (extraction,) = list(iter_documents(issue))
    # its current status (已完成) says nothing about its first one (Inbox): no creation is guessed
    assert extraction.transitions == ()
    assert extraction.issue is not None
    assert (extraction.issue.issue_key, extraction.issue.status_id, extraction.issue.status_name) == (
        "EE-1",
        "10068",
        "已完成",
    )


# --- DevLake issues as one search response (expand=changelog) ----------------------------------------

DEVLAKE_COUNTS = {
    "EE-1": 5, "EE-2": 6, "EE-3": 6, "EE-4": 6, "EE-5": 4, "EE-6": 6, "EE-8": 4, "EE-9": 4, "EE-10": 4,
    "EE-14": 6, "EE-15": 6, "EE-16": 6, "EE-17": 5, "EE-19": 8, "EE-20": 4, "EE-23": 9, "EE-24": 5,
    "EE-25": 7, "EE-26": 6, "EE-27": 7, "EE-28": 4, "EE-29": 6, "EE-30": 5, "EE-31": 7, "EE-32": 4,
    "EE-33": 3, "EE-34": 6, "EE-35": 5, "EE-36": 7, "EE-37": 4, "K5-2": 0, "K5-3": 0, "K5-4": 0,
}  # fmt: skip


def test_devlake_search_response() -> None:
    extractions = list(iter_documents(devlake_search_response()))
    assert len(extractions) == 33
    by_key = {x.issue.issue_key: x for x in extractions if x.issue is not None}
    counts = {k: sum(t.change_id != CREATION_CHANGE_ID for t in x.transitions) for k, x in by_key.items()}
    assert counts == DEVLAKE_COUNTS
    assert sum(counts.values()) == 165
    # every issue is created, from no status, into the status its first history leaves
    first_statuses = Counter((x.transitions[0].change_id, x.transitions[0].from_id, x.transitions[0].to_name)
                             for x in extractions)  # fmt: skip
    assert first_statuses == {
        ("created", None, "To Do"): 24,
        ("created", None, "Inbox"): 8,
        ("created", None, "Open"): 1,
    }
    assert [row(t) for t in by_key["EE-1"].transitions] == [
        ("10063", utc("2020-06-12T00:13:13.360+00:00"), None, None, "10020", "Inbox", "created"),
        ("10063", utc("2020-06-12T01:45:24.493+00:00"), "10020", "Inbox", "10029", "Ready for Dev", "10900"),
        ("10063", utc("2020-06-12T03:38:39.785+00:00"), "10029", "Ready for Dev", "3", "In Development", "10911"),
        # the same status id 3 under its later name: each transition keeps the names it was recorded with
        ("10063", utc("2020-06-12T06:22:49.352+00:00"), "3", "In Progress", "1", "Open", "11066"),
        ("10063", utc("2020-06-19T06:31:18.526+00:00"), "1", "Open", "6", "Closed", "12025"),
        ("10063", utc("2021-03-28T08:06:08.715+00:00"), "6", "Closed", "10068", "已完成", "86412"),
    ]  # fmt: skip
    # a backward move (Resolved -> To Do) and a second "To Do" with another id (10033)
    assert [row(t) for t in by_key["EE-23"].transitions][3:7] == [
        ("10085", utc("2020-06-12T04:58:47.271+00:00"), "5", "Resolved", "10000", "To Do", "10932"),
        ("10085", utc("2020-06-12T05:01:20.770+00:00"), "10000", "To Do", "1", "Open", "11005"),
        ("10085", utc("2020-06-12T13:08:24.581+00:00"), "1", "Open", "10033", "To Do", "11252"),
        ("10085", utc("2020-06-12T13:15:21.650+00:00"), "10033", "To Do", "1", "Open", "11284"),
    ]
    # an issue whose histories never touched the status: created into its current status
    assert [row(t) for t in by_key["K5-4"].transitions] == [
        ("20710", utc("2022-07-15T22:31:15.981+00:00"), None, None, "10033", "To Do", "created")
    ]
    # chains are consistent: each transition leaves the status the previous one entered
    for x in extractions:
        for prev, nxt in zip(x.transitions, x.transitions[1:], strict=False):
            assert prev.to_id == nxt.from_id
            assert prev.at <= nxt.at
        assert x.issue is not None and x.transitions[-1].to_id == x.issue.status_id


# --- DevLake raw layer vs DevLake's expected tool layer -------------------------------------------------

DEVLAKE = "devlake-jira/jira"


def devlake_expected(fixtures: Path, items: str, changelogs: str, raw_table: str) -> set[tuple[Any, ...]]:
    logs = {r["changelog_id"]: r for r in read_csv(fixtures / DEVLAKE / "snapshot_tables" / changelogs)}
    out = set()
    for r in read_csv(fixtures / DEVLAKE / "snapshot_tables" / items):
        if r["field_id"] != "status" or r["_raw_data_table"] != raw_table:
            continue
        log = logs[r["changelog_id"]]
        out.add(
            (
                log["issue_id"],
                utc(log["created"]),
                r["from_value"] or None,
                r["from_string"] or None,
                r["to_value"] or None,
                r["to_string"] or None,
                r["changelog_id"],
            )
        )
    return out


def test_devlake_raw_issues_embedded_changelogs(fixtures: Path) -> None:
    rows = read_csv(fixtures / DEVLAKE / "raw_tables" / "_raw_jira_api_issues.csv")
    assert len(rows) == 33
    got: list[tuple[Any, ...]] = []
    creations = 0
    for r in rows:
        extraction = extract_issue(json.loads(r["data"]))
        for t in extraction.transitions:
            if t.change_id == CREATION_CHANGE_ID:
                creations += 1
                continue
            got.append(row(t))
    assert len(got) == 165
    expected = devlake_expected(
        fixtures,
        "_tool_jira_issue_changelog_items.csv",
        "_tool_jira_issue_changelogs.csv",
        "_raw_jira_api_issues",
    )
    assert len(expected) == 165
    assert set(got) == expected
    assert creations == 33


def test_devlake_creation_enters_first_history_from_status(fixtures: Path) -> None:
    rows = read_csv(fixtures / DEVLAKE / "raw_tables" / "_raw_jira_api_issues.csv")
    data = json.loads(rows[0]["data"])
    extraction = extract_issue(data)
    creation, first = extraction.transitions[0], extraction.transitions[1]
    assert creation.change_id == CREATION_CHANGE_ID and creation.from_id is None
    assert (creation.to_id, creation.to_name) == (first.from_id, first.from_name)
    assert creation.at == utc(data["fields"]["created"])
    # histories arrive newest first from the agile API; transitions come out oldest first
    assert [t.at for t in extraction.transitions] == sorted(t.at for t in extraction.transitions)


def test_devlake_raw_changelog_pages(fixtures: Path) -> None:
    from baton.scoring.extract import transitions_from_histories

    rows = read_csv(fixtures / DEVLAKE / "raw_tables" / "_raw_jira_api_issue_changelogs.csv")
    assert len(rows) == 279
    got = []
    for r in rows:
        issue_id = str(json.loads(r["input"])["issue_id"])
        got.extend(row(t) for t in transitions_from_histories(issue_id, [json.loads(r["data"])]))
    assert len(got) == 10
    expected = devlake_expected(
        fixtures,
        "_tool_jira_issue_changelog_items_extractor.csv",
        "_tool_jira_issue_changelogs_extractor.csv",
        "_raw_jira_api_issue_changelogs",
    )
    assert set(got) == expected
    assert ("13383", utc("2021-01-25T11:09:27.985+08:00")) not in {(g[0], g[1]) for g in got}
    assert ("13491", utc("2021-01-29T15:58:12.493+08:00"), "1", "Open", "6", "Closed", "60195") in got


def test_bulkfetch_response_shape(fixtures: Path) -> None:
    rows = read_csv(fixtures / DEVLAKE / "raw_tables" / "_raw_jira_api_issue_changelogs.csv")
    by_issue: dict[str, list[Any]] = {}
    for r in rows:
        by_issue.setdefault(str(json.loads(r["input"])["issue_id"]), []).append(json.loads(r["data"]))
    doc = {"issueChangeLogs": [{"issueId": k, "changeHistories": v} for k, v in by_issue.items()]}
    extractions = list(iter_documents(doc))
    assert len(extractions) == len(by_issue) == 3
    assert sum(len(x.transitions) for x in extractions) == 10
    assert all(x.transitions == () or x.transitions[0].change_id != CREATION_CHANGE_ID for x in extractions)
