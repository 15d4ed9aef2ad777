"""The internal customer's verdict over HTTP (docs/plugin.md, "Verdicts"; docs/semantics.md "Verdicts").

| endpoint | does |
|---|---|
| `POST /api/v1/verdicts` | record a verdict: `{"issue": "PROJ-1", "team": "qa", "action": "accept", "rating": 4, "comment": ".."}` or `{"action": "reject", "reason": "incomplete", ...}` |
| `GET /api/v1/issues/<key>/handoffs` | the issue's chain of requests, with each delivery's verdict, and for the caller whether they may judge it and until when |

The identity is the Forge Invocation Token's account (`principal`); share links and Data Center gadgets
(which authenticate with share tokens) only read: a verdict from them is refused with 403 `read_only`.
Only members of the judging team (`teams.<team>.members`: Jira groups and/or account ids) may give its
verdict; groups are read from the site over REST (`GET /rest/api/3/user/groups`) with the site's
`BATON_JIRA_*` credentials and cached for `BATON_MEMBERSHIP_TTL` seconds. Whether the verdict applies
is the engine's rule (`baton.scoring.engine.judge_verdict`), the same as the CLI's; a refusal is 409.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

import pandas as pd
from flask import Blueprint, Flask, Response, current_app, g, jsonify, request
from sqlalchemy.orm import Session

from baton.webhooks import serialize
from baton.webhooks.http.api import API_PREFIX, _baton, _config, _now, _site_base_url
from baton.webhooks.http.auth import Principal, authenticate, security_headers
from baton.webhooks.http.errors import (
    BadRequest,
    NotAMember,
    NotFound,
    ReadOnly,
    Unavailable,
    VerdictRefused,
)

log = logging.getLogger("baton.webhooks.verdicts")

ACTIONS = ("accept", "reject")
BODY_FIELDS = frozenset({"issue", "team", "action", "rating", "reason", "comment"})
MAX_BODY = 16 * 1024


def _groups_lookup(principal: Principal) -> Callable[[], frozenset[str]]:
    """The caller's Jira groups on their site (cached per site and account)."""
    from baton.connector.client import JiraError, client_for
    from baton.connector.membership import GroupCache, fetch_groups
    from baton.connector.sites import SiteConfigError, resolve_site

    baton = _baton()
    cache: GroupCache | None = current_app.extensions.get("baton_group_cache")
    if cache is None:
        cache = current_app.extensions.setdefault(
            "baton_group_cache", GroupCache(baton.settings.membership_ttl_s)
        )
    account = str(principal.account)

    def fetch() -> frozenset[str]:
        try:
            site = resolve_site(principal.site, baton.settings.jira)
        except SiteConfigError as error:
            raise Unavailable(
                f"Baton cannot read Jira groups of site '{principal.site}': {error}",
                "set the site's BATON_JIRA_* credentials (docs/jira-connector.md), or list members by account",
            ) from error
        client = client_for(site)
        try:
            return fetch_groups(client, account)
        except JiraError as error:
            raise Unavailable(
                f"Jira did not answer the group lookup ({type(error).__name__})", "retry in a moment"
            ) from error
        finally:
            client.close()

    assert cache is not None
    return lambda: cache.groups(principal.site, account, fetch)


def may_judge(principal: Principal, team: str, config: Any) -> bool:
    from baton.connector.membership import is_member

    if principal.method != "forge" or not principal.account or team not in config.teams:
        return False
    return is_member(config.teams[team], principal.account, _groups_lookup(principal))


def _body() -> Mapping[str, Any]:
    if (request.content_length or 0) > MAX_BODY:
        raise BadRequest(
            f"the body is larger than {MAX_BODY} bytes", "send one verdict as a small JSON object"
        )
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise BadRequest(
            "the body is not a JSON object",
            'send {"issue": "PROJ-1", "team": "qa", "action": "accept", "rating": 4}',
        )
    unknown = sorted(set(body) - BODY_FIELDS)
    if unknown:
        raise BadRequest(f"unknown field {unknown[0]!r}", f"fields: {', '.join(sorted(BODY_FIELDS))}")
    for name in ("issue", "team", "action"):
        if not isinstance(body.get(name), str) or not body[name].strip():
            raise BadRequest(
                f"'{name}' is required (text)", 'e.g. {"issue": "PROJ-1", "team": "qa", "action": "accept"}'
            )
    if body["action"] not in ACTIONS:
        raise BadRequest(f"unknown action {body['action']!r}", "use accept or reject")
    rating = body.get("rating")
    if rating is not None and (isinstance(rating, bool) or not isinstance(rating, int)):
        raise BadRequest("'rating' must be a whole number from 1 to 5", "or leave it out")
    for name in ("reason", "comment"):
        if body.get(name) is not None and not isinstance(body[name], str):
            raise BadRequest(f"'{name}' must be text", "or leave it out")
    return body


