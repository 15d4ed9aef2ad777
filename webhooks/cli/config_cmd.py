"""`baton config ...`: check a PMO configuration file and summarise what it says."""

from __future__ import annotations

import json
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from baton.config import ConfigError, Problem
from baton.config.durations import format_duration
from baton.config.loader import load_config_located
from baton.config.ownership import process_claims
from baton.config.schema import BatonConfig, Calendar, Process, SlaRow, StatusId, StatusRef
from baton.webhooks.cli.common import CONFIG_ENV, config_option
from baton.webhooks.cli.errors import ProblemsReported


def register(group: click.Group) -> None:
    """Attach this module's commands to the `baton` group."""
    group.add_command(config_group)


@click.group("config")
def config_group() -> None:
    """Work with the PMO configuration file (calendars, teams, processes, SLA standards)."""


@config_group.command("check")
@click.argument("file", required=False, type=click.Path(dir_okay=False))
@config_option()
@click.option(
    "--quiet", "-q", is_flag=True, help="Print only errors and warnings; no summary when the file is valid."
)
@click.option(
    "--db",
    "db_url",
    default=None,
    help="Also warn about configured statuses never seen in this database's stored log (of --site).",
)
@click.option("--site", default="default", show_default=True, help="The site whose stored log --db reads.")
@click.option(
    "--jira",
    "jira_site",
    default=None,
    metavar="SITE",
    help="Compare every configured status with the statuses of this Jira site (credentials as for "
    "`baton backfill`: BATON_JIRA_URL... for `default`, BATON_JIRA_<SITE>_... for others).",
)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def check(
    file: str | None,
    config_path: str | None,
    quiet: bool,
    db_url: str | None,
    site: str,
    jira_site: str | None,
    fmt: str,
) -> None:
    """Validate FILE (or --config, default $BATON_CONFIG) and summarise it.

    Prints every problem as FILE:LINE: yaml.path: message: shape and cross-reference errors together,
    and, with --jira SITE, every configured status the Jira site does not have (with the closest name it
    has). Then the warnings (`warning: FILE:LINE: ...`): a team of a process without an SLA row there, a
    process without `done` statuses, and with --db URL a configured status never seen in the stored log.
    Errors exit 1; warnings alone exit 0. When the file is valid, prints a one-screen summary (calendars,
    teams, processes with their hand-off graph, SLA rows). `--format json` prints
    `{file, valid, errors: [{line, path, message}], warnings: [...]}`.
    """
    from baton.config.checks import config_warnings

    file = file or config_path
    if not file:
        raise click.UsageError(f"give a config FILE or set ${CONFIG_ENV}")
    errors: list[Problem] = []
    warnings: list[Problem] = []
    config: BatonConfig | None = None
    try:
        config, locate = load_config_located(file)
    except ConfigError as exc:
        errors.extend(exc.problems)
    if config is not None:
        warnings.extend(config_warnings(config, locate))
        if db_url:
            warnings.extend(_unseen_in_log(config, locate, db_url, site))
        if jira_site:
            errors.extend(_missing_on_jira(config, locate, jira_site, db_url))
    errors.sort(key=Problem.sort_key)
    warnings.sort(key=Problem.sort_key)
    if fmt == "json":
        click.echo(
            json.dumps(
                {
                    "file": file,
                    "valid": not errors,
                    "errors": [_as_json(p) for p in errors],
                    "warnings": [_as_json(p) for p in warnings],
                },
                indent=2,
                ensure_ascii=False,
            )
        )
        if errors:
            raise ProblemsReported()
        return
    for problem in errors:
        click.echo(problem.format(file))
    for problem in warnings:
        click.echo(f"warning: {problem.format(file)}")
    if errors:
        count = len(errors)
        click.echo(
            f"{count} problem{'s' if count != 1 else ''} in {file}; the configuration was not accepted."
        )
        raise ProblemsReported()
    if quiet or config is None:
        return
    console = Console(highlight=False, soft_wrap=False)
    noted = f" ({len(warnings)} warning{'s' if len(warnings) != 1 else ''})" if warnings else ""
    console.print(f"[bold green]OK[/] {file}: valid configuration{noted}")
    _print_summary(console, config)


def _as_json(problem: Problem) -> dict[str, object]:
    return {"line": problem.line, "path": problem.dotted_path, "message": problem.message}


def _unseen_in_log(config: BatonConfig, locate: Any, db_url: str, site: str) -> list[Problem]:
    """Warnings for configured statuses the site's stored log never shows (the database is only read)."""
    from sqlalchemy.orm import Session

    from baton.config.checks import unseen_statuses
    from baton.store.transitions import logged_status_keys
    from baton.webhooks.cli.common import open_database

    engine = open_database(db_url, create=False)
    try:
        with Session(engine) as session:
            seen = logged_status_keys(session, site)
    finally:
        engine.dispose()
    return unseen_statuses(config, seen, site, locate)


