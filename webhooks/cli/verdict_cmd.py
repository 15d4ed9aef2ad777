"""`baton verdict` (record an internal customer's verdict) and `baton verdicts --report reasons`.

The CLI runs with database access, for operators' scripts, imports and tests: it records `--by` as given
and checks no team membership (the HTTP API does, docs/plugin.md). Whether the verdict applies (which
delivery, the window, an accept after a rejection) is the engine's rule (docs/semantics.md "Verdicts").
"""

from __future__ import annotations

import json
from typing import Any

import click

from baton.webhooks.cli.common import (
    config_given_on_command_line,
    config_option,
    db_option,
    load_config_or_exit,
    open_database,
    site_option,
)
from baton.webhooks.cli.errors import InvalidInput
from baton.webhooks.cli.query_cmd import FORMATS, TableView, _Context, _emit, _parse_instant


@click.command("verdict")
@click.argument("issue")
@click.option("--team", required=True, help="The judging team (the delivery's customer).")
@click.option(
    "--by", "account", required=True, help="Who gives the verdict (an account id; recorded as given)."
)
@click.option("--accept", "accept", flag_value=True, default=None, help="Accept the delivery.")
@click.option("--reject", "accept", flag_value=False, help="Send the delivery back (needs --reason).")
@click.option("--rating", type=click.IntRange(1, 5), default=None, help="1-5 stars, with --accept.")
@click.option("--reason", default=None, help="One of the process's rejection_reasons, with --reject.")
@click.option("--comment", default=None, help="Free text kept with the verdict.")
@click.option("--at", "at_text", default=None, help="When (ISO 8601; default: $BATON_NOW, else now).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@config_option(required=True)
@db_option()
@site_option()
def verdict_cmd(
    issue: str,
    team: str,
    account: str,
    accept: bool | None,
    rating: int | None,
    reason: str | None,
    comment: str | None,
    at_text: str | None,
    fmt: str,
    config_path: str,
    db_url: str | None,
    site: str,
) -> None:
    """Record TEAM's verdict on its latest delivery on ISSUE (a key like PROJ-1, or an issue id).

    \b
    baton verdict PROJ-1 --team qa --by 5b10ac8d --accept --rating 4
    baton verdict PROJ-1 --team ops --by 5b10ac8d --reject --reason incomplete --comment "no notes"
    """
    from sqlalchemy.orm import Session

    from baton.scoring.model import Verdict, VerdictAction
    from baton.store.live_config import ConfigResolver
    from baton.store.verdicts import UnknownIssue, VerdictRefused, record_verdict, resolve_issue
    from baton.webhooks.cli.common import settings

    if accept is None:
        raise click.UsageError("give --accept [--rating N] or --reject --reason R")
    if accept and reason is not None:
        raise click.UsageError("--reason goes with --reject")
    if not accept and rating is not None:
        raise click.UsageError("--rating goes with --accept")
    if not accept and reason is None:
        raise click.UsageError("--reject needs --reason")
    config = load_config_or_exit(config_path)
    as_code = config_given_on_command_line() or settings().config_as_code
    # without `--config FILE` typed, a site with an applied published version keeps it (`baton replay`)
    configs = config if as_code else ConfigResolver(config)
    at = _parse_instant(at_text, "--at") or settings().clock()()
    engine = open_database(db_url, create=False)
    try:
        with Session(engine) as session:
            try:
                issue_id, issue_key = resolve_issue(session, site, issue)
                verdict = Verdict(
                    issue_id=issue_id,
                    team=team,
                    at=at,
                    by=account,
                    action=VerdictAction.ACCEPT if accept else VerdictAction.REJECT,
                    rating=rating,
                    reason=reason,
                    comment=comment,
                )
                recorded = record_verdict(session, site, verdict, configs, source="cli")
            except UnknownIssue as error:
                raise InvalidInput(str(error), "`baton requests` lists the issues Baton knows") from error
            except VerdictRefused as error:
                raise InvalidInput(f"verdict refused: {error}") from error
            session.commit()
    finally:
        engine.dispose()
    judged = recorded.judgement
    shown = issue_key or issue_id
    if fmt == "json":
        click.echo(
            json.dumps(
                {
                    "id": recorded.id,
                    "issue": shown,
                    "team": team,
                    "verdict": "accepted" if accept else "rejected",
                    "provider": judged.provider,
                    "seq": judged.seq,
                    "window_ends_at": judged.due_at.isoformat(),
                }
            )
        )
        return
    action = "accepted" if accept else "sent back"
    click.echo(
        f"{team} {action} {judged.provider}'s delivery on {shown} (request #{judged.seq}); "
        f"the window ends {judged.due_at.isoformat()}"
    )


@click.command("verdicts")
@click.option(
    "--report",
    type=click.Choice(["reasons"]),
    required=True,
    help="reasons: rejection reasons (by verdict) per provider, most frequent first.",
)
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@click.option("--team", default=None, help="Only this provider team.")
@click.option("--since", default=None, help="Only requests alive on/after this date.")
@click.option("--until", default=None, help="Only requests opened before this date.")
@click.option("--now", "now_text", default=None, help="Evaluate as of this instant.")
@config_option()
@db_option()
@site_option()
def verdicts_cmd(report: str, fmt: str, **options: Any) -> None:
    """Reports on the internal customers' verdicts."""
    from baton.scoring import engine as scoring_engine
    from baton.webhooks.serialize import REASON_FIELDS, reason_records

    ctx = _Context(open_only=False, **options)
    records = reason_records(scoring_engine.rejection_reasons(ctx.requests()))
    _emit(records, fmt, "rejection reasons", REASON_FIELDS, view=TableView("reasons", wide=True))


def register(group: click.Group) -> None:
    """Attach this module's commands to the `baton` group."""
    group.add_command(verdict_cmd)
    group.add_command(verdicts_cmd)
