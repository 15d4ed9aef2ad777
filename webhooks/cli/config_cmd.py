"""`baton config ...`: check a PMO configuration file and summarise what it says."""

from __future__ import annotations

import click
from rich.console import Console
from rich.table import Table

from baton.config import ConfigError, load_config
from baton.config.durations import format_duration
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
@click.option("--quiet", "-q", is_flag=True, help="Print only problems; no summary when the file is valid.")
def check(file: str | None, config_path: str | None, quiet: bool) -> None:
    """Validate FILE (or --config, default $BATON_CONFIG) and summarise it.

    Prints every problem as FILE:LINE: yaml.path: message and exits 1; when the file is valid,
    prints a one-screen summary (calendars, teams, processes with their hand-off graph, SLA rows)
    and exits 0.
    """
    file = file or config_path
    if not file:
        raise click.UsageError(f"give a config FILE or set ${CONFIG_ENV}")
    try:
        config = load_config(file)
    except ConfigError as exc:
        for line in exc.lines():
            click.echo(line)
        count = len(exc.problems)
        click.echo(
            f"{count} problem{'s' if count != 1 else ''} in {file}; the configuration was not accepted."
        )
        raise ProblemsReported() from None
    if quiet:
        return
    console = Console(highlight=False, soft_wrap=False)
    console.print(f"[bold green]OK[/] {file}: valid configuration")
    _print_summary(console, config)


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

    if config.alerts:
        alerts = Table(title="Alerts", title_justify="left", box=None, pad_edge=False)
        for column in ("target", "kind", "on", "processes", "providers", "endpoint"):
            alerts.add_column(column)
        for target in config.alerts:
            alerts.add_row(
                target.name,
                target.kind,
                ", ".join(target.on),
                ", ".join(target.processes) if target.processes is not None else "all",
                ", ".join(target.providers) if target.providers is not None else "all",
                f"${target.url_env}"
                if target.url_env
                else "url given",  # never print a URL: it may be a secret
            )
        console.print(alerts)


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
