"""`dashboard provision`: contract-valid, idempotent (run twice = same dashboard, same gadgets)."""

from __future__ import annotations

import json

import pytest

from baton.config.loader import load_config
from baton.connector.dashboard import DASHBOARD_NAME, GADGETS, SNAPSHOT_KEY, DataCenterDashboards, provision
from tests.contract.connector.conftest import JiraMock

CONFIG = load_config("config/examples/delivery.yaml")


def _snapshots(key: str) -> dict:  # type: ignore[type-arg]
    return {"rows": [{"team": "qa", "score": 100.0, "n": i} for i in range(3)]}


def _writes(jira: JiraMock) -> list[tuple[str, str]]:
    return [(m, p) for m, p, _ in jira.sent if m in ("POST", "PUT", "DELETE")]


@pytest.mark.parametrize("forge", [False, True], ids=["builtin", "forge"])
def test_provision_twice_gives_the_same_dashboard_and_gadgets(jira: JiraMock, forge: bool) -> None:
    jira.standin.forge_installed = forge
    first = provision(jira.client(), CONFIG, snapshots=_snapshots)
    assert first.mode == ("forge" if forge else "builtin")
    assert len(jira.standin.dashboards) == 1
    dash_id = first.dashboard_id
    assert dash_id is not None
    gadgets = jira.standin.gadgets[dash_id]
    assert sorted(g["title"] for g in gadgets.values()) == sorted(s.title for s in GADGETS)

    second = provision(jira.client(), CONFIG, snapshots=_snapshots)
    assert second.dashboard_id == dash_id and second.gadget_ids == first.gadget_ids
    assert len(jira.standin.dashboards) == 1 and len(jira.standin.gadgets[dash_id]) == len(GADGETS)
    assert not [s for s in second.steps if s.action == "create"]
    if not forge:
        assert len(jira.standin.filters) == len(GADGETS)
        assert second.filter_ids == first.filter_ids
        for (_d, _item, key), value in jira.standin.item_properties.items():
            if key == "config":
                assert all(isinstance(v, str) for v in value.values())
    for value in jira.standin.item_properties.values():
        assert len(json.dumps(value)) < 32768
    assert {k for _, _, k in jira.standin.item_properties} == (
        {SNAPSHOT_KEY} if forge else {SNAPSHOT_KEY, "config"}
    )


def test_dry_run_reads_but_never_writes(jira: JiraMock) -> None:
    result = provision(jira.client(), CONFIG, snapshots=_snapshots, dry_run=True)
    assert _writes(jira) == []
    assert result.dry_run and result.writes > 0
    text = result.plan_text()
    assert DASHBOARD_NAME in text and "create" in text


def test_snapshot_is_trimmed_below_the_item_property_limit(jira: JiraMock) -> None:
    big = {"rows": [{"team": f"team-{i}", "note": "x" * 200} for i in range(500)]}
    provision(jira.client(), CONFIG, snapshots=lambda key: big)
    for (_, _, key), value in jira.standin.item_properties.items():
        if key == SNAPSHOT_KEY:
            assert value["truncated"] and 0 < len(value["rows"]) < 500
            assert len(json.dumps(value)) < 32768


def test_data_center_is_refused_with_what_to_do(jira: JiraMock) -> None:
    with pytest.raises(DataCenterDashboards, match="gadget directory"):
        provision(jira.client(jira.dc_site()), CONFIG)
