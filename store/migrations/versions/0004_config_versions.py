"""Versioned PMO configuration per site (issue 15): published versions, which version a site's requests
are derived under with its re-derivation progress, and the staging table a re-derivation fills before
the site's requests are swapped in one transaction.

Revision ID: 0004_config_versions
Revises: 0001
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_config_versions"
down_revision = "0001"
branch_labels = None
depends_on = None

# Kept literal here (not imported from store.models) so this migration never changes under our feet.
UTC_DATETIME = sa.DateTime(timezone=True)
BIGINT_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "config_versions",
        sa.Column("site_id", sa.String(length=64), nullable=False),
        sa.Column("number", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("yaml_text", sa.Text(), nullable=False),
        sa.Column("fingerprint", sa.String(length=128), nullable=False),
        sa.Column("author", sa.String(length=200), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_config_versions_site_id_sites"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("site_id", "number", name=op.f("pk_config_versions")),
    )
    op.create_table(
        "site_config_state",
        sa.Column("site_id", sa.String(length=64), nullable=False),
        sa.Column("applied_version", sa.Integer(), nullable=True),
        sa.Column("target_version", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("done_issues", sa.Integer(), nullable=False),
        sa.Column("total_issues", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("claimed_by", sa.String(length=200), nullable=True),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_site_config_state_site_id_sites"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("site_id", name=op.f("pk_site_config_state")),
    )
    op.create_table(
        "requests_staging",
        sa.Column("id", BIGINT_ID, autoincrement=True, nullable=False),
        sa.Column("site_id", sa.String(length=64), nullable=False),
        sa.Column("issue_id", sa.String(length=64), nullable=False),
        sa.Column("issue_key", sa.String(length=64), nullable=True),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("process", sa.String(length=100), nullable=False),
        sa.Column("provider", sa.String(length=100), nullable=False),
        sa.Column("requester", sa.String(length=100), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("opened_at", UTC_DATETIME, nullable=False),
        sa.Column("first_response_at", UTC_DATETIME, nullable=True),
        sa.Column("resolved_at", UTC_DATETIME, nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("rejected", sa.Boolean(), nullable=False),
        sa.Column("rejected_at", UTC_DATETIME, nullable=True),
        sa.Column("from_status", sa.String(length=255), nullable=True),
        sa.Column("to_status", sa.String(length=255), nullable=True),
        sa.Column("issue_type", sa.String(length=100), nullable=True),
        sa.Column("priority", sa.String(length=100), nullable=True),
        sa.Column("response_goal_s", sa.Float(), nullable=True),
        sa.Column("resolution_goal_s", sa.Float(), nullable=True),
        sa.Column("at_risk_ratio", sa.Float(), nullable=True),
        sa.Column("response_elapsed_s", sa.Float(), nullable=True),
        sa.Column("resolution_elapsed_s", sa.Float(), nullable=True),
        sa.Column("clock_at", UTC_DATETIME, nullable=True),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_requests_staging_site_id_sites"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_requests_staging")),
    )
    op.create_index(
        "ix_requests_staging_site_id_issue_id", "requests_staging", ["site_id", "issue_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_requests_staging_site_id_issue_id", table_name="requests_staging")
    op.drop_table("requests_staging")
    op.drop_table("site_config_state")
    op.drop_table("config_versions")
