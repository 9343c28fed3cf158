"""offers say how many active subscriptions one person and one group may hold, and which
offers (by code) a subscription may change to as upgrades or downgrades

Revision ID: b8e4c2a7d913
Revises: b8d4f1a2c9e7
Create Date: 2026-12-02 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b8e4c2a7d913'
down_revision = 'b8d4f1a2c9e7'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('service_offers') as batch:
        batch.add_column(sa.Column('max_per_person', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('max_per_group', sa.Integer(), nullable=True))
        batch.add_column(
            sa.Column('upgrade_codes', sa.JSON(), server_default='[]', nullable=False)
        )
        batch.add_column(
            sa.Column('downgrade_codes', sa.JSON(), server_default='[]', nullable=False)
        )
        batch.create_check_constraint(
            'max_per_person_positive', 'max_per_person IS NULL OR max_per_person >= 1'
        )
        batch.create_check_constraint(
            'max_per_group_positive', 'max_per_group IS NULL OR max_per_group >= 1'
        )


def downgrade():
    with op.batch_alter_table('service_offers') as batch:
        batch.drop_constraint('ck_service_offers_max_per_group_positive', type_='check')
        batch.drop_constraint('ck_service_offers_max_per_person_positive', type_='check')
        batch.drop_column('downgrade_codes')
        batch.drop_column('upgrade_codes')
        batch.drop_column('max_per_group')
        batch.drop_column('max_per_person')
