"""`baton backfill`, `baton reconcile`, `baton writeback`: the Jira REST side of the transition log.

Sites and credentials: docs/jira-connector.md (BATON_JIRA_URL, BATON_JIRA_EMAIL, BATON_JIRA_TOKEN,
BATON_JIRA_OAUTH_TOKEN, BATON_JIRA_PAT, per-site BATON_JIRA_<SITE>_...). Exit codes (the CLI's table,
`baton.webhooks.cli.errors`): 0 done, 1 Jira refused the credentials (the message says what to fix),
2 bad usage or a site that is not configured, 3 Jira or the database unreachable, 130 interrupted (run
the same command again to resume).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import click

from baton.webhooks.cli.common import (
    config_option,
    db_option,
    load_config_or_exit,
    open_database,
    site_option,
)
from baton.webhooks.settings import Settings


def _parse_since(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(
            f"'{value}' is not a date; write 2026-03-01 or 2026-03-01T09:00+01:00"
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def load_config_or_fail(config_path: str | None) -> Any:
    return load_config_or_exit(config_path, why=": the process projects bound the backfill")


def resolve_jira_site(name: str, engine: Any) -> Any:
    """The Jira site `name` from the environment, else from the sites table (URL) + environment (secret)."""
    from sqlalchemy.orm import Session

    from baton.connector.sites import SiteConfigError, resolve_site
    from baton.store.models import Site as SiteRow

    with Session(engine) as session:
        rows = [{"name": r.id, "url": r.base_url} for r in session.query(SiteRow).all() if r.base_url]
    try:
        return resolve_site(name, Settings.from_env().jira, rows)
    except SiteConfigError as error:
        raise click.UsageError(str(error)) from error


@contextmanager
def jira_errors() -> Iterator[None]:
    """Ctrl-C says how to resume. Typed Jira errors go to the CLI's exit-code mapper
    (`baton.webhooks.cli.errors`: bad credentials 1, Jira unreachable 3)."""
    try:
        yield
    except KeyboardInterrupt:
        click.echo(
            "interrupted: every committed page is kept; run the same command again to resume", err=True
        )
        raise SystemExit(130) from None


def _options(page_size: int, concurrency: int, since: str | None, jql: str | None, full: bool) -> Any:
    from baton.connector.backfill import BackfillOptions

    return BackfillOptions(
        since=_parse_since(since), jql=jql, full=full, page_size=page_size, concurrency=concurrency
    )


def _progress(quiet: bool, label: str) -> Any:
    from baton.connector.backfill import NoProgress, RichProgress

    return NoProgress() if quiet else RichProgress(label=label)


def report_unmatched(engine: Any, site: str, config: Any, issue_ids: set[str]) -> None:
    """After a backfill or reconcile run: the issues it read that match no process (stored, but no request
    is derived from them), counted per project and issue type with example keys."""
    from sqlalchemy.orm import Session

    from baton.store.pipeline import unmatched_report
    from baton.webhooks.cli.common import unmatched_line
    from baton.webhooks.serialize import unmatched_summary

    if not issue_ids:
        return
    with Session(engine) as session:
        summary = unmatched_summary(unmatched_report(session, site, config, issue_ids))
    line = unmatched_line(summary, site)
    if line:
        click.echo(f"warning: {line}")
        for r in summary["rows"]:
            project, itype = r["project"] or "(no project)", r["issue_type"] or "(no type)"
            click.echo(f"  {project}/{itype}: {r['count']} ({r['reason']}), e.g. {', '.join(r['examples'])}")


def _common(fn: Callable[..., Any]) -> Callable[..., Any]:
    for decorator in reversed(
        [
            config_option(),
            db_option(),
            site_option(),
            click.option(
                "--page-size", default=500, show_default=True, help="Issues asked for per search page."
            ),
            click.option(
                "--concurrency",
                default=4,
                show_default=True,
                help="Parallel changelog requests (keep it small).",
            ),
            click.option("--quiet", "-q", is_flag=True, help="No progress bar."),
        ]
    ):
        fn = decorator(fn)
    return fn


def register(group: click.Group) -> None:
    """Attach backfill, reconcile and writeback to the `baton` group."""

    @group.command("backfill")
    @_common
    @click.option(
        "--since", default=None, help="Only issues updated on/after this date (default: since the last sync)."
    )
    @click.option(
        "--jql", default=None, help="Extra JQL, ANDed with the configured projects (e.g. 'type = Bug')."
    )
    @click.option(
        "--full", is_flag=True, help="Ignore the last sync time and read everything the JQL matches."
    )
    def backfill_command(
        config_path: str | None,
        db_url: str | None,
        site: str,
        page_size: int,
        concurrency: int,
        quiet: bool,
        since: str | None,
        jql: str | None,
        full: bool,
    ) -> None:
        """Read issues and their complete status history from Jira into the transition log.

        Resumable (an interrupted run continues after its last committed page) and incremental (a new run
        asks only for issues updated since the last completed one, minus 15 minutes). Changes a webhook
        already delivered are stored once.
        """
        from baton.connector.backfill import Backfill
        from baton.connector.client import JiraClient
        from baton.connector.store_ledger import StoreLedger

        config = load_config_or_fail(config_path)
        engine = open_database(db_url)
        jira_site = resolve_jira_site(site, engine)
        client = JiraClient(jira_site, pool_size=max(4, concurrency + 2))
        with jira_errors():
            report = Backfill(
                client,
                StoreLedger(engine, config),
                config,
                _options(page_size, concurrency, since, jql, full),
                progress=_progress(quiet, f"backfill {site}"),
            ).run()
        click.echo(report.summary())
        report_unmatched(engine, site, config, report.issue_ids)

    @group.command("reconcile")
    @_common
    def reconcile_command(
        config_path: str | None, db_url: str | None, site: str, page_size: int, concurrency: int, quiet: bool
    ) -> None:
        """Re-read recently updated issues and record the transitions webhooks missed.

        Runs the incremental backfill and reports how many transitions were new to the log. While serving,
        set BATON_RECONCILE_INTERVAL (e.g. 15m) to run it in the background.
        """
        from baton.connector.client import JiraClient
        from baton.connector.reconcile import reconcile
        from baton.connector.store_ledger import StoreLedger

        config = load_config_or_fail(config_path)
        engine = open_database(db_url)
        client = JiraClient(resolve_jira_site(site, engine), pool_size=max(4, concurrency + 2))
        with jira_errors():
            report = reconcile(
                client,
                StoreLedger(engine, config),
                config,
                _options(page_size, concurrency, None, None, False),
                progress=_progress(quiet, f"reconcile {site}"),
            )
        click.echo(report.summary())
        report_unmatched(engine, site, config, report.backfill.issue_ids)

    @group.command("writeback")
    @config_option()
    @db_option()
    @site_option()
    @click.option("--concurrency", default=4, show_default=True, help="Parallel property writes.")
    @click.option("--dry-run", is_flag=True, help="Count what would be written; write nothing.")
    def writeback_command(
        config_path: str | None, db_url: str | None, site: str, concurrency: int, dry_run: bool
    ) -> None:
        """Write the `baton.sla` issue property on every issue whose SLA state changed.

        Needs 'Browse projects' and 'Edit issues'. Unchanged issues are skipped (a hash of the last
        written document is kept in the database).
        """
        from baton.connector.client import JiraClient
        from baton.connector.store_ledger import StoreLedger
        from baton.connector.writeback import load_site_requests, writeback

        config = load_config_or_fail(config_path)
        engine = open_database(db_url)
        client = JiraClient(resolve_jira_site(site, engine), pool_size=max(4, concurrency + 2))
        now = datetime.now(UTC)
        with jira_errors():
            report = writeback(
                client,
                StoreLedger(engine, config),
                config,
                load_site_requests(engine, site),
                now,
                concurrency=concurrency,
                dry_run=dry_run,
            )
        click.echo(("(dry run) " if dry_run else "") + report.summary())
