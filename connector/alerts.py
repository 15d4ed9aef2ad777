"""Alerts: store each crossing, then notify its targets, once per (request, state, target), ever.

One pass (`run_pass`), for every site:
1. compute: the site's open requests -> `baton.scoring.engine.alert_crossings` (request, state,
   crossed_at) -> `alert_routes` (the targets that want each one);
2. store: `baton.store.alerts.record` inserts the new ones as *pending* and commits, BEFORE anything is
   sent, so a crash after this point loses nothing;
3. send: `baton.store.alerts.claim` leases pending rows (a row is never sent by two processes at once),
   each is POSTed to its target with retries (429 and 5xx, connection errors: jittered exponential
   backoff, `Retry-After` honoured as a floor), then marked *sent*, *failed* (the target refused it:
   another 4xx) or left *pending* for the next pass (still unreachable).

A process killed between a target's 2xx and the commit of *sent* sends that alert again on a later
pass (after its lease expires): every body carries an idempotency key, stable per request and state,
for receivers that must not act twice. Nothing here runs on the webhook request path.

Bodies (`message`): Jira Automation incoming webhook `{"issues": [KEY], "data": {...}}`, Slack
`{"text": ...}`, Microsoft Teams an Adaptive Card message, generic JSON signed with HMAC-SHA256
(`X-Baton-Signature: sha256=<hex>` over the exact body bytes). URLs and secrets come from the
environment when the YAML names a variable (`url_env`, `secret_env`) and never reach a log line.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import requests
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt

from baton.config.durations import format_duration
from baton.config.schema import AlertTarget, BatonConfig
from baton.connector.client import RetryPolicy, parse_retry_after
from baton.scoring import engine as scoring_engine
from baton.store import alerts as alert_log
from baton.store.models import Site
from baton.store.requests import load_requests_frame

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Baton-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"
EVENT_HEADER = "X-Baton-Event"
AUTOMATION_TOKEN_HEADER = "X-Automation-Webhook-Token"
USER_AGENT = "Baton-Alerts/1"
DEFAULT_TIMEOUT_S = 10.0
PASS_POLICY = RetryPolicy(attempts=4, initial=1.0, maximum=30.0, jitter=0.5)
"""Tries per alert and pass; an alert still failing stays pending and is tried again next pass."""
MAX_RETRY_AFTER_S = 120.0
"""A `Retry-After` longer than this is not waited for within a pass: the alert waits for the next one."""
ADAPTIVE_CARD = "application/vnd.microsoft.card.adaptive"
STATE_WORDS = {"at_risk": "at risk", "breached": "breached"}


class SendError(Exception):
    """One failed attempt; `retry_after` from the response, `transient` whether trying again may help."""

    def __init__(self, message: str, *, transient: bool, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.transient = transient
        self.retry_after = retry_after
        self.attempts = 0
        """HTTP attempts made before giving up for this pass (set by `deliver`)."""


class TransientSendError(SendError):
    """429, 5xx, no connection, timeout: tried again (within the pass, then on the next pass)."""


@dataclass(frozen=True)
class Outcome:
    site: str
    target: str
    kind: str
    request_key: str
    issue_key: str | None
    state: str
    status: str  # sent | pending | failed
    attempts: int
    error: str | None = None


@dataclass
class PassReport:
    new: int = 0
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def sent(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == alert_log.SENT]

    @property
    def unsent(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status != alert_log.SENT]


# --- bodies -----------------------------------------------------------------------------------


def idempotency_key(site: str, request_key: str, state: str) -> str:
    """Stable per (site, request, state): the same alert carries the same key on every attempt."""
    issue_id, _, seq = request_key.partition("#")
    return f"baton:{site}:{issue_id}:{seq}:{state}"


def signature(secret: str, body: bytes) -> str:
    """`sha256=<hex>`: HMAC-SHA256 of the exact body bytes with the target's key."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def _when(iso: str | None) -> str:
    if not iso:
        return "unknown"
    return pd.Timestamp(iso).tz_convert("UTC").strftime("%Y-%m-%d %H:%M UTC")


