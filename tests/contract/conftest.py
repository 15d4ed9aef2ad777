"""Contract-test fixtures: where the shared, read-only Jira fixtures live.

`../shared` relative to the repository (CI clones the repo with `shared/` beside it), or
`$BATON_SHARED_DIR`.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


def shared_dir() -> Path:
    override = os.environ.get("BATON_SHARED_DIR")
    return Path(override) if override else (REPO_ROOT.parent / "shared")


def fixtures_dir() -> Path:
    return shared_dir() / "fixtures"


@pytest.fixture(scope="session")
def fixtures() -> Path:
    path = fixtures_dir()
    if not path.is_dir():
        pytest.fail(f"shared fixtures not found at {path}; set BATON_SHARED_DIR to the shared/ folder")
    return path
