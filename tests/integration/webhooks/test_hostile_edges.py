"""Issue 12, rows 6, 7 and 12: hostile input gets a clear 4xx, never a 500, and is never logged in full."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from baton.store.db import upgrade_database
from baton.webhooks.http.app import create_app
from baton.webhooks.settings import Settings

ADMIN = "admin-token-for-the-hostile-tests"


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    url = f"sqlite:///{tmp_path / 'hostile.db'}"
    upgrade_database(url)
    app = create_app(Settings(database_url=url, admin_token=ADMIN, background_processing=False))
    yield app
    app.extensions["baton"].close()


def test_a_non_ascii_share_link_is_401_not_500(app: Flask) -> None:
    response = app.test_client().get("/api/v1/teams", headers={"X-Baton-Share": "é.é"})
    assert response.status_code == 401
    assert response.get_json()["message"] == "share link is malformed"


@pytest.mark.parametrize("limit", ["abc", "1.5", "-"])
def test_a_non_numeric_inbox_limit_is_400_not_500(app: Flask, limit: str) -> None:
    response = app.test_client().get(
        f"/api/inbox?limit={limit}", headers={"Authorization": f"Bearer {ADMIN}"}
    )
    assert response.status_code == 400
    body = response.get_json()
    assert (body["error"], body["hint"]) == ("bad_request", "for example limit=100")
    assert body["message"] == f"limit must be a whole number, not {limit!r}"


def test_a_valid_inbox_limit_still_answers(app: Flask) -> None:
    response = app.test_client().get("/api/inbox?limit=5", headers={"Authorization": f"Bearer {ADMIN}"})
    assert response.status_code == 200
    assert response.get_json()["deliveries"] == []


def test_an_unknown_site_name_is_logged_cut_to_64_characters(app: Flask) -> None:
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logger = logging.getLogger("baton.webhooks")
    logger.addHandler(handler)
    try:
        name = "s" * 5000
        response = app.test_client().post(
            f"/webhooks/jira/{name}", json={"webhookEvent": "jira:issue_updated"}
        )
    finally:
        logger.removeHandler(handler)
    assert response.status_code == 404
    rejected = [r for r in records if getattr(r, "event", None) == "delivery_rejected"]
    assert [r.site for r in rejected] == ["s" * 64]  # type: ignore[attr-defined]
