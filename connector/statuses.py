"""The statuses a Jira site has (`GET /rest/api/3/status`, Data Center `/rest/api/2/status`), for
`baton config check --jira` (`baton.config.checks.statuses_missing_on_site`)."""

from __future__ import annotations

from typing import Any

from baton.config.checks import SiteStatus
from baton.connector.client import JiraClient


def fetch_statuses(client: JiraClient) -> list[SiteStatus]:
    """Every status of the site's active workflows, as id and name."""
    path = "/rest/api/3/status" if client.site.is_cloud else "/rest/api/2/status"
    data: Any = client.request("GET", path)
    if not isinstance(data, list):
        return []
    out: list[SiteStatus] = []
    for item in data:
        if isinstance(item, dict) and isinstance(item.get("name"), str):
            status_id = item.get("id")
            out.append(SiteStatus(str(status_id) if status_id is not None else None, item["name"]))
    return out
