"""The Forge admin page's second check, on SQLite and PostgreSQL: besides the token's module
(`jira:adminPage`), the token's account must hold Jira's Administer Jira global permission on the site,
asked over REST (`POST /rest/api/3/permissions/check`) of a contract-validating Jira stand-in and cached.
Not an administrator: 403 and nothing published. Jira unreachable or unable to answer: 503 with
`Retry-After` and a hint, never 500."""

from __future__ import annotations

import logging
import socket

from baton.connector.permissions import AdminCache
from tests.integration.api.admin_support import (
    ADMIN_TOKEN,
    DEMO_CONFIG,
    JiraAdmins,
    forge_headers,
    jira_admins,
)
from tests.integration.api.forge_support import CLOUD_B, INSTALL_B, Jwks

STATE = "/api/v1/admin/state"
PUBLISH = "/api/v1/admin/publish"
BEARER = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
NOT_ADMIN = (
    "only Jira administrators may change Baton's configuration: your Jira account does not hold the "
    "Administer Jira global permission on this site"
)


def _history(client, site: str = "acme") -> list[dict]:
    return client.get(f"/api/v1/admin/history?site={site}", headers=BEARER).get_json()["versions"]


def test_a_jira_admin_from_the_admin_page_may_publish(
    make_admin_app, jwks: Jwks, jira_sites: JiraAdmins
) -> None:
    client = make_admin_app(**jira_sites.env).test_client()
    admin = forge_headers(jwks, principal="pmo-admin")
    state = client.get(STATE, headers=admin)
    assert state.status_code == 200
    assert (state.get_json()["site"], state.get_json()["author"]) == ("acme", "forge:pmo-admin")
    published = client.post(
        PUBLISH, headers=admin, json={"yaml": DEMO_CONFIG.read_text(), "comment": "by a Jira admin"}
    )
    assert published.status_code == 201, published.get_json()
    assert [(v["number"], v["author"]) for v in _history(client)] == [(1, "forge:pmo-admin")]
    # Jira's System administrator implies Administer Jira
    sysadmin = client.get(STATE, headers=forge_headers(jwks, principal="sysadmin"))
    assert sysadmin.status_code == 200
    assert jira_sites.standin.log.count(("POST", "/rest/api/3/permissions/check")) == 2


def test_the_admin_page_of_an_account_that_is_no_jira_admin_is_refused(
    make_admin_app, jwks: Jwks, jira_sites: JiraAdmins
) -> None:
    client = make_admin_app(**jira_sites.env).test_client()
    refusals: list[logging.LogRecord] = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = refusals.append  # type: ignore[method-assign]
    logging.getLogger("baton.webhooks.admin").addHandler(handler)
    for account in ("dev-user", "unknown-account"):  # a user without it; an account Jira does not know
        headers = forge_headers(jwks, principal=account)
        refused = client.get(STATE, headers=headers)
        assert refused.status_code == 403
        body = refused.get_json()
        assert (body["error"], body["message"]) == ("forbidden", NOT_ADMIN)
        assert "Global permissions" in body["hint"]
        publish = client.post(
            PUBLISH, headers=headers, json={"yaml": DEMO_CONFIG.read_text(), "comment": "not allowed"}
        )
        assert publish.status_code == 403 and publish.get_json()["message"] == NOT_ADMIN
        rollback = client.post("/api/v1/admin/rollback", headers=headers, json={"number": 1})
        assert rollback.status_code == 403
    assert _history(client) == []  # nothing was published
    logging.getLogger("baton.webhooks.admin").removeHandler(handler)
    assert [(r.event, r.site, r.reason) for r in refusals] == [
        ("admin_forbidden", "acme", "not_jira_admin")
    ] * 6
    # a token naming no account at all
    anonymous = client.get(STATE, headers=forge_headers(jwks, principal=None))
    assert anonymous.status_code == 403 and "names no Jira account" in anonymous.get_json()["message"]
    # the refusals were cached too: one check per account
    assert jira_sites.checks() == 2


