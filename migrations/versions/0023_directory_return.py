"""who deactivated an account (a person the directory sync deactivated comes back with the directory);
where a notification leads

Revision ID: 0023
Revises: 0011
Create Date: 2026-12-07 17:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0023'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN: a batch copy of staff would trip SQLite's foreign keys from the tables naming it.
    op.add_column('staff', sa.Column('deactivated_by', sa.String(length=64), nullable=True))
    op.add_column('notification', sa.Column('link', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.drop_column('link')
    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.drop_column('deactivated_by')
