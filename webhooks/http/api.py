"""The JSON API behind the gadgets (and anyone with a share link or a Forge token).

| endpoint | returns |
|---|---|
| `GET /api/v1/teams` | teams, processes and periods of the configuration (edit views) |
| `GET /api/v1/scorecards?team=&process=&period=week\\|month&weeks=12` | per team: the current period's row, the trend and the rejection reasons (by verdict) of the periods shown |
| `GET /api/v1/requests?state=at_risk,breached&open=1&provider=&requester=&process=&issue=&limit=` | requests with live clocks |
| `GET /api/v1/overview?process=&period=week\\|month` | every provider team, worst first, with the change against the previous period |
| `GET /api/v1/handoffs/matrix?process=&period=week\\|month\\|all` | requester x provider: volume (open, resolved), timeliness, rejection rate, the rejections split into returns and the verdicts' reasons |
| `GET /api/v1/handoffs/unmapped?process=` | unmapped hand-offs with counts; stored issues matching no process |

Every endpoint authenticates (`baton.webhooks.http.auth.authenticate`) and reads only the principal's site.
Every number comes from `baton.scoring.engine` over `baton.store.requests.load_requests_frame` and is shaped and
rounded by `baton.webhooks.serialize` (ratios 4 decimals, seconds integers, scores 1 decimal), the same
functions the CLI's JSON uses, so the CLI, this API and the gadgets show the same numbers.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import pandas as pd
from flask import Blueprint, Flask, Response, current_app, g, jsonify, request
from sqlalchemy.orm import Session

from baton.webhooks import serialize
from baton.webhooks.http.auth import Principal, authenticate, security_headers
from baton.webhooks.http.errors import BadRequest, Unavailable

log = logging.getLogger("baton.webhooks.api")

API_PREFIX = "/api/v1"
MAX_PERIODS = 104
MAX_LIMIT = 1000
DEFAULT_LIMIT = 200
INTAKE = "intake"
STATES = ("met", "breached", "at_risk", "running", "none")


# --- data access ---------------------------------------------------------------------------------


def _baton() -> Any:
    baton = current_app.extensions.get("baton")
    if baton is None:
        raise Unavailable("the service is not fully started", "retry in a moment")
    return baton


def _now() -> datetime:
    """The app's one clock (`Settings.clock`: BATON_NOW pins it); no environment read per request."""
    return _baton().clock()  # type: ignore[no-any-return]


def _engine_and_settings() -> tuple[Any, Any]:
    baton = _baton()
    return baton.engine, baton.settings


def _config() -> Any:
    """The PMO configuration the caller's site is under (`baton.store.live_config.ConfigResolver`: the
    file when it is code, else the site's applied published version, else the file)."""
    baton = _baton()
    resolver = baton.configs() if baton.configs is not None else None
    config = None
    if resolver is not None:
        with Session(baton.engine) as session:
            config = resolver.for_site(session, g.baton_principal.site)
    elif baton.config is not None:
        config = baton.config()
    if config is None:
        raise Unavailable(
            "no PMO configuration is loaded", "start the service with --config FILE or BATON_CONFIG"
        )
    return config


def _unmatched(site: str, config: Any) -> dict[str, Any]:
    """The site's stored issues that match no process (`{total, rows}`; whatever `process` is asked for:
    these issues belong to none)."""
    engine, _ = _engine_and_settings()
    from baton.store.pipeline import unmatched_report

    with Session(engine) as session:
        return serialize.unmatched_summary(unmatched_report(session, site, config))


def _load_requests(site: str, *, open_only: bool = False, since: datetime | None = None) -> pd.DataFrame:
    """The site's stored requests; `open_only` / `since` (alive on or after) narrow what is read."""
    engine, _ = _engine_and_settings()
    from baton.store.requests import load_requests_frame

    with Session(engine) as session:
        return load_requests_frame(session, site, open_only=open_only, since=since)


def _derivation(site: str, config: Any) -> dict[str, Any]:
    """Under which configuration the site's numbers were derived (`stale` when not the loaded one)."""
    engine, _ = _engine_and_settings()
    from baton.store.pipeline import derivation_of

    with Session(engine) as session:
        return derivation_of(session, site, config).as_dict()


def _site_base_url(site: str, principal: Principal) -> str | None:
    if principal.site_url:
        return principal.site_url.rstrip("/")
    engine, _ = _engine_and_settings()
    from baton.store.models import Site

    with Session(engine) as session:
        row = session.get(Site, site)
        return row.base_url.rstrip("/") if row is not None and row.base_url else None


def _clocked(
    site: str, config: Any, now: datetime, *, open_only: bool = False, since: datetime | None = None
) -> pd.DataFrame:
    from baton.scoring import engine

    frame = _load_requests(site, open_only=open_only, since=since)
    return engine.evaluate_clocks(frame, config, now)


