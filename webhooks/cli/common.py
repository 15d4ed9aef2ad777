"""Options every command shares, resolved once: --config and --db."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])

CONFIG_ENV = "BATON_CONFIG"
DATABASE_ENV = "BATON_DATABASE_URL"


def config_option(required: bool = False) -> Callable[[F], F]:
    return click.option(
        "--config",
        "config_path",
        type=click.Path(dir_okay=False),
        envvar=CONFIG_ENV,
        required=required,
        help=f"PMO configuration YAML (default ${CONFIG_ENV}).",
    )


def db_option() -> Callable[[F], F]:
    return click.option(
        "--db",
        "db_url",
        envvar=DATABASE_ENV,
        default=None,
        help=f"Database URL (default ${DATABASE_ENV}, else sqlite:///baton.db in the working directory).",
    )


def site_option() -> Callable[[F], F]:
    return click.option(
        "--site", "site", default="default", show_default=True, help="Jira site (tenant) name."
    )


def env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


class DatabaseUnreachable(click.ClickException):
    """The database cannot be reached or opened: exit code 2, with what to do."""

    exit_code = 2


def load_config_or_exit(config_path: str | None, *, required: bool = True, why: str = "") -> Any:
    """The PMO configuration, or a clear CLI error (every problem, with the file's lines)."""
    if not config_path:
        if required:
            raise click.UsageError(f"give --config FILE (or set ${CONFIG_ENV}){why}")
        return None
    from baton.config import ConfigError, load_config

    try:
        return load_config(config_path)
    except ConfigError as error:
        raise click.ClickException(
            f"{config_path}: invalid configuration (see `baton config check`):\n{error}"
        ) from error
    except OSError as error:
        raise click.ClickException(f"cannot read the configuration {config_path}: {error}") from error


def open_database(db_url: str | None) -> Any:
    """An engine on the migrated database (upgraded on the way), or exit 2 saying what to fix."""
    from baton.store.db import DatabaseUnavailable, create_engine_for, resolve_database_url, upgrade_database

    url = resolve_database_url(db_url)
    try:
        upgrade_database(url)
        return create_engine_for(url)
    except DatabaseUnavailable as error:
        raise DatabaseUnreachable(str(error)) from error
