"""The Hand-offs issue panel (`jira:issuePanel` `baton-handoffs`) in real Chromium inside a stand-in of
Forge's bridge, against real gunicorn with locally signed Forge Invocation Tokens: the issue's chain,
and a member of the judging team accepting with stars (keyboard), sending back with a reason, and a
verdict refused after the acceptance window (the engine's 409 message shown in the panel).

The worked example (docs/semantics.md) is seeded with the delivery configuration whose teams list
their members by account. One server's clock stands inside every acceptance window; a second one,
over the same database, stands after them: the refusal test opens the panel on the first and sends
its verdict to the second, as when a panel is left open past the deadline."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy.orm import Session

from tests.browser.conftest import save_screenshot
from tests.browser.serving import SECRET, gunicorn, trusted_jwks
from tests.browser.test_gadgets import assert_accessible
from tests.integration.api.forge_support import Jwks

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

ROOT = Path(__file__).resolve().parents[2]
ISSUE = "PROJ-1"
INSIDE = datetime(2026, 3, 5, 9, 0, tzinfo=UTC)  # every delivery of PROJ-1 awaits its verdict
AFTER = datetime(2026, 4, 30, 9, 0, tzinfo=UTC)  # every acceptance window has ended
MEMBERS = {"qa": "qa-lead", "ops": "ops-lead", "pm": "pm-lead"}

BRIDGE = """
(() => {
  const cfg = %s;
  window.__bridge = {
    callBridge: async (name, payload) => {
      if (name === 'getContext') return cfg.context;
      if (name === 'enableTheming') return undefined;
      if (name === 'invoke') {
        const headers = { ...(payload.headers ?? {}), Authorization: 'Bearer ' + cfg.token };
        const body = payload.body === undefined ? undefined : JSON.stringify(payload.body);
        const res = await fetch(payload.path, { method: payload.method, headers, body });
        const answer = await res.json();
        return res.ok ? { success: true, payload: { status: res.status, headers: {}, body: answer } }
                      : { success: false, error: { status: res.status, headers: {}, body: answer } };
      }
      return undefined;
    },
  };
})();
"""


@dataclass
class Panel:
    inside: str
    after: str
    share: str
    jwks: Jwks

    def token(self, account: str) -> str:
        return self.jwks.token(exp=int(time.time()) + 300, principal=account)

    def chain(self, account: str, base: str | None = None) -> dict[str, Any]:
        resp = requests.get(
            f"{base or self.inside}/api/v1/issues/{ISSUE}/handoffs",
            headers={"Authorization": f"Bearer {self.token(account)}"},
            timeout=30,
        )
        resp.raise_for_status()
        return resp.json()  # type: ignore[no-any-return]


def _config(tmp: Path, satisfaction: bool = False) -> Path:
    text = (ROOT / "config" / "examples" / "delivery.yaml").read_text()
    if satisfaction:  # the customers' ratings weighted into the score
        old = "weights: {timeliness: 0.5, quality: 0.5}"
        assert old in text
        text = text.replace(old, "weights: {timeliness: 0.4, quality: 0.4, satisfaction: 0.2}")
    for team, account in MEMBERS.items():
        text, n = re.subn(
            rf"(\n  {team}:[^\n]*\n    calendar: berlin\n)",
            rf"\1    members: [{{account: {account}}}]\n",
            text,
        )
        assert n == 1, team
    path = tmp / "pmo.yaml"
    path.write_text(text)
    return path


def _seed(tmp: Path, config_path: Path) -> str:
    """The worked example in a fresh SQLite database of site `acme`; returns its URL."""
    from baton.config.loader import load_config
    from baton.scoring.model import Extraction
    from baton.store.db import create_engine_for, upgrade_database
    from baton.store.inbox import ensure_site
    from baton.store.pipeline import ingest_extractions
    from tests.unit.oracle.worked_example import FACTS, TRANSITIONS

    url = f"sqlite:///{tmp}/baton.db"
    upgrade_database(url)
    engine = create_engine_for(url)
    try:
        with Session(engine) as session:
            ensure_site(session, "acme", name="Acme", base_url="https://acme.atlassian.net")
            ingest_extractions(
                session,
                "acme",
                [Extraction("backfill", tuple(TRANSITIONS), FACTS)],
                "backfill",
                load_config(config_path),
            )
            session.commit()
    finally:
        engine.dispose()
    return url


@pytest.fixture(scope="module")
def forge_jwks() -> Iterator[Jwks]:
    with trusted_jwks() as jwks:
        yield jwks


@pytest.fixture(scope="module")
def panel(tmp_path_factory: pytest.TempPathFactory, forge_jwks: Jwks) -> Iterator[Panel]:
    from baton.webhooks.http.auth import make_share_token

    tmp = tmp_path_factory.mktemp("panel")
    config_path = _config(tmp)
    url = _seed(tmp, config_path)
    with (
        gunicorn(tmp, url, config_path, INSIDE, forge_jwks) as inside,
        gunicorn(tmp, url, config_path, AFTER, forge_jwks) as after,
    ):
        yield Panel(inside, after, make_share_token(SECRET.encode(), "acme", 3600), forge_jwks)


def _open(browser: Any, panel: Panel, account: str, post_to: str | None = None) -> tuple[Any, Any, list[str]]:
    # bypass_csp: axe-core is injected as an inline script (the page's CSP allows 'self' only)
    ctx = browser.new_context(viewport={"width": 700, "height": 1200}, bypass_csp=True)
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    context = {
        "moduleKey": "baton-handoffs",
        "extension": {"type": "jira:issuePanel", "issue": {"key": ISSUE}},
    }
    page.add_init_script(BRIDGE % json.dumps({"context": context, "token": panel.token(account)}))
    if post_to:  # the verdict reaches a server whose clock is past the window
        page.route(
            "**/api/v1/verdicts",
            lambda route: route.fulfill(response=route.fetch(url=f"{post_to}/api/v1/verdicts")),
        )
    page.goto(f"{panel.inside}/gadgets/matrix")  # Forge serves dist/index.html; the path does not matter
    page.wait_for_selector('body[data-ready="true"]', timeout=30_000)
    return ctx, page, errors


def _value(locator: Any, field: str) -> Any:
    return json.loads(locator.locator(f'[data-field="{field}"]').first.get_attribute("data-value"))


def _judged(page: Any, team: str) -> Any:
    """The one delivery this team may judge now (its entry has the verdict form)."""
    entries = page.locator(f'li.handoff[data-customer="{team}"]:has(.verdict-form)')
    assert entries.count() == 1
    return entries


def test_chain_and_accept_with_stars_by_keyboard(
    browser: Any, panel: Panel, axe_source: str, screenshot_dir: Path
) -> None:
    before = panel.chain("qa-lead")
    ctx, page, errors = _open(browser, panel, "qa-lead")
    try:
        items = page.locator("li.handoff")
        assert items.count() == len(before["handoffs"]) == 5
        for i, row in enumerate(before["handoffs"]):
            item = items.nth(i)
            assert item.get_attribute("data-provider") == row["provider"]
            assert _value(item, "outcome") == row["outcome"]
            assert _value(item, "response_elapsed_s") == row["response_elapsed_s"]
            assert _value(item, "resolution_elapsed_s") == row["resolution_elapsed_s"]
        assert page.locator(".verdict-form").count() == 1  # qa-lead judges for qa only
        entry = _judged(page, "qa")
        index = int(entry.get_attribute("data-index"))
        row = before["handoffs"][index]
        assert (row["provider"], row["awaiting_verdict"], row["may_judge"]) == ("dev", True, True)
        assert _value(entry, "deadline") == row["verdict_due_at"] == "2026-03-17T15:00:00+00:00"

        # the verdict form included: no violation of any impact
        assert assert_accessible(page, axe_source, "handoffs-panel") == []
        first = entry.locator("input.star-input").first
        first.focus()
        for _ in range(3):
            page.keyboard.press("ArrowRight")  # radios: the arrow keys move the choice
        assert entry.locator("input.star-input:checked").get_attribute("value") == "4"
        entry.locator("form.verdict-accept textarea").fill("clean hand-off")
        save_screenshot(page, screenshot_dir, "handoffs-panel")
        entry.locator("form.verdict-accept button[type=submit]").click()
        page.wait_for_selector('[data-status="recorded"]')

        after = panel.chain("qa-lead")["handoffs"][index]
        assert (after["verdict"], after["rating"], after["verdict_by"]) == ("accepted", 4, "qa-lead")
        shown = page.locator("li.handoff").nth(index)
        assert _value(shown, "verdict") == "accepted"
        assert _value(shown, "rating") == 4
        assert shown.locator(".verdict-form").count() == 0  # judged: nothing awaits qa any more
        assert not errors, errors
    finally:
        ctx.close()


def test_send_back_with_a_reason(browser: Any, panel: Panel) -> None:
    ctx, page, errors = _open(browser, panel, "ops-lead")
    try:
        entry = _judged(page, "ops")
        index = int(entry.get_attribute("data-index"))
        reasons = entry.locator("select[name=reason] option").evaluate_all("els => els.map(e => e.value)")
        assert reasons == ["incomplete", "defects", "undocumented"]
        entry.locator("select[name=reason]").select_option("defects")
        entry.locator("form.verdict-reject textarea").fill("two failing smoke tests")
        entry.locator("form.verdict-reject button[type=submit]").click()
        page.wait_for_selector('[data-status="recorded"]')

        after = panel.chain("ops-lead")["handoffs"][index]
        assert (after["provider"], after["verdict"], after["verdict_reason"], after["rejected"]) == (
            "qa",
            "rejected",
            "defects",
            True,
        )
        shown = page.locator("li.handoff").nth(index)
        assert _value(shown, "verdict") == "rejected"
        assert _value(shown, "verdict_reason") == "defects"
        assert shown.locator(".verdict-form").count() == 0
        assert not errors, errors
    finally:
        ctx.close()


def test_a_verdict_after_the_window_shows_the_engines_refusal(browser: Any, panel: Panel) -> None:
    ctx, page, errors = _open(browser, panel, "pm-lead", post_to=panel.after)
    try:
        entry = _judged(page, "pm")
        index = int(entry.get_attribute("data-index"))
        entry.locator("label.star").nth(4).click()  # five stars, by mouse this time
        entry.locator("form.verdict-accept button[type=submit]").click()
        alert = entry.locator(".verdict-status[data-error]")
        alert.wait_for()
        assert alert.get_attribute("data-error") == "verdict_refused"
        refused = requests.post(
            f"{panel.after}/api/v1/verdicts",
            json={"issue": ISSUE, "team": "pm", "action": "accept", "rating": 5},
            headers={"Authorization": f"Bearer {panel.token('pm-lead')}"},
            timeout=30,
        )
        assert refused.status_code == 409
        message = refused.json()["message"]
        assert "window" in message
        assert alert.inner_text() == message
        assert alert.get_attribute("role") == "alert"
        # nothing was recorded: the delivery still awaits pm's verdict on the first server
        row = panel.chain("pm-lead")["handoffs"][index]
        assert (row["verdict"], row["awaiting_verdict"]) == (None, True)
        assert entry.locator(".verdict-form").count() == 1  # the form stays, with the message
        assert not errors, errors
    finally:
        ctx.close()


SCORED_NOW = datetime(2026, 3, 6, 12, 0, tzinfo=UTC)  # Friday of the worked example's week


def _verdict(url: str, config_path: Path, *args: str) -> dict[str, Any]:
    """`baton verdict ... --format json` (the operators' CLI, with database access)."""
    from click.testing import CliRunner

    from baton.webhooks.cli import main

    result = CliRunner().invoke(
        main,
        [
            "verdict",
            ISSUE,
            *args,
            "--format",
            "json",
            "--db",
            url,
            "--config",
            str(config_path),
            "--site",
            "acme",
        ],
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def test_scorecard_shows_weighted_satisfaction_and_top_reasons(
    browser: Any, panel: Panel, forge_jwks: Jwks, tmp_path_factory: pytest.TempPathFactory
) -> None:
    from baton.webhooks.http.auth import make_share_token

    tmp = tmp_path_factory.mktemp("scored")
    config_path = _config(tmp, satisfaction=True)
    url = _seed(tmp, config_path)
    _verdict(
        url,
        config_path,
        "--team",
        "qa",
        "--by",
        "qa-lead",
        "--accept",
        "--rating",
        "4",
        "--at",
        "2026-03-04T09:00:00+00:00",
    )
    _verdict(
        url,
        config_path,
        "--team",
        "ops",
        "--by",
        "ops-lead",
        "--reject",
        "--reason",
        "defects",
        "--at",
        "2026-03-06T08:00:00+00:00",
    )
    share = make_share_token(SECRET.encode(), "acme", 3600)
    with gunicorn(tmp, url, config_path, SCORED_NOW, forge_jwks) as base:

        def card(team: str) -> dict[str, Any]:
            resp = requests.get(
                f"{base}/api/v1/scorecards?team={team}&period=week",
                headers={"X-Baton-Share": share},
                timeout=30,
            )
            resp.raise_for_status()
            return resp.json()["scorecards"][0]  # type: ignore[no-any-return]

        dev, qa = card("dev"), card("qa")
        assert dev["current"]["satisfaction"] == 0.8  # one delivery rated 4 of 5
        assert qa["reasons"] == [{"reason": "defects", "count": 1}]
        assert dev["reasons"] == []
        ctx = browser.new_context(viewport={"width": 400, "height": 900})
        try:
            page = ctx.new_page()
            page.goto(f"{base}/gadgets/scorecard?team=dev&share={share}")
            page.wait_for_selector('body[data-ready="true"]', timeout=30_000)
            shown = page.locator('[data-team="dev"] [data-field="satisfaction"]')
            assert json.loads(shown.get_attribute("data-value")) == 0.8
            assert shown.inner_text() == "80.00%"
            assert (
                json.loads(page.locator('[data-team="dev"] [data-field="score"]').get_attribute("data-value"))
                == (dev["current"]["score"])
            )
            assert page.locator('[data-section="reasons"]').count() == 0
            page.goto(f"{base}/gadgets/scorecard?team=qa&share={share}")
            page.wait_for_selector('body[data-ready="true"]', timeout=30_000)
            chips = page.locator('[data-team="qa"] [data-section="reasons"] [data-reason]')
            assert chips.count() == 1 and chips.get_attribute("data-reason") == "defects"
            assert json.loads(chips.locator("[data-field=count]").get_attribute("data-value")) == 1
            # without scoring.weights.satisfaction the scorecard has no satisfaction
            page.goto(f"{panel.inside}/gadgets/scorecard?team=dev&share={panel.share}")
            page.wait_for_selector('body[data-ready="true"]', timeout=30_000)
            assert page.locator('[data-field="satisfaction"]').count() == 0
            assert page.locator('[data-team="dev"] [data-field="score"]').count() == 1
        finally:
            ctx.close()
