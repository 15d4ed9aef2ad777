"""Who may read which site's data: Forge Invocation Tokens, signed share links, local demo mode.

Every data endpoint calls `authenticate()` and reads **only** the site it returns; no request
parameter can widen that (a `?site=` is honoured only in demo mode, which serves loopback only).

| credential | where it comes from | site |
|---|---|---|
| `Authorization: Bearer <FIT>` | Forge Remote calls from the Jira Cloud app | `BATON_FORGE_SITES` maps the token's installation / cloud id |
| `X-Baton-Share: <token>` or `?share=<token>` | a share link (`baton share-link`, or printed by `baton serve --demo`) | the one site signed into the link, until it expires |
| none, demo mode | `baton serve --demo` (BATON_DEMO=1), request from and addressed to loopback | `?site=`, default `default` |

Share links are `<payload>.<mac>`: payload = base64url JSON `{"v":1,"site":..,"exp":..}`, mac =
HMAC-SHA256 over the payload with `BATON_SECRET_KEY` (compared in constant time). Without a
configured key a random one is made per process: links then stop working on restart.

Settings (environment):

| variable | meaning |
|---|---|
| `BATON_SECRET_KEY` | HMAC key of share links (at least 32 characters in production) |
| `BATON_FORGE_APP_ID` | the Forge app id, `ari:cloud:ecosystem::app/<uuid>` (`app.id` of plugin/manifest.yml) |
| `BATON_FORGE_JWKS_URL` | JWKS of Forge Invocation Tokens (default Atlassian's) |
| `BATON_FORGE_SITES` | `<cloudId or installationId>=<site>,...` |
| `BATON_FRAME_ANCESTORS` | extra origins allowed to frame the gadget pages (Jira Data Center), space separated |
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
import logging
import secrets
import time
from dataclasses import dataclass
from typing import Any, Literal

from flask import Flask, Request, Response, current_app

from baton.connector.forge import (
    ForgeAuthError,
    ForgeVerifier,
    SiteResolver,
    bearer_token,
    verifier_from_settings,
)
from baton.webhooks.http.errors import Forbidden, ServiceError, Unauthorized, Unavailable
from baton.webhooks.http.gadget_registry import GADGET_NAMES
from baton.webhooks.settings import Settings

log = logging.getLogger("baton.webhooks.auth")

SHARE_HEADER = "X-Baton-Share"
SHARE_PARAM = "share"
DEFAULT_SHARE_TTL_S = 7 * 24 * 3600
DEFAULT_SITE = "default"
JIRA_FRAME_ANCESTORS = ("https://*.atlassian.net", "https://*.jira.com", "https://*.atlassian.com")

Method = Literal["forge", "share", "demo"]


class AuthError(Unauthorized):
    """No or bad credential: 401 through the app's error table (`baton.webhooks.http.errors`)."""

    hint = (
        "open the gadget from Jira, or use a share link from `baton share-link` "
        "(run `baton serve --demo` for a local demo)"
    )


_FORGE_FAILURE: dict[int, type[ServiceError]] = {401: AuthError, 403: Forbidden, 503: Unavailable}
"""A Forge verification failure's status -> the error the API answers with."""

SECRET_KEY_MISSING = "set BATON_SECRET_KEY to the server's key (a link signed with another key is refused)"


@dataclass(frozen=True, slots=True)
class Principal:
    site: str
    method: Method
    site_url: str | None = None
    """Jira base URL known from the credential (Forge `context.siteUrl`)."""
    account: str | None = None
    """The Atlassian account id of the user (Forge `principal`); None for share links and demo mode,
    which only read."""


# --- share links ---------------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: bytes, payload: str) -> str:
    return _b64(hmac.new(secret, b"baton-share.v1." + payload.encode("ascii"), hashlib.sha256).digest())


def make_share_token(
    secret: bytes, site: str, ttl_s: int = DEFAULT_SHARE_TTL_S, now: float | None = None
) -> str:
    if not site:
        raise ValueError("a share link needs a site")
    if ttl_s <= 0:
        raise ValueError("a share link needs a positive lifetime")
    exp = int((time.time() if now is None else now) + ttl_s)
    payload = _b64(json.dumps({"v": 1, "site": site, "exp": exp}, separators=(",", ":")).encode())
    return f"{payload}.{_mac(secret, payload)}"


