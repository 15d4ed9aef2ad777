"""Read commands refuse a database that does not exist or holds no Baton data, instead of creating an
empty one and printing an empty report (issue 16, item 8)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.integration.cli.conftest import DEMO_CONFIG, baton


@pytest.mark.parametrize("command", ["requests", "score", "handoffs"])
def test_a_mistyped_sqlite_path_is_refused_and_not_created(command: str, tmp_path: Path) -> None:
    typo = tmp_path / "typo.db"
    result = baton(command, "--db", f"sqlite:///{typo}", "--config", str(DEMO_CONFIG))
    assert result.exit_code == 1
    assert f"there is no database at {typo}" in result.output
    assert not typo.exists()


def test_a_database_without_baton_data_is_refused(tmp_path: Path) -> None:
    empty = tmp_path / "empty.db"
    empty.touch()
    result = baton("score", "--db", f"sqlite:///{empty}", "--config", str(DEMO_CONFIG))
    assert result.exit_code == 1
    assert "holds no Baton data" in result.output
    with sqlite3.connect(empty) as connection:  # no schema was created in it
        assert connection.execute("SELECT name FROM sqlite_master").fetchall() == []
