"""The admin page's preview in the real server: gunicorn (embedded mode; gthread and gevent workers,
whose children both come from the fork server) spreads a site of more than one
chunk over two processes from inside a request, and answers what one process computes (issue 15;
docs/configuration.md, "On several cores"). SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from sqlalchemy import Engine, insert
from sqlalchemy.orm import Session

from baton.config import load_config_text
from baton.scoring.simulate import simulate_frames, status_catalogue
from baton.store.chunked import DEFAULT_CHUNK
from baton.store.inbox import ensure_site_exists
from baton.store.live_config import ConfigResolver
from baton.store.models import IssueRow, TransitionRow
from baton.store.preview import run_preview
from baton.store.rederive import apply_pending
from baton.store.transitions import record_statuses
from baton.webhooks.serialize import preview_record
from tests.integration.api.admin_support import ADMIN_NOW, ADMIN_TOKEN, DEMO_CONFIG, publish_demo
from tests.integration.webhooks.support import GunicornServer

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

SITE = "big"
ISSUES = DEFAULT_CHUNK + 300
"""More than one chunk: the only size a preview is spread over processes for."""
DEMO = DEMO_CONFIG.read_text(encoding="utf-8")
DRAFT = DEMO.replace("stages: [support, dev, ops]", "stages: [support, dev]").replace(
    "      - {provider: ops, response: 2h, resolution: 8h}\n", ""
)


def _store_history(engine: Engine) -> None:
    """`ISSUES` simulated issues written straight to the log (the webhook path would take minutes), then
    the demo configuration published and applied, as an admin finds a site."""
    config = load_config_text(DEMO)
    transitions, issues = simulate_frames(
        config, ISSUES, seed=11, start=ADMIN_NOW - timedelta(weeks=6), end=ADMIN_NOW
    )
    with Session(engine) as session:
        ensure_site_exists(session, SITE)
        record_statuses(session, SITE, status_catalogue(config))
        session.commit()
    log = transitions.assign(site_id=SITE, issue_id=transitions["issue_id"].astype(str))
    columns = ["site_id", "issue_id", "change_id", "at", "from_id", "from_name", "to_id", "to_name", "author"]
    facts = issues.assign(site_id=SITE, issue_id=issues["issue_id"].astype(str))
    with engine.begin() as connection:
        connection.execute(
            insert(TransitionRow),
            [{**r, "at": r["at"].to_pydatetime()} for r in log[columns].to_dict("records")],
        )
        connection.execute(
            insert(IssueRow),
            facts[["site_id", "issue_id", "issue_key", "project", "issue_type", "priority"]].to_dict(
                "records"
            ),
        )
    publish_demo(engine, SITE, ADMIN_NOW)
    assert apply_pending(engine, ConfigResolver(None), worker="test", clock=lambda: ADMIN_NOW) == [(SITE, 1)]


@pytest.fixture(params=["gthread", "gevent"])
def server(
    db_url: str, engine: Engine, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[GunicornServer]:
    _store_history(engine)
    running = GunicornServer(
        db_url,
        tmp_path,
        workers=1,
        BATON_ADMIN_TOKEN=ADMIN_TOKEN,
        BATON_NOW=ADMIN_NOW.isoformat(),
        BATON_PREVIEW_WORKERS="2",
        BATON_WORKER_CLASS=request.param,
    ).start()
    try:
        yield running
    finally:
        running.stop()


def test_the_servers_preview_in_two_processes_equals_one_process(
    server: GunicornServer, engine: Engine
) -> None:
    answer = requests.post(
        f"{server.base}/api/v1/admin/preview?site={SITE}",
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        json={"yaml": DRAFT},
        timeout=120,
    )
    log = server.tmp / f"gunicorn-{server.port}.log"
    assert answer.status_code == 200, f"{answer.text}\n{log.read_text()[-6000:]}"
    served = answer.json()
    assert served.pop("site") == SITE

    with Session(engine) as session:
        alone = run_preview(
            session,
            SITE,
            live=load_config_text(DEMO),
            draft=load_config_text(DRAFT),
            now=ADMIN_NOW,
            workers=1,
        )
    assert served == preview_record(alone)
    assert served["issues"] == ISSUES and served["changed_total"] > 0 and served["handoffs_unmapped"]

    previewed = [line for line in log.read_text().splitlines() if "previewed a draft configuration" in line]
    assert len(previewed) == 1 and '"processes": 2' in previewed[0], previewed
