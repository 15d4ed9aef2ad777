"""`baton dashboard provision`: the "Internal service levels" dashboard, created or updated idempotently.

Steps (Jira Cloud REST, docs/jira-connector.md), each one a read first and a write only when something differs:

1. find the dashboard by name (`GET /rest/api/3/dashboard/search?dashboardName=`), else create it
   (`POST /rest/api/3/dashboard`);
2. read the gadget catalogue (`GET /rest/api/3/dashboard/gadgets`): when Baton's Forge gadgets are
   listed (module keys and titles: the gadget registry, webhooks/http/gadgets.json) use them; otherwise
   use the built-in Filter Results and Two Dimensional Filter Statistics gadgets over saved filters
   that are themselves found by name or created (`GET /rest/api/3/filter/search`,
   `POST /rest/api/3/filter`, `PUT /rest/api/3/filter/{id}`);
3. find our gadgets on the dashboard by title (`GET /rest/api/3/dashboard/{id}/gadget`), add the missing
   ones (`POST .../gadget`), never a second copy;
4. store the latest snapshot per gadget in the dashboard item property `baton.snapshot`, and for built-in
   gadgets their `config` property (all values strings), each under 32768 characters
   (`PUT .../items/{itemId}/properties/{key}`).

`dry_run=True` performs the reads and returns the plan without writing anything.
Data Center has no REST to create dashboards or add gadgets (docs/jira-connector.md): `provision` refuses with a
message that says what to do instead.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from typing import Any

import pandas as pd

from baton.config.schema import BatonConfig
from baton.connector.backfill import process_projects
from baton.connector.client import JiraClient
from baton.connector.writeback import PROPERTY_KEY, load_site_requests
from baton.scoring import engine as scoring

log = logging.getLogger(__name__)

DASHBOARD_NAME = "Internal service levels"
DASHBOARD_DESCRIPTION = (
    "Baton: internal service levels of team hand-offs (managed by `baton dashboard provision`)."
)
SNAPSHOT_KEY = "baton.snapshot"
MAX_ITEM_PROPERTY_CHARS = 32768

FILTER_RESULTS_URI = (
    "rest/gadgets/1.0/g/com.atlassian.jira.gadgets:filter-results-gadget/gadgets/filter-results-gadget.xml"
)
TWO_D_STATS_URI = "rest/gadgets/1.0/g/com.atlassian.jira.gadgets:two-dimensional-stats-gadget/gadgets/two-dimensional-stats-gadget.xml"


@dataclass(frozen=True)
class BuiltinFallback:
    """How a gadget is stood in for by Jira's built-in gadgets when Baton's Forge app is not installed."""

    color: str
    """Dashboard colour of the gadget, Forge or built-in."""
    uri: str
    filter_name: str
    filter_jql: str
    """JQL of the saved filter behind the gadget; `{projects}` is the configured projects."""
    config: dict[str, str]


_FILTER_RESULTS_COLUMNS = {
    "num": "20",
    "columnNames": "issuetype|issuekey|summary|status|assignee|updated",
    "sortBy": "",
}

BUILTIN_FALLBACKS: dict[str, BuiltinFallback] = {
    "scorecard": BuiltinFallback(
        "blue",
        TWO_D_STATS_URI,
        "Baton: requests with SLA clocks",
        "project in ({projects}) AND issue.property[baton.sla].state is not EMPTY ORDER BY updated DESC",
        {
            "xstattype": "statuses",
            "ystattype": "project",
            "sortBy": "natural",
            "sortDirection": "asc",
            "numberToShow": "20",
        },
    ),
    "matrix": BuiltinFallback(
        "cyan",
        TWO_D_STATS_URI,
        "Baton: open hand-offs",
        'project in ({projects}) AND issue.property[baton.sla].open = "true" ORDER BY updated DESC',
        {
            "xstattype": "statuses",
            "ystattype": "assignees",
            "sortBy": "natural",
            "sortDirection": "asc",
            "numberToShow": "20",
        },
    ),
    "at-risk": BuiltinFallback(
        "red",
        FILTER_RESULTS_URI,
        "Baton: requests at risk or breached",
        'project in ({projects}) AND issue.property[baton.sla].state in ("at_risk", "breached") ORDER BY updated ASC',
        _FILTER_RESULTS_COLUMNS,
    ),
    "unmapped": BuiltinFallback(
        "yellow",
        FILTER_RESULTS_URI,
        "Baton: unmapped hand-offs",
        'project in ({projects}) AND issue.property[baton.sla].kind = "unmapped" ORDER BY updated DESC',
        _FILTER_RESULTS_COLUMNS,
    ),
    "overview": BuiltinFallback(
        "purple",
        TWO_D_STATS_URI,
        "Baton: breached requests by provider",
        'project in ({projects}) AND issue.property[baton.sla].breached = "yes" ORDER BY updated DESC',
        {
            "xstattype": "statuses",
            "ystattype": "project",
            "sortBy": "total",
            "sortDirection": "desc",
            "numberToShow": "20",
        },
    ),
}
"""Gadget name (webhooks/http/gadgets.json) -> its built-in stand-in; every registered gadget has one."""


@dataclass(frozen=True)
class GadgetSpec:
    key: str
    """Forge module key of the gadget (the catalogue's module key ends with it)."""
    title: str
    color: str
    builtin_uri: str
    filter_name: str
    filter_jql: str
    """JQL of the saved filter behind the built-in fallback; `{projects}` is the configured projects."""
    builtin_config: dict[str, str]


def registered_gadgets() -> tuple[GadgetSpec, ...]:
    """Baton's gadgets in the order of the gadget registry, `gadgets.json` of `baton.webhooks.http`.

    The registry is read as package data, not imported: the connector sits below `webhooks/`
    (docs/architecture.md), and the registry is the one list of gadget names and titles."""
    text = (resources.files("baton.webhooks.http") / "gadgets.json").read_text(encoding="utf-8")
    specs = []
    for gadget in json.loads(text)["gadgets"]:
        fallback = BUILTIN_FALLBACKS.get(gadget["name"])
        if fallback is None:
            raise LookupError(
                f"gadget '{gadget['name']}' of webhooks/http/gadgets.json has no built-in stand-in: "
                "add it to BUILTIN_FALLBACKS in connector/dashboard.py"
            )
        specs.append(
            GadgetSpec(
                gadget["forgeKey"],
                gadget["title"],
                fallback.color,
                fallback.uri,
                fallback.filter_name,
                fallback.filter_jql,
                fallback.config,
            )
        )
    return tuple(specs)


GADGETS: tuple[GadgetSpec, ...] = registered_gadgets()


@dataclass
class Step:
    action: str  # "found", "create", "update", "set", "keep"
    what: str
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.action:>6}  {self.what}{'  ' + self.detail if self.detail else ''}"


