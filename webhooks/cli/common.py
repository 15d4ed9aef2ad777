"""Options every command shares, resolved once: --config and --db (defaults from the settings)."""

from __future__ import annotations

import os
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


def open_database(db_url: str | None, *, create: bool = True) -> Any:
    """An engine on the migrated database (upgraded on the way); DatabaseUnavailable (exit 3) says what to fix.

    `create=False` is for commands that only read: a database that does not exist, or holds no Baton
    schema, is refused (exit 1) instead of being created empty, so a mistyped `--db` is not answered
    with an empty report."""
    from sqlalchemy.engine import make_url

    from baton.store.db import (
        create_engine_for,
        current_revision,
        is_sqlite,
        resolve_database_url,
        upgrade_database,
    )

    url = resolve_database_url(db_url)
    if not create:
        database = make_url(url).database
        if is_sqlite(url) and database and database != ":memory:" and not os.path.exists(database):
            raise InvalidInput(
                f"there is no database at {database}",
                "check --db (or $BATON_DATABASE_URL); `baton replay` or `baton db upgrade --db URL` creates one",
            )
        if current_revision(url) is None:
            raise InvalidInput(
                f"the database {make_url(url).render_as_string(hide_password=True)} holds no Baton data",
                "check --db (or $BATON_DATABASE_URL); load history with `baton replay` or `baton backfill`",
            )
    upgrade_database(url)
    return create_engine_for(url)


def progress_bar(quiet: bool) -> Any:
    """The CLI's one progress bar (description, bar, done of total, elapsed) on stderr, so stdout stays
    the command's output; `quiet` draws nothing."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        disable=quiet,
        transient=False,
    )


def config_given_on_command_line() -> bool:
    """`--config FILE` was typed (not taken from $BATON_CONFIG): the file is the truth."""
    context = click.get_current_context(silent=True)
    if context is None:
        return False
    return context.get_parameter_source("config_path") == click.core.ParameterSource.COMMANDLINE


def config_for_site(config_path: str | None, db_url: str | None, site: str) -> Any:
    """The configuration a read command uses for `site` (docs/configuration.md, "Precedence"): the file
    when `--config FILE` is given on the command line (or $BATON_CONFIG_AS_CODE is set); otherwise the
    version the site's stored requests are derived under, when one was published and applied; else the
    file default ($BATON_CONFIG). A clear CLI error when there is none."""
    if config_given_on_command_line() or settings().config_as_code:
        return load_config_or_exit(config_path)
    file_config = load_config_or_exit(config_path, required=False)
    try:
        engine = open_database(db_url, create=False)
    except InvalidInput:
        engine = None
    if engine is not None:
        from sqlalchemy.orm import Session

        from baton.store.live_config import ConfigResolver

        try:
            with Session(engine) as session:
                config = ConfigResolver(file_config).for_site(session, site)
        finally:
            engine.dispose()
        if config is not None:
            return config
    if file_config is None:
        raise click.UsageError(
            f"give --config FILE (or set ${CONFIG_ENV}): site '{site}' has no published configuration"
        )
    return file_config


def unmatched_line(summary: dict[str, Any], site: str) -> str:
    """One line about a site's issues that match no process (`baton.webhooks.serialize.unmatched_summary`):
    how many, and the largest groups; "" when there are none."""
    total = summary["total"]
    if not total:
        return ""
    groups = [
        f"{r['project'] or '(no project)'}/{r['issue_type'] or '(no type)'} {r['count']}"
        + (f" ({', '.join(r['examples'])})" if r.get("examples") else "")
        for r in summary["rows"][:3]
    ]
    more = len(summary["rows"]) - len(groups)
    listed = "; ".join(groups) + (f"; {more} more" if more > 0 else "")
    noun = "issue matches" if total == 1 else "issues match"
    return f"{total} stored {noun} no process on site '{site}', so no request is derived from them: {listed}"


def unmatched_table(rows: list[dict[str, Any]]) -> Any:
    """A rich table of issues matching no process (`unmatched_records`), for the replay and backfill
    summaries."""
    from rich.table import Table

    table = Table(title=f"issues matching no process ({sum(r['count'] for r in rows)})")
    for name in ("project", "issue type", "reason", "count", "examples"):
        table.add_column(name, justify="right" if name == "count" else "left", overflow="fold")
    for r in rows:
        table.add_row(
            r["project"] or "(none)",
            r["issue_type"] or "(none)",
            UNMATCHED_REASON_TEXT.get(r["reason"], r["reason"]),
            str(r["count"]),
            " ".join(r["examples"]),
        )
    return table


UNMATCHED_REASON_TEXT = {
    "no_project": "no project in the data",
    "project": "no process lists the project",
    "issue_type": "the project's processes do not list this type",
}
"""How each reason of `baton.scoring.handoffs.UNMATCHED_REASONS` reads on a terminal."""
