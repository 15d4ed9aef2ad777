"""Backfill: page a site's issues and their full status history into the transition log.

Jira Cloud (docs/jira-connector.md, "Backfill"):
  1. `POST /rest/api/3/search/jql` with a bounded JQL, paged by `nextPageToken`; the issue facts
     (project, type, priority, status with its category, created, updated) come with the search.
  2. `POST /rest/api/3/changelog/bulkfetch` for the page's issue ids (<= 1000 a call,
     `fieldIds: ["status"]`, paged by `nextPageToken`), several chunks at once on a small thread pool.
     `expand=changelog` is never trusted: it is truncated.
Jira Data Center:
  `POST /rest/api/2/search` with `startAt`/`maxResults` and `expand: ["changelog"]`, then
  `GET /rest/api/2/issue/{key}/changelog` pages for any issue whose embedded history is truncated.

Every page goes through `baton.scoring.extract.extract_issue` (the parser webhooks share) and is committed
with its checkpoint in one transaction (`baton.connector.ledger`), so an interrupted run resumes after the last
committed page and a change that a webhook already delivered is stored once. The next search page is
fetched while the current one's changelogs are, and those while the previous page commits: at most three
pages are in memory, whatever the size.
"""

from __future__ import annotations

import hashlib
import logging
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from baton.config.schema import BatonConfig
from baton.connector.client import JiraBadRequest, JiraClient, JiraNotFound
from baton.connector.ledger import Checkpoint, Ledger, PageResult
from baton.scoring.extract import extract_issue
from baton.scoring.model import Extraction

log = logging.getLogger(__name__)

SEARCH_FIELDS = ("project", "issuetype", "priority", "status", "created", "updated")
BULKFETCH_MAX_ISSUES = 1000
DEFAULT_OVERLAP = timedelta(minutes=15)
SCOPE = "backfill"


class Progress(Protocol):
    def start(self, total: int | None) -> None: ...

    def advance(self, issues: int, transitions: int) -> None: ...

    def finish(self) -> None: ...


class NoProgress:
    def start(self, total: int | None) -> None:
        pass

    def advance(self, issues: int, transitions: int) -> None:
        pass

    def finish(self) -> None:
        pass


class RichProgress:
    """A rich progress bar: issues done / approximate total, transitions found, rate and ETA."""

    def __init__(self, console: Any = None, label: str = "backfill") -> None:
        # why here: rich.progress takes about 0.2 s to import; the server loads this module for reconcile
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("issues, {task.fields[transitions]} new transitions"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=console,
            transient=False,
        )
        self._label = label
        self._task: Any = None

    def start(self, total: int | None) -> None:
        self._progress.start()
        self._task = self._progress.add_task(self._label, total=total, transitions=0)

    def advance(self, issues: int, transitions: int) -> None:
        task = self._progress.tasks[self._task]
        self._progress.update(
            self._task, advance=issues, transitions=task.fields["transitions"] + transitions
        )
        if task.total is not None and task.completed > task.total:
            # The count is approximate: never show more than 100 %.
            self._progress.update(self._task, total=task.completed)

    def finish(self) -> None:
        self._progress.stop()


@dataclass(frozen=True)
class BackfillOptions:
    since: datetime | None = None
    """Only issues updated at or after this instant (None: incremental from the last completed run)."""
    jql: str | None = None
    """Extra JQL, ANDed with the project bound built from the configuration."""
    full: bool = False
    """Ignore the last sync time (re-read everything the JQL matches)."""
    page_size: int = 500
    """Issues asked for per search page (Jira may return fewer when fields are requested)."""
    bulkfetch_chunk: int = BULKFETCH_MAX_ISSUES
    changelog_page_size: int = 1000
    concurrency: int = 4
    overlap: timedelta = DEFAULT_OVERLAP
    count_total: bool = True
    scope: str = SCOPE


@dataclass
class BackfillReport:
    site: str
    jql: str
    resumed: bool = False
    issues: int = 0
    pages: int = 0
    inserted: int = 0
    """Transitions that were not in the log yet (for reconcile: missed by webhooks)."""
    duplicates: int = 0
    approximate_total: int | None = None
    requests_sent: int = 0
    retries: int = 0
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    finished_at: datetime | None = None
    issue_ids: set[str] = field(default_factory=set, repr=False)
    """Every issue this run read (the summary says which of them match no process)."""

    def summary(self) -> str:
        took = (self.finished_at or datetime.now(UTC)) - self.started_at
        return (
            f"site {self.site}: {self.issues} issues in {self.pages} pages, {self.inserted} new transitions, "
            f"{self.duplicates} already known; {self.requests_sent} requests ({self.retries} retried) in "
            f"{took.total_seconds():.1f}s{' (resumed)' if self.resumed else ''}"
        )


