"""Payload -> transitions: every shape in which Jira reports a status change (pure).

Sources handled (see docs/architecture.md, "Extraction"):

* webhook deliveries, Cloud and Data Center: `jira:issue_created`, `jira:issue_updated` (with or without
  `issue_event_type_name`), and every other event family (comments, worklogs, attachments, issue links,
  projects...), which yield no transitions but keep the issue facts when an `issue` is present;
* the legacy JIRA-plugin payload without `webhookEvent` that carries a `transition` block
  (`{"transition": {"from_status": ..., "to_status": ...}, "issue": ..., "timestamp": ...}`);
* REST issue JSON with `changelog.histories` (search responses, `GET issue?expand=changelog`, the agile
  board API), `/issue/{id}/changelog` pages and `/changelog/bulkfetch` `changeHistories`.

Status items
    A changelog item is a status change when its `fieldId` is `"status"`, or, in payloads without
    field ids (Jira Server/DC), when its `field` is `"status"` in any case. A localised field name
    (`"Статус"`, `"状态"`) counts only when `fieldId` says `status`. Items of other fields are ignored.

Creation
    Creation into the first status is a transition from no status with `change_id ==
    CREATION_CHANGE_ID`, whichever source reports it, so that webhook and backfill copies de-duplicate:
    * `jira:issue_created`: from its status item with a null `from`; when there is none, from
      `issue.fields.status`. In both cases `at` is `issue.fields.created` (else the event time).
    * REST issue JSON: into the first status history's `from`/`fromString`, or into the current status
      when the issue has no status history, at `fields.created`. When the embedded changelog is visibly
      truncated (`total` > number of histories returned, or `startAt` > 0) the first status is unknown
      and no creation transition is produced (backfill fetches the full changelog instead).

Timestamps (`Transition.at` is always timezone-aware UTC)
    * webhook `timestamp` as a number: epoch milliseconds (13 digits; 10-digit values are read as seconds);
    * webhook `timestamp` as a string without zone (Jira Server: `'2019-1-30 15:51:34,870'`, also
      `'6/13/2019, 12:51:58 PM,687'`): the string is the server's wall clock with no offset. The rule:
      if `issue.fields.updated` (which carries an offset) is within `STRING_TIMESTAMP_TOLERANCE` of the
      string read in that same offset, `at` is `issue.fields.updated` (the change's own, zoned time);
      otherwise the string is read in the offset of `issue.fields.updated` when there is one, else as
      UTC. An unparseable string falls back to `issue.fields.updated`.
    * REST `created` like `2021-01-11T16:37:48.749+0800`: ISO 8601 with offset.

Change ids
    The changelog (history) id. When one changelog carries several status items (rare), the second and
    later get `"<id>#<n>"`. A legacy `transition` block has no changelog id: it gets
    `"transition:<epoch ms>"`.

Anything unrecognisable raises `UnsupportedPayload`, whose message says what was expected.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from baton.scoring.model import CREATION_CHANGE_ID, Extraction, IssueFacts, StatusInfo, Transition

__all__ = [
    "LEGACY_TRANSITION_EVENT",
    "STRING_TIMESTAMP_TOLERANCE",
    "UnsupportedPayload",
    "extract_issue",
    "extract_payload",
    "is_status_item",
    "iter_documents",
    "parse_jira_datetime",
    "transitions_from_histories",
]

STRING_TIMESTAMP_TOLERANCE = timedelta(minutes=2)
"""How close a zone-less string `timestamp` must be to `issue.fields.updated` for the latter to be used."""

LEGACY_TRANSITION_EVENT = "legacy:transition"
"""`Extraction.event` of the legacy payload that has a `transition` block and no `webhookEvent`."""

ISSUE_CREATED = "jira:issue_created"


class UnsupportedPayload(ValueError):
    """The document is not a Jira payload this service understands (the message says what was expected)."""


class SkippedHistory(UserWarning):
    """One changelog history could not be read and was left out; the issue's other histories are kept.

    A warning, not an error: one damaged history must not cost the whole issue its log."""


# Small typed accessors ----------------------------------------------------------------------------


def _map(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _str(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str | int | float):
        text = str(value)
        return text if text != "" else None
    return None


def _name_of(value: object) -> str | None:
    """`{"name": "Bug"}` -> "Bug"; a bare string stays a string."""
    if isinstance(value, Mapping):
        return _str(value.get("name"))
    return _str(value)


# Timestamps -----------------------------------------------------------------------------------------

_OFFSET_RE = re.compile(r"([+-])(\d{2}):?(\d{2})$")


def parse_jira_datetime(value: object) -> datetime | None:
    """Parse Jira's ISO 8601 (`2021-01-11T16:37:48.749+0800`, `...Z`, `...+00:00`). Naive -> UTC."""
    text = _str(value)
    if text is None:
        return None
    text = text.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    match = _OFFSET_RE.search(text)
    if match and ":" not in match.group(0):
        text = text[: match.start()] + f"{match.group(1)}{match.group(2)}:{match.group(3)}"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def _from_epoch(value: float) -> datetime:
    seconds = value / 1000.0 if abs(value) >= 1e11 else float(value)
    return datetime.fromtimestamp(seconds, tz=UTC)


