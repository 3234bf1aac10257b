"""deployed DMN decisions (decision tables), versioned like processes

Revision ID: 0017
Revises: 0010
Create Date: 2026-12-07 14:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0017'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('decision_version',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('decision_key', sa.String(length=255), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=True),
    sa.Column('file_name', sa.String(length=255), nullable=False),
    sa.Column('dmn_xml', sa.Text(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('hit_policy', sa.String(length=16), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('deployed_by', sa.String(length=64), nullable=False),
    sa.Column('deployed_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_decision_version')),
    sa.UniqueConstraint('decision_key', 'version', name=op.f('uq_decision_version_decision_key_version'))
    )


def downgrade() -> None:
    op.drop_table('decision_version')
