"""Forge Invocation Token verification (connector.forge) and per-site isolation through the API.

Keys are generated here; the JWKS is served from 127.0.0.1; nothing talks to Atlassian."""

from __future__ import annotations

import base64
import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from baton.connector.forge import ForgeAuthError, ForgeVerifier, SiteResolver, bearer_token, parse_site_map
from tests.integration.api.forge_support import (
    APP_ID,
    CLOUD_A,
    CLOUD_B,
    INSTALL_A,
    INSTALL_B,
    Jwks,
    forge_token,
)


def _verifier(jwks: Jwks) -> ForgeVerifier:
    return ForgeVerifier(APP_ID, jwks.url)


def test_valid_token_is_accepted_and_describes_the_installation(jwks: Jwks) -> None:
    inv = _verifier(jwks).verify(jwks.token())
    assert inv.app_id == APP_ID
    assert inv.installation_id == INSTALL_A
    assert inv.cloud_id == CLOUD_A
    assert inv.module_key == "baton-scorecard"
    assert inv.environment == "DEVELOPMENT"


def test_installation_id_may_be_nested(jwks: Jwks) -> None:
    token = forge_token(
        jwks.key,
        jwks.kid,
        app={"id": APP_ID, "installation": {"id": INSTALL_B}},
        context={"cloudId": CLOUD_B},
    )
    inv = _verifier(jwks).verify(token)
    assert (inv.installation_id, inv.cloud_id) == (INSTALL_B, CLOUD_B)


def test_keys_are_cached(jwks: Jwks) -> None:
    verifier = _verifier(jwks)
    before = len(jwks.hits)
    for _ in range(5):
        verifier.verify(jwks.token())
    assert len(jwks.hits) - before == 1


@pytest.mark.parametrize(
    ("claims", "message"),
    [
        ({"exp": int(time.time()) - 120, "iat": int(time.time()) - 180}, "expired"),
        ({"aud": "ari:cloud:ecosystem::app/ffffffff-ffff-4fff-8fff-ffffffffffff"}, "another app"),
        ({"iss": "someone-else"}, "issuer"),
        ({"exp": None}, "exp"),
        ({"iat": None}, "iat"),
        ({"aud": None}, "aud"),
    ],
    ids=["expired", "wrong-audience", "wrong-issuer", "no-exp", "no-iat", "no-aud"],
)
def test_bad_claims_are_rejected(jwks: Jwks, claims: dict, message: str) -> None:
    with pytest.raises(ForgeAuthError, match=message) as err:
        _verifier(jwks).verify(jwks.token(**claims))
    assert err.value.status == 401


def test_app_id_claim_must_match_the_audience(jwks: Jwks) -> None:
    token = jwks.token(app={"id": "ari:cloud:ecosystem::app/other", "installationId": INSTALL_A})
    with pytest.raises(ForgeAuthError, match=r"app\.id"):
        _verifier(jwks).verify(token)


def test_token_signed_by_another_key_is_rejected(jwks: Jwks) -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(ForgeAuthError, match="rejected"):
        _verifier(jwks).verify(forge_token(other, jwks.kid))


def test_unknown_kid_is_rejected(jwks: Jwks) -> None:
    with pytest.raises(ForgeAuthError, match="signing key"):
        _verifier(jwks).verify(forge_token(jwks.key, "not-published"))


