"""Initial schema: sites, the delivery inbox, the transition log, issue facts, statuses, derived
requests, score snapshots, sync checkpoints and write-back state. Every table carries site_id.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# Kept literal here (not imported from store.models) so this migration never changes under our feet.
UTC_DATETIME = sa.DateTime(timezone=True)
JSON_TYPE = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
BIGINT_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table('sites',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('base_url', sa.String(length=500), nullable=True),
    sa.Column('webhook_secret', sa.String(length=500), nullable=True),
    sa.Column('webhook_token', sa.String(length=500), nullable=True),
    sa.Column('config_fingerprint', sa.String(length=128), nullable=True),
    sa.Column('created_at', UTC_DATETIME, nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sites'))
    )
    op.create_table('deliveries',
    sa.Column('id', BIGINT_ID, autoincrement=True, nullable=False),
    sa.Column('site_id', sa.String(length=64), nullable=False),
    sa.Column('idempotency_key', sa.String(length=255), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('event', sa.String(length=100), nullable=True),
    sa.Column('headers', JSON_TYPE, nullable=False),
    sa.Column('body', sa.LargeBinary(), nullable=False),
    sa.Column('received_at', UTC_DATETIME, nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('claimed_by', sa.String(length=200), nullable=True),
    sa.Column('claimed_at', UTC_DATETIME, nullable=True),
    sa.Column('processed_at', UTC_DATETIME, nullable=True),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_deliveries_site_id_sites'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deliveries')),
    sa.UniqueConstraint('site_id', 'idempotency_key', name=op.f('uq_deliveries_site_id_idempotency_key'))
    )
    op.create_index('ix_deliveries_state_id', 'deliveries', ['state', 'id'], unique=False)
    op.create_table('issues',
    sa.Column('site_id', sa.String(length=64), nullable=False),
    sa.Column('issue_id', sa.String(length=64), nullable=False),
    sa.Column('issue_key', sa.String(length=64), nullable=True),
    sa.Column('project', sa.String(length=64), nullable=True),
    sa.Column('issue_type', sa.String(length=100), nullable=True),
    sa.Column('priority', sa.String(length=100), nullable=True),
    sa.Column('status_id', sa.String(length=64), nullable=True),
    sa.Column('status_name', sa.String(length=255), nullable=True),
    sa.Column('updated_at', UTC_DATETIME, nullable=True),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_issues_site_id_sites'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('site_id', 'issue_id', name=op.f('pk_issues'))
    )
    op.create_table('requests',
    sa.Column('id', BIGINT_ID, autoincrement=True, nullable=False),
    sa.Column('site_id', sa.String(length=64), nullable=False),
    sa.Column('issue_id', sa.String(length=64), nullable=False),
    sa.Column('issue_key', sa.String(length=64), nullable=True),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('process', sa.String(length=100), nullable=False),
    sa.Column('provider', sa.String(length=100), nullable=False),
    sa.Column('requester', sa.String(length=100), nullable=True),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('opened_at', UTC_DATETIME, nullable=False),
    sa.Column('first_response_at', UTC_DATETIME, nullable=True),
    sa.Column('resolved_at', UTC_DATETIME, nullable=True),
    sa.Column('outcome', sa.String(length=16), nullable=True),
    sa.Column('rejected', sa.Boolean(), nullable=False),
    sa.Column('rejected_at', UTC_DATETIME, nullable=True),
    sa.Column('from_status', sa.String(length=255), nullable=True),
    sa.Column('to_status', sa.String(length=255), nullable=True),
    sa.Column('issue_type', sa.String(length=100), nullable=True),
    sa.Column('priority', sa.String(length=100), nullable=True),
    sa.Column('response_goal_s', sa.Float(), nullable=True),
    sa.Column('resolution_goal_s', sa.Float(), nullable=True),
    sa.Column('at_risk_ratio', sa.Float(), nullable=True),
    sa.Column('response_elapsed_s', sa.Float(), nullable=True),
    sa.Column('resolution_elapsed_s', sa.Float(), nullable=True),
    sa.Column('clock_at', UTC_DATETIME, nullable=True),
    sa.Column('paused', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_requests_site_id_sites'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_requests'))
    )
    op.create_index('ix_requests_site_id_issue_id', 'requests', ['site_id', 'issue_id'], unique=False)
    op.create_index('ix_requests_site_id_provider_resolved_at', 'requests', ['site_id', 'provider', 'resolved_at'], unique=False)
    op.create_table('score_snapshots',
    sa.Column('id', BIGINT_ID, autoincrement=True, nullable=False),
    sa.Column('site_id', sa.String(length=64), nullable=False),
    sa.Column('period_kind', sa.String(length=16), nullable=False),
    sa.Column('period', sa.String(length=16), nullable=False),
    sa.Column('team', sa.String(length=100), nullable=False),
    sa.Column('breakdown', sa.String(length=32), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('payload', JSON_TYPE, nullable=False),
    sa.Column('computed_at', UTC_DATETIME, nullable=False),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_score_snapshots_site_id_sites'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_score_snapshots')),
    sa.UniqueConstraint('site_id', 'period_kind', 'period', 'team', 'breakdown', 'key', name='uq_score_snapshots_identity')
    )
    op.create_table('statuses',
    sa.Column('site_id', sa.String(length=64), nullable=False),
    sa.Column('key', sa.String(length=300), nullable=False),
    sa.Column('status_id', sa.String(length=64), nullable=True),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('category', sa.String(length=32), nullable=True),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_statuses_site_id_sites'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('site_id', 'key', name=op.f('pk_statuses'))
    )
    op.create_table('sync_checkpoints',
    sa.Column('site_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('cursor', JSON_TYPE, nullable=False),
    sa.Column('updated_at', UTC_DATETIME, nullable=False),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_sync_checkpoints_site_id_sites'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('site_id', 'name', name=op.f('pk_sync_checkpoints'))
    )
    op.create_table('writeback_state',
    sa.Column('site_id', sa.String(length=64), nullable=False),
    sa.Column('target', sa.String(length=300), nullable=False),
    sa.Column('content_hash', sa.String(length=128), nullable=False),
    sa.Column('written_at', UTC_DATETIME, nullable=False),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_writeback_state_site_id_sites'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('site_id', 'target', name=op.f('pk_writeback_state'))
    )
    op.create_table('transitions',
    sa.Column('id', BIGINT_ID, autoincrement=True, nullable=False),
    sa.Column('site_id', sa.String(length=64), nullable=False),
    sa.Column('issue_id', sa.String(length=64), nullable=False),
    sa.Column('change_id', sa.String(length=64), nullable=False),
    sa.Column('at', UTC_DATETIME, nullable=False),
    sa.Column('from_id', sa.String(length=64), nullable=True),
    sa.Column('from_name', sa.String(length=255), nullable=True),
    sa.Column('to_id', sa.String(length=64), nullable=True),
    sa.Column('to_name', sa.String(length=255), nullable=True),
    sa.Column('author', sa.String(length=255), nullable=True),
    sa.Column('delivery_id', BIGINT_ID, nullable=True),
    sa.ForeignKeyConstraint(['delivery_id'], ['deliveries.id'], name=op.f('fk_transitions_delivery_id_deliveries'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_transitions_site_id_sites'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_transitions')),
    sa.UniqueConstraint('site_id', 'issue_id', 'change_id', name=op.f('uq_transitions_site_id_issue_id_change_id'))
    )


def downgrade() -> None:
    op.drop_table('transitions')
    op.drop_table('writeback_state')
    op.drop_table('sync_checkpoints')
    op.drop_table('statuses')
    op.drop_table('score_snapshots')
    op.drop_index('ix_requests_site_id_provider_resolved_at', table_name='requests')
    op.drop_index('ix_requests_site_id_issue_id', table_name='requests')
    op.drop_table('requests')
    op.drop_table('issues')
    op.drop_index('ix_deliveries_state_id', table_name='deliveries')
    op.drop_table('deliveries')
    op.drop_table('sites')
