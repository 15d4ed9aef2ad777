"""`baton requests`, `baton score`, `baton handoffs`: read the derived requests, print table/JSON/CSV.

Numbers come from the engine facade (`baton.scoring.engine`) and are shaped by `baton.webhooks.serialize`, the
same functions the HTTP JSON API uses, so the CLI and the API print identical figures.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

import click

from baton.webhooks.cli.common import config_option, db_option, settings, site_option
from baton.webhooks.cli.table import DEFAULT_WIDTH, WIDE_WIDTH, choose_columns, header, human, listed
from baton.webhooks.serialize import UNMATCHED_FIELDS

FORMATS = ("table", "json", "csv")


def _parse_instant(value: str | None, name: str) -> datetime | None:
    if value is None:
        return None
    text = value.strip()
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time(0), tzinfo=UTC)
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as error:
        raise click.BadParameter(
            f"'{value}' is not a date (YYYY-MM-DD) or ISO 8601 instant", param_hint=name
        ) from error
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def query_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Options shared by the three query commands."""
    for option in reversed(
        [
            config_option(),
            db_option(),
            site_option(),
            click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True),
            click.option(
                "--columns",
                "pick",
                default=None,
                help="Table: these fields, comma-separated (default: a set that fits 100 columns).",
            ),
            click.option("--wide", is_flag=True, help="Table: every field, full width."),
            click.option("--team", default=None, help="Only this provider team."),
            click.option(
                "--since", default=None, help="Only requests alive on/after this date (YYYY-MM-DD or ISO)."
            ),
            click.option(
                "--until", default=None, help="Only requests opened before this date (YYYY-MM-DD or ISO)."
            ),
            click.option("--open", "open_only", is_flag=True, help="Only requests still open."),
            click.option(
                "--now",
                "now_text",
                default=None,
                help="Evaluate open clocks as of this instant (default: $BATON_NOW, else now). For reproducible reports.",
            ),
        ]
    ):
        func = option(func)
    return func


class _Context:
    def __init__(
        self,
        config_path: str | None,
        db_url: str | None,
        site: str,
        team: str | None,
        since: str | None,
        until: str | None,
        open_only: bool,
        now_text: str | None,
    ) -> None:
        from baton.webhooks.cli.common import config_for_site

        self.config = config_for_site(config_path, db_url, site)
        if team is not None and team not in self.config.teams:
            known = ", ".join(sorted(self.config.teams))
            raise click.BadParameter(
                f"unknown team '{team}'; the configuration has: {known}", param_hint="--team"
            )
        self.db_url = db_url
        self.site = site
        self.team = team
        self.since = _parse_instant(since, "--since")
        self.until = _parse_instant(until, "--until")
        self.open_only = open_only
        self.unmatched: Any = None
        self.now = _parse_instant(now_text, "--now") or settings().clock()()  # BATON_NOW pins it

    def requests(self, *, unmatched_examples: bool = False) -> Any:
        """Stored requests (filtered) with clocks evaluated as of `now`; the site's issues that match no
        process are kept in `self.unmatched` (with example keys when `unmatched_examples`)."""
        from sqlalchemy.orm import Session

        from baton.scoring import engine as scoring_engine
        from baton.store.pipeline import derivation_of, unmatched_report
        from baton.store.requests import load_requests_frame
        from baton.webhooks.cli.common import open_database

        db = open_database(self.db_url, create=False)
        try:
            with Session(db) as session:
                frame = load_requests_frame(
                    session,
                    self.site,
                    provider=self.team,
                    open_only=self.open_only,
                    since=self.since,
                    until=self.until,
                )
                _warn_if_stale(derivation_of(session, self.site, self.config))
                self.unmatched = unmatched_report(
                    session, self.site, self.config, examples=unmatched_examples
                )
        finally:
            db.dispose()
        return scoring_engine.evaluate_clocks(frame, self.config, self.now)


def _warn_if_stale(derivation: Any) -> None:
    """Numbers derived under another configuration are printed, but never without saying so."""
    if not derivation.stale:
        return
    click.echo(
        f"warning: the stored requests of site '{derivation.site}' were derived under configuration "
        f"{derivation.derived_under[:12]}, not under "
        f"the given configuration ({derivation.config_fingerprint[:12]}): these numbers are the old ones; "
        "`baton rederive --config FILE` applies it",
        err=True,
    )


