"""Real-browser fixtures: a seeded database served by real gunicorn on loopback, and headless
Debian Chromium driven by Playwright (never a downloaded browser).

Missing Chromium or Playwright: the tests skip locally and fail under CI=true."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from baton.webhooks.http.gadget_registry import GADGET_NAMES
from tests.browser.serving import ROOT, SECRET, gunicorn, trusted_jwks
from tests.integration.api.forge_support import Jwks
from tests.integration.api.seeding import SITE_A, Seeded, seed
from tests.npm_install import npm_install, npm_or_skip

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/lib/chromium/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-dev-shm-usage",
]
PLUGIN = ROOT / "plugin"
AXE = PLUGIN / "node_modules" / "axe-core" / "axe.min.js"


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def _unavailable(reason: str) -> None:
    if _in_ci():
        pytest.fail(
            f"{reason}: CI must run the browser tests (apt-get install chromium; pip install playwright)"
        )
    pytest.skip(reason)


def chromium_path() -> str | None:
    configured = os.environ.get("BATON_CHROMIUM")
    for candidate in (configured, *CHROMIUM_CANDIDATES, shutil.which("chromium")):
        if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


@dataclass
class Server:
    url: str
    share: str
    seeded: Seeded
    jwks: Jwks
    db_url: str

    def api(self, path: str) -> dict:
        resp = requests.get(f"{self.url}/api/v1{path}", headers={"X-Baton-Share": self.share}, timeout=30)
        resp.raise_for_status()
        return resp.json()

    def page_url(self, path: str, **params: str) -> str:
        query = "&".join(f"{k}={v}" for k, v in {**params, "share": self.share}.items())
        return f"{self.url}{path}?{query}"


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    from baton.store.db import create_engine_for, upgrade_database
    from baton.webhooks.http.auth import make_share_token

    tmp = tmp_path_factory.mktemp("browser")
    url = f"sqlite:///{tmp}/browser.db"
    upgrade_database(url)
    engine = create_engine_for(url)
    try:
        seeded = seed(engine)
    finally:
        engine.dispose()
    with trusted_jwks() as jwks, gunicorn(tmp, url, seeded.config_path, seeded.now, jwks) as base:
        yield Server(base, make_share_token(SECRET.encode(), SITE_A, 3600), seeded, jwks, url)


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    path = chromium_path()
    if path is None:
        _unavailable("Chromium is not installed")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("Playwright for Python is not installed")
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=path, args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    """test-artifacts/screenshots; docs/screenshots too when BATON_UPDATE_SCREENSHOTS=1."""
    out = ROOT / "test-artifacts" / "screenshots"
    out.mkdir(parents=True, exist_ok=True)
    return out


DOCS_SCREENSHOTS = {
    *GADGET_NAMES,
    "standalone-1280",
    "scorecard-300-dark",
    "matrix-300-dark",
    "overview-400-light",
    "overview-400-dark",
    "at-risk-400-light",
    "admin",
}
"""The ones kept in docs/screenshots (README and docs/plugin.md); the rest stay in test-artifacts."""


def save_screenshot(page: object, screenshot_dir: Path, name: str) -> Path:
    target = screenshot_dir / f"{name}.png"
    page.screenshot(path=str(target), full_page=True)  # type: ignore[attr-defined]
    if name in DOCS_SCREENSHOTS and os.environ.get("BATON_UPDATE_SCREENSHOTS", "").lower() in {
        "1",
        "true",
        "yes",
    }:
        docs = ROOT / "docs" / "screenshots"
        docs.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(target, docs / target.name)
    return target


@pytest.fixture(scope="session")
def axe_source() -> str:
    """axe-core (plugin/package.json devDependency), installed with the plugin's `npm ci` when missing."""
    if not AXE.exists():
        npm = npm_or_skip("CI must run axe-core in the browser tests")
        npm_install(
            [npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts"],
            cwd=PLUGIN,
            node_modules=PLUGIN / "node_modules",
            installed=AXE,
            what="npm ci in plugin/",
        )
    return AXE.read_text()
