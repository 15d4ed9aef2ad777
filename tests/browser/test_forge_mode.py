"""The same bundle inside Jira Cloud: a stand-in for Forge's Custom UI bridge (`window.__bridge`,
what Jira injects into the gadget iframe) hands the bundle its context and forwards `invokeRemote`
to the real server with a real (locally signed) Forge Invocation Token, so the whole remote path
is exercised: module key -> gadget, token verification, site mapping, edit view -> `view.submit`."""

from __future__ import annotations

import json
import time

import pytest

from tests.browser.conftest import Server
from tests.integration.api.forge_support import CLOUD_A

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

BRIDGE = """
(() => {
  const cfg = %s;
  window.__forgeCalls = [];
  window.__bridge = {
    callBridge: async (name, payload) => {
      window.__forgeCalls.push([name, payload ?? null]);
      if (name === 'getContext') return cfg.context;
      if (name === 'enableTheming') return undefined;
      if (name === 'invoke') {
        const res = await fetch(payload.path, { method: payload.method, headers: { Authorization: 'Bearer ' + cfg.token } });
        const body = await res.json();
        return res.ok ? { success: true, payload: { status: res.status, headers: {}, body } }
                      : { success: false, error: { status: res.status, headers: {}, body } };
      }
      if (name === 'submit') { window.__submitted = payload; return true; }
      if (name === 'close') return true;
      return undefined;
    },
  };
})();
"""


def _forge_page(browser, server: Server, context: dict, token: str, width: int = 600):
    ctx = browser.new_context(viewport={"width": width, "height": 800})
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.add_init_script(BRIDGE % json.dumps({"context": context, "token": token}))
    page.goto(f"{server.url}/gadgets/matrix")  # Forge serves dist/index.html; the path does not matter
    return ctx, page, errors


def _token(server: Server, **claims) -> str:
    now = int(time.time())
    return server.jwks.token(exp=now + 300, **claims)


def test_matrix_gadget_through_forge_remote(browser, server: Server) -> None:
    context = {
        "moduleKey": "baton-matrix",
        "extension": {"type": "jira:dashboardGadget", "gadgetConfiguration": {}},
    }
    ctx, page, errors = _forge_page(browser, server, context, _token(server))
    try:
        page.wait_for_selector('body[data-ready="true"]', timeout=30_000)
        assert page.locator('section[data-gadget="matrix"]').count() == 1
        api = server.api(
            "/handoffs/matrix?period=week"
        )  # same site (acme) through a share link; week by default
        assert page.locator("td.cell").count() == len(api["cells"])
        first = api["cells"][0]
        td = page.locator(f'td[data-requester="{first["requester"]}"][data-provider="{first["provider"]}"]')
        assert (
            json.loads(td.locator("[data-field=timeliness]").get_attribute("data-value"))
            == first["timeliness"]
        )
        calls = page.evaluate("() => window.__forgeCalls")
        invokes = [c[1] for c in calls if c[0] == "invoke"]
        assert invokes and all(i["path"].startswith("/api/v1/") and i["method"] == "GET" for i in invokes)
        assert any(c[0] == "enableTheming" for c in calls)
        # click-through links go to the token's own Jira site
        td.locator("button").click()
        page.wait_for_selector(".detail li a")
        href = page.locator(".detail li a").first.get_attribute("href")
        assert href.startswith(f"https://{CLOUD_A[:4]}.atlassian.net/browse/")
        assert not errors, errors
    finally:
        ctx.close()


def test_edit_view_submits_the_configuration(browser, server: Server) -> None:
    context = {
        "moduleKey": "baton-scorecard",
        "extension": {
            "type": "jira:dashboardGadget",
            "entryPoint": "edit",
            "gadgetConfiguration": {"team": "qa", "period": "month"},
        },
    }
    ctx, page, errors = _forge_page(browser, server, context, _token(server))
    try:
        page.wait_for_selector("form.edit select[name=team]", timeout=30_000)
        assert page.input_value("select[name=team]") == "qa"
        assert page.input_value("select[name=period]") == "month"
        teams = page.eval_on_selector_all("select[name=team] option", "els => els.map(e => e.value)")
        assert teams == ["", *server.api("/teams")["teams"]]  # "": the worst team (no team chosen)
        page.select_option("select[name=team]", "ops")
        page.select_option("select[name=process]", "support")
        page.click("button[type=submit]")
        page.wait_for_function("() => window.__submitted !== undefined")
        assert page.evaluate("() => window.__submitted") == {
            "team": "ops",
            "period": "month",
            "process": "support",
            "refresh": 15,
        }
        assert not errors, errors
    finally:
        ctx.close()


