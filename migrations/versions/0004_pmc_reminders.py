"""PMC seats remember the day their member was last reminded to report

Revision ID: 0004_pmc_reminders
Revises: 0003_projects
Create Date: 2026-11-23 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0004_pmc_reminders'
down_revision = '0003_projects'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('pmc_members', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reminded_on', sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('pmc_members', schema=None) as batch_op:
        batch_op.drop_column('reminded_on')
