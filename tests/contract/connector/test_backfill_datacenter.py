"""Data Center backfill (`/rest/api/2/search` + `/rest/api/2/issue/{key}/changelog`), on recorded payloads.

The v3 OpenAPI file does not describe Data Center, so these responses are the real payloads in
tests/fixtures/: DevLake's raw issues (with embedded changelogs, with and without their changelog) and
raw `/issue/{id}/changelog` pages.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import responses

from baton.config.loader import load_config
from baton.connector.backfill import Backfill, BackfillOptions
from baton.connector.client import JiraClient, RetryPolicy
from baton.connector.ledger import MemoryLedger
from baton.connector.sites import Site
from baton.scoring.extract import extract_issue, transitions_from_histories
from tests.recorded import DEVLAKE_EE_CONFIG, devlake_changelog_histories, devlake_issues

CONFIG = load_config("config/examples/delivery.yaml")
DC = "https://jira.example.org"


def _client() -> JiraClient:
    site = Site("onprem", DC, "datacenter", "pat", None, "dc-pat-secret")
    return JiraClient(site, retry=RetryPolicy(attempts=3, initial=0, jitter=0, sleep=lambda s: None))


class DataCenter:
    """Serves a list of issue documents as paged /rest/api/2/search, and changelog pages per key."""

    def __init__(
        self, issues: list[dict[str, Any]], changelogs: dict[str, list[dict[str, Any]]] | None = None
    ):
        self.issues = issues
        self.changelogs = changelogs or {}
        self.bodies: list[dict[str, Any]] = []
        self.changelog_calls: list[str] = []

    def search(self, request: Any) -> tuple[int, dict[str, str], str]:
        body = json.loads(request.body)
        self.bodies.append(body)
        assert set(body) <= {"jql", "startAt", "maxResults", "fields", "expand"}
        assert body["expand"] == ["changelog"] and body["jql"].startswith("project in (")
        start, size = body["startAt"], body["maxResults"]
        page = self.issues[start : start + size]
        out = {
            "expand": "schema,names",
            "startAt": start,
            "maxResults": size,
            "total": len(self.issues),
            "issues": page,
        }
        return 200, {"Content-Type": "application/json"}, json.dumps(out)

    def changelog(self, request: Any) -> tuple[int, dict[str, str], str]:
        parts = urlsplit(request.url)
        key = parts.path.split("/")[-2]
        self.changelog_calls.append(key)
        query = parse_qs(parts.query)
        start, size = int(query["startAt"][0]), int(query["maxResults"][0])
        values = self.changelogs[key][start : start + size]
        total = len(self.changelogs[key])
        out = {
            "startAt": start,
            "maxResults": size,
            "total": total,
            "isLast": start + size >= total,
            "values": values,
        }
        return 200, {"Content-Type": "application/json"}, json.dumps(out)

    def __enter__(self) -> DataCenter:
        self._mock = responses.RequestsMock(assert_all_requests_are_fired=False)
        self._mock.__enter__()
        self._mock.add_callback("POST", f"{DC}/rest/api/2/search", callback=self.search)
        self._mock.add_callback(
            "GET", re.compile(re.escape(DC) + r"/rest/api/2/issue/[^/]+/changelog.*"), callback=self.changelog
        )
        return self

    def __exit__(self, *exc: Any) -> None:
        self._mock.__exit__(*exc)


def _expected(issues: list[dict[str, Any]]) -> set[tuple[str, str, str | None, str | None]]:
    return {
        (t.issue_id, t.change_id, t.from_name, t.to_name)
        for i in issues
        for t in extract_issue(i).transitions
    }


def _stored(ledger: MemoryLedger) -> set[tuple[str, str, str | None, str | None]]:
    return {(t.issue_id, t.change_id, t.from_name, t.to_name) for t in ledger.transitions.values()}


def test_devlake_raw_issues_page_into_the_log() -> None:
    issues = devlake_issues()
    ledger = MemoryLedger()
    with DataCenter(issues) as dc:
        report = Backfill(_client(), ledger, CONFIG, BackfillOptions(page_size=10)).run()
    assert report.issues == 33 and report.pages == 4
    assert [b["startAt"] for b in dc.bodies] == [0, 10, 20, 30]
    assert dc.changelog_calls == []  # every embedded history was complete (total == len(histories))
    assert _stored(ledger) == _expected(issues)
    status_changes = [t for t in ledger.transitions.values() if t.change_id != "created"]
    assert len(status_changes) == 165
    assert len({t.issue_id for t in ledger.transitions.values()}) == 33


def test_truncated_histories_are_paged_per_issue() -> None:
    by_issue = devlake_changelog_histories()
    issues, changelogs = [], {}
    for n, (issue_id, histories) in enumerate(sorted(by_issue.items())):
        key = f"EE-{900 + n}"
        changelogs[key] = histories
        recent = histories[-20:]  # what expand=changelog gives: the most recent ones, and the real total
        issues.append(
            {
                "id": issue_id,
                "key": key,
                "fields": {
                    "project": {"key": "EE"},
                    "issuetype": {"name": "Task"},
                    "status": {"id": "1", "name": "Open"},
                },
                "changelog": {
                    "startAt": 0,
                    "maxResults": len(recent),
                    "total": len(histories),
                    "histories": recent,
                },
            }
        )
    ledger = MemoryLedger()
    with DataCenter(issues, changelogs) as dc:
        Backfill(_client(), ledger, CONFIG, BackfillOptions(page_size=50, changelog_page_size=40)).run()
    assert sorted(set(dc.changelog_calls)) == sorted(changelogs)
    expected = {
        (t.issue_id, t.change_id, t.from_name, t.to_name)
        for i in issues
        for t in transitions_from_histories(i["id"], changelogs[i["key"]])
    }
    assert _stored(ledger) == expected and len(expected) == 10


def test_issue_without_changelog_keeps_its_facts() -> None:
    issue = devlake_issues()[0]  # as a search without expand=changelog returns it
    del issue["changelog"]
    ledger = MemoryLedger()
    with DataCenter([issue]):
        report = Backfill(_client(), ledger, CONFIG, BackfillOptions()).run()
    assert report.issues == 1
    facts = ledger.issues[("onprem", str(issue["id"]))]
    assert facts.issue_key == issue["key"] and facts.project == issue["fields"]["project"]["key"]


def test_data_center_writeback_on_devlake_history() -> None:
    from datetime import UTC, datetime

    import pandas as pd

    from baton.config.loader import load_config_text
    from baton.connector.writeback import PROPERTY_KEY, writeback
    from baton.scoring.engine import derive_requests
    from baton.scoring.model import ISSUE_COLUMNS, TRANSITION_COLUMNS

    config = load_config_text(DEVLAKE_EE_CONFIG)
    ledger = MemoryLedger()
    with DataCenter(devlake_issues()):
        Backfill(_client(), ledger, config, BackfillOptions(page_size=25)).run()
    transitions = pd.DataFrame(
        [{c: getattr(t, c) for c in TRANSITION_COLUMNS} for t in ledger.transitions.values()]
    )
    transitions["at"] = pd.to_datetime(transitions["at"], utc=True)
    issues = pd.DataFrame([{c: getattr(f, c) for c in ISSUE_COLUMNS} for f in ledger.issues.values()])
    requests = derive_requests(transitions, issues, config)
    assert not requests.empty

    puts: list[tuple[str, dict[str, Any]]] = []

    def put(request: Any) -> tuple[int, dict[str, str], str]:
        puts.append((urlsplit(request.url).path, json.loads(request.body)))
        return 201, {"Content-Type": "application/json"}, ""

    with responses.RequestsMock() as mock:
        mock.add_callback(
            "PUT", re.compile(re.escape(DC) + r"/rest/api/2/issue/\d+/properties/baton\.sla"), callback=put
        )
        report = writeback(_client(), ledger, config, requests, datetime(2022, 8, 1, tzinfo=UTC))
    assert report.written == requests["issue_id"].nunique() == len(puts) == 30
    for path, body in puts:
        assert path.endswith(f"/properties/{PROPERTY_KEY}") and body["process"] == "upload"
        assert len(json.dumps(body)) < 32768
