"""dashboard indexes: new orders by type and creation (the offer table's orders in a period),
and covering indexes for the all-products dashboard's daily subscription counts and a period's
completed orders (they replace the order rollups' index on the day alone), and the offers'
code and cost by id, read from the index when revenue and the offer table join every offer

Revision ID: dash0001
Revises: rollup0001
Create Date: 2026-12-07 23:30:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'dash0001'
down_revision = 'rollup0001'
branch_labels = None
depends_on = None

COUNTS = ['created', 'started', 'terminated', 'ended', 'running']
AMOUNTS = ['done', 'lead_seconds', 'active_seconds', 'with_target', 'within_target']


def upgrade():
    op.create_index('ix_orders_type_created', 'orders', ['order_type', 'created_at'], unique=False)
    op.create_index('ix_subscription_group_rollups_day_counts', 'subscription_group_rollups', ['day', *COUNTS], unique=False)
    op.create_index('ix_order_rollups_day_amounts', 'order_rollups', ['day', 'order_type', 'flow_bucket', *AMOUNTS], unique=False)
    op.drop_index('ix_order_rollups_day', table_name='order_rollups')
    op.create_index('ix_service_offers_id_code_cost', 'service_offers', ['id', 'code', 'cost'], unique=False)


def downgrade():
    op.drop_index('ix_service_offers_id_code_cost', table_name='service_offers')
    op.create_index('ix_order_rollups_day', 'order_rollups', ['day'], unique=False)
    op.drop_index('ix_order_rollups_day_amounts', table_name='order_rollups')
    op.drop_index('ix_subscription_group_rollups_day_counts', table_name='subscription_group_rollups')
    op.drop_index('ix_orders_type_created', table_name='orders')
