"""The JSON API: numbers equal scoring.engine's (rounded once, like the CLI), share links and demo
mode authenticate and isolate sites, pages carry CSP/frame-ancestors, DC gadget XML is valid."""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET

import pandas as pd
import pytest
from sqlalchemy.orm import Session

from baton.webhooks.http.auth import AuthError, make_share_token, verify_share_token
from baton.webhooks.http.gadget_registry import GADGET_NAMES
from tests.integration.api.seeding import SITE_A, SITE_B, UNMATCHED_A

SECRET = b"test-secret-key-that-is-long-enough-0123456789"


def _share(site: str = SITE_A, ttl: int = 3600) -> dict[str, str]:
    return {"X-Baton-Share": make_share_token(SECRET, site, ttl)}


# --- share links ---------------------------------------------------------------------------------


def test_share_token_roundtrip_and_failures() -> None:
    token = make_share_token(SECRET, "acme", 60, now=1000)
    assert verify_share_token(SECRET, token, now=1059) == "acme"
    with pytest.raises(AuthError, match="expired"):
        verify_share_token(SECRET, token, now=1061)
    with pytest.raises(AuthError, match="signature"):
        verify_share_token(b"another-key", token, now=1000)
    _payload, mac = token.split(".")
    forged = make_share_token(SECRET, "globex", 60, now=1000).split(".")[0]
    with pytest.raises(AuthError, match="signature"):
        verify_share_token(SECRET, f"{forged}.{mac}", now=1000)
    for bad in ("", "nodot", ".", "a.", ".b"):
        with pytest.raises(AuthError):
            verify_share_token(SECRET, bad, now=1000)


def test_share_link_reads_only_its_site(make_app, seeded_db) -> None:
    seeded = seeded_db[1]
    client = make_app().test_client()
    a = client.get("/api/v1/requests?limit=1000&site=globex", headers=_share(SITE_A))
    b = client.get("/api/v1/requests?limit=1000", headers=_share(SITE_B))
    assert a.status_code == b.status_code == 200
    assert (a.get_json()["site"], a.get_json()["count"]) == (SITE_A, seeded.requests_a)
    assert (b.get_json()["site"], b.get_json()["count"]) == (SITE_B, seeded.requests_b)
    # the query-string form works too (what a shared URL carries)
    token = make_share_token(SECRET, SITE_B, 60)
    assert client.get(f"/api/v1/teams?share={token}").get_json()["site"] == SITE_B


def test_expired_or_foreign_share_links_are_refused(make_app) -> None:
    client = make_app().test_client()
    expired = make_share_token(SECRET, SITE_A, 10, now=time.time() - 100)
    assert client.get("/api/v1/teams", headers={"X-Baton-Share": expired}).status_code == 401
    foreign = make_share_token(b"some-other-server-key", SITE_A, 60)
    resp = client.get("/api/v1/teams", headers={"X-Baton-Share": foreign})
    assert resp.status_code == 401
    assert resp.get_json()["error"] == "unauthorized"


# --- demo mode -----------------------------------------------------------------------------------


def test_demo_mode_is_open_on_loopback_only(make_app) -> None:
    app = make_app(demo=True)
    client = app.test_client()
    assert client.get("/api/v1/teams").status_code == 200  # test client: 127.0.0.1 -> localhost
    assert client.get("/api/v1/teams?site=globex").get_json()["site"] == "globex"
    remote = client.get("/api/v1/teams", environ_base={"REMOTE_ADDR": "192.0.2.10"})
    assert remote.status_code == 401
    rebinding = client.get("/api/v1/teams", headers={"Host": "baton.example.com"})
    assert rebinding.status_code == 401


def test_without_demo_mode_nothing_is_open(make_app) -> None:
    client = make_app(demo=False).test_client()
    for path in ("/api/v1/teams", "/api/v1/scorecards", "/api/v1/requests", "/api/v1/handoffs/matrix"):
        assert client.get(path).status_code == 401


# --- numbers equal the engine's ------------------------------------------------------------------


