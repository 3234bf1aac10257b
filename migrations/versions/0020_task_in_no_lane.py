"""a task in no lane goes to the instance's starter: human_task.candidate_user

Revision ID: 0020
Revises: 0011
Create Date: 2026-12-07 17:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0020'
down_revision = '0021'
branch_labels = None
depends_on = None

_WHERE = "status = 'open' AND candidate_user IS NOT NULL"


def upgrade() -> None:
    op.add_column('human_task', sa.Column('candidate_user', sa.String(length=64), nullable=True))
    op.create_index('ix_human_task_open_candidate_user', 'human_task', ['candidate_user'], unique=False,
                    sqlite_where=sa.text(_WHERE), postgresql_where=sa.text(_WHERE))
    # Open tasks in no lane that nobody holds go to their instance's starter, as new ones will.
    op.execute("UPDATE human_task SET candidate_user = (SELECT started_by FROM process_instance "
               "WHERE process_instance.id = human_task.instance_id) "
               "WHERE status = 'open' AND candidate_role IS NULL AND lane IS NULL")


def downgrade() -> None:
    op.drop_index('ix_human_task_open_candidate_user', table_name='human_task')
    with op.batch_alter_table('human_task', schema=None) as batch_op:
        batch_op.drop_column('candidate_user')
