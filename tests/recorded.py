"""The recorded third-party Jira data the tests run on, all inside the repository.

`tests/fixtures/` holds real payloads from public projects and Atlassian's OpenAPI description of the
Jira Cloud REST API, byte-identical to their origin; `tests/fixtures/SOURCES.md` gives provenance and
licence per source. Nothing here is edited: a test that needs a variant edits a loaded copy.
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parent / "fixtures"
WEBHOOKS = FIXTURES / "jira-webhooks"
DEVLAKE = FIXTURES / "devlake-jira" / "jira"
OPENAPI_SPEC = FIXTURES / "jira-openapi" / "jira-platform-v3.openapi.json"

# DevLake's raw layer keeps whole Jira responses in one CSV cell; the default limit (128 KiB) is too small.
csv.field_size_limit(sys.maxsize)

# The DevLake site's workflow (project EE): work is triaged in Inbox, waits in Ready for Dev / To Do /
# Open, is built In Development (later renamed In Progress), tested once Resolved, and closed.
DEVLAKE_EE_CONFIG = """
version: 1
calendars:
  office: {timezone: Asia/Shanghai, hours: {mon-fri: ["09:00-12:00", "13:00-18:00"]}}
teams:
  triage: {calendar: office, statuses: {active: ["Inbox"]}}
  dev: {calendar: office, statuses: {queue: ["Ready for Dev", "To Do", "Open"], active: ["In Development", "In Progress"]}}
  test: {calendar: office, statuses: {queue: ["Resolved"]}}
processes:
  upload:
    match: {projects: [EE]}
    stages: [triage, dev, test]
    done: ["Closed", "已完成"]
    sla:
      - {provider: dev, response: 8h, resolution: 40h}
      - {provider: test, response: 4h, resolution: 16h}
"""


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def devlake_issues() -> list[dict[str, Any]]:
    """33 REST issues of a real Jira Cloud site (projects EE and K5), each with its complete embedded
    changelog, as DevLake recorded them from `/rest/agile/1.0/board/8/issue?expand=changelog`."""
    return [json.loads(r["data"]) for r in read_csv(DEVLAKE / "raw_tables" / "_raw_jira_api_issues.csv")]


def devlake_search_response() -> dict[str, Any]:
    """The DevLake issues as one `search?expand=changelog` response: the envelope is Jira's, the issues
    are the recorded documents unchanged."""
    issues = devlake_issues()
    return {
        "expand": "schema,names",
        "startAt": 0,
        "maxResults": len(issues),
        "total": len(issues),
        "issues": issues,
    }


def devlake_changelog_histories() -> dict[str, list[dict[str, Any]]]:
    """Issue id -> its histories, as DevLake recorded them one by one from `/rest/api/3/issue/{id}/changelog`."""
    by_issue: dict[str, list[dict[str, Any]]] = {}
    for row in read_csv(DEVLAKE / "raw_tables" / "_raw_jira_api_issue_changelogs.csv"):
        by_issue.setdefault(str(json.loads(row["input"])["issue_id"]), []).append(json.loads(row["data"]))
    return by_issue


def devlake_documents(table: str) -> list[Any]:
    """The JSON documents of one DevLake raw table (`status`, `issue_types`): real REST responses
    that are not issues."""
    return [json.loads(r["data"]) for r in read_csv(DEVLAKE / "raw_tables" / f"_raw_jira_api_{table}.csv")]