_NAIVE_FORMATS = (
    "%Y-%m-%d %H:%M:%S,%f",
    "%Y-%m-%d %H:%M:%S.%f",
    "%Y-%m-%d %H:%M:%S",
    "%m/%d/%Y, %I:%M:%S %p,%f",
    "%m/%d/%Y, %I:%M:%S %p",
)


def _parse_naive(text: str) -> datetime | None:
    for fmt in _NAIVE_FORMATS:
        try:
            return datetime.strptime(text.strip(), fmt)
        except ValueError:
            continue
    return None


def _event_time(payload: Mapping[str, Any], fields: Mapping[str, Any]) -> datetime | None:
    """The instant of a webhook event, by the rules in the module docstring (UTC)."""
    raw = payload.get("timestamp")
    updated = parse_jira_datetime(fields.get("updated"))
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        return _from_epoch(float(raw))
    if isinstance(raw, str):
        stripped = raw.strip()
        if stripped.isdigit():
            return _from_epoch(float(stripped))
        zoned = parse_jira_datetime(stripped) if "T" in stripped else None
        if zoned is not None and _OFFSET_RE.search(stripped.replace("Z", "+00:00")):
            return zoned.astimezone(UTC)
        naive = _parse_naive(stripped)
        if naive is not None:
            tz = updated.tzinfo if updated is not None else UTC
            local = naive.replace(tzinfo=tz)
            if updated is not None and abs(local - updated) <= STRING_TIMESTAMP_TOLERANCE:
                return updated.astimezone(UTC)
            return local.astimezone(UTC)
    if updated is not None:
        return updated.astimezone(UTC)
    return None


# Status items -----------------------------------------------------------------------------------------


def is_status_item(item: Mapping[str, Any]) -> bool:
    """A changelog item that changes the status (by `fieldId`, else by `field` in any case)."""
    field_id = item.get("fieldId")
    if field_id is not None:
        return str(field_id) == "status"
    field = item.get("field")
    return isinstance(field, str) and field.strip().lower() == "status"


def _author(user: object) -> str | None:
    user_map = _map(user)
    for key in ("accountId", "name", "key", "displayName"):
        value = _str(user_map.get(key))
        if value:
            return value
    return None


def _status_info(status: object) -> StatusInfo | None:
    status_map = _map(status)
    name = _str(status_map.get("name"))
    if name is None:
        return None
    category = _str(_map(status_map.get("statusCategory")).get("key"))
    return StatusInfo(status_id=_str(status_map.get("id")), name=name, category=category)


def _issue_facts(issue: Mapping[str, Any]) -> IssueFacts | None:
    issue_id = _str(issue.get("id"))
    if issue_id is None:
        return None
    fields = _map(issue.get("fields"))
    status = _map(fields.get("status"))
    updated = parse_jira_datetime(fields.get("updated"))
    return IssueFacts(
        issue_id=issue_id,
        issue_key=_str(issue.get("key")),
        project=_str(_map(fields.get("project")).get("key")),
        issue_type=_name_of(fields.get("issuetype")),
        priority=_name_of(fields.get("priority")),
        status_id=_str(status.get("id")),
        status_name=_str(status.get("name")),
        updated_at=updated.astimezone(UTC) if updated is not None else None,
    )