def summary(alert: alert_log.Claimed) -> tuple[str, str]:
    """(title, one readable sentence) for chat targets."""
    d = alert.details
    key = alert.issue_key or f"issue {alert.issue_id}"
    goal = d.get("goal_s")
    goal_text = f"{format_duration(goal)} {d.get('clock')} goal" if goal else f"{d.get('clock')} goal"
    requester = d.get("requester") or "intake"
    who = f"{d.get('provider')} (from {requester}, process {d.get('process')})"
    if alert.state == "at_risk":
        threshold, share = d.get("threshold_s"), ""
        if goal and threshold is not None:
            share = f"{round(100 * threshold / goal)} % of "
        title = f"{key} is at risk"
        text = (
            f"{key} is at risk at {who}: {share}its {goal_text} used at {_when(alert.crossed_at.isoformat())}; "
            f"due {_when(d.get('due_at'))}."
        )
    else:
        title = f"{key} breached its SLA"
        text = f"{key} breached its {goal_text} at {who} at {_when(alert.crossed_at.isoformat())}."
    return title, text


def _data(alert: alert_log.Claimed, site: str, issue_url: str | None) -> dict[str, Any]:
    d = alert.details
    return {
        "idempotency_key": idempotency_key(site, alert.request_key, alert.state),
        "site": site,
        "state": alert.state,
        "crossed_at": alert.crossed_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "issue": {"id": alert.issue_id, "key": alert.issue_key, "url": issue_url},
        "request": {
            "seq": d.get("seq"),
            "process": d.get("process"),
            "provider": d.get("provider"),
            "requester": d.get("requester"),
            "kind": d.get("kind"),
            "clock": d.get("clock"),
            "goal_s": d.get("goal_s"),
            "threshold_s": d.get("threshold_s"),
            "due_at": d.get("due_at"),
        },
    }


def message(
    target: AlertTarget, alert: alert_log.Claimed, site: str, issue_url: str | None
) -> dict[str, Any]:
    """The JSON body `target` receives for `alert`."""
    if target.kind == "json":
        return {"event": f"baton.alert.{alert.state}", **_data(alert, site, issue_url)}
    if target.kind == "jira_automation":
        # Automation's "Incoming webhook" trigger runs the rule on the issues named in `issues` (keys
        # or ids) when the trigger is set to "Issues provided in the webhook HTTP POST body"; the rest
        # is {{webhookData}} to the rule's conditions and actions.
        return {"issues": [alert.issue_key or alert.issue_id], "data": _data(alert, site, issue_url)}
    title, text = summary(alert)
    if target.kind == "slack":
        # Slack reads &, < and > as markup: escaped in the sentence, used for the link
        text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        link = f"<{issue_url}|{alert.issue_key}>" if issue_url and alert.issue_key else None
        return {"text": f"{text} {link}" if link else text}
    card: dict[str, Any] = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": [
            {"type": "TextBlock", "text": title, "weight": "Bolder", "size": "Medium", "wrap": True},
            {"type": "TextBlock", "text": text, "wrap": True},
        ],
    }
    if issue_url:
        card["actions"] = [{"type": "Action.OpenUrl", "title": f"Open {alert.issue_key}", "url": issue_url}]
    return {
        "type": "message",
        "attachments": [{"contentType": ADAPTIVE_CARD, "contentUrl": None, "content": card}],
    }


