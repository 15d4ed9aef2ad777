"""A deliberately simple, loop-based oracle for docs/semantics.md.

Written from the specification only (not from `scoring/`), so that comparing it with the engine finds
mistakes in either. Everything here is a plain Python loop: one state machine per issue walking its
sorted transitions, and working time counted by stepping through the calendar in 15-minute slots
(every configured working-hour boundary and every UTC offset we test with is a multiple of 15 minutes;
the oracle checks that instead of assuming it). Slow is fine; obvious is the point.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import holidays as holidays_pkg

from baton.config.ownership import Owner, keys_of, ownership_map, status_key
from baton.config.schema import WEEKDAYS, BatonConfig, Calendar, Process, SlaRow
from baton.scoring.model import CREATION_CHANGE_ID, DONE_REQUESTER, IssueFacts, Transition, Verdict

SLOT = 15 * 60
"""Step of the brute-force working-time count, in seconds."""


# --------------------------------------------------------------------------------------------------
# Working time
# --------------------------------------------------------------------------------------------------


class WorkCalendar:
    """Working seconds of one calendar, counted slot by slot."""

    def __init__(self, calendar: Calendar | str) -> None:
        self.always = calendar == "24x7"
        if isinstance(calendar, Calendar):
            self.zone = ZoneInfo(calendar.timezone)
            self.week = calendar.weekly_intervals()
            for intervals in self.week.values():
                for start, end in intervals:
                    assert start % SLOT == 0 and end % SLOT == 0, "oracle needs 15-minute boundaries"
            self.country = calendar.holidays.country
            self.subdivision = calendar.holidays.subdivision
            self.extra = {date.fromisoformat(d) for d in calendar.holidays.extra}
            self.working_dates = {date.fromisoformat(d) for d in calendar.holidays.working}
        self._holiday_years: dict[int, object] = {}
        self.is_working_slot = functools.lru_cache(maxsize=None)(self._is_working_slot)

    def _is_holiday(self, day: date) -> bool:
        if day in self.working_dates:
            return False
        if day in self.extra:
            return True
        if self.country is None:
            return False
        table = self._holiday_years.get(day.year)
        if table is None:
            table = holidays_pkg.country_holidays(self.country, subdiv=self.subdivision, years=day.year)
            self._holiday_years[day.year] = table
        return day in table  # type: ignore[operator]

    def _is_working_slot(self, slot_start: int) -> bool:
        local = datetime.fromtimestamp(slot_start, self.zone)
        offset = local.utcoffset()
        assert offset is not None and int(offset.total_seconds()) % SLOT == 0
        if self._is_holiday(local.date()):
            return False
        second_of_day = local.hour * 3600 + local.minute * 60 + local.second
        weekday = WEEKDAYS[local.weekday()]
        return any(start <= second_of_day < end for start, end in self.week[weekday])

    def working_seconds(self, start: float, end: float) -> float:
        """Working seconds in [start, end) (epoch seconds)."""
        if end <= start:
            return 0.0
        if self.always:
            return end - start
        total = 0.0
        slot = int(start // SLOT) * SLOT
        while slot < end:
            overlap = min(end, slot + SLOT) - max(start, slot)
            if overlap > 0 and self.is_working_slot(slot):
                total += overlap
            slot += SLOT
        return total


# --------------------------------------------------------------------------------------------------
# Requests
# --------------------------------------------------------------------------------------------------


@dataclass
class Request:
    issue_id: str
    issue_key: str | None
    seq: int
    process: str
    provider: str
    requester: str | None
    kind: str
    opened_at: float
    from_status: str | None
    to_status: str | None
    issue_type: str | None
    priority: str | None
    first_response_at: float | None = None
    resolved_at: float | None = None
    outcome: str | None = None
    rejected: bool = False
    rejected_at: float | None = None
    response_goal_s: float | None = None
    resolution_goal_s: float | None = None
    at_risk_ratio: float = 0.75
    pauses: list[list[float | None]] = field(default_factory=list)
    """[start, end] spans in pause statuses while open; end None while still paused."""
    clock_at: float | None = None
    paused: bool = False
    response_elapsed_s: float = 0.0
    resolution_elapsed_s: float = 0.0
    response_state: str = "none"
    resolution_state: str = "none"
    customer: str | None = None
    """The team judging this delivery (None: not a delivery, or nobody judges it)."""
    verdict_due_at: float | None = None
    verdict: str | None = None
    rating: float | None = None
    verdict_reason: str | None = None
    verdict_by: str | None = None
    verdict_at: float | None = None
    returned_rejection_at: float | None = None
    """When a return rejected it (before verdicts are applied)."""

    def as_dict(self) -> dict[str, object]:
        out = {k: getattr(self, k) for k in REQUEST_FIELDS}
        for k in (
            "opened_at", "first_response_at", "resolved_at", "rejected_at", "clock_at", "verdict_due_at",
            "verdict_at",
        ):  # fmt: skip
            value = out[k]
            out[k] = None if value is None else datetime.fromtimestamp(value, UTC)  # type: ignore[arg-type]
        return out


REQUEST_FIELDS = (
    "issue_id", "issue_key", "seq", "process", "provider", "requester", "kind", "opened_at",
    "first_response_at", "resolved_at", "outcome", "rejected", "rejected_at", "from_status", "to_status",
    "issue_type", "priority", "response_goal_s", "resolution_goal_s", "at_risk_ratio",
    "response_elapsed_s", "resolution_elapsed_s", "clock_at", "paused", "response_state", "resolution_state",
    "customer", "verdict_due_at", "verdict", "rating", "verdict_reason", "verdict_by", "verdict_at",
)  # fmt: skip


def _change_order(a: Transition, b: Transition) -> int:
    """semantics.md: by `at`, then the creation first, then change ids as numbers or as text."""
    if a.at != b.at:
        return -1 if a.at < b.at else 1
    x, y = a.change_id, b.change_id
    if x == y:
        return 0
    if x == CREATION_CHANGE_ID:
        return -1
    if y == CREATION_CHANGE_ID:
        return 1
    if x.isdigit() and y.isdigit():
        kx, ky = (len(x), x), (len(y), y)
        return -1 if kx < ky else 1
    return -1 if x < y else 1


def sort_transitions(transitions: Iterable[Transition]) -> list[Transition]:
    seen: set[tuple[str, str]] = set()
    unique: list[Transition] = []
    for t in transitions:
        if (t.issue_id, t.change_id) in seen:
            continue
        seen.add((t.issue_id, t.change_id))
        unique.append(t)
    return sorted(unique, key=functools.cmp_to_key(_change_order))


def process_of(config: BatonConfig, facts: IssueFacts | None) -> str | None:
    if facts is None or facts.project is None:
        return None
    for name, process in config.processes.items():
        if facts.project.casefold() not in [p.casefold() for p in process.match.projects]:
            continue
        if process.match.issue_types is not None:
            if facts.issue_type is None:
                continue
            if facts.issue_type.casefold() not in [t.casefold() for t in process.match.issue_types]:
                continue
        return name
    return None


@dataclass(frozen=True)
class Status:
    """What one status means inside one process."""

    what: str  # "none" (no status), "pause", "done", "team", "unowned"
    team: str | None = None
    role: str | None = None


class ProcessView:
    """A process's statuses, flow and goals, looked up the slow, obvious way."""

    def __init__(self, config: BatonConfig, name: str, categories: Mapping[str, str]) -> None:
        self.name = name
        self.process: Process = config.processes[name]
        self.owners: Mapping[str, Owner] = ownership_map(config, name)
        self.pause_keys = {status_key(r) for r in self.process.pause}
        self.done_keys = None if self.process.done is None else {status_key(r) for r in self.process.done}
        self.categories = categories
        self.rules = set(self.process.forward_rules())

    def status(self, status_id: str | None, name: str | None) -> Status:
        keys = keys_of(status_id, name)
        if not keys:
            return Status("none")
        if any(k in self.pause_keys for k in keys):
            return Status("pause")
        if self.done_keys is not None:
            if any(k in self.done_keys for k in keys):
                return Status("done")
        else:
            for k in keys:
                if k in self.categories:
                    if self.categories[k] == "done":
                        return Status("done")
                    break
        for k in keys:
            if k in self.owners:
                owner = self.owners[k]
                return Status("team", owner.team, owner.role)
        return Status("unowned")

    def upstream(self, x: str, y: str) -> bool:
        """A forward path x -> ... -> y exists."""
        seen = {x}
        frontier = [x]
        while frontier:
            node = frontier.pop()
            for a, b in self.rules:
                if a == node:
                    if b == y:
                        return True
                    if b not in seen:
                        seen.add(b)
                        frontier.append(b)
        return False

    def sla_row(self, provider: str, requester: str | None, facts: IssueFacts) -> SlaRow | None:
        for row in self.process.sla:
            if row.provider != provider:
                continue
            if row.requester is not None and row.requester != requester:
                continue
            if row.when is not None:
                if row.when.priority is not None and not _contains(row.when.priority, facts.priority):
                    continue
                if row.when.issue_type is not None and not _contains(row.when.issue_type, facts.issue_type):
                    continue
            return row
        return None