def _warn_if_unmatched(unmatched: Any, site: str) -> None:
    """Issues no process covers yield no requests: a read command says so in one line on stderr."""
    from baton.webhooks.cli.common import unmatched_line
    from baton.webhooks.serialize import unmatched_summary

    line = unmatched_line(unmatched_summary(unmatched), site)
    if line:
        click.echo(f"warning: {line}; `baton handoffs --report unmatched` lists them", err=True)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return listed(value)
    return str(value)


def _emit(
    records: Sequence[dict[str, Any]],
    fmt: str,
    title: str,
    columns: Sequence[str] | None = None,
    *,
    view: TableView | None = None,
) -> None:
    cols = list(columns or (records[0].keys() if records else []))
    if fmt == "json":
        click.echo(json.dumps(list(records), indent=2, ensure_ascii=False))
    elif fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(cols)
        for record in records:
            writer.writerow([_cell(record.get(c)) for c in cols])
        click.echo(buffer.getvalue(), nl=False)
    else:
        from rich.console import Console
        from rich.table import Table

        view = view or TableView(title)
        shown = choose_columns(view.report, cols, view.pick, view.wide, view.extra)
        table = Table(title=f"{title} ({len(records)})", show_lines=False)
        for col in shown:
            # times and durations never wrap; free text folds
            table.add_column(header(col), overflow="fold", no_wrap=col.endswith(("_at", "_s")))
        for record in records:
            table.add_row(*(human(c, record.get(c)) for c in shown))
        Console(width=WIDE_WIDTH if view.wide else DEFAULT_WIDTH).print(table)


@dataclass(frozen=True)
class TableView:
    """How a table is shown: which report's default columns, `--columns`, `--wide`, extra fields."""

    report: str
    pick: str | None = None
    wide: bool = False
    extra: tuple[str, ...] = ()


def _view(report: str, options: dict[str, Any], extra: tuple[str, ...] = ()) -> TableView:
    """Takes the table options out of a command's options."""
    return TableView(report, options.pop("pick"), options.pop("wide"), extra)


@click.command("requests")
@query_options
def requests_cmd(**options: Any) -> None:
    """Internal service requests with their SLA clocks (fields: docs/semantics.md, "Output fields"), and the live clock
    (state, remaining working seconds, due time, paused) as the JSON API gives it."""
    from baton.scoring import engine as scoring_engine
    from baton.webhooks.serialize import REQUEST_FIELDS, request_records

    fmt = options.pop("fmt")
    view = _view("requests", options)
    ctx = _Context(**options)
    records = request_records(scoring_engine.live_clocks(ctx.requests(), ctx.config, ctx.now), ctx.site)
    _warn_if_unmatched(ctx.unmatched, ctx.site)
    _emit(records, fmt, "requests", REQUEST_FIELDS, view=view)


@click.command("score")
@query_options
@click.option("--period", type=click.Choice(["week", "month"]), default="week", show_default=True)
@click.option(
    "--by",
    type=click.Choice(["process", "pair", "issue_type"]),
    default=None,
    help="Break each team's score down further.",
)
@click.option(
    "--last",
    type=click.IntRange(1, 104),
    default=None,
    help="Only the last N periods up to the one containing --now (the API's weeks=N). Default: all.",
)
@click.option(
    "--process",
    default=None,
    help="Only requests of this process (the API's process=).",
)
@click.option(
    "--rank",
    is_flag=True,
    help="The team overview: every provider team's row of the period containing --now, worst first, "
    "with the previous period's score (the overview gadget's numbers).",
)
def score_cmd(
    period: str, by: str | None, last: int | None, process: str | None, rank: bool, **options: Any
) -> None:
    """Scorecards per period and team (timeliness, quality, score, counts, ratios); with --rank, the
    team overview (docs/semantics.md, "Team overview")."""
    from baton.scoring import engine as scoring_engine
    from baton.webhooks.serialize import OVERVIEW_FIELDS, SCORE_FIELDS, overview_records, score_records

    fmt = options.pop("fmt")
    view = _view("overview" if rank else "score", options, (by,) if by and not rank else ())
    ctx = _Context(**options)
    if process is not None and process not in ctx.config.processes:
        known = ", ".join(ctx.config.processes)
        raise click.BadParameter(
            f"unknown process '{process}'; the configuration has: {known}", param_hint="--process"
        )
    timezone = ctx.config.scoring.timezone
    if rank:
        if by is not None or last is not None:
            raise click.UsageError("--rank shows the current period of every team: drop --by and --last")
        start = scoring_engine.first_period_start(ctx.now, period, 2, timezone)  # type: ignore[arg-type]
        ctx.since = max(ctx.since, start) if ctx.since else start
        requests = ctx.requests()
        if process is not None:
            requests = requests[requests["process"] == process]
        teams = scoring_engine.process_teams(ctx.config, process)
        if ctx.team is not None:
            teams = [t for t in teams if t == ctx.team]
        table = scoring_engine.team_overview(requests, ctx.config, ctx.now, period, teams)  # type: ignore[arg-type]
        _emit(overview_records(table), fmt, f"teams by {period}, worst first", OVERVIEW_FIELDS, view=view)
        return
    if last is not None:
        start = scoring_engine.first_period_start(ctx.now, period, last, timezone)  # type: ignore[arg-type]
        ctx.since = max(ctx.since, start) if ctx.since else start
    requests = ctx.requests()
    if process is not None:
        requests = requests[requests["process"] == process]
    frame = scoring_engine.scorecards(requests, ctx.config, ctx.now, period=period, by=by)  # type: ignore[arg-type]
    _warn_if_unmatched(ctx.unmatched, ctx.site)
    if last is not None:
        shown = scoring_engine.recent_period_labels(ctx.now, period, last, timezone)  # type: ignore[arg-type]
        frame = frame[frame["period"].isin(shown)]
    records = score_records(frame, by)
    if ctx.team is not None:
        records = [r for r in records if r.get("team") == ctx.team]
    columns = ["period", "team", *([by] if by else []), *SCORE_FIELDS[2:]]
    _emit(records, fmt, f"scores by {period}" + (f" and {by}" if by else ""), columns, view=view)


