"""Alembic environment for Baton. The engine or URL comes from `baton.store.db.alembic_config`."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from baton.store.models import Base

config = context.config
target_metadata = Base.metadata


def _configure_and_run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_offline() -> None:
    from baton.store.db import resolve_database_url

    url = config.attributes.get("baton_url") or resolve_database_url(config.get_main_option("sqlalchemy.url"))
    context.configure(url=url, target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    from baton.store.db import create_engine_for

    connection = config.attributes.get("connection")
    if connection is not None:
        _configure_and_run(connection)
        return
    engine = config.attributes.get("baton_engine")
    owned = engine is None
    if engine is None:
        engine = create_engine_for(
            config.attributes.get("baton_url") or config.get_main_option("sqlalchemy.url")
        )
    try:
        with engine.connect() as connection:
            _configure_and_run(connection)
            connection.commit()
    finally:
        if owned:
            engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
