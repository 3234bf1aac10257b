"""process analytics: summaries of the event log per version, step and day, kept incrementally

Revision ID: 0025
Revises: 0011
Create Date: 2026-12-07 16:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0025'
down_revision = '0022'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('analytics_step',
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('element_id', sa.String(length=255), nullable=False),
    sa.Column('department', sa.String(length=64), nullable=False),
    sa.Column('completed', sa.Integer(), nullable=False),
    sa.Column('with_due', sa.Integer(), nullable=False),
    sa.Column('overdue', sa.Integer(), nullable=False),
    sa.Column('cycle_s', sa.Float(), nullable=False),
    sa.Column('wait_s', sa.Float(), nullable=False),
    sa.Column('work_s', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('version_id', 'element_id', 'department', 'day', name=op.f('pk_analytics_step')),
    sqlite_with_rowid=False
    )
    op.create_table('analytics_duration',
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('element_id', sa.String(length=255), nullable=False),
    sa.Column('measure', sa.String(length=8), nullable=False),
    sa.Column('bucket', sa.Integer(), nullable=False),
    sa.Column('n', sa.Integer(), nullable=False),
    sa.Column('seconds', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('version_id', 'element_id', 'measure', 'bucket', 'day', name=op.f('pk_analytics_duration')),
    sqlite_with_rowid=False
    )
    op.create_table('analytics_variant',
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('variant', sa.String(length=64), nullable=False),
    sa.Column('steps_json', sa.Text(), nullable=False),
    sa.Column('n', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('version_id', 'variant', 'day', name=op.f('pk_analytics_variant')),
    sqlite_with_rowid=False
    )
    op.create_table('analytics_instance',
    sa.Column('instance_id', sa.String(length=36), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('seq_done', sa.Integer(), nullable=False),
    sa.Column('variant_done', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.PrimaryKeyConstraint('instance_id', name=op.f('pk_analytics_instance'))
    )


def downgrade() -> None:
    op.drop_table('analytics_instance')
    op.drop_table('analytics_variant')
    op.drop_table('analytics_duration')
    op.drop_table('analytics_step')
