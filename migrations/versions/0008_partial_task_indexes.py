"""partial indexes for the inbox and the scheduler; events found by chain

The inbox's and the scheduler's indexes on human_task hold only the rows their queries look for
(see engine/schema.py), and the event index on instance_id goes: an instance's events are its
chain, which the (chain, seq) key indexes already.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 17:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

OPEN = "status = 'open'"
PARTIAL = [  # name, columns, condition
    ('ix_human_task_open_inbox', ['candidate_role', 'candidate_department'], OPEN),
    ('ix_human_task_held', ['assignee', 'status'], "assignee IS NOT NULL"),
    ('ix_human_task_done', ['completed_by', 'completed_at'], "completed_by IS NOT NULL"),
    ('ix_human_task_open_due', ['due_at'], f"{OPEN} AND due_at IS NOT NULL"),
    ('ix_human_task_remind', ['remind_at'], f"{OPEN} AND reminded_at IS NULL AND remind_at IS NOT NULL"),
    ('ix_human_task_escalate', ['next_escalation_at'],
     f"{OPEN} AND escalation_level < 2 AND next_escalation_at IS NOT NULL"),
]
FULL = [  # the indexes they replace
    ('ix_human_task_inbox', ['status', 'candidate_role', 'candidate_department']),
    ('ix_human_task_assignee', ['assignee', 'status']),
    ('ix_human_task_due', ['status', 'due_at']),
    ('ix_human_task_remind', ['status', 'remind_at']),
    ('ix_human_task_escalate', ['status', 'next_escalation_at']),
]


def upgrade() -> None:
    for name, _columns in FULL:
        op.drop_index(name, table_name='human_task')
    for name, columns, where in PARTIAL:
        op.create_index(name, 'human_task', columns, unique=False,
                        sqlite_where=sa.text(where), postgresql_where=sa.text(where))
    op.drop_index('ix_event_instance', table_name='event')


def downgrade() -> None:
    op.create_index('ix_event_instance', 'event', ['instance_id'], unique=False)
    for name, _columns, _where in PARTIAL:
        op.drop_index(name, table_name='human_task')
    for name, columns in FULL:
        op.create_index(name, 'human_task', columns, unique=False)
