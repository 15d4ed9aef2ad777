"""The database schema as SQLAlchemy 2 typed declarative models.

Every table carries `site_id` (the Jira site, i.e. tenant) and every query in `store/` filters by it.
The transition log (`transitions`) and the issue facts are the source of truth; `requests` and
`score_snapshots` are derived and can be rebuilt at any time (`baton.store.pipeline.rederive_site`).
The raw deliveries in `deliveries` (the inbox) are never deleted.

Datetimes are stored in UTC. `UTCDateTime` makes them come back timezone-aware (UTC) on every
dialect: PostgreSQL stores `timestamptz`; SQLite has no timezone type, so naive UTC is stored and
UTC is re-attached on the way out.

The Alembic migrations in `store/migrations/versions/` create exactly this schema
(`tests/integration/store/test_migrations.py` checks that the two never drift apart).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

DELIVERY_SOURCES: tuple[str, ...] = ("webhook", "replay", "backfill")
DELIVERY_STATES: tuple[str, ...] = ("pending", "processing", "done", "ignored", "failed", "quarantined")

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every dialect.

    Binding: aware values are converted to UTC; naive values are taken to be UTC already.
    Results: always aware, in UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):  # pandas Timestamp is a datetime subclass
            raise TypeError(f"expected a datetime, got {type(value).__name__}")
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


JSONType = JSON().with_variant(postgresql.JSONB(), "postgresql")
"""JSON on SQLite, JSONB on PostgreSQL."""

BigIntId = BigInteger().with_variant(Integer(), "sqlite")
"""Autoincrementing 64-bit key (SQLite only autoincrements INTEGER PRIMARY KEY)."""

SiteId = String(64)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime(), dict[str, Any]: JSONType}

    if TYPE_CHECKING:
        # SQLAlchemy types `__table__` as any FromClause (a class may map a join or a subquery). Every
        # model here maps a plain Table, so Core statements on it (`update(Delivery.__table__)`) type-check.
        __table__: ClassVar[Table]


def _site_fk() -> Any:
    return ForeignKey("sites.id", ondelete="CASCADE")


class Site(Base):
    """A Jira site (tenant). `id` is a short slug used in URLs (`/webhooks/jira/<site>`)."""

    __tablename__ = "sites"

    id: Mapped[str] = mapped_column(SiteId, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    base_url: Mapped[str | None] = mapped_column(String(500))
    webhook_secret: Mapped[str | None] = mapped_column(String(500))
    webhook_token: Mapped[str | None] = mapped_column(String(500))
    config_fingerprint: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Delivery(Base):
    """The inbox: one raw delivery (webhook request, replayed document or backfill page), kept forever."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("site_id", "idempotency_key"),
        Index("ix_deliveries_state_id", "state", "id"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    site_id: Mapped[str] = mapped_column(SiteId, _site_fk())
    idempotency_key: Mapped[str] = mapped_column(String(255))
    source: Mapped[str] = mapped_column(String(16), default="webhook")
    event: Mapped[str | None] = mapped_column(String(100))
    headers: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    body: Mapped[bytes] = mapped_column(LargeBinary)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    claimed_by: Mapped[str | None] = mapped_column(String(200))
    claimed_at: Mapped[datetime | None]
    processed_at: Mapped[datetime | None]


class TransitionRow(Base):
    """The transition log: one status change of one issue, stored once per (site, issue, change id)."""

    __tablename__ = "transitions"
    __table_args__ = (
        # Its index also serves every lookup by (site_id, issue_id).
        UniqueConstraint("site_id", "issue_id", "change_id"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    site_id: Mapped[str] = mapped_column(SiteId, _site_fk())
    issue_id: Mapped[str] = mapped_column(String(64))
    change_id: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime]
    from_id: Mapped[str | None] = mapped_column(String(64))
    from_name: Mapped[str | None] = mapped_column(String(255))
    to_id: Mapped[str | None] = mapped_column(String(64))
    to_name: Mapped[str | None] = mapped_column(String(255))
    author: Mapped[str | None] = mapped_column(String(255))
    delivery_id: Mapped[int | None] = mapped_column(
        BigIntId, ForeignKey("deliveries.id", ondelete="SET NULL")
    )


class IssueRow(Base):
    """What we keep of an issue besides its transitions (latest known values)."""

    __tablename__ = "issues"

    site_id: Mapped[str] = mapped_column(SiteId, _site_fk(), primary_key=True)
    issue_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    issue_key: Mapped[str | None] = mapped_column(String(64))
    project: Mapped[str | None] = mapped_column(String(64))
    issue_type: Mapped[str | None] = mapped_column(String(100))
    priority: Mapped[str | None] = mapped_column(String(100))
    status_id: Mapped[str | None] = mapped_column(String(64))
    status_name: Mapped[str | None] = mapped_column(String(255))
    updated_at: Mapped[datetime | None]


class StatusRow(Base):
    """A Jira status seen on the site and its category (`new`, `indeterminate`, `done`).

    `key` is `id:<status id>` when Jira gave the id, else `name:<normalised name>`
    (`baton.config.ownership.keys_of`)."""

    __tablename__ = "statuses"

    site_id: Mapped[str] = mapped_column(SiteId, _site_fk(), primary_key=True)
    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    status_id: Mapped[str | None] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(255))
    category: Mapped[str | None] = mapped_column(String(32))


class RequestColumns:
    """The columns of a derived internal service request (`baton.scoring.model.REQUEST_COLUMNS`), declared
    once for `requests` and its staging twin `requests_staging`: each mapped subclass gets its own copy of
    every column (its own foreign key to `sites` included)."""

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    site_id: Mapped[str] = mapped_column(SiteId, _site_fk())
    issue_id: Mapped[str] = mapped_column(String(64))
    issue_key: Mapped[str | None] = mapped_column(String(64))
    seq: Mapped[int] = mapped_column(Integer)
    process: Mapped[str] = mapped_column(String(100))
    provider: Mapped[str] = mapped_column(String(100))
    requester: Mapped[str | None] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16))
    opened_at: Mapped[datetime]
    first_response_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    outcome: Mapped[str | None] = mapped_column(String(16))
    rejected: Mapped[bool] = mapped_column(Boolean, default=False)
    rejected_at: Mapped[datetime | None]
    from_status: Mapped[str | None] = mapped_column(String(255))
    to_status: Mapped[str | None] = mapped_column(String(255))
    issue_type: Mapped[str | None] = mapped_column(String(100))
    priority: Mapped[str | None] = mapped_column(String(100))
    response_goal_s: Mapped[float | None] = mapped_column(Float)
    resolution_goal_s: Mapped[float | None] = mapped_column(Float)
    at_risk_ratio: Mapped[float | None] = mapped_column(Float)
    response_elapsed_s: Mapped[float | None] = mapped_column(Float)
    resolution_elapsed_s: Mapped[float | None] = mapped_column(Float)
    clock_at: Mapped[datetime | None]
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    customer: Mapped[str | None] = mapped_column(String(100))
    verdict_due_at: Mapped[datetime | None]
    verdict: Mapped[str | None] = mapped_column(String(16))
    rating: Mapped[float | None] = mapped_column(Float)
    verdict_reason: Mapped[str | None] = mapped_column(String(200))
    verdict_by: Mapped[str | None] = mapped_column(String(128))
    verdict_at: Mapped[datetime | None]


