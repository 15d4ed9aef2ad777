"""HTTP: every error type answers through one table, with one body shape (`error`, `message`, `hint`)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import RequestEntityTooLarge

from baton.config.errors import ConfigError, Problem
from baton.connector.signatures import SignatureError
from baton.store.db import DatabaseUnavailable
from baton.webhooks.http import errors
from baton.webhooks.http.auth import AuthError
from baton.webhooks.settings import Settings, SettingsError

REPO = Path(__file__).resolve().parents[3]

CASES: list[tuple[Callable[[], BaseException], int, str]] = [
    (lambda: errors.BadRequest("unknown period 'day'", "use week or month"), 400, "bad_request"),
    (lambda: errors.MalformedPayload("not JSON"), 400, "malformed_payload"),
    (lambda: errors.Unauthorized("missing admin token"), 401, "unauthorized"),
    (lambda: AuthError("share link has expired"), 401, "unauthorized"),
    (lambda: SignatureError("signature does not match"), 401, "invalid_signature"),
    (lambda: errors.Forbidden("no site for this installation"), 403, "forbidden"),
    (lambda: errors.ReadOnly("a share link cannot give a verdict"), 403, "read_only"),
    (lambda: errors.NotAMember("not a member of qa"), 403, "not_a_member"),
    (lambda: errors.UnknownSite("no Jira site named 'x'"), 404, "unknown_site"),
    (lambda: errors.NotFound("no configuration version 9"), 404, "not_found"),
    (lambda: errors.Conflict("version 4 is the latest"), 409, "config_conflict"),
    (lambda: errors.ConfigAsCode("the service runs with --config"), 409, "config_as_code"),
    (lambda: errors.InvalidDraft("2 problems"), 422, "config_invalid"),
    (lambda: errors.NotFound("issue PROJ-9 is not known"), 404, "not_found"),
    (lambda: errors.VerdictRefused("outside the window"), 409, "verdict_refused"),
    (lambda: errors.PayloadTooLarge("too big"), 413, "payload_too_large"),
    (RequestEntityTooLarge, 413, "payload_too_large"),
    (lambda: errors.UnsupportedContentType("text/plain"), 415, "unsupported_content_type"),
    (lambda: errors.ServiceError("unexpected error"), 500, "internal_error"),
    (lambda: errors.Unavailable("not started"), 503, "unavailable"),
    (lambda: DatabaseUnavailable("could not connect"), 503, "database_unavailable"),
    (lambda: OperationalError("SELECT 1", {}, Exception("gone")), 503, "database_unavailable"),
    (
        lambda: ConfigError([Problem((), None, "cannot read the file")], "pmo.yaml"),
        503,
        "configuration_invalid",
    ),
    (lambda: SettingsError("BATON_MODE", "'fast' is not a mode", "set embedded"), 503, "settings_invalid"),
    (lambda: KeyError("bug"), 500, "internal_error"),
]


def _answer(error: BaseException) -> tuple[int, dict[str, object], dict[str, str]]:
    app = Flask(__name__)
    errors.register_error_handlers(app)

    @app.get("/boom")
    def boom() -> str:
        raise error

    response = app.test_client().get("/boom")
    return response.status_code, response.get_json(), dict(response.headers)


@pytest.mark.parametrize(("make", "status", "code"), CASES)
def test_every_error_type_has_one_status_and_one_body_shape(
    make: Callable[[], BaseException], status: int, code: str
) -> None:
    answered, body, headers = _answer(make())
    assert answered == status
    assert body["error"] == code
    assert set(body) == {"error", "message", "hint"}
    assert isinstance(body["message"], str) and body["message"]
    assert headers.get("Retry-After") == ("30" if status == 503 else None)
    assert ("WWW-Authenticate" in headers) == (status == 401)


def test_the_cases_cover_the_whole_table() -> None:
    covered = {type(make()) if not isinstance(make, type) else make for make, _, _ in CASES}
    assert set(errors.HTTP_STATUS) <= covered
    for make, status, _ in CASES:
        error = make()
        assert errors.status_for(error) == status


def test_there_is_one_database_unavailable_class() -> None:
    defined = [
        path.relative_to(REPO)
        for folder in ("config", "scoring", "store", "connector", "webhooks")
        for path in (REPO / folder).rglob("*.py")
        if "class DatabaseUnavailable" in path.read_text()
    ]
    assert defined == [Path("store/db.py")]


def test_an_invalid_pmo_configuration_answers_503_not_500(tmp_path: Path) -> None:
    from baton.webhooks.http.app import create_app

    broken = tmp_path / "broken.yaml"
    broken.write_text("teams: [\n")
    app = create_app(
        Settings(
            database_url=f"sqlite:///{tmp_path / 'b.db'}",
            config_path=str(broken),
            background_processing=False,
            demo=True,
        )
    )
    try:
        response = app.test_client().get("/api/v1/teams")
        assert response.status_code == 503
        assert response.get_json()["error"] == "configuration_invalid"
        assert "baton config check" in response.get_json()["hint"]
    finally:
        app.extensions["baton"].close()