def _statuses(fields: Mapping[str, Any]) -> tuple[StatusInfo, ...]:
    info = _status_info(fields.get("status"))
    return (info,) if info is not None else ()


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


# Webhooks -------------------------------------------------------------------------------------------


def _creation(
    facts: IssueFacts, at: datetime, to_id: str | None, to_name: str | None, author: str | None
) -> Transition:
    """The issue's creation into its first status; one change id whichever source reports it."""
    return Transition(
        issue_id=facts.issue_id,
        at=_utc(at),
        from_id=None,
        from_name=None,
        to_id=to_id,
        to_name=to_name,
        change_id=CREATION_CHANGE_ID,
        author=author,
        issue_key=facts.issue_key,
    )


def extract_payload(payload: Mapping[str, Any]) -> Extraction:
    """One webhook delivery (Cloud, Data Center, legacy) -> its status transitions and issue facts."""
    if not isinstance(payload, Mapping):
        raise UnsupportedPayload(
            f"expected a JSON object (a Jira webhook delivery), got {type(payload).__name__}"
        )
    event = payload.get("webhookEvent")
    if event is None and isinstance(payload.get("transition"), Mapping):
        return _extract_legacy(payload)
    if not isinstance(event, str) or not event:
        raise UnsupportedPayload(
            "expected a Jira webhook delivery: a JSON object with a 'webhookEvent' string "
            "(or a legacy payload with a 'transition' block); keys found: "
            + ", ".join(sorted(str(k) for k in payload)[:12])
        )
    issue = _map(payload.get("issue"))
    facts = _issue_facts(issue) if issue else None
    fields = _map(issue.get("fields"))
    statuses = _statuses(fields)
    if facts is None or event not in (ISSUE_CREATED, "jira:issue_updated"):
        return Extraction(event=event, transitions=(), issue=facts, statuses=statuses)

    at = _event_time(payload, fields)
    changelog = _map(payload.get("changelog"))
    items = changelog.get("items")
    status_items = [
        _map(item) for item in (items if isinstance(items, list) else []) if is_status_item(_map(item))
    ]
    author = _author(payload.get("user"))
    change_id = _str(changelog.get("id"))
    transitions: list[Transition] = []
    created_at = parse_jira_datetime(fields.get("created"))

    if event == ISSUE_CREATED:
        creation_at = created_at or at
        initial = next((item for item in status_items if item.get("from") is None), None)
        if initial is not None:
            status_items = [item for item in status_items if item is not initial]
            to_id, to_name = _str(initial.get("to")), _str(initial.get("toString"))
        else:
            status = _map(fields.get("status"))
            to_id, to_name = _str(status.get("id")), _str(status.get("name"))
        if creation_at is None:
            raise UnsupportedPayload(
                f"issue {facts.issue_id}: a jira:issue_created delivery needs a 'timestamp' or "
                "issue.fields.created to date the creation"
            )
        if to_id is not None or to_name is not None:
            transitions.append(_creation(facts, creation_at, to_id, to_name, author))

    if status_items:
        if at is None:
            raise UnsupportedPayload(
                f"issue {facts.issue_id}: a status change needs a 'timestamp' (epoch ms or Jira's "
                "'YYYY-M-D HH:MM:SS,mmm') or issue.fields.updated"
            )
        if change_id is None:
            change_id = f"event:{int(at.timestamp() * 1000)}"
        for n, item in enumerate(status_items):
            transitions.append(
                Transition(
                    issue_id=facts.issue_id,
                    at=_utc(at),
                    from_id=_str(item.get("from")),
                    from_name=_str(item.get("fromString")),
                    to_id=_str(item.get("to")),
                    to_name=_str(item.get("toString")),
                    change_id=change_id if n == 0 else f"{change_id}#{n + 1}",
                    author=author,
                    issue_key=facts.issue_key,
                )
            )
    return Extraction(event=event, transitions=tuple(transitions), issue=facts, statuses=statuses)


