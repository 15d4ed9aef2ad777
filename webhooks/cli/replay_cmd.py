"""`baton replay PATH...` and `baton demo load`: recorded deliveries through the webhook path.

Every webhook payload read from a file goes exactly where a live delivery goes: it is stored raw in
the inbox (`baton.store.inbox.accept_delivery`, source `replay`, with the same idempotency key the HTTP
receiver would give it: the `X-Atlassian-Webhook-Identifier` header when the file carries headers,
else the event + issue id + changelog id, else the body) and then processed by
`baton.store.pipeline.process_deliveries` (extract, record transitions, re-derive the touched issues),
the function the embedded drainer and `baton worker` call.
Jira REST exports (a search response with `issues[]`, a `/changelog/bulkfetch` response, a single
issue) are not webhook deliveries; they go through `baton.store.pipeline.ingest_extractions`, the path
backfill pages take. Either way a second replay of the same files adds nothing.

Accepted inputs: files or directories (searched recursively for *.json, *.ndjson, *.jsonl); one JSON
document per file, or NDJSON (one document per line). A document may be wrapped as
`{"headers": {...}, "body": <payload object or JSON text>}` (`payload` is accepted for `body`) to carry
the delivery's headers.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import click

from baton.webhooks.cli.common import (
    config_given_on_command_line,
    config_option,
    db_option,
    load_config_or_exit,
    open_database,
    progress_bar,
    settings,
    site_option,
)
from baton.webhooks.cli.errors import ProblemsReported

JSON_SUFFIXES = (".json", ".ndjson", ".jsonl")
NDJSON_SUFFIXES = (".ndjson", ".jsonl")
DEMO_CONFIG = Path(str(resources.files("baton.config") / "examples" / "demo.yaml"))
"""The demo configuration, shipped as package data (`config/examples/demo.yaml` in a checkout)."""
DEMO_SEED = 20260302


@dataclass(slots=True)
class Item:
    """One document read from a file (or one NDJSON line)."""

    origin: str
    """`path` or `path:line`: where the document came from (used in every error message)."""
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    doc: Any = None
    error: str | None = None


@dataclass(slots=True)
class ReplayReport:
    files: int = 0
    deliveries: int = 0
    """Webhook deliveries read (new + duplicate)."""
    accepted: int = 0
    """New deliveries stored in the inbox."""
    duplicate_deliveries: int = 0
    exports: int = 0
    """Jira REST export documents read (search responses, bulkfetch responses, issues)."""
    issues: int = 0
    transitions: int = 0
    """Transitions added to the log."""
    duplicate_transitions: int = 0
    skipped: int = 0
    """Deliveries without a status change (comments, worklogs, other field edits...)."""
    errors: list[tuple[str, str]] = field(default_factory=list)
    unmatched: dict[str, Any] | None = None
    """Issues touched that match no process (`baton.webhooks.serialize.unmatched_summary`): stored, but no
    request is derived from them. Known only with a configuration (None without one)."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "files": self.files,
            "deliveries": self.deliveries,
            "accepted": self.accepted,
            "duplicate_deliveries": self.duplicate_deliveries,
            "exports": self.exports,
            "issues": self.issues,
            "transitions": self.transitions,
            "duplicate_transitions": self.duplicate_transitions,
            "skipped": self.skipped,
            "errors": [{"where": where, "error": message} for where, message in self.errors],
            "unmatched_issues": self.unmatched,
        }


# Reading -----------------------------------------------------------------------------------------------


def iter_files(paths: Sequence[str]) -> Iterator[Path]:
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in JSON_SUFFIXES)
        else:
            yield path


def _canonical_headers(headers: Mapping[str, Any]) -> dict[str, str]:
    from baton.store.delivery_row import KEPT_HEADERS

    canonical = {name.lower(): name for name in KEPT_HEADERS}
    return {canonical.get(str(k).lower(), str(k)): str(v) for k, v in headers.items() if v is not None}


