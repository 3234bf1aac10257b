"""delegated tasks come back: a task's owner and delegation state

Revision ID: 0016
Revises: 0017
Create Date: 2026-12-07 13:40:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0016'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # plain ADD COLUMN (no table rebuild on SQLite, which would drop the partial indexes' conditions)
    op.add_column('human_task', sa.Column('owner', sa.String(64), nullable=True))
    op.add_column('human_task', sa.Column('delegation', sa.String(16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('human_task') as batch:
        batch.drop_column('delegation')
        batch.drop_column('owner')