@click.command("handoffs")
@query_options
@click.option(
    "--report",
    type=click.Choice(["both", "matrix", "unmapped", "unmatched"]),
    default=None,
    help="Which report (default: all three; with --format csv, choose one). `unmatched`: stored issues "
    "that match no process, per project and issue type, with example keys.",
)
@click.option(
    "--period",
    type=click.Choice(["week", "month", "all"]),
    default="all",
    show_default=True,
    help="Matrix: only requests resolved in the week/month containing --now, and those open (the API's period=).",
)
def handoffs_cmd(report: str | None, period: str, **options: Any) -> None:
    """The hand-off matrix (requester x provider), the unmapped hand-off report for the PMO, and the
    stored issues that match no process (counted per project and issue type, with example keys: no
    request is derived from them).

    JSON: `{"matrix": [...], "unmapped": [...], "unmatched_issues": {"total": N, "rows": [...]}}` (or just
    the chosen list with --report). CSV holds one table: `--report matrix`, `unmapped` or `unmatched`.
    The table of unmatched issues is shown when there are any.
    """
    from baton.scoring import engine as scoring_engine
    from baton.webhooks.serialize import handoff_records, unmapped_records, unmatched_summary

    fmt = options.pop("fmt")
    view = _view("matrix", options)
    if fmt == "csv" and report in (None, "both"):
        raise click.UsageError(
            "a CSV file holds one table: add --report matrix, --report unmapped or --report unmatched"
        )
    report = report or "both"
    ctx = _Context(**options)
    requests = ctx.requests(unmatched_examples=True)
    window = None if period == "all" else period
    matrix = handoff_records(scoring_engine.handoff_matrix(requests, ctx.config, ctx.now, window))  # type: ignore[arg-type]
    unmapped = unmapped_records(scoring_engine.unmapped_report(requests))
    unmatched = unmatched_summary(ctx.unmatched)
    if fmt == "json":
        if report == "both":
            both = {"matrix": matrix, "unmapped": unmapped, "unmatched_issues": unmatched}
            click.echo(json.dumps(both, indent=2, ensure_ascii=False))
        else:
            chosen = {"matrix": matrix, "unmapped": unmapped, "unmatched": unmatched["rows"]}[report]
            _emit(chosen, fmt, report)
        return
    if report in ("both", "matrix"):
        _emit(matrix, fmt, "hand-off matrix", view=TableView("matrix", view.pick, view.wide))
    if report in ("both", "unmapped"):
        _emit(unmapped, fmt, "unmapped hand-offs", view=TableView("unmapped", view.pick, view.wide))
    if report == "unmatched" or (report == "both" and unmatched["rows"]):
        _emit(
            unmatched["rows"],
            fmt,
            "issues matching no process",
            UNMATCHED_FIELDS,
            view=TableView("unmatched", view.pick, view.wide),
        )


def register(group: click.Group) -> None:
    """Attach this module's commands to the `baton` group."""
    group.add_command(requests_cmd)
    group.add_command(score_cmd)
    group.add_command(handoffs_cmd)
