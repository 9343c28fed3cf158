"""a lease's end chosen when ordering (subscriptions.lease_chosen_end) and offers whose lease
extensions need approval (service_offers.lease_extension_needs_approval)

Revision ID: c4e6a8b0d2f3
Revises: c3e5a7b9d1f2
Create Date: 2026-12-07 14:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c4e6a8b0d2f3'
down_revision = 'c3e5a7b9d1f2'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('service_offers') as batch:
        batch.add_column(
            sa.Column(
                'lease_extension_needs_approval',
                sa.Boolean(create_constraint=False),
                server_default=sa.false(),
                nullable=False,
            )
        )
    with op.batch_alter_table('subscriptions') as batch:
        batch.add_column(sa.Column('lease_chosen_end', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('subscriptions') as batch:
        batch.drop_column('lease_chosen_end')
    with op.batch_alter_table('service_offers') as batch:
        batch.drop_column('lease_extension_needs_approval')
