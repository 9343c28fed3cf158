"""indexes for large catalogs and dashboards: offers by name and publication, orders by
completion, usage by period start

Revision ID: 5b1f0c2d9e77
Revises: a334477bce5e
Create Date: 2026-11-24 21:00:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '5b1f0c2d9e77'
down_revision = 'a334477bce5e'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_service_offers_name', 'service_offers', ['name', 'id'], unique=False)
    op.create_index(
        'ix_service_offers_published_at', 'service_offers', ['published_at'], unique=False
    )
    op.create_index('ix_orders_completed_at', 'orders', ['completed_at'], unique=False)
    op.create_index('ix_usage_records_period', 'usage_records', ['period_start'], unique=False)


def downgrade():
    op.drop_index('ix_usage_records_period', table_name='usage_records')
    op.drop_index('ix_orders_completed_at', table_name='orders')
    op.drop_index('ix_service_offers_published_at', table_name='service_offers')
    op.drop_index('ix_service_offers_name', table_name='service_offers')
