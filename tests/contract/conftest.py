"""Contract-test fixtures: the recorded Jira payloads in tests/fixtures/ (see tests/recorded.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.recorded import FIXTURES


@pytest.fixture(scope="session")
def fixtures() -> Path:
    return FIXTURES