def test_scorecard_uses_the_saved_configuration(browser, server: Server) -> None:
    context = {
        "moduleKey": "baton-scorecard",
        "extension": {
            "type": "jira:dashboardGadget",
            "gadgetConfiguration": {"team": "qa", "period": "week"},
        },
    }
    ctx, page, errors = _forge_page(browser, server, context, _token(server))
    try:
        page.wait_for_selector('body[data-ready="true"]', timeout=30_000)
        current = server.api("/scorecards?team=qa&period=week")["scorecards"][0]["current"]
        score = page.locator('[data-team="qa"] [data-field=score]')
        assert json.loads(score.get_attribute("data-value")) == current["score"]
        assert page.locator("select").count() == 0  # configuration lives in the edit view inside Jira
        assert not errors, errors
    finally:
        ctx.close()


def test_unconnected_site_and_bad_token_are_refused_in_the_gadget(browser, server: Server) -> None:
    context = {"moduleKey": "baton-unmapped", "extension": {"gadgetConfiguration": {}}}
    stranger = _token(
        server,
        installation="ari:cloud:ecosystem::installation/x",
        cloud_id="99999999-0000-4000-8000-000000000000",
    )
    ctx, page, _ = _forge_page(browser, server, context, stranger)
    try:
        page.wait_for_selector('body[data-ready="true"]', timeout=30_000)
        assert page.locator('[data-error="403"]').count() == 1
        assert "not connected" in page.inner_text("body")
    finally:
        ctx.close()
    ctx, page, _ = _forge_page(browser, server, context, _token(server, aud="ari:cloud:ecosystem::app/other"))
    try:
        page.wait_for_selector('body[data-ready="true"]', timeout=30_000)
        assert page.locator('[data-error="401"]').count() == 1
    finally:
        ctx.close()


def test_issue_glance_shows_the_open_clock(browser, server: Server) -> None:
    at_risk = server.api("/requests?state=at_risk,breached&open=1")["requests"][0]
    context = {
        "moduleKey": "baton-sla-glance",
        "extension": {"type": "jira:issueGlance", "issue": {"key": at_risk["issue"]}},
    }
    ctx, page, errors = _forge_page(browser, server, context, _token(server), width=320)
    try:
        page.wait_for_selector('body[data-ready="true"]', timeout=30_000)
        glance = page.locator('section[data-gadget="glance"]')
        assert at_risk["provider"] in glance.inner_text()
        assert (
            json.loads(glance.locator("[data-field=remaining_s]").get_attribute("data-value"))
            == at_risk["remaining_s"]
        )
        assert glance.locator(f".state-{at_risk['state']}").count() == 1
        assert "open the Hand-offs panel" in glance.locator('[data-link="handoffs"]').inner_text()
        assert not errors, errors
    finally:
        ctx.close()


def test_at_risk_edit_view_allows_all_teams(browser, server: Server) -> None:
    context = {"moduleKey": "baton-at-risk", "extension": {"entryPoint": "edit", "gadgetConfiguration": {}}}
    ctx, page, errors = _forge_page(browser, server, context, _token(server))
    try:
        page.wait_for_selector("form.edit select[name=team]", timeout=30_000)
        assert page.input_value("select[name=team]") == ""  # "All teams"
        page.click("button[type=submit]")
        page.wait_for_function("() => window.__submitted !== undefined")
        submitted = page.evaluate("() => window.__submitted")
        assert submitted.get("team") is None and submitted["refresh"] == 15
        assert not errors, errors
    finally:
        ctx.close()
