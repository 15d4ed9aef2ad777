"""`POST /webhooks/jira[/<site>]`: receive, verify, persist, acknowledge. Nothing else.

Parsing into transitions and re-deriving requests happen after the acknowledgement, from the inbox
(`baton.webhooks.worker.loop`), so the request path stays short and a processing bug can never lose a delivery.

Order of checks: body size (413) -> content type (415) -> site (404) -> credentials (401) -> JSON
(400, raw body quarantined) -> inbox commit -> 202 (new) or 200 (duplicate).
The 2xx is only sent once the raw delivery is committed.

An acknowledgement is a status code and a `Baton-Delivery-Id` header (the inbox row, for
`baton inbox show`), with no body: Jira reads only the status, and a body would cost the server a
second write per request (gunicorn sends headers and body separately). Errors carry JSON bodies.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Response, current_app, request
from sqlalchemy import Engine
from werkzeug.wsgi import get_input_stream

from baton.connector.signatures import SIGNATURE_HEADER, SignatureError, verify_signature, verify_token
from baton.store.delivery_row import (
    RETRY_HEADER,
    NotJson,
    delivery_identity,
    environ_key,
    is_json_content_type,
    kept_headers,
    parse_body,
)
from baton.webhooks.http.errors import MalformedPayload, PayloadTooLarge, UnknownSite, UnsupportedContentType
from baton.webhooks.metrics import ACK_SECONDS, DELIVERIES
from baton.webhooks.settings import DEFAULT_SITE, Settings

log = logging.getLogger("baton.webhooks.receiver")

SITE_CACHE_SECONDS = 30.0
DELIVERY_ID_HEADER = "Baton-Delivery-Id"
LOGGED_SITE_CHARS = 64
"""A site name from the URL is logged cut to this length: an unknown one may be any size."""
_SIGNATURE_ENVIRON_KEY = environ_key(SIGNATURE_HEADER)
_CONTENT_TYPE_ENVIRON_KEY = environ_key("Content-Type")


class Acknowledgement(Response):
    """A 2xx without a body, so without a Content-Type (werkzeug would add `text/html`)."""

    default_mimetype = None


@dataclass(frozen=True, slots=True)
class SiteCredentials:
    site: str
    secret: str | None
    token: str | None


class SiteDirectory:
    """Which sites exist and how each authenticates; cached briefly so a delivery costs one write."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self._engine = engine
        self._settings = settings
        self._cache: dict[str, tuple[float, SiteCredentials | None]] = {}

    def credentials(self, site: str) -> SiteCredentials | None:
        cached = self._cache.get(site)
        now = time.monotonic()
        if cached is not None and now - cached[0] < SITE_CACHE_SECONDS:
            return cached[1]
        found = self._load(site)
        self._cache[site] = (now, found)
        return found

    def _load(self, site: str) -> SiteCredentials | None:
        from sqlalchemy.orm import Session

        from baton.store.models import Site

        with Session(self._engine) as session:
            row = session.get(Site, site)
            secret, token = (row.webhook_secret, row.webhook_token) if row is not None else (None, None)
        if site == DEFAULT_SITE:
            # The environment wins for the default site: that is where operators set it.
            return SiteCredentials(
                site,
                self._settings.secret("webhook_secret") or secret,
                self._settings.secret("webhook_token") or token,
            )
        if row is None:
            return None
        return SiteCredentials(site, secret, token)


def authenticate(credentials: SiteCredentials, body: bytes, environ: dict[str, Any]) -> None:
    """Raise SignatureError unless the delivery carries the site's credential.

    A site with a secret requires a valid signature; a site with only a URL token requires the
    token. A site with neither accepts any delivery (warned about at start-up)."""
    if credentials.secret:
        verify_signature(credentials.secret, body, environ.get(_SIGNATURE_ENVIRON_KEY))
    elif credentials.token:
        verify_token(credentials.token, request.args.get("token"))


Accept = Callable[..., tuple[int, bool]]
"""`accept(site, body, headers, idempotency_key, event, quarantine_reason) -> (delivery_id, duplicate)`."""


_READ_CHUNK = 64 * 1024


