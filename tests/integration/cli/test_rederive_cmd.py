"""`baton rederive` applies a configuration to the stored history explicitly (issue 16, item 6)."""

from __future__ import annotations

from pathlib import Path

from baton.config.loader import load_config
from baton.store.pipeline import config_fingerprint
from tests.integration.cli.conftest import DEMO_CONFIG, baton, baton_json


def _goals(db: str, config: Path) -> set[float]:
    rows = baton_json("requests", "--db", db, "--site", "demo", "--config", str(config), "--format", "json")
    return {row["resolution_goal_s"] for row in rows if row["provider"] == "qa" and row["resolution_goal_s"]}


def test_rederive_applies_a_changed_goal_and_then_has_nothing_stale(db_url: str, tmp_path: Path) -> None:
    common = ("--db", db_url, "--site", "demo")
    baton_json("demo", "load", *common, "--issues", "30", "--weeks", "3", "--format", "json")
    before = _goals(db_url, DEMO_CONFIG)
    changed = tmp_path / "changed.yaml"
    text = DEMO_CONFIG.read_text()
    assert "provider: qa, response: 4h, resolution: 16h" in text
    changed.write_text(
        text.replace(
            "provider: qa, response: 4h, resolution: 16h", "provider: qa, response: 4h, resolution: 20h"
        )
    )

    result = baton("rederive", "--config", str(changed), "--db", db_url, "--quiet")
    assert result.exit_code == 0, result.output
    assert "demo: 30 issues" in result.output
    assert (
        f"configuration {config_fingerprint(load_config(changed))[:12]} applied to 1 site(s)" in result.output
    )
    assert 16 * 3600.0 in before and _goals(db_url, changed) == {20 * 3600.0}

    again = baton("rederive", "--config", str(changed), "--db", db_url, "--stale-only", "--quiet")
    assert again.exit_code == 0 and "applied to 0 site(s)" in again.output


def test_rederive_refuses_an_unknown_site(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'demo.db'}"
    baton_json(
        "demo", "load", "--db", db, "--site", "demo", "--issues", "5", "--weeks", "1", "--format", "json"
    )
    result = baton("rederive", "--config", str(DEMO_CONFIG), "--db", db, "--site", "nope")
    assert result.exit_code == 1
    assert "no such site: nope" in result.output


def test_read_commands_warn_when_the_numbers_were_derived_under_another_configuration(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'demo.db'}"
    baton_json(
        "demo", "load", "--db", db, "--site", "demo", "--issues", "5", "--weeks", "1", "--format", "json"
    )
    assert baton("rederive", "--config", str(DEMO_CONFIG), "--db", db, "--quiet").exit_code == 0
    changed = tmp_path / "changed.yaml"
    changed.write_text(DEMO_CONFIG.read_text().replace("resolution: 16h}", "resolution: 20h}", 1))
    stored = config_fingerprint(load_config(DEMO_CONFIG))[:12]
    given = config_fingerprint(load_config(changed))[:12]
    for command in ("requests", "score", "handoffs"):
        stale = baton(command, "--db", db, "--site", "demo", "--config", str(changed), "--format", "json")
        assert stale.exit_code == 0
        assert (
            f"warning: the stored requests of site 'demo' were derived under configuration {stored}, "
            f"not under the given configuration ({given})"
        ) in stale.stderr
        fresh = baton(command, "--db", db, "--site", "demo", "--config", str(DEMO_CONFIG), "--format", "json")
        assert fresh.exit_code == 0 and "warning" not in fresh.stderr


def test_demo_load_leaves_nothing_to_re_derive_under_its_configuration(tmp_path: Path) -> None:
    """A service started on the demo with the demo's configuration re-derived the whole site at start:
    the replay derived issue by issue and recorded no configuration on the site."""
    db = f"sqlite:///{tmp_path / 'demo.db'}"
    baton_json(
        "demo", "load", "--db", db, "--site", "demo", "--issues", "5", "--weeks", "1", "--format", "json"
    )
    result = baton("rederive", "--config", str(DEMO_CONFIG), "--db", db, "--stale-only", "--quiet")
    assert result.exit_code == 0 and "applied to 0 site(s)" in result.output, result.output
