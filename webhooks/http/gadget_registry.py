"""The one registry of Baton's dashboard gadgets: `gadgets.json`, package data next to this module.

Every place that names a gadget reads it: the gadget pages and Data Center XML (`gadgets.py`), the
share-link `--gadget` choices, dashboard provisioning (`connector/dashboard.py`, as data), the
front-end (`plugin/src/main.ts` imports the JSON) and the Forge manifest lint
(`plugin/scripts/lint-manifest.mjs`). Adding a gadget starts with one entry there
(docs/architecture.md, "Where do I change X").
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from typing import Any

REGISTRY_FILE = "gadgets.json"
_FIELDS: dict[str, type] = {
    "name": str,
    "forgeKey": str,
    "title": str,
    "description": str,
    "height": int,
    "thumbnail": str,
}


@dataclass(frozen=True)
class Gadget:
    name: str
    """URL name: `/gadgets/<name>`, `/gadgets/<name>.xml`, `baton share-link --gadget <name>`."""
    forge_key: str
    """Key of the `jira:dashboardGadget` module in plugin/manifest.yml."""
    title: str
    description: str
    height: int
    """Default height in pixels of the Data Center gadget."""
    thumbnail: str
    """File name under `webhooks/http/static/`, served at `/static/<thumbnail>`."""


class GadgetRegistryError(ValueError):
    pass


def _entry(index: int, raw: Any) -> Gadget:
    where = f"{REGISTRY_FILE}: gadgets[{index}]"
    if not isinstance(raw, dict):
        raise GadgetRegistryError(f"{where} must be an object with {', '.join(_FIELDS)}")
    missing = [field for field in _FIELDS if field not in raw]
    unknown = sorted(set(raw) - set(_FIELDS))
    if missing or unknown:
        raise GadgetRegistryError(
            f"{where}: missing {missing}, unknown {unknown}; the fields are {list(_FIELDS)}"
        )
    for field, kind in _FIELDS.items():
        value = raw[field]
        if not isinstance(value, kind) or isinstance(value, bool) or value in ("", 0):
            raise GadgetRegistryError(f"{where}.{field} must be a non-empty {kind.__name__}, not {value!r}")
    return Gadget(
        name=raw["name"],
        forge_key=raw["forgeKey"],
        title=raw["title"],
        description=raw["description"],
        height=raw["height"],
        thumbnail=raw["thumbnail"],
    )


def parse_registry(text: str) -> tuple[Gadget, ...]:
    """The gadgets of a registry document, in its order; a malformed one raises GadgetRegistryError
    that names the entry and the field."""
    document = json.loads(text)
    entries = document.get("gadgets") if isinstance(document, dict) else None
    if not isinstance(entries, list) or not entries:
        raise GadgetRegistryError(f'{REGISTRY_FILE} must be {{"gadgets": [...]}} with at least one gadget')
    gadgets = tuple(_entry(index, raw) for index, raw in enumerate(entries))
    for field in ("name", "forge_key", "title"):
        values = [getattr(gadget, field) for gadget in gadgets]
        repeated = sorted({value for value in values if values.count(value) > 1})
        if repeated:
            raise GadgetRegistryError(f"{REGISTRY_FILE}: {field} must be unique; repeated: {repeated}")
    return gadgets


def registry_text() -> str:
    return (resources.files("baton.webhooks.http") / REGISTRY_FILE).read_text(encoding="utf-8")


GADGETS: dict[str, Gadget] = {gadget.name: gadget for gadget in parse_registry(registry_text())}
"""Name -> gadget, in the registry's order."""

GADGET_NAMES: tuple[str, ...] = tuple(GADGETS)
