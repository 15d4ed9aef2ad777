"""The matrix drill-down lists each cell's rejection reasons with their counts, and its returns (issue
14, item 4), in real Chromium against real gunicorn: what the page shows equals the API's JSON, at 300
and 1280 px, light and dark, with no axe-core violation of any impact while the drill-down is open.

Seed: four copies of docs/semantics.md's worked example; ops sends qa's Q2 back twice "incomplete" and
once "wrong environment" (`tests.integration.api.seeding.seed_matrix_reasons`)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.browser.conftest import SECRET, Server, save_screenshot
from tests.browser.serving import gunicorn, trusted_jwks
from tests.browser.test_gadgets import (
    _assert_fits,
    _assert_theme,
    _field,
    _open,
    assert_accessible,
    reason_rows,
)
from tests.integration.api.seeding import (
    REASONS_NOW,
    SITE_A,
    Seeded,
    matrix_reasons_config,
    seed_matrix_reasons,
)

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


@pytest.fixture(scope="module")
def reasons_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    from baton.store.db import create_engine_for, upgrade_database
    from baton.webhooks.http.auth import make_share_token

    tmp = tmp_path_factory.mktemp("matrix-reasons")
    config_path = matrix_reasons_config(tmp)
    url = f"sqlite:///{tmp}/baton.db"
    upgrade_database(url)
    engine = create_engine_for(url)
    try:
        seed_matrix_reasons(engine, config_path)
    finally:
        engine.dispose()
    with trusted_jwks() as jwks, gunicorn(tmp, url, config_path, REASONS_NOW, jwks) as base:
        share = make_share_token(SECRET.encode(), SITE_A, 3600)
        yield Server(base, share, Seeded(config_path, REASONS_NOW, 20, 0), jwks, url)


def _cell(api: dict, requester: str, provider: str) -> dict:
    (cell,) = [c for c in api["cells"] if (c["requester"], c["provider"]) == (requester, provider)]
    return cell


def _drill(page, requester: str, provider: str) -> None:
    page.locator(f'td[data-requester="{requester}"][data-provider="{provider}"] button').click()
    page.wait_for_selector("[data-field=pair-count]")
    page.wait_for_selector(".cell-reasons")


@pytest.mark.parametrize("width", (300, 1280))
@pytest.mark.parametrize("theme", ("light", "dark"))
def test_the_drill_down_lists_the_cells_reasons(
    browser, reasons_server: Server, screenshot_dir, axe_source: str, width: int, theme: str
) -> None:
    api = reasons_server.api("/handoffs/matrix?period=week")
    dev_qa = _cell(api, "dev", "qa")
    assert dev_qa["rejection_reasons"] == [
        {"reason": "incomplete", "count": 2},
        {"reason": "wrong environment", "count": 1},
    ]
    context, page, errors = _open(browser, reasons_server, "/gadgets/matrix", width, theme, period="week")
    try:
        _drill(page, "dev", "qa")
        assert reason_rows(page) == [["incomplete", 2], ["wrong environment", 1]]
        assert reason_rows(page) == [[r["reason"], r["count"]] for r in dev_qa["rejection_reasons"]]
        assert (_field(page, "pair-rejected")["value"], _field(page, "returns")["value"]) == (3, 0)
        assert (_field(page, "pair-rejected")["value"], _field(page, "returns")["value"]) == (
            dev_qa["rejected"],
            dev_qa["returns"],
        )
        assert _field(page, "pair-count")["value"] == 8  # Q1 and Q2 of four issues
        _assert_fits(page, width)
        _assert_theme(page, theme)
        assert assert_accessible(page, axe_source, f"matrix-reasons-{width}-{theme}") == []
        save_screenshot(page, screenshot_dir, f"matrix-reasons-{width}-{theme}")

        # intake -> dev: every D1 rejected by qa's return, none with a reason
        _drill(page, "intake", "dev")
        intake = _cell(api, "intake", "dev")
        assert reason_rows(page) == [] == intake["rejection_reasons"]
        assert (_field(page, "pair-rejected")["value"], _field(page, "returns")["value"]) == (4, 4)
        assert (intake["rejected"], intake["returns"]) == (4, 4)

        # qa -> ops: nothing sent back
        _drill(page, "qa", "ops")
        assert _cell(api, "qa", "ops")["rejected"] == 0
        shown = page.locator("[data-field=no-rejections]").inner_text()
        assert shown.startswith(
            f"No rejections in {api['window']['label']} (2 Mar 2026 – 8 Mar 2026, UTC)."
        ), shown
        assert api["window"]["label"] == "2026-W10"
        assert page.locator(".reason-list").count() == 0
        assert assert_accessible(page, axe_source, f"matrix-no-reasons-{width}-{theme}") == []
        assert not errors, errors
    finally:
        context.close()
