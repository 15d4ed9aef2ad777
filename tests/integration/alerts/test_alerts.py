"""Alerts end to end on SQLite and PostgreSQL, against real HTTP receivers on loopback: exactly one
alert per (request, state, target); nothing twice after a restart; failing receivers retried; signed
generic JSON; the exact bodies of Slack, Teams and Jira Automation."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from prometheus_client import REGISTRY
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from baton.config.loader import load_config
from baton.config.schema import BatonConfig
from baton.connector.alerts import run_pass
from baton.connector.client import RetryPolicy
from baton.scoring import engine as scoring_engine
from baton.store import alerts as alert_log
from baton.store.db import create_engine_for
from baton.store.inbox import ensure_site
from baton.store.models import AlertRow
from baton.store.requests import replace_requests
from baton.webhooks.cli import main
from baton.webhooks.settings import Settings
from baton.webhooks.worker.alert_schedule import run_alert_pass
from tests.integration.alerts.receivers import Receiver
from tests.unit.scoring.worked import berlin, issues, transitions

SECRET = "json-signing-key-for-tests"
AUTOMATION_SECRET = "automation-token-for-tests"
ENV = {"BATON_ALERT_JSON_KEY": SECRET, "BATON_ALERT_AUTOMATION_TOKEN": AUTOMATION_SECRET}
BASE = "https://acme.atlassian.net"
# qa's request opens Monday 2 March 10:00 Berlin (resolution 16 working hours, Berlin 09:00-17:00):
# at risk (75 % = 12 h) Tuesday 14:00, breached Wednesday 10:00.
STEPS = [(berlin(2, 9), None, "In Development"), (berlin(2, 10), "In Development", "Ready for QA")]
AT_RISK_AT = "2026-03-03T13:00:00Z"
BREACHED_AT = "2026-03-04T09:00:00Z"


def no_sleep_policy(sleeps: list[float] | None = None, attempts: int = 4) -> RetryPolicy:
    record = sleeps if sleeps is not None else []
    return RetryPolicy(attempts=attempts, initial=0.01, maximum=0.02, jitter=0.0, sleep=record.append)


def config_text(urls: dict[str, str], extra: str = "") -> str:
    return f"""
version: 1
calendars:
  berlin: {{timezone: Europe/Berlin, hours: {{mon-fri: ["09:00-17:00"]}}}}
teams:
  dev: {{calendar: berlin, statuses: {{active: ["In Development"]}}}}
  qa:  {{calendar: berlin, statuses: {{queue: ["Ready for QA"], active: ["In QA"]}}}}
processes:
  delivery:
    match: {{projects: [PROJ]}}
    stages: [dev, qa]
    done: ["Done"]
    at_risk: 75%
    sla:
      - {{provider: qa, response: 4h, resolution: 16h}}
