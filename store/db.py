"""Database URLs, engines, sessions and migrations.

    url = resolve_database_url(None)          # the given URL (--db or $BATON_DATABASE_URL via the settings), else ./baton.db
    upgrade_database(url)                     # Alembic `upgrade head`, from the installed package
    engine = create_engine_for(url)
    with session_scope(engine) as session:    # commits once at the end, rolls back on error
        ...

SQLite is the embedded default (WAL journal, busy timeout, foreign keys, synchronous=NORMAL);
PostgreSQL (`postgresql://...`, driven by psycopg 3) is the production database.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.engine import URL
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

DATABASE_ENV = "BATON_DATABASE_URL"
SQLITE_BUSY_TIMEOUT_MS = 30_000
STORE_DIR = Path(__file__).resolve().parent
ALEMBIC_INI = STORE_DIR / "alembic.ini"
MIGRATIONS_DIR = STORE_DIR / "migrations"


class DatabaseUnavailable(RuntimeError):
    """The database cannot be reached or opened; the message says what to do. The one such class: HTTP
    answers it with 503 (`baton.webhooks.http.errors.HTTP_STATUS`), the CLI exits 3
    (`baton.webhooks.cli.errors`)."""


def resolve_database_url(url: str | None = None) -> str:
    """The database URL to use: `url`, else `sqlite:///<cwd>/baton.db`. Callers pass $BATON_DATABASE_URL
    from `baton.webhooks.settings.Settings` (the store reads no environment).

    `postgresql://` and `postgres://` are rewritten to `postgresql+psycopg://` (psycopg 3)."""
    chosen = (url or "").strip()
    if not chosen:
        return f"sqlite:///{Path.cwd() / 'baton.db'}"
    for prefix in ("postgresql://", "postgres://"):
        if chosen.startswith(prefix):
            return "postgresql+psycopg://" + chosen[len(prefix) :]
    return chosen


def is_sqlite(url: str | URL) -> bool:
    return make_url(str(url) if isinstance(url, URL) else url).get_backend_name() == "sqlite"


def display_url(url: str | URL) -> str:
    """The URL with any password hidden, for messages and logs."""
    parsed = make_url(url) if isinstance(url, str) else url
    return parsed.render_as_string(hide_password=True)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
    finally:
        cursor.close()


def create_engine_for(url: str | None = None, **kwargs: Any) -> Engine:
    """An engine for `url` (resolved with `resolve_database_url`), configured for its dialect.

    Extra keyword arguments go to `sqlalchemy.create_engine` (e.g. `pool_size`)."""
    resolved = resolve_database_url(url)
    parsed = make_url(resolved)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        options: dict[str, Any] = {"connect_args": {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}}
        options.update(kwargs)
        engine = create_engine(parsed, **options)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    options = {
        "pool_size": 5,
        "max_overflow": 10,
        "pool_pre_ping": True,
        "pool_recycle": 1800,
        "pool_timeout": 30,
    }
    if parsed.get_backend_name() == "postgresql":
        options["connect_args"] = {"connect_timeout": 10, "application_name": "baton"}
    options.update(kwargs)
    return create_engine(parsed, **options)


def unavailable_message(url: str | URL, error: BaseException | None = None) -> str:
    shown = display_url(url)
    detail = f" ({str(error).strip().splitlines()[0]})" if error is not None and str(error).strip() else ""
    if is_sqlite(url):
        return (
            f"could not open {shown}: check that the directory exists and is writable; "
            f"set --db or {DATABASE_ENV}{detail}"
        )
    return f"could not connect to {shown}: is PostgreSQL running? set --db or {DATABASE_ENV}{detail}"


def _original(error: OperationalError) -> BaseException:
    return error.orig if error.orig is not None else error


def check_connection(engine: Engine) -> None:
    """Open one connection; raise DatabaseUnavailable with a helpful message if that fails."""
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1")
    except OperationalError as error:
        raise DatabaseUnavailable(unavailable_message(engine.url, _original(error))) from error


def alembic_config(url: str | None = None, engine: Engine | None = None) -> Any:
    """An Alembic Config for the migrations shipped in this package (independent of the CWD).

    The URL travels in `config.attributes` (not the ini file), so passwords with `%` are safe."""
    from alembic.config import Config

    config = Config(str(ALEMBIC_INI))
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["baton_url"] = resolve_database_url(url) if engine is None else str(engine.url)
    if engine is not None:
        config.attributes["baton_engine"] = engine
    return config


def current_revision(url: str | None = None, engine: Engine | None = None) -> str | None:
    """The database's Alembic revision (None for an empty database)."""
    from alembic.runtime.migration import MigrationContext

    owned = engine is None
    engine = engine or create_engine_for(url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    except OperationalError as error:
        raise DatabaseUnavailable(unavailable_message(engine.url, _original(error))) from error
    finally:
        if owned:
            engine.dispose()


def head_revision() -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def upgrade_database(
    url: str | None = None, revision: str = "head", engine: Engine | None = None
) -> str | None:
    """Migrate the database to `revision` (default: head) and return the revision it is at afterwards."""
    from alembic import command

    owned = engine is None
    engine = engine or create_engine_for(url)
    try:
        check_connection(engine)
        command.upgrade(alembic_config(engine=engine), revision)
        return current_revision(engine=engine)
    except OperationalError as error:
        raise DatabaseUnavailable(unavailable_message(engine.url, _original(error))) from error
    finally:
        if owned:
            engine.dispose()


def downgrade_database(
    url: str | None = None, revision: str = "base", engine: Engine | None = None
) -> str | None:
    from alembic import command

    owned = engine is None
    engine = engine or create_engine_for(url)
    try:
        check_connection(engine)
        command.downgrade(alembic_config(engine=engine), revision)
        return current_revision(engine=engine)
    finally:
        if owned:
            engine.dispose()


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session that commits once when the block ends and rolls back if it raises."""
    session = Session(bind=engine, expire_on_commit=False)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


__all__ = [
    "DATABASE_ENV",
    "DatabaseUnavailable",
    "alembic_config",
    "check_connection",
    "create_engine_for",
    "current_revision",
    "display_url",
    "downgrade_database",
    "head_revision",
    "is_sqlite",
    "resolve_database_url",
    "session_factory",
    "session_scope",
    "unavailable_message",
    "upgrade_database",
]