def verify_share_token(secret: bytes, token: str, now: float | None = None) -> str:
    """The site of a valid, unexpired share token; AuthError otherwise."""
    payload, sep, mac = (token or "").strip().partition(".")
    # A share token is base64url text: anything else (e.g. `é.é`) is refused before it is encoded.
    if not sep or not payload or not mac or len(token) > 2048 or not token.isascii():
        raise AuthError("share link is malformed")
    if not hmac.compare_digest(_mac(secret, payload).encode(), mac.encode()):
        raise AuthError("share link signature does not match (wrong server key, or the link was altered)")
    try:
        claims = json.loads(_unb64(payload))
    except (ValueError, UnicodeDecodeError) as exc:
        raise AuthError("share link payload is unreadable") from exc
    site = claims.get("site") if isinstance(claims, dict) else None
    if not isinstance(site, str) or claims.get("v") != 1:
        raise AuthError("share link payload is not a Baton share link")
    exp = claims.get("exp")
    if not isinstance(exp, int) or exp <= (time.time() if now is None else now):
        raise AuthError("share link has expired", hint="ask for a new link (`baton share-link`)")
    return site


def token_matches(admin_token: str | None, given: str) -> bool:
    """Constant-time comparison of an admin token (hashed first, so not even its length leaks);
    False when no admin token is configured."""
    if not admin_token:
        return False
    return hmac.compare_digest(
        hashlib.sha256(given.encode()).digest(), hashlib.sha256(admin_token.encode()).digest()
    )


def secret_key(app: Flask | None = None) -> bytes:
    """The share-link key: BATON_SECRET_KEY, else a random per-process key (logged once)."""
    app = app or current_app
    key = _settings(app).secret("secret_key")
    if key:
        return key.encode()
    generated = app.config.get("_BATON_GENERATED_KEY")
    if generated is None:
        generated = secrets.token_bytes(32)
        app.config["_BATON_GENERATED_KEY"] = generated
        log.warning(
            "BATON_SECRET_KEY is not set: share links are signed with a random key and stop working on restart",
            extra={"event": "ephemeral_secret_key"},
        )
    return bytes(generated)


def share_link(
    app: Flask, base_url: str, site: str, ttl_s: int = DEFAULT_SHARE_TTL_S, path: str = "/"
) -> str:
    """A ready-to-open URL of the standalone view (or one gadget page) for one site."""
    token = make_share_token(secret_key(app), site, ttl_s)
    return f"{base_url.rstrip('/')}{path}?{SHARE_PARAM}={token}"


# --- request authentication ----------------------------------------------------------------------


def _is_loopback_host(host: str | None) -> bool:
    if not host:
        return False
    name = host.rsplit(":", 1)[0] if not host.startswith("[") else host[1:].split("]", 1)[0]
    if name.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _settings(app: Flask) -> Settings:
    """The app's settings (`create_app`); an app built without them reads the environment once."""
    baton = app.extensions.get("baton")
    settings = getattr(baton, "settings", None)
    if settings is None:
        settings = app.extensions.setdefault("baton_settings", Settings.from_env())
    return settings  # type: ignore[no-any-return]


def demo_enabled(app: Flask) -> bool:
    return _settings(app).demo


def _forge(app: Flask) -> tuple[ForgeVerifier | None, SiteResolver]:
    settings = _settings(app)
    verifier = app.extensions.get("baton_forge_verifier")
    if verifier is None:
        verifier = verifier_from_settings(settings.forge_app_id, settings.forge_jwks_url)
    return verifier, SiteResolver(dict(settings.forge_sites))


