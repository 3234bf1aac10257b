"""the open tasks' inbox index leads with the department

The inbox looks up a person's unclaimed tasks by (department, role) pairs, by role in no department,
and for a department's head by department alone. With the role first, a head's lists and counts
read the index whole, and a role held in every department (a campaign's task for 200 departments)
was read across all of them (see engine/inbox/lists.py).

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-08 04:20:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0027'
down_revision = '0026'
branch_labels = None
depends_on = None

TASK_OPEN = "status = 'open'"


def upgrade() -> None:
    op.drop_index('ix_human_task_open_inbox', table_name='human_task')
    op.create_index('ix_human_task_open_inbox', 'human_task', ['candidate_department', 'candidate_role'],
                    unique=False, sqlite_where=sa.text(TASK_OPEN), postgresql_where=sa.text(TASK_OPEN))


def downgrade() -> None:
    op.drop_index('ix_human_task_open_inbox', table_name='human_task')
    op.create_index('ix_human_task_open_inbox', 'human_task', ['candidate_role', 'candidate_department'],
                    unique=False, sqlite_where=sa.text(TASK_OPEN), postgresql_where=sa.text(TASK_OPEN))