def _extract_legacy(payload: Mapping[str, Any]) -> Extraction:
    block = _map(payload.get("transition"))
    issue = _map(payload.get("issue"))
    facts = _issue_facts(issue) if issue else None
    fields = _map(issue.get("fields"))
    statuses = _statuses(fields)
    from_name = _str(block.get("from_status"))
    to_name = _str(block.get("to_status"))
    if facts is None or (from_name is None and to_name is None):
        return Extraction(event=LEGACY_TRANSITION_EVENT, transitions=(), issue=facts, statuses=statuses)
    at = _event_time(payload, fields)
    if at is None:
        raise UnsupportedPayload(
            f"issue {facts.issue_id}: a legacy transition payload needs a 'timestamp' (epoch ms)"
        )
    # The block names statuses only; borrow the id from the issue's current status when names agree.
    current = _map(fields.get("status"))
    current_name = _str(current.get("name"))
    to_id = _str(current.get("id")) if current_name is not None and current_name == to_name else None
    transition = Transition(
        issue_id=facts.issue_id,
        at=at,
        from_id=None,
        from_name=from_name,
        to_id=to_id,
        to_name=to_name,
        change_id=f"transition:{int(at.timestamp() * 1000)}",
        author=_author(payload.get("user")),
        issue_key=facts.issue_key,
    )
    return Extraction(
        event=LEGACY_TRANSITION_EVENT, transitions=(transition,), issue=facts, statuses=statuses
    )


# REST --------------------------------------------------------------------------------------------------


def _history_sort_key(history: Mapping[str, Any]) -> tuple[datetime, int, str]:
    created = parse_jira_datetime(history.get("created")) or datetime.min.replace(tzinfo=UTC)
    hid = _str(history.get("id")) or ""
    return (created.astimezone(UTC), int(hid) if hid.isdigit() else 0, hid)


def transitions_from_histories(
    issue_id: str, histories: Iterable[Mapping[str, Any]], issue_key: str | None = None
) -> list[Transition]:
    """Status transitions from changelog histories (`{id, author, created, items[]}`), oldest first.

    Works for `changelog.histories` of REST issue JSON, `/issue/{id}/changelog` page `values` and
    `/changelog/bulkfetch` `changeHistories`. Histories may come in any order.
    """
    out: list[Transition] = []
    for history in sorted((_map(h) for h in histories), key=_history_sort_key):
        items = history.get("items")
        status_items = [
            _map(item) for item in (items if isinstance(items, list) else []) if is_status_item(_map(item))
        ]
        if not status_items:
            continue
        hid = _str(history.get("id"))
        created = parse_jira_datetime(history.get("created"))
        if hid is None or created is None:
            warnings.warn(
                SkippedHistory(
                    f"issue {issue_id}: skipped a changelog history with a status change but without "
                    f"{'an id' if hid is None else 'a created timestamp (ISO 8601 with offset)'} "
                    f"(history {hid or 'without id'}); the issue's other histories are kept. Fetch the "
                    "issue's changelog from Jira again (baton backfill) if that change matters."
                ),
                stacklevel=2,
            )
            continue
        author = _author(history.get("author"))
        for n, item in enumerate(status_items):
            out.append(
                Transition(
                    issue_id=str(issue_id),
                    at=_utc(created),
                    from_id=_str(item.get("from")),
                    from_name=_str(item.get("fromString")),
                    to_id=_str(item.get("to")),
                    to_name=_str(item.get("toString")),
                    change_id=hid if n == 0 else f"{hid}#{n + 1}",
                    author=author,
                    issue_key=issue_key,
                )
            )
    return out


