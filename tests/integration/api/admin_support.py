"""Helpers for the admin page's tests: a simulated history fed through the webhook path (so the transition
log, the requests and the unmapped hand-offs are all real), and the first published version."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine

ROOT = Path(__file__).resolve().parents[3]
DEMO_CONFIG = ROOT / "config" / "examples" / "demo.yaml"
ADMIN_TOKEN = "admin-token-for-tests-0123456789abcdef"


def load_history(engine: Engine, site: str, *, issues: int, seed: int, now: datetime, weeks: int = 8) -> int:
    """`issues` simulated issues of the demo configuration, as webhook deliveries through replay; returns
    the number of deliveries."""
    from baton.config.loader import load_config
    from baton.scoring.simulate import simulate_deliveries
    from baton.webhooks.cli.replay_cmd import Item, ReplayReport, replay_items

    config = load_config(DEMO_CONFIG)
    deliveries = simulate_deliveries(config, issues, seed=seed, start=now - timedelta(weeks=weeks), end=now)
    items = [
        Item(
            origin=f"sim:{d.payload['issue']['key']}:{d.payload['changelog']['id']}",
            body=json.dumps(d.payload, separators=(",", ":")).encode("utf-8"),
            headers=d.headers,
            doc=d.payload,
        )
        for d in deliveries
    ]
    report = ReplayReport()
    replay_items(engine, site, config, items, report)
    assert not report.errors, report.errors
    return len(items)


def publish_demo(engine: Engine, site: str, now: datetime, author: str = "seed") -> int:
    """Publish config/examples/demo.yaml as the site's first version; returns its number."""
    from sqlalchemy.orm import Session

    from baton.store import config_versions

    with Session(engine) as session:
        version = config_versions.publish(
            session,
            site,
            DEMO_CONFIG.read_text(encoding="utf-8"),
            author=author,
            comment="the demo configuration",
            base_version=None,
            now=now,
        )
    return version.number
