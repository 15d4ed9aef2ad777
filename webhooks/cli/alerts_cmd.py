"""`baton alerts send`: one alert pass (store new crossings, send what is pending); `baton alerts list`:
the alert log; `baton alerts retry`: send alerts a target refused once more.

The same pass the worker and the embedded server run every minute
(`baton.webhooks.worker.alert_schedule.run_alert_pass`). Exit codes: 0 when every alert of the pass
was sent (or there was nothing to send), 3 when some are left pending or failed (the target is down or
refused them; the next pass retries the pending ones), 1 for a configuration without `alerts:`.
"""

from __future__ import annotations

import json

import click

from baton.webhooks.cli.common import config_option, db_option, load_config_or_exit, open_database, settings
from baton.webhooks.cli.errors import InvalidInput, Unavailable
from baton.webhooks.cli.query_cmd import _parse_instant


@click.group("alerts")
def alerts_group() -> None:
    """Notify alert targets of requests that crossed into at risk or breached (docs/operations.md)."""


@alerts_group.command("send")
@config_option(required=True)
@db_option()
@click.option(
    "--now",
    "now_text",
    default=None,
    help="Evaluate clocks as of this instant (default: $BATON_NOW, else now).",
)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def send_cmd(config_path: str, db_url: str | None, now_text: str | None, fmt: str) -> None:
    """One pass: store the crossings not stored yet, send every pending alert, print what was sent."""
    from baton.webhooks.worker.alert_schedule import run_alert_pass

    config = load_config_or_exit(config_path)
    if not config.alerts:
        raise InvalidInput(
            f"{config_path} has no `alerts:` targets: there is nowhere to send alerts",
            'add an `alerts:` list (docs/configuration.md, "Alerts")',
        )
    current = settings()
    now = _parse_instant(now_text, "--now") or current.clock()()
    engine = open_database(db_url)
    try:
        report = run_alert_pass(engine, config, now, current)
    finally:
        engine.dispose()
    if fmt == "json":
        click.echo(
            json.dumps(
                {
                    "now": now.isoformat(),
                    "new": report.new,
                    "outcomes": [
                        {
                            "site": o.site,
                            "target": o.target,
                            "kind": o.kind,
                            "request": o.request_key,
                            "issue": o.issue_key,
                            "state": o.state,
                            "status": o.status,
                            "attempts": o.attempts,
                            "error": o.error,
                        }
                        for o in report.outcomes
                    ],
                },
                indent=2,
            )
        )
    else:
        for o in report.outcomes:
            issue = o.issue_key or o.request_key
            line = f"{o.status:8} {o.site}  {issue}  {o.state}  -> {o.target} ({o.kind})"
            click.echo(line + (f"  [{o.error}; {o.attempts} attempts]" if o.error else ""))
        click.echo(
            f"{report.new} new crossing(s) stored; {len(report.sent)} alert(s) sent, "
            f"{len(report.unsent)} not sent"
        )
    if report.unsent:
        raise Unavailable(
            f"{len(report.unsent)} alert(s) not sent",
            "pending ones are retried on the next pass; `baton alerts list --status failed` shows refused ones",
        )


@alerts_group.command("list")
@db_option()
@click.option("--site", "site", default=None, help="Only this site (default: every site).")
@click.option("--status", type=click.Choice(["pending", "sent", "failed"]), default=None)
@click.option("--limit", type=click.IntRange(1, 10000), default=100, show_default=True)
def list_cmd(db_url: str | None, site: str | None, status: str | None, limit: int) -> None:
    """The alert log, newest crossing first: status, attempts and the last error of each alert."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from baton.store.alerts import list_alerts
    from baton.store.models import Site

    engine = open_database(db_url, create=False)
    try:
        with Session(engine) as session:
            sites = [site] if site else list(session.execute(select(Site.id).order_by(Site.id)).scalars())
            for name in sites:
                for row in list_alerts(session, name, status=status, limit=limit):
                    when = row.crossed_at.strftime("%Y-%m-%d %H:%M")
                    error = f"  [{row.last_error}]" if row.last_error else ""
                    click.echo(
                        f"{row.status:8} {name}  {row.issue_key or row.request_key}  {row.state:8}  "
                        f"crossed {when} UTC  -> {row.target}  attempts {row.attempts}{error}"
                    )
    finally:
        engine.dispose()


@alerts_group.command("retry")
@db_option()
@click.option("--site", "site", required=True, help="The site whose failed alerts to send again.")
@click.option("--target", "target", default=None, help="Only alerts of this target.")
def retry_cmd(db_url: str | None, site: str, target: str | None) -> None:
    """Mark the failed alerts (a target refused them) pending again; the next pass sends them."""
    from sqlalchemy import update
    from sqlalchemy.orm import Session

    from baton.store.models import AlertRow

    engine = open_database(db_url, create=False)
    try:
        with Session(engine) as session:
            stmt = update(AlertRow).where(AlertRow.site_id == site, AlertRow.status == "failed")
            if target is not None:
                stmt = stmt.where(AlertRow.target == target)
            result = session.execute(stmt.values(status="pending", lease_owner=None, lease_until=None))
            session.commit()
            click.echo(f"{getattr(result, 'rowcount', 0)} alert(s) pending again")
    finally:
        engine.dispose()


def register(group: click.Group) -> None:
    """Attach this module's commands to the `baton` group."""
    group.add_command(alerts_group)