def _engine_frames(app, site: str):
    from baton.config.loader import load_config
    from baton.scoring import engine
    from baton.store.requests import load_requests_frame

    config = load_config(app.extensions["baton"].settings.config_path)
    now = app.extensions["baton"].clock()
    with Session(app.extensions["baton"].engine) as session:
        frame = load_requests_frame(session, site)
    return engine, config, now, engine.evaluate_clocks(frame, config, now)


def _r(value, digits):
    return None if value is None or pd.isna(value) else round(float(value), digits)


def test_scorecards_equal_the_engine(make_app) -> None:
    app = make_app()
    engine, config, now, frame = _engine_frames(app, SITE_A)
    expected = engine.scorecards(frame, config, now, period="week")
    body = app.test_client().get("/api/v1/scorecards?weeks=12", headers=_share()).get_json()
    assert len(body["periods"]) == 12 and body["current_period"] == body["periods"][-1] == "2026-W12"
    assert [c["team"] for c in body["scorecards"]] == list(config.teams)
    checked = 0
    for card in body["scorecards"]:
        for row in card["trend"]:
            exp = expected[(expected["period"] == row["period"]) & (expected["team"] == card["team"])].iloc[0]
            assert row["score"] == _r(exp["score"], 1)
            for f in ("timeliness", "response_timeliness", "quality", "ratio_p50", "ratio_p90"):
                assert row[f] == _r(exp[f], 4), f
            for f in ("resolved", "delivered", "rejected", "open_at_risk", "open_breached"):
                assert row[f] == int(exp[f]), f
            checked += 1
        if card["current"] is not None:
            assert card["current"]["period"] == "2026-W12"
    assert checked > 20


def test_scorecard_filters(make_app) -> None:
    client = make_app().test_client()
    one = client.get(
        "/api/v1/scorecards?team=dev&process=support&period=month&weeks=3", headers=_share()
    ).get_json()
    assert [c["team"] for c in one["scorecards"]] == ["dev"]
    assert one["periods"] == ["2026-01", "2026-02", "2026-03"] and one["process"] == "support"
    for path, word in (
        ("/api/v1/scorecards?team=nobody", "team"),
        ("/api/v1/scorecards?period=day", "period"),
        ("/api/v1/scorecards?weeks=0", "weeks"),
        ("/api/v1/scorecards?weeks=x", "weeks"),
        ("/api/v1/requests?state=late", "state"),
    ):
        resp = client.get(path, headers=_share())
        assert resp.status_code == 400, path
        assert word in resp.get_json()["message"] and resp.get_json()["hint"]


def test_at_risk_requests_equal_the_engine(make_app) -> None:
    app = make_app()
    _, _, _, frame = _engine_frames(app, SITE_A)
    live = frame["resolution_state"].where(frame["resolution_goal_s"].notna(), frame["response_state"])
    expected = frame[frame["resolved_at"].isna() & live.isin(["at_risk", "breached"])]
    body = (
        app.test_client().get("/api/v1/requests?state=at_risk,breached&open=1", headers=_share()).get_json()
    )
    assert body["count"] == len(expected) > 0
    by_key = {r["issue"]: r for r in body["requests"]}
    for rec in expected.to_dict("records"):
        got = by_key[rec["issue_key"]]
        assert got["resolution_elapsed_s"] == round(rec["resolution_elapsed_s"])
        assert got["state"] in ("at_risk", "breached") and got["resolved_at"] is None
        assert got["issue_url"] == f"https://acme.atlassian.net/browse/{rec['issue_key']}"
        assert got["due_at"] is not None
        assert (got["remaining_s"] <= 0) == (got["state"] == "breached")
    # due times agree with the ones written into the Jira issue property (connector.writeback)
    from baton.connector.writeback import due_times

    _, config, now, _ = _engine_frames(app, SITE_A)
    property_due = due_times(expected, config, now)
    compared = 0
    for index, rec in expected.iterrows():
        if pd.notna(property_due[index]) and pd.notna(rec["resolution_goal_s"]):
            got = pd.Timestamp(by_key[rec["issue_key"]]["due_at"])
            assert abs((got - property_due[index]).total_seconds()) <= 1
            compared += 1
    remaining = [r["remaining_s"] for r in body["requests"]]
    assert remaining == sorted(remaining)


