"""Fixtures for the JSON API tests: a seeded two-site database, an app on it, a local JWKS server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.integration.api.admin_support import ADMIN_NOW, ADMIN_TOKEN, JiraAdmins, jira_admins
from tests.integration.api.forge_support import (
    APP_ID,
    CLOUD_A,
    CLOUD_B,
    INSTALL_A,
    INSTALL_B,
    SITE_MAP,
    Jwks,
    forge_token,
    start_jwks,
)
from tests.integration.api.seeding import Seeded, seed

__all__ = ["APP_ID", "CLOUD_A", "CLOUD_B", "INSTALL_A", "INSTALL_B", "Jwks", "forge_token"]


@pytest.fixture(scope="session")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="session")
def jwks(rsa_key: rsa.RSAPrivateKey) -> Iterator[Jwks]:
    """A JWKS endpoint on 127.0.0.1 publishing the public half of `rsa_key` (kid `test-key-1`)."""
    served, stop = start_jwks(rsa_key)
    try:
        yield served
    finally:
        stop()


@pytest.fixture(scope="module")
def seeded_db(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Seeded]:
    from baton.store.db import create_engine_for, upgrade_database

    url = f"sqlite:///{tmp_path_factory.mktemp('api')}/api.db"
    upgrade_database(url)
    engine = create_engine_for(url)
    try:
        seeded = seed(engine)
    finally:
        engine.dispose()
    return url, seeded


@pytest.fixture()
def make_app(seeded_db: tuple[str, Seeded], jwks: Jwks):
    from baton.webhooks.http.app import create_app
    from baton.webhooks.settings import Settings

    url, seeded = seeded_db
    apps = []

    def make(*, demo: bool = False, **variables: str):
        """An app whose settings are read from these BATON_* variables (`variables` override them)."""
        environment = {
            "BATON_NOW": seeded.now.isoformat(),
            "BATON_SECRET_KEY": "test-secret-key-that-is-long-enough-0123456789",
            "BATON_FORGE_APP_ID": APP_ID,
            "BATON_FORGE_JWKS_URL": jwks.url,
            "BATON_FORGE_SITES": SITE_MAP,
            **variables,
        }
        settings = Settings.from_env(
            environment,
            database_url=url,
            config_path=str(seeded.config_path),
            background_processing=False,
            demo=demo,
        )
        app = create_app(settings)
        app.config.update(TESTING=True)
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.extensions["baton"].engine.dispose()


@pytest.fixture
def make_admin_app(db_url: str, jwks: Jwks) -> Iterator:
    """An admin-page app on `db_url` (SQLite and PostgreSQL) with the admin token and Forge set; keyword
    arguments are BATON_* variables that override those."""
    from baton.webhooks.http.app import create_app
    from baton.webhooks.settings import Settings

    apps = []

    def make(*, config_path: str | None = None, **variables: str):
        environment = {
            "BATON_NOW": ADMIN_NOW.isoformat(),
            "BATON_ADMIN_TOKEN": ADMIN_TOKEN,
            "BATON_FORGE_APP_ID": APP_ID,
            "BATON_FORGE_JWKS_URL": jwks.url,
            "BATON_FORGE_SITES": SITE_MAP,
            **variables,
        }
        settings = Settings.from_env(
            environment, database_url=db_url, config_path=config_path, background_processing=False
        )
        app = create_app(settings)
        app.config.update(TESTING=True)
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.extensions["baton"].close()


@pytest.fixture
def jira_sites() -> Iterator[JiraAdmins]:
    """A Jira stand-in where `pmo-admin` is a Jira administrator, `sysadmin` a system administrator and
    `dev-user` an ordinary user (contract-checked; the test fails on any violation)."""
    with jira_admins(pmo_admin=["ADMINISTER"], sysadmin=["SYSTEM_ADMIN"], dev_user=["USER_PICKER"]) as jira:
        yield jira
