"""`baton config ...`: check a PMO configuration file and summarise it; publish, list, show, export, roll
back and preview the versions stored per site in the database (docs/configuration.md, "Publishing")."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.table import Table

from baton.config import ConfigError, Problem
from baton.config.durations import format_duration
from baton.config.loader import load_config_located
from baton.config.ownership import process_claims
from baton.config.schema import BatonConfig, Calendar, Process, SlaRow, StatusId, StatusRef
from baton.webhooks.cli.common import (
    CONFIG_ENV,
    config_option,
    db_option,
    load_config_or_exit,
    open_database,
    progress_bar,
    settings,
)
from baton.webhooks.cli.errors import InvalidInput, ProblemsReported

F = TypeVar("F", bound=Callable[..., Any])


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
    from baton.connector.statuses import site_statuses
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
            statuses = site_statuses(client)
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


# --- Versioned configuration in the database (issue 15; docs/configuration.md, "Publishing") ---------


def _site_option() -> Callable[[F], F]:
    return click.option("--site", default="default", show_default=True, help="Jira site (tenant) name.")


def _author_option() -> Callable[[F], F]:
    return click.option(
        "--author", default=None, help="Who publishes (default: the operating-system user running baton)."
    )


def _apply_option() -> Callable[[F], F]:
    return click.option(
        "--apply",
        "apply_now",
        is_flag=True,
        help="Re-derive the site now, in this process (default: a running worker or `baton serve` does it).",
    )


def _default_author() -> str:
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no user name for this uid (containers)
        return "cli"


def _now() -> datetime:
    return settings().clock()()


def _session(db_url: str | None, *, create: bool = True) -> Any:
    from sqlalchemy.orm import Session

    engine = open_database(db_url, create=create)
    return engine, Session(engine, expire_on_commit=False)


def _published(version: Any, apply_now: bool, db_engine: Any, session: Any, quiet: bool = False) -> None:
    click.echo(
        f"site '{version.site}': version {version.number} published "
        f"(configuration {version.fingerprint[:12]}, by {version.author})"
    )
    if not apply_now:
        click.echo(
            "re-derivation pending: a running `baton worker` or `baton serve` applies it; "
            f"`baton rederive --site {version.site}` applies it now"
        )
        return
    _apply(session, version.site, version.number, quiet)


def _apply(session: Any, site: str, number: int, quiet: bool) -> None:
    from rich.progress import TaskID

    from baton.store.live_config import ConfigResolver
    from baton.store.rederive import apply_version

    progress = progress_bar(quiet)
    with progress:
        task: TaskID = progress.add_task(f"re-deriving {site} under version {number} (issues)", total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        issues, requests = apply_version(
            session, site, number, ConfigResolver(None), progress=advance, clock=settings().clock()
        )
    click.echo(f"{site}: version {number} applied: {issues} issues, {requests} requests re-derived")


@config_group.command("publish")
@click.argument("file", type=click.Path(dir_okay=False, exists=True))
@_site_option()
@db_option()
@click.option("--comment", "-m", default="", help="Why this change (shown in the history).")
@_author_option()
@click.option(
    "--base",
    "base_version",
    type=click.IntRange(min=1),
    default=None,
    help="The version FILE was edited from: refused (nothing stored) when another was published since.",
)
@_apply_option()
@click.option("--quiet", is_flag=True, help="No progress bar.")
def publish_cmd(
    file: str,
    site: str,
    db_url: str | None,
    comment: str,
    author: str | None,
    base_version: int | None,
    apply_now: bool,
    quiet: bool,
) -> None:
    """Validate FILE and store it as the site's next configuration version.

    The numbers follow once the site is re-derived under it (in the background by a worker or
    `baton serve`, or now with --apply); until then they stay those of the previous version. A service
    started with `--config FILE` keeps using its file (configuration as code).
    """
    from baton.store import config_versions

    text = _read_text(file)
    engine, session = _session(db_url)
    try:
        base = base_version
        if base is None:
            current = config_versions.latest(session, site)
            base = current.number if current is not None else None
        version = config_versions.publish(
            session,
            site,
            text,
            author=author or _default_author(),
            comment=comment,
            base_version=base,
            now=_now(),
        )
        _published(version, apply_now, engine, session, quiet)
    except ConfigError as error:
        error.filename = file
        raise
    finally:
        session.close()
        engine.dispose()


def _read_text(file: str) -> str:
    try:
        with open(file, encoding="utf-8") as handle:
            return handle.read()
    except (OSError, UnicodeDecodeError) as error:
        raise InvalidInput(f"cannot read {file}: {error}") from error


@config_group.command("history")
@_site_option()
@db_option()
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def history_cmd(site: str, db_url: str | None, fmt: str) -> None:
    """The site's published configuration versions, newest first, and which one its numbers are under."""
    from baton.store import config_versions

    engine, session = _session(db_url, create=False)
    try:
        versions = config_versions.history(session, site)
        applied = config_versions.applied_version(session, site)
        status = config_versions.rederive_status(session, site)
    finally:
        session.close()
        engine.dispose()
    if fmt == "json":
        records = [{**v.as_dict(), "applied": v.number == applied} for v in versions]
        click.echo(json.dumps({"site": site, "versions": records, "rederive": status}, indent=2))
        return
    table = Table(title=f"Configuration versions of site '{site}' ({len(versions)})", title_justify="left")
    for column in ("version", "published", "author", "fingerprint", "comment"):
        table.add_column(column, overflow="fold")
    for v in versions:
        mark = " (applied)" if v.number == applied else ""
        table.add_row(
            f"{v.number}{mark}",
            v.created_at.strftime("%Y-%m-%d %H:%M UTC"),
            v.author,
            v.fingerprint[:12],
            v.comment,
        )
    console = Console(highlight=False, soft_wrap=False, width=110)
    console.print(table)
    if status["version"] is not None and status["state"] != "done":
        console.print(
            f"re-derivation to version {status['version']}: {status['state']} "
            f"({status['done_issues']} of {status['total_issues']} issues)"
            + (f": {status['error']}" if status["error"] else "")
        )