def extract_issue(issue: Mapping[str, Any]) -> Extraction:
    """REST issue JSON (optionally with `changelog.histories`) -> creation + status transitions.

    Without `changelog.histories` the issue yields its facts only, no transitions."""
    if (
        not isinstance(issue, Mapping)
        or _str(issue.get("id")) is None
        or not isinstance(issue.get("fields"), Mapping)
    ):
        raise UnsupportedPayload(
            "expected a Jira REST issue: a JSON object with 'id' and 'fields' "
            "(and optionally 'changelog.histories')"
        )
    facts = _issue_facts(issue)
    assert facts is not None
    fields = _map(issue.get("fields"))
    changelog = _map(issue.get("changelog"))
    raw_histories = changelog.get("histories")
    histories = [_map(h) for h in raw_histories] if isinstance(raw_histories, list) else []
    transitions = transitions_from_histories(facts.issue_id, histories, facts.issue_key)

    total = changelog.get("total")
    start_at = changelog.get("startAt")
    truncated = (isinstance(total, int) and total > len(histories)) or (
        isinstance(start_at, int) and start_at > 0
    )
    # Only evidence of history creates history: without a changelog (a search without
    # expand=changelog) the current status says nothing about the first one, and a guessed creation
    # would win over the real one whenever it happened to be stored first.
    has_changelog = isinstance(raw_histories, list)
    created = parse_jira_datetime(fields.get("created"))
    if created is not None and has_changelog and not truncated:
        if transitions:
            to_id, to_name = transitions[0].from_id, transitions[0].from_name
        else:
            status = _map(fields.get("status"))
            to_id, to_name = _str(status.get("id")), _str(status.get("name"))
        author = _author(fields.get("creator")) or _author(fields.get("reporter"))
        if to_id is not None or to_name is not None:
            transitions.insert(0, _creation(facts, created, to_id, to_name, author))
    return Extraction(
        event="rest:issue", transitions=tuple(transitions), issue=facts, statuses=_statuses(fields)
    )


def _bulkfetch_extractions(entries: Sequence[object]) -> Iterator[Extraction]:
    for entry in entries:
        entry_map = _map(entry)
        issue_id = _str(entry_map.get("issueId"))
        histories = entry_map.get("changeHistories")
        if issue_id is None or not isinstance(histories, list):
            raise UnsupportedPayload(
                "expected each issueChangeLogs[] entry of a /changelog/bulkfetch response to have "
                "'issueId' and 'changeHistories'"
            )
        transitions = transitions_from_histories(issue_id, histories)
        yield Extraction(event="rest:changelog", transitions=tuple(transitions), issue=None)


def iter_documents(obj: object) -> Iterator[Extraction]:
    """Every Extraction in one JSON document replay may meet.

    Recognised: a webhook delivery (`webhookEvent`, or a legacy `transition` block); a search response
    (`issues[]`); a bulkfetch response (`issueChangeLogs[]`); a single REST issue (`id` + `fields`); a
    JSON array of any of these. Anything else raises `UnsupportedPayload`.
    """
    if isinstance(obj, list):
        for element in obj:
            yield from iter_documents(element)
        return
    if not isinstance(obj, Mapping):
        raise UnsupportedPayload(
            f"expected a JSON object or array of Jira documents, got {type(obj).__name__}"
        )
    if "webhookEvent" in obj or isinstance(obj.get("transition"), Mapping):
        yield extract_payload(obj)
        return
    issues = obj.get("issues")
    if isinstance(issues, list):
        for issue in issues:
            yield extract_issue(_map(issue))
        return
    change_logs = obj.get("issueChangeLogs")
    if isinstance(change_logs, list):
        yield from _bulkfetch_extractions(change_logs)
        return
    if "id" in obj and isinstance(obj.get("fields"), Mapping):
        yield extract_issue(obj)
        return
    if isinstance(obj.get("values"), list) and "isLast" in obj:
        raise UnsupportedPayload(
            "this is a /issue/{key}/changelog page ('values', 'isLast'), which does not say which issue "
            "it belongs to. Replay the issue itself (GET /rest/api/3/issue/{key}?expand=changelog), or "
            'wrap the pages\' histories as {"issueChangeLogs": [{"issueId": "<issue id>", '
            '"changeHistories": <values>}]}, or let `baton backfill` fetch the history'
        )
    raise UnsupportedPayload(
        "expected a Jira webhook delivery ('webhookEvent'), a search response ('issues'), a "
        "changelog bulkfetch response ('issueChangeLogs') or a REST issue ('id' and 'fields'); "
        "keys found: " + ", ".join(sorted(str(k) for k in obj)[:12])
    )
