"""official documents: document numbers (文号) and their sequences, template versions, generated documents

Revision ID: 0012
Revises: 0015
Create Date: 2026-12-07 13:40:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('document_sequence',
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('last', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('kind', 'year', name=op.f('pk_document_sequence'))
    )
    op.create_table('document_number',
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('text', sa.String(length=64), nullable=False),
    sa.Column('instance_id', sa.String(length=36), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('issued_by', sa.String(length=64), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('voided_by', sa.String(length=64), nullable=True),
    sa.Column('voided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('void_reason', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('kind', 'year', 'number', name=op.f('pk_document_number'))
    )
    op.create_table('document_template',
    sa.Column('kind', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('saved_by', sa.String(length=64), nullable=False),
    sa.Column('saved_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('kind', 'version', name=op.f('pk_document_template'))
    )
    op.create_table('generated_document',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('instance_id', sa.String(length=36), nullable=False),
    sa.Column('task_id', sa.String(length=36), nullable=True),
    sa.Column('kind', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('template_version', sa.Integer(), nullable=False),
    sa.Column('number_text', sa.String(length=64), nullable=True),
    sa.Column('data_sha256', sa.String(length=64), nullable=False),
    sa.Column('docx_id', sa.Integer(), nullable=False),
    sa.Column('pdf_id', sa.Integer(), nullable=True),
    sa.Column('reveals_reporter', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('generated_by', sa.String(length=64), nullable=False),
    sa.Column('generated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['docx_id'], ['attachment.id'], name=op.f('fk_generated_document_docx_id_attachment')),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'], name=op.f('fk_generated_document_instance_id_process_instance')),
    sa.ForeignKeyConstraint(['pdf_id'], ['attachment.id'], name=op.f('fk_generated_document_pdf_id_attachment')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_generated_document'))
    )
    with op.batch_alter_table('generated_document', schema=None) as batch_op:
        batch_op.create_index('ix_generated_document_instance', ['instance_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('generated_document', schema=None) as batch_op:
        batch_op.drop_index('ix_generated_document_instance')
    op.drop_table('generated_document')
    op.drop_table('document_template')
    op.drop_table('document_number')
    op.drop_table('document_sequence')
