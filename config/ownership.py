"""Who owns which status inside one process, after the process's ownership overrides.

Shared by validation (a status owned twice is an error) and by the engine (classification), so the
two can never disagree about what a status means.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from baton.config.schema import BatonConfig, Process, StatusId, StatusRef, StatusSet

Role = Literal["queue", "active"]


def status_key(ref: StatusRef) -> str:
    """Normalised key of a configured status: `id:<id>` or `name:<casefolded trimmed name>`."""
    if isinstance(ref, StatusId):
        return f"id:{ref.id.strip()}"
    return name_key(ref)


def name_key(name: str) -> str:
    return f"name:{' '.join(name.split()).casefold()}"


def id_key(status_id: str) -> str:
    return f"id:{status_id.strip()}"


def keys_of(status_id: str | None, name: str | None) -> tuple[str, ...]:
    """The keys a status seen in Jira can match: its id first (ids are unambiguous), then its name."""
    keys: list[str] = []
    if status_id:
        keys.append(id_key(status_id))
    if name:
        keys.append(name_key(name))
    return tuple(keys)


@dataclass(frozen=True, slots=True)
class Owner:
    team: str
    role: Role


@dataclass(frozen=True, slots=True)
class Claim:
    """One team's claim on one status, with where it was written (for error messages)."""

    key: str
    team: str
    role: Role
    path: tuple[str | int, ...]


def _claims_of(team: str, statuses: StatusSet, path: tuple[str | int, ...]) -> Iterable[Claim]:
    for role in ("queue", "active"):
        for index, ref in enumerate(getattr(statuses, role)):
            yield Claim(status_key(ref), team, role, (*path, role, index))


def process_claims(config: BatonConfig, process_name: str) -> list[Claim]:
    """Every claim in force in a process: teams' own statuses, replaced per team by the overrides."""
    process: Process = config.processes[process_name]
    claims: list[Claim] = []
    overridden = set(process.ownership)
    for team_name, team in config.teams.items():
        if team_name in overridden:
            continue
        claims.extend(_claims_of(team_name, team.statuses, ("teams", team_name, "statuses")))
    override_keys: set[str] = set()
    for team_name, statuses in process.ownership.items():
        own = list(_claims_of(team_name, statuses, ("processes", process_name, "ownership", team_name)))
        override_keys.update(c.key for c in own)
        claims.extend(own)
    # An override is the process saying "in this workflow that status is ours": it wins over the
    # global definition of another team, which is the whole point of overriding.
    return [c for c in claims if c.key not in override_keys or c.path[0] == "processes"]


def ownership_map(config: BatonConfig, process_name: str) -> Mapping[str, Owner]:
    """status key -> owner for one process. When a status is claimed twice (an invalid config that
    validation reports) the first claim wins, so the engine stays deterministic."""
    owners: dict[str, Owner] = {}
    for claim in process_claims(config, process_name):
        owners.setdefault(claim.key, Owner(claim.team, claim.role))
    return owners
