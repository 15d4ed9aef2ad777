"""Checks of a valid configuration beyond its own file: warnings, the stored log, a Jira site's statuses.

`baton config check` reports two tiers. Errors (`baton.config.validate`, and statuses a Jira site does
not have) make the file unusable; warnings point at something that is allowed but probably not meant:

* a team of a process's flow without an SLA row in that process (only its quality is scored);
* a process without `done` statuses (Jira's done category then decides when work is finished);
* with a database, a configured status never seen in the stored transition log.

Pure: the caller reads the log or asks Jira, and passes what it found in.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass

from baton.config.errors import Problem, YamlPath
from baton.config.ownership import name_key, status_key
from baton.config.schema import BatonConfig, StatusId, StatusRef

Locate = Callable[[YamlPath], int | None]


def _nowhere(path: YamlPath) -> int | None:
    return None


def status_references(config: BatonConfig) -> Iterator[tuple[YamlPath, StatusRef]]:
    """Every status the configuration names, with the YAML path where it is written: teams' queue and
    active statuses, processes' ownership overrides, pause and done statuses."""
    for team_name, team in config.teams.items():
        for role in ("queue", "active"):
            for index, ref in enumerate(getattr(team.statuses, role)):
                yield ("teams", team_name, "statuses", role, index), ref
    for process_name, process in config.processes.items():
        for team_name, statuses in process.ownership.items():
            for role in ("queue", "active"):
                for index, ref in enumerate(getattr(statuses, role)):
                    yield ("processes", process_name, "ownership", team_name, role, index), ref
        for index, ref in enumerate(process.pause):
            yield ("processes", process_name, "pause", index), ref
        for index, ref in enumerate(process.done or []):
            yield ("processes", process_name, "done", index), ref


def _shown(ref: StatusRef) -> str:
    return f"status id {ref.id}" if isinstance(ref, StatusId) else f"status '{ref}'"


def config_warnings(config: BatonConfig, locate: Locate | None = None) -> list[Problem]:
    """What is allowed but probably not meant, in file order of the processes."""
    find = locate or _nowhere
    out: list[Problem] = []
    for name, process in config.processes.items():
        flow: dict[str, YamlPath] = {}
        if process.stages is not None:
            for index, team in enumerate(process.stages):
                flow.setdefault(team, ("processes", name, "stages", index))
        for index, handoff in enumerate(process.handoffs or []):
            flow.setdefault(handoff.from_team, ("processes", name, "handoffs", index, "from"))
            flow.setdefault(handoff.to_team, ("processes", name, "handoffs", index, "to"))
        with_rows = {row.provider for row in process.sla}
        for team, path in flow.items():
            if team in config.teams and team not in with_rows:
                out.append(
                    Problem(
                        path,
                        find(path),
                        f"team '{team}' has no SLA row in process '{name}': its work there is not clocked "
                        "against a goal, only its quality is scored; add `- {provider: "
                        f"{team}, response: ..., resolution: ...}}` to `sla` if it should be",
                    )
                )
        if process.done is None:
            path = ("processes", name)
            out.append(
                Problem(
                    path,
                    find(path),
                    f"process '{name}' names no `done` status: work is finished only by statuses in Jira's "
                    "done category (as stored from Jira); list them in `done: [...]` to be explicit",
                )
            )
    return out


def unseen_statuses(
    config: BatonConfig, seen: Collection[str], site: str, locate: Locate | None = None
) -> list[Problem]:
    """Warnings for configured statuses that never occur in a site's stored transition log. `seen` holds
    the keys of every status in the log (`baton.config.ownership.keys_of`: `id:<id>`, `name:<name>`)."""
    find = locate or _nowhere
    if not seen:
        return [
            Problem(
                (),
                None,
                f"the stored log of site '{site}' holds no transition: statuses cannot be checked against it "
                "(load history with `baton backfill` or `baton replay`)",
            )
        ]
    return [
        Problem(path, find(path), f"{_shown(ref)} was never seen in the stored log of site '{site}'")
        for path, ref in status_references(config)
        if status_key(ref) not in seen
    ]


@dataclass(frozen=True, slots=True)
class SiteStatus:
    """A status a Jira site has (`/rest/api/3/status`)."""

    status_id: str | None
    name: str


def statuses_missing_on_site(
    config: BatonConfig, statuses: Sequence[SiteStatus], site: str, locate: Locate | None = None
) -> list[Problem]:
    """Errors for configured statuses the Jira site does not have (names compare like the engine's:
    case-insensitive, spaces trimmed), each with the closest name the site has when there is one."""
    find = locate or _nowhere
    ids = {s.status_id.strip() for s in statuses if s.status_id}
    names = {name_key(s.name): s.name for s in statuses}
    by_folded = {" ".join(s.name.split()).casefold(): s.name for s in statuses}
    out: list[Problem] = []
    for path, ref in status_references(config):
        if isinstance(ref, StatusId):
            if ref.id.strip() in ids:
                continue
            message = f"status id {ref.id} does not exist on Jira site '{site}'"
        else:
            if name_key(ref) in names:
                continue
            folded = " ".join(ref.split()).casefold()
            close = difflib.get_close_matches(folded, list(by_folded), n=1, cutoff=0.6)
            hint = f"; did you mean '{by_folded[close[0]]}'?" if close else ""
            message = f"status '{ref}' does not exist on Jira site '{site}'{hint}"
        out.append(Problem(path, find(path), message))
    return out
