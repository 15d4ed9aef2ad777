"""The shipped examples load, pass validation, and say what docs/semantics.md's worked example says they say."""

from __future__ import annotations

from pathlib import Path

import pytest

from baton.config import load_config
from baton.config.ownership import Owner, name_key, ownership_map
from baton.config.schema import Calendar

EXAMPLES = Path(__file__).parents[3] / "config" / "examples"


@pytest.mark.parametrize("name", ["delivery.yaml", "multi.yaml"])
def test_example_loads_and_validates(name: str) -> None:
    load_config(EXAMPLES / name)


def test_delivery_is_the_worked_example() -> None:
    config = load_config(EXAMPLES / "delivery.yaml")
    berlin = config.calendars["berlin"]
    assert isinstance(berlin, Calendar)
    assert berlin.timezone == "Europe/Berlin"
    assert berlin.holidays.country is None and not berlin.holidays.extra
    week = berlin.weekly_intervals()
    assert all(week[day] == [(9 * 3600, 17 * 3600)] for day in ("mon", "tue", "wed", "thu", "fri"))
    assert week["sat"] == week["sun"] == []
    assert list(config.teams) == ["dev", "qa", "ops", "pm"]
    process = config.processes["delivery"]
    assert process.customer == "pm" and process.verdict_window == 14 * 86400
    assert process.rejection_reasons == ["incomplete", "defects", "undocumented"]
    assert config.scoring.weights.satisfaction is None
    assert process.match.projects == ["PROJ"]
    assert process.forward_rules() == [("dev", "qa"), ("qa", "ops")]
    assert process.done == ["Done"] and process.pause == ["Blocked"]
    assert process.reopen_window == 14 * 86400
    goals = {row.provider: (row.response, row.resolution) for row in process.sla}
    assert goals == {"qa": (4 * 3600, 16 * 3600), "ops": (8 * 3600, 24 * 3600)}
    owners = ownership_map(config, "delivery")
    assert owners[name_key("Ready for QA")] == Owner("qa", "queue")
    assert owners[name_key("in development")] == Owner("dev", "active")
    assert config.scoring.weights.timeliness == config.scoring.weights.quality == 0.5


def test_multi_covers_every_option() -> None:
    config = load_config(EXAMPLES / "multi.yaml")
    berlin, shanghai, always = (config.calendars[n] for n in ("berlin", "shanghai", "always"))
    assert isinstance(berlin, Calendar) and isinstance(shanghai, Calendar)
    assert (berlin.holidays.country, berlin.holidays.subdivision) == ("DE", "BE")
    assert shanghai.timezone == "Asia/Shanghai" and shanghai.holidays.country == "CN"
    assert shanghai.weekly_intervals()["mon"] == [(9 * 3600, 12 * 3600), (13 * 3600, 18 * 3600)]
    assert always == "24x7"
    assert config.teams["ops"].calendar == "always"
    delivery, support = config.processes["delivery"], config.processes["support"]
    assert support.handoffs is not None and support.stages is None
    assert support.unmapped_goal is not None and support.ownership
    assert any(row.when is not None for row in delivery.sla)
    assert any(row.rework is not None for row in delivery.sla)
    # ops serves both processes with different standards
    ops_goals = {
        name: [(r.response, r.resolution) for r in process.sla if r.provider == "ops"]
        for name, process in config.processes.items()
    }
    assert ops_goals == {"delivery": [(7200, 28800)], "support": [(1800, 14400)]}
    # the override gives "In Review" to support in the support process only
    assert ownership_map(config, "support")[name_key("In Review")] == Owner("support", "active")
    assert ownership_map(config, "delivery")[name_key("In Review")] == Owner("dev", "active")
