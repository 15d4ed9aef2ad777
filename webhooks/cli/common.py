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
    return click.option("--site", "site", default="default", show_default=True, help="Jira site (tenant) name.")


def env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}
