"""The gadgets in headless Chromium against real gunicorn: numbers on screen equal the JSON API
(same rounding, no recomputation), 300 px and 900 px fit without horizontal overflow, light and dark
themes, click-through from the matrix, links to Jira; screenshots saved."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from baton.webhooks.http.gadget_registry import GADGET_NAMES
from tests.browser.conftest import Server, save_screenshot
from tests.integration.api.seeding import UNMATCHED_A

# one worker, one gunicorn and one Chromium for the whole module (under `pytest -n --dist loadgroup`)
pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

WIDTHS = (300, 900)
THEMES = ("light", "dark")
DASH = "—"


def pct(v: float | None) -> str:
    return DASH if v is None else f"{v * 100:.2f}%"


def score(v: float | None) -> str:
    return DASH if v is None else f"{v:.1f}"


def _open(browser, server: Server, path: str, width: int, scheme: str, **params: str):
    """`scheme`: the browser's prefers-color-scheme; `params`: the page's query (e.g. theme=dark)."""
    context = browser.new_context(
        viewport={"width": width, "height": 900}, color_scheme=scheme, device_scale_factor=1
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(server.page_url(path, **params))
    page.wait_for_selector('body[data-ready="true"]', timeout=30_000)
    page.wait_for_timeout(150)  # let Chart.js paint
    return context, page, errors


def _fields(scope) -> list[dict]:
    return scope.locator("[data-field][data-value]").evaluate_all(
        "els => els.map(e => ({field: e.dataset.field, value: JSON.parse(e.dataset.value), text: e.textContent.trim()}))",
    )


def _field(scope, name: str) -> dict:
    (found,) = [f for f in _fields(scope) if f["field"] == name]
    return found


def _assert_fits(page, width: int) -> None:
    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"horizontal overflow of {overflow}px at {width}px"
    assert page.evaluate("() => window.innerWidth") == width


def _assert_theme(page, theme: str) -> None:
    bg = page.evaluate("() => getComputedStyle(document.body).backgroundColor")
    rgb = [int(x) for x in bg[bg.index("(") + 1 : bg.index(")")].split(",")[:3]]
    assert (sum(rgb) / 3 < 128) == (theme == "dark"), (theme, bg)


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("theme", THEMES)
def test_scorecard(browser, server: Server, screenshot_dir: Path, width: int, theme: str) -> None:
    api = server.api("/scorecards?team=dev&period=week&weeks=12")
    (card,) = api["scorecards"]
    current = card["current"]
    assert current is not None
    context, page, errors = _open(browser, server, "/gadgets/scorecard", width, theme, team="dev")
    try:
        team = page.locator('[data-team="dev"]')
        assert team.count() == 1
        expected_text = {
            "score": score(current["score"]),
            "timeliness": pct(current["timeliness"]),
            "response_timeliness": pct(current["response_timeliness"]),
            "quality": pct(current["quality"]),
            "open_at_risk": str(current["open_at_risk"]),
            "open_breached": str(current["open_breached"]),
            "resolved": str(current["resolved"]),
        }
        for name, text in expected_text.items():
            got = _field(team, name)
            assert got["value"] == current[name], name
            assert got["text"] == text, name
        trend = page.eval_on_selector_all(
            "[data-field=trend] li",
            "els => els.map(e => ({period: e.dataset.period, value: JSON.parse(e.querySelector('[data-value]').dataset.value)}))",
        )
        by_period = {r["period"]: r["score"] for r in card["trend"]}
        assert [t["period"] for t in trend] == api["periods"] and len(trend) == 12
        assert [t["value"] for t in trend] == [by_period.get(p) for p in api["periods"]]
        box = page.locator("canvas").bounding_box()
        assert box is not None and box["width"] > 100 and box["height"] > 50
        _assert_fits(page, width)
        _assert_theme(page, theme)
        save_screenshot(page, screenshot_dir, f"scorecard-{width}-{theme}")
        if width == 900 and theme == "light":
            save_screenshot(page, screenshot_dir, "scorecard")
        assert not errors, errors
    finally:
        context.close()


def test_scorecard_configuration_changes_team_and_period(browser, server: Server) -> None:
    context, page, _ = _open(browser, server, "/gadgets/scorecard", 600, "light", team="dev")
    try:
        page.select_option("select[name=team]", "qa")
        page.wait_for_selector('[data-team="qa"]')
        page.select_option("select[name=period]", "month")
        page.wait_for_selector('[data-field=trend] li[data-period="2026-03"]', state="attached")
        api = server.api("/scorecards?team=qa&period=month&weeks=12")
        current = api["scorecards"][0]["current"]
        assert _field(page.locator('[data-team="qa"]'), "score")["value"] == current["score"]
        assert "team=qa" in page.url and "period=month" in page.url
    finally:
        context.close()


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("theme", THEMES)
def test_matrix(browser, server: Server, screenshot_dir: Path, width: int, theme: str) -> None:
    api = server.api("/handoffs/matrix")
    context, page, errors = _open(browser, server, "/gadgets/matrix", width, theme)
    try:
        assert page.locator("td.cell").count() == len(api["cells"])
        for cell in api["cells"]:
            td = page.locator(f'td[data-requester="{cell["requester"]}"][data-provider="{cell["provider"]}"]')
            for name, text in (
                ("timeliness", pct(cell["timeliness"])),
                ("rejection_rate", pct(cell["rejection_rate"])),
                ("requests", str(cell["requests"])),
            ):
                got = _field(td, name)
                assert got["value"] == cell[name] and got["text"] == text, (cell, name)
        _assert_fits(page, width)
        _assert_theme(page, theme)
        # click-through: a cell lists its issues with links into Jira
        busiest = max(api["cells"], key=lambda c: c["requests"])
        page.locator(
            f'td[data-requester="{busiest["requester"]}"][data-provider="{busiest["provider"]}"] button'
        ).click()
        page.wait_for_selector("[data-field=pair-count]")
        pair = server.api(
            f"/requests?requester={busiest['requester']}&provider={busiest['provider']}&limit=50"
        )
        assert _field(page, "pair-count")["value"] == pair["count"]
        links = page.eval_on_selector_all(".detail li a", "els => els.map(a => [a.textContent, a.href])")
        assert links == [[r["issue"], r["issue_url"]] for r in pair["requests"]]
        jql = page.locator(".detail a.jql-link").get_attribute("href")
        assert jql.startswith("https://acme.atlassian.net/issues/?jql=key%20in%20(")
        _assert_fits(page, width)
        save_screenshot(page, screenshot_dir, f"matrix-{width}-{theme}")
        if width == 900 and theme == "light":
            save_screenshot(page, screenshot_dir, "matrix")
        assert not errors, errors
    finally:
        context.close()


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("theme", THEMES)
def test_at_risk(browser, server: Server, screenshot_dir: Path, width: int, theme: str) -> None:
    api = server.api("/requests?state=at_risk,breached&open=1")
    assert api["count"] > 0
    context, page, errors = _open(browser, server, "/gadgets/at-risk", width, theme)
    try:
        assert _field(page, "count")["value"] == api["count"]
        items = page.locator("li.risk")
        assert items.count() == len(api["requests"])
        for i, req in enumerate(api["requests"]):
            item = items.nth(i)
            assert item.get_attribute("data-issue") == req["issue"]
            link = item.locator("a.issue-key")
            assert link.get_attribute("href") == req["issue_url"] and link.inner_text() == req["issue"]
            assert link.get_attribute("rel") == "noopener noreferrer"
            assert item.locator("[data-field=provider]").inner_text() == req["provider"]
            assert _field(item, "remaining_s")["value"] == req["remaining_s"]
            assert (
                json.loads(item.locator("[data-field=due_at]").get_attribute("data-value")) == req["due_at"]
            )
            assert f"state-{req['state']}" in (item.get_attribute("class") or "")
        _assert_fits(page, width)
        _assert_theme(page, theme)
        save_screenshot(page, screenshot_dir, f"at-risk-{width}-{theme}")
        if width == 900 and theme == "light":
            save_screenshot(page, screenshot_dir, "at-risk")
        assert not errors, errors
    finally:
        context.close()


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("theme", THEMES)
def test_unmapped(browser, server: Server, screenshot_dir: Path, width: int, theme: str) -> None:
    api = server.api("/handoffs/unmapped")
    assert api["rows"]
    context, page, errors = _open(browser, server, "/gadgets/unmapped", width, theme)
    try:
        rows = page.locator("table[data-report=unmapped] tbody tr")
        assert rows.count() == len(api["rows"])
        for i, row in enumerate(api["rows"]):
            tr = rows.nth(i)
            assert tr.get_attribute("data-from") == (row["requester"] or "")
            assert tr.get_attribute("data-to") == (row["provider"] or "")
            got = _field(tr, "count")
            assert got["value"] == row["count"] and got["text"] == str(row["count"])
            assert row["from_status"] in tr.inner_text() and row["to_status"] in tr.inner_text()
        # issues that match no process (seeded: DevLake's K5 issues, one without fields.project)
        assert api["unmatched_issues"] == UNMATCHED_A
        section = page.locator("[data-section=unmatched]")
        assert _field(section, "unmatched_total")["value"] == 3
        unmatched = section.locator("tbody tr")
        assert unmatched.count() == len(UNMATCHED_A["rows"])
        for i, row in enumerate(UNMATCHED_A["rows"]):
            tr = unmatched.nth(i)
            assert tr.get_attribute("data-project") == (row["project"] or "")
            assert tr.get_attribute("data-type") == row["issue_type"]
            assert tr.get_attribute("data-reason") == row["reason"]
            assert _field(tr, "count")["value"] == row["count"]
            assert ", ".join(row["examples"]) in tr.inner_text()
        assert (
            "(no project) / Epic" in section.inner_text() and "no project in the data" in section.inner_text()
        )
        _assert_fits(page, width)
        _assert_theme(page, theme)
        save_screenshot(page, screenshot_dir, f"unmapped-{width}-{theme}")
        if width == 900 and theme == "light":
            save_screenshot(page, screenshot_dir, "unmapped")
        assert not errors, errors
    finally:
        context.close()


def test_jira_theme_attribute_wins_over_the_browser(browser, server: Server) -> None:
    """Jira (Forge `view.theme.enable()`) sets data-color-mode on <html>; `?theme=` does the same for DC."""
    context, page, _ = _open(browser, server, "/gadgets/unmapped", 400, "light", theme="dark")
    try:
        _assert_theme(page, "dark")
        page.evaluate("() => document.documentElement.setAttribute('data-color-mode', 'light')")
        _assert_theme(page, "light")
    finally:
        context.close()


@pytest.mark.parametrize("width", WIDTHS)
def test_standalone_view_shows_every_registered_gadget(
    browser, server: Server, screenshot_dir: Path, width: int
) -> None:
    context, page, errors = _open(browser, server, "/", width, "light")
    try:
        names = page.eval_on_selector_all("section.gadget", "els => els.map(e => e.dataset.gadget)")
        assert names == list(GADGET_NAMES)
        assert page.locator("[data-error]").count() == 0
        _assert_fits(page, width)
        save_screenshot(page, screenshot_dir, f"standalone-{width}")
        assert not errors, errors
    finally:
        context.close()


def test_without_credentials_the_page_says_what_to_do(browser, server: Server) -> None:
    context = browser.new_context(viewport={"width": 600, "height": 600})
    try:
        page = context.new_page()
        page.goto(f"{server.url}/gadgets/scorecard")
        page.wait_for_selector('body[data-ready="true"]')
        assert page.locator('[data-error="401"]').count() == 1
        assert "share link" in page.inner_text("body")
    finally:
        context.close()