class RequestRow(RequestColumns, Base):
    """A derived internal service request (`baton.scoring.model.REQUEST_COLUMNS`); rebuilt per issue."""

    __tablename__ = "requests"
    __table_args__ = (
        Index("ix_requests_site_id_issue_id", "site_id", "issue_id"),
        Index("ix_requests_site_id_provider_resolved_at", "site_id", "provider", "resolved_at"),
    )


class VerdictRow(Base):
    """One verdict of an internal customer on a delivery (`baton.scoring.model.Verdict`): append-only.

    Only verdicts that were valid when given are recorded; re-derivation checks them again."""

    __tablename__ = "verdicts"
    __table_args__ = (Index("ix_verdicts_site_id_issue_id", "site_id", "issue_id"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    site_id: Mapped[str] = mapped_column(SiteId, _site_fk())
    issue_id: Mapped[str] = mapped_column(String(64))
    team: Mapped[str] = mapped_column(String(100))
    at: Mapped[datetime]
    account: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(16))
    rating: Mapped[int | None] = mapped_column(Integer)
    reason: Mapped[str | None] = mapped_column(String(200))
    comment: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(16))
    """`cli` or `api`."""
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)


class StagedRequestRow(RequestColumns, Base):
    """A request derived under a configuration version that is not live yet: a site's re-derivation after
    a publish writes here chunk by chunk, then `baton.store.rederive` swaps the site's rows into `requests`
    in one transaction, so no reader sees a half re-derived site. Same columns as `requests` (`RequestColumns`)."""

    __tablename__ = "requests_staging"
    __table_args__ = (Index("ix_requests_staging_site_id_issue_id", "site_id", "issue_id"),)


