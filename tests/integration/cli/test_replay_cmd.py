"""`baton replay` on the recorded Jira fixtures, into real SQLite and PostgreSQL databases."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from baton.store.db import create_engine_for
from baton.store.models import Delivery
from tests.integration.cli.conftest import DEMO_CONFIG, baton, baton_json
from tests.recorded import devlake_search_response

NOT_JIRA = {"zulip/example_anomalous_payload.json"}


def _replay(db_url: str, *paths: Path) -> dict[str, object]:
    return baton_json(
        "replay", *map(str, paths), "--db", db_url, "--config", str(DEMO_CONFIG), "--format", "json",
        exit_code=1,
    )  # fmt: skip


def test_replay_fixture_directories_counts_and_idempotency(
    db_url: str, fixtures_dir: Path, tmp_path: Path
) -> None:
    webhooks, rest = fixtures_dir / "jira-webhooks", tmp_path / "rest"
    rest.mkdir()
    (rest / "search.json").write_text(json.dumps(devlake_search_response()), encoding="utf-8")
    first = _replay(db_url, webhooks, rest)
    assert first["files"] == 68  # 67 webhook-folder files + the DevLake issues as one search response
    assert first["deliveries"] == 66
    # files describing the same change (same event, issue id and changelog id) are one delivery
    assert first["accepted"] == 52 and first["duplicate_deliveries"] == 14
    assert first["skipped"] == 40  # comments, worklogs, attachments, other field edits...
    assert first["exports"] == 1
    # 165 DevLake changes + 33 creations + 10 distinct webhook transitions (2 more arrive twice)
    assert first["transitions"] == 208 and first["duplicate_transitions"] == 2
    errors = {e["where"]: e["error"] for e in first["errors"]}  # type: ignore[union-attr]
    assert {str(Path(w).relative_to(webhooks)) for w in errors} == NOT_JIRA
    assert all("expected a Jira webhook delivery" in message for message in errors.values())

    second = _replay(db_url, webhooks, rest)
    assert second["accepted"] == 0 and second["duplicate_deliveries"] == 66
    assert second["transitions"] == 0
    assert second["duplicate_transitions"] == 198  # the REST export is re-read, its changes known
    assert len(second["errors"]) == 1  # type: ignore[arg-type]

    engine = create_engine_for(db_url)
    try:
        with Session(engine) as session:
            count = session.execute(select(func.count()).select_from(Delivery)).scalar_one()
            sources = set(session.execute(select(Delivery.source)).scalars())
    finally:
        engine.dispose()
    assert count == 52 and sources == {"replay"}


def test_replay_ndjson_with_headers_reports_line_numbers(
    db_url: str, fixtures_dir: Path, tmp_path: Path
) -> None:
    status = json.loads((fixtures_dir / "jira-webhooks/zulip/change_status_v2.json").read_text())
    created = json.loads(
        (fixtures_dir / "jira-webhooks/mattermost-plugin-jira/webhook-issue-created.json").read_text()
    )
    lines = [
        json.dumps({"headers": {"x-atlassian-webhook-identifier": "abc-1"}, "body": status}),
        "{not json",
        "",
        json.dumps({"accountId": "x"}),
        json.dumps(created),
    ]
    path = tmp_path / "deliveries.ndjson"
    path.write_text("\n".join(lines) + "\n")
    report = _replay(db_url, path)
    assert report["deliveries"] == 2 and report["accepted"] == 2
    assert report["transitions"] == 2
    assert [e["where"] for e in report["errors"]] == [f"{path}:2", f"{path}:4"]  # type: ignore[union-attr]
    assert "not valid JSON" in report["errors"][0]["error"]  # type: ignore[index]

    again = baton(
        "replay", str(path), "--db", db_url, "--config", str(DEMO_CONFIG), "--format", "json"
    )  # fmt: skip
    assert again.exit_code == 1
    assert json.loads(again.stdout)["duplicate_deliveries"] == 2

    engine = create_engine_for(db_url)
    try:
        with Session(engine) as session:
            headers = session.execute(select(Delivery.headers).order_by(Delivery.id)).scalars().first()
    finally:
        engine.dispose()
    assert headers == {"X-Atlassian-Webhook-Identifier": "abc-1"}


def test_replay_without_errors_exits_zero_and_prints_table(db_url: str, fixtures_dir: Path) -> None:
    result = baton(
        "replay", str(fixtures_dir / "jira-webhooks/mattermost-plugin-jira"),
        "--db", db_url, "--config", str(DEMO_CONFIG), "--quiet",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "transitions added" in result.stdout
    assert "errors" in result.stdout
