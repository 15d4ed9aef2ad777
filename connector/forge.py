"""Forge Invocation Token (FIT) verification and installation -> Jira site mapping.

Every call that a Forge module makes to our service through Forge Remote carries
`Authorization: Bearer <FIT>`: an RS256 JWT signed by Atlassian, whose public keys are published
as a JWKS (docs/plugin.md). We accept a call only when

- the header names RS256 (never `none`, never an HMAC algorithm: no key confusion),
- the signature verifies against a key of the configured JWKS (keys cached by `kid`),
- `iss` is `forge/invocation-token`, `aud` is our app id (`ari:cloud:ecosystem::app/<uuid>`),
- `exp`, `iat` are present and `exp` is in the future (small leeway for clock skew),
- the token names an installation (`app.installationId`) and a site (`context.cloudId`)
  that the operator mapped to a Baton site. Everything downstream is scoped to that one site,
  so a token minted for site A can never read site B.
"""

from __future__ import annotations

import hmac
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import jwt

FORGE_ISSUER = "forge/invocation-token"
DEFAULT_JWKS_URL = "https://forge.cdn.prod.atlassian-dev.net/.well-known/jwks.json"
ALLOWED_ALGORITHMS = ("RS256",)

ENV_APP_ID = "BATON_FORGE_APP_ID"
ENV_JWKS_URL = "BATON_FORGE_JWKS_URL"
ENV_SITES = "BATON_FORGE_SITES"


class ForgeAuthError(Exception):
    """The call is not authenticated (HTTP 401), not allowed for any site (HTTP 403), or cannot be
    checked now because the JWKS is unreachable (HTTP 503)."""

    def __init__(self, message: str, status: int = 401) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True)
class ForgeInvocation:
    """What a verified token tells us about the caller."""

    app_id: str
    installation_id: str | None
    cloud_id: str | None
    site_url: str | None
    api_base_url: str | None
    module_key: str | None
    environment: str | None
    principal: str | None
    claims: Mapping[str, Any] = field(repr=False, default_factory=dict)


class ForgeVerifier:
    """Verifies Forge Invocation Tokens against a JWKS whose keys are fetched once and cached."""

    def __init__(
        self,
        app_id: str,
        jwks_url: str = DEFAULT_JWKS_URL,
        *,
        leeway_s: int = 10,
        cache_lifespan_s: int = 3600,
        timeout_s: int = 5,
        jwk_client: jwt.PyJWKClient | None = None,
    ) -> None:
        if not app_id or not app_id.startswith("ari:cloud:ecosystem::app/"):
            raise ValueError(
                f"Forge app id must look like ari:cloud:ecosystem::app/<uuid> (got {app_id!r}); "
                f"set {ENV_APP_ID} to the `app.id` of plugin/manifest.yml"
            )
        self.app_id = app_id
        self.jwks_url = jwks_url
        self.leeway_s = leeway_s
        self._client = jwk_client or jwt.PyJWKClient(
            jwks_url, cache_keys=True, lifespan=cache_lifespan_s, timeout=timeout_s
        )

    def verify(self, token: str) -> ForgeInvocation:
        if not token or token.count(".") != 2:
            raise ForgeAuthError("Forge invocation token is missing or malformed")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise ForgeAuthError(f"Forge invocation token header is unreadable: {exc}") from exc
        alg = header.get("alg")
        if alg not in ALLOWED_ALGORITHMS:
            raise ForgeAuthError(f"Forge invocation token must be signed with RS256, not {alg!r}")
        if not header.get("kid"):
            raise ForgeAuthError("Forge invocation token has no key id (kid)")
        try:
            signing_key = self._client.get_signing_key_from_jwt(token)
        except jwt.PyJWKClientConnectionError as exc:
            raise ForgeAuthError(
                f"cannot fetch Forge's signing keys from {self.jwks_url}: {exc}", status=503
            ) from exc
        except jwt.PyJWKClientError as exc:
            raise ForgeAuthError(f"no Forge signing key for this token: {exc}") from exc
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                signing_key.key,
                algorithms=list(ALLOWED_ALGORITHMS),
                audience=self.app_id,
                issuer=FORGE_ISSUER,
                leeway=self.leeway_s,
                options={"require": ["exp", "iat", "iss", "aud"], "verify_signature": True},
            )
        except jwt.ExpiredSignatureError as exc:
            raise ForgeAuthError("Forge invocation token has expired") from exc
        except jwt.InvalidAudienceError as exc:
            raise ForgeAuthError("Forge invocation token was issued for another app") from exc
        except jwt.InvalidIssuerError as exc:
            raise ForgeAuthError("Forge invocation token has the wrong issuer") from exc
        except jwt.PyJWTError as exc:
            raise ForgeAuthError(f"Forge invocation token rejected: {exc}") from exc
        return _invocation(claims, self.app_id)


