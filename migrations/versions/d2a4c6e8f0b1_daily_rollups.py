"""daily rollups: usage per subscription (and per group), metric and day; subscriptions, MRR
and the contracts a margin is taken from per offer, group, currency and day; support volume,
SLA outcomes and satisfaction per offer, group and day; subscriptions indexed by their
creation, activation and termination moments

Revision ID: d2a4c6e8f0b1
Revises: c4e8a1f3b7d2
Create Date: 2026-12-07 14:13:11.211692

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd2a4c6e8f0b1'
down_revision = 'c4e8a1f3b7d2'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('subscriptions', schema=None) as batch_op:
        batch_op.create_index('ix_subscriptions_created_at', ['created_at'], unique=False)
        batch_op.create_index('ix_subscriptions_active_since', ['active_since'], unique=False)
        batch_op.create_index('ix_subscriptions_terminated_at', ['terminated_at'], unique=False)
    op.create_table('usage_group_rollups',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('metric', sa.String(length=40), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('records', sa.Integer(), server_default='0', nullable=False),
    sa.Column('quantity', sa.Numeric(precision=18, scale=4), server_default='0', nullable=False),
    sa.Column('peak', sa.Numeric(precision=18, scale=4), server_default='0', nullable=False),
    sa.CheckConstraint('peak >= 0', name=op.f('ck_usage_group_rollups_peak_not_negative')),
    sa.CheckConstraint('quantity >= 0', name=op.f('ck_usage_group_rollups_quantity_not_negative')),
    sa.CheckConstraint('records >= 0', name=op.f('ck_usage_group_rollups_records_not_negative')),
    sa.ForeignKeyConstraint(['group_id'], ['consumer_groups.id'], name=op.f('fk_usage_group_rollups_group_id_consumer_groups'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['metric'], ['usage_metrics.key'], name=op.f('fk_usage_group_rollups_metric_usage_metrics'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_usage_group_rollups')),
    sa.UniqueConstraint('group_id', 'metric', 'day', name='uq_usage_group_rollup_grain')
    )
    with op.batch_alter_table('usage_group_rollups', schema=None) as batch_op:
        batch_op.create_index('ix_usage_group_rollups_day', ['day'], unique=False)

    op.create_table('subscription_rollups',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('offer_id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('created', sa.Integer(), server_default='0', nullable=False),
    sa.Column('started', sa.Integer(), server_default='0', nullable=False),
    sa.Column('terminated', sa.Integer(), server_default='0', nullable=False),
    sa.Column('ended', sa.Integer(), server_default='0', nullable=False),
    sa.Column('running', sa.Integer(), server_default='0', nullable=False),
    sa.Column('monthly_contracts', sa.Integer(), server_default='0', nullable=False),
    sa.Column('yearly_contracts', sa.Integer(), server_default='0', nullable=False),
    sa.Column('monthly_price_cents', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('yearly_price_cents', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('options_cents', sa.BigInteger(), server_default='0', nullable=False),
    sa.CheckConstraint('created >= 0', name=op.f('ck_subscription_rollups_created_not_negative')),
    sa.CheckConstraint('terminated >= 0', name=op.f('ck_subscription_rollups_terminated_not_negative')),
    sa.CheckConstraint('ended >= 0', name=op.f('ck_subscription_rollups_ended_not_negative')),
    sa.CheckConstraint('monthly_contracts >= 0', name=op.f('ck_subscription_rollups_monthly_contracts_not_negative')),
    sa.CheckConstraint('monthly_price_cents >= 0', name=op.f('ck_subscription_rollups_monthly_price_cents_not_negative')),
    sa.CheckConstraint('options_cents >= 0', name=op.f('ck_subscription_rollups_options_cents_not_negative')),
    sa.CheckConstraint('running >= 0', name=op.f('ck_subscription_rollups_running_not_negative')),
    sa.CheckConstraint('started >= 0', name=op.f('ck_subscription_rollups_started_not_negative')),
    sa.CheckConstraint('yearly_contracts >= 0', name=op.f('ck_subscription_rollups_yearly_contracts_not_negative')),
    sa.CheckConstraint('yearly_price_cents >= 0', name=op.f('ck_subscription_rollups_yearly_price_cents_not_negative')),
    sa.ForeignKeyConstraint(['group_id'], ['consumer_groups.id'], name=op.f('fk_subscription_rollups_group_id_consumer_groups'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['offer_id'], ['service_offers.id'], name=op.f('fk_subscription_rollups_offer_id_service_offers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subscription_rollups')),
    sa.UniqueConstraint('offer_id', 'group_id', 'currency', 'day', name='uq_subscription_rollup_grain')
    )
    with op.batch_alter_table('subscription_rollups', schema=None) as batch_op:
        batch_op.create_index('ix_subscription_rollups_group_day', ['group_id', 'day'], unique=False)

    op.create_table('subscription_group_rollups',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('created', sa.Integer(), server_default='0', nullable=False),
    sa.Column('started', sa.Integer(), server_default='0', nullable=False),
    sa.Column('terminated', sa.Integer(), server_default='0', nullable=False),
    sa.Column('ended', sa.Integer(), server_default='0', nullable=False),
    sa.Column('running', sa.Integer(), server_default='0', nullable=False),
    sa.CheckConstraint('created >= 0', name=op.f('ck_subscription_group_rollups_created_not_negative')),
    sa.CheckConstraint('started >= 0', name=op.f('ck_subscription_group_rollups_started_not_negative')),
    sa.CheckConstraint('terminated >= 0', name=op.f('ck_subscription_group_rollups_terminated_not_negative')),
    sa.CheckConstraint('ended >= 0', name=op.f('ck_subscription_group_rollups_ended_not_negative')),
    sa.CheckConstraint('running >= 0', name=op.f('ck_subscription_group_rollups_running_not_negative')),
    sa.ForeignKeyConstraint(['group_id'], ['consumer_groups.id'], name=op.f('fk_subscription_group_rollups_group_id_consumer_groups'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subscription_group_rollups')),
    sa.UniqueConstraint('group_id', 'day', name='uq_subscription_group_rollup_grain')
    )
    op.create_table('support_rollups',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('offer_id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('requests', sa.Integer(), server_default='0', nullable=False),
    sa.Column('responded', sa.Integer(), server_default='0', nullable=False),
    sa.Column('response_met', sa.Integer(), server_default='0', nullable=False),
    sa.Column('response_breached', sa.Integer(), server_default='0', nullable=False),
    sa.Column('resolved', sa.Integer(), server_default='0', nullable=False),
    sa.Column('resolution_met', sa.Integer(), server_default='0', nullable=False),
    sa.Column('resolution_breached', sa.Integer(), server_default='0', nullable=False),
    sa.Column('response_seconds', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('resolution_seconds', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('rated', sa.Integer(), server_default='0', nullable=False),
    sa.Column('satisfaction_sum', sa.Integer(), server_default='0', nullable=False),
    sa.CheckConstraint('rated >= 0', name=op.f('ck_support_rollups_rated_not_negative')),
    sa.CheckConstraint('requests >= 0', name=op.f('ck_support_rollups_requests_not_negative')),
    sa.CheckConstraint('resolution_breached >= 0', name=op.f('ck_support_rollups_resolution_breached_not_negative')),
    sa.CheckConstraint('resolution_met >= 0', name=op.f('ck_support_rollups_resolution_met_not_negative')),
    sa.CheckConstraint('resolution_seconds >= 0', name=op.f('ck_support_rollups_resolution_seconds_not_negative')),
    sa.CheckConstraint('resolved >= 0', name=op.f('ck_support_rollups_resolved_not_negative')),
    sa.CheckConstraint('responded >= 0', name=op.f('ck_support_rollups_responded_not_negative')),
    sa.CheckConstraint('response_breached >= 0', name=op.f('ck_support_rollups_response_breached_not_negative')),
    sa.CheckConstraint('response_met >= 0', name=op.f('ck_support_rollups_response_met_not_negative')),
    sa.CheckConstraint('response_seconds >= 0', name=op.f('ck_support_rollups_response_seconds_not_negative')),
    sa.CheckConstraint('satisfaction_sum >= 0', name=op.f('ck_support_rollups_satisfaction_sum_not_negative')),
    sa.ForeignKeyConstraint(['group_id'], ['consumer_groups.id'], name=op.f('fk_support_rollups_group_id_consumer_groups'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['offer_id'], ['service_offers.id'], name=op.f('fk_support_rollups_offer_id_service_offers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_support_rollups')),
    sa.UniqueConstraint('offer_id', 'group_id', 'day', name='uq_support_rollup_grain')
    )
    with op.batch_alter_table('support_rollups', schema=None) as batch_op:
        batch_op.create_index('ix_support_rollups_day', ['day'], unique=False)
        batch_op.create_index('ix_support_rollups_group_day', ['group_id', 'day'], unique=False)

    op.create_table('usage_rollups',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('subscription_id', sa.Integer(), nullable=False),
    sa.Column('metric', sa.String(length=40), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('offer_id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('records', sa.Integer(), server_default='0', nullable=False),
    sa.Column('quantity', sa.Numeric(precision=18, scale=4), server_default='0', nullable=False),
    sa.Column('peak', sa.Numeric(precision=18, scale=4), server_default='0', nullable=False),
    sa.CheckConstraint('peak >= 0', name=op.f('ck_usage_rollups_peak_not_negative')),
    sa.CheckConstraint('quantity >= 0', name=op.f('ck_usage_rollups_quantity_not_negative')),
    sa.CheckConstraint('records >= 0', name=op.f('ck_usage_rollups_records_not_negative')),
    sa.ForeignKeyConstraint(['metric'], ['usage_metrics.key'], name=op.f('fk_usage_rollups_metric_usage_metrics'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['subscription_id'], ['subscriptions.id'], name=op.f('fk_usage_rollups_subscription_id_subscriptions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_usage_rollups')),
    sa.UniqueConstraint('subscription_id', 'metric', 'day', name='uq_usage_rollup_grain')
    )
    with op.batch_alter_table('usage_rollups', schema=None) as batch_op:
        batch_op.create_index('ix_usage_rollups_group_day', ['group_id', 'day'], unique=False)
        batch_op.create_index('ix_usage_rollups_offer_day', ['offer_id', 'day'], unique=False)



def downgrade():
    with op.batch_alter_table('usage_rollups', schema=None) as batch_op:
        batch_op.drop_index('ix_usage_rollups_offer_day')
        batch_op.drop_index('ix_usage_rollups_group_day')

    op.drop_table('usage_rollups')
    with op.batch_alter_table('support_rollups', schema=None) as batch_op:
        batch_op.drop_index('ix_support_rollups_group_day')
        batch_op.drop_index('ix_support_rollups_day')

    op.drop_table('support_rollups')
    op.drop_table('subscription_group_rollups')
    with op.batch_alter_table('subscription_rollups', schema=None) as batch_op:
        batch_op.drop_index('ix_subscription_rollups_group_day')

    op.drop_table('subscription_rollups')
    with op.batch_alter_table('usage_group_rollups', schema=None) as batch_op:
        batch_op.drop_index('ix_usage_group_rollups_day')

    op.drop_table('usage_group_rollups')
    with op.batch_alter_table('subscriptions', schema=None) as batch_op:
        batch_op.drop_index('ix_subscriptions_terminated_at')
        batch_op.drop_index('ix_subscriptions_active_since')
        batch_op.drop_index('ix_subscriptions_created_at')
