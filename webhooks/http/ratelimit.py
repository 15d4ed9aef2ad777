"""The service's rate limit on guessing the admin token (Flask-Limiter; docs/operations.md, "The admin
token and the admin page").

| what counts | counted per | once over the limit |
|---|---|---|
| a wrong `BATON_ADMIN_TOKEN` at any of its doors: the sign-in form (`POST /admin/login`) and `Authorization: Bearer` on `/api/v1/admin/...` and `/api/inbox` | client address, one count for the three doors (`BATON_ADMIN_TOKEN_LIMIT`, default 10 per minute, a moving window) | every request of the address through those doors is answered 429 with `Retry-After` (the sign-in form as a page saying when to try again, the APIs as JSON) until the oldest counted refusal leaves the window |

- Only refusals count: signing in, or calling with the right token, uses up nothing. Once an address is
  over, its right token is refused too until the window moves on (else guessing would go on).
- A Forge Invocation Token (a JWT that Atlassian signs) is neither counted nor refused here: it cannot
  be guessed, and the Forge calls of every site come from a few Atlassian addresses. (If the admin token
  itself had the shape of a JWT, JWT-shaped bearers would be counted too.)
- The client address is the connection's, or with `BATON_PROXY_HOPS=N` the one the N reverse proxies
  in front wrote into `X-Forwarded-For` (werkzeug's `ProxyFix`); without it, behind a proxy every
  client would share the proxy's address and one guesser would lock everybody out.
- The counts live in `BATON_RATE_LIMIT_STORAGE`: `memory://` (the default) counts per process, so
  each gunicorn worker allows the limit on its own; a shared store such as `redis://127.0.0.1:6379`
  makes one count for every worker and host (keys prefixed with `BATON_RATE_LIMIT_PREFIX`). Should the
  shared store stop answering, the limiter counts in memory (per process) until it is back and logs
  that, rather than answering 500 or letting guesses through uncounted.
"""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Flask, Response, g, jsonify, request
from flask_limiter import Limiter, RateLimitExceeded
from werkzeug.middleware.proxy_fix import ProxyFix

from baton.connector.forge import bearer_token
from baton.webhooks.settings import Settings

ADMIN_TOKEN_SCOPE = "admin-token"
EXTENSION = "baton_limiter"
_REFUSED = "baton_wrong_admin_token"


def client_address() -> str:
    """The rate limits' key: the client's address (after `ProxyFix` when BATON_PROXY_HOPS is set)."""
    return request.remote_addr or "unknown"


def refused_admin_token() -> None:
    """Count this request against its address: it offered an admin token, and it was wrong."""
    g.setdefault(_REFUSED, True)


def _counts(_response: Response) -> bool:
    return bool(g.get(_REFUSED))


def _not_a_guess(settings: Settings) -> Any:
    def exempt() -> bool:
        token = bearer_token(request.headers.get("Authorization"))
        if token is None or token.count(".") != 2:
            return False
        return (settings.secret("admin_token") or "").count(".") != 2

    return exempt


def install(app: Flask, settings: Settings) -> Limiter:
    """The app's limiter (`app.extensions["baton_limiter"]`) and its 429 answer."""
    if settings.proxy_hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.proxy_hops)  # type: ignore[method-assign]
    limiter = Limiter(
        key_func=client_address,
        app=app,
        storage_uri=settings.rate_limit_storage,
        strategy="moving-window",
        key_prefix=settings.rate_limit_prefix,
        in_memory_fallback_enabled=True,
        headers_enabled=False,
    )
    app.extensions[EXTENSION] = limiter

    @app.errorhandler(RateLimitExceeded)
    def _too_many(error: RateLimitExceeded) -> Response:
        current = limiter.current_limit
        # the moving window's reset time: when its oldest counted refusal leaves it
        reset = current.window.reset_time if current is not None else time.time() + 60
        wait = max(1, math.ceil(reset - time.time()))
        return too_many_response(wait, str(error.limit.limit))

    return limiter


def limit_admin_token(app: Flask, settings: Settings, *blueprints: Blueprint) -> None:
    """One shared count of wrong admin tokens per client address across `blueprints`."""
    limiter: Limiter = app.extensions[EXTENSION]
    shared = limiter.shared_limit(
        settings.admin_token_limit,
        scope=ADMIN_TOKEN_SCOPE,
        deduct_when=_counts,
        exempt_when=_not_a_guess(settings),
        error_message="too many wrong admin tokens",
    )
    for blueprint in blueprints:
        shared(blueprint)


def too_many_response(wait_s: int, limit: str) -> Response:
    until = datetime.fromtimestamp(time.time() + wait_s, UTC).strftime("%H:%M:%S UTC")
    message = (
        f"Too many wrong admin tokens from your address (the limit is {limit}): "
        f"try again in {wait_s} s, after {until}."
    )
    if request.path.startswith("/admin"):
        from baton.webhooks.http.admin import login_page

        response = login_page(message, 429)
    else:
        response = jsonify(
            error="rate_limited",
            message=message,
            hint="wait, then send the right BATON_ADMIN_TOKEN: every wrong one counts",
            retry_after=wait_s,
        )
        response.status_code = 429
    response.headers["Retry-After"] = str(wait_s)
    response.headers["Cache-Control"] = "no-store"
    return response
