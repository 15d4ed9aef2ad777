"""Edits of a draft configuration's YAML text that keep its comments and layout, and an outline of a
valid configuration for the admin page.

The admin page never writes YAML itself: "make routine" and "assign a status to a team" send the draft
text and the edit here and get the new text back. The edits go through ruamel's round-trip mode (the
same parser `baton.config.loader` uses), so every comment, key order and flow style the PMO wrote is
kept. The result is not validated here: the caller validates it with `load_config_text`, as for any
draft.

Pure: text in, text out; no file, no clock.
"""

from __future__ import annotations

import io
import itertools
import re
from typing import Any, Literal

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError
from ruamel.yaml.scalarstring import DoubleQuotedScalarString

from baton.config.ownership import name_key, status_key
from baton.config.schema import BatonConfig, StatusId, StatusRef

__all__ = ["DraftEditError", "assign_status", "make_routine", "outline"]

Role = Literal["queue", "active"]
ROLES: tuple[Role, ...] = ("queue", "active")


class DraftEditError(ValueError):
    """The edit cannot be applied to this text (unparseable YAML, unknown process...); the message says why."""


_DASH = re.compile(r"^( *)- ")
_KEY = re.compile(r"^( *)[^\s#-][^:]*:\s*(#.*)?$")


def _indents(text: str) -> tuple[int, int, int]:
    """(mapping, sequence, offset) indentation as the text writes it, so a dumped draft keeps the
    PMO's layout (`sla:` then `  - {...}` stays indented); ruamel's defaults otherwise."""
    lines = text.splitlines()
    mapping = 2
    for previous, line in itertools.pairwise(lines):
        key = _KEY.match(previous)
        nested = re.match(r"^( *)\S", line)
        if key and nested and not line.lstrip().startswith(("-", "#")):
            step = len(nested.group(1)) - len(key.group(1))
            if step > 0:
                mapping = step
                break
    for previous, line in itertools.pairwise(lines):
        key, dash = _KEY.match(previous), _DASH.match(line)
        if key and dash:
            offset = max(0, len(dash.group(1)) - len(key.group(1)))
            return mapping, offset + 2, offset
    return mapping, 2, 0


def _yaml(text: str = "") -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096  # never re-wrap a long line the PMO wrote
    mapping, sequence, offset = _indents(text)
    yaml.indent(mapping=mapping, sequence=sequence, offset=offset)
    return yaml


def _load(text: str) -> CommentedMap:
    try:
        doc = _yaml().load(text)
    except YAMLError as error:
        raise DraftEditError(f"the draft is not valid YAML: {error}") from None
    if not isinstance(doc, CommentedMap):
        raise DraftEditError("the draft must be a mapping with calendars, teams and processes")
    return doc


def _dump(doc: CommentedMap, text: str) -> str:
    out = io.StringIO()
    _yaml(text).dump(doc, out)
    return out.getvalue()


def _flow_seq(items: list[Any]) -> CommentedSeq:
    seq = CommentedSeq(items)
    seq.fa.set_flow_style()
    return seq


def _flow_map(**items: Any) -> CommentedMap:
    mapping = CommentedMap(items)
    mapping.fa.set_flow_style()
    return mapping


def _eol_comment(mapping: CommentedMap, key: str) -> str | None:
    """The end-of-line comment written after `key`'s value (`stages: [a, b]  # why`), if any."""
    tokens = mapping.ca.items.get(key) or []
    for token in tokens:
        value = getattr(token, "value", None)
        if isinstance(value, str) and value.strip().startswith("#"):
            return value.strip().splitlines()[0]
    return None


def _mapping(parent: CommentedMap, key: str, what: str) -> CommentedMap:
    value = parent.get(key)
    if not isinstance(value, CommentedMap):
        raise DraftEditError(f"{what} {key!r} is not in the draft")
    return value


def make_routine(text: str, process: str, from_team: str, to_team: str) -> str:
    """Add the forward rule `from_team -> to_team` to `process` in the draft text.

    - already a rule: the text comes back unchanged;
    - `stages` ending with `from_team` and without `to_team`: `to_team` is appended to the stages;
    - other `stages`: they become the equivalent `handoffs` list (one `{from, to}` per consecutive pair,
      in the stages' place) plus the new rule, because stages cannot express a branch;
    - `handoffs`: the rule is appended.
    """
    doc = _load(text)
    processes = _mapping(doc, "processes", "section")
    proc = _mapping(processes, process, "process")
    if from_team == to_team:
        raise DraftEditError("a team cannot hand off to itself")
    stages = proc.get("stages")
    handoffs = proc.get("handoffs")
    if isinstance(stages, list):
        names = [str(s) for s in stages]
        if any(a == from_team and b == to_team for a, b in itertools.pairwise(names)):
            return text
        if names and names[-1] == from_team and to_team not in names:
            stages.append(to_team)
            return _dump(doc, text)
        rules = CommentedSeq(_flow_map(**{"from": a, "to": b}) for a, b in itertools.pairwise(names))
        rules.append(_flow_map(**{"from": from_team, "to": to_team}))
        position = list(proc.keys()).index("stages")
        comment = _eol_comment(proc, "stages")
        del proc["stages"]
        proc.insert(position, "handoffs", rules)
        if comment:
            proc.yaml_add_eol_comment(comment, "handoffs")
        return _dump(doc, text)
    if isinstance(handoffs, list):
        for rule in handoffs:
            if isinstance(rule, dict) and rule.get("from") == from_team and rule.get("to") == to_team:
                return text
        rule = _flow_map(**{"from": from_team, "to": to_team})
        handoffs.append(rule)
        return _dump(doc, text)
    proc["handoffs"] = CommentedSeq([_flow_map(**{"from": from_team, "to": to_team})])
    return _dump(doc, text)