def authenticate(request: Request, app: Flask | None = None) -> Principal:
    """The principal of this request, or AuthError. The credential alone decides the site."""
    app = app or current_app
    token = bearer_token(request.headers.get("Authorization"))
    if token is not None:
        verifier, resolver = _forge(app)
        if verifier is None:
            raise AuthError(
                "Forge calls are not enabled on this server", hint="set BATON_FORGE_APP_ID (docs/plugin.md)"
            )
        try:
            invocation = verifier.verify(token)
            site = resolver.site_for(invocation)
        except ForgeAuthError as exc:
            raise _FORGE_FAILURE.get(exc.status, AuthError)(
                str(exc),
                hint=(
                    "Baton cannot reach Forge's key server: check outbound HTTPS to BATON_FORGE_JWKS_URL, then retry"
                    if exc.status == 503
                    else "reinstall the Forge app or check BATON_FORGE_APP_ID / BATON_FORGE_SITES (docs/plugin.md)"
                ),
            ) from exc
        return Principal(
            site=site, method="forge", site_url=invocation.site_url, account=invocation.principal
        )

    share = request.headers.get(SHARE_HEADER) or request.args.get(SHARE_PARAM)
    if share:
        return Principal(site=verify_share_token(secret_key(app), share), method="share")

    if demo_enabled(app) and _is_loopback_host(request.remote_addr) and _is_loopback_host(request.host):
        site = request.args.get("site") or DEFAULT_SITE
        return Principal(site=site, method="demo")

    raise AuthError("this endpoint needs a Forge invocation token or a share link")


# --- response headers ----------------------------------------------------------------------------


def frame_ancestors(app: Flask | None = None) -> str:
    app = app or current_app
    return " ".join(("'self'", *JIRA_FRAME_ANCESTORS, *_settings(app).frame_ancestors))


def security_headers(response: Response, *, api: bool) -> Response:
    """CSP (same-origin scripts only, Jira may frame the gadgets), no sniffing, no referrer leaks."""
    csp: dict[str, Any] = {
        "default-src": "'self'",
        "script-src": "'self'",
        # Chart.js sizes its canvas with style attributes.
        "style-src": "'self' 'unsafe-inline'",
        "img-src": "'self' data:",
        "font-src": "'self'",
        "connect-src": "'self'",
        "object-src": "'none'",
        "base-uri": "'none'",
        "form-action": "'self'",
        "frame-ancestors": "'none'" if api else frame_ancestors(),
    }
    response.headers["Content-Security-Policy"] = "; ".join(f"{k} {v}" for k, v in csp.items())
    response.headers["X-Content-Type-Options"] = "nosniff"
    # Share links carry their token in the URL: never send it on to another origin.
    response.headers["Referrer-Policy"] = "no-referrer"
    if api:
        response.headers["Cache-Control"] = "no-store"
    return response


# --- `python -m baton.webhooks.http.auth`: mint a share link --------------------------------------------------


def _ttl_seconds(text: str) -> int:
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
    text = text.strip().lower()
    if text[-1:] in units:
        return int(float(text[:-1]) * units[text[-1]])
    return int(text)


def main(argv: list[str] | None = None) -> int:
    """Print a share link for one site: `python -m baton.webhooks.http.auth --site acme --base-url URL [--ttl 7d]`.

    Uses BATON_SECRET_KEY from the settings (the same key the server has)."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m baton.webhooks.http.auth", description=main.__doc__)
    parser.add_argument(
        "--site", default=DEFAULT_SITE, help="the one site the link may read (default: default)"
    )
    parser.add_argument("--base-url", default="http://127.0.0.1:8000", help="where Baton is served")
    parser.add_argument("--ttl", default="7d", help="lifetime, e.g. 12h, 7d, 4w (default 7d)")
    parser.add_argument("--gadget", choices=GADGET_NAMES, help="link one gadget")
    parser.add_argument(
        "--token-only", action="store_true", help="print only the token (for DC gadget preferences)"
    )
    args = parser.parse_args(argv)
    key = Settings.from_env().secret("secret_key")
    if not key:
        parser.error(SECRET_KEY_MISSING)
    print(share_link_text(key, args.site, args.base_url, args.ttl, args.gadget, args.token_only))
    return 0


def share_link_text(
    key: str, site: str, base_url: str, ttl: str, gadget: str | None, token_only: bool
) -> str:
    """The link (or only its token) that `baton share-link` and this module print."""
    token = make_share_token(key.encode(), site, _ttl_seconds(ttl))
    if token_only:
        return token
    path = f"/gadgets/{gadget}" if gadget else "/"
    return f"{base_url.rstrip('/')}{path}?{SHARE_PARAM}={token}"


if __name__ == "__main__":
    raise SystemExit(main())
