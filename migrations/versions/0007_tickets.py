"""Complaint tickets with their history, voice calls, supervisors' phones, SLA hours per organization

Revision ID: 0007_tickets
Revises: 0006_campaigns
Create Date: 2026-11-22 07:42:25.707018
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import app.db.base

revision = '0007_tickets'
down_revision = '0006_campaigns'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('tickets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=12), nullable=False),
    sa.Column('msisdn', sa.String(length=20), nullable=True),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.Column('category', sa.String(length=12), nullable=False),
    sa.Column('place_id', sa.Integer(), nullable=True),
    sa.Column('project_id', sa.Integer(), nullable=True),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('recording_url', sa.String(length=500), nullable=True),
    sa.Column('language', sa.String(length=8), nullable=True),
    sa.Column('priority', sa.String(length=8), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('assignee_id', sa.Integer(), nullable=True),
    sa.Column('due_at', app.db.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('escalated_at', app.db.base.UtcDateTime(timezone=True), nullable=True),
    sa.Column('satisfied', sa.Boolean(), nullable=True),
    sa.Column('source_key', sa.String(length=120), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', app.db.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', app.db.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', app.db.base.UtcDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['assignee_id'], ['users.id'], name=op.f('fk_tickets_assignee_id_users')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_tickets_created_by_id_users')),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_tickets_organization_id_organizations')),
    sa.ForeignKeyConstraint(['place_id'], ['places.id'], name=op.f('fk_tickets_place_id_places')),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_tickets_project_id_projects')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tickets')),
    sa.UniqueConstraint('organization_id', 'reference', name=op.f('uq_tickets_organization_id_reference')),
    sa.UniqueConstraint('source_key', name=op.f('uq_tickets_source_key'))
    )
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tickets_assignee_id'), ['assignee_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_tickets_msisdn'), ['msisdn'], unique=False)
        batch_op.create_index('ix_tickets_open_due', ['organization_id', 'status', 'due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_tickets_project_id'), ['project_id'], unique=False)

    op.create_table('ticket_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('from_value', sa.String(length=40), nullable=True),
    sa.Column('to_value', sa.String(length=40), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('at', app.db.base.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_ticket_events_ticket_id_tickets')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_ticket_events_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ticket_events'))
    )
    with op.batch_alter_table('ticket_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ticket_events_ticket_id'), ['ticket_id'], unique=False)

    op.create_table('voice_calls',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.String(length=120), nullable=False),
    sa.Column('caller_msisdn', sa.String(length=20), nullable=True),
    sa.Column('destination', sa.String(length=40), nullable=True),
    sa.Column('direction', sa.String(length=16), nullable=True),
    sa.Column('language', sa.String(length=8), nullable=True),
    sa.Column('state', sa.String(length=40), nullable=False),
    sa.Column('misses', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=True),
    sa.Column('started_at', app.db.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('ended_at', app.db.base.UtcDateTime(timezone=True), nullable=True),
    sa.Column('duration_seconds', sa.Integer(), nullable=True),
    sa.Column('amount', sa.String(length=20), nullable=True),
    sa.Column('currency_code', sa.String(length=3), nullable=True),
    sa.Column('hangup_cause', sa.String(length=60), nullable=True),
    sa.Column('dial_destination', sa.String(length=40), nullable=True),
    sa.Column('dial_duration_seconds', sa.Integer(), nullable=True),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_voice_calls_organization_id_organizations')),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_voice_calls_ticket_id_tickets')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_voice_calls')),
    sa.UniqueConstraint('session_id', name=op.f('uq_voice_calls_session_id'))
    )
    with op.batch_alter_table('voice_calls', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_voice_calls_organization_id'), ['organization_id'], unique=False)

    with op.batch_alter_table('organizations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ticket_sla_hours', sa.JSON(), nullable=True))

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('msisdn', sa.String(length=20), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('msisdn')

    with op.batch_alter_table('organizations', schema=None) as batch_op:
        batch_op.drop_column('ticket_sla_hours')

    with op.batch_alter_table('voice_calls', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_voice_calls_organization_id'))

    op.drop_table('voice_calls')
    with op.batch_alter_table('ticket_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ticket_events_ticket_id'))

    op.drop_table('ticket_events')
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tickets_project_id'))
        batch_op.drop_index('ix_tickets_open_due')
        batch_op.drop_index(batch_op.f('ix_tickets_msisdn'))
        batch_op.drop_index(batch_op.f('ix_tickets_assignee_id'))

    op.drop_table('tickets')
