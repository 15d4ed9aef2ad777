"""One delivery as one inbox row: its identity (the idempotency key), its shape, its column values.

Both writers of the `deliveries` table build their rows here, so they cannot drift apart: the
request path's `baton.store.inbox_writer.InboxWriter` and `baton.store.inbox.accept_delivery` (replay,
backfill, tests). `delivery_identity` is the one idempotency-key function and `delivery_row` the one
row builder (column values, header cleaning, truncation of the key and event).

The idempotency key decides what "the same delivery" means:
1. `X-Atlassian-Webhook-Identifier`, unique per Jira Cloud tenant and stable across retries:
   `atl:<sha256 of site + identifier>`;
2. without it (Jira DC), the event, issue id and changelog id, one change of one issue:
   `chg:<sha256 of site + event + issue id + changelog id>`;
3. else the body itself, so byte-identical retries still collapse: `body:<sha256 of site + body>`.
Every part is length-prefixed before hashing. Keys are scoped per site (the site is part of every
key and of the inbox's unique constraint).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

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


MAX_JSON_DEPTH = 512
"""Deepest nesting of arrays and objects a delivery may have. Jira's are about ten levels deep;
orjson refuses more than 1,024 and `json`, which the worker parses with, fails near the recursion
limit (1,000) with a RecursionError. One bound below both, checked here, so a body is either refused
and quarantined on arrival or parsed by the worker as well."""


def parse_body(body: bytes) -> dict[str, Any]:
    """The delivery as a JSON object; NotJson says why it is not one.

    orjson parses a real Jira payload (median 8.9 KB) 2.5x faster than the standard library;
    whatever it refuses goes to `json` as well, so exactly what `json.loads` accepts (NaN, lone
    surrogates...) is accepted, as the inbox worker parses it later, up to MAX_JSON_DEPTH levels of
    nesting. The one difference in values, integers beyond 64 bits read as floats, never reaches an
    identity: Jira sends ids as strings, and the worker re-parses the stored body with `json`."""
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        try:
            payload = json.loads(body)
        except RecursionError:
            raise NotJson(_too_deep()) from None
        except (UnicodeDecodeError, ValueError) as exc:
            raise NotJson(f"the body is not valid JSON ({type(exc).__name__}: {str(exc)[:120]})") from None
    if not isinstance(payload, dict):
        raise NotJson(f"the body is JSON but a {type(payload).__name__}, not an object")
    # Nesting can be no deeper than the number of brackets that open it: counting them is C-fast,
    # and only a body with that many pays for the walk.
    if body.count(b"{") + body.count(b"[") > MAX_JSON_DEPTH and _depth_exceeds(payload, MAX_JSON_DEPTH):
        raise NotJson(_too_deep())
    return payload


def _too_deep() -> str:
    return f"the body is nested more than {MAX_JSON_DEPTH} levels deep"


def _depth_exceeds(payload: Any, limit: int) -> bool:
    """Whether arrays and objects nest more than `limit` deep (iterative: the input is hostile)."""
    stack: list[tuple[Any, int]] = [(payload, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        children = node.values() if isinstance(node, dict) else node
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def environ_key(header: str) -> str:
    """Where a WSGI server puts request header `header` in the environ (PEP 3333)."""
    if header in ("Content-Type", "Content-Length"):
        return header.upper().replace("-", "_")
    return "HTTP_" + header.upper().replace("-", "_")


_KEPT_ENVIRON_KEYS = tuple((name, environ_key(name)) for name in KEPT_HEADERS)


def kept_headers(environ: Mapping[str, Any]) -> dict[str, str]:
    """The kept headers of a request, read straight from its WSGI environ (no header object)."""
    return {name: environ[key] for name, key in _KEPT_ENVIRON_KEYS if environ.get(key) is not None}


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


SENSITIVE_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie"})
"""Never stored: credentials of the sender or of a proxy in front of us."""


def clean_headers(headers: Mapping[str, str] | Iterable[tuple[str, str]] | None) -> dict[str, str]:
    """The headers a row keeps: every one but credentials, as text."""
    items = headers.items() if isinstance(headers, Mapping) else (headers or [])
    return {str(k): str(v) for k, v in items if str(k).lower() not in SENSITIVE_HEADERS}


def payload_or_none(body: bytes) -> dict[str, Any] | None:
    """The body as a JSON object, or None when it is not one (it is then keyed by its bytes)."""
    try:
        return parse_body(body)
    except NotJson:
        return None


MAX_KEY_LENGTH = 255
MAX_EVENT_LENGTH = 100
DELIVERY_COLUMNS = (
    "site_id",
    "idempotency_key",
    "source",
    "event",
    "headers",
    "body",
    "received_at",
    "state",
    "error",
)
"""The columns `delivery_row` fills, in its order; `attempts` starts at 0, the claim columns empty."""


def storable_event(event: str | None) -> str | None:
    """The event name as its column can hold it: at most `MAX_EVENT_LENGTH` characters, without NUL
    (PostgreSQL text refuses 0x00) and with lone surrogates (which `json` accepts) replaced, so a
    hostile `webhookEvent` can never fail the group commit it shares with other deliveries. Jira's
    names are ASCII: for them this is two scans of at most 100 characters."""
    if not event:
        return None
    return storable_text(event[:MAX_EVENT_LENGTH]) or None


def storable_text(text: str) -> str:
    """`text` without NUL (PostgreSQL text refuses 0x00) and with lone surrogates replaced: what any
    text column can hold, e.g. an error message quoting a hostile delivery's event name."""
    if text.isascii() and "\x00" not in text:
        return text
    return text.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")


def delivery_row(
    site_id: str,
    idempotency_key: str,
    source: str,
    event: str | None,
    headers: Mapping[str, str] | None,
    body: bytes,
    received_at: datetime,
    state: str,
    error: str | None,
    encode_headers: Callable[[dict[str, str]], Any] | None = None,
    encode_time: Callable[[datetime], Any] | None = None,
) -> tuple[Any, ...]:
    """The column values of one new `deliveries` row, in `DELIVERY_COLUMNS` order.

    Credentials are dropped from the headers, the key and the event are cut to their columns' length
    (`storable_event`).
    The encoders turn the headers and the time into what a raw driver stores (the request path's
    writer skips SQLAlchemy); the ORM path leaves them as they are. Positional on purpose: this runs
    once per acknowledged delivery."""
    kept = clean_headers(headers)
    return (
        site_id,
        idempotency_key[:MAX_KEY_LENGTH],
        source,
        storable_event(event),
        kept if encode_headers is None else encode_headers(kept),
        bytes(body),
        received_at if encode_time is None else encode_time(received_at),
        state,
        error,
    )
