"""Operators' endpoints: `/healthz` and `GET /api/inbox`.

`/healthz`: is the database reachable, how big is the inbox backlog, how old is its oldest row.
200 while the database answers (a backlog is reported, not failed: alert on it from /metrics);
503 when the database does not answer, so load balancers take the instance out.

`GET /api/inbox?state=failed|pending|quarantined|...&site=&limit=`: deliveries that need
attention (default: failed, pending, processing and quarantined), newest first, without bodies.
Authenticated by `Authorization: Bearer $BATON_ADMIN_TOKEN`; disabled when no token is set.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from flask import Blueprint, Response, jsonify, request
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from baton.webhooks.http.auth import token_matches
from baton.webhooks.http.errors import BadRequest, Unauthorized
from baton.webhooks.http.ratelimit import refused_admin_token

log = logging.getLogger("baton.webhooks.health")

UNPROCESSED_STATES = ("pending", "processing")
ATTENTION_STATES = ("failed", "pending", "processing", "quarantined")


def read_backlog(engine: Engine) -> tuple[int, float | None]:
    """(deliveries waiting or being processed, age in seconds of the oldest of them or None): rows
    left `processing` by a killed worker count until they are claimed again."""
    from baton.store.inbox import backlog_stats

    with Session(engine) as session:
        stats = backlog_stats(session)
    return stats.pending + stats.processing, stats.oldest_unprocessed_age_s


def read_unmatched(engine: Engine, config: Any) -> list[tuple[str, str, int]]:
    """(site, reason, issues) of every site's stored issues that match no process (`/metrics`), counted
    in the database per project and issue type, then matched by `baton.scoring.engine.unmatched_issues`."""
    from baton.store.models import Site
    from baton.store.pipeline import unmatched_report

    if config is None:
        return []
    out: list[tuple[str, str, int]] = []
    with Session(engine) as session:
        for site in session.execute(select(Site.id).order_by(Site.id)).scalars():
            report = unmatched_report(session, site, config, examples=False)
            out.append((site, "", 0))  # every site gets its series, at zero when nothing is unmatched
            out.extend((site, str(r), int(n)) for r, n in zip(report["reason"], report["count"], strict=True))
    return out


def health_blueprint(engine: Engine, describe: Callable[[], dict[str, Any]]) -> Blueprint:
    bp = Blueprint("health", __name__)

    @bp.get("/healthz")
    def healthz() -> tuple[Response, int]:
        started = time.perf_counter()
        status: dict[str, Any] = {"status": "ok", **describe()}
        try:
            backlog, oldest_age = read_backlog(engine)
        except Exception as error:
            log.error(
                "health check: database unreachable",
                extra={"event": "health_db_down", "error": type(error).__name__},
            )
            status.update(
                status="unavailable",
                database="unreachable",
                hint="the database does not answer: check BATON_DATABASE_URL and the database server",
            )
            return jsonify(status), 503
        status.update(
            database="ok",
            inbox_backlog=backlog,
            oldest_unprocessed_age_s=None if oldest_age is None else round(oldest_age, 3),
            check_ms=round((time.perf_counter() - started) * 1000, 2),
        )
        return jsonify(status), 200

    return bp


def _check_admin(admin_token: str | None) -> None:
    if not admin_token:
        raise Unauthorized(
            "the inbox API is disabled", hint="set BATON_ADMIN_TOKEN on the service to enable it"
        )
    given = request.headers.get("Authorization", "")
    scheme, _, token = given.partition(" ")
    if scheme.lower() != "bearer" or not token_matches(admin_token, token.strip()):
        if scheme.lower() == "bearer" and token.strip():
            refused_admin_token()
        raise Unauthorized("missing or wrong admin token")


def delivery_summary(row: Any) -> dict[str, Any]:
    """A delivery as operators see it: everything but the body and credentials."""

    def iso(value: datetime | None) -> str | None:
        return value.isoformat() if value is not None else None

    return {
        "id": row.id,
        "site": row.site_id,
        "source": row.source,
        "event": row.event,
        "state": row.state,
        "attempts": row.attempts,
        "error": row.error,
        "received_at": iso(row.received_at),
        "processed_at": iso(row.processed_at),
        "bytes": len(row.body) if row.body is not None else 0,
        "headers": dict(row.headers or {}),
    }


def _limit(text: str | None, default: int = 100, largest: int = 1000) -> int:
    """`?limit=`: a whole number, clamped to 1..largest; anything else is the caller's mistake (400)."""
    if not (text or "").strip():
        return default
    try:
        return max(1, min(int(str(text)), largest))
    except ValueError:
        raise BadRequest(
            f"limit must be a whole number, not {str(text)[:32]!r}", f"for example limit={default}"
        ) from None


def inbox_api_blueprint(engine: Engine, admin_token: str | None) -> Blueprint:
    bp = Blueprint("inbox_api", __name__)

    @bp.get("/api/inbox")
    def inbox() -> Response:
        from baton.store.models import Delivery

        _check_admin(admin_token)
        states = [s for s in request.args.get("state", "").split(",") if s] or list(ATTENTION_STATES)
        limit = _limit(request.args.get("limit"))
        query = select(Delivery).where(Delivery.state.in_(states)).order_by(Delivery.id.desc()).limit(limit)
        if request.args.get("site"):
            query = query.where(Delivery.site_id == request.args["site"])
        with Session(engine) as session:
            rows = [delivery_summary(row) for row in session.scalars(query)]
            counts = dict(
                session.execute(
                    select(Delivery.state, func.count(Delivery.id))
                    .where(Delivery.state.in_(ATTENTION_STATES))
                    .group_by(Delivery.state)
                ).all()
            )
        return jsonify(
            {"counts": {state: counts.get(state, 0) for state in ATTENTION_STATES}, "deliveries": rows}
        )

    return bp
