"""The statuses a Jira site has (`GET /rest/api/3/status`, Data Center `/rest/api/2/status`), for the
admin page's "Teams and statuses" section (every status by id, name and category, so the page can show
which are owned by a team, which are pause or done statuses, and which nobody owns) and for
`baton config check --jira` (`baton.config.checks.statuses_missing_on_site`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from baton.config.checks import SiteStatus
from baton.connector.client import JiraClient

MAX_STATUSES = 5000
"""A site with more statuses than this is cut (the page lists statuses; it is not a bulk export)."""


@dataclass(frozen=True, slots=True)
class JiraStatus:
    id: str
    name: str
    category: str | None
    """Jira's status category key: `new`, `indeterminate` or `done`."""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def fetch_statuses(client: JiraClient) -> list[JiraStatus]:
    """Every status of the site, sorted by name (then id); duplicates by id dropped."""
    api = "3" if client.site.is_cloud else "2"
    data = client.request("GET", f"/rest/api/{api}/status") or []
    seen: dict[str, JiraStatus] = {}
    for item in data if isinstance(data, list) else []:
        if not isinstance(item, dict) or item.get("id") is None or not item.get("name"):
            continue
        category = item.get("statusCategory")
        key = category.get("key") if isinstance(category, dict) else None
        status = JiraStatus(str(item["id"]), str(item["name"]), str(key) if key else None)
        seen.setdefault(status.id, status)
        if len(seen) >= MAX_STATUSES:
            break
    return sorted(seen.values(), key=lambda s: (s.name.casefold(), s.id))


def site_statuses(client: JiraClient) -> list[SiteStatus]:
    """`fetch_statuses` as `baton config check --jira` compares them (`baton.config.checks`)."""
    return [SiteStatus(status.id, status.name) for status in fetch_statuses(client)]
