"""offers may give subscriptions a lease (days, a maximum for extensions, warning days before the
end, or an end date chosen when ordering); subscriptions record their lease's end and its warning

Revision ID: b2d4f6a8c0e1
Revises: 0d7a5e3c9b14
Create Date: 2026-12-03 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b2d4f6a8c0e1'
down_revision = '0d7a5e3c9b14'
branch_labels = None
depends_on = None

MAX_CHECK = "lease_max_days IS NULL OR (lease_days IS NOT NULL AND lease_max_days >= lease_days)"
WARN_CHECK = (
    "lease_warn_days IS NULL OR (lease_days IS NOT NULL AND lease_warn_days >= 1"
    " AND lease_warn_days < lease_days)"
)


def upgrade():
    with op.batch_alter_table('service_offers') as batch:
        batch.add_column(sa.Column('lease_days', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('lease_max_days', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('lease_warn_days', sa.Integer(), nullable=True))
        batch.add_column(
            sa.Column('lease_end_chosen', sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch.create_check_constraint(
            'lease_days_positive', 'lease_days IS NULL OR lease_days >= 1'
        )
        batch.create_check_constraint('lease_max_days_at_least_lease', MAX_CHECK)
        batch.create_check_constraint('lease_warn_days_before_end', WARN_CHECK)
    with op.batch_alter_table('subscriptions') as batch:
        batch.add_column(sa.Column('lease_ends_at', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('lease_warned_at', sa.DateTime(timezone=True), nullable=True))
        batch.create_index('ix_subscriptions_lease_ends_at', ['lease_ends_at'])


def downgrade():
    with op.batch_alter_table('subscriptions') as batch:
        batch.drop_index('ix_subscriptions_lease_ends_at')
        batch.drop_column('lease_warned_at')
        batch.drop_column('lease_ends_at')
    with op.batch_alter_table('service_offers') as batch:
        batch.drop_constraint('ck_service_offers_lease_warn_days_before_end', type_='check')
        batch.drop_constraint('ck_service_offers_lease_max_days_at_least_lease', type_='check')
        batch.drop_constraint('ck_service_offers_lease_days_positive', type_='check')
        batch.drop_column('lease_end_chosen')
        batch.drop_column('lease_max_days')
        batch.drop_column('lease_warn_days')
        batch.drop_column('lease_days')
