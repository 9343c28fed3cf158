"""knowledge articles: a version column, the optimistic lock (version_id_col); existing rows
start at version 1

Revision ID: c4f8a2d6e913
Revises: b7d2e4f6a813
Create Date: 2026-12-03 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c4f8a2d6e913'
down_revision = 'b7d2e4f6a813'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('knowledge_articles') as batch:
        batch.add_column(sa.Column('version', sa.Integer(), server_default='1', nullable=False))


def downgrade():
    with op.batch_alter_table('knowledge_articles') as batch:
        batch.drop_column('version')
