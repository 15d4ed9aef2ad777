"""Checks that a webhook delivery really comes from the Jira site it claims to come from.

Jira signs admin webhooks that have a secret: `X-Hub-Signature: <method>=<hex>`, an HMAC over the
raw body keyed by the secret (docs/operations.md). Atlassian warns the method may change, so the
method is parsed, not assumed. Jira Data Center setups without a secret can put a per-site token in
the webhook URL instead (`?token=...`). Every comparison runs in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass

SIGNATURE_HEADER = "X-Hub-Signature"

_METHODS: dict[str, Callable[[], hashlib._Hash]] = {"sha256": hashlib.sha256}
"""Supported HMAC methods. Add `sha512` here the day Jira starts sending it."""


class SignatureError(Exception):
    """The delivery could not be authenticated. `reason` is safe to show to the sender."""

    code = "invalid_signature"

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class MissingSignature(SignatureError):
    code = "missing_signature"


class UnsupportedSignatureMethod(SignatureError):
    code = "unsupported_signature_method"


class InvalidToken(SignatureError):
    code = "invalid_token"


@dataclass(frozen=True, slots=True)
class Signature:
    method: str
    digest: str
    """Lower-case hex."""


def parse_signature(header: str | None) -> Signature:
    """Parse `sha256=<hex>`; raise a SignatureError that says what is wrong with it."""
    if header is None or not header.strip():
        raise MissingSignature(
            f"the {SIGNATURE_HEADER} header is missing; this site has a webhook secret, so Jira must "
            "sign deliveries: set the same secret on the Jira webhook"
        )
    method, sep, digest = header.strip().partition("=")
    method = method.strip().lower()
    if not sep or not method or not digest.strip():
        raise SignatureError(f"the {SIGNATURE_HEADER} header must look like 'sha256=<hex digest>'")
    if method not in _METHODS:
        supported = ", ".join(sorted(_METHODS))
        raise UnsupportedSignatureMethod(
            f"signature method '{method[:20]}' is not supported (supported: {supported}); "
            "upgrade Baton or re-create the webhook with a supported method"
        )
    return Signature(method=method, digest=digest.strip().lower())


def sign(secret: str | bytes, body: bytes, method: str = "sha256") -> str:
    """The header value Jira would send for `body`: `sha256=<hex>`. Used by tests and benchmarks."""
    key = secret.encode() if isinstance(secret, str) else secret
    return f"{method}={hmac.new(key, body, _METHODS[method]).hexdigest()}"


def verify_signature(secret: str | bytes, body: bytes, header: str | None) -> None:
    """Raise SignatureError unless `header` is a valid HMAC of the raw `body` under `secret`."""
    signature = parse_signature(header)
    key = secret.encode() if isinstance(secret, str) else secret
    expected = hmac.new(key, body, _METHODS[signature.method]).hexdigest()
    if not hmac.compare_digest(expected.encode(), signature.digest.encode()):
        raise SignatureError(
            "the signature does not match the body; check that the Jira webhook's secret equals "
            "this site's secret (BATON_WEBHOOK_SECRET or the site's webhook_secret)"
        )


def verify_token(expected: str, given: str | None) -> None:
    """Raise InvalidToken unless the URL token equals the site's token (constant time)."""
    if not given:
        raise InvalidToken(
            "the ?token= query parameter is missing; this site authenticates Jira by a token in "
            "the webhook URL"
        )
    if not hmac.compare_digest(expected.encode(), given.encode()):
        raise InvalidToken(
            "the ?token= in the webhook URL is wrong; copy the site's token into the Jira webhook URL"
        )
