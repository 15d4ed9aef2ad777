"""The team overview gadget, the scorecard's worst-team default, the explanations (popovers, legend,
as-of and time zone), sticky headers, chips that filter and the keyboard, in headless Chromium."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser.conftest import Server, save_screenshot
from tests.browser.test_gadgets import (
    THEMES,
    _assert_fits,
    _assert_theme,
    _field,
    _open,
    assert_accessible,
    cli,
    pct,
    score,
)

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


@pytest.mark.parametrize("width", (300, 400, 1280))
@pytest.mark.parametrize("theme", THEMES)
def test_overview(
    browser, server: Server, screenshot_dir: Path, axe_source: str, width: int, theme: str
) -> None:
    api = server.api("/overview?period=week")
    context, page, errors = _open(browser, server, "/gadgets/overview", width, theme)
    try:
        rows = page.locator("tr[data-team]")
        assert [rows.nth(i).get_attribute("data-team") for i in range(rows.count())] == [
            t["team"] for t in api["teams"]
        ]
        for t in api["teams"]:
            tr = page.locator(f'tr[data-team="{t["team"]}"]')
            for name, text in (
                ("score", score(t["score"])),
                ("timeliness", pct(t["timeliness"])),
                ("response_timeliness", pct(t["response_timeliness"])),
                ("quality", pct(t["quality"])),
                ("resolved", str(t["resolved"])),
            ):
                got = _field(tr, name)
                assert got["value"] == t[name] and got["text"] == text, (t["team"], name)
            assert _field(tr, "score_change")["value"] == t["score_change"]
            assert tr.get_attribute("data-small-sample") == ("true" if t["small_sample"] else "false")
            assert ("small-sample" in (tr.get_attribute("class") or "")) == t["small_sample"]
        # `baton score --rank` prints the same ranking and numbers
        ranked = cli("score", "--rank", "--period", "week", server=server)
        assert [r["team"] for r in ranked] == [t["team"] for t in api["teams"]]  # type: ignore[index]
        for r in ranked:  # type: ignore[union-attr]
            tr = page.locator(f'tr[data-team="{r["team"]}"]')
            assert (_field(tr, "score")["value"], _field(tr, "timeliness")["value"]) == (
                r["score"],
                r["timeliness"],
            )
        # the demo's week: ops is failing and is first, ahead of the small samples
        assert (api["teams"][0]["team"], api["teams"][0]["small_sample"]) == ("ops", False)
        assert (
            "2026-W12" in _field(page, "as-of")["text"] and "Europe/Berlin" in _field(page, "as-of")["text"]
        )
        _assert_fits(page, width)
        _assert_theme(page, theme)
        assert_accessible(page, axe_source, f"overview-{width}-{theme}")
        save_screenshot(page, screenshot_dir, f"overview-{width}-{theme}")
        if width == 1280 and theme == "light":
            save_screenshot(page, screenshot_dir, "overview")
        # clicking a team opens its scorecard; Esc closes it and the focus returns to the team
        worst = api["teams"][0]
        page.locator(f'tr[data-team="{worst["team"]}"] button.team-btn').click()
        card = page.locator(f'[data-field=team-detail] [data-team="{worst["team"]}"]')
        card.wait_for()
        assert _field(card, "score")["value"] == worst["score"]
        assert _field(card, "timeliness")["value"] == worst["timeliness"]
        _assert_fits(page, width)
        page.keyboard.press("Escape")
        assert page.locator("[data-field=team-detail] [data-team]").count() == 0
        assert page.evaluate("() => document.activeElement.classList.contains('team-btn')")
        assert not errors, errors
    finally:
        context.close()


def test_the_scorecard_without_a_team_opens_on_the_worst_team(browser, server: Server) -> None:
    worst = server.api("/overview?period=week")["teams"][0]["team"]
    assert worst != server.api("/teams")["teams"][0]  # not the first team of the configuration
    context, page, errors = _open(browser, server, "/gadgets/scorecard", 400, "light")
    try:
        assert page.locator(f'[data-team="{worst}"]').count() == 1
        assert _field(page, "worst-team")["value"] == worst
        assert page.locator("select[name=team]").input_value() == ""  # "Worst team"
        assert not errors, errors
    finally:
        context.close()


def test_a_popover_explains_a_number_and_esc_closes_it(browser, server: Server) -> None:
    context, page, errors = _open(browser, server, "/gadgets/scorecard", 400, "dark", team="qa")
    try:
        button = page.get_by_role("button", name="About Timeliness")
        button.focus()
        page.keyboard.press("Enter")
        popover = page.locator('[data-explain="timeliness"]')
        popover.wait_for(state="visible")
        assert page.evaluate(
            "() => document.querySelector('[data-explain=timeliness]').matches(':popover-open')"
        )
        text = popover.inner_text()
        for part in ("What", "Period", "Formula", "Goal", "2026-W12", "Europe/Berlin", "met ÷ resolved"):
            assert part in text, part
        # qa's goals from the configuration: delivery 16h
        assert "delivery: 16h" in popover.locator("[data-part=goal]").inner_text()
        box = popover.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 400
        _assert_fits(page, 400)
        page.keyboard.press("Escape")
        popover.wait_for(state="hidden")
        assert page.evaluate("() => document.activeElement.getAttribute('aria-label')") == "About Timeliness"
        score_help = page.get_by_role("button", name="About Score")
        score_help.click()
        formula = page.locator('[data-explain="score"] [data-part=formula]').inner_text()
        assert "0.5 × timeliness + 0.5 × quality" in formula
        assert not errors, errors
    finally:
        context.close()


def test_matrix_headers_stay_when_the_table_scrolls(browser, server: Server) -> None:
    context, page, errors = _open(browser, server, "/gadgets/matrix", 300, "light", period="all")
    try:
        wrap = page.locator(".sticky-wrap")
        assert page.evaluate(
            "() => { const w = document.querySelector('.sticky-wrap'); return w.scrollWidth > w.clientWidth; }"
        )
        row_head = page.locator("table.matrix tbody th").first
        col_head = page.locator("table.matrix thead th").nth(1)
        before_row, before_col = row_head.bounding_box(), col_head.bounding_box()
        wrap.evaluate("w => { w.scrollLeft = 200; w.scrollTop = 60; }")
        page.wait_for_timeout(50)
        after_row, after_col = row_head.bounding_box(), col_head.bounding_box()
        assert after_row["x"] == before_row["x"]  # the requester column stays
        assert after_col["y"] == before_col["y"]  # the provider row stays
        assert after_col["x"] < before_col["x"]  # while the cells scroll
        assert not errors, errors
    finally:
        context.close()


def test_at_risk_chips_filter_the_list(browser, server: Server) -> None:
    api = server.api("/requests?state=at_risk,breached&open=1")
    context, page, errors = _open(browser, server, "/gadgets/at-risk", 400, "light")
    try:
        providers = sorted({r["provider"] for r in api["requests"]})
        one = providers[0]
        page.locator(f'button.chip-filter[data-kind=provider][data-value="{one}"]').click()
        visible = page.eval_on_selector_all("li.risk:not([hidden])", "els => els.map(e => e.dataset.issue)")
        assert sorted(visible) == sorted(r["issue"] for r in api["requests"] if r["provider"] == one)
        assert page.locator(f'button.chip-filter[data-value="{one}"]').get_attribute("aria-pressed") == "true"
        page.locator("button.chip-filter[data-kind=state][data-value=breached]").click()
        visible = page.eval_on_selector_all("li.risk:not([hidden])", "els => els.map(e => e.dataset.issue)")
        assert sorted(visible) == sorted(
            r["issue"] for r in api["requests"] if r["provider"] == one and r["state"] == "breached"
        )
        page.locator('button.chip-filter[data-kind=provider][data-value=""]').click()
        page.locator("button.chip-filter[data-kind=state][data-value=breached]").click()
        assert page.locator("li.risk:not([hidden])").count() == len(api["requests"])
        assert not errors, errors
    finally:
        context.close()
