"""a notification's channel messages are written by the scheduler, not by the operation

An operation that opens a task wrote its notification and, in the same transaction, one message per
person and channel: it read the recipients' channels and quiet hours first, a read (on PostgreSQL a
round trip) in every start and completion. The notification now carries what its messages need
(`confidential`, `urgent`) and `fanned_out_at`, set once the scheduler's tick has written them
(engine.messages.outbox.fan_out). Notifications already here had theirs written: they are marked so.

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-08 04:40:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0028'
down_revision = '0027'
branch_labels = None
depends_on = None

TO_FAN_OUT = "fanned_out_at IS NULL"


def upgrade() -> None:
    with op.batch_alter_table('notification') as batch:
        batch.add_column(sa.Column('confidential', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column('urgent', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column('fanned_out_at', sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE notification SET fanned_out_at = created_at")
    op.create_index('ix_notification_to_fan_out', 'notification', ['id'], unique=False,
                    sqlite_where=sa.text(TO_FAN_OUT), postgresql_where=sa.text(TO_FAN_OUT))


def downgrade() -> None:
    op.drop_index('ix_notification_to_fan_out', table_name='notification')
    with op.batch_alter_table('notification') as batch:
        batch.drop_column('fanned_out_at')
        batch.drop_column('urgent')
        batch.drop_column('confidential')