class ConfigVersionRow(Base):
    """A published PMO configuration of one site: version `number` (1, 2, ...), its YAML text as
    published, the normalised fingerprint, who, when and why. Never updated; a rollback publishes a copy."""

    __tablename__ = "config_versions"

    site_id: Mapped[str] = mapped_column(SiteId, _site_fk(), primary_key=True)
    number: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    yaml_text: Mapped[str] = mapped_column(Text)
    fingerprint: Mapped[str] = mapped_column(String(128))
    author: Mapped[str] = mapped_column(String(200))
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SiteConfigState(Base):
    """Which published version a site's stored requests are derived under (`applied_version`, None: the
    file configuration), and the re-derivation towards `target_version` (`state`: pending, running,
    done, failed; progress in issues; the error of a failed run)."""

    __tablename__ = "site_config_state"

    site_id: Mapped[str] = mapped_column(SiteId, _site_fk(), primary_key=True)
    applied_version: Mapped[int | None] = mapped_column(Integer)
    target_version: Mapped[int | None] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16), default="done")
    done_issues: Mapped[int] = mapped_column(Integer, default=0)
    total_issues: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    claimed_by: Mapped[str | None] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ScoreSnapshot(Base):
    """A computed scorecard row, kept for history and for gadgets. `breakdown`/`key` are "" for team totals."""

    __tablename__ = "score_snapshots"
    __table_args__ = (
        UniqueConstraint(
            "site_id", "period_kind", "period", "team", "breakdown", "key", name="uq_score_snapshots_identity"
        ),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    site_id: Mapped[str] = mapped_column(SiteId, _site_fk())
    period_kind: Mapped[str] = mapped_column(String(16))
    period: Mapped[str] = mapped_column(String(16))
    team: Mapped[str] = mapped_column(String(100))
    breakdown: Mapped[str] = mapped_column(String(32), default="")
    key: Mapped[str] = mapped_column(String(255), default="")
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType)
    computed_at: Mapped[datetime] = mapped_column(default=utcnow)


class SyncCheckpoint(Base):
    """Where a resumable job (e.g. backfill) got to: an opaque JSON cursor per (site, name)."""

    __tablename__ = "sync_checkpoints"

    site_id: Mapped[str] = mapped_column(SiteId, _site_fk(), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    cursor: Mapped[dict[str, Any]] = mapped_column(JSONType)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class WritebackState(Base):
    """What was last written to Jira per target (e.g. `issue:10001:baton.sla`), to skip unchanged writes."""

    __tablename__ = "writeback_state"

    site_id: Mapped[str] = mapped_column(SiteId, _site_fk(), primary_key=True)
    target: Mapped[str] = mapped_column(String(300), primary_key=True)
    content_hash: Mapped[str] = mapped_column(String(128))
    written_at: Mapped[datetime] = mapped_column(default=utcnow)


ALERT_STATUSES: tuple[str, ...] = ("pending", "sent", "failed")


class AlertRow(Base):
    """One notification of one alert target about one request crossing into one state
    (`baton.scoring.alerts`), stored before it is sent: the unique key makes it once per
    (site, request, state, target), ever. `status` is pending until the target acknowledged it (sent)
    or Baton gave up (failed); `lease_*` mark a pass sending it now, so two processes never send the
    same row at once."""

    __tablename__ = "alerts"
    __table_args__ = (
        UniqueConstraint("site_id", "request_key", "state", "target"),
        Index("ix_alerts_site_id_status", "site_id", "status"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    site_id: Mapped[str] = mapped_column(SiteId, _site_fk())
    request_key: Mapped[str] = mapped_column(String(100))
    state: Mapped[str] = mapped_column(String(16))
    target: Mapped[str] = mapped_column(String(100))
    issue_id: Mapped[str] = mapped_column(String(64))
    issue_key: Mapped[str | None] = mapped_column(String(64))
    crossed_at: Mapped[datetime]
    detected_at: Mapped[datetime]
    details: Mapped[dict[str, Any]] = mapped_column(JSONType)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(500))
    last_attempt_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    lease_owner: Mapped[str | None] = mapped_column(String(200))
    lease_until: Mapped[datetime | None]


__all__ = [
    "ALERT_STATUSES",
    "DELIVERY_SOURCES",
    "DELIVERY_STATES",
    "AlertRow",
    "Base",
    "ConfigVersionRow",
    "Delivery",
    "IssueRow",
    "RequestRow",
    "ScoreSnapshot",
    "Site",
    "SiteConfigState",
    "StagedRequestRow",
    "StatusRow",
    "SyncCheckpoint",
    "TransitionRow",
    "UTCDateTime",
    "WritebackState",
    "utcnow",
]
