"""deadlines, calendar overrides, notifications

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 10:02:01.679821
"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('calendar_override',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('working', sa.Boolean(), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('day', name=op.f('pk_calendar_override'))
    )
    op.create_table('notification',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('recipient_user', sa.String(length=64), nullable=True),
    sa.Column('recipient_role', sa.String(length=64), nullable=True),
    sa.Column('recipient_department', sa.String(length=64), nullable=True),
    sa.Column('instance_id', sa.String(length=36), nullable=True),
    sa.Column('task_id', sa.String(length=36), nullable=True),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('emailed_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notification'))
    )
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.create_index('ix_notification_role', ['recipient_role', 'recipient_department'], unique=False)
        batch_op.create_index('ix_notification_user', ['recipient_user'], unique=False)

    op.create_table('scheduler_heartbeat',
    sa.Column('owner', sa.String(length=128), nullable=False),
    sa.Column('beat_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('fired_total', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('owner', name=op.f('pk_scheduler_heartbeat'))
    )
    op.create_table('process_schedule',
    sa.Column('process_key', sa.String(length=255), nullable=False),
    sa.Column('element_id', sa.String(length=255), nullable=False),
    sa.Column('rule', sa.String(length=255), nullable=False),
    sa.Column('next_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('process_key', name=op.f('pk_process_schedule'))
    )
    op.create_table('setting',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_setting'))
    )
    op.create_table('notification_read',
    sa.Column('notification_id', sa.Integer(), nullable=False),
    sa.Column('user', sa.String(length=64), nullable=False),
    sa.Column('read_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['notification_id'], ['notification.id'], name=op.f('fk_notification_read_notification_id_notification')),
    sa.PrimaryKeyConstraint('notification_id', 'user', name=op.f('pk_notification_read'))
    )
    with op.batch_alter_table('timer', schema=None) as batch_op:
        batch_op.add_column(sa.Column('armed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('rule', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('provisional', sa.Boolean(), server_default=sa.false(), nullable=False))
    with op.batch_alter_table('human_task', schema=None) as batch_op:
        batch_op.add_column(sa.Column('due_rule', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('due_provisional', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('remind_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('reminded_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('escalation_level', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('next_escalation_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_human_task_escalate', ['status', 'next_escalation_at'], unique=False)
        batch_op.create_index('ix_human_task_remind', ['status', 'remind_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('timer', schema=None) as batch_op:
        batch_op.drop_column('provisional')
        batch_op.drop_column('armed_at')
        batch_op.drop_column('rule')
    with op.batch_alter_table('human_task', schema=None) as batch_op:
        batch_op.drop_column('due_rule')
    with op.batch_alter_table('human_task', schema=None) as batch_op:
        batch_op.drop_index('ix_human_task_remind')
        batch_op.drop_index('ix_human_task_escalate')
        batch_op.drop_column('next_escalation_at')
        batch_op.drop_column('escalation_level')
        batch_op.drop_column('reminded_at')
        batch_op.drop_column('remind_at')
        batch_op.drop_column('due_provisional')

    op.drop_table('notification_read')
    op.drop_table('setting')
    op.drop_table('process_schedule')
    op.drop_table('scheduler_heartbeat')
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.drop_index('ix_notification_user')
        batch_op.drop_index('ix_notification_role')

    op.drop_table('notification')
    op.drop_table('calendar_override')