def _window(config: Any, now: datetime, period: str | None) -> dict[str, Any] | None:
    """The period containing `now` as the gadgets show it: label, start and end (UTC, ISO 8601)."""
    from baton.scoring import engine

    if period is None:
        return None
    tz = config.scoring.timezone
    (label,) = engine.recent_period_labels(now, period, 1, tz)  # type: ignore[arg-type]
    start, end = engine.period_bounds(label, period, tz)  # type: ignore[arg-type]
    return {"label": label, "start": serialize.iso(start), "end": serialize.iso(end)}


def _arg(name: str, choices: Iterable[str] | None = None) -> str | None:
    value = (request.args.get(name) or "").strip()
    if not value:
        return None
    if choices is not None and value not in set(choices):
        raise BadRequest(f"unknown {name} {value!r}", f"use one of: {', '.join(sorted(choices))}")
    return value


def _int_arg(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise BadRequest(
            f"{name} must be a whole number, not {raw!r}", f"for example {name}={default}"
        ) from exc
    if not low <= value <= high:
        raise BadRequest(f"{name} must be between {low} and {high}", f"for example {name}={default}")
    return value


# --- blueprint -----------------------------------------------------------------------------------


def api_blueprint(_baton: Any = None) -> Blueprint:
    bp = Blueprint("baton_api", __name__, url_prefix=API_PREFIX)

    @bp.before_request
    def _authenticate() -> None:
        if request.method == "OPTIONS":
            return
        g.baton_principal = authenticate(request)  # AuthError: answered by the app's error table

    @bp.after_request
    def _headers(response: Response) -> Response:
        return security_headers(response, api=True)

    def principal() -> Principal:
        return g.baton_principal  # type: ignore[no-any-return]

    @bp.get("/teams")
    def teams() -> Response:
        from baton.scoring import engine

        config = _config()
        return jsonify(
            site=principal().site,
            teams=list(config.teams),
            processes=list(config.processes),
            periods=list(config.scoring.periods),
            timezone=config.scoring.timezone,
            weights=config.scoring.weights.model_dump(),
            small_sample=engine.SMALL_SAMPLE,
            goals=serialize.goal_records(config),
        )

    @bp.get("/scorecards")
    def scorecards() -> Response:
        from baton.scoring import engine

        config = _config()
        p = principal()
        period = _arg("period", ("week", "month")) or "week"
        count = _int_arg("weeks", 12, 1, MAX_PERIODS)
        team = _arg("team", config.teams)
        process = _arg("process", config.processes)
        now = _now()
        since = engine.first_period_start(now, period, count, config.scoring.timezone)  # type: ignore[arg-type]
        frame = _clocked(p.site, config, now, since=since)
        if process:
            frame = frame[frame["process"] == process]
        rows = engine.scorecards(frame, config, now, period=period)  # type: ignore[arg-type]
        periods = engine.recent_period_labels(now, period, count, config.scoring.timezone)  # type: ignore[arg-type]
        current = periods[-1]
        rows = rows[rows["period"].isin(periods)]
        records = serialize.score_records(rows)
        reasons = serialize.reason_records(engine.rejection_reasons(frame))
        teams = [team] if team else list(config.teams)
        cards = []
        for t in teams:
            mine = [r for r in records if r["team"] == t]
            cards.append(
                {
                    "team": t,
                    "current": next((r for r in mine if r["period"] == current), None),
                    "trend": mine,
                    "reasons": [
                        {"reason": r["reason"], "count": r["count"]} for r in reasons if r["provider"] == t
                    ],
                }
            )
        return jsonify(
            site=p.site,
            period=period,
            process=process,
            as_of=pd.Timestamp(now).isoformat(),
            timezone=config.scoring.timezone,
            window=_window(config, now, period),
            derivation=_derivation(p.site, config),
            periods=periods,
            current_period=current,
            scorecards=cards,
        )

    @bp.get("/requests")
    def requests_() -> Response:
        from baton.scoring import engine

        config = _config()
        p = principal()
        now = _now()
        open_only = request.args.get("open") in {"1", "true", "yes"}
        frame = _clocked(p.site, config, now, open_only=open_only)
        states = [s.strip() for s in (request.args.get("state") or "").split(",") if s.strip()]
        bad = [s for s in states if s not in STATES]
        if bad:
            raise BadRequest(f"unknown state {bad[0]!r}", f"use any of: {', '.join(STATES)}")
        frame = frame.assign(state=engine.live_state(frame), remaining_s=engine.remaining_working_s(frame))
        if open_only:
            frame = frame[frame["resolved_at"].isna()]
        if states:
            frame = frame[frame["state"].isin(states)]
        for name in ("provider", "process"):
            value = _arg(name)
            if value:
                frame = frame[frame[name] == value]
        requester = _arg("requester")
        if requester:
            frame = (
                frame[frame["requester"].isna()]
                if requester == INTAKE
                else frame[frame["requester"] == requester]
            )
        issue = _arg("issue")
        if issue:
            frame = frame[(frame["issue_key"] == issue) | (frame["issue_id"] == issue)]
        limit = _int_arg("limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
        total = len(frame)
        if states or request.args.get("open"):
            frame = frame.sort_values(["remaining_s", "opened_at"], kind="stable", na_position="last")
        else:
            frame = frame.sort_values("opened_at", ascending=False, kind="stable")
        # the due-time search runs on the page shown only
        frame = engine.live_clocks(frame.head(limit), config, now)
        base = _site_base_url(p.site, p)
        out = []
        records = serialize.request_records(frame, p.site)
        for rec, issue_id in zip(records, frame["issue_id"], strict=True):
            key = rec["issue"]
            rec.update(
                issue_id=serialize.text(issue_id),
                issue_url=f"{base}/browse/{key}" if base and key else None,
            )
            out.append(rec)
        return jsonify(
            site=p.site,
            as_of=pd.Timestamp(now).isoformat(),
            timezone=config.scoring.timezone,
            derivation=_derivation(p.site, config),
            count=total,
            requests=out,
        )

    @bp.get("/overview")
    def overview() -> Response:
        from baton.scoring import engine

        config = _config()
        p = principal()
        period = _arg("period", ("week", "month")) or "week"
        process = _arg("process", config.processes)
        now = _now()
        since = engine.first_period_start(now, period, 2, config.scoring.timezone)  # type: ignore[arg-type]
        frame = _clocked(p.site, config, now, since=since)
        if process:
            frame = frame[frame["process"] == process]
        table = engine.team_overview(
            frame,
            config,
            now,
            period,  # type: ignore[arg-type]
            engine.process_teams(config, process),
        )
        rows = serialize.overview_records(table)
        return jsonify(
            site=p.site,
            period=period,
            process=process,
            as_of=pd.Timestamp(now).isoformat(),
            timezone=config.scoring.timezone,
            window=_window(config, now, period),
            previous_period=engine.recent_period_labels(now, period, 2, config.scoring.timezone)[0],  # type: ignore[arg-type]
            small_sample=engine.SMALL_SAMPLE,
            derivation=_derivation(p.site, config),
            teams=rows,
        )

    @bp.get("/handoffs/matrix")
    def matrix() -> Response:
        from baton.scoring import engine

        config = _config()
        p = principal()
        now = _now()
        chosen = _arg("period", ("week", "month", "all")) or "all"
        period = None if chosen == "all" else chosen
        since = (
            engine.first_period_start(now, period, 1, config.scoring.timezone)  # type: ignore[arg-type]
            if period
            else None
        )
        frame = _clocked(p.site, config, now, since=since)
        process = _arg("process", config.processes)
        if process:
            frame = frame[frame["process"] == process]
        table = engine.handoff_matrix(frame, config, now, period)  # type: ignore[arg-type]
        cells = serialize.handoff_records(table)
        for c in cells:
            c["requester"] = c["requester"] if c["requester"] is not None else INTAKE
        order = {t: i for i, t in enumerate([INTAKE, *config.teams])}
        requesters = sorted({c["requester"] for c in cells}, key=lambda t: (order.get(t, 999), t))
        providers = sorted({c["provider"] for c in cells}, key=lambda t: (order.get(t, 999), t))
        return jsonify(
            site=p.site,
            as_of=pd.Timestamp(now).isoformat(),
            timezone=config.scoring.timezone,
            period=chosen,
            window=_window(config, now, period),
            derivation=_derivation(p.site, config),
            process=process,
            requesters=requesters,
            providers=providers,
            cells=cells,
        )

    @bp.get("/handoffs/unmapped")
    def unmapped() -> Response:
        from baton.scoring import engine

        config = _config()
        p = principal()
        frame = _load_requests(p.site)
        process = _arg("process", config.processes)
        if process:
            frame = frame[frame["process"] == process]
        table = engine.unmapped_report(frame)
        return jsonify(
            site=p.site,
            as_of=pd.Timestamp(_now()).isoformat(),
            timezone=config.scoring.timezone,
            derivation=_derivation(p.site, config),
            process=process,
            rows=serialize.unmapped_records(table),
            unmatched_issues=_unmatched(p.site, config),
        )

    return bp


def register(app: Flask) -> None:
    app.register_blueprint(api_blueprint())
