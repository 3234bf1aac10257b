"""回头看 reopens a clue (clue_round); the staff record's 公职人员 flag

Revision ID: 0021
Revises: 0011
Create Date: 2026-12-07 16:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0021'
down_revision = '0025'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN: a batch copy of staff would trip SQLite's foreign keys from the tables naming it.
    op.add_column('staff', sa.Column('public_employee', sa.Boolean(), server_default=sa.false(), nullable=False))
    op.create_table('clue_round',
    sa.Column('instance_id', sa.String(length=36), nullable=False),
    sa.Column('line_id', sa.String(length=36), nullable=False),
    sa.Column('round', sa.Integer(), nullable=False),
    sa.Column('review_instance_id', sa.String(length=36), nullable=False),
    sa.Column('reason', sa.String(length=2000), nullable=False),
    sa.Column('reopened_by', sa.String(length=64), nullable=False),
    sa.Column('reopened_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('instance_id', name=op.f('pk_clue_round')),
    sa.UniqueConstraint('line_id', 'round', name=op.f('uq_clue_round_line_id_round')),
    )
    with op.batch_alter_table('clue_round', schema=None) as batch_op:
        batch_op.create_index('ix_clue_round_line', ['line_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('clue_round', schema=None) as batch_op:
        batch_op.drop_index('ix_clue_round_line')
    op.drop_table('clue_round')
    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.drop_column('public_employee')
