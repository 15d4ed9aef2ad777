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


def test_overview_matches_baton_score_rank(make_app, seeded_db) -> None:
    url, seeded = seeded_db
    client = make_app().test_client()
    now, config = seeded.now.isoformat(), str(seeded.config_path)
    for period in ("week", "month"):
        for process in (None, "delivery", "support"):
            args = ["score", "--rank", "--period", period, *(["--process", process] if process else [])]
            cli = _cli(*args, url=url, config=config, now=now)
            query = f"period={period}" + (f"&process={process}" if process else "")
            api = client.get(f"/api/v1/overview?{query}", headers=_share()).get_json()
            assert api["teams"] == cli, (period, process)
            assert [r["rank"] for r in cli] == list(range(1, len(cli) + 1))
            assert api["period"] == period and api["process"] == process
            assert api["window"]["label"] == cli[0]["period"]
            assert api["previous_period"] == cli[0]["previous_period"]
    # the rows are `baton score`'s rows of the current and previous period
    week = _cli("score", "--period", "week", "--last", "2", url=url, config=config, now=now)
    rows = {(r["period"], r["team"]): r for r in week}
    for team in _cli("score", "--rank", url=url, config=config, now=now):
        current = rows.get((team["period"], team["team"]))
        previous = rows.get((team["previous_period"], team["team"]))
        assert team["score"] == (current["score"] if current else None)
        assert team["timeliness"] == (current["timeliness"] if current else None)
        assert team["previous_score"] == (previous["score"] if previous else None)


def test_matrix_of_a_period_matches_baton_handoffs_period(make_app, seeded_db) -> None:
    url, seeded = seeded_db
    client = make_app().test_client()
    now, config = seeded.now.isoformat(), str(seeded.config_path)
    for period in ("week", "month", "all"):
        cli = _cli("handoffs", "--report", "matrix", "--period", period, url=url, config=config, now=now)
        api = client.get(f"/api/v1/handoffs/matrix?period={period}", headers=_share()).get_json()
        assert api["period"] == period
        assert api["cells"] == [{**c, "requester": c["requester"] or "intake"} for c in cli], period
        for cell in api["cells"]:
            assert cell["requests"] == cell["open"] + cell["resolved"]
    week = client.get("/api/v1/handoffs/matrix?period=week", headers=_share()).get_json()
    every = client.get("/api/v1/handoffs/matrix", headers=_share()).get_json()
    assert every["period"] == "all" and every["window"] is None
    assert sum(c["requests"] for c in week["cells"]) < sum(c["requests"] for c in every["cells"])
    assert week["window"] == {
        "label": "2026-W12",
        "start": "2026-03-15T23:00:00+00:00",
        "end": "2026-03-22T23:00:00+00:00",
    }