def _jql_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def process_projects(config: BatonConfig) -> list[str]:
    return sorted({p.strip().upper() for proc in config.processes.values() for p in proc.match.projects})


def build_jql(
    config: BatonConfig, since: datetime | None = None, extra: str | None = None, account_zone: str = "UTC"
) -> str:
    """A bounded JQL over the configured process projects (search/jql rejects unbounded queries).

    Jira reads the date literal of `updated >= "yyyy/MM/dd HH:mm"` in the time zone of the account
    that runs the search, so `since` is written in `account_zone` (`account_time_zone`): written in
    UTC, an account west of UTC would search hours later than meant and miss changes.
    """
    projects = process_projects(config)
    if not projects:
        raise ValueError(
            "the configuration has no process projects: nothing to backfill (add match.projects)"
        )
    clauses = [f"project in ({', '.join(_jql_string(p) for p in projects)})"]
    if since is not None:
        # floored to the minute the literal can say, so the bound never starts after `since`
        clauses.append(f'updated >= "{since.astimezone(ZoneInfo(account_zone)):%Y/%m/%d %H:%M}"')
    if extra and extra.strip():
        clauses.append(f"({extra.strip()})")
    return " AND ".join(clauses) + " ORDER BY key ASC"


def account_time_zone(client: JiraClient) -> str:
    """The time zone of the account the client searches as (`/myself` `timeZone`), read at every run so
    a changed profile is followed; UTC when Jira does not say or names a zone this machine lacks."""
    api = "3" if client.site.is_cloud else "2"
    data = client.request("GET", f"/rest/api/{api}/myself") or {}
    zone = data.get("timeZone") if isinstance(data, dict) else None
    if not isinstance(zone, str) or not zone:
        return "UTC"
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        log.warning("Jira account time zone %r is unknown here: JQL dates are written in UTC", zone)
        return "UTC"
    return zone


def scope_for(options: BackfillOptions, explicit_jql: str | None) -> str:
    """Checkpoints are per scope: the default backfill, or one per distinct extra JQL."""
    if not explicit_jql:
        return options.scope
    return f"{options.scope}:{hashlib.sha256(explicit_jql.encode()).hexdigest()[:16]}"


# Pages ---------------------------------------------------------------------------------------------------


@dataclass
class SearchPage:
    issues: list[dict[str, Any]]
    next_cursor: str | None
    total: int | None = None


def cloud_search_page(client: JiraClient, jql: str, cursor: str | None, page_size: int) -> SearchPage:
    body: dict[str, Any] = {"jql": jql, "fields": list(SEARCH_FIELDS), "maxResults": page_size}
    if cursor:
        body["nextPageToken"] = cursor
    data = client.request("POST", "/rest/api/3/search/jql", json=body) or {}
    token = data.get("nextPageToken")
    last = data.get("isLast")
    return SearchPage(list(data.get("issues") or []), None if (last or not token) else str(token))


def cloud_approximate_count(client: JiraClient, jql: str) -> int | None:
    bound = jql.split(" ORDER BY ")[0]
    data = client.request("POST", "/rest/api/3/search/approximate-count", json={"jql": bound}) or {}
    count = data.get("count")
    return int(count) if isinstance(count, int) else None


def cloud_changelogs(
    client: JiraClient, issue_ids: Sequence[str], page_size: int
) -> dict[str, list[dict[str, Any]]]:
    """Status histories of up to 1000 issues, following bulkfetch's `nextPageToken` to the end."""
    if len(issue_ids) > BULKFETCH_MAX_ISSUES:
        raise ValueError(f"bulkfetch takes at most {BULKFETCH_MAX_ISSUES} issues per call")
    out: dict[str, list[dict[str, Any]]] = {str(i): [] for i in issue_ids}
    token: str | None = None
    while True:
        body: dict[str, Any] = {
            "issueIdsOrKeys": list(issue_ids),
            "fieldIds": ["status"],
            "maxResults": page_size,
        }
        if token:
            body["nextPageToken"] = token
        data = client.request("POST", "/rest/api/3/changelog/bulkfetch", json=body) or {}
        for entry in data.get("issueChangeLogs") or []:
            out.setdefault(str(entry.get("issueId")), []).extend(entry.get("changeHistories") or [])
        token = data.get("nextPageToken")
        if not token:
            return out