def _contains(options: list[str], value: str | None) -> bool:
    return value is not None and value.casefold() in [o.casefold() for o in options]


def _epoch(at: datetime) -> float:
    assert at.tzinfo is not None
    return at.timestamp()


def derive_issue(
    config: BatonConfig,
    view: ProcessView,
    facts: IssueFacts,
    transitions: list[Transition],
) -> list[Request]:
    """Walk one issue's sorted transitions; return its requests with clocks measured to the last event."""
    requests: list[Request] = []
    open_request: Request | None = None
    last_non_pause: tuple[str | None, str | None] | None = None  # (id, name) of the last non-pause `to`
    in_pause = False

    def open_new(provider: str, requester: str | None, kind: str, t: Transition, to: Status) -> Request:
        request = Request(
            issue_id=facts.issue_id,
            issue_key=facts.issue_key,
            seq=len(requests),
            process=view.name,
            provider=provider,
            requester=requester,
            kind=kind,
            opened_at=_epoch(t.at),
            from_status=t.from_name,
            to_status=t.to_name,
            issue_type=facts.issue_type,
            priority=facts.priority,
        )
        if to.role == "active":
            request.first_response_at = request.opened_at
        _set_goals(view, request, facts)
        requests.append(request)
        return request

    def resolve(outcome: str, at: float) -> None:
        nonlocal open_request
        if open_request is not None:
            open_request.resolved_at = at
            open_request.outcome = outcome
            open_request = None

    for t in transitions:
        at = _epoch(t.at)
        raw_from = view.status(t.from_id, t.from_name)
        to = view.status(t.to_id, t.to_name)

        # Which status the transition is classified from.
        if raw_from.what == "pause":
            a = view.status(*last_non_pause) if last_non_pause is not None else Status("none")
        else:
            a = raw_from

        # Pause bookkeeping of the open request (the issue sits in `to` after this transition).
        if open_request is not None:
            if to.what == "pause" and not in_pause:
                open_request.pauses.append([at, None])
            elif (
                to.what != "pause" and in_pause and open_request.pauses and open_request.pauses[-1][1] is None
            ):
                open_request.pauses[-1][1] = at
        in_pause = to.what == "pause"
        if to.what != "pause":
            last_non_pause = (t.to_id, t.to_name)

        # First response: leaving a queue status of the provider, not into its queue nor a pause.
        if (
            open_request is not None
            and open_request.first_response_at is None
            and a.what == "team"
            and a.team == open_request.provider
            and a.role == "queue"
            and not (to.what == "team" and to.team == open_request.provider and to.role == "queue")
            and to.what != "pause"
        ):
            open_request.first_response_at = at

        team_a = a.team if a.what == "team" else None
        team_b = to.team if to.what == "team" else None

        if to.what == "pause":
            continue  # the open request stays open, its clocks stop
        if team_a is not None and team_a == team_b:
            continue  # progress inside a team
        if team_a is not None and team_b is not None and (team_a, team_b) in view.rules:
            if open_request is not None:
                open_request.customer = team_b  # the team this delivery opens a request at judges it
            resolve("delivered", at)
            open_request = open_new(team_b, team_a, "new", t, to)
            continue
        if team_b is not None and (
            (team_a is not None and view.upstream(team_b, team_a)) or a.what == "done"
        ):
            resolve("returned", at)
            for earlier in reversed(requests):
                if earlier.provider == team_b and earlier.outcome == "delivered":
                    assert earlier.resolved_at is not None
                    if at - earlier.resolved_at <= view.process.reopen_window and not earlier.rejected:
                        earlier.rejected = True
                        earlier.rejected_at = at
                    break
            requester = DONE_REQUESTER if a.what == "done" else team_a
            open_request = open_new(team_b, requester, "rework", t, to)
            continue
        if to.what == "done":
            if open_request is not None:
                open_request.customer = view.process.customer  # the process's customer, if any
            resolve("delivered", at)
            continue
        if team_a is not None and team_b is not None:
            resolve("handed_off", at)
            open_request = open_new(team_b, team_a, "unmapped", t, to)
            continue
        if to.what == "unowned":
            resolve("released", at)
            continue
        if team_b is not None and a.what in ("unowned", "none"):
            # A consistent log has no open request here. In a log with a gap (a change Jira never
            # delivered) one may be open; at most one request is open per issue, so it is released.
            resolve("released", at)
            open_request = open_new(team_b, None, "new", t, to)
            continue
        # Remaining combinations (e.g. no status -> done, done -> done) change nothing.

    last_event = _epoch(transitions[-1].at) if transitions else None
    window = view.process.reopen_window
    if view.process.acceptance_window is not None:
        window = view.process.acceptance_window
    for request in requests:
        request.returned_rejection_at = request.rejected_at
        if request.outcome == "delivered" and request.customer is not None:
            assert request.resolved_at is not None
            request.verdict_due_at = request.resolved_at + window
        if request.resolved_at is None:
            request.clock_at = last_event
            request.paused = in_pause
    return requests


