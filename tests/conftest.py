"""Shared fixtures for tests that touch a real database.

Fixtures (names are stable; other suites rely on them):

- `db_url` (function scope, parametrised `["sqlite", "postgresql"]`): the URL of a database
  **migrated to head and emptied** for this test. SQLite: a fresh file in the test's tmp dir.
  PostgreSQL: a database created once per test session (per xdist worker) with a unique name
  `baton_test_<pid>_<random>` on the server of `$BATON_TEST_POSTGRES_URL` (default
  `postgresql://postgres@127.0.0.1:5432/test`; only its server and credentials are used: the new
  database is created through the server's `postgres` database), truncated before each test and
  dropped when the session ends, so concurrent test runs never collide. The URL is in the form
  `baton.store.db.resolve_database_url` returns (`postgresql+psycopg://...`), usable with `--db`.
- `db_kind`: `"sqlite"` or `"postgresql"`, the backend of the current `db_url`.
- `engine`: `baton.store.db.create_engine_for(db_url)`, disposed after the test.
- `session`: a `sqlalchemy.orm.Session` on `engine` (expire_on_commit=False), closed after the test.
- `site`: the id of a site (`"acme"`) that exists in the database (`baton.store.inbox.ensure_site`).
- `postgres_url`: like `db_url` but PostgreSQL only (for tests of PostgreSQL-specific behaviour).
- `empty_db_url` (parametrised like `db_url`): a database that has never been migrated
  (SQLite: a new file; PostgreSQL: a new database for this test, dropped afterwards).

If PostgreSQL is unreachable its parameters are skipped, except when `CI=true`: then they fail,
because CI must run the whole suite on both databases.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, make_url, text
from sqlalchemy.orm import Session

from baton.store.db import create_engine_for, resolve_database_url, upgrade_database
from baton.store.models import Base

POSTGRES_ENV = "BATON_TEST_POSTGRES_URL"
DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
]


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def _server_url(database: str) -> str:
    base = make_url(resolve_database_url(os.environ.get(POSTGRES_ENV) or DEFAULT_POSTGRES_URL))
    return base.set(database=database).render_as_string(hide_password=False)


def _psycopg_url(sqlalchemy_url: str) -> str:
    return sqlalchemy_url.replace("postgresql+psycopg://", "postgresql://", 1)


def _admin_connect():  # type: ignore[no-untyped-def]
    import psycopg

    return psycopg.connect(_psycopg_url(_server_url("postgres")), autocommit=True, connect_timeout=5)


def _create_database(prefix: str = "baton_test") -> str:
    name = f"{prefix}_{os.getpid()}_{secrets.token_hex(4)}"
    with _admin_connect() as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    return name


def _drop_database(name: str) -> None:
    with _admin_connect() as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def _postgres_available() -> None:
    try:
        with _admin_connect() as admin:
            admin.execute("SELECT 1")
    except Exception as error:
        message = f"PostgreSQL unreachable at {_server_url('postgres')} (set {POSTGRES_ENV}): {error}"
        if _in_ci():
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="session")
def _postgres_session_db(_postgres_available: None) -> Iterator[str]:
    name = _create_database()
    url = _server_url(name)
    try:
        upgrade_database(url)
        yield url
    finally:
        cleaner = _cleaners.pop(url, None)
        if cleaner is not None:
            cleaner.dispose()
        _drop_database(name)


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "baton.db"
    upgrade_database(f"sqlite:///{path}")  # disposes its engine: the WAL is checkpointed into the file
    return path


_cleaners: dict[str, Engine] = {}


def _empty_all_tables(url: str) -> None:
    """Empty every table and restart the id sequences (DELETE is much faster than TRUNCATE here)."""
    engine = _cleaners.get(url)
    if engine is None:
        engine = _cleaners[url] = create_engine_for(url, pool_size=1, max_overflow=0)
    with engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(table.delete())
        for table in Base.metadata.sorted_tables:
            if "id" in table.c and table.c.id.autoincrement is True:
                connection.execute(
                    text(f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), 1, false)")
                )


@pytest.fixture(params=BACKENDS)
def db_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def db_url(db_kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if db_kind == "sqlite":
        path = tmp_path / "baton.db"
        shutil.copyfile(request.getfixturevalue("_sqlite_template"), path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("_postgres_session_db")
    _empty_all_tables(url)
    return url


@pytest.fixture
def postgres_url(_postgres_session_db: str) -> str:
    _empty_all_tables(_postgres_session_db)
    return _postgres_session_db


@pytest.fixture
def empty_db_url(db_kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if db_kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    request.getfixturevalue("_postgres_available")
    name = _create_database("baton_empty")
    try:
        yield _server_url(name)
    finally:
        _drop_database(name)


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = create_engine_for(db_url)
    try:
        yield eng
    finally:
        eng.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    sess = Session(bind=engine, expire_on_commit=False)
    try:
        yield sess
    finally:
        sess.rollback()
        sess.close()


@pytest.fixture
def site(session: Session) -> str:
    from baton.store.inbox import ensure_site

    ensure_site(session, "acme", name="Acme Jira", base_url="https://acme.atlassian.net")
    session.commit()
    return "acme"
