"""Guessing the admin token is rate-limited (`webhooks/http/ratelimit.py`, Flask-Limiter), on SQLite and
PostgreSQL: per client address, wrong tokens at the sign-in form, the admin API and the inbox API share
one count; the 11th within a minute is 429 with `Retry-After` and says when to retry; right tokens
count nothing; another address is not held back; with a Redis store two app instances share the count.

Client addresses are set in the WSGI environment (loopback addresses, nothing is sent anywhere)."""

from __future__ import annotations

import os
import re
import secrets
import socket
from collections.abc import Iterator

import pytest

from tests.integration.api.admin_support import ADMIN_TOKEN, forge_headers
from tests.integration.api.forge_support import Jwks

LOGIN = "/admin/login"
STATE = "/api/v1/admin/state"
REDIS_URL = "redis://127.0.0.1:6379"
WAIT = re.compile(r"try again in (\d+) s, after \d\d:\d\d:\d\d UTC")


def _from(address: str) -> dict[str, dict[str, str]]:
    return {"environ_base": {"REMOTE_ADDR": address}}


def _retry_after(resp) -> int:
    """The 429's `Retry-After`, checked against what the page or JSON says."""
    assert resp.status_code == 429
    wait = int(resp.headers["Retry-After"])
    assert 1 <= wait <= 60  # the window is a minute; its oldest refusal is at most a minute old
    text = resp.get_data(as_text=True)
    found = WAIT.search(text)
    assert found is not None and int(found.group(1)) == wait, text
    assert resp.headers["Cache-Control"] == "no-store"
    return wait


def test_the_eleventh_wrong_sign_in_within_a_minute_is_429(make_admin_app) -> None:
    client = make_admin_app().test_client()
    guesser, admin = _from("127.0.0.2"), _from("127.0.0.3")
    for n in range(10):
        refused = client.post(LOGIN, data={"token": f"guess-{n}"}, **guesser)
        assert refused.status_code == 401, n
    limited = client.post(LOGIN, data={"token": "guess-10"}, **guesser)
    _retry_after(limited)
    page = limited.get_data(as_text=True)
    assert limited.mimetype == "text/html"
    assert "Too many wrong admin tokens from your address (the limit is 10 per 1 minute)" in page
    assert 'type="password"' in page  # the form is still shown, to use once the wait is over
    # the right token from the same address waits too (else guessing would go on) ...
    _retry_after(client.post(LOGIN, data={"token": ADMIN_TOKEN}, **guesser))
    _retry_after(client.get(LOGIN, **guesser))
    # ... from another address it signs in
    signed_in = client.post(LOGIN, data={"token": ADMIN_TOKEN}, **admin)
    assert signed_in.status_code == 303 and signed_in.headers["Set-Cookie"].startswith("baton_admin=")


def test_right_tokens_and_missing_ones_count_nothing(make_admin_app) -> None:
    app = make_admin_app()
    client, bare = app.test_client(), app.test_client(use_cookies=False)
    address = _from("127.0.0.4")
    for _ in range(15):
        assert client.post(LOGIN, data={"token": ADMIN_TOKEN}, **address).status_code == 303
        assert (
            client.get(STATE, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, **address).status_code
            == 200
        )
        assert bare.get(STATE, **address).status_code == 401  # no credential: not a guess
        assert bare.get("/api/inbox", **address).status_code == 401
    for n in range(10):  # the whole allowance is still there
        assert client.post(LOGIN, data={"token": f"guess-{n}"}, **address).status_code == 401
    _retry_after(client.post(LOGIN, data={"token": "guess-10"}, **address))


def test_wrong_bearer_tokens_share_the_count_with_the_form(make_admin_app, jwks: Jwks) -> None:
    client = make_admin_app().test_client()
    address = _from("127.0.0.5")
    wrong = {"Authorization": "Bearer not-the-admin-token"}
    for _ in range(4):
        assert client.post(LOGIN, data={"token": "guess"}, **address).status_code == 401
    for _ in range(3):
        assert client.get(STATE, headers=wrong, **address).status_code == 401
    for _ in range(3):
        assert client.get("/api/inbox", headers=wrong, **address).status_code == 401
    limited = client.get(STATE, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, **address)
    wait = _retry_after(limited)
    body = limited.get_json()
    assert (body["error"], body["retry_after"]) == ("rate_limited", wait)
    assert body["hint"] == "wait, then send the right BATON_ADMIN_TOKEN: every wrong one counts"
    _retry_after(client.get("/api/inbox", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, **address))
    _retry_after(client.post(LOGIN, data={"token": ADMIN_TOKEN}, **address))
    # a Forge Invocation Token cannot be guessed and is neither counted nor held back here
    gadget = forge_headers(jwks, {"type": "jira:dashboardGadget", "key": "baton-scorecard"})
    assert client.get(STATE, headers=gadget, **address).status_code == 403
    # other addresses go on as before
    assert (
        client.get(
            STATE, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, **_from("127.0.0.6")
        ).status_code
        == 200
    )