@dataclass
class ProvisionResult:
    dashboard_id: str | None
    mode: str  # "forge" or "builtin"
    steps: list[Step] = field(default_factory=list)
    gadget_ids: dict[str, int | None] = field(default_factory=dict)
    filter_ids: dict[str, str | None] = field(default_factory=dict)
    dry_run: bool = False

    @property
    def writes(self) -> int:
        return sum(1 for s in self.steps if s.action in ("create", "update", "set"))

    def plan_text(self) -> str:
        head = f"{'Plan' if self.dry_run else 'Done'}: dashboard '{DASHBOARD_NAME}' with {self.mode} gadgets"
        return "\n".join([head, *(f"  {s}" for s in self.steps)])


class DataCenterDashboards(RuntimeError):
    pass


SnapshotFn = Callable[[str], Mapping[str, Any]]
"""Gadget key -> JSON-able snapshot of what the gadget shows (e.g. the scorecard rows)."""


def fit_snapshot(key: str, data: Mapping[str, Any], generated_at: datetime) -> dict[str, Any]:
    """`{v, gadget, generatedAt, rows, truncated}` under the item-property limit, dropping rows from
    the end of `rows` if needed (the gadget reads the rest from the service)."""
    rows = list(data.get("rows") or [])
    doc: dict[str, Any] = {
        "v": 1,
        "gadget": key,
        "generatedAt": generated_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        **{k: v for k, v in data.items() if k != "rows"},
        "rows": rows,
        "truncated": False,
    }
    while len(json.dumps(doc, separators=(",", ":"), default=str)) >= MAX_ITEM_PROPERTY_CHARS and doc["rows"]:
        keep = max(0, len(doc["rows"]) * 3 // 4)
        doc["rows"] = doc["rows"][:keep]
        doc["truncated"] = True
    plain: dict[str, Any] = json.loads(json.dumps(doc, default=str))
    return plain


class Provisioner:
    def __init__(
        self,
        client: JiraClient,
        config: BatonConfig,
        *,
        snapshots: SnapshotFn | None = None,
        share: str = "private",
        dry_run: bool = False,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        if not client.site.is_cloud:
            raise DataCenterDashboards(
                f"site '{client.site.name}' is Jira Data Center, whose REST API cannot create dashboards or add "
                "gadgets; add Baton's gadget XML from the gadget directory by URL instead "
                "(docs/jira-connector.md, 'Dashboards on Data Center')"
            )
        self.client = client
        self.config = config
        self.snapshots = snapshots
        self.share = share
        self.dry_run = dry_run
        self.now = now

    # Reads ----------------------------------------------------------------------------------------

    def _paged(self, path: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        start = 0
        while True:
            data = (
                self.client.request("GET", path, params={**params, "startAt": start, "maxResults": 50}) or {}
            )
            values = list(data.get("values") or [])
            out.extend(values)
            start += len(values)
            if data.get("isLast", True) or not values:
                return out

    def find_dashboard(self) -> dict[str, Any] | None:
        found = self._paged("/rest/api/3/dashboard/search", {"dashboardName": DASHBOARD_NAME})
        exact = [d for d in found if d.get("name") == DASHBOARD_NAME]
        exact.sort(key=lambda d: int(d["id"]) if str(d.get("id", "")).isdigit() else 0)
        return exact[0] if exact else None

    def forge_modules(self) -> dict[str, str]:
        """Gadget key -> module key of Baton's Forge gadgets installed on the site."""
        catalogue = (self.client.request("GET", "/rest/api/3/dashboard/gadgets") or {}).get("gadgets") or []
        found: dict[str, str] = {}
        for entry in catalogue:
            module = entry.get("moduleKey") or ""
            for spec in GADGETS:
                if module.endswith(spec.key) or (module and entry.get("title") == spec.title):
                    found.setdefault(spec.key, module)
        return found

    # Writes (skipped in dry-run) --------------------------------------------------------------------

    def _write(self, method: str, path: str, body: Any, params: dict[str, Any] | None = None) -> Any:
        if self.dry_run:
            return None
        return self.client.request(method, path, json=body, params=params)

    def _share_permissions(self) -> list[dict[str, Any]]:
        return {"private": [], "loggedin": [{"type": "authenticated"}], "global": [{"type": "global"}]}[
            self.share
        ]

    def ensure_filter(self, spec: GadgetSpec, result: ProvisionResult) -> str | None:
        projects = ", ".join(f'"{p}"' for p in process_projects(self.config))
        jql = spec.filter_jql.format(projects=projects)
        found = self._paged("/rest/api/3/filter/search", {"filterName": spec.filter_name, "expand": "jql"})
        exact = [f for f in found if f.get("name") == spec.filter_name]
        if exact:
            current = exact[0]
            if current.get("jql") != jql:
                self._write(
                    "PUT", f"/rest/api/3/filter/{current['id']}", {"name": spec.filter_name, "jql": jql}
                )
                result.steps.append(Step("update", f"filter '{spec.filter_name}'", jql))
            else:
                result.steps.append(Step("keep", f"filter '{spec.filter_name}' ({current['id']})"))
            return str(current["id"])
        body = {
            "name": spec.filter_name,
            "jql": jql,
            "description": "Managed by baton dashboard provision",
            "sharePermissions": self._share_permissions(),
        }
        created = self._write("POST", "/rest/api/3/filter", body)
        result.steps.append(Step("create", f"filter '{spec.filter_name}'", jql))
        return str(created["id"]) if created else None

    def provision(self) -> ProvisionResult:
        modules = self.forge_modules()
        forge = all(spec.key in modules for spec in GADGETS)
        result = ProvisionResult(None, "forge" if forge else "builtin", dry_run=self.dry_run)

        dashboard = self.find_dashboard()
        if dashboard is None:
            created = self._write(
                "POST",
                "/rest/api/3/dashboard",
                {
                    "name": DASHBOARD_NAME,
                    "description": DASHBOARD_DESCRIPTION,
                    "sharePermissions": self._share_permissions(),
                    "editPermissions": [],
                },
            )
            result.steps.append(Step("create", f"dashboard '{DASHBOARD_NAME}'"))
            dashboard_id = str(created["id"]) if created else None
        else:
            dashboard_id = str(dashboard["id"])
            result.steps.append(Step("found", f"dashboard '{DASHBOARD_NAME}' ({dashboard_id})"))
        result.dashboard_id = dashboard_id

        existing: dict[str, dict[str, Any]] = {}
        if dashboard_id is not None:
            listed = self.client.request("GET", f"/rest/api/3/dashboard/{dashboard_id}/gadget") or {}
            for gadget in listed.get("gadgets") or []:
                existing.setdefault(str(gadget.get("title")), gadget)

        for n, spec in enumerate(GADGETS):
            filter_id = None if forge else self.ensure_filter(spec, result)
            result.filter_ids[spec.key] = filter_id
            gadget = existing.get(spec.title)
            if gadget is None:
                body: dict[str, Any] = {
                    "title": spec.title,
                    "color": spec.color,
                    "position": {"column": n % 2, "row": n // 2},
                }
                body["moduleKey" if forge else "uri"] = modules[spec.key] if forge else spec.builtin_uri
                added = (
                    self._write("POST", f"/rest/api/3/dashboard/{dashboard_id}/gadget", body)
                    if dashboard_id
                    else None
                )
                result.steps.append(
                    Step("create", f"gadget '{spec.title}'", body.get("moduleKey") or body.get("uri", ""))
                )
                gadget_id = int(added["id"]) if added else None
            else:
                gadget_id = int(gadget["id"])
                result.steps.append(Step("found", f"gadget '{spec.title}' ({gadget_id})"))
                if gadget.get("color") != spec.color:
                    self._write(
                        "PUT",
                        f"/rest/api/3/dashboard/{dashboard_id}/gadget/{gadget_id}",
                        {"color": spec.color},
                    )
                    result.steps.append(Step("update", f"gadget '{spec.title}' colour", spec.color))
            result.gadget_ids[spec.key] = gadget_id
            self._properties(dashboard_id, gadget_id, spec, filter_id, forge, result)
        return result

    def _properties(
        self,
        dashboard_id: str | None,
        gadget_id: int | None,
        spec: GadgetSpec,
        filter_id: str | None,
        forge: bool,
        result: ProvisionResult,
    ) -> None:
        where = f"/rest/api/3/dashboard/{dashboard_id}/items/{gadget_id}/properties"
        ready = dashboard_id is not None and gadget_id is not None
        if not forge:
            ref = filter_id or "<new filter>"
            config = {
                **spec.builtin_config,
                "filterId": f"filter-{ref}" if spec.builtin_uri == TWO_D_STATS_URI else ref,
                "isConfigured": "true",
                "refresh": "15",
            }
            assert all(isinstance(v, str) for v in config.values())
            if ready:
                self._write("PUT", f"{where}/config", config)
            result.steps.append(Step("set", f"'{spec.title}' config", json.dumps(config, sort_keys=True)))
        if self.snapshots is not None:
            snapshot = fit_snapshot(spec.key, self.snapshots(spec.key), self.now())
            if ready:
                self._write("PUT", f"{where}/{SNAPSHOT_KEY}", snapshot)
            result.steps.append(
                Step("set", f"'{spec.title}' {SNAPSHOT_KEY}", f"{len(snapshot.get('rows', []))} rows")
            )


def provision(
    client: JiraClient,
    config: BatonConfig,
    *,
    snapshots: SnapshotFn | None = None,
    share: str = "private",
    dry_run: bool = False,
) -> ProvisionResult:
    return Provisioner(client, config, snapshots=snapshots, share=share, dry_run=dry_run).provision()


def store_snapshots(engine: Any, site: str, config: BatonConfig, now: datetime) -> SnapshotFn:
    """Snapshots computed by the engine from the site's stored requests (one computation, four views)."""
    requests = load_site_requests(engine, site)
    evaluated = scoring.evaluate_clocks(requests, config, now)

    def records(frame: pd.DataFrame, limit: int = 200) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = json.loads(
            frame.head(limit).to_json(orient="records", date_format="iso")
        )
        return rows

    def snapshot(key: str) -> Mapping[str, Any]:
        if key == "baton-scorecard":
            return {"rows": records(scoring.scorecards(requests, config, now, period="week"))}
        if key == "baton-matrix":
            return {"rows": records(scoring.handoff_matrix(requests, config, now))}
        if key == "baton-at-risk":
            risky = evaluated[
                evaluated["resolved_at"].isna() & evaluated["resolution_state"].isin(["at_risk", "breached"])
            ]
            cols = [
                c
                for c in ("issue_key", "provider", "requester", "process", "opened_at", "resolution_state")
                if c in risky
            ]
            return {"rows": records(risky[cols])}
        return {"rows": records(scoring.unmapped_report(requests))}

    return snapshot


__all__ = [
    "BUILTIN_FALLBACKS",
    "DASHBOARD_NAME",
    "GADGETS",
    "PROPERTY_KEY",
    "ProvisionResult",
    "Provisioner",
    "provision",
    "store_snapshots",
]