def encode(body: Mapping[str, Any]) -> bytes:
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def request_for(
    target: AlertTarget,
    alert: alert_log.Claimed,
    site: str,
    issue_url: str | None,
    secrets: Mapping[str, str],
) -> tuple[bytes, dict[str, str]]:
    """(body bytes, headers) for one attempt; raises SendError when a secret variable is unset."""
    body = encode(message(target, alert, site, issue_url))
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": USER_AGENT,
        IDEMPOTENCY_HEADER: idempotency_key(site, alert.request_key, alert.state),
        EVENT_HEADER: f"alert.{alert.state}",
    }
    if target.secret_env is not None:
        secret = secrets.get(target.secret_env)
        if not secret:
            raise TransientSendError(
                f"{target.secret_env} is not set: the target's secret is missing", transient=True
            )
        if target.kind == "json":
            headers[SIGNATURE_HEADER] = signature(secret, body)
        elif target.kind == "jira_automation":
            headers[AUTOMATION_TOKEN_HEADER] = secret
    return body, headers


def url_of(target: AlertTarget, secrets: Mapping[str, str]) -> str:
    if target.url is not None:
        return target.url
    url = secrets.get(target.url_env or "")
    if not url:
        raise TransientSendError(f"{target.url_env} is not set: the target has no URL", transient=True)
    return url


# --- sending ----------------------------------------------------------------------------------


def post_once(
    http: requests.Session, url: str, body: bytes, headers: Mapping[str, str], timeout: float
) -> int:
    """One POST; the status on 2xx, else SendError (TransientSendError for 429, 5xx, no answer).
    Messages name neither the URL nor a header (both may be credentials)."""
    try:
        # stream: the answer's body is never read, however large a target makes it
        response = http.post(
            url, data=body, headers=dict(headers), timeout=timeout, allow_redirects=False, stream=True
        )
    except requests.Timeout:
        raise TransientSendError("the target did not answer in time", transient=True) from None
    except requests.ConnectionError as error:
        raise TransientSendError(
            f"cannot reach the target ({type(error).__name__})", transient=True
        ) from None
    except (
        requests.exceptions.InvalidURL,
        requests.exceptions.MissingSchema,
        requests.exceptions.InvalidSchema,
    ) as error:
        raise SendError(f"the target's URL is not usable ({type(error).__name__})", transient=False) from None
    except requests.RequestException as error:
        raise TransientSendError(f"the request failed ({type(error).__name__})", transient=True) from None
    response.close()
    status = response.status_code
    if 200 <= status < 300:
        return status
    retry_after = parse_retry_after(response.headers.get("Retry-After"))
    if status == 429 or status == 408 or status >= 500:
        raise TransientSendError(f"HTTP {status}", transient=True, retry_after=retry_after)
    raise SendError(f"HTTP {status}: the target refused the alert", transient=False)


def deliver(
    http: requests.Session,
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    policy: RetryPolicy = PASS_POLICY,
    timeout: float = DEFAULT_TIMEOUT_S,
) -> int:
    """POST with retries on transient failures; returns the number of attempts made (raises
    SendError, with `.attempts`, when the last one failed)."""
    attempts = 0

    def attempt() -> int:
        nonlocal attempts
        attempts += 1
        return post_once(http, url, body, headers, timeout)

    def too_long(state: Any) -> bool:
        error = state.outcome.exception() if state.outcome else None
        wait = getattr(error, "retry_after", None)
        return wait is not None and wait > MAX_RETRY_AFTER_S

    retrying = Retrying(
        retry=retry_if_exception_type(TransientSendError),
        stop=lambda state: stop_after_attempt(policy.attempts)(state) or too_long(state),
        wait=policy.wait,
        sleep=policy.sleep,
        reraise=True,
    )
    try:
        retrying(attempt)
    except SendError as error:
        error.attempts = attempts
        raise
    return attempts


def _site_urls(session: Session) -> dict[str, str | None]:
    return {
        site_id: (base_url.rstrip("/") if base_url else None)
        for site_id, base_url in session.execute(select(Site.id, Site.base_url)).all()
    }


def default_owner() -> str:
    return f"alerts-{socket.gethostname()}-{os.getpid()}"


