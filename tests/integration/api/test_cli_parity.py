"""The CLI's JSON and the API's JSON print the same numbers for the same data and instant."""

from __future__ import annotations

import json

from click.testing import CliRunner

from tests.integration.api.seeding import SITE_A
from tests.integration.api.test_api import _share


def _cli(*args: str, url: str, config: str, now: str):
    from baton.webhooks.cli import main

    result = CliRunner().invoke(
        main, [*args, "--format", "json", "--db", url, "--config", config, "--site", SITE_A, "--now", now]
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_scores_requests_and_matrix_match_the_cli(make_app, seeded_db) -> None:
    url, seeded = seeded_db
    app = make_app()
    client = app.test_client()
    now = seeded.now.isoformat()
    config = str(seeded.config_path)

    cli_scores = _cli("score", "--period", "week", url=url, config=config, now=now)
    api = client.get("/api/v1/scorecards?weeks=12", headers=_share()).get_json()
    api_rows = {(r["period"], r["team"]): r for card in api["scorecards"] for r in card["trend"]}
    compared = 0
    for row in cli_scores:
        key = (row["period"], row["team"])
        if key in api_rows:
            assert api_rows[key] == row, key
            compared += 1
    assert compared == len(api_rows) > 20

    cli_requests = {
        (r["issue"], r["opened_at"]): r for r in _cli("requests", url=url, config=config, now=now)
    }
    api_requests = client.get("/api/v1/requests?limit=1000", headers=_share()).get_json()["requests"]
    assert len(api_requests) == len(cli_requests)
    for rec in api_requests:
        cli = cli_requests[(rec["issue"], rec["opened_at"])]
        assert {k: rec[k] for k in cli} == cli

    cli_handoffs = _cli("handoffs", url=url, config=config, now=now)
    cli_matrix = cli_handoffs["matrix"]
    api_matrix = client.get("/api/v1/handoffs/matrix", headers=_share()).get_json()["cells"]
    normalised = [{**c, "requester": c["requester"] or "intake"} for c in cli_matrix]
    assert [
        {k: c[k] for k in ("requester", "provider", "requests", "timeliness", "rejection_rate")}
        for c in api_matrix
    ] == [
        {k: c[k] for k in ("requester", "provider", "requests", "timeliness", "rejection_rate")}
        for c in normalised
    ]

    api_unmapped = client.get("/api/v1/handoffs/unmapped", headers=_share()).get_json()["rows"]
    assert api_unmapped == cli_handoffs["unmapped"]


def test_monthly_and_per_process_scores_match_the_cli(make_app, seeded_db) -> None:
    url, seeded = seeded_db
    client = make_app().test_client()
    now, config = seeded.now.isoformat(), str(seeded.config_path)
    cli = _cli("score", "--period", "month", "--by", "process", url=url, config=config, now=now)
    for process in ("delivery", "support"):
        api = client.get(
            f"/api/v1/scorecards?period=month&weeks=3&process={process}", headers=_share()
        ).get_json()
        api_rows = {(r["period"], r["team"]): r for card in api["scorecards"] for r in card["trend"]}
        expected = {
            (r["period"], r["team"]): {k: v for k, v in r.items() if k != "process"}
            for r in cli
            if r["process"] == process and r["period"] in api["periods"]
        }
        assert api_rows == expected and api_rows


def test_live_clocks_and_period_window_match_the_cli(make_app, seeded_db) -> None:
    url, seeded = seeded_db
    client = make_app().test_client()
    now, config = seeded.now.isoformat(), str(seeded.config_path)
    live = ("state", "remaining_s", "due_at", "paused")

    cli = {
        (r["issue"], r["opened_at"]): r for r in _cli("requests", "--open", url=url, config=config, now=now)
    }
    api = client.get("/api/v1/requests?open=1&limit=1000", headers=_share()).get_json()["requests"]
    assert len(api) == len(cli)
    for rec in api:
        assert {k: rec[k] for k in live} == {k: cli[(rec["issue"], rec["opened_at"])][k] for k in live}
    due = [r for r in api if r["due_at"] is not None]
    assert len(due) > 5 and all(isinstance(r["remaining_s"], int) for r in due)
    assert {r["state"] for r in due} >= {"running", "breached"}

    cli_weeks = _cli("score", "--period", "week", "--last", "12", url=url, config=config, now=now)
    api_weeks = client.get("/api/v1/scorecards?weeks=12", headers=_share()).get_json()
    assert sorted({r["period"] for r in cli_weeks}) == api_weeks["periods"]
    api_rows = sorted(
        (r for card in api_weeks["scorecards"] for r in card["trend"]), key=lambda r: (r["period"], r["team"])
    )
    assert cli_weeks == api_rows
