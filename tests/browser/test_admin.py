"""The PMO's admin page in real Chromium against real gunicorn: sign in with the admin token, see the Jira
statuses (one unassigned), map an unmapped hand-off, see the preview change, publish, see the gadgets
change once the re-derivation is done, roll back; the 1280 px screenshot of docs/screenshots/admin.png.
The same bundle as the Jira admin page through a stand-in Forge bridge: a non-admin module, and an
account that is no Jira administrator, are refused."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
import requests

from tests.browser.conftest import save_screenshot
from tests.browser.serving import SECRET, gunicorn, trusted_jwks
from tests.contract.connector.standin import WORKFLOW, JiraStandIn
from tests.contract.connector.standin_http import serving
from tests.integration.api.admin_support import ADMIN_TOKEN, DEMO_CONFIG, load_history, publish_demo
from tests.integration.api.forge_support import APP_ID, SITE_MAP, Jwks

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

NOW = datetime(2026, 3, 18, 11, 30, tzinfo=UTC)
SITE = "acme"
JIRA_STATUSES = [
    *[(sid, name, cat) for sid, name, cat in WORKFLOW if name != "To Do"],
    ("10100", "Ready for Analysis", "new"),
    ("10101", "In Analysis", "indeterminate"),
    ("10102", "Ready for Dev", "new"),
    ("10103", "Blocked", "indeterminate"),
    ("10104", "Code Review", "indeterminate"),
    ("10105", "Triage", "new"),
    ("10106", "Investigating", "indeterminate"),
    ("10107", "Waiting for Customer", "indeterminate"),
    ("10108", "Resolved", "done"),
]


@dataclass
class AdminServer:
    url: str
    share: str
    jwks: Jwks

    def gadget_api(self, path: str) -> dict:
        resp = requests.get(f"{self.url}/api/v1{path}", headers={"X-Baton-Share": self.share}, timeout=30)
        resp.raise_for_status()
        return resp.json()


@pytest.fixture(scope="module")
def admin_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AdminServer]:
    from baton.store.db import create_engine_for, upgrade_database
    from baton.webhooks.http.auth import make_share_token

    tmp = tmp_path_factory.mktemp("admin-browser")
    url = f"sqlite:///{tmp}/admin.db"
    upgrade_database(url)
    engine = create_engine_for(url)
    try:
        load_history(engine, SITE, issues=120, seed=11, now=NOW)
        publish_demo(engine, SITE, NOW)
    finally:
        engine.dispose()
    # the Forge calls' account (the token's default principal) is the site's Jira administrator the
    # client signs in as; `dev-user` is an ordinary user
    standin = JiraStandIn(statuses=JIRA_STATUSES, global_permissions={"dev-user": ["USER_PICKER"]})
    with trusted_jwks() as jwks, serving(standin) as jira:
        env = {
            "BATON_ADMIN_TOKEN": ADMIN_TOKEN,
            "BATON_JIRA_ACME_URL": jira.url,
            "BATON_JIRA_ACME_EMAIL": "pmo@example.com",
            "BATON_JIRA_ACME_TOKEN": "jira-api-token",
        }
        # DEMO_CONFIG: the default of sites with no published version
        with gunicorn(tmp, url, DEMO_CONFIG, NOW, jwks, workers=1, env=env) as base:
            yield AdminServer(base, make_share_token(SECRET.encode(), SITE, 3600), jwks)


def _signed_in(browser, server: AdminServer, width: int = 1280):
    ctx = browser.new_context(viewport={"width": width, "height": 900})
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{server.url}/admin")
    assert page.url.endswith("/admin/login")  # not signed in yet
    page.fill("input[name=token]", ADMIN_TOKEN)
    page.click("button[type=submit]")
    page.wait_for_url(f"{server.url}/admin")
    page.goto(f"{server.url}/admin?site={SITE}")
    page.wait_for_selector('body[data-ready="true"]', timeout=60_000)
    return ctx, page, errors


def _wait_for_version(page, number: int) -> None:
    page.wait_for_selector(f'.rederive[data-state="done"][data-version="{number}"]', timeout=120_000)


def _gadget_rows(browser, server: AdminServer, process: str) -> list[tuple[str, str]]:
    ctx = browser.new_context(viewport={"width": 900, "height": 900})
    try:
        page = ctx.new_page()
        page.goto(f"{server.url}/gadgets/unmapped?process={process}&share={server.share}")
        page.wait_for_selector('body[data-ready="true"]', timeout=30_000)
        return [
            (tr.get_attribute("data-from"), tr.get_attribute("data-to"))
            for tr in page.locator('section[data-gadget="unmapped"] tbody tr').all()
        ]
    finally:
        ctx.close()


def test_map_preview_publish_see_the_gadgets_change_and_roll_back(
    browser, admin_server: AdminServer, screenshot_dir
) -> None:
    ctx, page, errors = _signed_in(browser, admin_server)
    try:
        _wait_for_version(page, 1)
        # Teams and statuses: Jira's statuses, the one nobody owns highlighted
        page.wait_for_selector('table.statuses tr[data-status="Code Review"]')
        assert page.locator("table.statuses tr.unassigned").evaluate_all(
            "rows => rows.map(r => r.dataset.status)"
        ) == ["Code Review"]
        assert page.input_value('tr[data-status="In QA"] select[name=owner]') == "qa:active"
        assert page.locator('[data-valid="true"]').count() == 1
        # the hand-off map is drawn, unmapped hand-offs dashed with their counts
        assert page.locator("svg.handoff-graph g.node").count() == 5
        assert page.locator("svg.handoff-graph g.edge.unmapped").count() >= 1
        save_screenshot(page, screenshot_dir, "admin")

        # the unmapped hand-off to map: the first the gadget shows too
        row = page.locator('table.unmapped-list tbody tr:has(button[data-action="make-routine"])').first
        process, requester, provider = (
            row.get_attribute(a) for a in ("data-process", "data-requester", "data-provider")
        )
        before = _gadget_rows(browser, admin_server, process)
        assert (requester, provider) in before
        row.locator('button[data-action="make-routine"]').click()
        selector = f'table.unmapped-list tr.routine[data-process="{process}"][data-requester="{requester}"][data-provider="{provider}"]'
        page.wait_for_selector(selector)
        assert (
            page.locator(
                f'svg.handoff-graph g.edge.routine[data-process="{process}"][data-from="{requester}"][data-to="{provider}"]'
            ).count()
            == 1
        )
        assert f"{{from: {requester}, to: {provider}}}" in page.input_value("textarea[name=draft]") or (
            f", {provider}]" in page.input_value("textarea[name=draft]")
        )

        # the preview shows the hand-off becoming routine and what it does to the numbers
        page.click('button[data-action="preview"]')
        page.wait_for_selector("table.preview tbody tr", timeout=60_000)
        assert (
            page.locator(f'.mapped li[data-requester="{requester}"][data-provider="{provider}"]').count() >= 1
        )
        assert int(page.get_attribute('[data-field="changed_total"]', "data-value")) > 0
        assert page.locator("table.preview tr.changed").count() >= 1

        # publish: version 2; once re-derived, the gadget no longer lists the pair
        page.fill("input[name=comment]", f"make {requester} -> {provider} routine in {process}")
        page.click('button[data-action="publish"]')
        page.wait_for_selector('tr[data-version="2"]')
        _wait_for_version(page, 2)
        after = _gadget_rows(browser, admin_server, process)
        assert (requester, provider) not in after
        assert set(after) < set(before)

        # roll back to version 1: version 3, and the gadget lists the pair again
        page.click('tr[data-version="1"] button[data-action="rollback"]')
        page.wait_for_selector('tr[data-version="3"].live')
        _wait_for_version(page, 3)
        assert _gadget_rows(browser, admin_server, process) == before
        assert page.input_value("textarea[name=draft]") == DEMO_CONFIG.read_text()
        assert not errors, errors
    finally:
        ctx.close()


def test_a_second_admin_publishing_from_the_same_version_gets_a_conflict_and_keeps_the_draft(
    browser, admin_server: AdminServer
) -> None:
    first, page_a, errors_a = _signed_in(browser, admin_server)
    second, page_b, errors_b = _signed_in(browser, admin_server)
    try:
        for page in (page_a, page_b):
            page.wait_for_selector('[data-valid="true"]')
        draft_a = page_a.input_value("textarea[name=draft]").replace("at_risk: 0.8", "at_risk: 0.85")
        draft_b = page_b.input_value("textarea[name=draft]").replace("reopen_window: 7d", "reopen_window: 5d")
        for page, draft in ((page_a, draft_a), (page_b, draft_b)):
            page.fill("textarea[name=draft]", draft)
            page.wait_for_selector('[data-valid="true"]')
        live = int(page_a.locator("tr.live").get_attribute("data-version"))
        page_a.click('button[data-action="publish"]')
        page_a.wait_for_selector(f'tr[data-version="{live + 1}"].live')
        page_b.click('button[data-action="publish"]')
        page_b.wait_for_selector(".conflict")
        assert page_b.get_attribute(".conflict", "data-latest") == str(live + 1)
        assert page_b.input_value("textarea[name=draft]") == draft_b  # nothing lost
        page_b.click('button[data-action="rebase"]')
        page_b.click('button[data-action="publish"]')
        page_b.wait_for_selector(f'tr[data-version="{live + 2}"].live')
        assert not errors_a and not errors_b, errors_a + errors_b
    finally:
        first.close()
        second.close()


BRIDGE = """
(() => {
  const cfg = %s;
  window.__bridge = {
    callBridge: async (name, payload) => {
      if (name === 'getContext') return cfg.context;
      if (name === 'enableTheming') return undefined;
      if (name === 'invoke') {
        const init = { method: payload.method, headers: { Authorization: 'Bearer ' + cfg.token, ...(payload.headers || {}) } };
        if (payload.body !== undefined) init.body = JSON.stringify(payload.body);
        const res = await fetch(payload.path, init);
        const body = await res.json().catch(() => ({}));
        return res.ok ? { success: true, payload: { status: res.status, headers: {}, body } }
                      : { success: false, error: { status: res.status, headers: {}, body } };
      }
      return undefined;
    },
  };
})();
"""


@pytest.mark.parametrize(
    ("module", "account", "expected", "hint"),
    [
        ({"type": "jira:adminPage", "key": "baton-admin"}, None, None, None),
        (
            {"type": "jira:dashboardGadget", "key": "baton-scorecard"},
            None,
            "403",
            "Open Baton's page under Jira settings > Apps (Jira administrators only).",
        ),
        (  # no Jira administrator
            {"type": "jira:adminPage", "key": "baton-admin"},
            "dev-user",
            "403",
            "Ask a Jira administrator to grant it (Jira settings > System > Global permissions), or to make "
            "the change.",
        ),
    ],
)
def test_the_jira_admin_page_through_forge(
    browser, admin_server: AdminServer, module: dict, account: str | None, expected, hint
) -> None:
    now = int(time.time())
    token = admin_server.jwks.token(
        exp=now + 300,
        app={"id": APP_ID, "installationId": SITE_MAP.split("=")[0], "module": module},
        context={"cloudId": "11111111-aaaa-4aaa-8aaa-111111111111", "extension": {"type": module["type"]}},
        **({"principal": account} if account else {}),
    )
    context = {"moduleKey": "baton-admin", "extension": {"type": "jira:adminPage"}}
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = ctx.new_page()
        page.add_init_script(BRIDGE % json.dumps({"context": context, "token": token}))
        page.goto(f"{admin_server.url}/gadgets/matrix")  # Forge serves dist/index.html whatever the path
        page.wait_for_selector("body[data-ready]", timeout=60_000)
        if expected is None:
            assert page.get_attribute("body", "data-ready") == "true"
            assert "Jira administrator" in page.inner_text("header")
            assert page.locator('[data-valid="true"]').count() == 1
        else:
            assert page.get_attribute("body", "data-ready") == "error"
            assert page.get_attribute(".admin-denied", "data-error") == expected
            assert "only Jira administrators" in page.inner_text(".admin-denied")
            assert hint in page.inner_text(".admin-denied")  # what to do about it, from the error's hint
    finally:
        ctx.close()
