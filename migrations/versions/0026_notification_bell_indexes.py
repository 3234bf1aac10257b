"""the bell's indexes hold only the bell's notifications, not one per task ever opened

A new task's notification (kind 'task_ready') is only the parent of its channel messages: the bell
leaves it out. The indexes by recipient become partial, without those rows (see engine/db/schema.py),
so that a page's bell count no longer reads every task the person's role was ever offered.

Revision ID: 0026
Revises: 0023
Create Date: 2026-12-08 01:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0026'
down_revision = '0023'
branch_labels = None
depends_on = None

ON_THE_BELL = "kind != 'task_ready'"


def upgrade() -> None:
    op.drop_index('ix_notification_user', table_name='notification')
    op.drop_index('ix_notification_role', table_name='notification')
    op.create_index('ix_notification_bell_user', 'notification', ['recipient_user'], unique=False,
                    sqlite_where=sa.text(ON_THE_BELL), postgresql_where=sa.text(ON_THE_BELL))
    op.create_index('ix_notification_bell_role', 'notification', ['recipient_role', 'recipient_department'],
                    unique=False, sqlite_where=sa.text(ON_THE_BELL), postgresql_where=sa.text(ON_THE_BELL))


def downgrade() -> None:
    op.drop_index('ix_notification_bell_role', table_name='notification')
    op.drop_index('ix_notification_bell_user', table_name='notification')
    op.create_index('ix_notification_user', 'notification', ['recipient_user'], unique=False)
    op.create_index('ix_notification_role', 'notification', ['recipient_role', 'recipient_department'], unique=False)
