"""The Jira delivery endpoint's contract: status codes, bodies, what is stored, what is processed.

Every recorded payload in tests/fixtures/jira-webhooks goes through the real HTTP endpoint
(Flask test client) with a valid signature and must land with exactly the transitions
`baton.scoring.extract` reads from it. Every kind of bad input gets its status and stores/processes nothing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from baton.connector.signatures import (
    MissingSignature,
    SignatureError,
    UnsupportedSignatureMethod,
    parse_signature,
    sign,
    verify_signature,
    verify_token,
)
from baton.store.delivery_row import delivery_identity
from baton.webhooks.http.app import create_app, drain
from baton.webhooks.settings import Settings
from tests.integration.webhooks.support import (
    EXAMPLE_CONFIG,
    JSON,
    SECRET,
    delivery_count,
    delivery_rows,
    generated_history,
    signed_headers,
    transition_set,
    webhook_fixtures,
)

FIXTURES = webhook_fixtures()
ONE = generated_history(1)[1]  # a jira:issue_updated with one status change


# --- signatures (no HTTP) ---------------------------------------------------------------------


def test_atlassian_test_vector() -> None:
    # Atlassian's own example from its webhook documentation (secret, body and signature).
    assert sign(SECRET, b"Hello World!") == (
        "sha256=a4771c39fbe90f317c7824e83ddef3caae9cb3d976c214ace1f2937e133263c9"
    )
    verify_signature(
        SECRET, b"Hello World!", "SHA256=A4771C39FBE90F317C7824E83DDEF3CAAE9CB3D976C214ACE1F2937E133263C9"
    )


@pytest.mark.parametrize(
    ("header", "error"),
    [
        (None, MissingSignature),
        ("", MissingSignature),
        ("sha256", SignatureError),
        ("sha256=", SignatureError),
        ("md5=abcdef", UnsupportedSignatureMethod),
        ("sha1=abcdef", UnsupportedSignatureMethod),
    ],
)
def test_signature_header_errors(header: str | None, error: type[SignatureError]) -> None:
    with pytest.raises(error):
        parse_signature(header)


def test_wrong_signature_and_token() -> None:
    with pytest.raises(SignatureError, match="does not match"):
        verify_signature(SECRET, b"{}", sign("other secret", b"{}"))
    with pytest.raises(SignatureError):
        verify_token("t0ken", "wrong")
    with pytest.raises(SignatureError):
        verify_token("t0ken", None)
    verify_token("t0ken", "t0ken")


def test_idempotency_keys_prefer_identifier_then_change_then_body() -> None:
    payload = json.loads(ONE.body)
    with_id = delivery_identity("a", {"X-Atlassian-Webhook-Identifier": "42"}, ONE.body, payload)
    other_site = delivery_identity("b", {"X-Atlassian-Webhook-Identifier": "42"}, ONE.body, payload)
    by_change = delivery_identity("a", {}, ONE.body, payload)
    reserialised = json.dumps(payload, indent=1).encode()
    assert with_id.idempotency_key.startswith("atl:") and with_id != other_site
    assert by_change.idempotency_key.startswith("chg:")
    assert delivery_identity("a", {}, reserialised, payload) == by_change  # same change, other bytes
    assert delivery_identity("a", {}, b"{}", {}).idempotency_key.startswith("body:")
    assert by_change.event == "jira:issue_updated"


# --- the endpoint -------------------------------------------------------------------------------


@pytest.fixture
def app(db_url: str) -> Iterator[Flask]:
    application = create_app(
        Settings(
            database_url=db_url,
            config_path=str(EXAMPLE_CONFIG),
            webhook_secret=SECRET,
            admin_token="admin-token",
            background_processing=False,
        )
    )
    yield application
    application.extensions["baton"].close()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def _engine(app: Flask) -> Engine:
    return app.extensions["baton"].engine  # type: ignore[no-any-return]


@pytest.mark.parametrize(("name", "body"), FIXTURES, ids=[name for name, _ in FIXTURES])
def test_every_recorded_fixture_lands_with_its_transitions(
    app: Flask, client: FlaskClient, name: str, body: bytes
) -> None:
    from baton.scoring.extract import UnsupportedPayload, extract_payload

    response = client.post("/webhooks/jira", data=body, headers=signed_headers(body))
    assert response.status_code == 202, response.get_json()
    assert response.data == b"" and int(response.headers["Baton-Delivery-Id"]) > 0
    assert "Content-Type" not in response.headers

    drain(app)

    try:
        expected = extract_payload(json.loads(body)).transitions
    except UnsupportedPayload:
        expected = ()
    stored = transition_set(_engine(app), "default")
    assert stored == {
        ("default", t.issue_id, t.change_id, t.at, t.from_id, t.from_name, t.to_id, t.to_name)
        for t in expected
    }
    (row,) = delivery_rows(_engine(app))
    assert row.body == body  # byte for byte
    assert row.state in ("done", "ignored", "failed")
    if expected:
        assert row.state == "done"
    assert "X-Hub-Signature" not in row.headers


def test_fixtures_have_status_transitions() -> None:
    # guard: the fixture folder was found and holds the known status-changing payloads
    assert len(FIXTURES) == 67  # zulip 12 + mattermost-plugin-jira 55 (tests/fixtures/SOURCES.md)
    assert any(name.endswith("issue_updated__status.json") for name, _ in FIXTURES)


def _nothing_stored_or_processed(app: Flask) -> None:
    assert delivery_count(_engine(app)) == 0
    drain(app)
    assert transition_set(_engine(app)) == set()


BODY = ONE.body


@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [
        ({"Content-Type": JSON}, 401, "missing_signature"),
        ({"Content-Type": JSON, "X-Hub-Signature": sign("wrong secret", BODY)}, 401, "invalid_signature"),
        ({"Content-Type": JSON, "X-Hub-Signature": "sha256=" + "0" * 64}, 401, "invalid_signature"),
        (
            {"Content-Type": JSON, "X-Hub-Signature": "sha512=" + "0" * 128},
            401,
            "unsupported_signature_method",
        ),
        ({"Content-Type": JSON, "X-Hub-Signature": "garbage"}, 401, "invalid_signature"),
        (
            {"Content-Type": "text/plain", "X-Hub-Signature": sign(SECRET, BODY)},
            415,
            "unsupported_content_type",
        ),
        ({"X-Hub-Signature": sign(SECRET, BODY)}, 415, "unsupported_content_type"),
    ],
    ids=["missing", "wrong-secret", "zeros", "unknown-method", "garbage", "text-plain", "no-type"],
)
def test_bad_requests_get_their_status_and_nothing_is_stored(
    app: Flask, client: FlaskClient, headers: dict[str, str], status: int, code: str
) -> None:
    response = client.post("/webhooks/jira", data=BODY, headers=headers)
    assert response.status_code == status
    body = response.get_json()
    assert body["error"] == code and body["message"] and body["hint"]
    signature = headers.get("X-Hub-Signature")
    assert not signature or signature.split("=", 1)[-1] not in json.dumps(body)  # never echoed
    _nothing_stored_or_processed(app)


def test_signature_of_another_body_is_rejected(app: Flask, client: FlaskClient) -> None:
    tampered = BODY.replace(b"In Development", b"In Developmenx")
    response = client.post("/webhooks/jira", data=tampered, headers=signed_headers(BODY))
    assert response.status_code == 401
    _nothing_stored_or_processed(app)


def test_oversized_body_is_413(app: Flask, client: FlaskClient) -> None:
    big = b'{"pad": "' + b"x" * (5 * 1024 * 1024) + b'"}'
    response = client.post("/webhooks/jira", data=big, headers=signed_headers(big))
    assert response.status_code == 413
    assert response.get_json()["error"] == "payload_too_large"
    _nothing_stored_or_processed(app)


def test_malformed_json_from_authenticated_sender_is_quarantined(app: Flask, client: FlaskClient) -> None:
    broken = b'{"webhookEvent": "jira:issue_updated", "issue": {'
    response = client.post("/webhooks/jira", data=broken, headers=signed_headers(broken))
    assert response.status_code == 400
    body = response.get_json()
    assert body["error"] == "malformed_payload" and "inbox show" in body["hint"]
    (row,) = delivery_rows(_engine(app))
    assert (row.state, row.body, row.id) == ("quarantined", broken, body["delivery_id"])
    drain(app)
    assert transition_set(_engine(app)) == set()
    assert delivery_rows(_engine(app))[0].state == "quarantined"


@pytest.mark.parametrize(
    "body",
    [
        b'{"n": NaN, "i": Infinity}',  # the standard library's extensions
        b'{"big": 123456789012345678901234567890}',  # beyond 64 bits
        b'{"a": 1, "a": 2}',
        rb'{"s": "caf\u00e9 \u2192 \ud83d\ude00"}',  # escapes, a surrogate pair
        b'  {"padded": true}  ',
    ],
)
def test_body_parser_accepts_exactly_what_the_standard_library_accepts(body: bytes) -> None:
    from baton.store.delivery_row import parse_body

    parsed, expected = parse_body(body), json.loads(body)
    assert list(parsed) == list(expected)
    if body.startswith(b'{"n"'):  # NaN != NaN
        assert repr(parsed) == repr(expected)
    elif b"big" in body:  # orjson reads integers beyond 64 bits as floats: same decision, no ids
        assert parsed["big"] == float(expected["big"])
    else:
        assert parsed == expected


@pytest.mark.parametrize("body", [b"{", b"[1]", b'{"a": 1,}', b"\xff\xfe{}", b"", b"null"])
def test_body_parser_refuses_what_the_standard_library_refuses(body: bytes) -> None:
    from baton.store.delivery_row import NotJson, parse_body

    with pytest.raises(NotJson):
        parse_body(body)


def test_json_that_is_not_an_object_is_quarantined(app: Flask, client: FlaskClient) -> None:
    response = client.post("/webhooks/jira", data=b"[1, 2]", headers=signed_headers(b"[1, 2]"))
    assert response.status_code == 400
    assert delivery_rows(_engine(app))[0].state == "quarantined"


def test_malformed_json_from_unauthenticated_sender_is_not_kept(app: Flask, client: FlaskClient) -> None:
    response = client.post("/webhooks/jira", data=b"{nope", headers={"Content-Type": JSON})
    assert response.status_code == 401
    assert delivery_count(_engine(app)) == 0


def test_duplicates_are_acknowledged_and_stored_once(app: Flask, client: FlaskClient) -> None:
    first = client.post("/webhooks/jira", data=ONE.body, headers=ONE.headers())
    retry = client.post(
        "/webhooks/jira", data=ONE.body, headers={**ONE.headers(), "X-Atlassian-Webhook-Retry": "1"}
    )
    assert first.status_code == 202 and first.data == b""
    assert retry.status_code == 200 and retry.data == b""
    assert retry.headers["Baton-Delivery-Id"] == first.headers["Baton-Delivery-Id"]
    # Jira DC sends no identifier: the same change (event + issue + changelog id) is the same delivery
    plain = signed_headers(ONE.body)
    assert client.post("/webhooks/jira", data=ONE.body, headers=plain).status_code == 202
    assert client.post("/webhooks/jira", data=ONE.body, headers=plain).status_code == 200  # duplicate
    assert delivery_count(_engine(app)) == 2
    drain(app)
    assert len(transition_set(_engine(app))) == 1  # one change, however often it arrived


def test_per_site_secret_and_url_token(app: Flask, client: FlaskClient) -> None:
    from baton.store.inbox import ensure_site

    with Session(_engine(app)) as session:
        ensure_site(session, "cloud", webhook_secret="cloud-secret")
        ensure_site(session, "dc", webhook_token="dc-token-123")
        session.commit()
    body = ONE.body
    assert client.post("/webhooks/jira/cloud", data=body, headers=signed_headers(body)).status_code == 401
    ok = client.post("/webhooks/jira/cloud", data=body, headers=signed_headers(body, "cloud-secret"))
    assert ok.status_code == 202
    plain = {"Content-Type": JSON}
    assert client.post("/webhooks/jira/dc", data=body, headers=plain).status_code == 401
    assert client.post("/webhooks/jira/dc?token=nope", data=body, headers=plain).status_code == 401
    assert client.post("/webhooks/jira/dc?token=dc-token-123", data=body, headers=plain).status_code == 202
    unknown = client.post("/webhooks/jira/nosuchsite", data=body, headers=signed_headers(body))
    assert unknown.status_code == 404 and unknown.get_json()["error"] == "unknown_site"
    assert {r.site_id for r in delivery_rows(_engine(app))} == {"cloud", "dc"}


def test_healthz_metrics_and_inbox_api(app: Flask, client: FlaskClient) -> None:
    client.post("/webhooks/jira", data=ONE.body, headers=ONE.headers())
    client.post("/webhooks/jira", data=b"{", headers=signed_headers(b"{"))
    health = client.get("/healthz")
    assert health.status_code == 200
    assert health.get_json()["database"] == "ok" and health.get_json()["inbox_backlog"] == 1
    assert health.get_json()["oldest_unprocessed_age_s"] >= 0

    assert client.get("/api/inbox").status_code == 401
    assert client.get("/api/inbox", headers={"Authorization": "Bearer wrong"}).status_code == 401
    listing = client.get("/api/inbox", headers={"Authorization": "Bearer admin-token"}).get_json()
    assert listing["counts"]["pending"] == 1 and listing["counts"]["quarantined"] == 1
    assert all("body" not in d for d in listing["deliveries"])

    drain(app)
    assert client.get("/healthz").get_json()["inbox_backlog"] == 0
    text = client.get("/metrics").get_data(as_text=True)
    assert re.search(r'baton_deliveries_total\{outcome="accepted"\} \d', text)
    assert "baton_inbox_backlog 0.0" in text
    assert "baton_processing_seconds_bucket" in text


def test_healthz_is_503_when_the_database_is_down(tmp_path: object) -> None:
    settings = Settings(database_url="postgresql://nobody@127.0.0.1:1/none", background_processing=False)
    app = create_app(settings)
    client = app.test_client()
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["database"] == "unreachable"
    body = ONE.body
    stored = client.post("/webhooks/jira", data=body, headers=signed_headers(body, None))
    assert stored.status_code == 503  # Jira retries 5xx: nothing is lost
    app.extensions["baton"].close()


def test_logs_carry_no_secrets_signatures_tokens_or_bodies(app: Flask, client: FlaskClient) -> None:
    import io
    import logging

    (handler,) = [h for h in logging.getLogger("baton").handlers if getattr(h, "_baton_json", False)]
    stream = io.StringIO()
    previous = handler.setStream(stream)  # type: ignore[attr-defined]

    from baton.store.inbox import ensure_site

    with Session(_engine(app)) as session:
        ensure_site(session, "dc", webhook_token="dc-token-xyz")
        session.commit()
    headers = ONE.headers()
    client.post("/webhooks/jira", data=ONE.body, headers=headers)
    client.post(
        "/webhooks/jira", data=ONE.body, headers={**headers, "X-Hub-Signature": sign("bad", ONE.body)}
    )
    client.post("/webhooks/jira/dc?token=dc-token-xyz", data=b"{broken", headers={"Content-Type": JSON})
    logging.getLogger("baton.test").warning(
        "careless", extra={"event": "x", "body": "BODY", "webhook_secret": "S", "token": "T", "site": "s"}
    )
    drain(app)
    handler.setStream(previous)  # type: ignore[attr-defined]
    err = stream.getvalue()
    assert "delivery_accepted" in err and "delivery_rejected" in err and "delivery_quarantined" in err
    for secret in (
        SECRET,
        headers["X-Hub-Signature"].split("=")[1],
        "dc-token-xyz",
        "In Development",
        "BODY",
    ):
        assert secret not in err
    careless = json.loads(next(line for line in err.splitlines() if '"careless"' in line))
    assert careless["site"] == "s" and not {"body", "webhook_secret", "token"} & careless.keys()