@config_group.command("show")
@click.argument("number", type=click.IntRange(min=1))
@_site_option()
@db_option()
def show_cmd(number: int, site: str, db_url: str | None) -> None:
    """Version NUMBER of the site: who, when, why (on stderr) and its YAML text (on stdout)."""
    from baton.store import config_versions

    engine, session = _session(db_url, create=False)
    try:
        version = config_versions.get(session, site, number)
    finally:
        session.close()
        engine.dispose()
    click.echo(
        f"# site '{site}' version {version.number}, published {version.created_at.isoformat()} by "
        f"{version.author}: {version.comment or '(no comment)'}",
        err=True,
    )
    click.echo(version.yaml_text, nl=not version.yaml_text.endswith("\n"))


@config_group.command("export")
@click.argument("number", required=False, type=click.IntRange(min=1))
@_site_option()
@db_option()
@click.option("--output", "-o", type=click.Path(dir_okay=False), default=None, help="Write to this file.")
def export_cmd(number: int | None, site: str, db_url: str | None, output: str | None) -> None:
    """The YAML of version NUMBER (default: the latest) exactly as published, to edit or keep in git."""
    from baton.store import config_versions

    engine, session = _session(db_url, create=False)
    try:
        version = (
            config_versions.get(session, site, number)
            if number is not None
            else config_versions.latest(session, site)
        )
    finally:
        session.close()
        engine.dispose()
    if version is None:
        raise InvalidInput(
            f"site '{site}' has no published configuration",
            "`baton config publish FILE --site SITE` stores one",
        )
    if output:
        with open(output, "w", encoding="utf-8") as handle:
            handle.write(version.yaml_text)
        click.echo(f"site '{site}' version {version.number} written to {output}", err=True)
        return
    click.echo(version.yaml_text, nl=not version.yaml_text.endswith("\n"))


@config_group.command("rollback")
@click.argument("number", type=click.IntRange(min=1))
@_site_option()
@db_option()
@_author_option()
@click.option("--comment", "-m", default=None, help="Why (default: 'rollback to version N').")
@_apply_option()
@click.option("--quiet", is_flag=True, help="No progress bar.")
def rollback_cmd(
    number: int,
    site: str,
    db_url: str | None,
    author: str | None,
    comment: str | None,
    apply_now: bool,
    quiet: bool,
) -> None:
    """Publish a copy of version NUMBER as the site's next version (history is never rewritten)."""
    from baton.store import config_versions

    engine, session = _session(db_url, create=False)
    try:
        version = config_versions.rollback(
            session, site, number, author=author or _default_author(), now=_now(), comment=comment
        )
        _published(version, apply_now, engine, session, quiet)
    finally:
        session.close()
        engine.dispose()