def test_behind_a_proxy_the_forwarded_address_counts(make_admin_app) -> None:
    proxy = _from("127.0.0.1")

    def via(client, forwarded_for: str, token: str):
        return client.post(LOGIN, data={"token": token}, headers={"X-Forwarded-For": forwarded_for}, **proxy)

    behind = make_admin_app(BATON_PROXY_HOPS="1").test_client()
    for n in range(10):
        assert via(behind, "127.0.0.7", f"guess-{n}").status_code == 401
    _retry_after(via(behind, "127.0.0.7", "guess-10"))
    assert via(behind, "127.0.0.8", ADMIN_TOKEN).status_code == 303  # another client of the same proxy
    # without BATON_PROXY_HOPS the header is not trusted: a client cannot pick a fresh address with it
    direct = make_admin_app().test_client()
    for n in range(10):
        assert via(direct, f"127.0.1.{n}", "guess").status_code == 401
    _retry_after(via(direct, "127.0.2.1", ADMIN_TOKEN))


def test_the_limit_is_a_setting(make_admin_app) -> None:
    client = make_admin_app(BATON_ADMIN_TOKEN_LIMIT="3/minute").test_client()
    for _ in range(3):
        assert client.post(LOGIN, data={"token": "guess"}, **_from("127.0.0.9")).status_code == 401
    limited = client.post(LOGIN, data={"token": "guess"}, **_from("127.0.0.9"))
    _retry_after(limited)
    assert "(the limit is 3 per 1 minute)" in limited.get_data(as_text=True)


# --- a shared store --------------------------------------------------------------------------------


def _redis_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=2):
            return True
    except OSError:
        return False


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """A key prefix of this test's own in the Redis at 127.0.0.1:6379 (other runs may share it); its
    keys are deleted afterwards. Skipped without Redis, except under CI, where it fails."""
    if not _redis_reachable():
        if os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}:
            pytest.fail("Redis is not reachable at 127.0.0.1:6379 (CI must run this test)")
        pytest.skip("Redis is not reachable at 127.0.0.1:6379")
    import redis

    prefix = f"baton-test-{os.getpid()}-{secrets.token_hex(4)}"
    yield prefix
    store = redis.Redis.from_url(REDIS_URL)
    try:
        keys = list(store.scan_iter(match=f"*{prefix}*"))
        if keys:
            store.delete(*keys)
    finally:
        store.close()


def test_with_redis_two_instances_share_the_count(make_admin_app, redis_prefix: str) -> None:
    import redis

    shared = {"BATON_RATE_LIMIT_STORAGE": REDIS_URL, "BATON_RATE_LIMIT_PREFIX": redis_prefix}
    first, second = make_admin_app(**shared).test_client(), make_admin_app(**shared).test_client()
    address = _from("127.0.0.10")
    for n in range(6):
        assert first.post(LOGIN, data={"token": f"guess-{n}"}, **address).status_code == 401
    for n in range(4):
        assert second.post(LOGIN, data={"token": f"guess-{n}"}, **address).status_code == 401
    _retry_after(first.post(LOGIN, data={"token": "guess-10"}, **address))
    _retry_after(second.post(LOGIN, data={"token": ADMIN_TOKEN}, **address))
    store = redis.Redis.from_url(REDIS_URL)
    try:
        keys = [k.decode() for k in store.scan_iter(match=f"*{redis_prefix}*")]
    finally:
        store.close()
    assert len(keys) == 1 and "127.0.0.10" in keys[0] and "admin-token" in keys[0]
    # an instance counting in memory knows nothing of it
    assert (
        make_admin_app().test_client().post(LOGIN, data={"token": ADMIN_TOKEN}, **address).status_code == 303
    )


def test_an_unreachable_store_falls_back_to_counting_in_memory(make_admin_app) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"redis://127.0.0.1:{probe.getsockname()[1]}"
    client = make_admin_app(BATON_RATE_LIMIT_STORAGE=closed).test_client()
    address = _from("127.0.0.11")
    for n in range(10):
        assert client.post(LOGIN, data={"token": f"guess-{n}"}, **address).status_code == 401
    _retry_after(client.post(LOGIN, data={"token": "guess-10"}, **address))
    assert client.post(LOGIN, data={"token": ADMIN_TOKEN}, **_from("127.0.0.12")).status_code == 303
