"""Fewer, partial outbox indexes: each row's sending costs a third of the index writes

A campaign row is written once and updated three times on its way out (claimed, calling, sent).
None of those updates can be HOT (they change `status`, which an index holds), so every update
writes one entry into every index on the table: six indexes cost 24 entries per message. The
indexes now cover only the rows their readers look for:

- `status, lane` only while a row is queued or in flight (the relay's sweep);
- `at_message_id` only once AT gave one (delivery reports);
- `msisdn` only for uncertain sends (a delivery report reconciles them by number);
- `sent_at` only for sent rows without a final report (the 72-hour sweep);
- `campaign_id` only for campaign rows.

The plain `organization_id` and `msisdn` indexes go: nothing reads the outbox by them in
production (the development simulator's inbox scans, fine for its size).

Revision ID: 0009_outbox_send_indexes
Revises: 0008_org_campaign_hours
Create Date: 2026-11-22 11:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0009_outbox_send_indexes'
down_revision = '0008_org_campaign_hours'
branch_labels = None
depends_on = None

PARTIAL = {
    'ix_outbox_messages_active': (
        ['status', 'lane'], "status IN ('queued', 'sending', 'calling')"),
    'ix_outbox_messages_at_message_id': (['at_message_id'], 'at_message_id IS NOT NULL'),
    'ix_outbox_messages_uncertain_msisdn': (['msisdn'], "status = 'uncertain'"),
    'ix_outbox_messages_unreported': (
        ['sent_at'], "status = 'sent' AND delivered_at IS NULL"),
    'ix_outbox_messages_campaign_id': (['campaign_id'], 'campaign_id IS NOT NULL'),
}
PLAIN = {
    'ix_outbox_messages_status_lane': ['status', 'lane'],
    'ix_outbox_messages_at_message_id': ['at_message_id'],
    'ix_outbox_messages_msisdn': ['msisdn'],
    'ix_outbox_messages_organization_id': ['organization_id'],
    'ix_outbox_messages_campaign_id': ['campaign_id'],
}


def upgrade() -> None:
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        for name in PLAIN:
            batch_op.drop_index(name)
        for name, (columns, where) in PARTIAL.items():
            batch_op.create_index(name, columns, unique=False,
                                  postgresql_where=sa.text(where), sqlite_where=sa.text(where))


def downgrade() -> None:
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        for name in PARTIAL:
            batch_op.drop_index(name)
        for name, columns in PLAIN.items():
            batch_op.create_index(name, columns, unique=False)
