"""The outbox alone says what is left to send: `sending` and `dispatched` go

Sending a campaign message updated rows four times before AT's verdict was stored: its
recipient handed over (`dispatched`), its outbox row claimed with the rest of its wave
(`sending`), then `calling` just before its batch's request. Now:
- a wave is the campaign's next queued outbox rows after `campaigns.handed_over_to`, read in
  id order through the outbox's (campaign_id, id) index, and only that cursor is written;
- a send job reads its rows and claims each batch straight from `queued` to `calling` in the
  commit before the batch's request, so a row AT never heard of is still `queued`.
A message now costs two row updates (claimed, judged). Recipients are written once: their
`state`, `dispatched_at` and the index for picking them go.

Rows an older worker left `sending` never reached AT. The old relay queued them again and set
`next_attempt_at`; they go back to `queued` the same way (attempt undone, due now), so the
relay hands them on even when their campaign already completed (it completed once every
recipient was handed over). Those of a cancelled campaign are failed as its other unsent rows
were. Stop the old workers before upgrading: they would write `sending` again.

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
    op.execute("UPDATE outbox_messages SET status = 'failed', error = 'campaign cancelled' "
               "WHERE status = 'sending' AND campaign_id IN "
               "(SELECT id FROM campaigns WHERE status = 'cancelled')")
    op.execute("UPDATE outbox_messages SET status = 'queued', attempts = attempts - 1, "
               "next_attempt_at = CURRENT_TIMESTAMP WHERE status = 'sending'")
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        _replace_index(batch_op, ACTIVE, ['status', 'lane'], "status IN ('queued', 'calling')")
        _replace_index(batch_op, CAMPAIGN, ['campaign_id', 'id'], 'campaign_id IS NOT NULL')
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.add_column(sa.Column('handed_over_to', sa.Integer(), server_default='0',
                                      nullable=False))
    # SQLite (3.35+) drops a column in place: recreating the table, as batch mode would, fails
    # on a database with rows that reference it, since foreign keys are enforced.
    with op.batch_alter_table('campaign_recipients', schema=None, recreate='never') as batch_op:
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
    with op.batch_alter_table('campaigns', schema=None, recreate='never') as batch_op:
        batch_op.drop_column('handed_over_to')
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        _replace_index(batch_op, ACTIVE, ['status', 'lane'],
                       "status IN ('queued', 'sending', 'calling')")
        _replace_index(batch_op, CAMPAIGN, ['campaign_id'], 'campaign_id IS NOT NULL')


def _replace_index(batch_op, name: str, columns: list[str], where: str) -> None:
    batch_op.drop_index(name)
    batch_op.create_index(name, columns, unique=False, postgresql_where=sa.text(where),
                          sqlite_where=sa.text(where))
