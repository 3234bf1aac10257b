"""clue handling: encrypted reporter identities, reporters' query codes, public-page throttle

Revision ID: 0006
Revises: 0004
Create Date: 2026-12-01 09:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('clue_reporter',
    sa.Column('instance_id', sa.String(length=36), nullable=False),
    sa.Column('name_token', sa.Text(), nullable=True),
    sa.Column('contact_token', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'], name=op.f('fk_clue_reporter_instance_id_process_instance')),
    sa.PrimaryKeyConstraint('instance_id', name=op.f('pk_clue_reporter'))
    )
    op.create_table('clue_query_code',
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('instance_id', sa.String(length=36), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'], name=op.f('fk_clue_query_code_instance_id_process_instance')),
    sa.PrimaryKeyConstraint('code_hash', name=op.f('pk_clue_query_code'))
    )
    with op.batch_alter_table('clue_query_code', schema=None) as batch_op:
        batch_op.create_index('ix_clue_query_code_instance', ['instance_id'], unique=False)
    op.create_table('public_throttle',
    sa.Column('client', sa.String(length=64), nullable=False),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('window_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('hits', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('client', 'action', 'window_start', name=op.f('pk_public_throttle'))
    )


def downgrade() -> None:
    op.drop_table('public_throttle')
    with op.batch_alter_table('clue_query_code', schema=None) as batch_op:
        batch_op.drop_index('ix_clue_query_code_instance')
    op.drop_table('clue_query_code')
    op.drop_table('clue_reporter')