def _claim_object(parent: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    """`parent[key]` if it is an object; empty otherwise, so a claim of the wrong shape reads as absent."""
    value = parent.get(key)
    return value if isinstance(value, Mapping) else {}


def _invocation(claims: Mapping[str, Any], app_id: str) -> ForgeInvocation:
    app = _claim_object(claims, "app")
    context = _claim_object(claims, "context")
    claimed_app = app.get("id")
    if claimed_app is not None and not hmac.compare_digest(str(claimed_app), app_id):
        raise ForgeAuthError("Forge invocation token names another app in app.id")
    installation = app.get("installationId")
    if installation is None:
        installation = _claim_object(app, "installation").get("id")
    module = _claim_object(app, "module")
    environment = _claim_object(app, "environment")
    principal = claims.get("principal")
    if isinstance(principal, Mapping):
        principal = principal.get("accountId")
    return ForgeInvocation(
        app_id=app_id,
        installation_id=str(installation) if installation else None,
        cloud_id=str(context["cloudId"]) if context.get("cloudId") else None,
        site_url=context.get("siteUrl"),
        api_base_url=app.get("apiBaseUrl"),
        module_key=module.get("key"),
        environment=environment.get("type"),
        principal=str(principal) if principal else None,
        claims=dict(claims),
    )


def parse_site_map(text: str | None) -> dict[str, str]:
    """`"<cloudId or installation id>=<site>,..."` -> mapping (whitespace and empty items ignored)."""
    mapping: dict[str, str] = {}
    for item in (text or "").replace(";", ",").split(","):
        item = item.strip()
        if not item:
            continue
        key, sep, site = item.partition("=")
        if not sep or not key.strip() or not site.strip():
            raise ValueError(f"{ENV_SITES}: expected '<cloudId or installationId>=<site>', got {item!r}")
        mapping[key.strip()] = site.strip()
    return mapping


class SiteResolver:
    """Maps a verified invocation to the one Baton site it may read.

    The installation id wins over the cloud id (an installation belongs to exactly one site); both
    must agree when both are mapped, so a token cannot borrow another site's mapping.
    """

    def __init__(self, mapping: Mapping[str, str]) -> None:
        self._mapping = dict(mapping)

    def site_for(self, invocation: ForgeInvocation) -> str:
        by_install = self._mapping.get(invocation.installation_id or "")
        by_cloud = self._mapping.get(invocation.cloud_id or "")
        if by_install and by_cloud and by_install != by_cloud:
            raise ForgeAuthError("installation and cloud id map to different sites", status=403)
        site = by_install or by_cloud
        if not site:
            raise ForgeAuthError(
                f"this Jira site (cloudId {invocation.cloud_id}, installation {invocation.installation_id}) "
                f"is not connected to Baton; add it to {ENV_SITES}",
                status=403,
            )
        return site


class _Cached:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.value: ForgeVerifier | None = None
        self.key: tuple[str, str] | None = None
        self.built_at = 0.0


_cache = _Cached()


def verifier_from_settings(app_id: str | None, jwks_url: str = DEFAULT_JWKS_URL) -> ForgeVerifier | None:
    """The process-wide verifier for app `app_id` (BATON_FORGE_APP_ID, read by the settings; None: off)."""
    app_id = (app_id or "").strip()
    jwks_url = (jwks_url or DEFAULT_JWKS_URL).strip()
    if not app_id:
        return None
    key = (app_id, jwks_url)
    with _cache.lock:
        if _cache.value is None or _cache.key != key:
            _cache.value = ForgeVerifier(app_id, jwks_url)
            _cache.key = key
            _cache.built_at = time.monotonic()
        return _cache.value


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header (scheme case-insensitive)."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()