def dc_search_page(client: JiraClient, jql: str, cursor: str | None, page_size: int) -> SearchPage:
    start = int(cursor or 0)
    body = {
        "jql": jql,
        "startAt": start,
        "maxResults": page_size,
        "fields": [*SEARCH_FIELDS, "creator", "reporter"],
        "expand": ["changelog"],
    }
    data = client.request("POST", "/rest/api/2/search", json=body) or {}
    issues = list(data.get("issues") or [])
    total = data.get("total") if isinstance(data.get("total"), int) else None
    got = start + len(issues)
    more = bool(issues) and (total is None or got < total)
    return SearchPage(issues, str(got) if more else None, total)


def dc_full_histories(client: JiraClient, issue: Mapping[str, Any], page_size: int) -> list[dict[str, Any]]:
    """The issue's complete history: the embedded one if whole, else `/issue/{key}/changelog` pages."""
    changelog = issue.get("changelog") or {}
    histories = list(changelog.get("histories") or [])
    total = changelog.get("total")
    if not isinstance(total, int) or (total <= len(histories) and not changelog.get("startAt")):
        return histories
    key = issue.get("key") or issue.get("id")
    collected: dict[str, dict[str, Any]] = {str(h.get("id")): h for h in histories}
    start = 0
    try:
        while True:
            data = (
                client.request(
                    "GET",
                    f"/rest/api/2/issue/{key}/changelog",
                    params={"startAt": start, "maxResults": page_size},
                )
                or {}
            )
            values = list(data.get("values") or [])
            for h in values:
                collected[str(h.get("id"))] = h
            start += len(values)
            if not values or data.get("isLast") or start >= int(data.get("total") or 0):
                break
    except JiraNotFound:
        log.warning(
            "issue %s: %s has no paginated changelog endpoint; its history is truncated to the %d most "
            "recent changes",
            key,
            client.site.url,
            len(histories),
        )
    return list(collected.values())


# The run ---------------------------------------------------------------------------------------------------


def _extract(issue: Mapping[str, Any], histories: list[dict[str, Any]]) -> Extraction:
    document = {k: v for k, v in issue.items() if k != "changelog"}
    document["changelog"] = {"histories": histories}
    return extract_issue(document)


