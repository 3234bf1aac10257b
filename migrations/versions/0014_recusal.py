"""recusal (回避): who is kept out of an instance; declared relations between staff

Revision ID: 0014
Revises: 0016
Create Date: 2026-12-07 14:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0014'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('recusal',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('instance_id', sa.String(length=36), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=True),
    sa.Column('role', sa.String(length=64), nullable=True),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=True),
    sa.Column('recorded_by', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recusal'))
    )
    with op.batch_alter_table('recusal', schema=None) as batch_op:
        batch_op.create_index('ix_recusal_instance', ['instance_id'], unique=False)
        batch_op.create_index('ix_recusal_username', ['username'], unique=False)
    op.create_table('staff_relation',
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('related', sa.String(length=64), nullable=False),
    sa.Column('relation', sa.String(length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['related'], ['staff.username'], name=op.f('fk_staff_relation_related_staff')),
    sa.ForeignKeyConstraint(['username'], ['staff.username'], name=op.f('fk_staff_relation_username_staff')),
    sa.PrimaryKeyConstraint('username', 'related', name=op.f('pk_staff_relation'))
    )


def downgrade() -> None:
    op.drop_table('staff_relation')
    with op.batch_alter_table('recusal', schema=None) as batch_op:
        batch_op.drop_index('ix_recusal_username')
        batch_op.drop_index('ix_recusal_instance')
    op.drop_table('recusal')
