"""The service and published configuration versions (issue 15): the embedded drainer applies a pending
version and the API answers under it; a service whose file is code ignores published versions."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session

from baton.config import load_config_text
from baton.store import config_versions, pipeline
from baton.store.db import create_engine_for, upgrade_database
from baton.store.requests import load_requests_frame
from baton.webhooks.http.app import create_app, drain
from baton.webhooks.settings import Settings
from tests.integration.store.test_config_versions import DELIVERY, DELIVERY_NO_OPS, T0
from tests.integration.store.test_pipeline import _worked_example


def _app(url: str, config: Path, **variables: str):  # type: ignore[no-untyped-def]
    settings = Settings.from_env(
        {"BATON_NOW": "2026-03-09T12:00:00Z", **variables},
        database_url=url,
        config_path=str(config),
        background_processing=False,
        demo=True,
    )
    return create_app(settings)


def _teams(app) -> list[str]:  # type: ignore[no-untyped-def]
    body = app.test_client().get("/api/v1/teams?site=worked").get_json()
    return list(body["teams"])


def _kinds(url: str) -> list[str]:
    engine = create_engine_for(url)
    try:
        with Session(engine) as session:
            return list(load_requests_frame(session, "worked")["kind"])
    finally:
        engine.dispose()


def _seed(tmp_path: Path) -> tuple[str, Path]:
    url = f"sqlite:///{tmp_path / 'baton.db'}"
    upgrade_database(url)
    config = tmp_path / "pmo.yaml"
    config.write_text(DELIVERY)
    engine = create_engine_for(url)
    try:
        with Session(engine, expire_on_commit=False) as session:
            pipeline.ingest_extractions(
                session, "worked", _worked_example(), "backfill", load_config_text(DELIVERY)
            )
            session.commit()
            # the draft also drops ops as a team, so the API's team list shows which configuration it uses
            draft = DELIVERY_NO_OPS.replace(
                "  ops:\n    calendar: berlin\n", "  ops_gone:\n    calendar: berlin\n"
            )
            config_versions.publish(
                session, "worked", draft, author="pmo", comment="", base_version=None, now=T0
            )
    finally:
        engine.dispose()
    return url, config


def test_the_embedded_drainer_applies_a_pending_version_and_the_api_follows(tmp_path: Path) -> None:
    url, config = _seed(tmp_path)
    app = _app(url, config)
    try:
        assert _teams(app) == ["dev", "qa", "ops", "pm"]  # published, not applied: still the file's numbers
        assert not app.extensions["baton"].config_as_code
        drain(app)
        assert _teams(app) == ["dev", "qa", "ops_gone", "pm"]
        assert _kinds(url) == ["new", "new", "rework", "new", "unmapped"]
        engine = app.extensions["baton"].engine
        with Session(engine) as session:
            assert config_versions.rederive_status(session, "worked")["state"] == "done"
    finally:
        app.extensions["baton"].close()


def test_a_service_whose_file_is_code_ignores_published_versions(tmp_path: Path) -> None:
    url, config = _seed(tmp_path)
    app = _app(url, config, BATON_CONFIG_AS_CODE="1")
    try:
        assert app.extensions["baton"].config_as_code
        drain(app)
        assert _teams(app) == ["dev", "qa", "ops", "pm"]
        assert _kinds(url) == ["new", "new", "rework", "new", "new"]
        with Session(app.extensions["baton"].engine) as session:
            assert config_versions.rederive_status(session, "worked")["state"] == "pending"
    finally:
        app.extensions["baton"].close()
