"""subscriptions by offer: the dashboard finds the products in scope through it

Revision ID: 8c4e1a7b2d10
Revises: 5b1f0c2d9e77
Create Date: 2026-11-24 23:00:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '8c4e1a7b2d10'
down_revision = '5b1f0c2d9e77'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index(
        'ix_subscriptions_offer_parent', 'subscriptions', ['offer_id', 'parent_id'], unique=False
    )


def downgrade():
    op.drop_index('ix_subscriptions_offer_parent', table_name='subscriptions')
