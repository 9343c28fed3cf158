"""order rollups: completed orders per offer, group, order type, day of completion and flow
time bucket (hundredths of an hour), for fulfillment and the flow metrics; offer rollups:
running subscriptions and their recurring money per offer and currency, for revenue

Revision ID: rollup0001
Revises: d2a4c6e8f0b1
Create Date: 2026-12-07 17:55:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'rollup0001'
down_revision = 'd2a4c6e8f0b1'
branch_labels = None
depends_on = None

AMOUNTS = ('done', 'lead_seconds', 'active_seconds', 'with_target', 'within_target')
MONEY = ('monthly_contracts', 'yearly_contracts', 'monthly_price_cents', 'yearly_price_cents', 'options_cents')


def upgrade():
    op.create_table('order_rollups',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('offer_id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('order_type', sa.String(length=12), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('flow_bucket', sa.Integer(), nullable=False),
    sa.Column('done', sa.Integer(), server_default='0', nullable=False),
    sa.Column('lead_seconds', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('active_seconds', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('with_target', sa.Integer(), server_default='0', nullable=False),
    sa.Column('within_target', sa.Integer(), server_default='0', nullable=False),
    *[sa.CheckConstraint(f'{name} >= 0', name=op.f(f'ck_order_rollups_{name}_not_negative')) for name in AMOUNTS],
    sa.ForeignKeyConstraint(['group_id'], ['consumer_groups.id'], name=op.f('fk_order_rollups_group_id_consumer_groups'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['offer_id'], ['service_offers.id'], name=op.f('fk_order_rollups_offer_id_service_offers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_order_rollups')),
    sa.UniqueConstraint('offer_id', 'group_id', 'order_type', 'day', 'flow_bucket', name='uq_order_rollup_grain')
    )
    with op.batch_alter_table('order_rollups', schema=None) as batch_op:
        batch_op.create_index('ix_order_rollups_day', ['day'], unique=False)
        batch_op.create_index('ix_order_rollups_group_day', ['group_id', 'day'], unique=False)

    op.create_table('offer_rollups',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('offer_id', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('running', sa.Integer(), server_default='0', nullable=False),
    sa.Column('monthly_contracts', sa.Integer(), server_default='0', nullable=False),
    sa.Column('yearly_contracts', sa.Integer(), server_default='0', nullable=False),
    sa.Column('monthly_price_cents', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('yearly_price_cents', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('options_cents', sa.BigInteger(), server_default='0', nullable=False),
    *[sa.CheckConstraint(f'{name} >= 0', name=op.f(f'ck_offer_rollups_{name}_not_negative')) for name in ('running', *MONEY)],
    sa.ForeignKeyConstraint(['offer_id'], ['service_offers.id'], name=op.f('fk_offer_rollups_offer_id_service_offers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_offer_rollups')),
    sa.UniqueConstraint('offer_id', 'currency', name='uq_offer_rollup_grain')
    )


def downgrade():
    op.drop_table('offer_rollups')
    with op.batch_alter_table('order_rollups', schema=None) as batch_op:
        batch_op.drop_index('ix_order_rollups_group_day')
        batch_op.drop_index('ix_order_rollups_day')
    op.drop_table('order_rollups')
