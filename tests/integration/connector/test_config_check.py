"""`baton config check` against a Jira site and a stored log (issue 16, item 7): real HTTP to the
contract-validating Jira stand-in (every request and response checked against Atlassian's OpenAPI
description), real SQLite and PostgreSQL. On the old code "Ready for Paymnet" passed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from baton.webhooks.cli import main
from tests.contract.connector.contract import shared_contract
from tests.contract.connector.standin import JiraStandIn, generate_issues
from tests.contract.connector.standin_http import StandInServer, serving

DELIVERY = Path("config/examples/delivery.yaml")
FINANCE = """
  finance:
    calendar: berlin
    statuses:
      queue: ["Ready for Paymnet"]
      active: [{id: "10099"}]
"""


@pytest.fixture
def server() -> Iterator[StandInServer]:
    standin = JiraStandIn()
    standin.statuses += [
        ("10007", "Ready for Payment", "indeterminate"),
        ("10008", "Blocked", "indeterminate"),
    ]
    standin.add_issues(generate_issues(12, seed=8))
    with serving(standin) as srv:
        srv.contract = shared_contract((srv.url,))
        yield srv
    assert not srv.violations, "\n".join(srv.violations)


def _config(tmp_path: Path) -> Path:
    text = DELIVERY.read_text(encoding="utf-8").replace("\nprocesses:", FINANCE + "\nprocesses:", 1)
    path = tmp_path / "baton.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _env(server: StandInServer) -> dict[str, str]:
    return {
        "BATON_JIRA_URL": server.url,
        "BATON_JIRA_EMAIL": "ops@example.org",
        "BATON_JIRA_TOKEN": "check-token",
        "BATON_CONFIG": "",
        "BATON_DATABASE_URL": "",
    }


def _check(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(main, ["config", "check", *args], env=env, catch_exceptions=False)


def _line_of(path: Path, text: str) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines(), start=1) if text in line)


def test_jira_statuses_with_did_you_mean(server: StandInServer, tmp_path: Path) -> None:
    config = _config(tmp_path)
    result = _check(_env(server), str(config), "--jira", "default")
    assert result.exit_code == 1, result.output
    queue, active = _line_of(config, "Ready for Paymnet"), _line_of(config, '{id: "10099"}')
    assert result.output.splitlines() == [
        f"{config}:{queue}: teams.finance.statuses.queue[0]: status 'Ready for Paymnet' does not exist on "
        "Jira site 'default'; did you mean 'Ready for Payment'?",
        f"{config}:{active}: teams.finance.statuses.active[0]: status id 10099 does not exist on Jira site "
        "'default'",
        f"warning: {config}:{_line_of(config, 'stages: [dev, qa, ops]')}: processes.delivery.stages[0]: team "
        "'dev' has no SLA row in process 'delivery': its work there is not clocked against a goal, only its "
        "quality is scored; add `- {provider: dev, response: ..., resolution: ...}` to `sla` if it should be",
        f"2 problems in {config}; the configuration was not accepted.",
    ]
    assert ("GET", "/rest/api/3/status") in server.standin.log
    assert "check-token" not in result.output

    # the same file, fixed, passes against the same site
    config.write_text(config.read_text().replace("Paymnet", "Payment").replace('"10099"', '"10007"'))
    fixed = _check(_env(server), str(config), "--jira", "default", "--quiet")
    assert fixed.exit_code == 0, fixed.output
    assert [line[:8] for line in fixed.output.splitlines()] == ["warning:"]


def test_unknown_jira_site_is_a_usage_error(server: StandInServer, tmp_path: Path) -> None:
    result = _check(_env(server), str(_config(tmp_path)), "--jira", "elsewhere")
    assert result.exit_code == 2 and "site 'elsewhere' is not configured" in result.output


def test_json_carries_both_tiers_and_the_stored_log_warnings(
    server: StandInServer, tmp_path: Path, db_url: str
) -> None:
    env = _env(server)
    backfill = CliRunner().invoke(
        main,
        ["backfill", "--config", str(DELIVERY), "--db", db_url, "--quiet"],
        env=env,
        catch_exceptions=False,
    )
    assert backfill.exit_code == 0, backfill.output
    config = _config(tmp_path)
    result = _check(env, str(config), "--db", db_url, "--jira", "default", "--format", "json")
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    assert report["file"] == str(config) and report["valid"] is False
    assert [(e["path"], e["line"]) for e in report["errors"]] == [
        ("teams.finance.statuses.queue[0]", _line_of(config, "Ready for Paymnet")),
        ("teams.finance.statuses.active[0]", _line_of(config, '{id: "10099"}')),
    ]
    # the generated issues walk In Development .. Done: the log never shows Blocked nor the finance statuses
    assert [(w["path"], w["message"]) for w in report["warnings"]] == [
        ("teams.finance.statuses.queue[0]",
         "status 'Ready for Paymnet' was never seen in the stored log of site 'default'"),
        ("teams.finance.statuses.active[0]", "status id 10099 was never seen in the stored log of site 'default'"),
        ("processes.delivery.stages[0]",
         "team 'dev' has no SLA row in process 'delivery': its work there is not clocked against a goal, only "
         "its quality is scored; add `- {provider: dev, response: ..., resolution: ...}` to `sla` if it should be"),
        ("processes.delivery.pause[0]", "status 'Blocked' was never seen in the stored log of site 'default'"),
    ]  # fmt: skip

    # warnings alone exit 0, and the JSON says the file is valid
    config.write_text(config.read_text().replace("Paymnet", "Payment").replace('"10099"', '"10007"'))
    ok = _check(env, str(config), "--db", db_url, "--format", "json")
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.stdout)["valid"] is True and json.loads(ok.stdout)["errors"] == []
