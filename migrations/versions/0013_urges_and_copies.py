"""催办 (urges), 抄送 (copies of a task, with read receipts) and 加签 (added signers)

Revision ID: 0013
Revises: 0014
Create Date: 2026-12-07 14:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0013'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('task_urge',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('instance_id', sa.String(length=36), nullable=False),
    sa.Column('task_id', sa.String(length=36), nullable=False),
    sa.Column('urged_by', sa.String(length=64), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('urged_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'], name=op.f('fk_task_urge_instance_id_process_instance')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_task_urge'))
    )
    with op.batch_alter_table('task_urge', schema=None) as batch_op:
        batch_op.create_index('ix_task_urge_task', ['task_id'], unique=False)
    op.create_table('task_copy',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('instance_id', sa.String(length=36), nullable=False),
    sa.Column('task_id', sa.String(length=36), nullable=False),
    sa.Column('recipient', sa.String(length=64), nullable=False),
    sa.Column('sent_by', sa.String(length=64), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('read_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'], name=op.f('fk_task_copy_instance_id_process_instance')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_task_copy'))
    )
    with op.batch_alter_table('task_copy', schema=None) as batch_op:
        batch_op.create_index('ix_task_copy_recipient', ['recipient'], unique=False)
        batch_op.create_index('ix_task_copy_task', ['task_id'], unique=False)

    op.create_table('added_signer',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('instance_id', sa.String(length=36), nullable=False),
    sa.Column('task_id', sa.String(length=36), nullable=False),
    sa.Column('signer', sa.String(length=64), nullable=False),
    sa.Column('position', sa.String(length=8), nullable=False),
    sa.Column('added_by', sa.String(length=64), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('agree', sa.Boolean(), nullable=True),
    sa.Column('opinion', sa.Text(), nullable=True),
    sa.Column('submission_json', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('signed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'], name=op.f('fk_added_signer_instance_id_process_instance')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_added_signer'))
    )
    with op.batch_alter_table('added_signer', schema=None) as batch_op:
        batch_op.create_index('ix_added_signer_signer', ['signer', 'status'], unique=False)
        batch_op.create_index('ix_added_signer_task', ['task_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('added_signer', schema=None) as batch_op:
        batch_op.drop_index('ix_added_signer_task')
        batch_op.drop_index('ix_added_signer_signer')
    op.drop_table('added_signer')
    with op.batch_alter_table('task_copy', schema=None) as batch_op:
        batch_op.drop_index('ix_task_copy_task')
        batch_op.drop_index('ix_task_copy_recipient')
    op.drop_table('task_copy')
    with op.batch_alter_table('task_urge', schema=None) as batch_op:
        batch_op.drop_index('ix_task_urge_task')
    op.drop_table('task_urge')
