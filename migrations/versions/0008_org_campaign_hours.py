"""Organizations may set their own campaign sending hours (falling back to CAMPAIGN_HOURS)

Revision ID: 0008_org_campaign_hours
Revises: 0007_tickets
Create Date: 2026-11-22 08:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0008_org_campaign_hours'
down_revision = '0007_tickets'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('organizations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('campaign_hours', sa.String(length=11), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('organizations', schema=None) as batch_op:
        batch_op.drop_column('campaign_hours')
