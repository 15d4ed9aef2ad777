"""Seeded generator of realistic Jira histories for a Baton configuration (pure: `now` is a parameter).

The flows come from the configuration itself: every process's stages (or forward hand-off rules, in
topological order) give the routine path `To Do -> queue(team 1) -> active(team 1) -> queue(team 2) ...
-> done`. On top of it the generator adds what real teams do:

* **returns**: from a team's active status back to the previous team's active status (rework);
* **pauses**: into the process's first pause status and back to where the issue was;
* **reopens**: from done back into the second stage's active status (at most once per issue);
* **unmapped hand-offs**: skipping a stage (team k hands straight to team k+2);
* **releases**: work put back into the unowned backlog status;
* **working-hours-biased timestamps**: every change lands inside 09:00-17:30 local time on a weekday
  of the team that acts (24x7 teams also at night), with log-normal waiting and working times.

Two outputs:

* `simulate_frames(config, n_issues, seed=..., start=..., end=...)` -> `(transitions, issues)` frames with
  `baton.scoring.model.TRANSITION_COLUMNS` / `ISSUE_COLUMNS`. Vectorised over issues (numpy; the Python loop
  runs over steps, not issues): 100,000 issues / ~1,000,000 transitions take a few seconds.
* `simulate_deliveries(...)` -> the same histories as Jira Cloud webhook deliveries: one
  `jira:issue_created` per issue (changelog with the initial status item, `from` null) and one
  `jira:issue_updated` per status change (changelog id, epoch-ms `timestamp`, issue fields with status
  and statusCategory, issuetype, priority, project, created/updated), each with its delivery headers
  (`X-Atlassian-Webhook-Identifier`, stable for a given seed, issue and change).

Issues created near `end` are still open; issues whose next change would fall after `end` stop there.
Same config, seed, `n_issues`, `start` and `end` -> identical output.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, cast
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
import pandas as pd

from baton.config.schema import BatonConfig, Calendar, StatusId, StatusRef
from baton.scoring.model import CREATION_CHANGE_ID, ISSUE_COLUMNS, TRANSITION_COLUMNS, StatusInfo

__all__ = [
    "Delivery",
    "SimParams",
    "process_flows",
    "simulate_deliveries",
    "simulate_frames",
    "status_catalogue",
    "status_categories",
]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

HOUR = 3600
DAY = 86400
FIRST_STATUS_ID = 10000
FIRST_ISSUE_ID = 10000
FIRST_CHANGE_ID = 100000
ISSUE_TYPES = ("Story", "Bug", "Task")
ISSUE_TYPE_WEIGHTS = (0.5, 0.3, 0.2)
PRIORITIES = ("Highest", "High", "Medium", "Low")
PRIORITY_WEIGHTS = (0.08, 0.22, 0.55, 0.15)
PRIORITY_IDS = {"Highest": "1", "High": "2", "Medium": "3", "Low": "4", "Lowest": "5"}
ISSUE_TYPE_IDS = {"Story": "10001", "Bug": "10004", "Task": "10002"}
BACKLOG = "To Do"
MEMBERS_PER_TEAM = 4


@dataclass(frozen=True, slots=True)
class SimParams:
    """Behaviour of the simulated teams (probabilities per step, times in working hours)."""

    p_pause: float = 0.06
    p_return: float = 0.12
    p_unmapped: float = 0.04
    p_release: float = 0.02
    p_reopen: float = 0.08
    max_returns: int = 2
    backlog_hours: float = 6.0
    queue_hours: float = 3.0
    active_hours: float = 7.0
    pause_hours: float = 10.0
    reopen_days: float = 3.0
    max_steps: int = 40
    process_weights: Mapping[str, float] = field(default_factory=dict)
    """Relative share of issues per process (default: equal)."""


@dataclass(frozen=True, slots=True)
class Delivery:
    """One webhook delivery as Jira would POST it: headers and JSON body."""

    headers: dict[str, str]
    payload: dict[str, Any]


# Flows derived from the configuration ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Status:
    status_id: str
    name: str
    category: str
    team: str | None


@dataclass(frozen=True, slots=True)
class _Flow:
    """One process as a state machine: state 0 backlog, 1+2k queue(k), 2+2k active(k), pause, done."""

    process: str
    projects: tuple[str, ...]
    issue_types: tuple[str, ...]
    stages: tuple[str, ...]
    states: tuple[_Status | None, ...]
    """Status per state (None: the stage has no queue status)."""
    offsets: tuple[int, ...]
    """UTC offset (seconds) of the calendar of the team acting in each state."""
    always_open: tuple[bool, ...]

    @property
    def n_stages(self) -> int:
        return len(self.stages)

    @property
    def pause_state(self) -> int:
        return 1 + 2 * self.n_stages

    @property
    def done_state(self) -> int:
        return 2 + 2 * self.n_stages


def _ref_name(ref: StatusRef) -> tuple[str | None, str]:
    if isinstance(ref, StatusId):
        return ref.id, f"Status {ref.id}"
    return None, ref


def _ordered_stages(rules: Sequence[tuple[str, str]], stages: Sequence[str] | None) -> list[str]:
    if stages:
        return list(stages)
    order: list[str] = []
    teams = {t for rule in rules for t in rule}
    incoming = {t: 0 for t in teams}
    for _, b in rules:
        incoming[b] += 1
    ready = sorted(t for t, n in incoming.items() if n == 0)
    while ready:
        team = ready.pop(0)
        order.append(team)
        for a, b in rules:
            if a == team:
                incoming[b] -= 1
                if incoming[b] == 0:
                    ready.append(b)
    return order


def _offset_of(calendar: Calendar | str, at: datetime) -> tuple[int, bool]:
    if not isinstance(calendar, Calendar):
        return 0, True
    delta = at.astimezone(ZoneInfo(calendar.timezone)).utcoffset() or timedelta(0)
    return int(delta.total_seconds()), False


def _catalogue(config: BatonConfig) -> dict[str, _Status]:
    """Every status the simulated workflows use, by lower-cased name, with stable ids."""
    entries: dict[str, tuple[str | None, str, str, str | None]] = {}

    def add(ref: StatusRef, category: str, team: str | None) -> None:
        sid, name = _ref_name(ref)
        entries.setdefault(name.casefold(), (sid, name, category, team))

    add(BACKLOG, "new", None)
    for team_name, team_def in config.teams.items():
        for ref in (*team_def.statuses.queue, *team_def.statuses.active):
            add(ref, "indeterminate", team_name)
    for process in config.processes.values():
        for team_name, statuses in process.ownership.items():
            for ref in (*statuses.queue, *statuses.active):
                add(ref, "indeterminate", team_name)
        for ref in process.pause:
            add(ref, "indeterminate", None)
        for ref in process.done or ["Done"]:
            add(ref, "done", None)
    taken = {sid for sid, *_ in entries.values() if sid is not None}
    next_id = FIRST_STATUS_ID
    out: dict[str, _Status] = {}
    for key in sorted(entries):
        sid, name, category, team = entries[key]
        if sid is None:
            while str(next_id) in taken:
                next_id += 1
            sid = str(next_id)
            taken.add(sid)
        out[key] = _Status(sid, name, category, team)
    return out


def process_flows(config: BatonConfig, at: datetime | None = None) -> list[_Flow]:
    """The state machine of every process (the statuses the generator moves issues through)."""
    when = at or datetime(2026, 1, 1, tzinfo=UTC)
    catalogue = _catalogue(config)
    flows: list[_Flow] = []
    for name, process in config.processes.items():
        stages = _ordered_stages(process.forward_rules(), process.stages)
        states: list[_Status | None] = [catalogue[BACKLOG.casefold()]]
        teams: list[str | None] = [None]
        for team_name in stages:
            team_statuses = process.ownership.get(team_name, config.teams[team_name].statuses)
            queue = team_statuses.queue[0] if team_statuses.queue else None
            active = team_statuses.active[0] if team_statuses.active else queue
            if active is None:
                raise ValueError(f"process {name}: team {team_name} owns no status to simulate")
            states.append(catalogue[_ref_name(queue)[1].casefold()] if queue is not None else None)
            states.append(catalogue[_ref_name(active)[1].casefold()])
            teams.extend([team_name, team_name])
        pause = process.pause[0] if process.pause else None
        states.append(catalogue[_ref_name(pause)[1].casefold()] if pause is not None else None)
        teams.append(None)
        done = (process.done or ["Done"])[0]
        states.append(catalogue[_ref_name(done)[1].casefold()])
        teams.append(None)
        offsets: list[int] = []
        always: list[bool] = []
        fallback = config.teams[stages[0]].calendar
        for acting in teams:
            calendar = config.calendars[config.teams[acting].calendar if acting else fallback]
            offset, is_always = _offset_of(calendar, when)
            offsets.append(offset)
            always.append(is_always)
        flows.append(
            _Flow(
                process=name,
                projects=tuple(process.match.projects),
                issue_types=tuple(process.match.issue_types or ISSUE_TYPES),
                stages=tuple(stages),
                states=tuple(states),
                offsets=tuple(offsets),
                always_open=tuple(always),
            )
        )
    return flows


def status_catalogue(config: BatonConfig) -> list[StatusInfo]:
    """The statuses of the simulated workflows, as Jira reports them (id, name, category)."""
    return [StatusInfo(s.status_id, s.name, s.category) for s in _catalogue(config).values()]


def status_categories(config: BatonConfig) -> dict[str, str]:
    """`id:<id>` / `name:<name>` -> category key, for `baton.scoring.engine.derive_requests`."""
    out: dict[str, str] = {}
    for s in _catalogue(config).values():
        out[f"id:{s.status_id}"] = s.category
        out[f"name:{' '.join(s.name.split()).casefold()}"] = s.category
    return out


# Vectorised generation ----------------------------------------------------------------------------------


def _snap_to_working_hours(
    rng: np.random.Generator, t: IntArray, offset: IntArray, always: BoolArray
) -> IntArray:
    """Move instants outside 09:00-17:30 local on weekdays to the next working morning (+ jitter)."""
    local = t + offset
    day = local // DAY
    sec = local % DAY
    jitter = rng.integers(0, 90 * 60, size=t.shape[0])
    early = sec < 9 * HOUR
    late = sec > 17 * HOUR + 30 * 60
    sec = np.where(early | late, 9 * HOUR + jitter, sec)
    day = np.where(late, day + 1, day)
    dow = (day + 3) % 7  # 1970-01-01 was a Thursday; 0 = Monday
    day = np.where(dow >= 5, day + (7 - dow), day)
    snapped = day * DAY + sec - offset
    keep = always & (rng.random(t.shape[0]) < 0.6)
    return np.where(keep, t, snapped).astype(np.int64)


def _lognormal_hours(rng: np.random.Generator, mean_hours: FloatArray) -> FloatArray:
    sigma = 0.8
    mu = np.log(np.maximum(mean_hours, 1e-3)) - sigma * sigma / 2
    return np.asarray(rng.lognormal(mu, sigma), dtype=np.float64)


def _simulate_flow(
    rng: np.random.Generator,
    flow: _Flow,
    created: IntArray,
    end: int,
    params: SimParams,
) -> tuple[IntArray, IntArray, IntArray, IntArray]:
    """-> (issue index, from state (-1 = none), to state, at) for one process's issues."""
    n = created.shape[0]
    L = flow.n_stages
    pause_state, done_state = flow.pause_state, flow.done_state
    n_states = done_state + 1
    has_queue = np.array([s is not None for s in flow.states], dtype=bool)
    has_pause = flow.states[pause_state] is not None
    offsets = np.array(flow.offsets, dtype=np.int64)
    always = np.array(flow.always_open, dtype=bool)
    # per state: stage index and kind (0 backlog, 1 queue, 2 active, 3 pause, 4 done)
    stage_of = np.full(n_states, -1, dtype=np.int64)
    kind_of = np.zeros(n_states, dtype=np.int64)
    for k in range(L):
        stage_of[1 + 2 * k] = stage_of[2 + 2 * k] = k
        kind_of[1 + 2 * k], kind_of[2 + 2 * k] = 1, 2
    kind_of[pause_state], kind_of[done_state] = 3, 4
    mean_wait = np.array(
        [params.backlog_hours, params.queue_hours, params.active_hours, params.pause_hours, 0.0]
    )

    def enter(stage: IntArray) -> IntArray:
        queue_state = 1 + 2 * stage
        return np.where(has_queue[queue_state], queue_state, queue_state + 1)

    idx = np.arange(n, dtype=np.int64)
    state = np.zeros(n, dtype=np.int64)
    t = created.copy()
    resume = np.zeros(n, dtype=np.int64)
    returns = np.zeros(n, dtype=np.int64)
    reopened = np.zeros(n, dtype=bool)
    alive = t <= end
    out_i: list[IntArray] = [idx[alive]]
    out_from: list[IntArray] = [np.full(int(alive.sum()), -1, dtype=np.int64)]
    out_to: list[IntArray] = [state[alive]]
    out_t: list[IntArray] = [t[alive]]
    reopen_stage = min(1, L - 1)

    for _ in range(params.max_steps):
        live = np.flatnonzero(alive)
        if live.size == 0:
            break
        s = state[live]
        kind = kind_of[s]
        stage = stage_of[s]
        u = rng.random(live.size)
        nxt = np.full(live.size, -2, dtype=np.int64)  # -2: terminal

        nxt = np.where(kind == 0, enter(np.zeros(live.size, dtype=np.int64)), nxt)
        nxt = np.where(kind == 1, s + 1, nxt)
        nxt = np.where(kind == 3, resume[live], nxt)
        # active: pause / return / unmapped skip / release / forward / done
        act = kind == 2
        p_pause = params.p_pause if has_pause else 0.0
        can_return = (stage > 0) & (returns[live] < params.max_returns)
        can_skip = stage + 2 <= L - 1
        c1 = p_pause
        c2 = c1 + np.where(can_return, params.p_return, 0.0)
        c3 = c2 + np.where(can_skip, params.p_unmapped, 0.0)
        c4 = c3 + params.p_release
        forward = np.where(stage >= L - 1, done_state, enter(np.minimum(stage + 1, L - 1)))
        active_next = np.where(
            u < c1,
            pause_state,
            np.where(
                u < c2,
                2 + 2 * np.maximum(stage - 1, 0),
                np.where(u < c3, enter(np.minimum(stage + 2, L - 1)), np.where(u < c4, 0, forward)),
            ),
        )
        nxt = np.where(act, active_next, nxt)
        resume[live] = np.where(act & (u < c1), s, resume[live])
        returns[live] = returns[live] + (act & (u >= c1) & (u < c2))
        reopen = (kind == 4) & ~reopened[live] & (u < params.p_reopen)
        nxt = np.where(kind == 4, np.where(reopen, 2 + 2 * reopen_stage, -2), nxt)
        reopened[live] = reopened[live] | reopen

        terminal = nxt < 0
        safe_next = np.where(terminal, 0, nxt)
        hours = _lognormal_hours(rng, mean_wait[kind])
        # working hours stretch over calendar time (about 8 of every 24 hours, 5 of 7 days)
        stretch = np.where(always[s], 1.0, 3.0)  # a 24x7 team's hours are calendar hours
        calendar_seconds = (hours * HOUR * stretch).astype(np.int64) + 60
        calendar_seconds = np.where(
            reopen,
            (rng.exponential(params.reopen_days, live.size) * DAY).astype(np.int64) + HOUR,
            calendar_seconds,
        )
        new_t = _snap_to_working_hours(rng, t[live] + calendar_seconds, offsets[safe_next], always[safe_next])
        moving = ~terminal & (new_t <= end)
        alive[live] = moving
        rows = live[moving]
        out_i.append(rows)
        out_from.append(s[moving])
        out_to.append(nxt[moving])
        out_t.append(new_t[moving])
        state[rows] = nxt[moving]
        t[rows] = new_t[moving]

    return (
        np.concatenate(out_i),
        np.concatenate(out_from),
        np.concatenate(out_to),
        np.concatenate(out_t),
    )


