"""`baton rederive`: apply a configuration to the stored history, explicitly, with a progress bar.

Every derived request is recomputable from the transition log; this recomputes a site's requests
under the given configuration and records its fingerprint, the same as `serve` and `baton worker`
do on start for sites whose stored derivation was made under another configuration.
"""

from __future__ import annotations

import click

from baton.webhooks.cli.common import (
    config_option,
    db_option,
    load_config_or_exit,
    open_database,
    progress_bar,
)
from baton.webhooks.cli.errors import InvalidInput


@click.command("rederive")
@config_option(required=True)
@db_option()
@click.option("--site", "sites", multiple=True, help="Site to re-derive (repeatable; default: every site).")
@click.option("--stale-only", is_flag=True, help="Only sites derived under another configuration.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def rederive_cmd(
    config_path: str, db_url: str | None, sites: tuple[str, ...], stale_only: bool, quiet: bool
) -> None:
    """Re-derive the stored requests of every site (or --site) under --config."""
    from rich.progress import TaskID
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from baton.store.models import Site
    from baton.store.pipeline import config_fingerprint, rederive_site, stale_sites

    config = load_config_or_exit(config_path)
    engine = open_database(db_url, create=False)
    try:
        with Session(engine, expire_on_commit=False) as session:
            known = list(session.execute(select(Site.id).order_by(Site.id)).scalars())
            unknown = sorted(set(sites) - set(known))
            if unknown:
                raise InvalidInput(
                    f"no such site: {', '.join(unknown)}",
                    f"sites in this database: {', '.join(known) or 'none'}",
                )
            chosen = [site for site in known if not sites or site in sites]
            if stale_only:
                stale = set(stale_sites(session, config))
                chosen = [site for site in chosen if site in stale]
            progress = progress_bar(quiet)
            with progress:
                for site in chosen:
                    task = progress.add_task(f"re-deriving {site} (issues)", total=None)

                    def advance(done: int, total: int, task: TaskID = task) -> None:
                        progress.update(task, completed=done, total=total)

                    result = rederive_site(session, site, config, commit=True, progress=advance)
                    click.echo(f"{site}: {result.issues} issues, {result.requests} requests re-derived")
        click.echo(f"configuration {config_fingerprint(config)[:12]} applied to {len(chosen)} site(s)")
    finally:
        engine.dispose()


def register(group: click.Group) -> None:
    """Attach this module's commands to the `baton` group."""
    group.add_command(rederive_cmd)
