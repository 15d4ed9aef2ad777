"""The `baton` commands end to end: real HTTP to a contract-validating stand-in, a real database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from baton.webhooks.cli import main
from baton.webhooks.http.gadget_registry import GADGET_NAMES
from tests.contract.connector.contract import shared_contract
from tests.contract.connector.standin import JiraStandIn, generate_issues
from tests.contract.connector.standin_http import StandInServer, serving

CONFIG = "config/examples/delivery.yaml"


@pytest.fixture
def server() -> Iterator[StandInServer]:
    standin = JiraStandIn()
    standin.add_issues(generate_issues(80, seed=8))
    with serving(standin) as srv:
        srv.contract = shared_contract((srv.url,))
        yield srv
    assert not srv.violations, "\n".join(srv.violations)


def _run(args: list[str], env: dict[str, str]) -> str:
    result = CliRunner().invoke(main, args, env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_backfill_reconcile_writeback_and_dashboard(server: StandInServer, db_url: str) -> None:
    env = {
        "BATON_JIRA_URL": server.url,
        "BATON_JIRA_EMAIL": "ops@example.org",
        "BATON_JIRA_TOKEN": "cli-secret-token",
        "BATON_JIRA_FLAVOUR": "cloud",
    }
    common = ["--config", CONFIG, "--db", db_url]
    out = _run(["backfill", *common, "--page-size", "30"], env)  # with the rich progress bar
    assert "80 issues" in out and "cli-secret-token" not in out
    out = _run(["reconcile", *common, "--quiet"], env)
    assert "0 transitions had been missed" in out
    out = _run(["writeback", *common], env)
    assert "properties written" in out
    written = len(server.standin.issue_properties)
    assert written > 0
    assert "0 baton.sla properties written" in _run(["writeback", *common], env)

    plan = _run(["dashboard", "provision", *common, "--dry-run"], env)
    assert "Plan" in plan and not server.standin.dashboards
    _run(["dashboard", "provision", *common], env)
    _run(["dashboard", "provision", *common], env)
    assert len(server.standin.dashboards) == 1
    (dash_id,) = server.standin.dashboards
    assert len(server.standin.gadgets[dash_id]) == len(GADGET_NAMES)  # every registered gadget


def test_bad_credentials_exit_with_advice(server: StandInServer, db_url: str) -> None:
    original = server.standin.handle
    server.standin.handle = lambda m, p, q, b: (
        (401, {}, None) if p.endswith("approximate-count") else original(m, p, q, b)
    )  # type: ignore[method-assign]
    env = {
        "BATON_JIRA_URL": server.url,
        "BATON_JIRA_EMAIL": "ops@example.org",
        "BATON_JIRA_TOKEN": "wrong-token-123",
    }
    result = CliRunner().invoke(main, ["backfill", "--config", CONFIG, "--db", db_url, "--quiet"], env=env)
    assert result.exit_code == 1
    assert "401 Unauthorized" in result.output and "API token belongs to ops@example.org" in result.output
    assert "wrong-token-123" not in result.output
    missing = CliRunner().invoke(
        main, ["backfill", "--config", CONFIG, "--db", db_url], env={"BATON_JIRA_URL": ""}
    )
    assert missing.exit_code == 2 and "BATON_JIRA_URL" in missing.output


def test_backfill_summary_names_issues_matching_no_process(
    server: StandInServer, db_url: str, tmp_path: Path
) -> None:
    """Backfill reads every issue of the configured projects; those whose type no process lists are stored
    but yield no request, and the summary says so (issue 16, item 3; the old summary said nothing)."""
    text = Path(CONFIG).read_text(encoding="utf-8")
    text = text.replace("projects: [PROJ]  ", "projects: [PROJ]\n      issue_types: [Story, Task]\n  ")
    assert "issue_types: [Story, Task]" in text
    config = tmp_path / "delivery.yaml"
    config.write_text(text, encoding="utf-8")
    env = {"BATON_JIRA_URL": server.url, "BATON_JIRA_EMAIL": "ops@example.org", "BATON_JIRA_TOKEN": "t0ken"}
    out = _run(["backfill", "--config", str(config), "--db", db_url, "--quiet"], env)
    bugs = sorted((i for i in server.standin.issues if i.issue_type == "Bug"), key=lambda i: int(i.id))
    assert 0 < len(bugs) < 80
    examples = ", ".join(i.key for i in bugs[:3])
    assert out.splitlines()[1:] == [
        f"warning: {len(bugs)} stored issues match no process on site 'default', so no request is derived "
        f"from them: PROJ/Bug {len(bugs)} ({examples})",
        f"  PROJ/Bug: {len(bugs)} (issue_type), e.g. {examples}",
    ]
