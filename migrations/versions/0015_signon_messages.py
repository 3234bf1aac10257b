"""one way in per person (local, LDAP, OIDC, CAS); message channels, preferences and the outbox

Revision ID: 0015
Revises: 0013
Create Date: 2026-12-07 13:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0015'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMNs: a batch copy of staff would trip SQLite's foreign keys from the tables naming it.
    op.add_column('staff', sa.Column('sign_in_method', sa.String(length=8), server_default='local', nullable=False))
    op.add_column('staff', sa.Column('phone', sa.String(length=32), nullable=True))
    op.add_column('staff', sa.Column('wecom_userid', sa.String(length=64), nullable=True))
    op.add_column('staff', sa.Column('dingtalk_userid', sa.String(length=64), nullable=True))
    op.add_column('web_session', sa.Column('sso_session', sa.String(length=255), nullable=True))
    with op.batch_alter_table('web_session', schema=None) as batch_op:
        batch_op.create_index('ix_web_session_sso_session', ['sso_session'], unique=False)
    op.create_table('message_preference',
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('channels', sa.String(length=64), nullable=False),
    sa.Column('quiet_start', sa.String(length=5), nullable=True),
    sa.Column('quiet_end', sa.String(length=5), nullable=True),
    sa.ForeignKeyConstraint(['username'], ['staff.username'], name=op.f('fk_message_preference_username_staff')),
    sa.PrimaryKeyConstraint('username', name=op.f('pk_message_preference'))
    )
    op.create_table('message_outbox',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('notification_id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('idempotency_key', sa.String(length=64), nullable=False),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('link', sa.Text(), nullable=True),
    sa.Column('urgent', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('state', sa.String(length=8), server_default='pending', nullable=False),
    sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('claimed_by', sa.String(length=128), nullable=True),
    sa.Column('claim_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['notification_id'], ['notification.id'], name=op.f('fk_message_outbox_notification_id_notification')),
    sa.ForeignKeyConstraint(['username'], ['staff.username'], name=op.f('fk_message_outbox_username_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_message_outbox')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_message_outbox_idempotency_key'))
    )
    with op.batch_alter_table('message_outbox', schema=None) as batch_op:
        batch_op.create_index('ix_message_outbox_due', ['state', 'next_attempt_at'], unique=False)
        batch_op.create_index('ix_message_outbox_recipient', ['username', 'channel', 'sent_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('message_outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_message_outbox_recipient')
        batch_op.drop_index('ix_message_outbox_due')
    op.drop_table('message_outbox')
    op.drop_table('message_preference')
    with op.batch_alter_table('web_session', schema=None) as batch_op:
        batch_op.drop_index('ix_web_session_sso_session')
        batch_op.drop_column('sso_session')
    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.drop_column('dingtalk_userid')
        batch_op.drop_column('wecom_userid')
        batch_op.drop_column('phone')
        batch_op.drop_column('sign_in_method')
