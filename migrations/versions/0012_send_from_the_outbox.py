"""The outbox alone says what is left to send: `sending` and `dispatched` go

Sending a campaign message updated rows four times before AT's verdict was stored: its
recipient handed over (`dispatched`), its outbox row claimed with the rest of its wave
(`sending`), then `calling` just before its batch's request. Now:
- a wave is the campaign's next queued outbox rows after `campaigns.handed_over_to`, read in
  id order through the outbox's (campaign_id, id) index, and only that cursor is written;
- a send job reads its rows and claims each batch straight from `queued` to `calling` in the
  commit before the batch's request, so a row AT never heard of is still `queued`.
A message now costs two row updates (claimed, judged). Recipients are written once: their
`state`, `dispatched_at` and the index for picking them go. Rows an older worker left
`sending` never reached AT: they go back to `queued` with the claim's attempt undone.

Revision ID: 0012_send_from_the_outbox
Revises: 0011_campaign_chain
Create Date: 2026-11-22 19:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import app.db.base

revision = '0012_send_from_the_outbox'
down_revision = '0011_campaign_chain'
branch_labels = None
depends_on = None

ACTIVE = 'ix_outbox_messages_active'
CAMPAIGN = 'ix_outbox_messages_campaign_id'
QUEUED_RECIPIENTS = 'ix_campaign_recipients_queued'


def upgrade() -> None:
    op.execute("UPDATE outbox_messages SET status = 'queued', attempts = attempts - 1 "
               "WHERE status = 'sending'")
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        _replace_index(batch_op, ACTIVE, ['status', 'lane'], "status IN ('queued', 'calling')")
        _replace_index(batch_op, CAMPAIGN, ['campaign_id', 'id'], 'campaign_id IS NOT NULL')
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.add_column(sa.Column('handed_over_to', sa.Integer(), server_default='0',
                                      nullable=False))
    with op.batch_alter_table('campaign_recipients', schema=None) as batch_op:
        batch_op.drop_index(QUEUED_RECIPIENTS)
        batch_op.drop_column('dispatched_at')
        batch_op.drop_column('state')


def downgrade() -> None:
    with op.batch_alter_table('campaign_recipients', schema=None) as batch_op:
        batch_op.add_column(sa.Column('state', sa.String(length=10), nullable=False,
                                      server_default='queued'))
        batch_op.add_column(sa.Column('dispatched_at', app.db.base.UtcDateTime(timezone=True),
                                      nullable=True))
        batch_op.create_index(QUEUED_RECIPIENTS, ['campaign_id', 'id'], unique=False,
                              postgresql_where=sa.text("state = 'queued'"),
                              sqlite_where=sa.text("state = 'queued'"))
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.drop_column('handed_over_to')
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        _replace_index(batch_op, ACTIVE, ['status', 'lane'],
                       "status IN ('queued', 'sending', 'calling')")
        _replace_index(batch_op, CAMPAIGN, ['campaign_id'], 'campaign_id IS NOT NULL')


def _replace_index(batch_op, name: str, columns: list[str], where: str) -> None:
    batch_op.drop_index(name)
    batch_op.create_index(name, columns, unique=False, postgresql_where=sa.text(where),
                          sqlite_where=sa.text(where))