def _ref_key(item: Any) -> str | None:
    if isinstance(item, str):
        return name_key(item)
    if isinstance(item, dict) and "id" in item:
        return f"id:{str(item['id']).strip()}"
    return None


def assign_status(text: str, status: str, team: str | None, role: Role | None = None) -> str:
    """Make `team` own Jira status `status` (by name) as `role` in the draft; take it away from every
    other team's `statuses` (queue and active). `team=None` only takes it away (unassigned)."""
    if team is not None and role not in ROLES:
        raise DraftEditError(f"role must be one of {', '.join(ROLES)}")
    doc = _load(text)
    teams = _mapping(doc, "teams", "section")
    if team is not None:
        _mapping(teams, team, "team")
    wanted = name_key(status)
    for name, body in teams.items():
        statuses = body.get("statuses") if isinstance(body, dict) else None
        if not isinstance(statuses, dict):
            continue
        for r in ROLES:
            refs = statuses.get(r)
            if not isinstance(refs, list):
                continue
            for index in reversed(range(len(refs))):
                if _ref_key(refs[index]) == wanted and not (name == team and r == role):
                    del refs[index]
    if team is not None and role is not None:
        body = teams[team]
        statuses = body.get("statuses")
        if not isinstance(statuses, CommentedMap):
            statuses = _flow_map()
            body["statuses"] = statuses
        refs = statuses.get(role)
        if not isinstance(refs, list):
            statuses[role] = _flow_seq([DoubleQuotedScalarString(status)])
        elif not any(_ref_key(item) == wanted for item in refs):
            refs.append(DoubleQuotedScalarString(status))
    return _dump(doc, text)


# --- outline ---------------------------------------------------------------------------------------


def _ref_text(ref: StatusRef) -> str:
    return f"id:{ref.id}" if isinstance(ref, StatusId) else ref


def _refs(refs: list[StatusRef] | None) -> list[str]:
    return [_ref_text(r) for r in refs or []]


def outline(config: BatonConfig) -> dict[str, Any]:
    """What the admin page shows of a valid configuration: teams with their statuses (and the status
    keys they match, `name:<casefolded>` / `id:<id>`), processes with their stages or rules in order,
    pause and done statuses, windows, and the goal table; plus the forward rules as graph edges."""
    teams = [
        {
            "name": name,
            "calendar": team.calendar,
            "queue": _refs(team.statuses.queue),
            "active": _refs(team.statuses.active),
            "keys": {
                role: [status_key(r) for r in getattr(team.statuses, role)] for role in ("queue", "active")
            },
        }
        for name, team in config.teams.items()
    ]
    processes = []
    edges: list[dict[str, str]] = []
    for name, process in config.processes.items():
        rules = process.forward_rules()
        edges.extend({"process": name, "from": a, "to": b} for a, b in rules)
        processes.append(
            {
                "name": name,
                "projects": list(process.match.projects),
                "issue_types": list(process.match.issue_types) if process.match.issue_types else None,
                "stages": list(process.stages) if process.stages is not None else None,
                "handoffs": [{"from": a, "to": b} for a, b in rules],
                "pause": _refs(process.pause),
                "done": _refs(process.done) if process.done is not None else None,
                "reopen_window_s": process.reopen_window,
                "at_risk": process.at_risk,
                "unmapped_goal": (
                    {
                        "response_s": process.unmapped_goal.response,
                        "resolution_s": process.unmapped_goal.resolution,
                    }
                    if process.unmapped_goal
                    else None
                ),
                "sla": [
                    {
                        "provider": row.provider,
                        "requester": row.requester,
                        "priority": list(row.when.priority) if row.when and row.when.priority else None,
                        "issue_type": list(row.when.issue_type) if row.when and row.when.issue_type else None,
                        "response_s": row.response,
                        "resolution_s": row.resolution,
                        "rework_s": row.rework,
                        "at_risk": row.at_risk if row.at_risk is not None else process.at_risk,
                    }
                    for row in process.sla
                ],
            }
        )
    return {"teams": teams, "processes": processes, "edges": edges}
