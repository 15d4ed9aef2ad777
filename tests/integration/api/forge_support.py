"""Forge test helpers: the app id, sites, a JWKS endpoint on 127.0.0.1 and token minting."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

APP_ID = f"ari:cloud:ecosystem::app/{uuid.UUID(int=0x1234)}"
CLOUD_A = "11111111-aaaa-4aaa-8aaa-111111111111"
CLOUD_B = "22222222-bbbb-4bbb-8bbb-222222222222"
INSTALL_A = "ari:cloud:ecosystem::installation/aaaaaaaa-0000-4000-8000-000000000001"
INSTALL_B = "ari:cloud:ecosystem::installation/bbbbbbbb-0000-4000-8000-000000000002"
SITE_MAP = f"{INSTALL_A}=acme,{CLOUD_B}=globex"


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


def start_jwks(key: rsa.RSAPrivateKey, kid: str = "test-key-1") -> tuple[Jwks, Callable[[], None]]:
    """Serve the public half of `key` as a JWKS on 127.0.0.1; returns it and a stop function."""
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
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

    def stop() -> None:
        server.shutdown()
        server.server_close()

    return Jwks(f"http://127.0.0.1:{server.server_address[1]}/.well-known/jwks.json", key, kid, hits), stop
