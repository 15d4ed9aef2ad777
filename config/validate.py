"""Semantic checks: the cross-references and rules a schema cannot see (docs/configuration.md, "Validation rules").

`validate_config(config, locate)` returns every problem, each with the YAML path it is about and the
line `locate` finds for it. Paths use the YAML keys (`from`/`to`, not the Python field names).
"""

from __future__ import annotations

import datetime as dt
import difflib
import itertools
import re
import zoneinfo
from collections.abc import Callable, Collection, Iterable, Iterator

import holidays

from baton.config.errors import Problem, YamlPath
from baton.config.ownership import Claim, process_claims, status_key
from baton.config.schema import (
    ALERT_ENV_PREFIX,
    WEEKDAYS,
    AlertTarget,
    BatonConfig,
    Calendar,
    Process,
    StatusRef,
    expand_day_key,
    parse_time_range,
)

Locate = Callable[[YamlPath], int | None]

WEIGHT_TOLERANCE = 1e-9
RESERVED_TEAM = "done"
"""The requester of work reopened from a done status (an SLA row's `requester: done`)."""
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ALERT_URL = re.compile(r"^https?://[^\s/]+\S*$", re.IGNORECASE)
_ALERT_ENV = re.compile(rf"^{ALERT_ENV_PREFIX}[A-Z0-9_]+$")


def validate_config(
    config: BatonConfig,
    locate: Locate | None = None,
    *,
    known_calendars: Collection[str] = (),
    known_teams: Collection[str] = (),
) -> list[Problem]:
    """Every semantic problem in `config`. `known_*` are names that exist in the file but were left
    out of `config` (because their own entry is broken) and must not be reported as unknown."""
    find: Locate = locate or (lambda path: None)
    checks = _Checks(
        config, find, set(config.calendars) | set(known_calendars), set(config.teams) | set(known_teams)
    )
    return list(checks.run())


