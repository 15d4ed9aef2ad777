"""The configuration compiled into per-process lookup rules for the engine.

Compiled once per `BatonConfig` object (cached), so deriving one issue pays no compilation cost.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field

from baton.config.ownership import Owner, keys_of, ownership_map, status_key
from baton.config.schema import BatonConfig, Calendar, Goal, SlaRow

# Status classes within a process (first match wins: pause, done, owned, unowned).
UNOWNED = 0
PAUSE = 1
DONE = 2
OWNED = 3
NONE = 4  # no status at all (creation's `from`)


@dataclass(frozen=True, slots=True)
class StatusClass:
    cls: int
    team: int  # index into CompiledRules.teams, -1 when not owned
    queue: bool


@dataclass(frozen=True, slots=True)
class ProcessRules:
    name: str
    index: int
    projects: frozenset[str]
    issue_types: frozenset[str] | None
    owners: Mapping[str, Owner]
    pause_keys: frozenset[str]
    done_keys: frozenset[str] | None
    forward: frozenset[tuple[int, int]]
    upstream: frozenset[tuple[int, int]]  # (x, y): x is upstream of y
    sla: tuple[SlaRow, ...]
    unmapped_goal: Goal | None
    reopen_window: float
    at_risk: float

    def matches(self, project: str | None, issue_type: str | None) -> bool:
        if project is None or project.casefold() not in self.projects:
            return False
        if self.issue_types is None:
            return True
        return issue_type is not None and issue_type.casefold() in self.issue_types

    def classify(
        self,
        status_id: str | None,
        name: str | None,
        team_index: Mapping[str, int],
        categories: Mapping[str, str] | None,
    ) -> StatusClass:
        keys = keys_of(status_id, name)
        if not keys:
            return StatusClass(NONE, -1, False)
        if any(k in self.pause_keys for k in keys):
            return StatusClass(PAUSE, -1, False)
        if self.done_keys is not None:
            if any(k in self.done_keys for k in keys):
                return StatusClass(DONE, -1, False)
        elif categories:
            for k in keys:
                category = categories.get(k)
                if category is not None:
                    if category.casefold() == "done":
                        return StatusClass(DONE, -1, False)
                    break
        for k in keys:
            owner = self.owners.get(k)
            if owner is not None:
                return StatusClass(OWNED, team_index[owner.team], owner.role == "queue")
        return StatusClass(UNOWNED, -1, False)


@dataclass(frozen=True, slots=True)
class CompiledRules:
    teams: tuple[str, ...]
    team_index: Mapping[str, int]
    team_calendar: Mapping[str, str]
    processes: tuple[ProcessRules, ...]
    calendars: Mapping[str, Calendar | str]
    class_cache: dict[tuple[object, ...], StatusClass] = field(default_factory=dict)

    def classify(
        self,
        process: ProcessRules,
        status_id: str | None,
        name: str | None,
        categories: Mapping[str, str] | None,
    ) -> StatusClass:
        """`process.classify`, memoised (the categories of the status's own keys are part of the key)."""
        cats = tuple(categories.get(k) for k in keys_of(status_id, name)) if categories else ()
        key = (process.index, status_id, name, cats)
        found = self.class_cache.get(key)
        if found is None:
            found = process.classify(status_id, name, self.team_index, categories)
            if len(self.class_cache) < 100_000:
                self.class_cache[key] = found
        return found

    def process_for(self, project: str | None, issue_type: str | None) -> int:
        for p in self.processes:
            if p.matches(project, issue_type):
                return p.index
        return -1


def _closure(edges: set[tuple[int, int]], n: int) -> frozenset[tuple[int, int]]:
    reach = {i: {b for a, b in edges if a == i} for i in range(n)}
    changed = True
    while changed:
        changed = False
        for i in range(n):
            extra: set[int] = set()
            for j in reach[i]:
                extra |= reach[j]
            if not extra <= reach[i]:
                reach[i] |= extra
                changed = True
    return frozenset((i, j) for i in range(n) for j in reach[i])


def compile_rules(config: BatonConfig) -> CompiledRules:
    teams = tuple(config.teams)
    team_index = {t: i for i, t in enumerate(teams)}
    processes: list[ProcessRules] = []
    for index, (name, process) in enumerate(config.processes.items()):
        forward = {
            (team_index[a], team_index[b])
            for a, b in process.forward_rules()
            if a in team_index and b in team_index
        }
        processes.append(
            ProcessRules(
                name=name,
                index=index,
                projects=frozenset(p.casefold() for p in process.match.projects),
                issue_types=(
                    frozenset(t.casefold() for t in process.match.issue_types)
                    if process.match.issue_types is not None
                    else None
                ),
                owners=ownership_map(config, name),
                pause_keys=frozenset(status_key(r) for r in process.pause),
                done_keys=frozenset(status_key(r) for r in process.done)
                if process.done is not None
                else None,
                forward=frozenset(forward),
                upstream=_closure(forward, len(teams)),
                sla=tuple(process.sla),
                unmapped_goal=process.unmapped_goal,
                reopen_window=float(process.reopen_window),
                at_risk=float(process.at_risk),
            )
        )
    return CompiledRules(
        teams=teams,
        team_index=team_index,
        team_calendar={t: team.calendar for t, team in config.teams.items()},
        processes=tuple(processes),
        calendars=dict(config.calendars),
    )


_lock = threading.Lock()
_cache: dict[int, tuple[BatonConfig, CompiledRules]] = {}


def rules_for(config: BatonConfig) -> CompiledRules:
    """Compiled rules of a config object (cached per object; configs are immutable)."""
    key = id(config)
    with _lock:
        hit = _cache.get(key)
        if hit is not None and hit[0] is config:
            return hit[1]
    compiled = compile_rules(config)
    with _lock:
        if len(_cache) >= 16:
            _cache.pop(next(iter(_cache)))
        _cache[key] = (config, compiled)
    return compiled
