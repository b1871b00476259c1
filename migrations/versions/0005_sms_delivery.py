"""Outbound SMS: delivery reports, suppressions (opt-outs) and a crash-safe send record

Revision ID: 0005_sms_delivery
Revises: 0004_pmc_reminders
Create Date: 2026-11-22 06:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import app.db.base

revision = '0005_sms_delivery'
down_revision = '0004_pmc_reminders'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('claimed_at', app.db.base.UtcDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('calling_at', app.db.base.UtcDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('next_attempt_at', app.db.base.UtcDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('delivery_status', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('failure_reason', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('delivered_at', app.db.base.UtcDateTime(timezone=True), nullable=True))

    op.create_table('delivery_reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at_id', sa.String(length=100), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('retry_count', sa.Integer(), nullable=False),
    sa.Column('msisdn', sa.String(length=20), nullable=True),
    sa.Column('network_code', sa.String(length=10), nullable=True),
    sa.Column('failure_reason', sa.String(length=40), nullable=True),
    sa.Column('outbox_message_id', sa.Integer(), nullable=True),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('received_at', app.db.base.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['outbox_message_id'], ['outbox_messages.id'], name=op.f('fk_delivery_reports_outbox_message_id_outbox_messages')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_delivery_reports')),
    sa.UniqueConstraint('at_id', 'status', 'retry_count', name=op.f('uq_delivery_reports_at_id_status_retry_count'))
    )
    with op.batch_alter_table('delivery_reports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_delivery_reports_outbox_message_id'), ['outbox_message_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_delivery_reports_msisdn'), ['msisdn'], unique=False)

    op.create_table('sms_suppressions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('msisdn', sa.String(length=20), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('suppressed_at', app.db.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('lifted_at', app.db.base.UtcDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_sms_suppressions_organization_id_organizations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sms_suppressions')),
    sa.UniqueConstraint('organization_id', 'msisdn', name=op.f('uq_sms_suppressions_organization_id_msisdn'))
    )


def downgrade() -> None:
    op.drop_table('sms_suppressions')
    with op.batch_alter_table('delivery_reports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_delivery_reports_msisdn'))
        batch_op.drop_index(batch_op.f('ix_delivery_reports_outbox_message_id'))
    op.drop_table('delivery_reports')
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_column('delivered_at')
        batch_op.drop_column('failure_reason')
        batch_op.drop_column('delivery_status')
        batch_op.drop_column('next_attempt_at')
        batch_op.drop_column('calling_at')
        batch_op.drop_column('claimed_at')