def test_matrix_and_unmapped_equal_the_engine(make_app) -> None:
    app = make_app()
    engine, config, now, frame = _engine_frames(app, SITE_A)
    client = app.test_client()
    matrix = client.get("/api/v1/handoffs/matrix", headers=_share()).get_json()
    expected = engine.handoff_matrix(frame, config, now)
    assert len(matrix["cells"]) == len(expected)
    for cell, exp in zip(matrix["cells"], expected.to_dict("records"), strict=True):
        assert cell["requester"] == (exp["requester"] or "intake") and cell["provider"] == exp["provider"]
        assert cell["requests"] == exp["requests"]
        assert cell["timeliness"] == _r(exp["timeliness"], 4)
        assert cell["rejection_rate"] == _r(exp["rejection_rate"], 4)
    unmapped = client.get("/api/v1/handoffs/unmapped", headers=_share()).get_json()
    exp_un = engine.unmapped_report(frame)
    assert [r["count"] for r in unmapped["rows"]] == exp_un["count"].tolist()
    assert unmapped["rows"] and all(r["examples"] for r in unmapped["rows"])


def test_pair_and_issue_filters(make_app) -> None:
    client = make_app().test_client()
    pair = client.get("/api/v1/requests?requester=analysis&provider=dev&limit=5", headers=_share()).get_json()
    assert pair["count"] > 5 and len(pair["requests"]) == 5
    assert {(r["requester"], r["provider"]) for r in pair["requests"]} == {("analysis", "dev")}
    intake = client.get("/api/v1/requests?requester=intake&limit=3", headers=_share()).get_json()
    assert {r["requester"] for r in intake["requests"]} == {None}
    key = pair["requests"][0]["issue"]
    one = client.get(f"/api/v1/requests?issue={key}", headers=_share()).get_json()
    assert {r["issue"] for r in one["requests"]} == {key}


# --- pages and headers ---------------------------------------------------------------------------


def test_pages_have_csp_and_allow_jira_framing(make_app) -> None:
    client = make_app().test_client()
    for path in ("/", *(f"/gadgets/{name}" for name in GADGET_NAMES)):
        resp = client.get(path)
        assert resp.status_code == 200, path
        csp = resp.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "https://*.atlassian.net" in csp.split("frame-ancestors", 1)[1]
        assert resp.headers["Referrer-Policy"] == "no-referrer"
        html = resp.get_data(as_text=True)
        assert "<script" in html and "secret" not in html.lower()
    api = client.get("/api/v1/teams", headers=_share())
    assert "frame-ancestors 'none'" in api.headers["Content-Security-Policy"]
    assert api.headers["Cache-Control"] == "no-store"
    assert client.get("/gadgets/nope").status_code == 404


def test_bundle_assets_are_served(make_app) -> None:
    client = make_app().test_client()
    html = client.get("/").get_data(as_text=True)
    import re

    assets = re.findall(r'(?:src|href)="\./(assets/[^"]+)"', html)
    assert assets
    for asset in assets:
        for prefix in ("/", "/gadgets/"):
            resp = client.get(prefix + asset)
            assert resp.status_code == 200, prefix + asset
            assert "immutable" in resp.headers["Cache-Control"]


@pytest.mark.parametrize("name", GADGET_NAMES)
def test_data_center_gadget_xml(make_app, name: str) -> None:
    client = make_app().test_client()
    resp = client.get(f"/gadgets/{name}.xml", base_url="https://baton.example.com")
    assert resp.status_code == 200 and resp.mimetype == "application/xml"
    root = ET.fromstring(resp.data)
    assert root.tag == "Module"
    prefs = root.find("ModulePrefs")
    assert prefs is not None and prefs.get("title", "").startswith("Baton")
    content = root.find("Content")
    assert content is not None and content.get("type") == "url"
    assert content.get("href", "").startswith(f"https://baton.example.com/gadgets/{name}?")
    assert {p.get("name") for p in root.findall("UserPref")} == {"share", "team", "process", "period"}
    assert client.get("/gadgets/nope.xml").status_code == 404