def _epoch(value: datetime) -> int:
    if value.tzinfo is None:
        raise ValueError("start/end must be timezone-aware")
    return int(value.timestamp())


def simulate_frames(
    config: BatonConfig,
    n_issues: int,
    *,
    seed: int = 0,
    start: datetime,
    end: datetime,
    params: SimParams | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """`n_issues` histories created between `start` and `end` -> (transitions frame, issues frame)."""
    params = params or SimParams()
    rng = np.random.default_rng(seed)
    t0, t1 = _epoch(start), _epoch(end)
    flows = process_flows(config, start)
    weights = np.array([params.process_weights.get(f.process, 1.0) for f in flows], dtype=np.float64)
    process_of = rng.choice(len(flows), size=n_issues, p=weights / weights.sum())
    created_raw = rng.integers(t0, max(t0 + 1, t1 - HOUR), size=n_issues, dtype=np.int64)
    created_raw.sort()  # issue ids grow with creation time, as in Jira

    issue_ids = np.arange(FIRST_ISSUE_ID, FIRST_ISSUE_ID + n_issues, dtype=np.int64)
    project = np.empty(n_issues, dtype=object)
    issue_type = np.empty(n_issues, dtype=object)
    priority = rng.choice(np.array(PRIORITIES, dtype=object), size=n_issues, p=PRIORITY_WEIGHTS)
    created = np.empty(n_issues, dtype=np.int64)

    parts_i: list[IntArray] = []
    parts_from: list[npt.NDArray[np.object_]] = []
    parts_to: list[npt.NDArray[np.object_]] = []
    parts_from_id: list[npt.NDArray[np.object_]] = []
    parts_to_id: list[npt.NDArray[np.object_]] = []
    parts_author: list[npt.NDArray[np.object_]] = []
    parts_t: list[IntArray] = []
    for p, flow in enumerate(flows):
        members = np.flatnonzero(process_of == p)
        m = members.size
        project[members] = rng.choice(np.array(flow.projects, dtype=object), size=m)
        types = np.array(flow.issue_types, dtype=object)
        type_weights = np.array(
            [ISSUE_TYPE_WEIGHTS[ISSUE_TYPES.index(x)] if x in ISSUE_TYPES else 0.2 for x in flow.issue_types]
        )
        issue_type[members] = rng.choice(types, size=m, p=type_weights / type_weights.sum())
        snapped = _snap_to_working_hours(
            rng, created_raw[members], np.full(m, flow.offsets[1], np.int64), np.zeros(m, dtype=bool)
        )
        # every issue exists by `end`: a creation snapped past it keeps its raw (off-hours) time
        created[members] = np.where(snapped > t1, created_raw[members], snapped)
        i, s_from, s_to, at = _simulate_flow(rng, flow, created[members], t1, params)
        names = np.array([st.name if st else None for st in flow.states] + [None], dtype=object)
        ids = np.array([st.status_id if st else None for st in flow.states] + [None], dtype=object)
        # author: a member of the team that acted (the team owning the status being left)
        team_of = [st.team if st and st.team else "reporter" for st in flow.states] + ["reporter"]
        acting = np.where(s_from < 0, len(flow.states), s_from)
        member = rng.integers(0, MEMBERS_PER_TEAM, size=i.size)
        author_table = np.array(
            [[f"{team}.{k + 1}" for k in range(MEMBERS_PER_TEAM)] for team in team_of], dtype=object
        )
        parts_i.append(members[i])
        parts_from.append(names[acting])
        parts_from_id.append(ids[acting])
        parts_to.append(names[s_to])
        parts_to_id.append(ids[s_to])
        parts_author.append(author_table[acting, member])
        parts_t.append(at)

    rows_i = np.concatenate(parts_i) if parts_i else np.empty(0, dtype=np.int64)
    rows_t = np.concatenate(parts_t) if parts_t else np.empty(0, dtype=np.int64)
    order = np.lexsort((rows_i, rows_t))
    rows_i, rows_t = rows_i[order], rows_t[order]
    from_name = np.concatenate(parts_from)[order]
    from_id = np.concatenate(parts_from_id)[order]
    to_name = np.concatenate(parts_to)[order]
    to_id = np.concatenate(parts_to_id)[order]
    author = np.concatenate(parts_author)[order]
    change_numbers = np.arange(FIRST_CHANGE_ID, FIRST_CHANGE_ID + rows_i.size, dtype=np.int64)
    change_id = change_numbers.astype(str).astype(object)
    # the first row of every issue is its creation (from no status)
    first_of_issue = np.zeros(rows_i.size, dtype=bool)
    if rows_i.size:
        _, first_pos = np.unique(rows_i, return_index=True)
        first_of_issue[first_pos] = True
    change_id[first_of_issue] = CREATION_CHANGE_ID

    transitions = pd.DataFrame(
        {
            "issue_id": issue_ids[rows_i].astype(str).astype(object),
            "at": pd.to_datetime(rows_t * 1_000_000_000, utc=True),
            "change_id": change_id,
            "from_id": from_id,
            "from_name": from_name,
            "to_id": to_id,
            "to_name": to_name,
            "author": author,
        },
        columns=list(TRANSITION_COLUMNS),
    )
    keys = np.empty(n_issues, dtype=object)
    for proj in sorted({str(x) for x in project}):
        sel = np.flatnonzero(project == proj)
        keys[sel] = [f"{proj}-{k}" for k in range(1, sel.size + 1)]
    issues = pd.DataFrame(
        {
            "issue_id": issue_ids.astype(str).astype(object),
            "issue_key": keys,
            "project": project,
            "issue_type": issue_type,
            "priority": priority,
        },
        columns=list(ISSUE_COLUMNS),
    )
    return transitions, issues


# Webhook deliveries ---------------------------------------------------------------------------------------


def _jira_time(value: pd.Timestamp, offset_seconds: int) -> str:
    local = value.to_pydatetime().astimezone(timezone(timedelta(seconds=offset_seconds)))
    text = local.strftime("%Y-%m-%dT%H:%M:%S.") + f"{local.microsecond // 1000:03d}"
    sign = "+" if offset_seconds >= 0 else "-"
    total = abs(offset_seconds) // 60
    return f"{text}{sign}{total // 60:02d}{total % 60:02d}"


def simulate_deliveries(
    config: BatonConfig,
    n_issues: int,
    *,
    seed: int = 0,
    start: datetime,
    end: datetime,
    params: SimParams | None = None,
    base_url: str = "https://baton-demo.atlassian.net",
) -> list[Delivery]:
    """The same histories as `simulate_frames`, as Jira Cloud webhook deliveries in time order."""
    transitions, issues = simulate_frames(config, n_issues, seed=seed, start=start, end=end, params=params)
    categories = {s.status_id: s.category for s in status_catalogue(config)}
    names_by_id = {s.status_id: s.name for s in status_catalogue(config)}
    offset = 0
    first_calendar = next(iter(config.calendars.values()), None)
    if isinstance(first_calendar, Calendar):
        offset = _offset_of(first_calendar, start)[0]
    facts = issues.set_index("issue_id")
    project_ids = {p: str(10000 + n) for n, p in enumerate(sorted(set(issues["project"])))}
    created_at: dict[str, pd.Timestamp] = {}
    namespace = uuid.UUID(int=seed & ((1 << 128) - 1))
    next_creation_changelog = 1
    out: list[Delivery] = []
    for row in transitions.sort_values(["at", "issue_id"], kind="stable").itertuples(index=False):
        issue_id = str(row.issue_id)
        fact = facts.loc[issue_id]
        at = pd.Timestamp(cast(datetime, row.at))
        is_creation = row.change_id == CREATION_CHANGE_ID
        if is_creation:
            created_at[issue_id] = at
            changelog_id = str(next_creation_changelog)
            next_creation_changelog += 1
        else:
            changelog_id = str(row.change_id)
        to_id = str(row.to_id)
        status = {
            "self": f"{base_url}/rest/api/2/status/{to_id}",
            "id": to_id,
            "name": names_by_id.get(to_id, row.to_name),
            "statusCategory": {"key": categories.get(to_id, "indeterminate")},
        }
        project = str(fact["project"])
        issue_type = str(fact["issue_type"])
        priority = str(fact["priority"])
        author = str(row.author)
        item: dict[str, Any] = {
            "field": "status",
            "fieldtype": "jira",
            "fieldId": "status",
            "from": None if is_creation else row.from_id,
            "fromString": None if is_creation else row.from_name,
            "to": to_id,
            "toString": row.to_name,
        }
        payload: dict[str, Any] = {
            "timestamp": int(at.value // 1_000_000),
            "webhookEvent": "jira:issue_created" if is_creation else "jira:issue_updated",
            "issue_event_type_name": "issue_created" if is_creation else "issue_generic",
            "user": {
                "self": f"{base_url}/rest/api/2/user?accountId={author}",
                "accountId": author,
                "accountType": "atlassian",
                "displayName": author,
                "active": True,
            },
            "issue": {
                "id": issue_id,
                "self": f"{base_url}/rest/api/2/issue/{issue_id}",
                "key": str(fact["issue_key"]),
                "fields": {
                    "summary": f"{issue_type} {fact['issue_key']}",
                    "issuetype": {"id": ISSUE_TYPE_IDS.get(issue_type, "10000"), "name": issue_type},
                    "priority": {"id": PRIORITY_IDS.get(priority, "3"), "name": priority},
                    "project": {"id": project_ids[project], "key": project, "name": project.title()},
                    "status": status,
                    "created": _jira_time(created_at.get(issue_id, at), offset),
                    "updated": _jira_time(at, offset),
                },
            },
            "changelog": {"id": changelog_id, "items": [item]},
        }
        identifier = str(uuid.uuid5(namespace, f"{issue_id}/{row.change_id}"))
        headers = {
            "Content-Type": "application/json",
            "X-Atlassian-Webhook-Identifier": identifier,
            "X-Atlassian-Webhook-Flow": "Primary",
        }
        out.append(Delivery(headers=headers, payload=payload))
    return out
