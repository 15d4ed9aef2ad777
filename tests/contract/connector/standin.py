"""An in-memory Jira that answers the operations the connector uses, Cloud (v3) and Data Center (v2).

One `JiraStandIn` holds issues with full status histories, dashboards, gadgets, filters and properties,
and answers `handle(method, path, query, body) -> (status, headers, body)`. The same object sits behind
the `responses` mock of the contract tests, the loopback HTTP server of the integration test and the
benchmark's threaded server, so all three speak exactly the same Jira. Response bodies follow the
OpenAPI schemas (the contract fixture validates each one).

Faults for resilience tests: a 429 with `Retry-After` every `rate_limit_every` requests, a fixed
latency, and `fail_from_request` (every request after the n-th answers 503, to interrupt a run).
"""

from __future__ import annotations

import base64
import json
import random
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from baton.webhooks.http.gadget_registry import GADGETS

BASE = "https://your-domain.atlassian.net"
MYSELF = "5b10ac8d82e05b22cc7d4ef5"
"""The account the client signs in as (`GET /rest/api/3/myself`)."""
GLOBAL_PERMISSIONS = frozenset(
    {
        "ADMINISTER",
        "SYSTEM_ADMIN",
        "USER_PICKER",
        "CREATE_SHARED_OBJECTS",
        "MANAGE_GROUP_FILTER_SUBSCRIPTIONS",
        "BULK_CHANGE",
    }
)
"""Jira Cloud's global permission keys (`GET /rest/api/3/permissions`); another key is answered 400."""

WORKFLOW: list[tuple[str, str, str]] = [
    ("10000", "To Do", "new"),
    ("10001", "In Development", "indeterminate"),
    ("10002", "Ready for QA", "indeterminate"),
    ("10003", "In QA", "indeterminate"),
    ("10004", "Ready to Deploy", "indeterminate"),
    ("10005", "Deploying", "indeterminate"),
    ("10006", "Done", "done"),
]
CATEGORY_IDS = {"new": 2, "indeterminate": 4, "done": 3}


def _token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode()


def _offset(token: str) -> int:
    try:
        return int(base64.urlsafe_b64decode(token.encode()).decode().split(":", 1)[1])
    except Exception:
        return -1


