"""Every status-changing Jira fixture in ../shared/fixtures yields exactly the right transitions.

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

WEBHOOKS = "jira-webhooks"
AA_SEARCH = "jira-rest/actionableagile-jira-to-analytics/jira-issues-request.json"


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
    # --- jira-to-matrix (Server; string timestamps without zone -> issue.fields.updated when close) ---
    # localised field name "Статус" with fieldId status, from null: the initial status
    "jira-to-matrix/webhooks/epic/created.json": [
        ("13877", "2019-01-30T19:48:08.263+03:00", None, None, "10501", "To Do", "created"),
    ],
    # issue_created with no status item: creation from issue.fields.status at issue.fields.created
    "jira-to-matrix/webhooks/issue/created.json": [
        ("30369", "2018-01-11T13:08:03.317+03:00", None, None, "1", "Open", "created"),
    ],
    # '2017-12-25 16:33:21,396' vs updated 16:33:21.208+0300: close -> updated
    "jira-to-matrix/webhooks/issue/updated/generic.json": [
        ("28661", "2017-12-25T16:33:21.208+03:00", "3", "In progress", "10602", "Paused", "130307"),
    ],
    "jira-to-matrix/webhooks/issue/updated/move-issue.json": [
        ("12490", "2019-02-27T13:30:21.153+03:00", "10029", "Backlog", "10257", "To Do", "43940"),
    ],
    # '2019-1-30 15:51:34,870' vs updated 15:51:33.199+0300
    "jira-to-matrix/webhooks/issue/updated/status-changed.json": [
        ("11442", "2019-01-30T15:51:33.199+03:00", "10257", "To Do", "10258", "In Progress", "34911"),
    ],
}

NOT_A_WEBHOOK = {
    "zulip/example_anomalous_payload.json",
    *(
        f"jira-to-matrix/jira-api-requests/{name}.json"
        for name in (
            "editmeta",
            "issue",
            "issue-rendered",
            "issuelink",
            "issuelinkRelates",
            "project",
            "status",
            "transitions",
            "watchers",
        )
    ),
}


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
    assert len(files) == 93 - len(EXPECTED_WEBHOOKS) - len(NOT_A_WEBHOOK)
    events: Counter[str] = Counter()
    for rel in files:
        payload = load(fixtures, f"{WEBHOOKS}/{rel}")
        extraction = extract_payload(payload)
        assert extraction.transitions == (), rel
        events[extraction.event] += 1
        issue = payload.get("issue")
        if isinstance(issue, dict) and "id" in issue:
            assert extraction.issue is not None and extraction.issue.issue_id == str(issue["id"]), rel
    # comments, worklogs, attachments, links, projects, deletions and non-status updates all covered
    assert {
        "comment_created",
        "worklog_created",
        "attachment_created",
        "issuelink_created",
        "project_created",
    } <= set(events)
    assert events["jira:issue_updated"] >= 30


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


def test_localised_field_name_counts_only_with_status_field_id(fixtures: Path) -> None:
    payload = load(fixtures, f"{WEBHOOKS}/jira-to-matrix/webhooks/issue/updated/status-changed.json")
    item = next(i for i in payload["changelog"]["items"] if i.get("fieldId") == "status")
    item["field"] = "状态"
    assert len(extract_payload(payload).transitions) == 1
    del item["fieldId"]
    assert extract_payload(payload).transitions == ()
    item["field"] = "STATUS"
    assert len(extract_payload(payload).transitions) == 1


def test_issue_facts_and_status_info(fixtures: Path) -> None:
    extraction = extract_payload(
        load(fixtures, f"{WEBHOOKS}/jira-to-matrix/webhooks/issue/updated/status-changed.json")
    )
    assert extraction.issue is not None
    facts = extraction.issue
    assert (facts.issue_id, facts.issue_key, facts.status_id, facts.status_name) == (
        "11442",
        "INDEV-6",
        "10258",
        "In Progress",
    )
    assert (facts.project, facts.issue_type, facts.priority) == ("INDEV", "Tarea", "Highest")
    assert [(s.status_id, s.name, s.category) for s in extraction.statuses] == [
        ("10258", "In Progress", "indeterminate")
    ]


def test_legacy_transition_event(fixtures: Path) -> None:
    extraction = extract_payload(load(fixtures, f"{WEBHOOKS}/zulip/change_status_v1.json"))
    assert extraction.event == LEGACY_TRANSITION_EVENT
    assert extraction.issue is not None and extraction.issue.issue_key == "TEST-1"


def test_unrecognisable_documents_raise_typed_error(fixtures: Path) -> None:
    for rel in sorted(
        NOT_A_WEBHOOK
        - {
            "jira-to-matrix/jira-api-requests/issue.json",
            "jira-to-matrix/jira-api-requests/issue-rendered.json",
        }
    ):
        with pytest.raises(UnsupportedPayload, match="expected"):
            list(iter_documents(load(fixtures, f"{WEBHOOKS}/{rel}")))
    with pytest.raises(UnsupportedPayload, match="webhookEvent"):
        extract_payload(load(fixtures, f"{WEBHOOKS}/zulip/example_anomalous_payload.json"))


def test_rest_issue_without_changelog_is_created_in_current_status(fixtures: Path) -> None:
    doc = load(fixtures, f"{WEBHOOKS}/jira-to-matrix/jira-api-requests/issue.json")
    (extraction,) = list(iter_documents(doc))
    assert [row(t) for t in extraction.transitions] == [
        (
            "11442",
            utc("2018-12-05T14:32:11.571+03:00"),
            None,
            None,
            "10257",
            "К выполнению",
            CREATION_CHANGE_ID,
        )
    ]


# --- ActionableAgile search response (expand=changelog) ---------------------------------------------

AA_COUNTS = {
    "UT-26": 3, "UT-27": 3, "UT-28": 4, "UT-29": 3, "UT-30": 2, "UT-31": 2, "UT-32": 2, "UT-33": 1,
    "UT-34": 2, "UT-35": 2, "UT-36": 2, "UT-37": 4, "UT-38": 1, "UT-39": 1, "UT-40": 1, "UT-41": 4,
    "UT-42": 4, "UT-43": 4, "UT-44": 3, "UT-45": 3, "UT-46": 1, "UT-47": 4, "UT-48": 3, "UT-49": 4,
    "UT-50": 1,
}  # fmt: skip


def test_actionableagile_search_response(fixtures: Path) -> None:
    extractions = list(iter_documents(load(fixtures, AA_SEARCH)))
    assert len(extractions) == 25
    by_key = {x.issue.issue_key: x for x in extractions if x.issue is not None}
    counts = {k: sum(t.change_id != CREATION_CHANGE_ID for t in x.transitions) for k, x in by_key.items()}
    assert counts == AA_COUNTS
    assert sum(counts.values()) == 64
    # every issue is created into Backlog at fields.created
    for x in extractions:
        first = x.transitions[0]
        assert (first.change_id, first.from_id, first.to_id, first.to_name) == (
            "created",
            None,
            "10002",
            "Backlog",
        )
    assert [row(t) for t in by_key["UT-26"].transitions] == [
        ("10125", utc("2015-11-21T07:03:02.000-05:00"), None, None, "10002", "Backlog", "created"),
        ("10125", utc("2015-11-21T07:14:01.643-05:00"), "10002", "Backlog", "10102", "Dev Active", "10146"),
        ("10125", utc("2015-11-26T06:34:28.549-05:00"), "10102", "Dev Active", "10103", "Dev Done", "11332"),
        *[
            (t.issue_id, t.at, t.from_id, t.from_name, t.to_id, t.to_name, t.change_id)
            for t in by_key["UT-26"].transitions[3:]
        ],
    ]
    assert len(by_key["UT-26"].transitions) == 4
    # a backward move (Analysis Active -> Backlog)
    ut37 = [row(t) for t in by_key["UT-37"].transitions]
    assert ut37[1:3] == [
        (
            "10136",
            utc("2015-11-26T06:41:00.898-05:00"),
            "10002",
            "Backlog",
            "10100",
            "Analysis Active",
            "11358",
        ),
        (
            "10136",
            utc("2015-11-26T06:41:09.236-05:00"),
            "10100",
            "Analysis Active",
            "10002",
            "Backlog",
            "11359",
        ),
    ]
    assert [row(t) for t in by_key["UT-50"].transitions][1] == (
        "10149",
        utc("2016-03-29T07:20:13.962-04:00"),
        "10002",
        "Backlog",
        "10102",
        "Dev Active",
        "11613",
    )
    assert [row(t) for t in by_key["UT-33"].transitions][1] == (
        "10132",
        utc("2015-11-21T07:14:39.068-05:00"),
        "10002",
        "Backlog",
        "10001",
        "Done",
        "10158",
    )
    # chains are consistent: each transition leaves the status the previous one entered
    for x in extractions:
        for prev, nxt in zip(x.transitions, x.transitions[1:], strict=False):
            assert prev.to_id == nxt.from_id
            assert prev.at <= nxt.at
        assert x.issue is not None and x.transitions[-1].to_id == x.issue.status_id


def test_actionableagile_stage_dates_agree_with_peer_output(fixtures: Path) -> None:
    """ActionableAgile's own CSV lists, per issue, the first date each stage was entered."""
    import csv

    path = fixtures / "jira-rest/actionableagile-jira-to-analytics/sample-jira-issues-csv.csv"
    with path.open(encoding="utf-8") as handle:
        peer = {r["ID"]: r for r in csv.DictReader(handle)}
    extractions = {x.issue.issue_key: x for x in iter_documents(load(fixtures, AA_SEARCH)) if x.issue}
    stages = ["Backlog", "Analysis Active", "Analysis Done", "Dev Active", "Dev Done", "Test", "Done"]
    checked = 0
    for key, x in extractions.items():
        entered: dict[str, set[str]] = {}
        for t in x.transitions:
            if t.to_name is not None:
                # the CSV's dates are the Jira site's local dates (the -05:00 offsets of the data)
                local = t.at.astimezone(datetime.fromisoformat("2015-11-21T00:00:00-05:00").tzinfo)
                entered.setdefault(t.to_name, set()).add(local.date().isoformat())
        for stage in stages:
            date = peer[key][stage]
            if date:
                assert date in entered.get(stage, set()), (key, stage, date)
                checked += 1
    assert checked >= 60


# --- DevLake raw layer vs DevLake's expected tool layer -------------------------------------------------

DEVLAKE = "devlake-jira/jira"


def read_csv(path: Path) -> list[dict[str, str]]:
    import csv
    import sys

    csv.field_size_limit(sys.maxsize)
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


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