def _set_goals(view: ProcessView, request: Request, facts: IssueFacts) -> None:
    request.at_risk_ratio = view.process.at_risk
    if request.kind == "unmapped":
        goal = view.process.unmapped_goal
        if goal is not None:
            request.response_goal_s = goal.response
            request.resolution_goal_s = goal.resolution
        return
    row = view.sla_row(request.provider, request.requester, facts)
    if row is None:
        return
    if row.at_risk is not None:
        request.at_risk_ratio = row.at_risk
    if request.kind == "new":
        request.response_goal_s = row.response
        request.resolution_goal_s = row.resolution
    elif row.rework is not None:
        request.response_goal_s = row.response
        request.resolution_goal_s = row.rework


class Oracle:
    """Derive requests, measure clocks and compute scorecards the slow way."""

    def __init__(self, config: BatonConfig, status_categories: Mapping[str, str] | None = None) -> None:
        self.config = config
        self.categories = dict(status_categories or {})
        self.views = {name: ProcessView(config, name, self.categories) for name in config.processes}
        self.calendars = {name: WorkCalendar(cal) for name, cal in config.calendars.items()}

    def calendar_of(self, team: str) -> WorkCalendar:
        return self.calendars[self.config.teams[team].calendar]

    # -- derivation -------------------------------------------------------------------------------

    def derive(
        self,
        transitions: Iterable[Transition],
        issues: Iterable[IssueFacts],
        now: datetime | None = None,
        verdicts: Iterable[Verdict] = (),
    ) -> list[Request]:
        """Requests of every issue, ordered by (issue_id, seq); clocks as of `now` (or the last event);
        verdicts applied, `implicit` as of `now` (when given)."""
        verdicts_of: dict[str, list[Verdict]] = {}
        for v in verdicts:
            verdicts_of.setdefault(v.issue_id, []).append(v)
        facts_by_id = {f.issue_id: f for f in issues}
        by_issue: dict[str, list[Transition]] = {}
        for t in transitions:
            by_issue.setdefault(t.issue_id, []).append(t)
        out: list[Request] = []
        for issue_id in sorted(by_issue):
            facts = facts_by_id.get(issue_id)
            process = process_of(self.config, facts)
            if process is None or facts is None:
                continue
            requests = derive_issue(
                self.config, self.views[process], facts, sort_transitions(by_issue[issue_id])
            )
            for verdict in sorted(verdicts_of.get(issue_id, []), key=lambda v: v.at):  # stable: ties in order
                target = self.verdict_target(requests, verdict)
                if isinstance(target, Request):
                    record_verdict(target, verdict)
            for request in requests:
                self.measure(request, None if now is None else _epoch(now))
                if (
                    now is not None
                    and request.verdict is None
                    and request.verdict_due_at is not None
                    and _epoch(now) > request.verdict_due_at
                    and not request.rejected
                ):
                    request.verdict = "implicit"  # silence is acceptance
            out.extend(requests)
        return out

    def verdict_target(self, requests: list[Request], verdict: Verdict) -> Request | str:
        """The delivery a verdict applies to, or why it is refused: "no delivery", "window", "rejected"."""
        at = _epoch(verdict.at)
        latest: Request | None = None
        for r in requests:  # opening order; a later delivery resolved at the same instant wins
            if r.outcome != "delivered" or r.customer != verdict.team:
                continue
            assert r.resolved_at is not None
            if r.resolved_at <= at and (latest is None or r.resolved_at >= latest.resolved_at):  # type: ignore[operator]
                latest = r
        if latest is None:
            return "no delivery"
        assert latest.verdict_due_at is not None
        if at > latest.verdict_due_at:
            return "window"
        if verdict.action == "accept":
            for when in (latest.returned_rejection_at, latest.rejected_at):
                if when is not None and when <= at:
                    return "rejected"
        return latest

    def measure(self, request: Request, now: float | None) -> None:
        """Elapsed working seconds and states; open clocks run to `now` (or to `clock_at`)."""
        calendar = self.calendar_of(request.provider)
        until = now if now is not None else request.clock_at
        if until is None:  # resolved: every clock has stopped
            assert request.resolved_at is not None
            until = request.resolved_at

        def elapsed(start: float, end: float) -> float:
            total = calendar.working_seconds(start, end)
            for span_start, span_end in request.pauses:
                assert span_start is not None
                stop = until if span_end is None else span_end
                lo, hi = max(start, span_start), min(end, stop)
                if hi > lo:
                    total -= calendar.working_seconds(lo, hi)
            return total

        resolution_end = request.resolved_at
        # a resolved request's clocks stop at its resolution at the latest, even without a response
        response_end = request.first_response_at if request.first_response_at is not None else resolution_end
        request.response_elapsed_s = elapsed(
            request.opened_at, until if response_end is None else response_end
        )
        request.resolution_elapsed_s = elapsed(
            request.opened_at, until if resolution_end is None else resolution_end
        )
        request.response_state = _state(
            request.response_elapsed_s,
            request.response_goal_s,
            response_end is not None,
            request.at_risk_ratio,
        )
        request.resolution_state = _state(
            request.resolution_elapsed_s, request.resolution_goal_s, resolution_end is not None,
            request.at_risk_ratio,
        )  # fmt: skip

    # -- scores -----------------------------------------------------------------------------------

    def period_of(self, at: float, period: str) -> str:
        local = datetime.fromtimestamp(at, ZoneInfo(self.config.scoring.timezone))
        if period == "week":
            year, week, _ = local.isocalendar()
            return f"{year}-W{week:02d}"
        return f"{local.year}-{local.month:02d}"

    def scorecards(
        self, requests: list[Request], now: datetime, period: str = "week", by: str | None = None
    ) -> dict[tuple, dict]:
        """(period, team[, breakdown key]) -> fields of docs/semantics.md "Output fields"; `requests` measured as of `now`.

        Breakdown keys: the process, the pair `requester->provider` (`intake` for intake requests, as the
        engine names them), or the issue type."""

        def key(r: Request, p: str) -> tuple:
            if by is None:
                return (p, r.provider)
            if by == "process":
                return (p, r.provider, r.process)
            if by == "pair":
                return (p, r.provider, f"{r.requester or 'intake'}->{r.provider}")
            return (p, r.provider, r.issue_type)

        cards: dict[tuple, list[Request]] = {}
        for r in requests:
            if r.resolved_at is not None:
                cards.setdefault(key(r, self.period_of(r.resolved_at, period)), []).append(r)
        now_period = self.period_of(_epoch(now), period)
        open_by_key: dict[tuple, list[Request]] = {}
        for r in requests:
            if r.resolved_at is None:
                open_by_key.setdefault(key(r, now_period), []).append(r)
                cards.setdefault(key(r, now_period), [])
        weights = self.config.scoring.weights
        out: dict[tuple, dict] = {}
        for card_key, resolved in cards.items():
            with_goal = [r for r in resolved if r.resolution_goal_s is not None]
            with_response_goal = [r for r in resolved if r.response_goal_s is not None]
            delivered = [r for r in resolved if r.outcome == "delivered"]
            rejected = [r for r in delivered if r.rejected]
            timeliness = _ratio(sum(r.resolution_state == "met" for r in with_goal), len(with_goal))
            response = _ratio(
                sum(r.response_state == "met" for r in with_response_goal), len(with_response_goal)
            )
            quality = None if not delivered else 1 - len(rejected) / len(delivered)
            rated = [r.rating for r in delivered if r.rating is not None and not r.rejected]
            satisfaction = None if not rated else sum(rated) / len(rated) / 5  # type: ignore[arg-type]
            parts = [(weights.timeliness, timeliness), (weights.quality, quality)]
            if weights.satisfaction is not None:
                parts.append((weights.satisfaction, satisfaction))
            parts = [(w, v) for w, v in parts if v is not None]
            score = None  # no data, or only parts that weigh nothing: nothing to renormalise
            if sum(w for w, _ in parts) > 0:
                score = round(100 * sum(w * v for w, v in parts) / sum(w for w, _ in parts), 1)
            ratios = sorted(r.resolution_elapsed_s / r.resolution_goal_s for r in with_goal)  # type: ignore[operator]
            open_here = open_by_key.get(card_key, [])
            out[card_key] = {
                "timeliness": timeliness,
                "response_timeliness": response,
                "quality": quality,
                "score": score,
                "resolved": len(resolved),
                "delivered": len(delivered),
                "rejected": len(rejected),
                "ratio_p50": _percentile(ratios, 0.5),
                "ratio_p90": _percentile(ratios, 0.9),
                "rework_hours": sum(r.resolution_elapsed_s for r in resolved if r.kind == "rework") / 3600,
                "open_at_risk": sum(_headline_state(r) == "at_risk" for r in open_here),
                "open_breached": sum(_headline_state(r) == "breached" for r in open_here),
                "satisfaction": satisfaction,
            }
        return out


def record_verdict(request: Request, verdict: Verdict) -> None:
    """A valid verdict becomes the latest; a reject rejects (the earliest rejection's time stays)."""
    at = _epoch(verdict.at)
    request.verdict_by = verdict.by
    request.verdict_at = at
    if verdict.action == "accept":
        request.verdict = "accepted"
        request.rating = None if verdict.rating is None else float(verdict.rating)
        request.verdict_reason = None
    else:
        request.verdict = "rejected"
        request.rating = None
        request.verdict_reason = verdict.reason
        if not request.rejected or (request.rejected_at is not None and at < request.rejected_at):
            request.rejected = True
            request.rejected_at = at


def _headline_state(request: Request) -> str:
    return request.resolution_state if request.resolution_goal_s is not None else request.response_state


def _ratio(num: int, den: int) -> float | None:
    return None if den == 0 else num / den


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    pos = q * (len(values) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (pos - lo)


def _state(elapsed: float, goal: float | None, stopped: bool, ratio: float) -> str:
    if goal is None:
        return "none"
    if stopped:
        return "met" if elapsed <= goal else "breached"
    if elapsed >= goal:
        return "breached"
    if elapsed >= ratio * goal:
        return "at_risk"
    return "running"
