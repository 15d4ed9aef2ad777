"""Helpers for the CLI integration tests: the recorded fixtures folder and a `baton` runner."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from baton.webhooks.cli import main
from tests.recorded import FIXTURES

REPO_ROOT = Path(__file__).resolve().parents[3]
DEMO_CONFIG = REPO_ROOT / "config" / "examples" / "demo.yaml"


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    return FIXTURES


def baton(*args: str) -> Result:
    """Run `baton ARGS...` in-process (no environment leaks into --config/--db)."""
    runner = CliRunner()
    env = {"BATON_CONFIG": "", "BATON_DATABASE_URL": ""}
    return runner.invoke(main, list(args), env=env, catch_exceptions=False)


def baton_json(*args: str, exit_code: int = 0) -> Any:
    result = baton(*args)
    assert result.exit_code == exit_code, result.output
    return json.loads(result.stdout)
