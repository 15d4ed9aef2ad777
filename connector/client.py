"""A thin typed wrapper over atlassian-python-api's `Jira` and its HTTP session.

Why a wrapper: the library's own retry (urllib3 `Retry`) neither adds jitter to `Retry-After` nor tells
callers what went wrong in words a Jira admin can act on. Here every call goes through one `request()`:
429 and 503 (and 502/504, connection errors) are retried with tenacity, honouring `Retry-After` as a
floor under jittered exponential backoff; 401/403/404 become typed errors whose message says what to fix.
Secrets never reach a log line or an error message.
"""

from __future__ import annotations

import logging
import random
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlencode

import requests
from atlassian import Jira
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt

from baton.connector.sites import Site, redact_secrets

log = logging.getLogger(__name__)


class _RedactAuthorization(logging.Filter):
    """atlassian-python-api logs a curl line with every header at DEBUG: strip credentials from it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str) and "uthorization" in record.msg:
            record.msg = redact_secrets(record.msg, ())
        return True


logging.getLogger("atlassian.rest_client").addFilter(_RedactAuthorization())


class JiraError(Exception):
    """A Jira REST call failed; `str()` says what happened and what to do about it."""

    def __init__(self, message: str, *, status: int | None = None, method: str = "", path: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.method = method
        self.path = path


class JiraAuthError(JiraError):
    """401: the credentials are missing, wrong or expired."""


class JiraPermissionError(JiraError):
    """403: authenticated, but the account lacks a Jira permission."""


class JiraNotFound(JiraError):
    """404: the resource does not exist or the account cannot see it."""


class JiraRateLimited(JiraError):
    """429: Jira's rate limit; `retry_after` seconds from the response (None if it gave none)."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class JiraUnavailable(JiraError):
    """503/502/504 or no connection: Jira (or the network to it) is down for now."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class JiraBadRequest(JiraError):
    """400 and other 4xx: Jira rejected the request itself (bad JQL, expired page token...)."""


RETRYABLE = (JiraRateLimited, JiraUnavailable)


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a `Retry-After` header (delta-seconds or an HTTP date); None if absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if re.fullmatch(r"\d+(\.\d+)?", value):
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _jira_messages(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    if not isinstance(body, Mapping):
        return ""
    parts = [str(m) for m in body.get("errorMessages") or []]
    errors = body.get("errors")
    if isinstance(errors, Mapping):
        parts += [f"{k}: {v}" for k, v in errors.items()]
    if body.get("message"):
        parts.append(str(body["message"]))
    return "; ".join(parts)


def error_for(site: Site, method: str, path: str, response: requests.Response) -> JiraError:
    """The typed error for a failed response, with a message that says what to fix."""
    status = response.status_code
    detail = _jira_messages(response)
    said = f" Jira said: {detail}" if detail else ""
    where = f"{method} {path} on {site.url} (site '{site.name}')"
    kw: dict[str, Any] = {"status": status, "method": method, "path": path}
    if status == 401:
        fix = (
            "check the personal access token (BATON_JIRA_PAT or the sites table); it may have expired"
            if site.auth == "pat"
            else "check the OAuth access token; it may have expired"
            if site.auth == "oauth"
            else f"check that the API token belongs to {site.email} and has not been revoked "
            "(id.atlassian.com > Security > API tokens)"
        )
        err: JiraError = JiraAuthError(f"{where}: 401 Unauthorized — {fix}.{said}", **kw)
    elif status == 403:
        err = JiraPermissionError(
            f"{where}: 403 Forbidden — the account is authenticated but lacks a permission: backfill needs "
            "'Browse projects' on the configured projects, write-back needs 'Edit issues', dashboards need "
            f"permission to create and share dashboards and filters.{said}",
            **kw,
        )
    elif status == 404:
        err = JiraNotFound(
            f"{where}: 404 Not Found — the resource does not exist or the account cannot see it; check the "
            f"site URL, the issue/dashboard id and the account's project permissions.{said}",
            **kw,
        )
    elif status == 429:
        err = JiraRateLimited(
            f"{where}: 429 Too Many Requests — Jira's rate limit; retried with backoff, lower --concurrency "
            f"if it persists.{said}",
            retry_after=parse_retry_after(response.headers.get("Retry-After")),
            **kw,
        )
    elif status in (502, 503, 504):
        err = JiraUnavailable(
            f"{where}: {status} — Jira is unavailable for now; the call was retried with backoff, try again "
            f"later.{said}",
            retry_after=parse_retry_after(response.headers.get("Retry-After")),
            **kw,
        )
    else:
        err = JiraBadRequest(f"{where}: HTTP {status}.{said}", **kw)
    err.args = (site.redact(str(err)),)
    return err


@dataclass(frozen=True)
class RetryPolicy:
    """Jittered exponential backoff with `Retry-After` as a floor; at most `attempts` tries."""

    attempts: int = 8
    initial: float = 1.0
    maximum: float = 60.0
    jitter: float = 1.0
    sleep: Callable[[float], None] = time.sleep

    def wait(self, state: RetryCallState) -> float:
        backoff = min(self.maximum, self.initial * 2 ** (state.attempt_number - 1)) + random.uniform(
            0, self.jitter
        )
        exc = state.outcome.exception() if state.outcome else None
        retry_after = getattr(exc, "retry_after", None)
        if retry_after is not None:
            # Reissuing before Retry-After elapses fails again (docs/jira-connector.md): wait at least that long,
            # plus jitter so parallel workers do not come back in lockstep.
            return float(retry_after) + random.uniform(0, self.jitter)
        return float(backoff)


class JiraClient:
    """One site's REST client. Methods return decoded JSON (or None for empty bodies)."""

    def __init__(
        self,
        site: Site,
        *,
        retry: RetryPolicy | None = None,
        timeout: int = 60,
        session: requests.Session | None = None,
        pool_size: int = 8,
    ) -> None:
        self.site = site
        self.retry = retry or RetryPolicy()
        if session is None:
            session = requests.Session()
            adapter = requests.adapters.HTTPAdapter(pool_connections=pool_size, pool_maxsize=pool_size)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
        self._jira = Jira(
            **site.client_kwargs(),
            session=session,
            timeout=timeout,
            backoff_and_retry=False,
            retry_with_header=False,  # its own Retry-After retry sleeps without jitter: ours does it
            advanced_mode=True,
        )
        self.requests_sent = 0
        self.retries = 0
        self._count_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"JiraClient({self.site!r})"

    @property
    def session(self) -> requests.Session:
        return self._jira.session

    def close(self) -> None:
        self._jira.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | Sequence[tuple[str, Any]] | None = None,
        json: Any = None,
    ) -> Any:
        """Send one call with retries; raise a `JiraError` subclass on failure."""
        retrying = Retrying(
            retry=retry_if_exception_type(RETRYABLE),
            stop=stop_after_attempt(self.retry.attempts),
            wait=self.retry.wait,
            sleep=self.retry.sleep,
            reraise=True,
            before_sleep=self._before_sleep,
        )
        return retrying(self._send, method, path, params, json)

    def _before_sleep(self, state: RetryCallState) -> None:
        with self._count_lock:
            self.retries += 1
        exc = state.outcome.exception() if state.outcome else None
        log.info("retrying %s after %.1fs: %s", getattr(exc, "path", "?"), state.upcoming_sleep, exc)

    def _send(self, method: str, path: str, params: Any, body: Any) -> Any:
        with self._count_lock:
            self.requests_sent += 1
        query = urlencode(
            list(params.items()) if isinstance(params, Mapping) else list(params or ()), doseq=True
        )
        target = path.lstrip("/") + (f"?{query}" if query else "")
        try:
            response = self._jira.request(method, target, data=body, advanced_mode=True)
        except requests.Timeout:
            raise JiraUnavailable(
                f"{method} {path}: {self.site.url} did not answer in time; retried with backoff",
                method=method,
                path=path,
            ) from None
        except requests.ConnectionError as exc:
            raise JiraUnavailable(
                f"{method} {path}: cannot reach {self.site.url} ({type(exc).__name__}); check the site URL and "
                "the network; retried with backoff",
                method=method,
                path=path,
            ) from None
        if response.status_code >= 400:
            raise error_for(self.site, method, path, response)
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            return response.text


def client_for(site: Site, **kwargs: Any) -> JiraClient:
    return JiraClient(site, **kwargs)
