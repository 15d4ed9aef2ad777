"""Every error the HTTP service answers with, and ONE table from error type to status (`HTTP_STATUS`).

Every body has the same shape: `error` (a stable code), `message` (what went wrong) and `hint` (what to
do). Nothing in a body echoes the request's body, signature or token. A 503 carries `Retry-After`; a
401 carries `WWW-Authenticate`. Errors raised below the HTTP layer (the store's `DatabaseUnavailable`,
the configuration's `ConfigError`, the settings' `SettingsError`, a signature check's `SignatureError`)
are answered through the same table, so no blueprint has handlers of its own.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, jsonify
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from baton.config.errors import ConfigError
from baton.connector.signatures import SignatureError
from baton.store.db import DatabaseUnavailable
from baton.webhooks.settings import SettingsError

log = logging.getLogger("baton.webhooks")

RETRY_AFTER_S = 30


class ServiceError(Exception):
    """Base of the errors the service answers with a JSON body; its status comes from `HTTP_STATUS`."""

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


class BadRequest(ServiceError):
    code = "bad_request"
    hint = 'check the query parameters (docs/plugin.md, "JSON API")'


class MalformedPayload(ServiceError):
    code = "malformed_payload"
    hint = "the raw body was kept in quarantine; inspect it with `baton inbox show ID`"


class Unauthorized(ServiceError):
    code = "unauthorized"
    hint = "send the admin token as 'Authorization: Bearer <BATON_ADMIN_TOKEN>'"


class Forbidden(ServiceError):
    code = "forbidden"
    hint = "this credential may not read anything here; check BATON_FORGE_SITES (docs/plugin.md)"


class NotFound(ServiceError):
    code = "not_found"
    hint = "check the issue key, or the configuration version (the admin page's history lists them)"


class Conflict(ServiceError):
    """Two admins published from the same version: nothing was stored, the body names the latest."""

    code = "config_conflict"
    hint = "your draft is kept: compare it with the latest version, then publish again from it"


class ConfigAsCode(Conflict):
    """The service runs with `--config FILE`: the file is the configuration, the admin page is read-only."""

    code = "config_as_code"
    hint = "edit the configuration file instead, or start the service without --config to publish here"


class InvalidDraft(ServiceError):
    """A draft configuration with problems; `problems` lists them as `baton config check` does."""

    code = "config_invalid"
    hint = "fix each problem at its YAML path and line (`baton config check FILE` prints the same list)"


class ReadOnly(Forbidden):
    code = "read_only"
    hint = "share links and Data Center gadgets only read; give verdicts in Jira Cloud's Hand-offs panel"


class NotAMember(Forbidden):
    code = "not_a_member"
    hint = "only members of the judging team may give its verdict (`teams.<team>.members`, docs/configuration.md)"


class VerdictRefused(ServiceError):
    code = "verdict_refused"
    hint = 'nothing was recorded (docs/semantics.md, "Verdicts")'


class UnknownSite(ServiceError):
    code = "unknown_site"
    hint = "register the site in Baton first, or post to /webhooks/jira for the default site"


class PayloadTooLarge(ServiceError):
    code = "payload_too_large"
    hint = "Jira bodies are far below this limit; check what is posting here, or raise BATON_MAX_BODY_BYTES"


class UnsupportedContentType(ServiceError):
    code = "unsupported_content_type"
    hint = "send the Jira webhook body as application/json"


class Unavailable(ServiceError):
    code = "unavailable"
    hint = "retry in a moment"


HTTP_STATUS: dict[type[BaseException], int] = {
    BadRequest: 400,
    MalformedPayload: 400,
    Unauthorized: 401,
    SignatureError: 401,
    Forbidden: 403,
    NotFound: 404,
    UnknownSite: 404,
    Conflict: 409,
    VerdictRefused: 409,
    PayloadTooLarge: 413,
    RequestEntityTooLarge: 413,
    UnsupportedContentType: 415,
    InvalidDraft: 422,
    ServiceError: 500,
    Unavailable: 503,
    DatabaseUnavailable: 503,
    OperationalError: 503,
    ConfigError: 503,
    SettingsError: 503,
}
"""Error type -> HTTP status; a subclass answers with its nearest listed ancestor's status."""


def status_for(error: BaseException) -> int:
    for kind in type(error).__mro__:
        if kind in HTTP_STATUS:
            return HTTP_STATUS[kind]
    return 500


def _foreign_body(error: BaseException) -> dict[str, Any]:
    """The body of an error raised below the HTTP layer (its message is safe to show: none carries a secret)."""
    if isinstance(error, SignatureError):
        return {
            "error": error.code,
            "message": error.reason,
            "hint": "nothing was stored; fix the webhook's secret or token in Jira and Jira's retries will get through",
        }
    if isinstance(error, DatabaseUnavailable | OperationalError):
        return {
            "error": "database_unavailable",
            "message": "the database is unreachable",
            "hint": "nothing was stored; Jira retries on 503. Check the database (see /healthz)",
        }
    if isinstance(error, ConfigError):
        return {
            "error": "configuration_invalid",
            "message": "the PMO configuration cannot be loaded",
            "hint": "fix the file the service runs with (`baton config check FILE` lists every problem), then restart",
        }
    if isinstance(error, SettingsError):
        return {"error": "settings_invalid", "message": str(error), "hint": error.hint}
    return ServiceError("unexpected error").body()


def error_body(error: BaseException) -> dict[str, Any]:
    return error.body() if isinstance(error, ServiceError) else _foreign_body(error)


def error_response(status: int, body: dict[str, Any]) -> Response:
    response = jsonify(body)
    response.status_code = status
    if status == 503:
        response.headers["Retry-After"] = str(RETRY_AFTER_S)
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="baton"'
    return response


def register_error_handlers(app: Flask) -> None:
    """Answer every error through `HTTP_STATUS`, once, for the whole app."""

    @app.errorhandler(RequestEntityTooLarge)
    def _too_large(error: RequestEntityTooLarge) -> Response:
        limit = app.config.get("MAX_CONTENT_LENGTH")
        return error_response(413, PayloadTooLarge(f"the body exceeds the limit of {limit} bytes").body())

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> Response:
        """Werkzeug's own (404 for an unknown path, 405...): the same body shape."""
        return error_response(
            error.code or 500,
            {
                "error": (error.name or "error").lower().replace(" ", "_"),
                "message": error.description,
                "hint": "",
            },
        )

    @app.errorhandler(Exception)
    def _any_error(error: Exception) -> Response:
        status = status_for(error)
        body = error_body(error)
        if status == 503:  # logged under its code, e.g. `database_unavailable`, as before the one table
            log.error("service unavailable", extra={"event": body["error"], "error": type(error).__name__})
        elif status == 500:
            log.exception("unexpected error", extra={"event": "unexpected_error"})
        return error_response(status, body)
