"""Options every command shares, resolved once: --config and --db (defaults from the settings)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from baton.webhooks.cli.errors import InvalidInput
from baton.webhooks.settings import Settings

F = TypeVar("F", bound=Callable[..., Any])

CONFIG_ENV = "BATON_CONFIG"
DATABASE_ENV = "BATON_DATABASE_URL"


def settings() -> Settings:
    """The command's settings, read from the environment when the command runs."""
    return Settings.from_env()


def config_option(required: bool = False) -> Callable[[F], F]:
    return click.option(
        "--config",
        "config_path",
        type=click.Path(dir_okay=False),
        default=lambda: settings().config_path,
        required=required,
        help=f"PMO configuration YAML (default ${CONFIG_ENV}).",
    )


def db_option() -> Callable[[F], F]:
    return click.option(
        "--db",
        "db_url",
        default=lambda: settings().database_url,
        help=f"Database URL (default ${DATABASE_ENV}, else sqlite:///baton.db in the working directory).",
    )


def site_option() -> Callable[[F], F]:
    return click.option(
        "--site", "site", default="default", show_default=True, help="Jira site (tenant) name."
    )


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
        raise InvalidInput(
            f"{config_path}: invalid configuration:\n{error}", "`baton config check FILE` lists every problem"
        ) from error
    except OSError as error:
        raise InvalidInput(f"cannot read the configuration {config_path}: {error}") from error


def open_database(db_url: str | None) -> Any:
    """An engine on the migrated database (upgraded on the way); DatabaseUnavailable (exit 3) says what to fix."""
    from baton.store.db import create_engine_for, resolve_database_url, upgrade_database

    url = resolve_database_url(db_url)
    upgrade_database(url)
    return create_engine_for(url)
