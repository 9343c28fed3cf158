"""catalog versions: a marker per part of the catalog (the category tree, the offers' visibility)
that every write to its tables changes, so each host keeps the category tree and the count of
visible offers and knows when they are out of date

Revision ID: pagecost30001
Revises: dash0001
Create Date: 2026-12-07 23:40:00

"""
from uuid import uuid4

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'pagecost30001'
down_revision = 'dash0001'
branch_labels = None
depends_on = None


def upgrade():
    table = op.create_table('catalog_versions',
    sa.Column('part', sa.String(length=20), nullable=False),
    sa.Column('marker', sa.String(length=32), nullable=False),
    sa.PrimaryKeyConstraint('part', name=op.f('pk_catalog_versions')),
    )
    op.bulk_insert(table, [{'part': part, 'marker': uuid4().hex} for part in ('categories', 'offers')])


def downgrade():
    op.drop_table('catalog_versions')
