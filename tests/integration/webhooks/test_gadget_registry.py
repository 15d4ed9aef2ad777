"""One registry of gadget names (webhooks/http/gadgets.json): every place that names a gadget agrees with
it, so a gadget added, renamed or removed in one place only fails here.

Places: the Forge manifest's `jira:dashboardGadget` modules, the front-end's renderers
(plugin/src/main.ts), the gadget pages and Data Center XML routes, the thumbnails, the share-link
`--gadget` choices (argparse and click) and dashboard provisioning (connector/dashboard.py)."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask
from ruamel.yaml import YAML

from baton.connector.dashboard import BUILTIN_FALLBACKS
from baton.connector.dashboard import GADGETS as DASHBOARD_GADGETS
from baton.webhooks.cli import main as baton_cli
from baton.webhooks.http import auth
from baton.webhooks.http.gadget_registry import (
    GADGET_NAMES,
    GADGETS,
    GadgetRegistryError,
    parse_registry,
    registry_text,
)
from baton.webhooks.http.gadgets import register

ROOT = Path(__file__).resolve().parents[3]
BASE = "https://baton.example.com"


@pytest.fixture(scope="module")
def client():
    app = Flask("baton.webhooks.http")  # root path: webhooks/http, whose static/ holds the thumbnails
    register(app)
    return app.test_client()


def test_the_registry_is_the_packaged_json() -> None:
    document = json.loads((ROOT / "webhooks" / "http" / "gadgets.json").read_text())
    assert [g["name"] for g in document["gadgets"]] == list(GADGET_NAMES)
    assert registry_text() == (ROOT / "webhooks" / "http" / "gadgets.json").read_text()
    assert GADGET_NAMES, "the registry lists no gadget"
    for gadget in GADGETS.values():
        assert gadget.forge_key == f"baton-{gadget.name}"
        assert re.fullmatch(r"[a-z][a-z-]*", gadget.name), gadget.name  # main.ts matches /gadgets/([a-z-]+)


def test_manifest_declares_exactly_the_registered_gadgets() -> None:
    manifest = YAML(typ="safe").load((ROOT / "plugin" / "manifest.yml").read_text())
    modules = manifest["modules"]["jira:dashboardGadget"]
    assert [m["key"] for m in modules] == [g.forge_key for g in GADGETS.values()]
    for module, gadget in zip(modules, GADGETS.values(), strict=True):
        assert module["title"] == gadget.title
        assert module["description"] == gadget.description
        assert module["thumbnail"] == f"{BASE}/static/{gadget.thumbnail}"


def test_the_front_end_has_one_renderer_per_registered_gadget() -> None:
    main_ts = (ROOT / "plugin" / "src" / "main.ts").read_text()
    table = main_ts.split("const RENDERERS: Record<string, Renderer> = {", 1)[1].split("\n};", 1)[0]
    renderers = re.findall(r"^  '?([a-z][a-z-]*)'?: \{", table, flags=re.MULTILINE)
    assert renderers == list(GADGET_NAMES)
    assert "webhooks/http/gadgets.json" in (ROOT / "plugin" / "src" / "registry.ts").read_text()


@pytest.mark.parametrize("name", GADGET_NAMES)
def test_every_registered_gadget_has_a_page_an_xml_spec_and_a_thumbnail(client, name: str) -> None:
    gadget = GADGETS[name]
    page = client.get(f"/gadgets/{name}")
    assert page.status_code == 200 and page.mimetype == "text/html"
    spec = client.get(f"/gadgets/{name}.xml", base_url=BASE)
    assert spec.status_code == 200 and spec.mimetype == "application/xml"
    prefs = ET.fromstring(spec.data).find("ModulePrefs")
    assert prefs is not None
    assert (prefs.get("title"), prefs.get("description"), prefs.get("height"), prefs.get("thumbnail")) == (
        gadget.title,
        gadget.description,
        str(gadget.height),
        f"{BASE}/static/{gadget.thumbnail}",
    )
    thumbnail = client.get(f"/static/{gadget.thumbnail}")
    assert thumbnail.status_code == 200 and thumbnail.mimetype == "image/svg+xml"


def test_the_gadget_directory_lists_the_registry_and_nothing_else(client) -> None:
    listing = client.get("/gadgets/", base_url=BASE).get_data(as_text=True)
    assert re.findall(r'<a href="/gadgets/([a-z-]+)">', listing) == list(GADGET_NAMES)
    assert client.get("/gadgets/glance").status_code == 404
    assert client.get("/gadgets/glance.xml").status_code == 404


def test_share_link_choices_are_the_registry(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.setenv("BATON_SECRET_KEY", "k" * 32)
    for name in GADGET_NAMES:
        assert auth.main(["--base-url", BASE, "--gadget", name]) == 0
        assert capsys.readouterr().out.startswith(f"{BASE}/gadgets/{name}?share=")
        result = CliRunner().invoke(baton_cli, ["share-link", "--base-url", BASE, "--gadget", name])
        assert result.exit_code == 0 and result.output.startswith(f"{BASE}/gadgets/{name}?share="), (
            result.output
        )
    with pytest.raises(SystemExit) as refused:
        auth.main(["--gadget", "glance"])
    assert refused.value.code == 2
    assert "invalid choice: 'glance'" in capsys.readouterr().err
    result = CliRunner().invoke(baton_cli, ["share-link", "--gadget", "glance"])
    assert result.exit_code == 2 and "'glance' is not one of" in result.output


def test_dashboard_provisioning_places_the_registered_gadgets() -> None:
    assert [(spec.key, spec.title) for spec in DASHBOARD_GADGETS] == [
        (g.forge_key, g.title) for g in GADGETS.values()
    ]
    assert set(BUILTIN_FALLBACKS) == set(GADGET_NAMES)


def _document(**changes: object) -> str:
    entry = {
        "name": "overview",
        "forgeKey": "baton-overview",
        "title": "Baton team overview",
        "description": "All provider teams, worst first.",
        "height": 480,
        "thumbnail": "thumb-overview.svg",
        **changes,
    }
    return json.dumps({"gadgets": [{k: v for k, v in entry.items() if v is not None}]})


def test_a_valid_entry_parses() -> None:
    (gadget,) = parse_registry(_document())
    assert (gadget.name, gadget.forge_key, gadget.height) == ("overview", "baton-overview", 480)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (_document(height="480"), "gadgets.json: gadgets[0].height must be a non-empty int, not '480'"),
        (_document(title=""), "gadgets.json: gadgets[0].title must be a non-empty str, not ''"),
        (
            _document(thumbnail=None),
            "gadgets.json: gadgets[0]: missing ['thumbnail'], unknown []; the fields are "
            "['name', 'forgeKey', 'title', 'description', 'height', 'thumbnail']",
        ),
        (
            _document(colour="blue"),
            "gadgets.json: gadgets[0]: missing [], unknown ['colour']; the fields are "
            "['name', 'forgeKey', 'title', 'description', 'height', 'thumbnail']",
        ),
        ('{"gadgets": []}', 'gadgets.json must be {"gadgets": [...]} with at least one gadget'),
        (
            json.dumps({"gadgets": [json.loads(_document())["gadgets"][0]] * 2}),
            "gadgets.json: name must be unique; repeated: ['overview']",
        ),
    ],
)
def test_a_malformed_registry_names_the_entry_and_the_field(document: str, message: str) -> None:
    with pytest.raises(GadgetRegistryError) as error:
        parse_registry(document)
    assert str(error.value) == message
