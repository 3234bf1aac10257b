"""two-factor sign-in, recovery codes, failed sign-ins counted per name and source

Revision ID: 0011
Revises: 0012
Create Date: 2026-12-07 14:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('login_attempt',
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('source', sa.String(length=64), nullable=False),
    sa.Column('failed', sa.Integer(), server_default='0', nullable=False),
    sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_success_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('username', 'source', name=op.f('pk_login_attempt'))
    )
    op.drop_table('login_failure')
    op.create_table('recovery_code',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['username'], ['staff.username'], name=op.f('fk_recovery_code_username_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recovery_code'))
    )
    with op.batch_alter_table('recovery_code', schema=None) as batch_op:
        batch_op.create_index('ix_recovery_code_username', ['username'], unique=False)
    # Plain ADD COLUMNs: a batch copy of staff would trip SQLite's foreign keys from the tables naming it.
    op.add_column('staff', sa.Column('totp_secret', sa.String(length=64), nullable=True))
    op.add_column('staff', sa.Column('totp_last_step', sa.BigInteger(), nullable=True))
    op.add_column('web_session', sa.Column('stage', sa.String(length=16), nullable=True))
    op.add_column('web_session', sa.Column('enrol_secret', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('web_session', schema=None) as batch_op:
        batch_op.drop_column('enrol_secret')
        batch_op.drop_column('stage')
    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.drop_column('totp_last_step')
        batch_op.drop_column('totp_secret')
    with op.batch_alter_table('recovery_code', schema=None) as batch_op:
        batch_op.drop_index('ix_recovery_code_username')
    op.drop_table('recovery_code')
    op.create_table('login_failure',
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('failed', sa.Integer(), server_default='0', nullable=False),
    sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('username', name=op.f('pk_login_failure'))
    )
    op.drop_table('login_attempt')
