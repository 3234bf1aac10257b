"""instance parent and confidential tasks

The instance whose service task started another one; the roles that may see a task of a
confidential process.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 12:50:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('process_instance') as batch:
        batch.add_column(sa.Column('parent_id', sa.String(length=36), nullable=True))
        batch.create_index('ix_process_instance_parent', ['parent_id', 'process_key'])
    with op.batch_alter_table('human_task') as batch:
        batch.add_column(sa.Column('confidential', sa.String(length=255), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('human_task') as batch:
        batch.drop_column('confidential')
    with op.batch_alter_table('process_instance') as batch:
        batch.drop_index('ix_process_instance_parent')
        batch.drop_column('parent_id')