def test_share_link_command(monkeypatch, capsys) -> None:
    from baton.webhooks.http.auth import main

    monkeypatch.setenv("BATON_SECRET_KEY", SECRET.decode())
    assert (
        main(
            [
                "--site",
                "globex",
                "--ttl",
                "2h",
                "--base-url",
                "https://baton.example.com",
                "--gadget",
                "matrix",
            ]
        )
        == 0
    )
    url = capsys.readouterr().out.strip()
    assert url.startswith("https://baton.example.com/gadgets/matrix?share=")
    assert verify_share_token(SECRET, url.split("share=", 1)[1]) == "globex"


def test_due_times_do_not_depend_on_calendar_history(make_app) -> None:
    """Regression: a calendar extended to earlier years renumbers its cumulative working time; due times
    computed before and after that (e.g. by two gunicorn workers) must still agree."""
    import numpy as np

    from baton.config.loader import load_config
    from baton.scoring.calendar import business_calendar

    app = make_app()
    client = app.test_client()
    path = "/api/v1/requests?state=at_risk,breached&open=1"
    before = {r["issue"]: r["due_at"] for r in client.get(path, headers=_share()).get_json()["requests"]}
    config = load_config(app.extensions["baton"].settings.config_path)
    for calendar in config.calendars.values():
        business_calendar(calendar).working_time(np.array([pd.Timestamp("2019-01-07", tz="UTC").timestamp()]))
    after = {r["issue"]: r["due_at"] for r in client.get(path, headers=_share()).get_json()["requests"]}
    assert before == after and all(before.values())


@pytest.mark.parametrize(
    "path", ["/api/v1/scorecards", "/api/v1/requests", "/api/v1/handoffs/matrix", "/api/v1/handoffs/unmapped"]
)
def test_every_number_says_which_configuration_it_was_derived_under(make_app, path: str) -> None:
    from sqlalchemy import update

    from baton.config.loader import load_config
    from baton.store.models import Site
    from baton.store.pipeline import config_fingerprint

    app = make_app()
    engine = app.extensions["baton"].engine
    loaded = config_fingerprint(load_config(app.extensions["baton"].settings.config_path))
    with Session(engine) as session:
        before = session.get(Site, SITE_A).config_fingerprint
    try:
        for stored, stale in (("0" * 64, True), (loaded, False)):
            with Session(engine) as session:
                session.execute(update(Site).where(Site.id == SITE_A).values(config_fingerprint=stored))
                session.commit()
            body = app.test_client().get(path, headers=_share()).get_json()
            assert body["derivation"] == {
                "config_fingerprint": loaded,
                "derived_under": stored,
                "stale": stale,
            }
    finally:
        with Session(engine) as session:
            session.execute(update(Site).where(Site.id == SITE_A).values(config_fingerprint=before))
            session.commit()


def test_unmapped_and_metrics_report_issues_matching_no_process(make_app) -> None:
    """Issues no process covers are stored but yield no request: the unmapped endpoint lists them per
    project and issue type with example keys (whatever process is asked for), /metrics counts them per
    site and reason (issue 16, item 3). Fails on the old code: neither said a word."""
    client = make_app().test_client()
    body = client.get("/api/v1/handoffs/unmapped", headers=_share()).get_json()
    assert body["unmatched_issues"] == UNMATCHED_A
    filtered = client.get("/api/v1/handoffs/unmapped?process=support", headers=_share()).get_json()
    assert filtered["unmatched_issues"] == UNMATCHED_A
    metrics = client.get("/metrics").get_data(as_text=True)
    lines = {line for line in metrics.splitlines() if line.startswith("baton_unmatched_issues{")}
    assert lines == {
        'baton_unmatched_issues{reason="no_project",site="acme"} 1.0',
        'baton_unmatched_issues{reason="project",site="acme"} 2.0',
        'baton_unmatched_issues{reason="issue_type",site="acme"} 0.0',
        'baton_unmatched_issues{reason="no_project",site="globex"} 0.0',
        'baton_unmatched_issues{reason="project",site="globex"} 0.0',
        'baton_unmatched_issues{reason="issue_type",site="globex"} 0.0',
    }