class _Checks:
    def __init__(self, config: BatonConfig, locate: Locate, calendars: set[str], teams: set[str]) -> None:
        self.config = config
        self.locate = locate
        self.calendars = calendars
        self.teams = teams

    def problem(self, path: YamlPath, message: str) -> Problem:
        return Problem(path, self.locate(path), message)

    def run(self) -> Iterator[Problem]:
        for name, calendar in self.config.calendars.items():
            if isinstance(calendar, Calendar):
                yield from self.calendar(name, calendar)
        for name, team in self.config.teams.items():
            if name == RESERVED_TEAM:
                yield self.problem(
                    ("teams", name),
                    "`done` cannot be a team name: it is the requester of work reopened from a done status; "
                    "rename the team",
                )
            if team.calendar not in self.calendars:
                yield self.problem(
                    ("teams", name, "calendar"),
                    f"unknown calendar '{team.calendar}'{_suggest(team.calendar, self.calendars, 'calendars')}",
                )
        for name, process in self.config.processes.items():
            yield from self.process(name, process)
        yield from self.ownership()
        yield from self.scoring()
        yield from self.alerts()

    # --- calendars ---------------------------------------------------------------------------

    def calendar(self, name: str, calendar: Calendar) -> Iterator[Problem]:
        base: YamlPath = ("calendars", name)
        if not _known_timezone(calendar.timezone):
            yield self.problem((*base, "timezone"), _timezone_message(calendar.timezone))
        if not calendar.hours:
            yield self.problem(
                (*base, "hours"),
                'no working hours; write e.g. mon-fri: ["09:00-17:00"], or use `24x7` for an always-open calendar',
            )
        yield from self.overlaps(base, calendar)
        yield from self.holidays(base, calendar)

    def overlaps(self, base: YamlPath, calendar: Calendar) -> Iterator[Problem]:
        seen: dict[str, list[tuple[int, int, str, YamlPath]]] = {day: [] for day in WEEKDAYS}
        reported: set[YamlPath] = set()
        for key, ranges in calendar.hours.items():
            for index, text in enumerate(ranges):
                start, end = parse_time_range(text)
                path: YamlPath = (*base, "hours", key, index)
                for day in expand_day_key(key):
                    for other_start, other_end, other_text, other_path in seen[day]:
                        if start < other_end and other_start < end and path not in reported:
                            reported.add(path)
                            where = "" if other_path[:-1] == path[:-1] else f" (hours.{other_path[-2]})"
                            yield self.problem(
                                path,
                                f"'{text.strip()}' overlaps '{other_text.strip()}'{where} on {day}; "
                                "intervals within a day must not overlap",
                            )
                    seen[day].append((start, end, text, path))

    def holidays(self, base: YamlPath, calendar: Calendar) -> Iterator[Problem]:
        spec = calendar.holidays
        path: YamlPath = (*base, "holidays")
        supported = holidays.list_supported_countries()
        if spec.country is not None:
            # Exact codes, as the engine passes them to `holidays.country_holidays` unchanged.
            country = spec.country
            if country not in supported:
                hint = "use an ISO 3166 code the `holidays` package supports, e.g. DE, CN, US, GB"
                if country.strip().upper() in supported:
                    hint = f"write it as '{country.strip().upper()}'"
                yield self.problem((*path, "country"), f"unknown holiday country '{country}'; {hint}")
            elif spec.subdivision is not None:
                subdivisions = [str(s) for s in supported[country]]
                if spec.subdivision not in subdivisions:
                    same = [s for s in subdivisions if s.upper() == spec.subdivision.strip().upper()]
                    hint = (
                        f"write it as '{same[0]}'" if same else f"known: {', '.join(subdivisions) or 'none'}"
                    )
                    yield self.problem(
                        (*path, "subdivision"),
                        f"unknown subdivision '{spec.subdivision}' of {country}; {hint}",
                    )
        elif spec.subdivision is not None:
            yield self.problem((*path, "subdivision"), "a subdivision needs a `country` (e.g. country: DE)")
        for field in ("extra", "working"):
            for index, text in enumerate(getattr(spec, field)):
                if not _valid_date(text):
                    yield self.problem(
                        (*path, field, index),
                        f"'{text}' is not a date; write it as YYYY-MM-DD, e.g. 2026-12-24",
                    )

    # --- processes ---------------------------------------------------------------------------

    def process(self, name: str, process: Process) -> Iterator[Problem]:
        base: YamlPath = ("processes", name)
        if not process.match.projects:
            yield self.problem((*base, "match", "projects"), "no projects: the process would match no issue")
        if process.match.issue_types == []:
            yield self.problem(
                (*base, "match", "issue_types"),
                "no issue types: the process would match no issue; omit `issue_types` to match every type",
            )
        if process.done == []:
            yield self.problem(
                (*base, "done"),
                "an empty list means no status finishes the work; omit `done` to use Jira's done category",
            )
        yield from self.flow(base, process)
        participants = {team for rule in process.forward_rules() for team in rule} | set(process.stages or [])
        for team, path in _process_team_refs(base, process):
            if team not in self.teams:
                yield self.problem(path, f"unknown team '{team}'{_suggest(team, self.teams, 'teams')}")
        if process.customer is not None and process.customer not in self.teams:
            yield self.problem(
                (*base, "customer"),
                f"unknown team '{process.customer}'{_suggest(process.customer, self.teams, 'teams')}",
            )
        seen_reasons: set[str] = set()
        for index, reason in enumerate(process.rejection_reasons):
            if not reason.strip():
                yield self.problem((*base, "rejection_reasons", index), "an empty rejection reason")
            elif reason.casefold() in seen_reasons:
                yield self.problem((*base, "rejection_reasons", index), f"reason '{reason}' is listed twice")
            seen_reasons.add(reason.strip().casefold())
        for index, row in enumerate(process.sla):
            row_path: YamlPath = (*base, "sla", index)
            if row.provider not in self.teams:
                yield self.problem(
                    (*row_path, "provider"),
                    f"unknown team '{row.provider}'{_suggest(row.provider, self.teams, 'teams')}",
                )
            elif row.provider not in participants:
                yield self.problem(
                    (*row_path, "provider"),
                    f"team '{row.provider}' is not in this process's stages or handoffs "
                    f"({', '.join(sorted(participants)) or 'none'}); add it there or remove this row",
                )
            if row.requester is not None and row.requester != "done" and row.requester not in self.teams:
                yield self.problem(
                    (*row_path, "requester"),
                    f"unknown team '{row.requester}'{_suggest(row.requester, self.teams, 'teams')}"
                    " (or `done` for work reopened from done)",
                )

    def flow(self, base: YamlPath, process: Process) -> Iterator[Problem]:
        if process.handoffs is not None:
            if not process.handoffs:
                yield self.problem((*base, "handoffs"), "names no team; list rules like {from: dev, to: qa}")
                return
            rules = [(h.from_team, h.to_team, (*base, "handoffs", i)) for i, h in enumerate(process.handoffs)]
        else:
            stages = process.stages or []
            if not stages:
                yield self.problem(
                    (*base, "stages"), "names no team; list the teams in order, e.g. [dev, qa, ops]"
                )
                return
            rules = [(a, b, (*base, "stages", i + 1)) for i, (a, b) in enumerate(itertools.pairwise(stages))]
        graph: dict[str, list[tuple[str, YamlPath]]] = {}
        for source, target, path in rules:
            if source == target:
                yield self.problem(
                    path, f"'{source}' hands off to itself; work inside one team is not a hand-off"
                )
                continue
            graph.setdefault(source, []).append((target, path))
        for cycle, path in _cycles(graph):
            yield self.problem(
                path,
                f"cycle in the forward hand-offs: {' -> '.join(cycle)}; forward rules must not loop "
                "(sending work back is a return, which Baton detects by itself)",
            )

    def ownership(self) -> Iterator[Problem]:
        # A conflict between two global team definitions shows up in every process; report it once.
        conflicts: dict[tuple[YamlPath, YamlPath], tuple[Claim, Claim, list[str]]] = {}
        for name, process in self.config.processes.items():
            claims = process_claims(self.config, name)
            first: dict[str, Claim] = {}
            for claim in claims:
                earlier = first.setdefault(claim.key, claim)
                if earlier is not claim:
                    entry = conflicts.setdefault((earlier.path, claim.path), (earlier, claim, []))
                    entry[2].append(name)
            yield from self.pause_and_done(name, process, first)
        for (_, path), (earlier, claim, processes) in conflicts.items():
            shown = self.claim_text(claim)
            where = (
                f"process '{processes[0]}'" if len(processes) == 1 else f"processes {', '.join(processes)}"
            )
            if earlier.team == claim.team:
                message = f"status {shown} is listed twice for team '{claim.team}' ({earlier.role} and {claim.role})"
            else:
                message = (
                    f"status {shown} is owned twice in {where}: by '{earlier.team}' ({earlier.role}) "
                    f"and '{claim.team}' ({claim.role}); give it to one team, or override with "
                    "`ownership:` in the process"
                )
            yield self.problem(path, message)

    def claim_text(self, claim: Claim) -> str:
        """The status as the analyst wrote it (claims only carry the normalised key)."""
        if claim.path[0] == "teams":
            statuses = self.config.teams[str(claim.path[1])].statuses
        else:
            statuses = self.config.processes[str(claim.path[1])].ownership[str(claim.path[3])]
        return _show_ref(getattr(statuses, claim.role)[int(claim.path[-1])])

    def pause_and_done(self, name: str, process: Process, owners: dict[str, Claim]) -> Iterator[Problem]:
        base: YamlPath = ("processes", name)
        pause_keys: dict[str, int] = {}
        lists: list[tuple[str, list[StatusRef]]] = [("pause", process.pause), ("done", process.done or [])]
        for field, refs in lists:
            for index, ref in enumerate(refs):
                key = status_key(ref)
                path: YamlPath = (*base, field, index)
                if key in owners:
                    owner = owners[key]
                    yield self.problem(
                        path,
                        f"{field} status {_show_ref(ref)} is also owned by team '{owner.team}' ({owner.role}) "
                        "in this process; a status is either a team's, a pause or a done status",
                    )
                elif field == "pause":
                    pause_keys[key] = index
                elif key in pause_keys:
                    yield self.problem(path, f"status {_show_ref(ref)} is both a pause and a done status")

    # --- scoring -----------------------------------------------------------------------------

    def scoring(self) -> Iterator[Problem]:
        scoring = self.config.scoring
        satisfaction = scoring.weights.satisfaction
        total = scoring.weights.timeliness + scoring.weights.quality + (satisfaction or 0.0)
        if abs(total - 1.0) > WEIGHT_TOLERANCE:
            shown = "" if satisfaction is None else f" + satisfaction {satisfaction:g}"
            yield self.problem(
                ("scoring", "weights"),
                f"weights must add up to 1: timeliness {scoring.weights.timeliness:g} + quality "
                f"{scoring.weights.quality:g}{shown} = {total:g} (an omitted "
                f"{'weight' if satisfaction is None else 'timeliness or quality weight'} counts as 0.5)",
            )
        if not _known_timezone(scoring.timezone):
            yield self.problem(("scoring", "timezone"), _timezone_message(scoring.timezone))

    # --- alerts ------------------------------------------------------------------------------

    def alerts(self) -> Iterator[Problem]:
        seen: dict[str, int] = {}
        for index, target in enumerate(self.config.alerts):
            base: YamlPath = ("alerts", index)
            if not target.name.strip():
                yield self.problem((*base, "name"), "an alert target needs a name (e.g. name: ops-slack)")
            elif target.name in seen:
                yield self.problem(
                    (*base, "name"), f"the alert target name '{target.name}' is used twice; names must differ"
                )
            seen.setdefault(target.name, index)
            yield from self.alert_target(base, target)

    def alert_target(self, base: YamlPath, target: AlertTarget) -> Iterator[Problem]:
        if (target.url is None) == (target.url_env is None):
            yield self.problem(
                base,
                "give the endpoint as `url: https://...` or, when the URL is itself a secret (Slack, Teams, "
                f"Automation), as `url_env: {ALERT_ENV_PREFIX}<NAME>`; exactly one of the two",
            )
        if target.url is not None and not _ALERT_URL.match(target.url):
            yield self.problem((*base, "url"), f"'{target.url}' is not an http(s) URL")
        for key in ("url_env", "secret_env"):
            variable = getattr(target, key)
            if variable is not None and not _ALERT_ENV.match(variable):
                yield self.problem(
                    (*base, key),
                    f"'{variable}' is not an alert variable name: write the name of an environment variable "
                    f"starting with {ALERT_ENV_PREFIX} (e.g. {ALERT_ENV_PREFIX}OPS_KEY), never the secret itself",
                )
        if target.kind == "json" and target.secret_env is None:
            yield self.problem(
                base,
                "a `json` target is signed: give `secret_env: "
                f"{ALERT_ENV_PREFIX}<NAME>`, the variable holding its HMAC-SHA256 key",
            )
        if target.kind in ("slack", "teams") and target.secret_env is not None:
            yield self.problem(
                (*base, "secret_env"),
                f"a `{target.kind}` webhook takes no secret (its URL is the credential: use `url_env`)",
            )
        if not target.on:
            yield self.problem((*base, "on"), "`on` lists no state: write on: [at_risk, breached]")
        for index, name in enumerate(target.processes or []):
            if name not in self.config.processes:
                yield self.problem(
                    (*base, "processes", index),
                    f"unknown process '{name}'{_suggest(name, self.config.processes, 'processes')}",
                )
        for index, name in enumerate(target.providers or []):
            if name not in self.teams:
                yield self.problem(
                    (*base, "providers", index), f"unknown team '{name}'{_suggest(name, self.teams, 'teams')}"
                )


