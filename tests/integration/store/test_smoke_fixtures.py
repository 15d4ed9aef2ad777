"""The shared database fixtures work on both backends."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from store.db import current_revision, head_revision
from store.models import Site


def test_db_url_is_migrated_and_empty(db_url: str) -> None:
    assert current_revision(db_url) == head_revision()


def test_site_fixture_creates_a_site(session: Session, site: str) -> None:
    assert session.execute(select(Site.id)).scalars().all() == [site]