def _chunks(ids: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


class Backfill:
    """One backfill run of one site. `run()` is resumable and incremental (see module doc)."""

    def __init__(
        self,
        client: JiraClient,
        ledger: Ledger,
        config: BatonConfig,
        options: BackfillOptions | None = None,
        *,
        progress: Progress | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.client = client
        self.ledger = ledger
        self.config = config
        self.options = options or BackfillOptions()
        self.progress = progress or NoProgress()
        self.now = now
        self.site = client.site.name
        self.cloud = client.site.is_cloud

    # Planning ------------------------------------------------------------------------------------

    def plan(self) -> tuple[str, str, Checkpoint]:
        """(scope, jql, starting checkpoint): resume an interrupted run, else start an incremental one."""
        opts = self.options
        scope = scope_for(opts, opts.jql)
        previous = self.ledger.load_checkpoint(self.site, scope)
        explicit_since = opts.since is not None
        if previous and previous.in_progress and not explicit_since:
            return scope, previous.jql, previous
        since = opts.since
        if since is None and not opts.full and previous and previous.last_synced_at:
            since = previous.last_synced_at - opts.overlap
        jql = build_jql(self.config, since, opts.jql, account_time_zone(self.client) if since else "UTC")
        if previous and previous.in_progress and previous.jql == jql:
            return scope, jql, previous
        start = Checkpoint(
            jql=jql,
            in_progress=True,
            run_started_at=self.now(),
            last_synced_at=previous.last_synced_at if previous else None,
        )
        return scope, jql, start

    # Fetching ------------------------------------------------------------------------------------

    def _search(self, jql: str, cursor: str | None) -> SearchPage:
        if self.cloud:
            return cloud_search_page(self.client, jql, cursor, self.options.page_size)
        return dc_search_page(self.client, jql, cursor, self.options.page_size)

    def _histories(
        self, pool: ThreadPoolExecutor, issues: list[dict[str, Any]]
    ) -> dict[str, list[dict[str, Any]]]:
        opts = self.options
        if not self.cloud:
            futures = {
                str(i["id"]): pool.submit(dc_full_histories, self.client, i, opts.changelog_page_size)
                for i in issues
            }
            return {k: f.result() for k, f in futures.items()}
        ids = [str(i["id"]) for i in issues]
        if not ids:
            return {}
        # Spread the page over the workers, but never above bulkfetch's 1000-issue limit.
        size = min(
            opts.bulkfetch_chunk,
            BULKFETCH_MAX_ISSUES,
            max(50, math.ceil(len(ids) / max(1, opts.concurrency))),
        )
        parts = [
            pool.submit(cloud_changelogs, self.client, chunk, opts.changelog_page_size)
            for chunk in _chunks(ids, size)
        ]
        merged: dict[str, list[dict[str, Any]]] = {}
        for part in parts:
            for issue_id, histories in part.result().items():
                merged.setdefault(issue_id, []).extend(histories)
        return merged

    # Running -------------------------------------------------------------------------------------

    def run(self) -> BackfillReport:
        scope, jql, checkpoint = self.plan()
        report = BackfillReport(
            site=self.site, jql=jql, resumed=checkpoint.processed > 0 or checkpoint.cursor is not None
        )
        requests_before, retries_before = self.client.requests_sent, self.client.retries
        if report.resumed:
            log.info("resuming %s on %s after %d issues", scope, self.site, checkpoint.processed)
        else:
            self.ledger.save_checkpoint(self.site, scope, checkpoint)
        if self.cloud and self.options.count_total:
            report.approximate_total = cloud_approximate_count(self.client, jql)
        self.progress.start(report.approximate_total)
        if report.resumed:
            self.progress.advance(checkpoint.processed, 0)
        try:
            if not (report.resumed and checkpoint.cursor is None and checkpoint.processed > 0):
                checkpoint = self._pages(scope, jql, checkpoint, report)
            # else: the last page was committed but the run stopped before it was marked complete.
        finally:
            self.progress.finish()
            report.requests_sent = self.client.requests_sent - requests_before
            report.retries = self.client.retries - retries_before
        done = replace(
            checkpoint,
            in_progress=False,
            cursor=None,
            last_ids=(),
            processed=0,
            last_synced_at=checkpoint.run_started_at or report.started_at,
        )
        self.ledger.save_checkpoint(self.site, scope, done)
        report.finished_at = datetime.now(UTC)
        return report

    def _account(self, report: BackfillReport, result: PageResult) -> None:
        report.pages += 1
        report.issues += result.issues
        report.inserted += result.inserted
        report.duplicates += result.duplicates
        self.progress.advance(result.issues, result.inserted)

    def _pages(self, scope: str, jql: str, checkpoint: Checkpoint, report: BackfillReport) -> Checkpoint:
        """Fetch and commit every page. Three stages overlap: the next search page is fetched while this
        page's changelogs are, and this page's changelogs while the previous page commits. Commits stay
        strictly in order (one committer, and a page is queued only after the previous one committed), so
        the checkpoint always names the first page not yet stored. At most three pages are in memory."""
        with (
            ThreadPoolExecutor(
                max_workers=max(1, self.options.concurrency), thread_name_prefix="baton-bulkfetch"
            ) as pool,
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="baton-search") as searcher,
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="baton-commit") as committer,
        ):
            try:
                upcoming: Future[SearchPage] = searcher.submit(self._search, jql, checkpoint.cursor)
                page = upcoming.result()
            except JiraBadRequest as error:
                if not checkpoint.cursor:
                    raise
                # Page tokens expire after 7 days: start the same query over; re-reading is harmless.
                log.warning(
                    "the saved page cursor was refused (%s); restarting the search from the start", error
                )
                checkpoint = replace(checkpoint, cursor=None)
                page = self._search(jql, None)
            if report.approximate_total is None and page.total is not None:
                report.approximate_total = page.total
            committing: Future[PageResult] | None = None
            while True:
                issues = page.issues
                skip = set(checkpoint.last_ids) if not self.cloud else set()
                if skip:
                    issues = [i for i in issues if str(i.get("id")) not in skip]
                if page.next_cursor:
                    upcoming = searcher.submit(self._search, jql, page.next_cursor)
                histories = self._histories(pool, issues)
                extractions = [_extract(i, histories.get(str(i["id"]), [])) for i in issues]
                report.issue_ids.update(str(i["id"]) for i in issues)
                checkpoint = replace(
                    checkpoint,
                    cursor=page.next_cursor,
                    processed=checkpoint.processed + len(issues),
                    last_ids=tuple(str(i["id"]) for i in page.issues),
                )
                if committing is not None:
                    self._account(report, committing.result())
                committing = committer.submit(
                    self.ledger.commit_page, self.site, scope, extractions, checkpoint
                )
                if not page.next_cursor:
                    self._account(report, committing.result())
                    return checkpoint
                page = upcoming.result()
