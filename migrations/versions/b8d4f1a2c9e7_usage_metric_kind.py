"""usage metrics say how their records add up: counters (totals add up) or gauges (levels:
the peak, never a sum); the demo's levels, active users and storage used, become gauges

Revision ID: b8d4f1a2c9e7
Revises: d5a8c3e1f027
Create Date: 2026-12-02 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b8d4f1a2c9e7'
down_revision = 'd5a8c3e1f027'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('usage_metrics') as batch:
        batch.add_column(
            sa.Column('kind', sa.String(length=10), server_default='counter', nullable=False)
        )
        batch.create_check_constraint('metric_kind', "kind IN ('counter', 'gauge')")
    op.execute(
        "UPDATE usage_metrics SET kind = 'gauge' WHERE key IN ('active_users', 'storage_gb')"
    )


def downgrade():
    with op.batch_alter_table('usage_metrics') as batch:
        batch.drop_constraint('ck_usage_metrics_metric_kind', type_='check')
        batch.drop_column('kind')
