"""events name their hash algorithm (SHA-256 or SM3) and seal their instance's stored state

Revision ID: 0022
Revises: 0011
Create Date: 2026-12-07 16:40:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0022'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMNs (nullable): every existing event stays as it was, a SHA-256 event sealing nothing.
    op.add_column('event', sa.Column('hash_alg', sa.String(length=8), nullable=True))
    op.add_column('event', sa.Column('state_hash', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.drop_column('state_hash')
        batch_op.drop_column('hash_alg')
