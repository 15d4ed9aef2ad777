"""`baton rederive`: apply a configuration to the stored history, explicitly, with a progress bar.

Every derived request is recomputable from the transition log; this recomputes a site's requests and
swaps them in atomically (`baton.store.rederive.rederive_staged`: readers see the old numbers or the new
ones, never half of each). Which configuration (docs/configuration.md, "Precedence"):

- `--config FILE` on the command line (or $BATON_CONFIG_AS_CODE): the file, for every chosen site, as
  `serve` and `baton worker` do on start for sites derived under another configuration;
- otherwise each site's latest published version (`baton config publish`), which becomes the applied
  one; a site with no published version gets the file default ($BATON_CONFIG).
"""

from __future__ import annotations

import click

from baton.webhooks.cli.common import (
    config_given_on_command_line,
    config_option,
    db_option,
    load_config_or_exit,
    open_database,
    progress_bar,
    settings,
)
from baton.webhooks.cli.errors import InvalidInput


@click.command("rederive")
@config_option()
@db_option()
@click.option("--site", "sites", multiple=True, help="Site to re-derive (repeatable; default: every site).")
@click.option(
    "--stale-only",
    is_flag=True,
    help="Only sites derived under another configuration (or with a published version not applied yet).",
)
@click.option("--quiet", is_flag=True, help="No progress bar.")
def rederive_cmd(
    config_path: str | None, db_url: str | None, sites: tuple[str, ...], stale_only: bool, quiet: bool
) -> None:
    """Re-derive the stored requests of every site (or --site): under --config FILE when it is typed,
    else under each site's latest published configuration version (else $BATON_CONFIG)."""
    from rich.progress import TaskID
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from baton.store import config_versions
    from baton.store.live_config import ConfigResolver
    from baton.store.models import Site
    from baton.store.pipeline import config_fingerprint, stale_sites
    from baton.store.rederive import apply_version, rederive_staged

    as_code = config_given_on_command_line() or settings().config_as_code
    file_config = load_config_or_exit(config_path, required=as_code)
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
            resolver = ConfigResolver(file_config, as_code=as_code)
            plan: list[tuple[str, int | None]] = []
            for site in chosen:
                newest = None if as_code else config_versions.latest(session, site)
                if newest is not None:
                    current = config_versions.applied_version(session, site) == newest.number
                    if not (stale_only and current and site not in stale_sites(session, resolver)):
                        plan.append((site, newest.number))
                elif file_config is None:
                    click.echo(
                        f"{site}: skipped (no published version and no --config/$BATON_CONFIG)", err=True
                    )
                elif not stale_only or site in stale_sites(session, file_config):
                    plan.append((site, None))
            progress = progress_bar(quiet)
            with progress:
                for site, number in plan:
                    label = f"version {number}" if number is not None else "the file"
                    task = progress.add_task(f"re-deriving {site} under {label} (issues)", total=None)

                    def advance(done: int, total: int, task: TaskID = task) -> None:
                        progress.update(task, completed=done, total=total)

                    if number is not None:
                        issues, requests = apply_version(
                            session, site, number, resolver, progress=advance, clock=settings().clock()
                        )
                        click.echo(
                            f"{site}: version {number} applied: {issues} issues, {requests} requests re-derived"
                        )
                    else:
                        issues, requests = rederive_staged(session, site, file_config, progress=advance)
                        click.echo(f"{site}: {issues} issues, {requests} requests re-derived")
        if file_config is not None and all(number is None for _site, number in plan):
            click.echo(f"configuration {config_fingerprint(file_config)[:12]} applied to {len(plan)} site(s)")
        else:
            click.echo(f"configurations applied to {len(plan)} site(s)")
    finally:
        engine.dispose()


def register(group: click.Group) -> None:
    """Attach this module's commands to the `baton` group."""
    group.add_command(rederive_cmd)
