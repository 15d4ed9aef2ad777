"""The CLI's one mapper from error to exit code. Commands raise typed errors; `BatonGroup` catches them
once, prints `error: ...` and the hint to stderr, and exits with the code from `EXIT_CODES`.

| code | meaning |
|---|---|
| 0 | done |
| 1 | invalid input: a file, an argument's value, a setting or a credential Baton cannot use |
| 2 | usage: a missing or unknown option or argument (click's own usage errors) |
| 3 | unavailable or runtime failure: the database or Jira cannot be reached, a worker failed |
"""

from __future__ import annotations

from typing import IO, Any

import click
from sqlalchemy.exc import OperationalError

from baton.config.errors import ConfigError
from baton.connector.client import JiraAuthError, JiraError
from baton.store.config_versions import ConfigConflict, ConfigVersionNotFound
from baton.store.db import DatabaseUnavailable
from baton.webhooks.settings import SettingsError

OK = 0
INVALID_INPUT = 1
USAGE = 2
UNAVAILABLE = 3


class CliError(click.ClickException):
    """A failure the CLI reports as `error: <message>` plus a hint."""

    exit_code = UNAVAILABLE

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(f"error: {self.format_message()}", err=True)
        if self.hint:
            click.echo(f"hint: {self.hint}", err=True)


class InvalidInput(CliError):
    """A file, an argument's value, a setting or a credential Baton cannot use."""

    exit_code = INVALID_INPUT


class ProblemsReported(InvalidInput):
    """The command has printed the problems itself (a report on stdout); only the exit code is left."""

    def __init__(self) -> None:
        super().__init__("")

    def show(self, file: IO[Any] | None = None) -> None:
        return None


class Unavailable(CliError):
    """Something Baton needs cannot be reached, or a run failed at runtime."""

    exit_code = UNAVAILABLE


EXIT_CODES: dict[type[BaseException], int] = {
    InvalidInput: INVALID_INPUT,
    ConfigError: INVALID_INPUT,
    ConfigConflict: INVALID_INPUT,
    ConfigVersionNotFound: INVALID_INPUT,
    SettingsError: INVALID_INPUT,
    JiraAuthError: INVALID_INPUT,
    click.UsageError: USAGE,
    Unavailable: UNAVAILABLE,
    DatabaseUnavailable: UNAVAILABLE,
    OperationalError: UNAVAILABLE,
    JiraError: UNAVAILABLE,
    click.ClickException: INVALID_INPUT,
}
"""Error type -> exit code; a subclass exits with its nearest listed ancestor's code."""


def exit_code_for(error: BaseException) -> int:
    for kind in type(error).__mro__:
        if kind in EXIT_CODES:
            return EXIT_CODES[kind]
    return UNAVAILABLE


def _hint(error: BaseException) -> str | None:
    if isinstance(error, ConfigError):
        return "`baton config check FILE` lists every problem with its line"
    if isinstance(error, ConfigConflict):
        return "`baton config export` prints the latest version; apply your change to it and publish again"
    if isinstance(error, ConfigVersionNotFound):
        return "`baton config history --site SITE` lists the versions"
    if isinstance(error, SettingsError):
        return None  # the message already says what to set
    if isinstance(error, DatabaseUnavailable | OperationalError):
        return "check --db / BATON_DATABASE_URL and that the database server runs"
    return None


def as_cli_error(error: Exception) -> click.ClickException:
    """`error` as the ClickException click prints and exits with (usage errors keep click's own output)."""
    if isinstance(error, click.UsageError):
        return error
    if isinstance(error, CliError):
        return error
    message = error.format_message() if isinstance(error, click.ClickException) else str(error)
    kind = InvalidInput if exit_code_for(error) == INVALID_INPUT else Unavailable
    return kind(message, _hint(error))


class BatonGroup(click.Group):
    """The `baton` group: every command's typed error goes through `as_cli_error`, in this one place."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.exceptions.Exit:
            raise
        except (click.Abort, KeyboardInterrupt):
            raise
        except (
            click.ClickException,
            ConfigError,
            ConfigConflict,
            ConfigVersionNotFound,
            SettingsError,
            DatabaseUnavailable,
            OperationalError,
            JiraError,
        ) as error:
            raise as_cli_error(error) from error
