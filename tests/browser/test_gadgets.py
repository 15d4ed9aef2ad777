"""The gadgets in headless Chromium against real gunicorn: numbers on screen equal the JSON API and
the CLI's JSON (same rounding, no recomputation), 300, 400 and 1280 px fit without horizontal overflow,
light and dark themes, axe-core finds no serious or critical violation, click-through from the matrix
and the overview, keyboard (Esc, focus), links to Jira; screenshots saved."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from baton.webhooks.http.gadget_registry import GADGET_NAMES
from tests.browser.conftest import ROOT, Server, save_screenshot
from tests.integration.api.seeding import SITE_A, UNMATCHED_A

# one worker, one gunicorn and one Chromium for the whole module (under `pytest -n --dist loadgroup`)
pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

WIDTHS = (300, 400, 1280)
THEMES = ("light", "dark")
DASH = "—"
AXE_RESULTS = ROOT / "test-artifacts" / "axe"
BLOCKING = {"serious", "critical"}


def cli(*args: str, server: Server) -> object:
    """`baton <args> --format json` against the database the server serves, at the same instant."""
    from baton.webhooks.cli import main

    result = CliRunner().invoke(
        main,
        [
            *args,
            "--format",
            "json",
            "--db",
            server.db_url,
            "--config",
            str(server.seeded.config_path),
            "--site",
            SITE_A,
            "--now",
            server.seeded.now.isoformat(),
        ],
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def assert_accessible(page, axe_source: str, name: str) -> list[dict]:
    """Runs axe-core in the page; records every violation in test-artifacts/axe/<name>.json and fails on
    a serious or critical one."""
    page.add_script_tag(content=axe_source)
    violations = page.evaluate(
        """async () => (await axe.run(document, {resultTypes: ['violations']})).violations.map(v => ({
            id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5), count: v.nodes.length}))"""
    )
    AXE_RESULTS.mkdir(parents=True, exist_ok=True)
    (AXE_RESULTS / f"{name}.json").write_text(json.dumps(violations, indent=2))
    blocking = [v for v in violations if v["impact"] in BLOCKING]
    assert not blocking, json.dumps(blocking, indent=2)
    return violations


def pct(v: float | None) -> str:
    return DASH if v is None else f"{v * 100:.2f}%"


def score(v: float | None) -> str:
    return DASH if v is None else f"{v:.1f}"


def _open(browser, server: Server, path: str, width: int, scheme: str, **params: str):
    """`scheme`: the browser's prefers-color-scheme; `params`: the page's query (e.g. theme=dark)."""
    # bypass_csp: axe-core is injected as an inline script (the page's CSP allows 'self' only)
    context = browser.new_context(
        viewport={"width": width, "height": 900}, color_scheme=scheme, device_scale_factor=1, bypass_csp=True
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


def reason_rows(page) -> list[list]:
    """The open matrix drill-down's rejection reasons as shown: [reason, count] (the count's raw value,
    checked against its text)."""
    rows = page.eval_on_selector_all(
        ".cell-reasons li[data-reason]",
        """els => els.map(li => {
            const n = li.querySelector('[data-field=reason-count]');
            return [li.dataset.reason, li.querySelector('.reason').textContent, JSON.parse(n.dataset.value), n.textContent];
        })""",
    )
    for reason, shown, count, text in rows:
        assert (shown, text) == (reason, str(count)), rows
    return [[reason, count] for reason, _shown, count, _text in rows]


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
def test_scorecard(
    browser, server: Server, screenshot_dir: Path, axe_source: str, width: int, theme: str
) -> None:
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
        # the CLI prints the same numbers: `baton score --period week --last 1 --team dev`
        (row,) = cli("score", "--period", "week", "--last", "1", "--team", "dev", server=server)
        assert (_field(team, "score")["value"], _field(team, "timeliness")["value"]) == (
            row["score"],
            row["timeliness"],
        )
        assert _field(page, "as-of")["value"] == api["as_of"]
        assert "times in Europe/Berlin" in _field(page, "as-of")["text"]
        box = page.locator("canvas").bounding_box()
        assert box is not None and box["width"] > 100 and box["height"] > 50
        _assert_fits(page, width)
        _assert_theme(page, theme)
        assert_accessible(page, axe_source, f"scorecard-{width}-{theme}")
        save_screenshot(page, screenshot_dir, f"scorecard-{width}-{theme}")
        if width == 1280 and theme == "light":
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
def test_matrix(
    browser, server: Server, screenshot_dir: Path, axe_source: str, width: int, theme: str
) -> None:
    api = server.api("/handoffs/matrix?period=month")
    context, page, errors = _open(browser, server, "/gadgets/matrix", width, theme, period="month")
    try:
        assert page.locator("td.cell").count() == len(api["cells"])
        for cell in api["cells"]:
            td = page.locator(f'td[data-requester="{cell["requester"]}"][data-provider="{cell["provider"]}"]')
            for name, text in (
                ("timeliness", pct(cell["timeliness"])),
                ("rejection_rate", pct(cell["rejection_rate"])),
                ("requests", str(cell["requests"])),
                ("open", str(cell["open"])),
                ("resolved", str(cell["resolved"])),
            ):
                got = _field(td, name)
                assert got["value"] == cell[name] and got["text"] == text, (cell, name)
        # the CLI prints the same cells: `baton handoffs --report matrix --period month`
        for row in cli("handoffs", "--report", "matrix", "--period", "month", server=server):
            td = page.locator(
                f'td[data-requester="{row["requester"] or "intake"}"][data-provider="{row["provider"]}"]'
            )
            assert (_field(td, "timeliness")["value"], _field(td, "requests")["value"]) == (
                row["timeliness"],
                row["requests"],
            )
        assert page.locator("select[name=period]").input_value() == "month"
        assert api["window"]["label"] in _field(page, "as-of")["text"]
        swatches = page.eval_on_selector_all(".swatch", "els => els.map(e => e.dataset.heat)")
        assert swatches == ["heat-4", "heat-3", "heat-2", "heat-1", "heat-none"]
        _assert_fits(page, width)
        _assert_theme(page, theme)
        assert_accessible(page, axe_source, f"matrix-{width}-{theme}")
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
        # the cell's rejections, under its numbers: the verdicts' reasons, then the returns
        if busiest["rejected"]:
            assert _field(page, "pair-rejected")["value"] == busiest["rejected"]
            assert _field(page, "returns")["value"] == busiest["returns"]
            assert reason_rows(page) == [[r["reason"], r["count"]] for r in busiest["rejection_reasons"]]
        else:
            assert page.locator("[data-field=no-rejections]").inner_text().startswith("No rejections in")
        assert_accessible(page, axe_source, f"matrix-detail-{width}-{theme}")
        _assert_fits(page, width)
        save_screenshot(page, screenshot_dir, f"matrix-{width}-{theme}")
        # Esc closes the drill-down and gives the focus back to the cell that opened it
        page.keyboard.press("Escape")
        assert page.locator("[data-field=pair-count]").count() == 0
        assert page.evaluate("() => document.activeElement.classList.contains('cell-btn')")
        if width == 1280 and theme == "light":
            save_screenshot(page, screenshot_dir, "matrix")
        assert not errors, errors
    finally:
        context.close()


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("theme", THEMES)
def test_at_risk(
    browser, server: Server, screenshot_dir: Path, axe_source: str, width: int, theme: str
) -> None:
    api = server.api("/requests?state=at_risk,breached&open=1")
    assert api["count"] > 0
    context, page, errors = _open(browser, server, "/gadgets/at-risk", width, theme)
    try:
        assert _field(page, "count")["value"] == api["count"]
        items = page.locator("li.risk")
        assert items.count() == len(api["requests"])
        for req in api["requests"]:
            item = page.locator(f'li.risk[data-issue="{req["issue"]}"]')
            assert item.count() == 1
            link = item.locator("a.issue-key")
            assert link.get_attribute("href") == req["issue_url"] and link.inner_text() == req["issue"]
            assert link.get_attribute("rel") == "noopener noreferrer"
            assert item.locator("[data-field=provider]").inner_text() == req["provider"]
            assert _field(item, "remaining_s")["value"] == req["remaining_s"]
            assert (
                json.loads(item.locator("[data-field=due_at]").get_attribute("data-value")) == req["due_at"]
            )
            assert f"state-{req['state']}" in (item.get_attribute("class") or "")
        # the CLI prints the same: `baton requests --open`, at risk or breached
        risky = {
            r["issue"]: r
            for r in cli("requests", "--open", server=server)
            if r["state"] in ("at_risk", "breached")  # type: ignore[index]
        }
        assert len(risky) == _field(page, "count")["value"]
        for req in api["requests"]:
            item = page.locator(f'li.risk[data-issue="{req["issue"]}"]')
            assert _field(item, "remaining_s")["value"] == risky[req["issue"]]["remaining_s"]
        # grouped by provider, with counts
        groups = page.eval_on_selector_all(
            "section.risk-group",
            "els => els.map(e => [e.dataset.provider, e.querySelectorAll('li.risk').length])",
        )
        by_provider: dict[str, int] = {}
        for req in api["requests"]:
            by_provider[req["provider"]] = by_provider.get(req["provider"], 0) + 1
        assert dict(groups) == by_provider
        assert [n for _, n in groups] == sorted(by_provider.values(), reverse=True)
        _assert_fits(page, width)
        _assert_theme(page, theme)
        assert_accessible(page, axe_source, f"at-risk-{width}-{theme}")
        save_screenshot(page, screenshot_dir, f"at-risk-{width}-{theme}")
        if width == 1280 and theme == "light":
            save_screenshot(page, screenshot_dir, "at-risk")
        assert not errors, errors
    finally:
        context.close()


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("theme", THEMES)
def test_unmapped(
    browser, server: Server, screenshot_dir: Path, axe_source: str, width: int, theme: str
) -> None:
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
        # the CLI prints the same rows: `baton handoffs --report unmapped`
        cli_rows = cli("handoffs", "--report", "unmapped", server=server)
        assert [(r["requester"], r["provider"], r["count"]) for r in cli_rows] == [  # type: ignore[index]
            (r["requester"], r["provider"], _field(rows.nth(i), "count")["value"])
            for i, r in enumerate(api["rows"])
        ]
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
        assert_accessible(page, axe_source, f"unmapped-{width}-{theme}")
        save_screenshot(page, screenshot_dir, f"unmapped-{width}-{theme}")
        if width == 1280 and theme == "light":
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


@pytest.mark.parametrize("width", (300, 1280))
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
