"""Migrations on real, empty databases (SQLite and PostgreSQL), the CLI around them, engine settings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from click.testing import CliRunner
from sqlalchemy import Column, Engine, inspect, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from baton.scoring.model import REQUEST_COLUMNS
from baton.store.db import (
    DatabaseUnavailable,
    create_engine_for,
    current_revision,
    downgrade_database,
    head_revision,
    resolve_database_url,
    session_scope,
    upgrade_database,
)
from baton.store.models import Base, Delivery, RequestRow, Site, StagedRequestRow
from baton.webhooks.cli import main
from baton.webhooks.settings import Settings

TABLES = {
    "sites",
    "deliveries",
    "transitions",
    "issues",
    "statuses",
    "requests",
    "score_snapshots",
    "sync_checkpoints",
    "writeback_state",
    "alerts",
    "config_versions",
    "site_config_state",
    "requests_staging",
    "verdicts",
}


def _tables(url: str) -> set[str]:
    engine = create_engine_for(url)
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def test_upgrade_an_empty_database_creates_every_table(empty_db_url: str) -> None:
    assert current_revision(empty_db_url) is None
    assert upgrade_database(empty_db_url) == head_revision()
    assert _tables(empty_db_url) == TABLES
    assert upgrade_database(empty_db_url) == head_revision()  # a second run is a no-op


def test_migrations_match_the_models(empty_db_url: str) -> None:
    upgrade_database(empty_db_url)
    engine = create_engine_for(empty_db_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
    finally:
        engine.dispose()


def _column_shape(column: Column[object]) -> tuple[object, ...]:
    """Everything about a column but its table: name, type on both dialects, nullability, keys, defaults."""
    return (
        column.name,
        column.type.compile(dialect=sqlite.dialect()),
        column.type.compile(dialect=postgresql.dialect()),
        column.nullable,
        column.primary_key,
        column.autoincrement,
        None if column.default is None else column.default.arg,
        column.server_default,
        sorted((fk.target_fullname, fk.ondelete) for fk in column.foreign_keys),
    )


def test_staging_table_has_exactly_the_requests_columns() -> None:
    requests, staging = RequestRow.__table__, StagedRequestRow.__table__
    assert [c.name for c in requests.columns] == ["id", "site_id", *REQUEST_COLUMNS]
    assert [_column_shape(c) for c in staging.columns] == [_column_shape(c) for c in requests.columns]
    assert _column_shape(requests.c.site_id) == (
        "site_id",
        "VARCHAR(64)",
        "VARCHAR(64)",
        False,
        False,
        "auto",
        None,
        None,
        [("sites.id", "CASCADE")],
    )
    assert _column_shape(requests.c.id) == ("id", "INTEGER", "BIGINT", False, True, True, None, None, [])
    assert _column_shape(requests.c.rejected)[3:7] == (False, False, "auto", False)
    assert _column_shape(requests.c.verdict_at)[1:4] == ("DATETIME", "TIMESTAMP WITH TIME ZONE", True)
    # each table its own foreign key, named after it
    assert {fk.name for fk in requests.foreign_key_constraints} == {"fk_requests_site_id_sites"}
    assert {fk.name for fk in staging.foreign_key_constraints} == {"fk_requests_staging_site_id_sites"}


def test_migrated_staging_table_has_exactly_the_requests_columns(empty_db_url: str) -> None:
    upgrade_database(empty_db_url)
    engine = create_engine_for(empty_db_url)
    try:
        inspector = inspect(engine)

        def reflected(table: str) -> list[tuple[object, ...]]:
            return [
                (c["name"], str(c["type"]), c["nullable"], c["default"]) for c in inspector.get_columns(table)
            ]

        requests = reflected("requests")
        assert [c[0] for c in requests] == ["id", "site_id", *REQUEST_COLUMNS]
        staging = reflected("requests_staging")
        if engine.dialect.name == "postgresql":  # each table its own id sequence
            assert requests[0][3] == "nextval('requests_id_seq'::regclass)"
            assert staging[0][3] == "nextval('requests_staging_id_seq'::regclass)"
            requests, staging = requests[1:], staging[1:]
        assert staging == requests
    finally:
        engine.dispose()


def test_downgrade_and_upgrade_round_trip(empty_db_url: str) -> None:
    upgrade_database(empty_db_url)
    assert downgrade_database(empty_db_url, "base") is None
    assert _tables(empty_db_url) == set()
    assert upgrade_database(empty_db_url) == head_revision()
    assert _tables(empty_db_url) == TABLES


def test_every_table_carries_site_id() -> None:
    for table in Base.metadata.sorted_tables:
        column = "id" if table.name == "sites" else "site_id"
        assert column in table.c, table.name


def test_datetimes_come_back_aware_utc(engine: Engine) -> None:
    berlin = timezone(timedelta(hours=1))
    with session_scope(engine) as session:
        session.add(Site(id="s1", name="S1", created_at=datetime(2026, 3, 2, 10, 0, tzinfo=berlin)))
    with Session(engine) as session:
        created = session.execute(select(Site.created_at)).scalar_one()
    assert created == datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    assert created.utcoffset() == timedelta(0)


def test_session_scope_rolls_back_on_error(engine: Engine) -> None:
    with pytest.raises(RuntimeError), session_scope(engine) as session:
        session.add(Site(id="s1", name="S1"))
        session.flush()
        raise RuntimeError("boom")
    with Session(engine) as session:
        assert session.execute(select(Site)).first() is None


def test_sqlite_engine_settings(tmp_path: Path) -> None:
    engine = create_engine_for(f"sqlite:///{tmp_path / 'x.db'}")
    try:
        with engine.connect() as connection:
            assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
            assert connection.execute(text("PRAGMA synchronous")).scalar() == 1  # NORMAL
            assert connection.execute(text("PRAGMA busy_timeout")).scalar() >= 5000
    finally:
        engine.dispose()


def test_resolve_database_url(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("BATON_DATABASE_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    assert resolve_database_url(None) == f"sqlite:///{tmp_path / 'baton.db'}"
    monkeypatch.setenv("BATON_DATABASE_URL", "postgresql://u:p@db:5432/baton")
    # The store reads no environment: $BATON_DATABASE_URL reaches it through the settings.
    from_settings = Settings.from_env().database_url
    assert resolve_database_url(from_settings) == "postgresql+psycopg://u:p@db:5432/baton"
    assert resolve_database_url("sqlite:///other.db") == "sqlite:///other.db"
    assert resolve_database_url("postgres://h/x") == "postgresql+psycopg://h/x"


def test_migrations_run_from_any_working_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    url = f"sqlite:///{tmp_path / 'cwd.db'}"
    assert upgrade_database(url) == head_revision()


def test_cli_db_upgrade_and_current(empty_db_url: str) -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["db", "upgrade", "--db", empty_db_url])
    assert result.exit_code == 0, result.output
    assert "current revision: (empty database)" in result.output
    assert f"upgraded to: {head_revision()}" in result.output
    again = runner.invoke(main, ["db", "upgrade", "--db", empty_db_url])
    assert again.exit_code == 0 and "nothing to do" in again.output
    current = runner.invoke(main, ["db", "current", "--db", empty_db_url])
    assert current.exit_code == 0 and "up to date" in current.output


def test_cli_db_upgrade_takes_the_url_from_the_environment(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'env.db'}"
    result = CliRunner().invoke(main, ["db", "upgrade"], env={"BATON_DATABASE_URL": url})
    assert result.exit_code == 0, result.output
    assert current_revision(url) == head_revision()


def test_unreachable_postgresql_is_a_clear_error_with_exit_code_3() -> None:
    url = "postgresql://postgres@127.0.0.1:1/nowhere"  # port 1: nothing listens
    with pytest.raises(DatabaseUnavailable) as caught:
        upgrade_database(url)
    message = str(caught.value)
    assert message.startswith("could not connect to postgresql+psycopg://postgres@127.0.0.1:1/nowhere")
    assert "is PostgreSQL running? set --db or BATON_DATABASE_URL" in message
    for command in (["db", "upgrade"], ["db", "current"]):
        result = CliRunner().invoke(main, [*command, "--db", url])
        assert result.exit_code == 3, result.output  # unavailable (the CLI's exit-code table)
        assert "is PostgreSQL running?" in result.output
        assert "Traceback" not in result.output


def test_password_is_never_printed() -> None:
    url = "postgresql://baton:s3cret@127.0.0.1:1/nowhere"
    result = CliRunner().invoke(main, ["db", "upgrade", "--db", url])
    assert result.exit_code == 3
    assert "s3cret" not in result.output


def test_foreign_keys_are_enforced(engine: Engine) -> None:
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError), session_scope(engine) as session:
        session.add(Delivery(site_id="no-such-site", idempotency_key="k", body=b"{}", headers={}))
