"""the cart: one per user with a version, its items (offer, options, terms accepted, group, the
offer as seen when added, the lease end chosen), and the checkouts done, unique by idempotency key per user

Revision ID: c3e5a7b9d1f2
Revises: b2d4f6a8c0e1
Create Date: 2026-12-07 14:20:00.000000

"""
from alembic import op
import sqlalchemy as sa

from app.models_base import UTCDateTime


# revision identifiers, used by Alembic.
revision = 'c3e5a7b9d1f2'
down_revision = 'b2d4f6a8c0e1'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'carts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('version', sa.Integer(), server_default='1', nullable=False),
        sa.Column('changes', sa.JSON(), nullable=False),
        sa.Column('updated_at', UTCDateTime(), nullable=False),
        sa.CheckConstraint('version >= 1', name=op.f('ck_carts_version_positive')),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_carts_user_id_users'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_carts')),
        sa.UniqueConstraint('user_id', name=op.f('uq_carts_user_id')),
    )
    op.create_table(
        'cart_items',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('cart_id', sa.Integer(), nullable=False),
        sa.Column('offer_id', sa.Integer(), nullable=False),
        sa.Column('options', sa.JSON(), nullable=False),
        sa.Column('accept_terms', sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column('group_id', sa.Integer(), nullable=True),
        sa.Column('added_at', UTCDateTime(), nullable=False),
        sa.Column('offer_version', sa.Integer(), nullable=False),
        sa.Column('offer_status', sa.String(length=16), nullable=False),
        sa.Column('lease_ends_on', sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(['cart_id'], ['carts.id'], name=op.f('fk_cart_items_cart_id_carts'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['group_id'], ['consumer_groups.id'], name=op.f('fk_cart_items_group_id_consumer_groups'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['offer_id'], ['service_offers.id'], name=op.f('fk_cart_items_offer_id_service_offers'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_cart_items')),
    )
    with op.batch_alter_table('cart_items') as batch:
        batch.create_index(batch.f('ix_cart_items_cart_id'), ['cart_id'], unique=False)
    op.create_table(
        'cart_checkouts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('idempotency_key', sa.String(length=100), nullable=False),
        sa.Column('request_fingerprint', sa.String(length=64), nullable=False),
        sa.Column('order_ids', sa.JSON(), nullable=False),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_cart_checkouts_user_id_users'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_cart_checkouts')),
        sa.UniqueConstraint('user_id', 'idempotency_key', name='uq_cart_checkout_key'),
    )


def downgrade():
    op.drop_table('cart_checkouts')
    with op.batch_alter_table('cart_items') as batch:
        batch.drop_index(batch.f('ix_cart_items_cart_id'))
    op.drop_table('cart_items')
    op.drop_table('carts')
