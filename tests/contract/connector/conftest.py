"""Every connector test runs against a Jira stand-in behind `responses`, and every exchange is checked.

`jira` (autouse for this folder): a `responses` mock that routes *every* HTTP call to a `JiraStandIn`.
For Cloud (`/rest/api/3/...`) each request is validated against Atlassian's OpenAPI spec before the
stand-in sees it, and each response the stand-in gives is validated against the spec's schema for that
operation and status; a violation fails the test (it is recorded and re-raised at teardown too, so a
connector that swallows errors cannot hide one). Data Center paths (`/rest/api/2/...`, not in the v3
spec) are served with the payload shapes of the recorded fixtures in tests/fixtures/.
Any URL the stand-in does not know is a connection error: nothing leaves the machine.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import responses

from baton.connector.client import JiraClient, RetryPolicy
from baton.connector.sites import Site
from tests.contract.connector.contract import ContractViolation, shared_contract
from tests.contract.connector.standin import BASE, JiraStandIn

DC_BASE = "https://jira.example.org"


@dataclass
class JiraMock:
    standin: JiraStandIn
    violations: list[str] = field(default_factory=list)
    sent: list[tuple[str, str, Any]] = field(default_factory=list)

    def cloud_site(self, name: str = "acme") -> Site:
        return Site(name, BASE, "cloud", "basic", "ops@example.org", "s3cr3t-api-token")

    def dc_site(self, name: str = "onprem") -> Site:
        return Site(name, DC_BASE, "datacenter", "pat", None, "dc-personal-access-token")

    def client(self, site: Site | None = None, **kw: Any) -> JiraClient:
        kw.setdefault("retry", RetryPolicy(attempts=6, initial=0.0, jitter=0.0, sleep=lambda s: None))
        return JiraClient(site or self.cloud_site(), **kw)

    def calls(self, method: str | None = None, path_prefix: str = "") -> list[tuple[str, str, Any]]:
        return [c for c in self.sent if (method is None or c[0] == method) and c[1].startswith(path_prefix)]


def _callback(mock: JiraMock):  # type: ignore[no-untyped-def]
    contract = shared_contract()

    def respond(request: Any) -> tuple[int, dict[str, str], str]:
        parts = urlsplit(request.url)
        body_text = request.body.decode() if isinstance(request.body, bytes) else request.body
        body = json.loads(body_text) if body_text else None
        mock.sent.append((request.method, parts.path, body))
        cloud = parts.path.startswith("/rest/api/3/")
        checked = None
        if cloud:
            try:
                checked = contract.check_request(request.method, request.url, body_text)
            except ContractViolation as error:
                mock.violations.append(str(error))
                raise
        status, headers, payload = mock.standin.handle(
            request.method, parts.path, parse_qs(parts.query), body
        )
        if cloud and checked is not None:
            try:
                contract.check_response(checked, status, payload)
            except ContractViolation as error:
                mock.violations.append(str(error))
                raise
        return (
            status,
            {"Content-Type": "application/json", **headers},
            json.dumps(payload) if payload is not None else "",
        )

    return respond


@pytest.fixture
def standin() -> JiraStandIn:
    return JiraStandIn()


@pytest.fixture
def jira(standin: JiraStandIn) -> Iterator[JiraMock]:
    mock = JiraMock(standin)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        for host in (BASE, DC_BASE):
            for method in ("GET", "POST", "PUT", "DELETE"):
                rsps.add_callback(method, re.compile(re.escape(host) + r"/.*"), callback=_callback(mock))
        yield mock
    assert not mock.violations, "contract violations:\n" + "\n".join(mock.violations)


def pytest_configure(config: pytest.Config) -> None:
    # openapi-core cannot check the spec's OAuth2/Connect security schemes and warns on every call
    # (also from the connector's worker threads, beyond warnings.catch_warnings' reach).
    config.addinivalue_line("filterwarnings", "ignore:Unsupported scheme type:UserWarning")
