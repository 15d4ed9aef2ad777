"""The admin page's API (`webhooks/http/admin.py`) on SQLite and PostgreSQL: who may use it (admin token,
session cookie, Forge admin page; not a gadget's token, not another site), the draft edits, validation
with `baton config check`'s problems, preview, publish with conflicts, history, rollback and export."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from sqlalchemy import Engine

from baton.config.loader import load_config_text
from tests.contract.connector.standin import JiraStandIn
from tests.contract.connector.standin_http import serving
from tests.integration.api.admin_support import (
    ADMIN_NOW,
    ADMIN_PAGE,
    ADMIN_TOKEN,
    DEMO_CONFIG,
    JiraAdmins,
    forge_headers,
    load_history,
    publish_demo,
)
from tests.integration.api.forge_support import CLOUD_B, INSTALL_B, Jwks

NOW = ADMIN_NOW
SITE = "acme"
OTHER = "globex"
BEARER = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.fixture
def history(engine: Engine) -> Engine:
    load_history(engine, SITE, issues=60, seed=5, now=NOW)
    load_history(engine, OTHER, issues=20, seed=9, now=NOW)
    return engine


# --- who may use it -----------------------------------------------------------------------------------


def test_no_or_wrong_admin_token_is_refused(make_admin_app, caplog) -> None:
    client = make_admin_app().test_client()
    caplog.set_level(logging.DEBUG)
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {ADMIN_TOKEN}"}):
        resp = client.get(f"/api/v1/admin/state?site={SITE}", headers=headers)
        assert resp.status_code == 401, headers
        assert resp.get_json()["error"] == "unauthorized"
        assert resp.headers["WWW-Authenticate"] == 'Bearer realm="baton"'
    # never in a URL: a token as a query parameter is not a credential
    assert client.get(f"/api/v1/admin/state?token={ADMIN_TOKEN}").status_code == 401
    assert client.get(f"/api/v1/admin/state?site={SITE}", headers=BEARER).status_code == 200
    assert ADMIN_TOKEN not in caplog.text


def test_without_an_admin_token_the_page_is_off(make_admin_app) -> None:
    app = make_admin_app(BATON_ADMIN_TOKEN="", BATON_FORGE_APP_ID="")
    client = app.test_client()
    resp = client.get("/api/v1/admin/state", headers={"Authorization": "Bearer anything"})
    assert resp.status_code == 401
    resp = client.get("/api/v1/admin/state")
    assert resp.status_code == 401 and "BATON_ADMIN_TOKEN" in resp.get_json()["hint"]
    assert client.get("/admin/login").status_code == 503


def test_login_form_sets_an_httponly_session_cookie_without_the_token(make_admin_app, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    client = make_admin_app().test_client()
    assert client.get("/admin").status_code == 303  # not signed in: to the form
    form = client.get("/admin/login")
    assert form.status_code == 200 and b'type="password"' in form.data and b'method="post"' in form.data
    refused = client.post("/admin/login", data={"token": "wrong"})
    assert refused.status_code == 401 and b"Wrong admin token" in refused.data
    resp = client.post("/admin/login", data={"token": ADMIN_TOKEN})
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/admin")
    cookie = resp.headers["Set-Cookie"]
    assert cookie.startswith("baton_admin=") and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert ADMIN_TOKEN not in cookie and ADMIN_TOKEN not in resp.headers.get("Location", "")
    page = client.get("/admin")
    assert page.status_code == 200 and b'id="app"' in page.data
    assert page.headers["Cache-Control"] == "no-store"
    assert client.get(f"/api/v1/admin/state?site={SITE}").get_json()["method"] == "session"
    # a write with the cookie must be JSON (a cross-site form cannot send that)
    resp = client.post("/api/v1/admin/draft/validate", data={"yaml": "x"})
    assert resp.status_code == 400 and "JSON" in resp.get_json()["message"]
    # a tampered cookie is no session
    client.set_cookie("baton_admin", cookie.split(";")[0].split("=", 1)[1][:-2] + "AA")
    assert client.get("/api/v1/admin/state").status_code == 401
    client.post("/admin/logout")
    assert ADMIN_TOKEN not in caplog.text


def test_a_session_ends_when_the_admin_token_changes(make_admin_app) -> None:
    from baton.webhooks.http.admin import make_session, session_valid

    session = make_session(ADMIN_TOKEN, now=1000.0, ttl_s=60)
    assert session_valid(ADMIN_TOKEN, session, now=1030.0)
    assert not session_valid(ADMIN_TOKEN, session, now=1061.0)  # expired
    assert not session_valid("another-token", session, now=1030.0)


def test_forge_admin_page_is_accepted_for_its_own_site_only(
    make_admin_app, jwks: Jwks, jira_sites: JiraAdmins
) -> None:
    client = make_admin_app(**jira_sites.env).test_client()
    admin = forge_headers(jwks, principal="pmo-admin")
    resp = client.get("/api/v1/admin/state", headers=admin)
    assert resp.status_code == 200
    body = resp.get_json()
    assert (body["site"], body["method"]) == (SITE, "forge")
    assert body["author"] == "forge:pmo-admin"
    # another site, asked for by parameter: refused, not silently answered
    resp = client.get(f"/api/v1/admin/state?site={OTHER}", headers=admin)
    assert resp.status_code == 403 and OTHER in resp.get_json()["message"]
    # the other Jira site's admin page administers the other Baton site
    other = forge_headers(
        jwks,
        installation=INSTALL_B,
        context={"cloudId": CLOUD_B, "extension": ADMIN_PAGE},
        principal="pmo-admin",
    )
    assert client.get("/api/v1/admin/state", headers=other).get_json()["site"] == OTHER
    assert jira_sites.checks() == 2  # once per site, then from the cache


@pytest.mark.parametrize(
    "module",
    [
        {"type": "jira:dashboardGadget", "key": "baton-scorecard"},
        {"type": "jira:issueGlance", "key": "baton-sla-glance"},
    ],
)
def test_a_non_admin_forge_context_is_refused(make_admin_app, jwks: Jwks, module: dict) -> None:
    client = make_admin_app().test_client()
    resp = client.get("/api/v1/admin/state", headers=forge_headers(jwks, module))
    assert resp.status_code == 403
    assert resp.get_json()["message"] == "only Jira administrators may change Baton's configuration"
    # a gadget's module with an admin-page extension claim (or the reverse) is not enough
    mixed = forge_headers(jwks, module, context={"cloudId": "x", "extension": {"type": "jira:adminPage"}})
    assert client.get("/api/v1/admin/state", headers=mixed).status_code in (403,)
    resp = client.post(
        "/api/v1/admin/publish",
        headers=forge_headers(jwks, module),
        json={"yaml": DEMO_CONFIG.read_text(), "comment": "x", "base_version": None},
    )
    assert resp.status_code == 403


def test_share_links_do_not_open_the_admin_api(make_admin_app) -> None:
    from baton.webhooks.http.auth import make_share_token

    app = make_admin_app(BATON_SECRET_KEY="s" * 40)
    token = make_share_token(b"s" * 40, SITE, 3600)
    resp = app.test_client().get("/api/v1/admin/state", headers={"X-Baton-Share": token})
    assert resp.status_code == 401


# --- drafts, publish, conflicts, history, rollback, export ------------------------------------------


def test_publish_conflict_history_rollback_export(make_admin_app, history: Engine) -> None:
    client = make_admin_app().test_client()
    q = f"?site={SITE}"
    state = client.get(f"/api/v1/admin/state{q}", headers=BEARER).get_json()
    assert (state["read_only"], state["live"], state["base_version"]) == (False, None, None)
    demo = DEMO_CONFIG.read_text()
    first = client.post(
        f"/api/v1/admin/publish{q}",
        headers=BEARER,
        json={"yaml": demo, "comment": "start", "base_version": None},
    )
    assert first.status_code == 201 and first.get_json()["version"]["number"] == 1

    # two admins edit version 1; the first publishes, the second gets a conflict and keeps the draft
    edited_a = demo.replace("reopen_window: 14d", "reopen_window: 10d")
    edited_b = demo.replace("at_risk: 0.8", "at_risk: 0.9")
    a = client.post(f"/api/v1/admin/publish{q}", headers=BEARER, json={"yaml": edited_a, "base_version": 1})
    assert a.status_code == 201 and a.get_json()["version"]["number"] == 2
    b = client.post(
        f"/api/v1/admin/publish{q}",
        headers=BEARER,
        json={"yaml": edited_b, "comment": "b", "base_version": 1},
    )
    assert b.status_code == 409
    conflict = b.get_json()
    assert conflict["error"] == "config_conflict"
    assert conflict["latest"]["number"] == 2 and conflict["latest"]["yaml_text"] == edited_a
    assert conflict["yaml"] == edited_b  # nothing lost
    assert "version 2 is the latest" in conflict["message"]
    # publishing over the latest, knowingly
    b2 = client.post(f"/api/v1/admin/publish{q}", headers=BEARER, json={"yaml": edited_b, "base_version": 2})
    assert b2.status_code == 201 and b2.get_json()["version"]["number"] == 3

    versions = client.get(f"/api/v1/admin/history{q}", headers=BEARER).get_json()["versions"]
    assert [v["number"] for v in versions] == [3, 2, 1]
    assert [v["author"] for v in versions] == ["admin-token"] * 3
    assert "yaml_text" not in versions[0]
    shown = client.get(f"/api/v1/admin/versions/2{q}", headers=BEARER).get_json()["version"]
    assert shown["yaml_text"] == edited_a
    missing = client.get(f"/api/v1/admin/versions/9{q}", headers=BEARER)
    assert missing.status_code == 404 and missing.get_json()["error"] == "not_found"

    back = client.post(f"/api/v1/admin/rollback{q}", headers=BEARER, json={"number": 1})
    assert back.status_code == 201
    assert back.get_json()["version"] | {} == back.get_json()["version"]
    assert back.get_json()["version"]["number"] == 4
    assert back.get_json()["version"]["comment"] == "rollback to version 1"
    exported = client.get(f"/api/v1/admin/export{q}", headers=BEARER)
    assert exported.status_code == 200 and exported.data.decode() == demo
    assert exported.headers["Content-Disposition"] == f'attachment; filename="baton-{SITE}-v4.yaml"'
    v2 = client.get(f"/api/v1/admin/export{q}&version=2", headers=BEARER)
    assert v2.data.decode() == edited_a
    status = client.get(f"/api/v1/admin/rederive{q}", headers=BEARER).get_json()
    assert status["version"] == 4 and status["state"] == "pending"

    # the other site saw none of it
    other = client.get(f"/api/v1/admin/history?site={OTHER}", headers=BEARER).get_json()
    assert other["versions"] == []


def test_invalid_draft_reports_the_config_check_problems(make_admin_app, history: Engine) -> None:
    from baton.config.errors import ConfigError

    client = make_admin_app().test_client()
    broken = (
        DEMO_CONFIG.read_text()
        .replace("calendar: shanghai", "calendar: nowhere", 1)
        .replace("response: 8h, resolution: 24h}", "response: 4x, resolution: 24h}", 1)
    )
    with pytest.raises(ConfigError) as expected:
        load_config_text(broken, "draft.yaml")
    resp = client.post(f"/api/v1/admin/draft/validate?site={SITE}", headers=BEARER, json={"yaml": broken})
    body = resp.get_json()
    assert resp.status_code == 200 and body["valid"] is False
    assert [p["text"] for p in body["problems"]] == expected.value.lines()
    assert [(p["dotted"], p["line"]) for p in body["problems"]] == [
        ("teams.dev.calendar", 27),
        ("processes.delivery.sla[0].response", 47),
    ]
    publish = client.post(f"/api/v1/admin/publish?site={SITE}", headers=BEARER, json={"yaml": broken})
    assert publish.status_code == 422
    assert publish.get_json()["error"] == "config_invalid"
    assert [p["text"] for p in publish.get_json()["problems"]] == expected.value.lines()
    assert client.get(f"/api/v1/admin/history?site={SITE}", headers=BEARER).get_json()["versions"] == []
    too_big = client.post(
        f"/api/v1/admin/draft/validate?site={SITE}", headers=BEARER, json={"yaml": "#" * 1_000_001}
    )
    assert too_big.status_code == 413


def test_make_routine_keeps_comments_and_the_preview_shows_the_change(
    make_admin_app, history: Engine
) -> None:
    client = make_admin_app().test_client()
    q = f"?site={SITE}"
    publish_demo(history, SITE, NOW)
    rows = client.get(f"/api/v1/admin/unmapped{q}", headers=BEARER).get_json()["rows"]
    assert rows and all(r["count"] > 0 for r in rows)
    top = next(r for r in rows if r["requester"] is not None)
    demo = DEMO_CONFIG.read_text()
    edit = {"op": "make_routine", "process": top["process"], "from": top["requester"], "to": top["provider"]}
    resp = client.post(f"/api/v1/admin/draft/edit{q}", headers=BEARER, json={"yaml": demo, "edit": edit})
    body = resp.get_json()
    assert resp.status_code == 200 and body["valid"] is True, body["problems"]
    assert "# The bundled demo" in body["yaml"] and "# `dev` (Shanghai)" in body["yaml"]
    rules = load_config_text(body["yaml"]).processes[top["process"]].forward_rules()
    assert (top["requester"], top["provider"]) in rules
    edges = body["graph"]["edges"]
    assert {
        "process": top["process"],
        "from": top["requester"],
        "to": top["provider"],
        "kind": "routine",
        "count": None,
    } in edges
    assert not any(
        e["kind"] == "unmapped"
        and (e["process"], e["from"], e["to"]) == (top["process"], top["requester"], top["provider"])
        for e in edges
    )

    preview = client.post(f"/api/v1/admin/preview{q}", headers=BEARER, json={"yaml": body["yaml"]})
    assert preview.status_code == 200
    result = preview.get_json()
    mapped = [
        p
        for p in result["handoffs_mapped"]
        if (p["requester"], p["provider"]) == (top["requester"], top["provider"])
    ]
    assert sum(p["count"] for p in mapped) >= top["count"]
    assert result["changed_total"] >= top["count"]
    assert all(set(r) == {"period", "team", "process", "before", "after"} for r in result["rows"])
    # the preview wrote nothing
    assert client.get(f"/api/v1/admin/history{q}", headers=BEARER).get_json()["versions"][0]["number"] == 1

    assigned = client.post(
        f"/api/v1/admin/draft/edit{q}",
        headers=BEARER,
        json={
            "yaml": demo,
            "edit": {"op": "assign_status", "status": "Code Review", "team": "qa", "role": "active"},
        },
    ).get_json()
    assert load_config_text(assigned["yaml"]).teams["qa"].statuses.active == ["In QA", "Code Review"]
    bad = client.post(f"/api/v1/admin/draft/edit{q}", headers=BEARER, json={"yaml": "teams: [", "edit": edit})
    assert bad.status_code == 400 and "not valid YAML" in bad.get_json()["message"]


def test_configuration_as_code_makes_the_page_read_only(make_admin_app, history: Engine) -> None:
    # BATON_CONFIG alone is only the default of sites with no published version: the page may publish
    default_only = make_admin_app(config_path=str(DEMO_CONFIG)).test_client()
    state = default_only.get(f"/api/v1/admin/state?site={SITE}", headers=BEARER).get_json()
    assert state["read_only"] is False and state["live_yaml"] == DEMO_CONFIG.read_text()
    # `baton serve --config FILE` (BATON_CONFIG_AS_CODE): the file is the truth, the page is read-only
    client = make_admin_app(config_path=str(DEMO_CONFIG), BATON_CONFIG_AS_CODE="1").test_client()
    state = client.get(f"/api/v1/admin/state?site={SITE}", headers=BEARER).get_json()
    assert state["read_only"] is True and "--config" in state["read_only_reason"]
    assert state["live_yaml"] == DEMO_CONFIG.read_text()
    resp = client.post(
        f"/api/v1/admin/publish?site={SITE}", headers=BEARER, json={"yaml": DEMO_CONFIG.read_text()}
    )
    assert resp.status_code == 409 and resp.get_json()["error"] == "config_as_code"
    # validating and previewing still work: they write nothing
    assert client.post(
        f"/api/v1/admin/draft/validate?site={SITE}", headers=BEARER, json={"yaml": DEMO_CONFIG.read_text()}
    ).get_json()["valid"]


def test_statuses_come_from_jira(make_admin_app, tmp_path: Path) -> None:
    standin = JiraStandIn(
        statuses=[
            ("1", "Ready for QA", "indeterminate"),
            ("2", "Code Review", "indeterminate"),
            ("3", "Done", "done"),
        ]
    )
    with serving(standin) as server:
        app = make_admin_app(
            BATON_JIRA_URL=server.url, BATON_JIRA_EMAIL="pmo@example.com", BATON_JIRA_TOKEN="jira-api-token"
        )
        client = app.test_client()
        body = client.get("/api/v1/admin/statuses", headers=BEARER).get_json()
        assert body["available"] is True
        assert body["statuses"] == [
            {"id": "2", "name": "Code Review", "category": "indeterminate"},
            {"id": "3", "name": "Done", "category": "done"},
            {"id": "1", "name": "Ready for QA", "category": "indeterminate"},
        ]
        assert ("GET", "/rest/api/3/status") in standin.log
        # a site without Jira credentials: said so, not an error
        other = client.get(f"/api/v1/admin/statuses?site={OTHER}", headers=BEARER).get_json()
        assert other["available"] is False and "BATON_JIRA_GLOBEX_URL" in other["message"]
