"""plugin/manifest.yml validates with Atlassian's own @forge/manifest validator (`npm run lint:manifest`),
and the committed bundle in plugin/dist is complete.

Needs npm: skipped locally without it, a failure under CI=true."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from baton.webhooks.http.gadget_registry import GADGETS
from tests.npm_install import npm_install, npm_or_skip

PLUGIN = Path(__file__).resolve().parents[3] / "plugin"
# one worker runs these (under `pytest -n --dist loadgroup`): `npm ci` must not run twice at once
pytestmark = pytest.mark.xdist_group("plugin-npm")


def _npm() -> str:
    return npm_or_skip("CI must lint the Forge manifest")


def _install(npm: str) -> None:
    npm_install(
        [npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts"],
        cwd=PLUGIN,
        node_modules=PLUGIN / "node_modules",
        # npm writes its hidden lockfile last: package folders appear long before their files do, so
        # a folder would let a test run node against a half-extracted install (seen once in CI).
        installed=PLUGIN / "node_modules" / ".package-lock.json",
        what="npm ci in plugin/",
    )


def test_manifest_lints_clean_with_forge_manifest() -> None:
    npm = _npm()
    _install(npm)
    result = subprocess.run(
        [npm, "run", "--silent", "lint:manifest"], cwd=PLUGIN, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, f"manifest lint failed:\n{result.stdout}\n{result.stderr}"
    assert "manifest lint: OK" in result.stdout


def _lint_a_copy(tmp_path: Path, *replacements: tuple[str, str]) -> subprocess.CompletedProcess[str]:
    """`lint-manifest.mjs` on a copy of manifest.yml with each (old, new) replaced once."""
    npm = _npm()
    _install(npm)
    text = (PLUGIN / "manifest.yml").read_text()
    for old, new in replacements:
        text = text.replace(old, new, 1)
    (tmp_path / "manifest.yml").write_text(text)
    (tmp_path / "dist").mkdir()
    (tmp_path / "dist" / "index.html").write_text("<!doctype html>")
    return subprocess.run(
        ["node", str(PLUGIN / "scripts" / "lint-manifest.mjs"), str(tmp_path / "manifest.yml")],
        cwd=PLUGIN,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_manifest_lint_catches_errors(tmp_path: Path) -> None:
    """The lint really validates: a gadget without its required thumbnail fails."""
    result = _lint_a_copy(
        tmp_path, ("      thumbnail: https://baton.example.com/static/thumb-matrix.svg\n", "")
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "jira:dashboardGadget" in result.stdout


def test_manifest_lint_holds_the_gadgets_to_the_registry(tmp_path: Path) -> None:
    """A gadget module missing, renamed or not registered fails the lint, naming the registry."""
    result = _lint_a_copy(
        tmp_path,
        ("key: baton-unmapped\n", "key: baton-extra\n"),
        ("title: Baton hand-off matrix\n", "title: Baton matrix\n"),
    )
    assert result.returncode == 1, result.stdout + result.stderr
    errors = [line for line in result.stdout.splitlines() if ": error: " in line]
    assert errors == [
        "manifest.yml: error: jira:dashboardGadget 'baton-matrix' title is \"Baton matrix\", the gadget "
        'registry says "Baton hand-off matrix" [webhooks/http/gadgets.json]',
        "manifest.yml: error: jira:dashboardGadget 'baton-unmapped' is missing: the gadget registry lists "
        "'unmapped' [webhooks/http/gadgets.json]",
        "manifest.yml: error: jira:dashboardGadget 'baton-extra' is not in the gadget registry: add it to "
        "webhooks/http/gadgets.json or remove the module [webhooks/http/gadgets.json]",
    ], result.stdout + result.stderr  # the lint's whole output when it fails another way


def test_manifest_declares_the_gadgets_remote_and_index() -> None:
    from ruamel.yaml import YAML

    manifest = YAML(typ="safe").load((PLUGIN / "manifest.yml").read_text())
    modules = manifest["modules"]
    gadgets = {g["key"]: g for g in modules["jira:dashboardGadget"]}
    assert set(gadgets) == {gadget.forge_key for gadget in GADGETS.values()}
    for gadget in gadgets.values():
        assert gadget["resolver"] == {"endpoint": "baton-api"}
        assert gadget["edit"]["resource"] == gadget["resource"] == "gadget"
    endpoint = modules["endpoint"][0]
    assert endpoint["key"] == "baton-api" and endpoint["remote"] == manifest["remotes"][0]["key"]
    assert manifest["app"]["id"].startswith("ari:cloud:ecosystem::app/")
    (index,) = modules["jira:entityProperty"]
    assert index["propertyKey"] == "baton.sla" and index["entityType"] == "issue"
    paths = {v["path"] for v in index["values"]}
    assert {"state", "provider", "due", "breached"} <= paths
    assert {"remote": "baton"} in manifest["permissions"]["external"]["fetch"]["backend"]
    assert [r["path"] for r in manifest["resources"]] == ["dist"]


def test_manifest_scopes_cover_the_admin_check() -> None:
    """The admin page's Jira-administrator check (`POST /rest/api/3/permissions/check`) needs no scope
    the app does not declare: the OpenAPI lists `read:jira-work` as its classic scope (the service
    asks with the site's BATON_JIRA_* credentials; the scope matters to an OAuth token)."""
    from ruamel.yaml import YAML

    from tests.contract.connector.contract import raw_spec

    operation = raw_spec()["paths"]["/rest/api/3/permissions/check"]["post"]
    classic = re.findall(r"\*\*Classic\*\*: `([^`]+)`", operation["description"])
    assert classic == ["read:jira-work"]
    current = [s for s in operation["x-atlassian-oauth2-scopes"] if s["state"] == "Current"]
    assert current == [{"scheme": "OAuth2", "scopes": [], "state": "Current"}]
    manifest = YAML(typ="safe").load((PLUGIN / "manifest.yml").read_text())
    assert set(classic) <= set(manifest["permissions"]["scopes"])


def test_committed_bundle_is_complete() -> None:
    html = (PLUGIN / "dist" / "index.html").read_text()
    assets = re.findall(r'(?:src|href)="\./(assets/[^"]+)"', html)
    assert any(a.endswith(".js") for a in assets) and any(a.endswith(".css") for a in assets)
    for asset in assets:
        assert (PLUGIN / "dist" / asset).is_file(), asset
    js = "".join(p.read_text() for p in (PLUGIN / "dist" / "assets").glob("*.js"))
    for cdn in ("cdn.jsdelivr.net", "unpkg.com", "cdnjs.cloudflare.com"):
        assert cdn not in js and cdn not in html  # everything is bundled: no CDN at run time