alerts:
  - name: team-slack
    kind: slack
    url: {urls["slack"]}
  - name: team-teams
    kind: teams
    url: {urls["teams"]}
    on: [at_risk, breached]
  - name: automation
    kind: jira_automation
    url: {urls["automation"]}
    secret_env: BATON_ALERT_AUTOMATION_TOKEN
    providers: [qa]
  - name: pager
    kind: json
    url: {urls["json"]}
    secret_env: BATON_ALERT_JSON_KEY
    processes: [delivery]
{extra}"""


@pytest.fixture
def receivers() -> Iterator[dict[str, Receiver]]:
    made = {kind: Receiver() for kind in ("slack", "teams", "automation", "json")}
    yield made
    for receiver in made.values():
        receiver.close()


def _seed(engine: Engine, config: BatonConfig) -> None:
    frame = scoring_engine.derive_requests(transitions(STEPS), issues(), config)
    with Session(engine) as session:
        ensure_site(session, "acme", name="Acme", base_url=BASE)
        replace_requests(session, "acme", ["10001"], frame)
        session.commit()


@pytest.fixture
def setup(
    db_url: str, receivers: dict[str, Receiver], tmp_path: Path
) -> Iterator[tuple[Engine, BatonConfig, Path]]:
    path = tmp_path / "baton.yaml"
    path.write_text(config_text({k: r.url for k, r in receivers.items()}))
    config = load_config(path)
    engine = create_engine_for(db_url)
    _seed(engine, config)
    yield engine, config, path
    engine.dispose()


def _pass(engine: Engine, config: BatonConfig, now: datetime, **kw: object) -> object:
    kw.setdefault("policy", no_sleep_policy())
    return run_pass(engine, config, now, ENV, **kw)  # type: ignore[arg-type]


def _count(receivers: dict[str, Receiver]) -> dict[str, int]:
    return {kind: len(r.received) for kind, r in receivers.items()}


def test_exactly_one_alert_per_crossing_and_nothing_after_a_restart(
    setup: tuple[Engine, BatonConfig, Path], receivers: dict[str, Receiver], db_url: str
) -> None:
    engine, config, path = setup
    report = _pass(engine, config, berlin(3, 13, 59))
    assert (report.new, report.outcomes, _count(receivers)) == (0, [], dict.fromkeys(receivers, 0))  # type: ignore[attr-defined]

    report = _pass(engine, config, berlin(3, 14, 30))
    assert report.new == 4  # type: ignore[attr-defined]
    assert [(o.target, o.state, o.status, o.attempts) for o in report.outcomes] == [  # type: ignore[attr-defined]
        ("team-slack", "at_risk", "sent", 1),
        ("team-teams", "at_risk", "sent", 1),
        ("automation", "at_risk", "sent", 1),
        ("pager", "at_risk", "sent", 1),
    ]
    assert _count(receivers) == dict.fromkeys(receivers, 1)

    # the next minutes, and the day after: the crossing is stored, nothing is sent again
    for now in (berlin(3, 14, 31), berlin(3, 16)):
        report = _pass(engine, config, now)
        assert (report.new, report.outcomes) == (0, [])  # type: ignore[attr-defined]
    assert _count(receivers) == dict.fromkeys(receivers, 1)

    # breached Wednesday 10:00: one more alert per target; seen on Thursday, at risk is not repeated
    report = _pass(engine, config, berlin(5, 12))
    assert [(o.target, o.state) for o in report.outcomes] == [  # type: ignore[attr-defined]
        ("team-slack", "breached"),
        ("team-teams", "breached"),
        ("automation", "breached"),
        ("pager", "breached"),
    ]
    assert _count(receivers) == dict.fromkeys(receivers, 2)

    # a restart: a new engine, then a new process (`baton alerts send`), send nothing
    engine.dispose()
    fresh = create_engine_for(db_url)
    try:
        report = _pass(fresh, config, berlin(5, 12, 1))
        assert (report.new, report.outcomes) == (0, [])  # type: ignore[attr-defined]
    finally:
        fresh.dispose()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "baton",
            "alerts",
            "send",
            "--config",
            str(path),
            "--db",
            db_url,
            "--now",
            "2026-03-06T12:00:00Z",
        ],
        capture_output=True,
        text=True,
        env={**os.environ, **ENV},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "0 new crossing(s) stored; 0 alert(s) sent, 0 not sent"
    assert _count(receivers) == dict.fromkeys(receivers, 2)

    with Session(create_engine_for(db_url)) as session:
        rows = session.execute(select(AlertRow).order_by(AlertRow.id)).scalars().all()
        assert [(r.target, r.state, r.status, r.attempts) for r in rows] == [
            ("team-slack", "at_risk", "sent", 1),
            ("team-teams", "at_risk", "sent", 1),
            ("automation", "at_risk", "sent", 1),
            ("pager", "at_risk", "sent", 1),
            ("team-slack", "breached", "sent", 1),
            ("team-teams", "breached", "sent", 1),
            ("automation", "breached", "sent", 1),
            ("pager", "breached", "sent", 1),
        ]
        assert {r.crossed_at.isoformat() for r in rows if r.state == "at_risk"} == {
            "2026-03-03T13:00:00+00:00"
        }
        assert {r.crossed_at.isoformat() for r in rows if r.state == "breached"} == {
            "2026-03-04T09:00:00+00:00"
        }


def test_bodies_have_each_kinds_exact_shape(
    setup: tuple[Engine, BatonConfig, Path], receivers: dict[str, Receiver]
) -> None:
    engine, config, _ = setup
    _pass(engine, config, berlin(5, 12))
    link = f"{BASE}/browse/PROJ-1"

    slack = [r.json() for r in receivers["slack"].received]
    assert slack == [
        {
            "text": "PROJ-1 is at risk at qa (from dev, process delivery): 75 % of its 16h resolution goal used "
            "at 2026-03-03 13:00 UTC; due 2026-03-04 09:00 UTC. <https://acme.atlassian.net/browse/PROJ-1|PROJ-1>"
        },
        {
            "text": "PROJ-1 breached its 16h resolution goal at qa (from dev, process delivery) at "
            "2026-03-04 09:00 UTC. <https://acme.atlassian.net/browse/PROJ-1|PROJ-1>"
        },
    ]

    teams = receivers["teams"].received[1].json()
    assert teams == {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": {
                    "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                    "type": "AdaptiveCard",
                    "version": "1.4",
                    "body": [
                        {
                            "type": "TextBlock",
                            "text": "PROJ-1 breached its SLA",
                            "weight": "Bolder",
                            "size": "Medium",
                            "wrap": True,
                        },
                        {
                            "type": "TextBlock",
                            "text": "PROJ-1 breached its 16h resolution goal at qa (from dev, process delivery) "
                            "at 2026-03-04 09:00 UTC.",
                            "wrap": True,
                        },
                    ],
                    "actions": [{"type": "Action.OpenUrl", "title": "Open PROJ-1", "url": link}],
                },
            }
        ],
    }

    data = {
        "idempotency_key": "baton:acme:10001:1:at_risk",
        "site": "acme",
        "state": "at_risk",
        "crossed_at": AT_RISK_AT,
        "issue": {"id": "10001", "key": "PROJ-1", "url": link},
        "request": {
            "seq": 1,
            "process": "delivery",
            "provider": "qa",
            "requester": "dev",
            "kind": "new",
            "clock": "resolution",
            "goal_s": 57600.0,
            "threshold_s": 43200.0,
            "due_at": BREACHED_AT,
        },
    }
    automation = receivers["automation"].received[0]
    assert automation.json() == {"issues": ["PROJ-1"], "data": data}
    assert automation.headers["X-Automation-Webhook-Token"] == AUTOMATION_SECRET

    generic = receivers["json"].received[0]
    assert generic.json() == {"event": "baton.alert.at_risk", **data}
    assert generic.headers["Idempotency-Key"] == "baton:acme:10001:1:at_risk"
    assert generic.headers["X-Baton-Event"] == "alert.at_risk"
    assert generic.headers["Content-Type"] == "application/json; charset=utf-8"
    assert receivers["json"].received[1].headers["Idempotency-Key"] == "baton:acme:10001:1:breached"
    # no secret reaches a chat target
    for kind in ("slack", "teams"):
        for got in receivers[kind].received:
            assert SECRET.encode() not in got.body and "X-Baton-Signature" not in got.headers


def test_generic_json_signature_verifies(
    setup: tuple[Engine, BatonConfig, Path], receivers: dict[str, Receiver]
) -> None:
    engine, config, _ = setup
    _pass(engine, config, berlin(5, 12))
    for got in receivers["json"].received:
        expected = "sha256=" + hmac.new(SECRET.encode(), got.body, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(got.headers["X-Baton-Signature"], expected)
        tampered = got.body.replace(b"qa", b"ops")
        assert got.headers["X-Baton-Signature"] != (
            "sha256=" + hmac.new(SECRET.encode(), tampered, hashlib.sha256).hexdigest()
        )


def test_a_failing_receiver_is_retried_500_then_200_and_429_with_retry_after(
    setup: tuple[Engine, BatonConfig, Path], receivers: dict[str, Receiver]
) -> None:
    engine, config, _ = setup
    receivers["slack"].script = [(500, {})]
    receivers["json"].script = [(429, {"Retry-After": "3"})]
    sleeps: list[float] = []
    report = _pass(engine, config, berlin(3, 15), policy=no_sleep_policy(sleeps))
    assert [(o.target, o.status, o.attempts) for o in report.outcomes] == [  # type: ignore[attr-defined]
        ("team-slack", "sent", 2),
        ("team-teams", "sent", 1),
        ("automation", "sent", 1),
        ("pager", "sent", 2),
    ]
    assert len(sleeps) == 2 and sleeps[1] >= 3.0  # Retry-After: 3 is waited for, at least
    # both tries carried the same alert: same body, same idempotency key
    first, second = receivers["json"].received
    assert first.body == second.body
    assert first.headers["Idempotency-Key"] == second.headers["Idempotency-Key"]
    assert _count(receivers) == {"slack": 2, "teams": 1, "automation": 1, "json": 2}


def test_an_unreachable_target_stays_pending_and_the_next_pass_sends_it(
    setup: tuple[Engine, BatonConfig, Path], receivers: dict[str, Receiver]
) -> None:
    engine, config, _ = setup
    receivers["teams"].script = [(503, {}), (503, {})]
    failed_before = (
        REGISTRY.get_sample_value("baton_alerts_failed_total", {"target": "team-teams", "result": "retrying"})
        or 0.0
    )
    settings = Settings.from_env(ENV)
    # first pass: two tries, both 503 -> still pending (the others are sent)
    report = run_alert_pass(engine, config, berlin(3, 15), settings, policy=no_sleep_policy(attempts=2))
    assert [(o.target, o.status) for o in report.outcomes] == [
        ("team-slack", "sent"),
        ("team-teams", "pending"),
        ("automation", "sent"),
        ("pager", "sent"),
    ]
    assert report.outcomes[1].error == "HTTP 503"
    with Session(engine) as session:
        assert alert_log.counts(session, "acme") == {"pending": 1, "sent": 3}
    assert (
        REGISTRY.get_sample_value("baton_alerts_failed_total", {"target": "team-teams", "result": "retrying"})
        == failed_before + 1
    )
    # the next pass sends it, once
    report = run_alert_pass(engine, config, berlin(3, 15, 1), settings, policy=no_sleep_policy())
    assert [(o.target, o.status, o.attempts) for o in report.outcomes] == [("team-teams", "sent", 3)]
    assert _count(receivers) == {"slack": 1, "teams": 3, "automation": 1, "json": 1}
    assert REGISTRY.get_sample_value("baton_alerts_sent_total", {"target": "team-teams", "state": "at_risk"})
    assert (
        REGISTRY.get_sample_value("baton_alerts_failed_total", {"target": "team-teams", "result": "retrying"})
        == failed_before + 1
    )  # the second pass did not fail


def test_a_refused_alert_fails_for_good_until_retried(
    setup: tuple[Engine, BatonConfig, Path], receivers: dict[str, Receiver], db_url: str
) -> None:
    engine, config, _ = setup
    receivers["automation"].script = [(400, {})]
    report = _pass(engine, config, berlin(3, 15))
    refused = [o for o in report.outcomes if o.target == "automation"]  # type: ignore[attr-defined]
    assert [(o.status, o.attempts, o.error) for o in refused] == [
        ("failed", 1, "HTTP 400: the target refused the alert")
    ]
    assert _pass(engine, config, berlin(3, 15, 1)).outcomes == []  # type: ignore[attr-defined]
    runner = CliRunner()
    listed = runner.invoke(main, ["alerts", "list", "--db", db_url, "--status", "failed"])
    assert listed.exit_code == 0, listed.output
    assert listed.output.splitlines() == [
        "failed   acme  PROJ-1  at_risk   crossed 2026-03-03 13:00 UTC  -> automation  attempts 1  "
        "[HTTP 400: the target refused the alert]"
    ]
    retried = runner.invoke(main, ["alerts", "retry", "--db", db_url, "--site", "acme"])
    assert retried.output == "1 alert(s) pending again\n"
    report = _pass(engine, config, berlin(3, 15, 2))
    assert [(o.target, o.status, o.attempts) for o in report.outcomes] == [("automation", "sent", 2)]  # type: ignore[attr-defined]
    assert len(receivers["automation"].received) == 2


def test_a_leased_alert_is_not_sent_by_another_process(
    setup: tuple[Engine, BatonConfig, Path], receivers: dict[str, Receiver]
) -> None:
    engine, config, _ = setup
    from baton.connector.alerts import detect

    with Session(engine, expire_on_commit=False) as session:
        assert detect(session, "acme", config, berlin(3, 15)) == 4
        wall = berlin(3, 15)
        mine = alert_log.claim(session, "acme", "host-a", wall)
        assert len(mine) == 4
        assert alert_log.claim(session, "acme", "host-b", wall) == []  # leased by host-a
    # host-a crashed; once the lease has run out, another process sends them
    report = _pass(engine, config, berlin(3, 15), wall_clock=lambda: berlin(3, 15, 11), owner="host-b")
    assert [o.status for o in report.outcomes] == ["sent"] * 4  # type: ignore[attr-defined]


def test_cli_send_prints_what_it_sent_and_exits_per_the_table(
    setup: tuple[Engine, BatonConfig, Path], receivers: dict[str, Receiver], db_url: str, tmp_path: Path
) -> None:
    _, _, path = setup
    runner = CliRunner()
    args = ["alerts", "send", "--config", str(path), "--db", db_url, "--now", "2026-03-03T14:00:00Z"]
    result = runner.invoke(main, args, env=ENV)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "sent     acme  PROJ-1  at_risk  -> team-slack (slack)",
        "sent     acme  PROJ-1  at_risk  -> team-teams (teams)",
        "sent     acme  PROJ-1  at_risk  -> automation (jira_automation)",
        "sent     acme  PROJ-1  at_risk  -> pager (json)",
        "4 new crossing(s) stored; 4 alert(s) sent, 0 not sent",
    ]
    # a secret missing from the environment: the alert waits (pending), exit 3, the secret is never printed
    receivers["json"].script = []
    args[-1] = "2026-03-05T12:00:00Z"
    result = runner.invoke(main, args, env={"BATON_ALERT_JSON_KEY": "", "BATON_ALERT_AUTOMATION_TOKEN": "x"})
    assert result.exit_code == 3
    assert (
        "pending  acme  PROJ-1  breached  -> pager (json)  [BATON_ALERT_JSON_KEY is not set" in result.output
    )
    assert SECRET not in result.output
    # a configuration without alerts: invalid input
    bare = tmp_path / "bare.yaml"
    bare.write_text(path.read_text().split("alerts:")[0])
    result = runner.invoke(main, ["alerts", "send", "--config", str(bare), "--db", db_url])
    assert result.exit_code == 1
    assert "has no `alerts:` targets" in result.output


def test_filters_route_only_matching_requests(
    db_url: str, receivers: dict[str, Receiver], tmp_path: Path
) -> None:
    urls = {k: r.url for k, r in receivers.items()}
    text = (
        config_text(urls)
        .replace("providers: [qa]", "providers: [dev]")
        .replace("processes: [delivery]\n", "processes: [delivery]\n    on: [breached]\n")
    )
    path = tmp_path / "filtered.yaml"
    path.write_text(text)
    config = load_config(path)
    engine = create_engine_for(db_url)
    try:
        _seed(engine, config)
        report = _pass(engine, config, berlin(3, 15))
        assert [(o.target, o.state) for o in report.outcomes] == [  # type: ignore[attr-defined]
            ("team-slack", "at_risk"),
            ("team-teams", "at_risk"),
        ]
        report = _pass(engine, config, berlin(4, 11))
        assert [(o.target, o.state) for o in report.outcomes] == [  # type: ignore[attr-defined]
            ("team-slack", "breached"),
            ("team-teams", "breached"),
            ("pager", "breached"),
        ]
        assert receivers["automation"].received == []
    finally:
        engine.dispose()


def test_json_bodies_are_canonical(
    setup: tuple[Engine, BatonConfig, Path], receivers: dict[str, Receiver]
) -> None:
    engine, config, _ = setup
    _pass(engine, config, berlin(3, 15))
    body = receivers["json"].received[0].body
    assert body == json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()


def test_a_pass_tries_each_pending_alert_once_and_ends(
    setup: tuple[Engine, BatonConfig, Path], receivers: dict[str, Receiver]
) -> None:
    engine, config, _ = setup
    for receiver in receivers.values():
        receiver.script = [(503, {})] * 3
    # one alert leased at a time, one try each: every alert fails once, and the pass ends
    report = _pass(engine, config, berlin(5, 12), policy=no_sleep_policy(attempts=1), batch=1)
    assert len(report.outcomes) == 8  # type: ignore[attr-defined]
    assert {(o.status, o.attempts) for o in report.outcomes} == {("pending", 1)}  # type: ignore[attr-defined]
    assert _count(receivers) == dict.fromkeys(receivers, 2)


def test_secret_urls_from_the_environment_never_reach_an_error(
    db_url: str, receivers: dict[str, Receiver], tmp_path: Path
) -> None:
    urls = {k: r.url for k, r in receivers.items()}
    text = config_text(urls).replace(f"url: {urls['slack']}", "url_env: BATON_ALERT_SLACK_URL")
    text = text.replace(f"url: {urls['teams']}", "url_env: BATON_ALERT_TEAMS_URL")
    path = tmp_path / "env.yaml"
    path.write_text(text)
    config = load_config(path)
    engine = create_engine_for(db_url)
    try:
        _seed(engine, config)
        env = {
            **ENV,
            "BATON_ALERT_SLACK_URL": "hooks.example.com/services/T0/B0/very-secret-token",  # no scheme
            "BATON_ALERT_TEAMS_URL": "http://127.0.0.1:1/webhookb2/another-secret",  # nothing listens
        }
        report = run_pass(engine, config, berlin(3, 15), env, policy=no_sleep_policy(attempts=2))
        outcomes = {o.target: (o.status, o.attempts, o.error) for o in report.outcomes}
        assert outcomes["team-slack"] == ("failed", 1, "the target's URL is not usable (MissingSchema)")
        assert outcomes["team-teams"] == ("pending", 2, "cannot reach the target (ConnectionError)")
        with Session(engine) as session:
            errors = [r.last_error or "" for r in session.execute(select(AlertRow)).scalars()]
        assert not any("secret" in e for e in errors)
        # the variable set right: the next pass sends the pending one
        env["BATON_ALERT_TEAMS_URL"] = urls["teams"]
        report = run_pass(engine, config, berlin(3, 15, 1), env, policy=no_sleep_policy())
        assert [(o.target, o.status) for o in report.outcomes] == [("team-teams", "sent")]
    finally:
        engine.dispose()