@config_group.command("preview")
@click.argument("draft", type=click.Path(dir_okay=False, exists=True))
@config_option()
@db_option()
@_site_option()
@click.option("--period", type=click.Choice(["week", "month"]), default="week", show_default=True)
@click.option("--since", default=None, help="Only requests alive on/after this date (YYYY-MM-DD or ISO).")
@click.option("--until", default=None, help="Only requests opened before this date (YYYY-MM-DD or ISO).")
@click.option("--now", "now_text", default=None, help="Evaluate open clocks as of this instant.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option(
    "--changed", "show_changed", default=20, show_default=True, help="Table: changed requests shown."
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="Processes to spread the site over (default: one per core; 1: this process only).",
)
def preview_cmd(
    draft: str,
    config_path: str | None,
    db_url: str | None,
    site: str,
    period: str,
    since: str | None,
    until: str | None,
    now_text: str | None,
    fmt: str,
    show_changed: int,
    workers: int | None,
) -> None:
    """What DRAFT would do to the site's numbers, computed on its stored history; writes nothing.

    Compared with the live configuration (the site's applied published version, else --config /
    $BATON_CONFIG; `--config FILE` on the command line wins). Rows per period, team and process, with
    the fields of `baton score --by process`, before and after; the hand-off pairs that became mapped
    or unmapped; the requests whose kind, provider or outcome changed.
    """
    from baton.store.preview import run_preview
    from baton.webhooks.cli.common import config_for_site
    from baton.webhooks.cli.query_cmd import _parse_instant
    from baton.webhooks.serialize import preview_record

    draft_config = load_config_or_exit(draft)
    live = config_for_site(config_path, db_url, site)
    now = _parse_instant(now_text, "--now") or _now()
    engine, session = _session(db_url, create=False)
    try:
        result = run_preview(
            session,
            site,
            live=live,
            draft=draft_config,
            now=now,
            period=period,  # type: ignore[arg-type]
            since=_parse_instant(since, "--since"),
            until=_parse_instant(until, "--until"),
            workers=workers,
        )
    finally:
        session.close()
        engine.dispose()
    record = preview_record(result)
    if fmt == "json":
        click.echo(json.dumps(record, indent=2, ensure_ascii=False))
        return
    _print_preview(record, show_changed)


_PREVIEW_FIGURES = ("score", "timeliness", "quality", "resolved", "open_breached")


def _figure(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _print_preview(record: dict[str, Any], show_changed: int) -> None:
    console = Console(highlight=False, soft_wrap=False, width=140)
    console.print(
        f"{record['issues']} issues, {record['transitions']} transitions; requests "
        f"{record['requests']['before']} -> {record['requests']['after']}; "
        f"{record['changed_total']} changed"
    )
    table = Table(title="Scores before -> after (changed rows)", title_justify="left")
    for column in ("period", "team", "process", *_PREVIEW_FIGURES):
        table.add_column(column, overflow="fold")
    changed_rows = [r for r in record["rows"] if r["before"] != r["after"]]
    for row in changed_rows:
        before, after = row["before"] or {}, row["after"] or {}
        cells = []
        for name in _PREVIEW_FIGURES:
            old, new = _figure(before.get(name)), _figure(after.get(name))
            cells.append(old if old == new else f"{old} -> {new}")
        table.add_row(row["period"], row["team"], row["process"] or "-", *cells)
    if not changed_rows:
        table.add_row("(no score changes)", "", "", *("" for _ in _PREVIEW_FIGURES))
    console.print(table)
    for title, pairs in (
        ("now mapped", record["handoffs_mapped"]),
        ("now unmapped", record["handoffs_unmapped"]),
    ):
        if not pairs:
            continue
        pair_table = Table(title=f"Hand-offs {title}", title_justify="left")
        for column in ("requester", "provider", "from status", "to status", "requests", "examples"):
            pair_table.add_column(column, overflow="fold")
        for p in pairs:
            pair_table.add_row(
                p["requester"] or "intake",
                p["provider"] or "-",
                p["from_status"] or "-",
                p["to_status"] or "-",
                str(p["count"]),
                " ".join(p["examples"]),
            )
        console.print(pair_table)
    changed = record["changed_requests"][:show_changed]
    if changed:
        req_table = Table(title=f"Changed requests (first {len(changed)})", title_justify="left")
        for column in ("issue", "opened", "before", "after"):
            req_table.add_column(column, overflow="fold")

        def side(s: dict[str, Any] | None) -> str:
            if s is None:
                return "(none)"
            return f"{s['kind']} {s['requester'] or 'intake'}->{s['provider']} {s['outcome'] or 'open'}"

        for c in changed:
            req_table.add_row(
                c["issue_key"] or c["issue_id"], c["opened_at"][:16], side(c["before"]), side(c["after"])
            )
        console.print(req_table)
