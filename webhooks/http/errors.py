"""Errors a caller of the HTTP service can cause, each mapped once to a status and a JSON body.

Every body has `error` (a stable code), `message` (what went wrong) and `hint` (what to do).
Nothing in a body echoes the request's body, signature or token.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, jsonify
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from baton.connector.signatures import SignatureError

log = logging.getLogger("baton.webhooks")


class ServiceError(Exception):
    """Base of the errors the service answers with a JSON body."""

    status = 500
    code = "internal_error"
    hint = "retry later; if it persists, check the service log"

    def __init__(self, message: str, hint: str | None = None, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        if hint is not None:
            self.hint = hint
        self.extra = extra

    def body(self) -> dict[str, Any]:
        return {"error": self.code, "message": self.message, "hint": self.hint, **self.extra}


class PayloadTooLarge(ServiceError):
    status = 413
    code = "payload_too_large"
    hint = "Jira bodies are far below this limit; check what is posting here, or raise BATON_MAX_BODY_BYTES"


class UnsupportedContentType(ServiceError):
    status = 415
    code = "unsupported_content_type"
    hint = "send the Jira webhook body as application/json"


class MalformedPayload(ServiceError):
    status = 400
    code = "malformed_payload"
    hint = "the raw body was kept in quarantine; inspect it with `baton inbox show ID`"


class UnknownSite(ServiceError):
    status = 404
    code = "unknown_site"
    hint = "register the site in Baton first, or post to /webhooks/jira for the default site"


class Unauthorized(ServiceError):
    status = 401
    code = "unauthorized"
    hint = "send the admin token as 'Authorization: Bearer <BATON_ADMIN_TOKEN>'"


class DatabaseUnavailable(ServiceError):
    status = 503
    code = "database_unavailable"
    hint = "nothing was stored; Jira retries on 503. Check the database (see /healthz)"


def _response(status: int, body: dict[str, Any]) -> Response:
    response = jsonify(body)
    response.status_code = status
    if status == 503:
        response.headers["Retry-After"] = "30"
    return response


def register_error_handlers(app: Flask) -> None:
    """Map every typed error to its status once, for the whole app."""

    @app.errorhandler(ServiceError)
    def _service_error(error: ServiceError) -> Response:
        return _response(error.status, error.body())

    @app.errorhandler(SignatureError)
    def _signature_error(error: SignatureError) -> Response:
        return _response(
            401,
            {
                "error": error.code,
                "message": error.reason,
                "hint": "nothing was stored; fix the webhook's secret or token in Jira and Jira's retries will get through",
            },
        )

    @app.errorhandler(RequestEntityTooLarge)
    def _too_large(error: RequestEntityTooLarge) -> Response:
        limit = app.config.get("MAX_CONTENT_LENGTH")
        return _response(413, PayloadTooLarge(f"the body exceeds the limit of {limit} bytes").body())

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> Response:
        return _response(
            error.code or 500,
            {
                "error": (error.name or "error").lower().replace(" ", "_"),
                "message": error.description,
                "hint": "",
            },
        )

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> Response:
        from sqlalchemy.exc import OperationalError

        from baton.store.db import DatabaseUnavailable as StoreUnavailable

        if isinstance(error, OperationalError | StoreUnavailable):
            log.error(
                "database unavailable", extra={"event": "database_unavailable", "error": type(error).__name__}
            )
            return _response(503, DatabaseUnavailable("the database is unreachable").body())
        log.exception("unexpected error", extra={"event": "unexpected_error"})
        return _response(500, ServiceError("unexpected error").body())