def _process_team_refs(base: YamlPath, process: Process) -> Iterable[tuple[str, YamlPath]]:
    for index, team in enumerate(process.stages or []):
        yield team, (*base, "stages", index)
    for index, rule in enumerate(process.handoffs or []):
        yield rule.from_team, (*base, "handoffs", index, "from")
        yield rule.to_team, (*base, "handoffs", index, "to")
    for team in process.ownership:
        yield team, (*base, "ownership", team)


def _cycles(graph: dict[str, list[tuple[str, YamlPath]]]) -> Iterator[tuple[list[str], YamlPath]]:
    """Cycles of the hand-off graph, each with the path of the edge that closes it.

    One depth-first search, iterative (a process may list ten thousand stages) and linear in the
    graph: every edge back to a team still on the current trail closes one elementary cycle. A
    graph with a cycle reports at least one; cycles that share all their back edges with others
    are not listed separately, since enumerating every elementary cycle can take exponential time."""
    finished: set[str] = set()
    for start in list(graph):
        if start in finished:
            continue
        trail: list[str] = [start]
        on_trail: dict[str, int] = {start: 0}
        pending: list[Iterator[tuple[str, YamlPath]]] = [iter(graph.get(start, []))]
        while pending:
            step = next(pending[-1], None)
            if step is None:
                pending.pop()
                done = trail.pop()
                del on_trail[done]
                finished.add(done)
                continue
            target, path = step
            if target in on_trail:
                yield [*trail[on_trail[target] :], target], path
            elif target not in finished:
                on_trail[target] = len(trail)
                trail.append(target)
                pending.append(iter(graph.get(target, [])))


