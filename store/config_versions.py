"""Versioned PMO configuration, per site (issue 15; docs/configuration.md, "Publishing").

    publish(session, site, yaml_text, author=..., comment=..., base_version=n, now=...)  -> ConfigVersion
    history(session, site) / get(session, site, n) / latest(session, site)
    rollback(session, site, n, author=..., now=...)    publishes a copy of version n as a new version
    rederive_status(session, site)                     the re-derivation towards the newest version

A version is validated with the config loader before it is stored (`baton.config.ConfigError` with every
problem), never changed afterwards, and belongs to one site: every query filters by `site_id`, so an
admin of one site can never change, read or number another site's versions.

Publishing is optimistic: the caller names the version it edited (`base_version`; None for a site's
first version). When that is not the latest, nothing is stored and `ConfigConflict` says which version
is (and carries the text that was not stored, so nothing is lost). Two publishes racing from the same
base both see it as the latest; the primary key (site, number) lets only one of them store it, and the
other gets `ConfigConflict` too.

A published version marks the site's re-derivation `pending`; a worker or the embedded drainer picks it
up (`baton.store.rederive.apply_pending`) and swaps the site's numbers in one transaction when done.
`publish` and `rollback` COMMIT; the readers do not.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from baton.config import ConfigError, Problem, fingerprint, load_config_text
from baton.config.schema import BatonConfig
from baton.store.inbox import ensure_site_exists
from baton.store.models import ConfigVersionRow, SiteConfigState

MAX_YAML_BYTES = 1_000_000
"""A published configuration's largest size (UTF-8 bytes); the worked examples are a few kB."""
MAX_AUTHOR = 200
MAX_COMMENT = 2000

PENDING, RUNNING, DONE, FAILED = "pending", "running", "done", "failed"
REDERIVE_STATES: tuple[str, ...] = (PENDING, RUNNING, DONE, FAILED)


@dataclass(frozen=True)
class ConfigVersion:
    """One published configuration of one site."""

    site: str
    number: int
    yaml_text: str
    fingerprint: str
    author: str
    created_at: datetime
    comment: str

    def config(self) -> BatonConfig:
        """The validated configuration (it was valid when published; loaded again, not cached here)."""
        return load_config_text(self.yaml_text, version_filename(self.site, self.number))

    def as_dict(self, *, with_text: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "site": self.site,
            "number": self.number,
            "fingerprint": self.fingerprint,
            "author": self.author,
            "created_at": self.created_at.isoformat().replace("+00:00", "Z"),
            "comment": self.comment,
        }
        if with_text:
            out["yaml_text"] = self.yaml_text
        return out


class ConfigConflict(Exception):
    """`base_version` is not the site's latest version: nothing was stored. `.latest` is the latest
    version's number, `.yaml_text` the text that was not stored (so the caller can merge and retry)."""

    def __init__(self, site: str, base_version: int | None, latest: int, yaml_text: str) -> None:
        self.site = site
        self.base_version = base_version
        self.latest = latest
        self.yaml_text = yaml_text
        base = "no version" if base_version is None else f"version {base_version}"
        super().__init__(
            f"site '{site}': this draft was edited from {base}, but version {latest} is the latest; "
            "nothing was stored. Open the latest version, apply the change again and publish."
        )


class ConfigVersionNotFound(LookupError):
    """The site has no configuration version with that number."""

    def __init__(self, site: str, number: int, known: list[int]) -> None:
        self.site = site
        self.number = number
        span = f"versions 1-{max(known)}" if known else "no published version"
        super().__init__(f"site '{site}' has no configuration version {number} (it has {span})")


def version_filename(site: str, number: int) -> str:
    """The name problems of a stored version are reported under (`site@v3.yaml:12: ...`)."""
    return f"{site}@v{number}.yaml"


def _of(row: ConfigVersionRow) -> ConfigVersion:
    return ConfigVersion(
        site=row.site_id,
        number=row.number,
        yaml_text=row.yaml_text,
        fingerprint=row.fingerprint,
        author=row.author,
        created_at=row.created_at,
        comment=row.comment,
    )


def validate_text(yaml_text: str, filename: str = "draft.yaml") -> BatonConfig:
    """The configuration `yaml_text` describes, or `ConfigError` with every problem (size first)."""
    size = len(yaml_text.encode("utf-8"))
    if size > MAX_YAML_BYTES:
        raise ConfigError(
            [
                Problem(
                    (), None, f"the configuration is {size:,} bytes; at most {MAX_YAML_BYTES:,} are accepted"
                )
            ],
            filename,
        )
    return load_config_text(yaml_text, filename)


