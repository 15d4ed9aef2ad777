"""What the receiver needs to know about one delivery before it stores it: its identity and shape.

The idempotency key decides what "the same delivery" means (JIRA-FACTS.md 1.3, 1.4, 2):
1. `X-Atlassian-Webhook-Identifier`, unique per Jira Cloud tenant and stable across retries;
2. without it (Jira DC), the event, issue id and changelog id: one change of one issue;
3. else the body itself, so byte-identical retries still collapse.
Keys are scoped per site (the site is part of every key and of the inbox's unique constraint).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

IDENTIFIER_HEADER = "X-Atlassian-Webhook-Identifier"
RETRY_HEADER = "X-Atlassian-Webhook-Retry"

KEPT_HEADERS = (
    "Content-Type",
    "User-Agent",
    IDENTIFIER_HEADER,
    RETRY_HEADER,
    "X-Atlassian-Webhook-Flow",
    "X-Atlassian-Webhook-Trace",
)
"""Headers stored with the raw body. The signature and any Authorization header are not kept:
they are credentials, and the body is already authenticated when it is stored."""


class NotJson(ValueError):
    """The body is not a JSON object."""


@dataclass(frozen=True, slots=True)
class DeliveryIdentity:
    idempotency_key: str
    event: str | None


def is_json_content_type(content_type: str | None) -> bool:
    """`application/json` or `application/<x>+json`, any parameters (Jira adds `charset=UTF-8`)."""
    if not content_type:
        return False
    mime = content_type.split(";", 1)[0].strip().lower()
    return mime == "application/json" or (mime.startswith("application/") and mime.endswith("+json"))


def parse_body(body: bytes) -> dict[str, Any]:
    """The delivery as a JSON object; NotJson says why it is not one."""
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise NotJson(f"the body is not valid JSON ({type(exc).__name__}: {str(exc)[:120]})") from None
    if not isinstance(payload, dict):
        raise NotJson(f"the body is JSON but a {type(payload).__name__}, not an object")
    return payload


def kept_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {name: headers[name] for name in KEPT_HEADERS if headers.get(name) is not None}


def _digest(*parts: str | bytes) -> str:
    h = hashlib.sha256()
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        h.update(len(data).to_bytes(8, "big"))  # length-prefixed: no ambiguity between parts
        h.update(data)
    return h.hexdigest()


def _text(value: object) -> str | None:
    if value is None or isinstance(value, dict | list):
        return None
    return str(value)


def delivery_identity(
    site: str, headers: Mapping[str, str], body: bytes, payload: Mapping[str, Any] | None
) -> DeliveryIdentity:
    """The idempotency key and event name of one delivery (`payload` None when it is not JSON)."""
    event = _text(payload.get("webhookEvent")) if payload is not None else None
    identifier = (headers.get(IDENTIFIER_HEADER) or "").strip()
    if identifier:
        return DeliveryIdentity(f"atl:{_digest(site, identifier)}", event)
    if payload is not None:
        issue = payload.get("issue")
        changelog = payload.get("changelog")
        issue_id = _text(issue.get("id")) if isinstance(issue, dict) else None
        change_id = _text(changelog.get("id")) if isinstance(changelog, dict) else None
        if issue_id and change_id:
            return DeliveryIdentity(f"chg:{_digest(site, event or '', issue_id, change_id)}", event)
    return DeliveryIdentity(f"body:{_digest(site, body)}", event)


class InboxWriter:
    """Commits one raw delivery to the inbox on the request path, as fast as the database allows.

    Writes exactly the row `store.inbox.accept_delivery` writes (same table, same unique key, same
    duplicate answer), through one pre-built Core statement instead of an ORM session: the request
    path is where every microsecond counts (bench/README.md, "Ingest"). On SQLite, writers of all
    processes take turns through an `flock` on a file beside the database: the kernel wakes the next
    writer the moment the lock is free, where SQLite's busy handler would sleep 1-100 ms.
    """

    def __init__(self, engine: Any) -> None:
        from sqlalchemy import bindparam, select
        from sqlalchemy.dialects import postgresql, sqlite

        from store.models import Delivery, Site

        self._engine = engine
        self._sqlite = engine.dialect.name == "sqlite"
        insert = sqlite.insert if self._sqlite else postgresql.insert
        table = Delivery.__table__
        self._insert = (
            insert(table)
            .on_conflict_do_nothing(index_elements=["site_id", "idempotency_key"])
            .returning(table.c.id)
        )
        self._existing = select(table.c.id).where(
            table.c.site_id == bindparam("site_id"), table.c.idempotency_key == bindparam("idempotency_key")
        )
        self._site = insert(Site.__table__).on_conflict_do_nothing(index_elements=["id"])
        self._known_sites: set[str] = set()
        self._lock_path = _sqlite_lock_path(engine) if self._sqlite else None

    def accept(
        self,
        site: str,
        body: bytes,
        headers: Mapping[str, str],
        idempotency_key: str,
        event: str | None,
        *,
        quarantine_reason: str | None = None,
    ) -> tuple[int, bool]:
        """Store and COMMIT; returns (delivery id, duplicate)."""
        from store.inbox import PENDING, QUARANTINED, clean_headers
        from store.models import utcnow

        now = utcnow()
        row = {
            "site_id": site,
            "idempotency_key": idempotency_key[:255],
            "source": "webhook",
            "event": event[:100] if event else None,
            "headers": clean_headers(headers),
            "body": bytes(body),
            "received_at": now,
            "state": PENDING if quarantine_reason is None else QUARANTINED,
            "attempts": 0,
            "error": quarantine_reason,
        }
        with _file_lock(self._lock_path), self._engine.begin() as connection:
            if site not in self._known_sites:
                connection.execute(self._site, {"id": site, "name": site, "created_at": now})
            new_id = connection.execute(self._insert, row).scalar()
            if new_id is None:
                existing = connection.execute(
                    self._existing, {"site_id": site, "idempotency_key": row["idempotency_key"]}
                ).scalar_one()
        self._known_sites.add(site)
        if new_id is None:
            return int(existing), True
        return int(new_id), False


def _sqlite_lock_path(engine: Any) -> str | None:
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return f"{database}.write-lock"


class _file_lock:
    """An exclusive `flock` on `path` (no-op for None); re-entrant within a thread is not needed."""

    def __init__(self, path: str | None) -> None:
        self._path = path
        self._fd: int | None = None

    def __enter__(self) -> None:
        if self._path is not None:
            import fcntl
            import os

            self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.flock(self._fd, fcntl.LOCK_EX)

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            import os

            os.close(self._fd)  # closing releases the lock
            self._fd = None