def detect(session: Session, site: str, config: BatonConfig, now: datetime) -> int:
    """Store the site's new crossings as pending alerts and COMMIT; returns how many were new."""
    frame = load_requests_frame(session, site, open_only=True)
    frame = frame.drop(columns=[c for c in ("site_id",) if c in frame.columns])
    found = scoring_engine.alert_crossings(frame, config, now)
    routes = scoring_engine.alert_routes(found, config)
    new = alert_log.record(session, site, routes, now)
    session.commit()
    return new


def run_pass(
    engine: Engine,
    config: BatonConfig,
    now: datetime,
    secrets: Mapping[str, str],
    *,
    owner: str | None = None,
    wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    policy: RetryPolicy = PASS_POLICY,
    http: requests.Session | None = None,
    on_outcome: Callable[[Outcome], None] | None = None,
    batch: int = 100,
) -> PassReport:
    """One alert pass over every site: store new crossings (committed first), then send what is pending.

    `now` is when the clocks are evaluated (the process's clock, `--now`); `wall_clock` is real time,
    for leases and for when an attempt happened. Each pending alert is tried once per pass (`batch` are
    leased at a time)."""
    report = PassReport()
    if not config.alerts:
        return report
    targets = {t.name: t for t in config.alerts}
    me = owner or default_owner()
    client = http or requests.Session()
    started = wall_clock()
    try:
        with Session(engine, expire_on_commit=False) as session:
            for site, base_url in _site_urls(session).items():
                report.new += detect(session, site, config, now)
                while True:
                    leased = alert_log.claim(
                        session, site, me, wall_clock(), targets=targets, limit=batch, tried_since=started
                    )
                    for alert in leased:
                        target = targets[alert.target]
                        outcome = _send_one(
                            session, target, alert, site, base_url, secrets, me, client, policy, wall_clock
                        )
                        session.commit()
                        report.outcomes.append(outcome)
                        if on_outcome is not None:
                            on_outcome(outcome)
                    if len(leased) < batch:
                        break
    finally:
        if http is None:
            client.close()
    return report


def _send_one(
    session: Session,
    target: AlertTarget,
    alert: alert_log.Claimed,
    site: str,
    base_url: str | None,
    secrets: Mapping[str, str],
    owner: str,
    http: requests.Session,
    policy: RetryPolicy,
    wall_clock: Callable[[], datetime],
) -> Outcome:
    issue_url = f"{base_url}/browse/{alert.issue_key}" if base_url and alert.issue_key else None
    attempts = 0
    try:
        url = url_of(target, secrets)
        body, headers = request_for(target, alert, site, issue_url, secrets)
        attempts = deliver(http, url, body, headers, policy=policy)
    except SendError as error:
        attempts = error.attempts
        give_up = not error.transient
        alert_log.finish(
            session,
            alert.id,
            owner,
            wall_clock(),
            sent=False,
            error=str(error),
            give_up=give_up,
            attempts=attempts,
        )
        status = alert_log.FAILED if give_up else alert_log.PENDING
        log.warning(
            "alert not sent",
            extra={
                "event": "alert_failed" if give_up else "alert_retrying",
                "site": site,
                "target": target.name,
                "request": alert.request_key,
                "state": alert.state,
                "error": str(error),
            },
        )
        return Outcome(
            site,
            target.name,
            target.kind,
            alert.request_key,
            alert.issue_key,
            alert.state,
            status,
            alert.attempts + attempts,
            str(error),
        )
    alert_log.finish(session, alert.id, owner, wall_clock(), sent=True, attempts=attempts)
    log.info(
        "alert sent",
        extra={
            "event": "alert_sent",
            "site": site,
            "target": target.name,
            "request": alert.request_key,
            "state": alert.state,
        },
    )
    return Outcome(
        site,
        target.name,
        target.kind,
        alert.request_key,
        alert.issue_key,
        alert.state,
        alert_log.SENT,
        alert.attempts + attempts,
    )
