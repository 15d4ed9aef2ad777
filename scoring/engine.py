"""The one door into the engine: transitions -> requests -> clocks -> scores.

Every caller (webhook processing, replay, backfill, CLI queries, JSON API, benchmarks) goes
through these functions so that all of them compute the same numbers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Literal

import pandas as pd

from baton.config.schema import BatonConfig
from baton.scoring import alerts as _alerts
from baton.scoring import clocks as _clocks
from baton.scoring import derive as _derive
from baton.scoring import handoffs as _handoffs
from baton.scoring import live as _live
from baton.scoring import overview as _overview
from baton.scoring import periods as _periods
from baton.scoring import preview as _preview
from baton.scoring import scores as _scores
from baton.scoring import verdicts as _verdicts
from baton.scoring.model import Verdict

Period = Literal["week", "month"]
Breakdown = Literal["process", "pair", "issue_type"]


def derive_requests(
    transitions: pd.DataFrame,
    issues: pd.DataFrame,
    config: BatonConfig,
    status_categories: Mapping[str, str] | None = None,
    verdicts: Sequence[Verdict] = (),
) -> pd.DataFrame:
    """Derive internal service requests from transition logs and verdicts (docs/semantics.md).

    `transitions` has `baton.scoring.model.TRANSITION_COLUMNS` (any order of rows, duplicates allowed);
    `issues` has `ISSUE_COLUMNS`; `status_categories` maps status keys (`baton.config.ownership.keys_of`:
    `id:<id>` and `name:<normalised name>`) to Jira's category key (`new`/`indeterminate`/`done`) for processes without explicit done statuses.
    `verdicts` are the internal customers' verdict events (any order; ties keep their given order).
    Returns a frame with `REQUEST_COLUMNS`; a pure function of its inputs.
    """
    return _derive.derive(transitions, issues, config, status_categories, verdicts)


derive_requests_each = _derive.derive_each
"""`derive_requests` of the same inputs under each of several configurations, in order (a preview's live
and draft): the stages that do not depend on the configuration run once where they can."""


def judge_verdict(
    requests: pd.DataFrame, prior: Iterable[Verdict], verdict: Verdict, config: BatonConfig
) -> _verdicts.Judgement:
    """Where a new verdict lands (the delivery's `seq`, provider, process, window end), given the issue's
    requests derived without verdicts and its earlier verdicts; raises `VerdictRefused` with the message
    a refused caller sees (no delivery, outside the window, an accept after a rejection, bad input)."""
    return _verdicts.judge(requests, prior, verdict, config)


def rejection_reasons(requests: pd.DataFrame, by: Sequence[str] = ("provider",)) -> pd.DataFrame:
    """Rejection reasons by verdict per group of `by` (default per provider: `provider`, `reason`,
    `count`): groups by name, most frequent reason first, ties by reason. The hand-off matrix's cells
    carry the same count by requester and provider (`handoff_matrix`' `rejection_reasons`)."""
    return _verdicts.rejection_reasons(requests, by)


def awaiting_verdict(requests: pd.DataFrame, now: datetime) -> pd.Series:
    """Judged deliveries still awaiting their customer's verdict at `now` (window open, no verdict)."""
    return _verdicts.awaiting_verdict(requests, now)


def evaluate_clocks(requests: pd.DataFrame, config: BatonConfig, now: datetime) -> pd.DataFrame:
    """Add `response_state`/`resolution_state` and bring running clocks' elapsed time up to `now`; a
    judged delivery whose acceptance window ended without a verdict gets `verdict` `implicit`.

    Running clocks (not paused) are measured from `clock_at`, which is set to `now` for them, so an
    evaluated frame can be evaluated again at a later `now`. Pass `derive_requests`' frame (or a
    stored copy of it)."""
    return _clocks.evaluate_clocks(requests, config, now)


def scorecards(
    requests: pd.DataFrame,
    config: BatonConfig,
    now: datetime,
    period: Period = "week",
    by: Breakdown | None = None,
) -> pd.DataFrame:
    """One row per (period, team[, breakdown key]) with the fields of docs/semantics.md "Output fields".

    Columns: `period`, `team`, the key column when `by` is given (`process`; `pair` as
    "requester->provider", "intake->dev" for intake requests; `issue_type`, None when missing), then
    `baton.scoring.scores.SCORE_COLUMNS`. Ratios and the score are None without data. Accepts a frame with or
    without states (it evaluates the clocks at `now` when `resolution_state` is absent)."""
    return _scores.scorecards(requests, config, now, period=period, by=by)


def handoff_matrix(
    requests: pd.DataFrame, config: BatonConfig, now: datetime, period: Period | None = None
) -> pd.DataFrame:
    """Requester x provider (`baton.scoring.handoffs.MATRIX_COLUMNS`): requests, open, resolved, met,
    with_goal, timeliness, delivered, rejected, rejection_rate, returns (rejected by a return alone)
    and rejection_reasons (`[{reason, count}]` of the deliveries rejected by verdict, most frequent
    first: `rejected` = `returns` + their counts); requester None for intake requests. With `period`,
    only the period containing `now`: requests resolved in it, and those open now."""
    return _handoffs.handoff_matrix(requests, config, now, period)


def team_overview(
    requests: pd.DataFrame,
    config: BatonConfig,
    now: datetime,
    period: Period = "week",
    teams: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Every provider team's `scorecards` row of the period containing `now`, worst first, with the
    previous period's score and the change (`baton.scoring.overview.OVERVIEW_COLUMNS`); teams with
    fewer than `SMALL_SAMPLE` resolved requests are marked `small_sample` and ranked after the others.
    `teams` defaults to `process_teams(config)`."""
    return _overview.team_overview(requests, config, now, period, teams)


def process_teams(config: BatonConfig, process: str | None = None) -> list[str]:
    """The teams that can be providers in one process (or in any), in configuration order."""
    return _overview.process_teams(config, process)


SMALL_SAMPLE = _overview.SMALL_SAMPLE


def unmapped_report(requests: pd.DataFrame) -> pd.DataFrame:
    """Unmapped hand-offs (`baton.scoring.handoffs.UNMAPPED_COLUMNS`): per (requester team, provider team,
    from_status, to_status): count, examples (up to three issue keys, first seen first), last_seen;
    most frequent first."""
    return _handoffs.unmapped_report(requests)


def unmatched_issues(issues: pd.DataFrame, config: BatonConfig) -> pd.DataFrame:
    """Stored issues that match no process, so that no request is derived from them
    (`baton.scoring.handoffs.UNMATCHED_COLUMNS`): per (project, issue type): `reason` (`no_project`,
    `project`: no process lists it, `issue_type`: the processes of its project do not list its type),
    `count`, `examples` (up to three issue keys, oldest first); most frequent first. `issues` is the
    issues frame (`ISSUE_COLUMNS`), or a grouped one with a `count` column."""
    return _handoffs.unmatched_issues(issues, config)


def live_clocks(requests: pd.DataFrame, config: BatonConfig, now: datetime) -> pd.DataFrame:
    """`evaluate_clocks`' frame plus what a reader of one request sees (`baton.scoring.live.LIVE_COLUMNS`):
    `state` (the resolution clock's, else the response clock's), `remaining_s` (working seconds left,
    negative past the goal, NaN when resolved or without goal) and `due_at` (the UTC instant the live clock
    reaches its goal on the provider's calendar if it keeps running; NaT when there is none)."""
    return _live.live_clocks(requests, config, now)


def due_times(
    requests: pd.DataFrame, remaining_s: pd.Series, config: BatonConfig, now: datetime
) -> pd.Series:
    """When each open request's clock reaches its goal with `remaining_s` working seconds left (NaN: no
    due time), on the provider's calendar (`live_clocks`' `due_at`); write-back passes the running
    resolution clocks only."""
    return _live.due_times(requests, remaining_s, config, now)


def live_state(requests: pd.DataFrame) -> pd.Series:
    """The live state of evaluated requests (`live_clocks`' `state`), without the due-time search."""
    return _live.live_state(requests)


def remaining_working_s(requests: pd.DataFrame) -> pd.Series:
    """Working seconds left on evaluated requests' live clocks (`live_clocks`' `remaining_s`)."""
    return _live.remaining_working_s(requests)


def recent_period_labels(now: datetime, period: Period, count: int, timezone: str) -> list[str]:
    """Labels of the last `count` periods up to the one containing `now`, oldest first (the `period`
    values `scorecards` gives those periods)."""
    return _periods.recent_period_labels(now, period, count, timezone)


def first_period_start(now: datetime, period: Period, count: int, timezone: str) -> datetime:
    """An instant before the first of the last `count` periods: requests alive from then on are all
    `scorecards` needs for those periods."""
    return _periods.first_period_start(now, period, count, timezone)


def period_bounds(label: str, period: Period, timezone: str) -> tuple[datetime, datetime]:
    """Where the period `label` starts and the next one starts (UTC instants), in `timezone`."""
    return _periods.period_bounds(label, period, timezone)


def alert_crossings(requests: pd.DataFrame, config: BatonConfig, now: datetime) -> pd.DataFrame:
    """Open requests whose live clock crossed into `at_risk` or `breached` by `now`: one row per
    (request, state) with `baton.scoring.alerts.CROSSING_COLUMNS` (`request_key`, `state`, `crossed_at`,
    goal, threshold, due time...), the crossings Baton notifies alert targets of once each."""
    return _alerts.crossings(requests, config, now)


def alert_routes(crossings: pd.DataFrame, config: BatonConfig) -> pd.DataFrame:
    """`alert_crossings`' rows once per alert target (`config.alerts`) that wants each of them
    (`baton.scoring.alerts.ROUTE_COLUMNS`: `target` plus the crossing)."""
    return _alerts.route(crossings, config)


Preview = _preview.Preview
PreviewRow = _preview.PreviewRow
DerivationPlan = _preview.DerivationPlan
PREVIEW_COLUMNS = _preview.PREVIEW_COLUMNS


def issue_processes(issues: pd.DataFrame, config: BatonConfig) -> tuple[pd.Index, pd.Series]:
    """The process each issue of an issues frame (`ISSUE_COLUMNS`) belongs to under `config`, as
    `derive_requests` decides it: (issue ids, process names with None where no process matches)."""
    ids, names = _derive.issue_processes(issues, config)
    return pd.Index(ids, dtype=object), pd.Series(names, index=pd.Index(ids, dtype=object), dtype=object)


def derivation_plan(live: BatonConfig, draft: BatonConfig) -> DerivationPlan:
    """Which processes' requests `draft` can change against `live` (`baton.scoring.preview.DerivationPlan`):
    everything when calendars, teams or process matching differ; else per process, carried over as
    derived, carried over with the goals looked up again, or derived again."""
    return _preview.derivation_plan(live, draft)


def carried_requests(before: pd.DataFrame, draft: BatonConfig, plan: DerivationPlan) -> pd.DataFrame:
    """`before`'s requests (derived under the live configuration) of the processes `plan` keeps, as
    `derive_requests` would give them under `draft` (goals looked up again for the regoaled ones)."""
    return _preview.carried_requests(before, draft, plan)


def preview_accumulator(
    live: BatonConfig,
    draft: BatonConfig,
    now: datetime,
    *,
    period: Period = "week",
    since: datetime | None = None,
    until: datetime | None = None,
    live_fingerprint: str = "",
    draft_fingerprint: str = "",
) -> _preview.PreviewAccumulator:
    """Compare two configurations on the same history, chunk by chunk (`baton.scoring.preview`): feed it
    `derive_requests` of each chunk of issues under `live` and under `draft` (`add`), then `result()`
    gives the before/after `scorecards(..., by="process")` rows, the hand-off pairs that became mapped or
    unmapped and the requests whose kind, provider or outcome changed."""
    return _preview.PreviewAccumulator(
        live,
        draft,
        now,
        period=period,
        since=since,
        until=until,
        live_fingerprint=live_fingerprint,
        draft_fingerprint=draft_fingerprint,
    )
