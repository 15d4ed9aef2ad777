"""Fixtures for the JSON API tests: a seeded two-site database, an app on it, a local JWKS server."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.integration.api.seeding import Seeded, seed

APP_ID = f"ari:cloud:ecosystem::app/{uuid.UUID(int=0x1234)}"
CLOUD_A = "11111111-aaaa-4aaa-8aaa-111111111111"
CLOUD_B = "22222222-bbbb-4bbb-8bbb-222222222222"
INSTALL_A = "ari:cloud:ecosystem::installation/aaaaaaaa-0000-4000-8000-000000000001"
INSTALL_B = "ari:cloud:ecosystem::installation/bbbbbbbb-0000-4000-8000-000000000002"


@dataclass
class Jwks:
    url: str
    key: rsa.RSAPrivateKey
    kid: str
    hits: list[str]

    def token(self, **overrides: Any) -> str:
        return forge_token(self.key, self.kid, **overrides)


def forge_token(
    key: Any,
    kid: str,
    *,
    cloud_id: str = CLOUD_A,
    installation: str = INSTALL_A,
    algorithm: str = "RS256",
    **claims: Any,
) -> str:
    now = int(time.time())
    payload: dict[str, Any] = {
        "iss": "forge/invocation-token",
        "aud": APP_ID,
        "iat": now,
        "nbf": now,
        "exp": now + 25,
        "jti": str(uuid.uuid4()),
        "app": {
            "id": APP_ID,
            "installationId": installation,
            "apiBaseUrl": f"https://api.atlassian.com/ex/jira/{cloud_id}",
            "appVersion": "1.0.0",
            "environment": {"type": "DEVELOPMENT", "id": "env"},
            "module": {"type": "jira:dashboardGadget", "key": "baton-scorecard"},
        },
        "context": {"cloudId": cloud_id, "siteUrl": f"https://{cloud_id[:4]}.atlassian.net"},
        "principal": "5b10ac8d82e05b22cc7d4ef5",
    }
    payload.update(claims)
    payload = {k: v for k, v in payload.items() if v is not None}
    return jwt.encode(payload, key, algorithm=algorithm, headers={"kid": kid})


@pytest.fixture(scope="session")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="session")
def jwks(rsa_key: rsa.RSAPrivateKey) -> Iterator[Jwks]:
    """A JWKS endpoint on 127.0.0.1 publishing the public half of `rsa_key` (kid `test-key-1`)."""
    kid = "test-key-1"
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(rsa_key.public_key()))
    body = json.dumps({"keys": [{**public, "kid": kid, "alg": "RS256", "use": "sig"}]}).encode()
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Jwks(f"http://127.0.0.1:{server.server_address[1]}/.well-known/jwks.json", rsa_key, kid, hits)
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def seeded_db(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Seeded]:
    from store.db import create_engine_for, upgrade_database

    url = f"sqlite:///{tmp_path_factory.mktemp('api')}/api.db"
    upgrade_database(url)
    engine = create_engine_for(url)
    try:
        seeded = seed(engine)
    finally:
        engine.dispose()
    return url, seeded


@pytest.fixture()
def make_app(seeded_db: tuple[str, Seeded], jwks: Jwks):
    from webhooks.app import create_app
    from webhooks.settings import Settings

    url, seeded = seeded_db
    apps = []

    def make(*, demo: bool = False, **config: Any):
        app = create_app(
            Settings(
                database_url=url, config_path=str(seeded.config_path), background_processing=False, demo=demo
            )
        )
        app.config.update(
            BATON_NOW=seeded.now.isoformat(),
            BATON_SECRET_KEY="test-secret-key-that-is-long-enough-0123456789",
            BATON_FORGE_APP_ID=APP_ID,
            BATON_FORGE_JWKS_URL=jwks.url,
            BATON_FORGE_SITES=f"{INSTALL_A}=acme,{CLOUD_B}=globex",
            TESTING=True,
        )
        app.config.update(config)
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.extensions["baton"].engine.dispose()