def read_body(environ: dict[str, Any], limit: int) -> bytes:
    """The whole body, or PayloadTooLarge as soon as it is longer than `limit` bytes.

    A chunked body declares no length, and werkzeug's `get_data()` cuts it at MAX_CONTENT_LENGTH
    without saying so: the cut body then failed its signature (a misleading 401) or, unsigned, was
    quarantined. So the stream is read here, one byte past the limit, to tell "exactly at the limit"
    from "longer"."""
    stream = get_input_stream(environ, safe_fallback=True, max_content_length=None)
    parts: list[bytes] = []
    size = 0
    while size <= limit:
        part = stream.read(min(_READ_CHUNK, limit + 1 - size))
        if not part:
            return b"".join(parts)
        parts.append(part)
        size += len(part)
    raise PayloadTooLarge(f"the body exceeds the limit of {limit} bytes")


def receiver_blueprint(
    settings: Settings, sites: SiteDirectory, accept: Accept, on_stored: Callable[[], None]
) -> Blueprint:
    bp = Blueprint("receiver", __name__)
    by_outcome: dict[str, Any] = {}  # the counter's child per outcome, looked up once

    @bp.post("/webhooks/jira", defaults={"site": DEFAULT_SITE})
    @bp.post("/webhooks/jira/<site>")
    def receive(site: str) -> Response:
        started = time.perf_counter()
        logged_site = site[:LOGGED_SITE_CHARS]
        outcome = "error"
        try:
            delivery_id, duplicate = _receive(site)
            outcome = "duplicate" if duplicate else "accepted"
            acknowledgement = Acknowledgement(status=200 if duplicate else 202)
            acknowledgement.headers[DELIVERY_ID_HEADER] = str(delivery_id)
            return acknowledgement
        except SignatureError as error:
            outcome = "unauthorized"
            log.warning(
                "delivery rejected",
                extra={"event": "delivery_rejected", "site": logged_site, "reason": error.code},
            )
            raise
        except (PayloadTooLarge, UnsupportedContentType, UnknownSite, MalformedPayload) as error:
            outcome = error.code
            log.warning(
                "delivery rejected",
                extra={"event": "delivery_rejected", "site": logged_site, "reason": error.code},
            )
            raise
        finally:
            counter = by_outcome.get(outcome)
            if counter is None:
                counter = by_outcome[outcome] = DELIVERIES.labels(outcome=outcome)
            counter.inc()
            ACK_SECONDS.observe(time.perf_counter() - started)

    def _receive(site: str) -> tuple[int, bool]:
        """(delivery id, duplicate) once the delivery is committed; raises for every rejection."""
        limit = settings.max_body_bytes
        environ = request.environ
        declared = request.content_length
        if declared is not None and declared > limit:
            raise PayloadTooLarge(f"the body has {declared} bytes; the limit is {limit}")
        content_type = environ.get(_CONTENT_TYPE_ENVIRON_KEY)
        if not is_json_content_type(content_type):
            raise UnsupportedContentType(f"content type '{(content_type or 'none')[:80]}' is not JSON")
        credentials = sites.credentials(site)
        if credentials is None:
            raise UnknownSite(f"no Jira site named '{site[:64]}' is registered")
        raw = read_body(environ, limit)
        authenticate(credentials, raw, environ)

        headers = kept_headers(environ)
        try:
            payload = parse_body(raw)
        except NotJson as error:
            identity = delivery_identity(site, headers, raw, None)
            delivery_id, _ = accept(site, raw, headers, identity.idempotency_key, None, str(error))
            log.warning(
                "malformed delivery quarantined",
                extra={"event": "delivery_quarantined", "site": site, "delivery_id": delivery_id},
            )
            raise MalformedPayload(f"{error}", delivery_id=delivery_id) from None

        identity = delivery_identity(site, headers, raw, payload)
        delivery_id, duplicate = accept(site, raw, headers, identity.idempotency_key, identity.event, None)
        if log.isEnabledFor(logging.INFO):
            log.info(
                "delivery stored" if not duplicate else "duplicate delivery acknowledged",
                extra={
                    "event": "delivery_duplicate" if duplicate else "delivery_accepted",
                    "site": site,
                    "delivery_id": delivery_id,
                    "webhook_event": identity.event,
                    "retry": headers.get(RETRY_HEADER),
                    "bytes": len(raw),
                },
            )
        if not duplicate:
            on_stored()
        return delivery_id, duplicate

    return bp


def noop_blueprint() -> Blueprint:
    """`/bench/noop`: the benchmark's ceiling, the same server answering without touching anything."""
    bp = Blueprint("bench_noop", __name__)

    @bp.post("/bench/noop")
    def noop() -> Response:
        request.get_data(cache=False)
        return Response(status=204)

    return bp


def current_settings() -> Settings:
    return current_app.extensions["baton"].settings  # type: ignore[no-any-return]