def _missing_on_jira(config: BatonConfig, locate: Any, name: str, db_url: str | None) -> list[Problem]:
    """Errors for configured statuses the Jira site does not have (`GET /rest/api/3/status`)."""
    from baton.config.checks import statuses_missing_on_site
    from baton.connector.client import JiraClient
    from baton.connector.sites import SiteConfigError, resolve_site
    from baton.connector.statuses import fetch_statuses
    from baton.webhooks.cli.backfill_cmd import jira_errors
    from baton.webhooks.cli.common import settings

    rows: list[dict[str, Any]] = []
    if db_url:
        from sqlalchemy.orm import Session

        from baton.store.models import Site as SiteRow
        from baton.webhooks.cli.common import open_database

        engine = open_database(db_url, create=False)
        try:
            with Session(engine) as session:
                rows = [{"name": r.id, "url": r.base_url} for r in session.query(SiteRow).all() if r.base_url]
        finally:
            engine.dispose()
    try:
        site = resolve_site(name, settings().jira, rows)
    except SiteConfigError as error:
        raise click.UsageError(str(error)) from error
    client = JiraClient(site)
    try:
        with jira_errors():
            statuses = fetch_statuses(client)
    finally:
        client.close()
    return statuses_missing_on_site(config, statuses, name, locate)


def _print_summary(console: Console, config: BatonConfig) -> None:
    calendars = Table(title="Calendars", title_justify="left", box=None, pad_edge=False)
    for column in ("calendar", "timezone", "hours", "holidays"):
        calendars.add_column(column)
    for name, calendar in config.calendars.items():
        if isinstance(calendar, Calendar):
            hours = "; ".join(f"{day} {', '.join(ranges)}" for day, ranges in calendar.hours.items())
            spec = calendar.holidays
            holidays = "-".join(p for p in (spec.country, spec.subdivision) if p) or "-"
            extras = len(spec.extra) + len(spec.working)
            if extras:
                holidays += f" (+{extras} dates)"
            calendars.add_row(name, calendar.timezone, hours, holidays)
        else:
            calendars.add_row(name, "-", "24x7", "-")
    console.print(calendars)

    teams = Table(title="Teams", title_justify="left", box=None, pad_edge=False)
    for column in ("team", "calendar", "queue", "active"):
        teams.add_column(column)
    for name, team in config.teams.items():
        teams.add_row(name, team.calendar, _refs(team.statuses.queue), _refs(team.statuses.active))
    console.print(teams)

    for name, process in config.processes.items():
        console.print(_process_table(config, name, process))


def _process_table(config: BatonConfig, name: str, process: Process) -> Table:
    match = ", ".join(process.match.projects)
    if process.match.issue_types:
        match += f" ({', '.join(process.match.issue_types)})"
    table = Table(
        title=f"Process {name}: {match}",
        title_justify="left",
        caption=_process_caption(config, name, process),
        caption_justify="left",
        box=None,
        pad_edge=False,
    )
    for column in ("provider", "requester", "when", "response", "resolution", "rework"):
        table.add_column(column)
    for row in process.sla:
        table.add_row(
            row.provider,
            row.requester or "any",
            _when(row),
            _goal(row.response),
            _goal(row.resolution),
            _goal(row.rework),
        )
    if not process.sla:
        table.add_row("(no SLA rows)", "", "", "", "", "")
    return table


def _process_caption(config: BatonConfig, name: str, process: Process) -> str:
    lines = [f"hand-offs: {_graph(process)}"]
    pause = _refs(process.pause)
    done = _refs(process.done) if process.done is not None else "Jira's done category"
    lines.append(f"pause: {pause}   done: {done}")
    lines.append(
        f"reopen window: {format_duration(process.reopen_window)}   at risk from {process.at_risk:.0%} of a goal"
    )
    if process.ownership:
        owned = sorted({c.team for c in process_claims(config, name) if c.path[0] == "processes"})
        lines.append(f"ownership overridden for: {', '.join(owned)}")
    if process.unmapped_goal is not None:
        goal = process.unmapped_goal
        lines.append(
            f"unmapped hand-offs: response {_goal(goal.response)}, resolution {_goal(goal.resolution)}"
        )
    return "\n".join(lines)


def _graph(process: Process) -> str:
    """`dev -> qa -> ops` for a chain; comma-separated chains for branching rules."""
    if process.stages is not None:
        return " -> ".join(process.stages) or "-"
    rules = process.forward_rules()
    chains: list[list[str]] = []
    for source, target in rules:
        for chain in chains:
            if chain[-1] == source and sum(1 for s, _ in rules if s == source) == 1:
                chain.append(target)
                break
        else:
            chains.append([source, target])
    return ", ".join(" -> ".join(chain) for chain in chains) or "-"


def _refs(refs: list[StatusRef] | None) -> str:
    if not refs:
        return "-"
    return ", ".join(f"id {ref.id}" if isinstance(ref, StatusId) else ref for ref in refs)


def _when(row: SlaRow) -> str:
    if row.when is None:
        return "always"
    parts = []
    if row.when.priority:
        parts.append(f"priority {', '.join(row.when.priority)}")
    if row.when.issue_type:
        parts.append(f"type {', '.join(row.when.issue_type)}")
    return "; ".join(parts) or "always"


def _goal(seconds: int | None) -> str:
    """Goals are working time, so show hours (`24h`, not `1d`, which would read as a working day)."""
    if seconds is None:
        return "-"
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    text = "".join(f"{n}{u}" for n, u in ((hours, "h"), (minutes, "m"), (secs, "s")) if n)
    return text or "0m"
