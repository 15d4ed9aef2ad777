"""Verdicts: the internal customers' append-only verdict events per site, and the verdict columns of
the derived requests and of their staging table (docs/semantics.md "Verdicts").

Revision ID: 0005_verdicts
Revises: 0004_config_versions
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_verdicts"
down_revision = "0004_config_versions"
branch_labels = None
depends_on = None

# Kept literal here (not imported from store.models) so this migration never changes under our feet.
UTC_DATETIME = sa.DateTime(timezone=True)
BIGINT_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

REQUEST_COLUMNS = (
    ("customer", sa.String(length=100)),
    ("verdict_due_at", UTC_DATETIME),
    ("verdict", sa.String(length=16)),
    ("rating", sa.Float()),
    ("verdict_reason", sa.String(length=200)),
    ("verdict_by", sa.String(length=128)),
    ("verdict_at", UTC_DATETIME),
)


def upgrade() -> None:
    op.create_table(
        "verdicts",
        sa.Column("id", BIGINT_ID, autoincrement=True, nullable=False),
        sa.Column("site_id", sa.String(length=64), nullable=False),
        sa.Column("issue_id", sa.String(length=64), nullable=False),
        sa.Column("team", sa.String(length=100), nullable=False),
        sa.Column("at", UTC_DATETIME, nullable=False),
        sa.Column("account", sa.String(length=128), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("rating", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("recorded_at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_verdicts_site_id_sites"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_verdicts")),
    )
    op.create_index("ix_verdicts_site_id_issue_id", "verdicts", ["site_id", "issue_id"], unique=False)
    for table in ("requests", "requests_staging"):
        for name, type_ in REQUEST_COLUMNS:
            op.add_column(table, sa.Column(name, type_, nullable=True))


def downgrade() -> None:
    for table in ("requests_staging", "requests"):
        with op.batch_alter_table(table) as batch:
            for name, _ in reversed(REQUEST_COLUMNS):
                batch.drop_column(name)
    op.drop_index("ix_verdicts_site_id_issue_id", table_name="verdicts")
    op.drop_table("verdicts")