def jira_time(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def status_json(status_id: str, base: str = BASE) -> dict[str, Any]:
    sid, name, cat = next(s for s in WORKFLOW if s[0] == status_id)
    return {
        "self": f"{base}/rest/api/3/status/{sid}",
        "id": sid,
        "name": name,
        "statusCategory": {"id": CATEGORY_IDS[cat], "key": cat, "name": cat.title()},
    }


@dataclass
class StandInIssue:
    id: str
    key: str
    project: str
    issue_type: str
    priority: str
    created: datetime
    histories: list[dict[str, Any]] = field(default_factory=list)
    status_id: str = "10000"

    @property
    def updated(self) -> datetime:
        if not self.histories:
            return self.created
        return max(datetime.fromisoformat(h["created"].replace("+0000", "+00:00")) for h in self.histories)

    def move(
        self, to_id: str, at: datetime, change_id: str, author: str = "5b10ac8d82e05b22cc7d4ef5"
    ) -> None:
        _, from_name, _ = next(s for s in WORKFLOW if s[0] == self.status_id)
        _, to_name, _ = next(s for s in WORKFLOW if s[0] == to_id)
        self.histories.append(
            {
                "id": change_id,
                "author": {"accountId": author, "displayName": "Mia Krystof", "active": True},
                "created": jira_time(at),
                "items": [
                    {
                        "field": "status",
                        "fieldId": "status",
                        "fieldtype": "jira",
                        "from": self.status_id,
                        "fromString": from_name,
                        "to": to_id,
                        "toString": to_name,
                    }
                ],
            }
        )
        self.status_id = to_id

    def fields(self, wanted: list[str], base: str) -> dict[str, Any]:
        everything = {
            "project": {
                "id": "10000",
                "key": self.project,
                "name": self.project.title(),
                "self": f"{base}/rest/api/3/project/10000",
            },
            "issuetype": {"id": "10001", "name": self.issue_type},
            "priority": {"id": "3", "name": self.priority},
            "status": status_json(self.status_id, base),
            "created": jira_time(self.created),
            "updated": jira_time(self.updated),
            "creator": {"accountId": "5b10ac8d82e05b22cc7d4ef5", "name": "mia"},
            "reporter": {"accountId": "5b10ac8d82e05b22cc7d4ef5", "name": "mia"},
        }
        if "*all" in wanted or "*navigable" in wanted:
            return everything
        return {k: v for k, v in everything.items() if k in wanted}


def generate_issues(
    count: int, *, project: str = "PROJ", seed: int = 7, start: datetime | None = None, first_id: int = 10000
) -> list[StandInIssue]:
    """`count` issues walking the delivery workflow, with returns and reopens, deterministically."""
    rng = random.Random(seed)
    start = start or datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    change = 100000
    issues: list[StandInIssue] = []
    for n in range(count):
        created = start + timedelta(minutes=7 * n)
        issue = StandInIssue(
            id=str(first_id + n),
            key=f"{project}-{n + 1}",
            project=project,
            issue_type=rng.choice(["Story", "Bug", "Task"]),
            priority=rng.choice(["High", "Medium", "Low"]),
            created=created,
        )
        at = created
        path = ["10001", "10002", "10003"]
        if rng.random() < 0.25:
            path += ["10001", "10002", "10003"]  # returned by QA once
        path += ["10004", "10005", "10006"]
        stop = len(path) if rng.random() < 0.7 else rng.randint(1, len(path) - 1)
        for to_id in path[:stop]:
            at += timedelta(hours=rng.randint(1, 30), minutes=rng.randint(0, 59))
            change += 1
            issue.move(to_id, at, str(change))
        issues.append(issue)
    return issues


class StandInError(Exception):
    pass


@dataclass
class JiraStandIn:
    issues: list[StandInIssue] = field(default_factory=list)
    base: str = BASE
    forge_installed: bool = False
    search_page_cap: int = 100
    bulkfetch_page_cap: int = 1000
    dc_changelog_embed: int = 100
    rate_limit_every: int | None = None
    retry_after: str = "0"
    latency: float = 0.0
    fail_from_request: int | None = None
    log: list[tuple[str, str]] = field(default_factory=list)
    keep_log: bool = True
    statuses: list[tuple[str, str, str]] = field(default_factory=lambda: list(WORKFLOW))
    """(id, name, category key) of every status `GET /rest/api/{3,2}/status` lists."""
    user_groups: dict[str, list[str]] = field(default_factory=dict)
    """accountId -> names of the Jira groups the user is in (`GET /rest/api/3/user/groups`)."""
    global_permissions: dict[str, list[str]] = field(default_factory=dict)
    """accountId -> the global permissions the user holds (`POST /rest/api/3/permissions/check`); an
    account listed neither here nor in `user_groups` (nor `MYSELF`) is unknown to the site."""
    caller_is_admin: bool = True
    """Whether the account the client signs in as (`MYSELF`) holds Administer Jira: without it, Jira
    answers a permission check about another account with 403."""

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self.requests = 0
        self.dashboards: dict[str, dict[str, Any]] = {}
        self.gadgets: dict[str, dict[int, dict[str, Any]]] = {}
        self.item_properties: dict[tuple[str, str, str], Any] = {}
        self.filters: dict[str, dict[str, Any]] = {}
        self.issue_properties: dict[tuple[str, str], Any] = {}
        self.account_timezone = "UTC"
        """The searching account's time zone (`/myself` `timeZone`; JQL date literals are read in it)."""
        self._next_id = 10000
        self._index()

    def _index(self) -> None:
        self.by_id = {i.id: i for i in self.issues}
        self.by_key = {i.key: i for i in self.issues}

    def add_issues(self, issues: list[StandInIssue]) -> None:
        self.issues.extend(issues)
        self._index()

    def new_id(self) -> int:
        with self._lock:
            self._next_id += 1
            return self._next_id

    # Catalogue of gadgets --------------------------------------------------------------------------

    def available_gadgets(self) -> list[dict[str, Any]]:
        builtin = [
            {
                "uri": "rest/gadgets/1.0/g/com.atlassian.jira.gadgets:filter-results-gadget/gadgets/filter-results-gadget.xml",
                "title": "Filter Results",
            },
            {
                "uri": "rest/gadgets/1.0/g/com.atlassian.jira.gadgets:two-dimensional-stats-gadget/gadgets/two-dimensional-stats-gadget.xml",
                "title": "Two Dimensional Filter Statistics",
            },
            {"moduleKey": "com.atlassian.jira.gadgets:introduction-dashboard-item", "title": "Introduction"},
        ]
        if self.forge_installed:
            app = "ari:cloud:ecosystem::extension/6f3b2c1e-0000-4000-8000-00000000ba70/static"
            for gadget in GADGETS.values():  # what the Forge app's manifest declares
                builtin.append({"moduleKey": f"{app}/{gadget.forge_key}", "title": gadget.title})
        return builtin

    # Dispatch -------------------------------------------------------------------------------------------

    def handle(
        self, method: str, path: str, query: Mapping[str, list[str]], body: Any
    ) -> tuple[int, dict[str, str], Any]:
        with self._lock:
            self.requests += 1
            n = self.requests
            if self.keep_log:
                self.log.append((method, path))
        if self.latency:
            time.sleep(self.latency)
        if self.fail_from_request is not None and n > self.fail_from_request:
            return 503, {}, {"errorMessages": ["Service unavailable (simulated)"], "errors": {}}
        if self.rate_limit_every and n % self.rate_limit_every == 0:
            return (
                429,
                {"Retry-After": self.retry_after},
                {"errorMessages": ["Rate limit exceeded."], "errors": {}},
            )
        for pattern, verb, handler in self._routes():
            match = re.fullmatch(pattern, path)
            if match and verb == method:
                return handler(query, body, **match.groupdict())
        return 404, {}, {"errorMessages": [f"no route {method} {path}"], "errors": {}}

    def _routes(self) -> list[tuple[str, str, Any]]:
        return [
            (r"/rest/api/3/search/jql", "POST", self.search_jql),
            (r"/rest/api/3/search/approximate-count", "POST", self.approximate_count),
            (r"/rest/api/3/changelog/bulkfetch", "POST", self.bulkfetch),
            (r"/rest/api/3/issue/(?P<issue>[^/]+)/properties/(?P<key>[^/]+)", "PUT", self.put_issue_property),
            (r"/rest/api/3/issue/(?P<issue>[^/]+)/properties/(?P<key>[^/]+)", "GET", self.get_issue_property),
            (r"/rest/api/3/dashboard/search", "GET", self.dashboard_search),
            (r"/rest/api/3/dashboard/gadgets", "GET", self.gadget_catalogue),
            (r"/rest/api/3/dashboard", "POST", self.create_dashboard),
            (r"/rest/api/3/dashboard/(?P<dash>\d+)/gadget", "GET", self.list_gadgets),
            (r"/rest/api/3/dashboard/(?P<dash>\d+)/gadget", "POST", self.add_gadget),
            (r"/rest/api/3/dashboard/(?P<dash>\d+)/gadget/(?P<gadget>\d+)", "PUT", self.update_gadget),
            (
                r"/rest/api/3/dashboard/(?P<dash>\d+)/items/(?P<item>\d+)/properties/(?P<key>[^/]+)",
                "PUT",
                self.put_item_property,
            ),
            (r"/rest/api/3/filter/search", "GET", self.filter_search),
            (r"/rest/api/3/filter", "POST", self.create_filter),
            (r"/rest/api/3/filter/(?P<fid>\d+)", "PUT", self.update_filter),
            (r"/rest/api/3/myself", "GET", self.myself),
            (r"/rest/api/[23]/status", "GET", self.all_statuses),
            (r"/rest/api/3/user/groups", "GET", self.groups_of_user),
            (r"/rest/api/3/permissions/check", "POST", self.check_permissions),
            (r"/rest/api/2/search", "POST", self.dc_search),
            (r"/rest/api/2/issue/(?P<issue>[^/]+)/changelog", "GET", self.dc_changelog),
        ]

    def all_statuses(self, query: Mapping[str, list[str]], body: Any) -> tuple[int, dict[str, str], Any]:
        out = [
            {
                "self": f"{self.base}/rest/api/3/status/{sid}",
                "id": sid,
                "name": name,
                "statusCategory": {"id": CATEGORY_IDS[cat], "key": cat, "name": cat.title()},
            }
            for sid, name, cat in self.statuses
        ]
        return 200, {}, out

    # JQL (the subset the connector writes) ---------------------------------------------------------

    def _matching(self, jql: str) -> list[StandInIssue]:
        bound = jql.split(" ORDER BY ")[0]
        projects_m = re.search(r"project in \(([^)]*)\)", bound)
        if not projects_m:
            raise StandInError("unbounded JQL")
        projects = {p.strip().strip('"') for p in projects_m.group(1).split(",")}
        since_m = re.search(r'updated >= "(\d{4})/(\d{2})/(\d{2}) (\d{2}):(\d{2})"', bound)
        # Jira reads a JQL date literal in the searching account's time zone
        zone = ZoneInfo(self.account_timezone)
        since = datetime(*map(int, since_m.groups()), tzinfo=zone) if since_m else None
        keys_m = re.search(r"key in \(([^)]*)\)", bound)
        keys = {k.strip() for k in keys_m.group(1).split(",")} if keys_m else None
        out = [
            i
            for i in self.issues
            if i.project in projects
            and (since is None or i.updated >= since)
            and (keys is None or i.key in keys)
        ]
        return sorted(out, key=lambda i: (i.project, int(i.key.rsplit("-", 1)[1])))

    # Cloud search -----------------------------------------------------------------------------------

    def search_jql(self, query: Any, body: Mapping[str, Any]) -> tuple[int, dict[str, str], Any]:
        try:
            issues = self._matching(body["jql"])
        except StandInError as e:
            return 400, {}, {"errorMessages": [str(e)], "errors": {}}
        start = _offset(body["nextPageToken"]) if body.get("nextPageToken") else 0
        if start < 0:
            return (
                400,
                {},
                {"errorMessages": ["The provided next page token is invalid or expired."], "errors": {}},
            )
        fields = list(body.get("fields") or ["id"])
        size = min(int(body.get("maxResults") or 50), self.search_page_cap if fields != ["id"] else 5000)
        page = issues[start : start + size]
        out: dict[str, Any] = {
            "issues": [
                {
                    "id": i.id,
                    "key": i.key,
                    "self": f"{self.base}/rest/api/3/issue/{i.id}",
                    "fields": i.fields(fields, self.base),
                }
                for i in page
            ],
            "isLast": start + size >= len(issues),
        }
        if not out["isLast"]:
            out["nextPageToken"] = _token(start + size)
        return 200, {}, out

    def approximate_count(self, query: Any, body: Mapping[str, Any]) -> tuple[int, dict[str, str], Any]:
        try:
            return 200, {}, {"count": len(self._matching(body["jql"]))}
        except StandInError as e:
            return 400, {}, {"errorMessages": [str(e)], "errors": {}}

    def lookup(self, ref: str) -> StandInIssue | None:
        """The issue an id or key names (a subclass may generate it instead of holding it)."""
        return self.by_id.get(ref) or self.by_key.get(ref)

    def bulkfetch(self, query: Any, body: Mapping[str, Any]) -> tuple[int, dict[str, str], Any]:
        ids = [str(i) for i in body["issueIdsOrKeys"]]
        if len(ids) > 1000:
            return 400, {}, {"errorMessages": ["At most 1000 issues."], "errors": {}}
        field_ids = set(body.get("fieldIds") or [])
        entries: list[tuple[str, int, str, dict[str, Any]]] = []
        for ref in ids:
            issue = self.lookup(ref)
            if issue is None:
                continue
            for h in issue.histories:
                items = [it for it in h["items"] if not field_ids or it.get("fieldId") in field_ids]
                if items:
                    entries.append((h["created"], int(issue.id), issue.id, {**h, "items": items}))
        entries.sort(key=lambda e: (e[0], e[1]))
        start = _offset(body["nextPageToken"]) if body.get("nextPageToken") else 0
        size = min(int(body.get("maxResults") or 1000), self.bulkfetch_page_cap)
        page = entries[start : start + size]
        grouped: list[dict[str, Any]] = []
        for _, _, issue_id, history in page:
            if grouped and grouped[-1]["issueId"] == issue_id:
                grouped[-1]["changeHistories"].append(history)
            else:
                grouped.append({"issueId": issue_id, "changeHistories": [history]})
        out: dict[str, Any] = {"issueChangeLogs": grouped}
        if start + size < len(entries):
            out["nextPageToken"] = _token(start + size)
        return 200, {}, out

    # Data Center -----------------------------------------------------------------------------------------

    def dc_search(self, query: Any, body: Mapping[str, Any]) -> tuple[int, dict[str, str], Any]:
        try:
            issues = self._matching(body["jql"])
        except StandInError as e:
            return 400, {}, {"errorMessages": [str(e)], "errors": {}}
        start, size = (
            int(body.get("startAt") or 0),
            min(int(body.get("maxResults") or 50), self.search_page_cap),
        )
        fields = list(body.get("fields") or ["*navigable"])
        page = issues[start : start + size]
        out_issues = []
        for i in page:
            doc: dict[str, Any] = {
                "id": i.id,
                "key": i.key,
                "self": f"{self.base}/rest/api/2/issue/{i.id}",
                "fields": i.fields(fields, self.base),
            }
            if "changelog" in (body.get("expand") or []):
                recent = sorted(i.histories, key=lambda h: h["created"])[-self.dc_changelog_embed :]
                doc["changelog"] = {
                    "startAt": 0,
                    "maxResults": len(recent),
                    "total": len(i.histories),
                    "histories": recent,
                }
            out_issues.append(doc)
        return (
            200,
            {},
            {
                "expand": "schema,names",
                "startAt": start,
                "maxResults": size,
                "total": len(issues),
                "issues": out_issues,
            },
        )

    def dc_changelog(
        self, query: Mapping[str, list[str]], body: Any, issue: str
    ) -> tuple[int, dict[str, str], Any]:
        found = self.by_key.get(issue) or self.by_id.get(issue)
        if found is None:
            return (
                404,
                {},
                {
                    "errorMessages": ["Issue does not exist or you do not have permission to see it."],
                    "errors": {},
                },
            )
        start = int((query.get("startAt") or ["0"])[0])
        size = int((query.get("maxResults") or ["100"])[0])
        values = found.histories[start : start + size]
        return (
            200,
            {},
            {
                "self": f"{self.base}/rest/api/2/issue/{issue}/changelog",
                "maxResults": size,
                "startAt": start,
                "total": len(found.histories),
                "isLast": start + size >= len(found.histories),
                "values": values,
            },
        )

    # Issue properties --------------------------------------------------------------------------------------

    def put_issue_property(
        self, query: Any, body: Any, issue: str, key: str
    ) -> tuple[int, dict[str, str], Any]:
        if issue not in self.by_id and issue not in self.by_key:
            return (
                404,
                {},
                {
                    "errorMessages": ["Issue does not exist or you do not have permission to see it."],
                    "errors": {},
                },
            )
        if len(json.dumps(body)) > 32768:
            return 400, {}, {"errorMessages": ["The property value is too long."], "errors": {}}
        existed = (issue, key) in self.issue_properties
        self.issue_properties[(issue, key)] = body
        return (200 if existed else 201), {}, {}

    def get_issue_property(
        self, query: Any, body: Any, issue: str, key: str
    ) -> tuple[int, dict[str, str], Any]:
        if (issue, key) not in self.issue_properties:
            return 404, {}, {"errorMessages": ["The property was not found."], "errors": {}}
        return 200, {}, {"key": key, "value": self.issue_properties[(issue, key)]}

    # Dashboards ------------------------------------------------------------------------------------------

    def _dashboard_json(self, d: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": d["id"],
            "name": d["name"],
            "description": d.get("description", ""),
            "self": f"{self.base}/rest/api/3/dashboard/{d['id']}",
            "view": f"{self.base}/jira/dashboards/{d['id']}",
            "isFavourite": False,
            "popularity": 0,
            "sharePermissions": d["sharePermissions"],
            "editPermissions": d["editPermissions"],
        }

    def dashboard_search(self, query: Mapping[str, list[str]], body: Any) -> tuple[int, dict[str, str], Any]:
        name = (query.get("dashboardName") or [""])[0].lower()
        start = int((query.get("startAt") or ["0"])[0])
        size = int((query.get("maxResults") or ["50"])[0])
        found = [self._dashboard_json(d) for d in self.dashboards.values() if name in d["name"].lower()]
        page = found[start : start + size]
        return (
            200,
            {},
            {
                "isLast": start + size >= len(found),
                "maxResults": size,
                "startAt": start,
                "total": len(found),
                "self": f"{self.base}/rest/api/3/dashboard/search",
                "values": page,
            },
        )

    def gadget_catalogue(self, query: Any, body: Any) -> tuple[int, dict[str, str], Any]:
        return 200, {}, {"gadgets": self.available_gadgets()}

    def create_dashboard(self, query: Any, body: Mapping[str, Any]) -> tuple[int, dict[str, str], Any]:
        did = str(self.new_id())
        self.dashboards[did] = {
            "id": did,
            "name": body["name"],
            "description": body.get("description", ""),
            "sharePermissions": body["sharePermissions"],
            "editPermissions": body["editPermissions"],
        }
        self.gadgets[did] = {}
        return 200, {}, self._dashboard_json(self.dashboards[did])

    def _gadget_json(self, g: dict[str, Any]) -> dict[str, Any]:
        out = {"id": g["id"], "color": g["color"], "position": dict(g["position"]), "title": g["title"]}
        out.update({k: g[k] for k in ("moduleKey", "uri") if g.get(k)})
        return out

    def list_gadgets(self, query: Any, body: Any, dash: str) -> tuple[int, dict[str, str], Any]:
        if dash not in self.dashboards:
            return (
                404,
                {},
                {
                    "errorMessages": [
                        "The dashboard you requested either does not exist or you don't have the required permissions to perform this action."
                    ],
                    "errors": {},
                },
            )
        return 200, {}, {"gadgets": [self._gadget_json(g) for g in self.gadgets[dash].values()]}

    def add_gadget(self, query: Any, body: Mapping[str, Any], dash: str) -> tuple[int, dict[str, str], Any]:
        if dash not in self.dashboards:
            return (
                404,
                {},
                {
                    "errorMessages": [
                        "The dashboard you requested either does not exist or you don't have the required permissions to perform this action."
                    ],
                    "errors": {},
                },
            )
        known = {g.get("moduleKey") or g.get("uri") for g in self.available_gadgets()}
        ref = body.get("moduleKey") or body.get("uri")
        if bool(body.get("moduleKey")) == bool(body.get("uri")) or (
            ref not in known and not body.get("ignoreUriAndModuleKeyValidation")
        ):
            return 400, {}, {"errorMessages": ["Unknown gadget module key or uri."], "errors": {}}
        gid = self.new_id()
        gadget = {
            "id": gid,
            "color": body.get("color", "blue"),
            "title": body.get("title", ""),
            "position": body.get("position") or {"column": 0, "row": len(self.gadgets[dash])},
        }
        gadget.update({k: body[k] for k in ("moduleKey", "uri") if body.get(k)})
        self.gadgets[dash][gid] = gadget
        return 200, {}, self._gadget_json(gadget)

    def update_gadget(
        self, query: Any, body: Mapping[str, Any], dash: str, gadget: str
    ) -> tuple[int, dict[str, str], Any]:
        found = self.gadgets.get(dash, {}).get(int(gadget))
        if found is None:
            return 404, {}, {"errorMessages": ["The gadget was not found."], "errors": {}}
        for k in ("color", "title", "position"):
            if k in body:
                found[k] = body[k]
        return 204, {}, None

    def put_item_property(
        self, query: Any, body: Any, dash: str, item: str, key: str
    ) -> tuple[int, dict[str, str], Any]:
        gadget = self.gadgets.get(dash, {}).get(int(item))
        if gadget is None:
            return 404, {}, {"errorMessages": ["The dashboard item was not found."], "errors": {}}
        if len(json.dumps(body)) >= 32768:
            return 400, {}, {"errorMessages": ["The property value is too long."], "errors": {}}
        if (
            key == "config"
            and gadget.get("uri")
            and not (
                isinstance(body, dict)
                and all(isinstance(k, str) and isinstance(v, str) for k, v in body.items())
            )
        ):
            return (
                400,
                {},
                {
                    "errorMessages": [
                        "The JSON data provided for the property has too many levels. It must be an object with all keys and values as strings."
                    ],
                    "errors": {},
                },
            )
        existed = (dash, item, key) in self.item_properties
        self.item_properties[(dash, item, key)] = body
        return (200 if existed else 201), {}, {}

    # Filters ----------------------------------------------------------------------------------------------

    def _filter_json(self, f: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": f["id"],
            "name": f["name"],
            "jql": f["jql"],
            "description": f.get("description", ""),
            "self": f"{self.base}/rest/api/3/filter/{f['id']}",
            "favourite": False,
            "sharePermissions": f.get("sharePermissions", []),
        }

    def filter_search(self, query: Mapping[str, list[str]], body: Any) -> tuple[int, dict[str, str], Any]:
        name = (query.get("filterName") or [""])[0].lower()
        found = [self._filter_json(f) for f in self.filters.values() if name in f["name"].lower()]
        return (
            200,
            {},
            {
                "isLast": True,
                "maxResults": 50,
                "startAt": 0,
                "total": len(found),
                "self": f"{self.base}/rest/api/3/filter/search",
                "values": found,
            },
        )

    def create_filter(self, query: Any, body: Mapping[str, Any]) -> tuple[int, dict[str, str], Any]:
        if any(f["name"] == body["name"] for f in self.filters.values()):
            return 400, {}, {"errorMessages": ["Filter with same name already exists."], "errors": {}}
        fid = str(self.new_id())
        self.filters[fid] = {
            "id": fid,
            **{k: body.get(k) for k in ("name", "jql", "description", "sharePermissions") if k in body},
        }
        return 200, {}, self._filter_json(self.filters[fid])

    def update_filter(self, query: Any, body: Mapping[str, Any], fid: str) -> tuple[int, dict[str, str], Any]:
        if fid not in self.filters:
            return 404, {}, {"errorMessages": ["The filter was not found."], "errors": {}}
        self.filters[fid].update(
            {k: v for k, v in body.items() if k in ("name", "jql", "description", "sharePermissions")}
        )
        return 200, {}, self._filter_json(self.filters[fid])

    def groups_of_user(self, query: Mapping[str, list[str]], body: Any) -> tuple[int, dict[str, str], Any]:
        account = (query.get("accountId") or [""])[0]
        if account not in self.user_groups:
            return (
                404,
                {},
                {"errorMessages": [f"The user with account ID '{account}' does not exist"], "errors": {}},
            )
        return (
            200,
            {},
            [
                {"name": name, "groupId": f"g-{n}", "self": f"{self.base}/rest/api/3/group?groupId=g-{n}"}
                for n, name in enumerate(self.user_groups[account])
            ],
        )

    def check_permissions(self, query: Any, body: Any) -> tuple[int, dict[str, str], Any]:
        """Atlassian's "Get bulk permissions": the global permissions asked for that the account holds
        (*System administrator* implies *Administer Jira*, as in Jira); project permissions are not
        modelled (always none). Checking another account needs the caller to be a Jira administrator."""
        body = body if isinstance(body, dict) else {}
        account = body.get("accountId") or MYSELF
        asked = [p for p in body.get("globalPermissions") or [] if p is not None]
        unknown = [p for p in asked if p not in GLOBAL_PERMISSIONS]
        if unknown:
            return 400, {}, {"errorMessages": [], "errors": {p: "Unrecognized permission" for p in unknown}}
        if account != MYSELF and not self.caller_is_admin:
            return (
                403,
                {},
                {"errorMessages": ["Only Jira administrators can perform this operation."], "errors": {}},
            )
        if account != MYSELF and account not in self.global_permissions and account not in self.user_groups:
            return 400, {}, {"errorMessages": [f"Invalid account ID '{account}'."], "errors": {}}
        held = set(self.global_permissions.get(account, []))
        if account == MYSELF and self.caller_is_admin:
            held.add("ADMINISTER")
        if "SYSTEM_ADMIN" in held:
            held.add("ADMINISTER")
        granted = [p for p in dict.fromkeys(asked) if p in held]
        return 200, {}, {"globalPermissions": granted, "projectPermissions": []}

    def myself(self, query: Any, body: Any) -> tuple[int, dict[str, str], Any]:
        return (
            200,
            {},
            {
                "accountId": MYSELF,
                "accountType": "atlassian",
                "active": True,
                "displayName": "Mia Krystof",
                "timeZone": self.account_timezone,
                "self": f"{self.base}/rest/api/3/user?accountId={MYSELF}",
            },
        )
