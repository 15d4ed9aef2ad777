"""`baton inbox list|show|retry`: see deliveries that failed or wait, and send them through again."""

from __future__ import annotations

import json
from typing import Any

import click

from baton.webhooks.cli.common import db_option
from baton.webhooks.cli.errors import InvalidInput

STATES = ("pending", "processing", "done", "ignored", "failed", "quarantined")


def _engine(db_url: str | None) -> Any:
    """An engine on a reachable database; DatabaseUnavailable (exit 3) otherwise."""
    from baton.store.db import check_connection, create_engine_for

    engine = create_engine_for(db_url)
    check_connection(engine)
    return engine


def register(group: click.Group) -> None:
    @group.group("inbox")
    def inbox() -> None:
        """The delivery inbox: every raw delivery Baton accepted, and what became of it."""

    @inbox.command("list")
    @db_option()
    @click.option("--state", type=click.Choice(STATES), default=None, help="Only this state (default: all).")
    @click.option("--site", default=None, help="Only this Jira site.")
    @click.option("--limit", type=int, default=50, show_default=True)
    @click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
    def list_cmd(db_url: str | None, state: str | None, site: str | None, limit: int, fmt: str) -> None:
        """List deliveries, newest first, with their state and error."""
        from sqlalchemy.orm import Session

        from baton.store.inbox import backlog_stats, list_deliveries
        from baton.webhooks.http.health import delivery_summary

        engine = _engine(db_url)
        with Session(engine) as session:
            rows = [delivery_summary(r) for r in list_deliveries(session, state, limit, site_id=site)]
            stats = backlog_stats(session, site_id=site)
        engine.dispose()
        if fmt == "json":
            click.echo(json.dumps({"backlog": stats.as_dict(), "deliveries": rows}, indent=2))
            return
        click.echo(
            f"pending {stats.pending}  processing {stats.processing}  failed {stats.failed}  "
            f"quarantined {stats.quarantined}"
        )
        if not rows:
            click.echo("no deliveries")
            return
        click.echo(f"{'id':>8}  {'site':<12} {'state':<12} {'event':<24} {'received':<25} error")
        for r in rows:
            error = (r["error"] or "").splitlines()[0][:60] if r["error"] else ""
            click.echo(
                f"{r['id']:>8}  {r['site']:<12} {r['state']:<12} {(r['event'] or '-'):<24} "
                f"{(r['received_at'] or '')[:25]:<25} {error}"
            )

    @inbox.command("show")
    @db_option()
    @click.argument("delivery_id", type=int)
    @click.option("--body", "with_body", is_flag=True, help="Print the raw body too.")
    def show_cmd(db_url: str | None, delivery_id: int, with_body: bool) -> None:
        """Show one delivery: headers, state, attempts, full error (and the raw body with --body)."""
        from sqlalchemy.orm import Session

        from baton.store.inbox import get_delivery
        from baton.webhooks.http.health import delivery_summary

        engine = _engine(db_url)
        with Session(engine) as session:
            row = get_delivery(session, delivery_id)
            if row is None:
                raise InvalidInput(f"no delivery {delivery_id}", "list them with `baton inbox list`")
            summary = delivery_summary(row)
            body = bytes(row.body)
        engine.dispose()
        click.echo(json.dumps(summary, indent=2))
        if with_body:
            click.echo("--- body ---")
            click.echo(body.decode("utf-8", errors="replace"))

    @inbox.command("retry")
    @db_option()
    @click.argument("delivery_ids", type=int, nargs=-1)
    @click.option("--all-failed", is_flag=True, help="Requeue every failed delivery.")
    @click.option(
        "--stale",
        is_flag=True,
        help="Also requeue deliveries stuck in 'processing' (their server or worker was killed).",
    )
    @click.option("--site", default=None, help="Only this Jira site.")
    def retry_cmd(
        db_url: str | None, delivery_ids: tuple[int, ...], all_failed: bool, stale: bool, site: str | None
    ) -> None:
        """Put deliveries back to pending so the workers (or the server) process them again.

        Processing is idempotent: retrying a delivery that was already processed changes nothing.
        Without --stale, deliveries stuck in 'processing' are requeued automatically after 5 minutes."""
        from datetime import timedelta

        from sqlalchemy.orm import Session

        from baton.store.inbox import requeue_stale, retry

        if not delivery_ids and not all_failed and not stale:
            raise click.UsageError("give delivery ids, --all-failed or --stale")
        engine = _engine(db_url)
        with Session(engine) as session:
            ids = retry(session, delivery_ids, all_failed=all_failed, site_id=site)
            stuck = requeue_stale(session, timedelta(0)) if stale else 0
            session.commit()
        engine.dispose()
        if stale:
            click.echo(f"requeued {stuck} stuck in processing")
        click.echo(
            f"requeued {len(ids)} deliver{'y' if len(ids) == 1 else 'ies'}: {', '.join(map(str, ids))}"
        )

    @inbox.command("site")
    @db_option()
    @click.argument("site")
    @click.option("--name", default=None, help="Display name (default: the site id).")
    @click.option("--base-url", default=None, help="The Jira base URL, e.g. https://acme.atlassian.net.")
    @click.option(
        "--secret-env",
        metavar="VAR",
        default=None,
        help="Read the webhook secret from this environment variable (never pass secrets as arguments).",
    )
    @click.option(
        "--generate-token",
        is_flag=True,
        help="Jira DC without a secret: create a URL token and print the webhook URL path once.",
    )
    def site_cmd(
        db_url: str | None,
        site: str,
        name: str | None,
        base_url: str | None,
        secret_env: str | None,
        generate_token: bool,
    ) -> None:
        """Register a Jira site that posts to /webhooks/jira/SITE, with its webhook secret or URL token.

        \b
        The default site (/webhooks/jira) takes its secret from $BATON_WEBHOOK_SECRET instead.
        Example:  JIRA_SECRET=... baton inbox site acme --secret-env JIRA_SECRET
        """
        import os
        import re
        import secrets

        from sqlalchemy.orm import Session

        from baton.store.inbox import ensure_site

        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}", site):
            raise InvalidInput("a site id is 1-64 letters, digits, '.', '_' or '-'")
        attrs: dict[str, Any] = {}
        if name:
            attrs["name"] = name
        if base_url:
            attrs["base_url"] = base_url
        if secret_env:
            secret = os.environ.get(secret_env, "")
            if not secret:
                raise InvalidInput(
                    f"${secret_env} is empty or not set", "export the secret, then run this again"
                )
            attrs["webhook_secret"] = secret
        token = secrets.token_urlsafe(24) if generate_token else None
        if token:
            attrs["webhook_token"] = token
        engine = _engine(db_url)
        with Session(engine) as session:
            ensure_site(session, site, **attrs)
            session.commit()
        engine.dispose()
        how = "signature (secret set)" if secret_env else "URL token" if token else "unchanged credentials"
        click.echo(f"site {site}: deliveries go to /webhooks/jira/{site}; authentication: {how}")
        if token:
            click.echo(f"webhook URL path (shown once): /webhooks/jira/{site}?token={token}")
