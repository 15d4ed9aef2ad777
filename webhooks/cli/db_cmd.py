"""`baton db upgrade` and `baton db current`: the database schema (Alembic migrations shipped in `store/`)."""

from __future__ import annotations

import click

from baton.webhooks.cli.common import db_option


@click.group("db")
def db_group() -> None:
    """Database schema: migrate (upgrade) and show the current revision."""


@db_group.command("upgrade")
@db_option()
@click.option("--revision", default="head", show_default=True, help="Target Alembic revision.")
def upgrade_cmd(db_url: str | None, revision: str) -> None:
    """Migrate the database to the latest schema (safe to run again: does nothing when up to date)."""
    from baton.store.db import (
        current_revision,
        display_url,
        resolve_database_url,
        upgrade_database,
    )

    url = resolve_database_url(db_url)
    before = current_revision(url)
    after = upgrade_database(url, revision)
    click.echo(f"database: {display_url(url)}")
    click.echo(f"current revision: {before or '(empty database)'}")
    if before == after:
        click.echo(f"already at {after}: nothing to do")
    else:
        click.echo(f"upgraded to: {after}")


@db_group.command("current")
@db_option()
def current_cmd(db_url: str | None) -> None:
    """Print the database's schema revision and whether it is the latest."""
    from baton.store.db import (
        current_revision,
        display_url,
        head_revision,
        resolve_database_url,
    )

    url = resolve_database_url(db_url)
    current = current_revision(url)
    head = head_revision()
    click.echo(f"database: {display_url(url)}")
    click.echo(f"current revision: {current or '(empty database)'}")
    if current == head:
        click.echo(f"up to date (head {head})")
    else:
        click.echo(f"behind: head is {head}; run `baton db upgrade`")


def register(group: click.Group) -> None:
    """Attach this module's commands to the `baton` group."""
    group.add_command(db_group)
