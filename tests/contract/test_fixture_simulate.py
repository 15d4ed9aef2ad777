"""The history generator's webhook deliveries have the shape of real Cloud deliveries, and extract
back to exactly the generated transitions."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd

from baton.config.loader import load_config
from baton.scoring.extract import extract_payload
from baton.scoring.model import CREATION_CHANGE_ID, ISSUE_COLUMNS
from baton.scoring.simulate import simulate_deliveries, simulate_frames, status_categories

DEMO = Path(__file__).resolve().parents[2] / "config" / "examples" / "demo.yaml"
END = datetime(2026, 3, 30, tzinfo=UTC)
START = END - timedelta(weeks=6)


def keys(obj: object, prefix: str = "") -> set[str]:
    out: set[str] = set()
    if isinstance(obj, dict):
        for k, v in obj.items():
            out.add(prefix + k)
            out |= keys(v, prefix + k + ".")
    return out


def test_deliveries_look_like_real_cloud_deliveries(fixtures: Path) -> None:
    config = load_config(DEMO)
    deliveries = simulate_deliveries(config, 30, seed=3, start=START, end=END)
    real_updated = json.loads(
        (
            fixtures / "jira-webhooks/mattermost-plugin-jira/webhook-issue-updated-started-working.json"
        ).read_text()
    )
    real_created = json.loads(
        (fixtures / "jira-webhooks/mattermost-plugin-jira/webhook-issue-created.json").read_text()
    )
    envelope = {"timestamp", "webhookEvent", "issue_event_type_name", "user", "issue", "changelog"}
    assert envelope <= set(real_updated) and envelope <= set(real_created)
    fields = {"status", "issuetype", "priority", "project", "created", "updated"}
    assert fields <= set(real_updated["issue"]["fields"])
    for delivery in deliveries:
        payload = delivery.payload
        assert set(payload) == envelope
        assert fields <= set(payload["issue"]["fields"])
        assert {"id", "name", "statusCategory.key"} <= keys(payload["issue"]["fields"]["status"])
        item_keys = set(real_updated["changelog"]["items"][0])
        assert set(payload["changelog"]["items"][0]) == item_keys
        assert isinstance(payload["timestamp"], int) and payload["timestamp"] > 10**12
        assert delivery.headers["X-Atlassian-Webhook-Identifier"]
    events = {d.payload["webhookEvent"] for d in deliveries}
    assert events == {"jira:issue_created", "jira:issue_updated"}
    assert len({d.headers["X-Atlassian-Webhook-Identifier"] for d in deliveries}) == len(deliveries)


def test_deliveries_extract_to_the_generated_transitions() -> None:
    config = load_config(DEMO)
    transitions, issues = simulate_frames(config, 60, seed=5, start=START, end=END)
    deliveries = simulate_deliveries(config, 60, seed=5, start=START, end=END)
    extracted = [t for d in deliveries for t in extract_payload(d.payload).transitions]
    got = sorted(
        (t.issue_id, t.at, t.change_id, t.from_id, t.from_name, t.to_id, t.to_name) for t in extracted
    )

    def clean(value: object) -> object:
        return None if value is None or (isinstance(value, float) and value != value) else value

    want = sorted(
        (
            r.issue_id,
            r.at.to_pydatetime(),
            r.change_id,
            clean(r.from_id),
            clean(r.from_name),
            r.to_id,
            r.to_name,
        )
        for r in transitions.itertuples(index=False)
    )
    assert got == want
    assert (transitions.groupby("issue_id")["change_id"].first() == CREATION_CHANGE_ID).all()
    assert list(issues.columns) == list(ISSUE_COLUMNS) and len(issues) == 60


def test_seeded_and_realistic() -> None:
    config = load_config(DEMO)
    a, _ = simulate_frames(config, 400, seed=11, start=START, end=END)
    b, _ = simulate_frames(config, 400, seed=11, start=START, end=END)
    pd.testing.assert_frame_equal(a, b)
    assert str(a["at"].dtype) == "datetime64[ns, UTC]"
    pairs = set(zip(a["from_name"], a["to_name"], strict=True))
    assert ("In QA", "In Development") in pairs  # a return
    assert ("In Development", "Blocked") in pairs and ("Blocked", "In Development") in pairs  # pause
    assert ("Done", "In Development") in pairs or ("Resolved", "In Development") in pairs  # reopen
    assert ("In Analysis", "Ready for QA") in pairs  # unmapped: a skipped stage
    local = a["at"].dt.tz_convert("Europe/Berlin")
    weekday = local.dt.day_of_week < 5
    assert weekday.mean() > 0.85  # working-hours bias
    categories = status_categories(config)
    assert categories["name:done"] == "done" and categories["name:to do"] == "new"