def _b64(obj: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()


def test_alg_none_is_rejected(jwks: Jwks) -> None:
    good = jwt.decode(jwks.token(), options={"verify_signature": False})
    token = f"{_b64({'alg': 'none', 'typ': 'JWT', 'kid': jwks.kid})}.{_b64(good)}."
    with pytest.raises(ForgeAuthError, match="RS256"):
        _verifier(jwks).verify(token)


def test_hs256_with_the_public_key_as_secret_is_rejected(jwks: Jwks) -> None:
    """Algorithm confusion: an HMAC token keyed with the (public) RSA key must never verify."""
    pem = jwks.key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    good = jwt.decode(jwks.token(), options={"verify_signature": False})
    import hashlib
    import hmac

    signing_input = f"{_b64({'alg': 'HS256', 'typ': 'JWT', 'kid': jwks.kid})}.{_b64(good)}"
    sig = base64.urlsafe_b64encode(hmac.new(pem, signing_input.encode(), hashlib.sha256).digest()).rstrip(
        b"="
    )
    with pytest.raises(ForgeAuthError, match="RS256"):
        _verifier(jwks).verify(f"{signing_input}.{sig.decode()}")


@pytest.mark.parametrize("token", ["", "abc", "a.b", "a.b.c", "...."])
def test_malformed_tokens_are_rejected(jwks: Jwks, token: str) -> None:
    with pytest.raises(ForgeAuthError):
        _verifier(jwks).verify(token)


def test_app_id_must_be_an_app_ari() -> None:
    with pytest.raises(ValueError, match="ari:cloud:ecosystem::app/"):
        ForgeVerifier("my-app")


def test_site_resolution() -> None:
    resolver = SiteResolver(parse_site_map(f" {INSTALL_A}=acme ; {CLOUD_B}=globex,"))
    from baton.connector.forge import ForgeInvocation

    def inv(install: str | None, cloud: str | None) -> ForgeInvocation:
        return ForgeInvocation(APP_ID, install, cloud, None, None, None, None, None)

    assert resolver.site_for(inv(INSTALL_A, CLOUD_A)) == "acme"
    assert resolver.site_for(inv(INSTALL_B, CLOUD_B)) == "globex"
    # an installation of site A claiming site B's cloud id: refused
    with pytest.raises(ForgeAuthError) as err:
        resolver.site_for(inv(INSTALL_A, CLOUD_B))
    assert err.value.status == 403
    with pytest.raises(ForgeAuthError, match="not connected") as err:
        resolver.site_for(
            inv("ari:cloud:ecosystem::installation/unknown", "33333333-0000-4000-8000-000000000000")
        )
    assert err.value.status == 403
    with pytest.raises(ValueError):
        parse_site_map("no-equals-sign")


def test_bearer_token_parsing() -> None:
    assert bearer_token("Bearer abc.def.ghi") == "abc.def.ghi"
    assert bearer_token("bearer  x ") == "x"
    assert bearer_token("Basic xyz") is None
    assert bearer_token(None) is None
    assert bearer_token("Bearer ") is None


# --- through the HTTP API ------------------------------------------------------------------------


def _get(client, path: str, token: str | None = None, **kw):
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return client.get(path, headers=headers, **kw)


def test_api_serves_the_sites_of_their_own_tokens_only(make_app, jwks: Jwks, seeded_db) -> None:
    seeded = seeded_db[1]
    client = make_app().test_client()
    a = _get(client, "/api/v1/requests?limit=1000", jwks.token())
    b = _get(client, "/api/v1/requests?limit=1000", jwks.token(installation=INSTALL_B, cloud_id=CLOUD_B))
    assert a.status_code == b.status_code == 200
    assert a.get_json()["site"] == "acme" and b.get_json()["site"] == "globex"
    keys_a = {(r["site"], r["issue"]) for r in a.get_json()["requests"]}
    keys_b = {(r["site"], r["issue"]) for r in b.get_json()["requests"]}
    assert {s for s, _ in keys_a} == {"acme"} and {s for s, _ in keys_b} == {"globex"}
    assert a.get_json()["count"] == seeded.requests_a
    assert b.get_json()["count"] == seeded.requests_b
    # links point at the token's own Jira site
    assert all(
        r["issue_url"].startswith("https://1111.atlassian.net/browse/") for r in a.get_json()["requests"]
    )


def test_a_site_parameter_cannot_widen_a_forge_token(make_app, jwks: Jwks) -> None:
    client = make_app(demo=True).test_client()
    resp = _get(client, "/api/v1/scorecards?site=globex", jwks.token())
    assert resp.status_code == 200
    assert resp.get_json()["site"] == "acme"


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/teams",
        "/api/v1/scorecards",
        "/api/v1/requests",
        "/api/v1/handoffs/matrix",
        "/api/v1/handoffs/unmapped",
    ],
)
def test_every_endpoint_rejects_bad_tokens(make_app, jwks: Jwks, path: str) -> None:
    client = make_app().test_client()
    assert _get(client, path, jwks.token()).status_code == 200
    expired = jwks.token(exp=int(time.time()) - 300, iat=int(time.time()) - 400)
    for token in (expired, jwks.token(aud="ari:cloud:ecosystem::app/x"), jwks.token(iss="x"), "garbage"):
        resp = _get(client, path, token)
        assert resp.status_code == 401, (path, token[:20])
        body = resp.get_json()
        assert body["error"] == "unauthorized" and body["hint"]
        assert resp.headers["WWW-Authenticate"].startswith("Bearer")
    assert _get(client, path).status_code == 401


def test_token_of_an_unconnected_site_is_forbidden(make_app, jwks: Jwks) -> None:
    client = make_app().test_client()
    token = jwks.token(installation=INSTALL_B, cloud_id="99999999-0000-4000-8000-000000000000")
    resp = _get(client, "/api/v1/teams", token)
    assert resp.status_code == 403
    assert "not connected" in resp.get_json()["message"]


def test_forge_calls_without_configured_app_id_are_refused(make_app, jwks: Jwks, monkeypatch) -> None:
    monkeypatch.delenv("BATON_FORGE_APP_ID", raising=False)
    client = make_app(BATON_FORGE_APP_ID="").test_client()
    resp = _get(client, "/api/v1/teams", jwks.token())
    assert resp.status_code == 401
    assert "BATON_FORGE_APP_ID" in resp.get_json()["hint"]


def test_unreachable_jwks_is_a_503_not_a_401(make_app, jwks: Jwks) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    dead = f"http://127.0.0.1:{closed_port}/.well-known/jwks.json"
    with pytest.raises(ForgeAuthError) as err:
        ForgeVerifier(APP_ID, dead, timeout_s=2).verify(jwks.token())
    assert err.value.status == 503
    client = make_app(BATON_FORGE_JWKS_URL=dead).test_client()
    resp = _get(client, "/api/v1/teams", jwks.token())
    assert resp.status_code == 503
    assert resp.get_json()["error"] == "unavailable" and "BATON_FORGE_JWKS_URL" in resp.get_json()["hint"]
