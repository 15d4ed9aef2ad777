"""`baton`: the one command-line entry point. Each area registers its commands from its own module."""

from __future__ import annotations

import click

from baton.webhooks.cli import (
    alerts_cmd,
    backfill_cmd,
    config_cmd,
    dashboard_cmd,
    db_cmd,
    inbox_cmd,
    query_cmd,
    rederive_cmd,
    replay_cmd,
    serve_cmd,
    verdict_cmd,
)
from baton.webhooks.cli.errors import BatonGroup


@click.group(
    cls=BatonGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110}
)
@click.version_option(package_name="baton")
def main() -> None:
    """Baton: internal service levels for Jira hand-offs.

    Every command takes --config FILE (default $BATON_CONFIG) and --db URL
    (default $BATON_DATABASE_URL, else ./baton.db).

    \b
    Exit codes:
      0  ok
      1  invalid input (a file, a value, a setting or a credential Baton cannot use)
      2  usage (a missing or unknown option or argument)
      3  unavailable or runtime failure (database or Jira unreachable, a worker failed)
    """


for _module in (
    config_cmd,
    db_cmd,
    replay_cmd,
    rederive_cmd,
    query_cmd,
    serve_cmd,
    inbox_cmd,
    backfill_cmd,
    dashboard_cmd,
    alerts_cmd,
    verdict_cmd,
):
    _module.register(main)