def _issue_frame(site: str, issue: str) -> tuple[str, str | None, pd.DataFrame]:
    from baton.store.requests import load_requests_frame
    from baton.store.verdicts import UnknownIssue, resolve_issue

    with Session(_baton().engine) as session:
        try:
            issue_id, key = resolve_issue(session, site, issue)
        except UnknownIssue as error:
            raise NotFound(str(error)) from error
        return issue_id, key, load_requests_frame(session, site, issue_ids=[issue_id])


def verdicts_blueprint() -> Blueprint:
    bp = Blueprint("baton_verdicts", __name__, url_prefix=API_PREFIX)

    @bp.before_request
    def _authenticate() -> None:
        g.baton_principal = authenticate(request)

    @bp.after_request
    def _headers(response: Response) -> Response:
        return security_headers(response, api=True)

    def principal() -> Principal:
        return g.baton_principal  # type: ignore[no-any-return]

    @bp.post("/verdicts")
    def give_verdict() -> tuple[Response, int]:
        from baton.scoring.model import Verdict, VerdictAction
        from baton.store.verdicts import VerdictRefused as Refused
        from baton.store.verdicts import record_verdict

        p = principal()
        if p.method != "forge" or not p.account:
            raise ReadOnly(
                "share links and Data Center gadgets are read-only: a verdict needs a Jira Cloud user",
            )
        config = _config()
        body = _body()
        team = body["team"].strip()
        if team not in config.teams:
            raise BadRequest(f"unknown team '{team}'", f"teams: {', '.join(config.teams)}")
        now = _now()
        with Session(_baton().engine) as session:
            from baton.store.verdicts import UnknownIssue, resolve_issue

            try:  # an issue of another site is unknown here, whoever asks
                issue_id, key = resolve_issue(session, p.site, body["issue"].strip())
            except UnknownIssue as error:
                raise NotFound(str(error)) from error
            if not may_judge(p, team, config):
                raise NotAMember(f"you are not a member of team '{team}', so you cannot give its verdict")
            verdict = Verdict(
                issue_id=issue_id,
                team=team,
                at=now,
                by=p.account,
                action=VerdictAction(body["action"]),
                rating=body.get("rating"),
                reason=body.get("reason"),
                comment=body.get("comment"),
            )
            # the site's configuration is picked again under its re-derivation lock (record_verdict)
            resolver = _baton().configs() if _baton().configs is not None else config
            try:
                recorded = record_verdict(session, p.site, verdict, resolver, source="api")
            except Refused as error:
                raise VerdictRefused(str(error)) from error
            session.commit()
        log.info("verdict", extra={"site": p.site, "team": team, "action": body["action"]})
        judged = recorded.judgement
        return (
            jsonify(
                site=p.site,
                id=recorded.id,
                issue=key or issue_id,
                team=team,
                verdict="accepted" if verdict.action == VerdictAction.ACCEPT else "rejected",
                provider=judged.provider,
                seq=judged.seq,
                at=serialize.iso(now),
                window_ends_at=serialize.iso(judged.due_at),
            ),
            201,
        )

    @bp.get("/issues/<issue>/handoffs")
    def handoffs(issue: str) -> Response:
        from baton.scoring import engine

        config = _config()
        p = principal()
        now = _now()
        issue_id, key, frame = _issue_frame(p.site, issue)
        frame = engine.live_clocks(engine.evaluate_clocks(frame, config, now), config, now)
        awaiting = engine.awaiting_verdict(frame, now).to_numpy(dtype=bool)
        records = serialize.request_records(frame, p.site)
        judge_of: dict[str, bool] = {}
        chain = []
        for rec, waits in zip(records, awaiting, strict=True):
            customer = rec["customer"]
            can = False
            if waits and customer is not None:
                if customer not in judge_of:
                    judge_of[customer] = may_judge(p, customer, config)
                can = judge_of[customer]
            reasons = (
                config.processes[rec["process"]].rejection_reasons
                if rec["process"] in config.processes
                else []
            )
            chain.append(
                {**rec, "awaiting_verdict": bool(waits), "may_judge": can, "rejection_reasons": reasons}
            )
        base = _site_base_url(p.site, p)
        return jsonify(
            site=p.site,
            issue=key or issue_id,
            issue_id=issue_id,
            issue_url=f"{base}/browse/{key}" if base and key else None,
            as_of=pd.Timestamp(now).isoformat(),
            timezone=config.scoring.timezone,
            read_only=p.method != "forge" or not p.account,
            account=p.account,
            handoffs=chain,
        )

    return bp


def register(app: Flask) -> None:
    app.register_blueprint(verdicts_blueprint())
