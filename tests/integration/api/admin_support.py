"""Helpers for the admin page's tests: a simulated history fed through the webhook path (so the transition
log, the requests and the unmapped hand-offs are all real), and the first published version."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from tests.contract.connector.contract import shared_contract
from tests.contract.connector.standin import JiraStandIn
from tests.contract.connector.standin_http import StandInServer, serving
from tests.integration.api.forge_support import APP_ID, CLOUD_A, SITE_MAP, Jwks

ROOT = Path(__file__).resolve().parents[3]
DEMO_CONFIG = ROOT / "config" / "examples" / "demo.yaml"
ADMIN_TOKEN = "admin-token-for-tests-0123456789abcdef"
ADMIN_NOW = datetime(2026, 3, 18, 11, 30, tzinfo=UTC)
ADMIN_PAGE = {"type": "jira:adminPage", "key": "baton-admin"}
PERMISSIONS_CHECK = ("POST", "/rest/api/3/permissions/check")


def forge_headers(jwks: Jwks, module: dict[str, str] | None = None, **claims: Any) -> dict[str, str]:
    """`Authorization` with a Forge Invocation Token of `module` (default: the admin page) for site A."""
    app = {
        "id": APP_ID,
        "installationId": claims.pop("installation", None) or SITE_MAP.split("=")[0],
        "module": module or ADMIN_PAGE,
    }
    context = claims.pop("context", None) or {
        "cloudId": CLOUD_A,
        "extension": {"type": module["type"] if module else "jira:adminPage"},
    }
    return {"Authorization": f"Bearer {jwks.token(app=app, context=context, **claims)}"}


@dataclass
class JiraAdmins:
    """A Jira stand-in over HTTP that knows who is a Jira administrator, its requests and responses
    validated against the OpenAPI contract, and the `BATON_JIRA_*` variables of both test sites."""

    standin: JiraStandIn
    server: StandInServer

    @property
    def env(self) -> dict[str, str]:
        variables = {"BATON_JIRA_SITES": "acme,globex"}
        for site in ("ACME", "GLOBEX"):
            variables |= {
                f"BATON_JIRA_{site}_URL": self.server.url,
                f"BATON_JIRA_{site}_EMAIL": "baton@example.com",
                f"BATON_JIRA_{site}_TOKEN": "jira-api-token",
                f"BATON_JIRA_{site}_FLAVOUR": "cloud",
            }
        return variables

    def checks(self) -> int:
        """How many permission checks the stand-in answered."""
        return sum(1 for call in self.standin.log if call == PERMISSIONS_CHECK)


@contextmanager
def jira_admins(**permissions: list[str]) -> Iterator[JiraAdmins]:
    """`permissions`: account id -> its global permissions (e.g. `pmo_admin=["ADMINISTER"]`; `_` in a
    keyword becomes `-`)."""
    standin = JiraStandIn(global_permissions={k.replace("_", "-"): v for k, v in permissions.items()})
    with serving(standin) as server:
        server.contract = shared_contract((server.url,))
        yield JiraAdmins(standin, server)
    assert not server.violations, "\n".join(server.violations)


def load_history(engine: Engine, site: str, *, issues: int, seed: int, now: datetime, weeks: int = 8) -> int:
    """`issues` simulated issues of the demo configuration, as webhook deliveries through replay; returns
    the number of deliveries."""
    from baton.config.loader import load_config
    from baton.scoring.simulate import simulate_deliveries
    from baton.webhooks.cli.replay_cmd import Item, ReplayReport, replay_items

    config = load_config(DEMO_CONFIG)
    deliveries = simulate_deliveries(config, issues, seed=seed, start=now - timedelta(weeks=weeks), end=now)
    items = [
        Item(
            origin=f"sim:{d.payload['issue']['key']}:{d.payload['changelog']['id']}",
            body=json.dumps(d.payload, separators=(",", ":")).encode("utf-8"),
            headers=d.headers,
            doc=d.payload,
        )
        for d in deliveries
    ]
    report = ReplayReport()
    replay_items(engine, site, config, items, report)
    assert not report.errors, report.errors
    return len(items)


def publish_demo(engine: Engine, site: str, now: datetime, author: str = "seed") -> int:
    """Publish config/examples/demo.yaml as the site's first version; returns its number."""
    from sqlalchemy.orm import Session

    from baton.store import config_versions

    with Session(engine) as session:
        version = config_versions.publish(
            session,
            site,
            DEMO_CONFIG.read_text(encoding="utf-8"),
            author=author,
            comment="the demo configuration",
            base_version=None,
            now=now,
        )
    return version.number