def test_the_answer_is_cached_per_site_and_account(
    make_admin_app, jwks: Jwks, jira_sites: JiraAdmins
) -> None:
    app = make_admin_app(BATON_ADMIN_CHECK_TTL="60", **jira_sites.env)
    client = app.test_client()
    for _ in range(3):
        assert client.get(STATE, headers=forge_headers(jwks, principal="pmo-admin")).status_code == 200
    assert jira_sites.checks() == 1  # the second and third calls did not ask Jira
    cache: AdminCache = app.extensions["baton_admin_cache"]
    assert cache.ttl_s == 60
    client.get(STATE, headers=forge_headers(jwks, principal="sysadmin"))  # another account
    client.get(STATE, headers=forge_headers(jwks, principal="pmo-admin", **_site_b()))  # another site
    assert jira_sites.checks() == 3
    # once the entry has expired, Jira is asked again
    now = [cache.clock()]
    cache.clock = lambda: now[0]
    now[0] += 61
    client.get(STATE, headers=forge_headers(jwks, principal="pmo-admin"))
    assert jira_sites.checks() == 4
    # the admin token and the session cookie never ask Jira
    assert client.get(f"{STATE}?site=acme", headers=BEARER).status_code == 200
    assert jira_sites.checks() == 4


def _site_b() -> dict:
    return {
        "installation": INSTALL_B,
        "context": {"cloudId": CLOUD_B, "extension": {"type": "jira:adminPage"}},
    }


def test_jira_down_is_503_with_retry_after_and_not_cached(make_admin_app, jwks: Jwks) -> None:
    with jira_admins(pmo_admin=["ADMINISTER"]) as jira:
        client = make_admin_app(**jira.env).test_client()
        admin = forge_headers(jwks, principal="pmo-admin")
        jira.standin.fail_from_request = 0  # Jira answers 503 to everything
        down = client.get(STATE, headers=admin)
        assert down.status_code == 503
        assert down.headers["Retry-After"] == "30"
        body = down.get_json()
        assert body["error"] == "unavailable"
        assert body["message"] == "Jira did not answer whether you are a Jira administrator (JiraUnavailable)"
        assert (
            body["hint"] == f"retry in a moment; if it persists, check that Baton reaches {jira.server.url}"
        )
        assert jira.checks() == 2  # one short retry
        published = client.post(PUBLISH, headers=admin, json={"yaml": DEMO_CONFIG.read_text()})
        assert published.status_code == 503
        assert _history(client) == []
        jira.standin.fail_from_request = None  # Jira is back: the failure was not cached
        assert client.get(STATE, headers=admin).status_code == 200

    # nothing listens at the site's URL any more
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    unreachable = {**jira.env, "BATON_JIRA_ACME_URL": closed}
    client = make_admin_app(**unreachable).test_client()
    down = client.get(STATE, headers=admin)
    assert down.status_code == 503 and down.headers["Retry-After"] == "30"
    assert down.get_json()["hint"] == f"retry in a moment; if it persists, check that Baton reaches {closed}"


def test_jira_that_cannot_answer_is_503_naming_what_to_fix(make_admin_app, jwks: Jwks) -> None:
    admin = forge_headers(jwks, principal="pmo-admin")
    with jira_admins(pmo_admin=["ADMINISTER"]) as jira:
        # the account Baton signs in with is no Jira administrator: Jira does not answer about others
        jira.standin.caller_is_admin = False
        resp = make_admin_app(**jira.env).test_client().get(STATE, headers=admin)
        assert resp.status_code == 503 and resp.headers["Retry-After"] == "30"
        body = resp.get_json()
        assert "the account Baton signs in with on site 'acme' is not one itself" in body["message"]
        assert body["hint"] == (
            "the operator gives the account of BATON_JIRA_ACME_EMAIL and BATON_JIRA_ACME_TOKEN the "
            "Administer Jira global permission (Jira answers this question about others only to "
            "administrators)"
        )
    # no Jira credentials for the site at all
    resp = make_admin_app().test_client().get(STATE, headers=admin)
    assert resp.status_code == 503
    body = resp.get_json()
    assert body["message"].startswith(
        "Baton cannot ask Jira whether you are a Jira administrator: site 'acme'"
    )
    assert "BATON_JIRA_ACME_URL" in body["message"]
    assert body["hint"] == "the operator sets the site's BATON_JIRA_* credentials (docs/jira-connector.md)"
