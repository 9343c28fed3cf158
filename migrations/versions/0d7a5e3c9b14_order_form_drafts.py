"""order drafts: an order form saved halfway, per user, to resume later

Revision ID: 0d7a5e3c9b14
Revises: f8ea11ea09b2
Create Date: 2026-12-03 07:05:00.000000

"""
from alembic import op
import sqlalchemy as sa

from app.models_base import UTCDateTime


# revision identifiers, used by Alembic.
revision = '0d7a5e3c9b14'
down_revision = 'f8ea11ea09b2'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'order_drafts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('offer_id', sa.Integer(), nullable=False),
        sa.Column('values', sa.JSON(), nullable=False),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.Column('updated_at', UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['offer_id'], ['service_offers.id'], name=op.f('fk_order_drafts_offer_id_service_offers'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_order_drafts_user_id_users'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_order_drafts')),
    )
    with op.batch_alter_table('order_drafts') as batch:
        batch.create_index(batch.f('ix_order_drafts_user_id'), ['user_id'], unique=False)


def downgrade():
    with op.batch_alter_table('order_drafts') as batch:
        batch.drop_index(batch.f('ix_order_drafts_user_id'))
    op.drop_table('order_drafts')
