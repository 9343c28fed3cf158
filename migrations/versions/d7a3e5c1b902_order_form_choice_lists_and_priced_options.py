"""order form: choice lists kept by catalog managers (choice_lists, choice_list_entries) and
what a contract's chosen options add per month (service_contracts.options_monthly)

Revision ID: d7a3e5c1b902
Revises: 7c2f9a4e1d63
Create Date: 2026-12-03 06:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd7a3e5c1b902'
down_revision = '7c2f9a4e1d63'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'choice_lists',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=60), nullable=False),
        sa.Column('label', sa.String(length=120), nullable=False),
        sa.Column('description', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_choice_lists')),
        sa.UniqueConstraint('name', name=op.f('uq_choice_lists_name')),
    )
    op.create_table(
        'choice_list_entries',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('list_id', sa.Integer(), nullable=False),
        sa.Column('value', sa.String(length=120), nullable=False),
        sa.Column('label', sa.String(length=200), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ['list_id'], ['choice_lists.id'],
            name=op.f('fk_choice_list_entries_list_id_choice_lists'), ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_choice_list_entries')),
        sa.UniqueConstraint('list_id', 'value', name='uq_choice_list_entry_value'),
    )
    op.create_index(
        'ix_choice_list_entries_list_position', 'choice_list_entries', ['list_id', 'position']
    )
    with op.batch_alter_table('service_contracts') as batch:
        batch.add_column(
            sa.Column('options_monthly', sa.Numeric(12, 2), nullable=False, server_default='0')
        )


def downgrade():
    with op.batch_alter_table('service_contracts') as batch:
        batch.drop_column('options_monthly')
    op.drop_index('ix_choice_list_entries_list_position', table_name='choice_list_entries')
    op.drop_table('choice_list_entries')
    op.drop_table('choice_lists')
