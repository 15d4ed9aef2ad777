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
