"""`baton dashboard provision`: the "Internal service levels" dashboard on a Jira Cloud site."""

from __future__ import annotations

from datetime import UTC, datetime

import click

from baton.webhooks.cli.backfill_cmd import jira_errors, load_config_or_fail, resolve_jira_site
from baton.webhooks.cli.common import config_option, db_option, open_database, site_option


def register(group: click.Group) -> None:
    """Attach the `dashboard` group to the `baton` group."""

    @group.group("dashboard")
    def dashboard_group() -> None:
        """Jira dashboards showing Baton's scores."""

    @dashboard_group.command("provision")
    @config_option()
    @db_option()
    @site_option()
    @click.option("--dry-run", is_flag=True, help="Read the site and print the plan; change nothing.")
    @click.option(
        "--share",
        type=click.Choice(["private", "loggedin", "global"]),
        default="private",
        show_default=True,
        help="Who may view the dashboard and its filters.",
    )
    @click.option(
        "--no-snapshots", is_flag=True, help="Do not store score snapshots in the gadgets' properties."
    )
    def provision_command(
        config_path: str | None, db_url: str | None, site: str, dry_run: bool, share: str, no_snapshots: bool
    ) -> None:
        """Create or update the "Internal service levels" dashboard, idempotently.

        Uses Baton's Forge gadgets when the app is installed, else the built-in Filter Results and Two
        Dimensional Filter Statistics gadgets over saved filters it manages. Running it again finds the
        same dashboard, filters and gadgets and never adds a second copy.
        """
        from baton.connector.client import JiraClient
        from baton.connector.dashboard import DataCenterDashboards, provision, store_snapshots

        config = load_config_or_fail(config_path)
        engine = open_database(db_url)
        client = JiraClient(resolve_jira_site(site, engine))
        snapshots = None if no_snapshots else store_snapshots(engine, site, config, datetime.now(UTC))
        with jira_errors():
            try:
                result = provision(client, config, snapshots=snapshots, share=share, dry_run=dry_run)
            except DataCenterDashboards as error:
                raise click.ClickException(str(error)) from None
        click.echo(result.plan_text())
