"""医德考评: quarterly conduct scores per person (加分/减分 items, 一票否决)

Revision ID: 0018
Revises: 0011
Create Date: 2026-12-07 16:40:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0018'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('conduct_score',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('quarter', sa.Integer(), nullable=False),
    sa.Column('department', sa.String(length=64), nullable=True),
    sa.Column('items_json', sa.Text(), nullable=False),
    sa.Column('veto', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('veto_reason', sa.Text(), nullable=True),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('entered_by', sa.String(length=64), nullable=False),
    sa.Column('entered_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['username'], ['staff.username'], name=op.f('fk_conduct_score_username_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_conduct_score')),
    sa.UniqueConstraint('username', 'year', 'quarter', name=op.f('uq_conduct_score_username_year_quarter'))
    )
    with op.batch_alter_table('conduct_score', schema=None) as batch_op:
        batch_op.create_index('ix_conduct_score_year', ['year', 'quarter'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('conduct_score', schema=None) as batch_op:
        batch_op.drop_index('ix_conduct_score_year')
    op.drop_table('conduct_score')