def _known_timezone(name: str) -> bool:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


ABBREVIATION_ZONES: dict[str, str] = {
    "CEST": "Europe/Berlin",
    "EEST": "Europe/Helsinki",
    "WEST": "Europe/Lisbon",
    "BST": "Europe/London",
    "IST": "Asia/Kolkata",
    "MSK": "Europe/Moscow",
    "PST": "America/Los_Angeles",
    "PDT": "America/Los_Angeles",
    "EDT": "America/New_York",
    "CDT": "America/Chicago",
    "MDT": "America/Denver",
    "AKST": "America/Anchorage",
    "BRT": "America/Sao_Paulo",
    "JST": "Asia/Tokyo",
    "KST": "Asia/Seoul",
    "SGT": "Asia/Singapore",
    "HKT": "Asia/Hong_Kong",
    "AEST": "Australia/Sydney",
    "AEDT": "Australia/Sydney",
    "NZST": "Pacific/Auckland",
    "NZDT": "Pacific/Auckland",
}
"""Common abbreviations that are not zone names, with the IANA zone most teams using them mean. An
abbreviation names an offset, not the zone's rules (it would miss the daylight-saving change), so
the suggestion is a region's zone, never a look-alike abbreviation."""


def _timezone_message(name: str) -> str:
    region = ABBREVIATION_ZONES.get(name.strip().upper())
    if region is not None:
        return (
            f"unknown timezone '{name}': an abbreviation names an offset, not a zone; "
            f"use an IANA name such as '{region}'"
        )
    if name.isalpha() and name.isupper() and len(name) <= 5:  # an abbreviation we do not know
        return f"unknown timezone '{name}': use an IANA name such as Europe/Berlin, America/New_York or UTC"
    close = difflib.get_close_matches(name, sorted(zoneinfo.available_timezones()), n=1)
    hint = f"; did you mean '{close[0]}'?" if close else "; use an IANA name such as Europe/Berlin or UTC"
    return f"unknown timezone '{name}'{hint}"


def _valid_date(text: str) -> bool:
    if not _DATE.match(text.strip()):
        return False
    try:
        dt.date.fromisoformat(text.strip())
    except ValueError:
        return False
    return True


def _suggest(name: str, known: Iterable[str], what: str) -> str:
    names = sorted(known)
    close = difflib.get_close_matches(name, names, n=1)
    if close:
        return f"; did you mean '{close[0]}'?"
    return f"; known {what}: {', '.join(names)}" if names else f"; no {what} are defined"


def _show_ref(ref: StatusRef) -> str:
    return f"'{ref}'" if isinstance(ref, str) else f"id {ref.id}"