def _item(origin: str, raw: bytes) -> Item:
    try:
        doc = json.loads(raw)
    except (UnicodeDecodeError, ValueError) as exc:
        return Item(origin, error=f"not valid JSON ({exc})")
    if isinstance(doc, dict) and isinstance(doc.get("headers"), dict) and ("body" in doc or "payload" in doc):
        inner = doc.get("body", doc.get("payload"))
        if isinstance(inner, str | bytes):
            body = inner.encode("utf-8") if isinstance(inner, str) else inner
            try:
                inner = json.loads(body)
            except (UnicodeDecodeError, ValueError) as exc:
                return Item(origin, error=f"the wrapped body is not valid JSON ({exc})")
        else:
            body = json.dumps(inner, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        return Item(origin, body=body, headers=_canonical_headers(doc["headers"]), doc=inner)
    return Item(origin, body=raw, doc=doc)


def read_items(path: Path) -> list[Item]:
    """The documents of one file: one JSON document, or NDJSON lines (blank lines skipped)."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return [Item(str(path), error=f"cannot read: {exc.strerror or exc}")]
    as_lines = path.suffix.lower() in NDJSON_SUFFIXES
    if not as_lines:
        item = _item(str(path), raw.strip())
        if item.error is None:
            return [item]
        # several documents in a .json file: read it as NDJSON
        lines = [line for line in raw.splitlines() if line.strip()]
        if len(lines) <= 1 or any(_item("", line).error for line in lines[:2]):
            return [item]
    items: list[Item] = []
    for number, line in enumerate(raw.splitlines(), start=1):
        if line.strip():
            items.append(_item(f"{path}:{number}", line.strip()))
    return items


def is_webhook(doc: object) -> bool:
    return isinstance(doc, dict) and ("webhookEvent" in doc or isinstance(doc.get("transition"), dict))


# Feeding the pipeline ----------------------------------------------------------------------------------


BATCH = 250
"""Webhook deliveries recorded per transaction by `replay_items` (each is still accepted one by one)."""


def replay_items(
    engine: Any,
    site: str,
    config: Any,
    items: Iterable[Item],
    report: ReplayReport,
    advance: Callable[[int], None] = lambda n: None,
    batch: int = BATCH,
) -> ReplayReport:
    """Feed documents through the webhook path or, for REST exports, through ingest_extractions.

    Webhook deliveries: each is stored with `baton.store.inbox.accept_delivery` (commits, like the HTTP
    receiver). New (or still pending/failed) deliveries are then processed `batch` at a time by
    `baton.store.pipeline.process_deliveries`, the path the embedded drainer and `baton worker` take:
    one transaction and one derivation per batch; if the batch fails, every delivery of it is
    processed on its own, so the error lands on the right delivery and file.
    Updates and returns `report`."""
    from sqlalchemy.orm import Session

    from baton.scoring.extract import UnsupportedPayload, iter_documents
    from baton.store.pipeline import ingest_extractions

    issues: set[str] = set()
    pending: list[tuple[Item, Any]] = []
    with Session(engine, expire_on_commit=False) as session:

        def flush() -> None:
            if pending:
                _process_batch(session, config, pending, report, issues)
                advance(len(pending))
                pending.clear()

        for item in items:
            if item.error is None and is_webhook(item.doc):
                try:
                    pending.append((item, _accept(session, site, item, report)))
                except Exception as error:
                    session.rollback()
                    report.errors.append((item.origin, f"not stored: {type(error).__name__}: {error}"))
                    advance(1)
                if len(pending) >= batch:
                    flush()
                continue
            flush()
            try:
                if item.error is not None:
                    report.errors.append((item.origin, item.error))
                else:
                    extractions = list(iter_documents(item.doc))
                    report.exports += 1
                    result = ingest_extractions(session, site, extractions, source="replay", config=config)
                    session.commit()
                    issues.update(result.issue_ids)
                    report.transitions += result.inserted
                    report.duplicate_transitions += result.duplicates
            except UnsupportedPayload as error:
                session.rollback()
                report.errors.append((item.origin, str(error)))
            except Exception as error:  # one bad document never stops the replay
                session.rollback()
                report.errors.append((item.origin, f"{type(error).__name__}: {error}"))
            advance(1)
        flush()
        if config is not None and issues:
            from baton.store.pipeline import unmatched_report
            from baton.webhooks.serialize import unmatched_summary

            found = unmatched_summary(unmatched_report(session, site, config, issues))
            before = report.unmatched or {"total": 0, "rows": []}
            report.unmatched = {
                "total": before["total"] + found["total"],
                "rows": [*before["rows"], *found["rows"]],
            }
        elif config is not None and report.unmatched is None:
            report.unmatched = {"total": 0, "rows": []}
    report.issues += len(issues)
    return report


def _accept(session: Any, site: str, item: Item, report: ReplayReport) -> Any:
    from baton.store import inbox
    from baton.store.delivery_row import delivery_identity

    report.deliveries += 1
    identity = delivery_identity(site, item.headers, item.body, item.doc)
    accepted = inbox.accept_delivery(
        session,
        site,
        body=item.body,
        headers=item.headers,
        source="replay",
        idempotency_key=identity.idempotency_key,
        event=identity.event,
    )
    if accepted.duplicate:
        report.duplicate_deliveries += 1
    else:
        report.accepted += 1
    return accepted


def _process_batch(
    session: Any,
    config: Any,
    pending: list[tuple[Item, Any]],
    report: ReplayReport,
    issues: set[str],
) -> None:
    """Process the new (or still pending/failed) deliveries of `pending` through the one processing
    path, `baton.store.pipeline.process_deliveries`, and count what it did into `report`."""
    from sqlalchemy import select

    from baton.store import inbox
    from baton.store.models import Delivery
    from baton.store.pipeline import process_deliveries

    ids = [accepted.delivery_id for _, accepted in pending]
    states = dict(session.execute(select(Delivery.id, Delivery.state).where(Delivery.id.in_(ids))).all())
    session.commit()
    origins: dict[int, str] = {}
    for item, acc in pending:  # the same delivery twice in one batch is processed once
        if acc.delivery_id not in origins and states.get(acc.delivery_id) in (inbox.PENDING, inbox.FAILED):
            origins[acc.delivery_id] = item.origin
    for outcome in process_deliveries(session, origins, config):
        issues.update(outcome.issue_ids)
        report.transitions += outcome.inserted
        report.duplicate_transitions += outcome.duplicates
        if outcome.state == inbox.FAILED:
            report.errors.append((origins[outcome.delivery_id], outcome.error or "processing failed"))
        elif outcome.state == inbox.IGNORED:
            report.skipped += 1


def _print_report(report: ReplayReport, fmt: str, config_given: bool) -> None:
    if fmt == "json":
        click.echo(json.dumps(report.as_dict(), indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    console = Console()
    table = Table(title="replay", show_header=True)
    table.add_column("what")
    table.add_column("count", justify="right")
    rows = [
        ("files", report.files),
        ("webhook deliveries", report.deliveries),
        ("  new", report.accepted),
        ("  duplicates (already in the inbox)", report.duplicate_deliveries),
        ("  skipped: no status change", report.skipped),
        ("REST export documents", report.exports),
        ("issues touched", report.issues),
        ("  matching no process (no requests)", report.unmatched["total"] if report.unmatched else "-"),
        ("transitions added", report.transitions),
        ("transitions already in the log", report.duplicate_transitions),
        ("errors", len(report.errors)),
    ]
    for name, value in rows:
        table.add_row(name, str(value))
    console.print(table)
    if not config_given:
        console.print(
            "[yellow]no --config: transitions are stored; requests are derived when a configuration "
            "is given (baton serve / worker, or replay again with --config)[/yellow]"
        )
    if report.unmatched and report.unmatched["total"]:
        from baton.webhooks.cli.common import unmatched_table

        console.print(unmatched_table(report.unmatched["rows"]))
    for where, message in report.errors:
        click.echo(f"error: {where}: {message}", err=True)


# Commands ------------------------------------------------------------------------------------------------


@click.command("replay")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@config_option()
@db_option()
@site_option()
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="How to print the summary.",
)
@click.option("--quiet", is_flag=True, help="No progress bar.")
def replay_cmd(
    paths: tuple[str, ...], config_path: str | None, db_url: str | None, site: str, fmt: str, quiet: bool
) -> None:
    """Feed recorded webhook deliveries or Jira REST exports through the webhook pipeline.

    PATHS are files or directories (searched recursively for *.json, *.ndjson, *.jsonl). Each file
    holds one JSON document or NDJSON. Reports deliveries, transitions, duplicates, skipped
    non-status events and errors (with file and line); exits 1 when any document failed.
    """
    config = load_config_or_exit(config_path, required=False)
    if config is not None and not (config_given_on_command_line() or settings().config_as_code):
        from baton.store.live_config import ConfigResolver

        config = ConfigResolver(config)  # sites with an applied published version keep it
    engine = open_database(db_url)
    report = ReplayReport()
    files = list(iter_files(paths))
    report.files = len(files)
    items: list[Item] = []
    for path in files:
        items.extend(read_items(path))
    try:
        with progress_bar(quiet or fmt == "json") as progress:
            task = progress.add_task("replaying", total=len(items))
            replay_items(engine, site, config, items, report, lambda n: progress.advance(task, n))
    finally:
        engine.dispose()
    _print_report(report, fmt, config is not None)
    if report.errors:
        raise ProblemsReported()


@click.group("demo")
def demo_group() -> None:
    """The bundled demo: a seeded, generated history (no Jira needed)."""


@demo_group.command("load")
@config_option()
@db_option()
@site_option()
@click.option(
    "--issues",
    "n_issues",
    type=click.IntRange(1),
    default=500,
    show_default=True,
    help="Number of generated issues.",
)
@click.option(
    "--weeks", type=click.IntRange(1), default=10, show_default=True, help="History length, ending today."
)
@click.option("--seed", type=int, default=DEMO_SEED, show_default=True)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.option(
    "--force",
    is_flag=True,
    help="Replay every generated delivery even if the demo is already in the database "
    "(e.g. to finish an interrupted load on the same day; duplicates are still skipped).",
)
def demo_load(
    config_path: str | None,
    db_url: str | None,
    site: str,
    n_issues: int,
    weeks: int,
    seed: int,
    fmt: str,
    quiet: bool,
    force: bool,
) -> None:
    """Generate the seeded demo history and feed it through the replay path.

    ~500 issues over the last ~10 weeks (ending at today's 00:00 UTC), as Jira Cloud webhook
    deliveries with stable identifiers: loading twice adds nothing (when the demo's first issue is
    already in the inbox the load is skipped, so a run on a later day does not mix two generated
    histories). Default config: config/examples/demo.yaml.
    """
    from baton.scoring.simulate import simulate_deliveries

    config_file = config_path or str(DEMO_CONFIG)  # --config's default is $BATON_CONFIG
    config = load_config_or_exit(config_file)
    end = settings().clock()().replace(hour=0, minute=0, second=0, microsecond=0)  # BATON_NOW pins it
    start = end - timedelta(weeks=weeks)
    deliveries = simulate_deliveries(config, n_issues, seed=seed, start=start, end=end)
    engine = open_database(db_url)
    report = ReplayReport()
    try:
        creations = [d for d in deliveries if d.payload["webhookEvent"] == "jira:issue_created"]
        marker = min(creations, key=lambda d: int(d.payload["issue"]["id"])) if creations else None
        if not force and marker is not None and _already_loaded(engine, site, marker.headers, marker.payload):
            report.deliveries = len(deliveries)
            report.duplicate_deliveries = len(deliveries)
        else:
            items = [
                Item(
                    origin=f"demo:{d.payload['issue']['key']}:{d.payload['changelog']['id']}",
                    body=json.dumps(d.payload, separators=(",", ":")).encode("utf-8"),
                    headers=d.headers,
                    doc=d.payload,
                )
                for d in deliveries
            ]
            with progress_bar(quiet or fmt == "json") as progress:
                task = progress.add_task("loading demo", total=len(items))
                replay_items(engine, site, config, items, report, lambda n: progress.advance(task, n))
            if not report.errors:
                _record_the_configuration(engine, site, config)
    finally:
        engine.dispose()
    _print_report(report, fmt, True)
    if report.errors:
        raise ProblemsReported()


def _record_the_configuration(engine: Any, site: str, config: Any) -> None:
    """Derive the site whole under `config` once, so it records the configuration's fingerprint: a
    service started on the demo with the same configuration then has nothing to re-derive at start."""
    from sqlalchemy.orm import Session

    from baton.store.pipeline import sync_config

    with Session(engine) as session:
        sync_config(session, config, [site])


def _already_loaded(engine: Any, site: str, headers: Mapping[str, str], payload: Mapping[str, Any]) -> bool:
    """The demo's first delivery (issue 1's creation; stable for a seed) is in the inbox already."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from baton.store.delivery_row import delivery_identity
    from baton.store.models import Delivery

    key = delivery_identity(site, headers, b"", payload).idempotency_key
    with Session(engine) as session:
        found = session.execute(
            select(Delivery.id).where(Delivery.site_id == site, Delivery.idempotency_key == key)
        ).first()
    return found is not None


def register(group: click.Group) -> None:
    """Attach this module's commands to the `baton` group."""
    group.add_command(replay_cmd)
    group.add_command(demo_group)
