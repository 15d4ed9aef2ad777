"""`baton config check` through click's CliRunner: exit codes, every error printed, the summary."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from baton.webhooks.cli import main

HERE = Path(__file__).parent
EXAMPLES = HERE.parents[2] / "config" / "examples"


def _run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["config", "check", *args], env=env or {"BATON_CONFIG": ""})
    return result.exit_code, result.output


def test_valid_example_exits_0_with_summary() -> None:
    code, out = _run(str(EXAMPLES / "delivery.yaml"))
    assert code == 0, out
    assert "valid configuration" in out
    assert "Europe/Berlin" in out and "mon-fri 09:00-17:00" in out
    for team, status in (("dev", "In Development"), ("qa", "Ready for QA"), ("ops", "Deploying")):
        assert team in out and status in out
    assert "Process delivery: PROJ" in out
    assert "hand-offs: dev -> qa -> ops" in out
    assert "qa        any        always  4h        16h" in out
    assert "ops       any        always  8h        24h" in out
    assert len(out.splitlines()) <= 25  # one screen


def test_multi_example_summary() -> None:
    code, out = _run(str(EXAMPLES / "multi.yaml"))
    assert code == 0, out
    assert "Asia/Shanghai" in out and "09:00-12:00, 13:00-18:00" in out and "CN" in out
    assert "DE-BE" in out and "24x7" in out
    assert "hand-offs: support -> dev -> ops, support -> ops" in out
    assert "SUP (Incident, Service Request)" in out
    assert "ownership overridden for: support" in out
    assert "unmapped hand-offs: response 4h, resolution 16h" in out
    assert "priority Highest; type Bug" in out


def test_broken_file_prints_every_problem_and_exits_1() -> None:
    path = HERE / "broken" / "mixed.yaml"
    code, out = _run(str(path))
    assert code == 1
    lines = out.splitlines()
    assert lines == [
        f"{path}:9: calendars.broken.hours.mon-fri[0]: '9am-5pm' is not a time range; write it like \"09:00-17:00\"",
        f"{path}:13: teams.ops.calendar: unknown calendar 'nowhere'; known calendars: berlin, broken",
        f"{path}:19: processes.delivery.sla[0].response: '4x' is not a duration; "
        'write it like "4h", "90m", "2h30m" or "14d"',
        f"{path}:22: processes.support.stages[1]: unknown team 'suport'; known teams: dev, ops, qa",
        f"{path}:24: scoring.weights: weights must add up to 1: timeliness 0.9 + quality 0.5 = 1.4 "
        "(an omitted weight counts as 0.5)",
        f"5 problems in {path}; the configuration was not accepted.",
    ]


@pytest.mark.parametrize("name", sorted(p.name for p in (HERE / "broken").glob("*.yaml")))
def test_every_broken_fixture_exits_1(name: str) -> None:
    code, out = _run(str(HERE / "broken" / name))
    assert code == 1
    assert "the configuration was not accepted" in out


def test_missing_file_exits_1(tmp_path: Path) -> None:
    code, out = _run(str(tmp_path / "none.yaml"))
    assert code == 1
    assert "cannot read the file" in out


def test_file_from_environment() -> None:
    code, out = _run(env={"BATON_CONFIG": str(EXAMPLES / "delivery.yaml")})
    assert code == 0 and "valid configuration" in out


def test_file_from_config_option() -> None:
    code, out = _run("--config", str(EXAMPLES / "delivery.yaml"))
    assert code == 0 and "valid configuration" in out


def test_multi_summary_fits_one_screen() -> None:
    code, out = _run(str(EXAMPLES / "multi.yaml"))
    assert code == 0 and len(out.splitlines()) <= 40


def test_no_file_is_a_usage_error() -> None:
    code, out = _run()
    assert code == 2
    assert "give a config FILE or set $BATON_CONFIG" in out


def test_quiet_prints_only_warnings_when_valid() -> None:
    code, out = _run("--quiet", str(EXAMPLES / "multi.yaml"))
    assert code == 0
    assert [line.split(": ")[2] for line in out.splitlines()] == [
        "processes.support",
        "processes.support.handoffs[0].from",
    ]
    assert all(line.startswith("warning: ") for line in out.splitlines())


@pytest.mark.parametrize("args", [["config", "--help"], ["config", "check", "--help"]])
def test_help(args: list[str]) -> None:
    result = CliRunner().invoke(main, args, prog_name="baton")
    assert result.exit_code == 0
    assert "Usage: baton config" in result.output
