"""offers newest first: (published_at, id), so "new offers" reads the index backwards even
when many offers share a publication moment

Revision ID: 6e2a9c4d1b57
Revises: 3d9f6b2c8a41
Create Date: 2026-11-24 23:40:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '6e2a9c4d1b57'
down_revision = '3d9f6b2c8a41'
branch_labels = None
depends_on = None


def upgrade():
    op.drop_index('ix_service_offers_published_at', table_name='service_offers')
    op.create_index(
        'ix_service_offers_published', 'service_offers', ['published_at', 'id'], unique=False
    )


def downgrade():
    op.drop_index('ix_service_offers_published', table_name='service_offers')
    op.create_index(
        'ix_service_offers_published_at', 'service_offers', ['published_at'], unique=False
    )