def _latest_number(session: Session, site: str) -> int | None:
    stmt = (
        select(ConfigVersionRow.number)
        .where(ConfigVersionRow.site_id == site)
        .order_by(ConfigVersionRow.number.desc())
        .limit(1)
    )
    return session.execute(stmt).scalar_one_or_none()


def _mark_pending(session: Session, site: str, number: int, now: datetime) -> None:
    state = session.get(SiteConfigState, site, populate_existing=True)
    if state is None:
        state = SiteConfigState(site_id=site, applied_version=None)
        session.add(state)
    state.target_version = number
    state.state = PENDING
    state.done_issues = 0
    state.total_issues = 0
    state.error = None
    state.claimed_by = None
    state.updated_at = now


def publish(
    session: Session,
    site: str,
    yaml_text: str,
    *,
    author: str,
    comment: str,
    base_version: int | None,
    now: datetime,
) -> ConfigVersion:
    """Validate `yaml_text` and store it as the site's next version; COMMITS. Raises `ConfigError` (every
    problem; nothing stored) or `ConfigConflict` (`base_version` is not the latest; nothing stored)."""
    config = validate_text(yaml_text)
    author = (author or "").strip()[:MAX_AUTHOR] or "unknown"
    comment = (comment or "").strip()[:MAX_COMMENT]
    ensure_site_exists(session, site)
    latest_number = _latest_number(session, site)
    if latest_number != base_version:
        session.rollback()
        if latest_number is None:  # a base that does not exist: there is nothing to edit from yet
            raise ConfigConflict(site, base_version, 0, yaml_text)
        raise ConfigConflict(site, base_version, latest_number, yaml_text)
    number = (latest_number or 0) + 1
    row = ConfigVersionRow(
        site_id=site,
        number=number,
        yaml_text=yaml_text,
        fingerprint=fingerprint(config),
        author=author,
        comment=comment,
        created_at=now,
    )
    try:
        session.add(row)
        session.flush()
        _mark_pending(session, site, number, now)
        session.commit()
    except IntegrityError:  # another publish from the same base stored `number` first
        session.rollback()
        raise ConfigConflict(site, base_version, _latest_number(session, site) or number, yaml_text) from None
    return _of(row)


def history(session: Session, site: str) -> list[ConfigVersion]:
    """Every version of the site, newest first."""
    stmt = (
        select(ConfigVersionRow)
        .where(ConfigVersionRow.site_id == site)
        .order_by(ConfigVersionRow.number.desc())
    )
    return [_of(row) for row in session.execute(stmt).scalars()]


def get(session: Session, site: str, number: int) -> ConfigVersion:
    """Version `number` of the site; `ConfigVersionNotFound` when it has none."""
    row = session.get(ConfigVersionRow, (site, int(number)))
    if row is None:
        known = list(
            session.execute(select(ConfigVersionRow.number).where(ConfigVersionRow.site_id == site)).scalars()
        )
        raise ConfigVersionNotFound(site, int(number), known)
    return _of(row)


def latest(session: Session, site: str) -> ConfigVersion | None:
    """The site's newest version (the live one, unless a service runs with its configuration as code)."""
    number = _latest_number(session, site)
    return None if number is None else get(session, site, number)


def rollback(
    session: Session, site: str, number: int, *, author: str, now: datetime, comment: str | None = None
) -> ConfigVersion:
    """Publish a copy of version `number` as the site's next version (history is never rewritten); COMMITS."""
    old = get(session, site, number)
    return publish(
        session,
        site,
        old.yaml_text,
        author=author,
        comment=comment if comment is not None else f"rollback to version {number}",
        base_version=_latest_number(session, site),
        now=now,
    )


def applied_version(session: Session, site: str) -> int | None:
    """The version the site's stored requests are derived under (None: none published and applied)."""
    stmt = select(SiteConfigState.applied_version).where(SiteConfigState.site_id == site)
    return session.execute(stmt).scalar_one_or_none()


def rederive_status(session: Session, site: str) -> dict[str, Any]:
    """`{"version", "state", "done_issues", "total_issues", "error"}` of the site's re-derivation towards
    its newest version (`state` one of pending, running, done, failed; version None and state done when
    nothing was ever published)."""
    state = session.get(SiteConfigState, site, populate_existing=True)
    if state is None:
        return {"version": None, "state": DONE, "done_issues": 0, "total_issues": 0, "error": None}
    return {
        "version": state.target_version if state.target_version is not None else state.applied_version,
        "state": state.state,
        "done_issues": int(state.done_issues),
        "total_issues": int(state.total_issues),
        "error": state.error,
    }


__all__ = [
    "ConfigConflict",
    "ConfigVersion",
    "ConfigVersionNotFound",
    "applied_version",
    "get",
    "history",
    "latest",
    "publish",
    "rederive_status",
    "rollback",
    "validate_text",
    "version_filename",
]
