"""`POST /api/v1/verdicts` and `GET /api/v1/issues/<key>/handoffs`: identity from the Forge token,
membership from `teams.<t>.members` (a Jira group read from the stand-in over REST, cached; an account
id), read-only share links, site isolation, refusals; on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from baton.scoring.model import Extraction
from baton.store.db import create_engine_for
from baton.store.inbox import ensure_site
from baton.store.pipeline import ingest_extractions
from baton.webhooks.http.auth import make_share_token
from baton.webhooks.settings import Settings
from tests.contract.connector.standin import JiraStandIn
from tests.contract.connector.standin_http import StandInServer, serving
from tests.integration.api.forge_support import APP_ID, CLOUD_B, INSTALL_B, SITE_MAP, Jwks
from tests.unit.oracle.worked_example import FACTS, TRANSITIONS

ROOT = Path(__file__).resolve().parents[3]
SECRET = "test-secret-key-that-is-long-enough-0123456789"
MEMBERS = """
  qa:
    calendar: berlin
    members: [{group: qa-team}]
    statuses:"""


def _config_file(tmp_path: Path) -> Path:
    text = (ROOT / "config" / "examples" / "delivery.yaml").read_text()
    text = text.replace("\n  qa:\n    calendar: berlin\n    statuses:", MEMBERS, 1)
    text = text.replace(
        "\n  ops:\n    calendar: berlin\n",
        "\n  ops:\n    calendar: berlin\n    members: [{account: ops-lead}]\n",
        1,
    )
    assert "qa-team" in text and "ops-lead" in text
    path = tmp_path / "pmo.yaml"
    path.write_text(text)
    return path


@pytest.fixture
def jira() -> Iterator[tuple[JiraStandIn, StandInServer]]:
    standin = JiraStandIn(user_groups={"qa-user": ["QA-Team", "jira-users"], "dev-user": ["developers"]})
    with serving(standin) as server:
        yield standin, server


@pytest.fixture
def app_at(
    db_url: str, tmp_path: Path, jwks: Jwks, jira: tuple[JiraStandIn, StandInServer]
) -> Iterator[Callable[[datetime], Flask]]:
    from baton.config.loader import load_config
    from baton.webhooks.http.app import create_app

    config_path = _config_file(tmp_path)
    engine = create_engine_for(db_url)
    with Session(engine) as session:
        ensure_site(session, "acme", name="Acme", base_url="https://acme.atlassian.net")
        ensure_site(session, "globex", name="Globex", base_url="https://globex.atlassian.net")
        ingest_extractions(
            session,
            "acme",
            [Extraction("backfill", tuple(TRANSITIONS), FACTS)],
            "backfill",
            load_config(config_path),
        )
        session.commit()
    engine.dispose()
    apps: list[Flask] = []
    shared: dict[str, Any] = {}

    def make(now: datetime) -> Flask:
        environment = {
            "BATON_NOW": now.isoformat(),
            "BATON_SECRET_KEY": SECRET,
            "BATON_FORGE_APP_ID": APP_ID,
            "BATON_FORGE_JWKS_URL": jwks.url,
            "BATON_FORGE_SITES": SITE_MAP,
            "BATON_JIRA_SITES": "acme",
            "BATON_JIRA_ACME_URL": jira[1].url,
            "BATON_JIRA_ACME_EMAIL": "bot@example.com",
            "BATON_JIRA_ACME_TOKEN": "t0ken",
        }
        settings = Settings.from_env(
            environment, database_url=db_url, config_path=str(config_path), background_processing=False
        )
        app = create_app(settings)
        app.config.update(TESTING=True)
        if "cache" in shared:  # one group cache across the apps, as in one long-running process
            app.extensions["baton_group_cache"] = shared["cache"]
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.extensions["baton"].engine.dispose()


def _utc(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC)


def _post(app: Flask, token: str | None, body: dict[str, Any], share: str | None = None) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if share:
        headers["X-Baton-Share"] = share
    return app.test_client().post("/api/v1/verdicts", json=body, headers=headers)


def _chain(app: Flask, token: str | None = None, share: str | None = None, issue: str = "PROJ-1") -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {"X-Baton-Share": share or ""}
    return app.test_client().get(f"/api/v1/issues/{issue}/handoffs", headers=headers)


def test_members_judge_and_the_chain_shows_it(
    app_at: Callable[[datetime], Flask], jwks: Jwks, jira: tuple[JiraStandIn, StandInServer]
) -> None:
    standin = jira[0]
    wednesday = app_at(_utc(4, 9))
    accepted = _post(
        wednesday,
        jwks.token(principal="qa-user"),
        {"issue": "PROJ-1", "team": "qa", "action": "accept", "rating": 4},
    )
    assert accepted.status_code == 201, accepted.get_json()
    body = accepted.get_json()
    assert {k: body[k] for k in ("issue", "team", "verdict", "provider", "seq", "at", "window_ends_at")} == {
        "issue": "PROJ-1",
        "team": "qa",
        "verdict": "accepted",
        "provider": "dev",
        "seq": 2,
        "at": "2026-03-04T09:00:00+00:00",
        "window_ends_at": "2026-03-17T15:00:00+00:00",
    }
    lookups = [path for method, path in standin.log if path.endswith("/user/groups")]
    assert len(lookups) == 1  # qa-user's groups, read once over REST
    again = _post(
        wednesday,
        jwks.token(principal="qa-user"),
        {"issue": "proj-1", "team": "qa", "action": "accept", "rating": 5},
    )
    assert again.status_code == 201
    assert len([p for _, p in standin.log if p.endswith("/user/groups")]) == 1  # cached

    thursday = app_at(_utc(5, 9))
    chain = _chain(thursday, jwks.token(principal="ops-lead")).get_json()
    assert chain["issue"] == "PROJ-1" and chain["read_only"] is False and chain["account"] == "ops-lead"
    rows = [
        (
            h["provider"],
            h["customer"],
            h["outcome"],
            h["verdict"],
            h["rating"],
            h["awaiting_verdict"],
            h["may_judge"],
        )
        for h in chain["handoffs"]
    ]
    assert rows == [
        ("dev", "qa", "delivered", None, None, False, False),  # rejected by qa's return
        ("qa", None, "returned", None, None, False, False),
        ("dev", "qa", "delivered", "accepted", 5, False, False),
        ("qa", "ops", "delivered", None, None, True, True),  # ops-lead is listed by account
        ("ops", "pm", "delivered", None, None, True, False),  # pm judges what goes into Done
    ]
    q2 = chain["handoffs"][3]
    assert q2["verdict_due_at"] == "2026-03-18T11:00:00+00:00"
    assert q2["rejection_reasons"] == ["incomplete", "defects", "undocumented"]
    assert q2["resolution_state"] == "met" and q2["response_state"] == "met"

    friday = app_at(_utc(6, 8))
    rejected = _post(
        friday,
        jwks.token(principal="ops-lead"),
        {
            "issue": "PROJ-1",
            "team": "ops",
            "action": "reject",
            "reason": "incomplete",
            "comment": "no release notes",
        },
    )
    assert rejected.status_code == 201 and rejected.get_json()["verdict"] == "rejected"
    chain = _chain(friday, jwks.token(principal="ops-lead")).get_json()
    q2 = chain["handoffs"][3]
    assert (q2["verdict"], q2["verdict_reason"], q2["verdict_by"], q2["rejected"]) == (
        "rejected",
        "incomplete",
        "ops-lead",
        True,
    )

    later = app_at(_utc(6, 8, 30))
    refused = _post(
        later, jwks.token(principal="ops-lead"), {"issue": "PROJ-1", "team": "ops", "action": "accept"}
    )
    assert refused.status_code == 409
    assert refused.get_json() == {
        "error": "verdict_refused",
        "message": "PROJ-1's delivery by 'qa' was rejected at 2026-03-06T08:00:00Z; an accept cannot undo a "
        "rejection (rework appears when the issue moves back)",
        "hint": 'nothing was recorded (docs/semantics.md, "Verdicts")',
    }
    late = app_at(_utc(20, 9))
    outside = _post(
        late, jwks.token(principal="qa-user"), {"issue": "PROJ-1", "team": "qa", "action": "accept"}
    )
    assert outside.status_code == 409
    assert "ended at 2026-03-17T15:00:00Z" in outside.get_json()["message"]
    bad = _post(
        later,
        jwks.token(principal="ops-lead"),
        {"issue": "PROJ-1", "team": "ops", "action": "reject", "reason": "ugly"},
    )
    assert (
        bad.status_code == 409
        and "not one of process 'delivery's rejection_reasons" in bad.get_json()["message"]
    )


def test_permissions(app_at: Callable[[datetime], Flask], jwks: Jwks) -> None:
    app = app_at(_utc(4, 9))
    accept = {"issue": "PROJ-1", "team": "qa", "action": "accept"}
    non_member = _post(app, jwks.token(principal="dev-user"), accept)
    assert non_member.status_code == 403
    assert non_member.get_json()["error"] == "not_a_member"
    assert _post(app, jwks.token(principal="ops-lead"), accept).status_code == 403  # a member of ops, not qa

    share = make_share_token(SECRET.encode(), "acme")
    read_only = _post(app, None, accept, share=share)
    assert read_only.status_code == 403
    assert read_only.get_json()["error"] == "read_only"
    chain = _chain(app, share=share)
    assert chain.status_code == 200
    assert chain.get_json()["read_only"] is True
    assert not any(h["may_judge"] for h in chain.get_json()["handoffs"])

    other_site = jwks.token(principal="qa-user", cloud_id=CLOUD_B, installation=INSTALL_B)  # globex
    assert _chain(app, other_site).status_code == 404
    assert _post(app, other_site, accept).status_code == 404  # acme's issue is unknown to globex
    assert _chain(app, share=make_share_token(SECRET.encode(), "globex")).status_code == 404

    expired = jwks.token(principal="qa-user", exp=1, iat=0, nbf=0)
    assert _post(app, expired, accept).status_code == 401
    assert _chain(app, expired).status_code == 401

    for body, message in (
        ({"issue": "PROJ-1", "team": "qa"}, "'action' is required (text)"),
        ({**accept, "action": "maybe"}, "unknown action 'maybe'"),
        ({**accept, "rating": "five"}, "'rating' must be a whole number from 1 to 5"),
        ({**accept, "team": "nobody"}, "unknown team 'nobody'"),
        ({**accept, "extra": 1}, "unknown field 'extra'"),
    ):
        answer = _post(app, jwks.token(principal="qa-user"), body)
        assert answer.status_code == 400 and answer.get_json()["message"] == message
    assert _post(app, jwks.token(principal="qa-user"), {**accept, "issue": "PROJ-9"}).status_code == 404
