"""One chain of advance jobs per campaign

A campaign's waves are handed over by a chain of advance jobs, each queueing the next. A
second chain could start beside the first: a materialise job run again by rq after a crash,
or a resume while the paused chain's delayed step still waited. Nothing went twice (claims
are conditional), but waves doubled up until the campaign ended. `chain` numbers the chains:
a job that starts one moves it on, each advance job carries its chain's number, and a job of
an older chain ends.

Revision ID: 0011_campaign_chain
Revises: 0010_campaign_queued_index
Create Date: 2026-11-22 14:50:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0011_campaign_chain'
down_revision = '0010_campaign_queued_index'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.add_column(sa.Column('chain', sa.Integer(), server_default='0', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.drop_column('chain')
