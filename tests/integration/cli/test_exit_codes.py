"""The CLI's one exit-code table: 0 ok, 1 invalid input, 2 usage, 3 unavailable or runtime failure."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy.exc import OperationalError

from baton.config.errors import ConfigError, Problem
from baton.connector.client import JiraAuthError, JiraError
from baton.store.db import DatabaseUnavailable
from baton.webhooks.cli import errors, main
from baton.webhooks.settings import SettingsError
from tests.integration.cli.conftest import DEMO_CONFIG

UNREACHABLE = "postgresql://nobody@127.0.0.1:1/nowhere"  # port 1: nothing listens


def _run(*args: str, **env: str) -> Result:
    return CliRunner().invoke(main, list(args), env={"BATON_CONFIG": "", "BATON_DATABASE_URL": "", **env})


def test_0_ok() -> None:
    result = _run("config", "check", "--quiet", str(DEMO_CONFIG))
    assert result.exit_code == 0, result.output
    assert result.output == ""


def test_1_invalid_input_a_broken_configuration(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("teams: [\n")
    result = _run(
        "worker", "--config", str(broken), "--db", f"sqlite:///{tmp_path / 'w.db'}", "--exit-when-idle"
    )
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith(f"error: {broken}: invalid configuration:")
    assert "hint: `baton config check FILE` lists every problem" in result.stderr


def test_1_invalid_input_a_setting() -> None:
    result = _run("db", "current", BATON_MODE="fast")  # --db's default comes from the settings
    assert result.exit_code == 1, result.output
    assert result.stderr == "error: BATON_MODE: 'fast' is not a mode; set embedded (default) or production\n"


def test_1_invalid_input_an_unknown_delivery(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'i.db'}"
    assert _run("db", "upgrade", "--db", url).exit_code == 0
    result = _run("inbox", "show", "7", "--db", url)
    assert result.exit_code == 1, result.output
    assert result.stderr == "error: no delivery 7\nhint: list them with `baton inbox list`\n"


def test_2_usage() -> None:
    result = _run("db", "current", "--no-such-option")
    assert result.exit_code == 2
    assert "Error: No such option '--no-such-option'." in result.stderr


def test_2_usage_a_missing_argument(tmp_path: Path) -> None:
    result = _run("inbox", "retry", "--db", f"sqlite:///{tmp_path / 'r.db'}")
    assert result.exit_code == 2
    assert "give delivery ids, --all-failed or --stale" in result.stderr


def test_3_unavailable() -> None:
    result = _run("db", "current", "--db", UNREACHABLE)
    assert result.exit_code == 3, result.output
    assert result.stderr.startswith(
        "error: could not connect to postgresql+psycopg://nobody@127.0.0.1:1/nowhere"
    )
    assert "hint: check --db / BATON_DATABASE_URL" in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (errors.InvalidInput("x"), 1),
        (ConfigError([Problem((), None, "bad")], "f.yaml"), 1),
        (SettingsError("BATON_MODE", "bad", "fix it"), 1),
        (JiraAuthError("401 Unauthorized"), 1),
        (errors.Unavailable("x"), 3),
        (DatabaseUnavailable("x"), 3),
        (OperationalError("SELECT 1", {}, Exception("gone")), 3),
        (JiraError("Jira did not answer"), 3),
    ],
)
def test_the_table(error: Exception, code: int) -> None:
    assert errors.exit_code_for(error) == code
    assert errors.as_cli_error(error).exit_code == code


def test_help_documents_the_exit_codes() -> None:
    result = _run("--help")
    assert result.exit_code == 0
    for line in (
        "0  ok",
        "1  invalid input (a file, a value, a setting or a credential Baton cannot use)",
        "2  usage (a missing or unknown option or argument)",
        "3  unavailable or runtime failure (database or Jira unreachable, a worker failed)",
    ):
        assert line in result.output
