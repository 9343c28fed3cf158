"""orders and fulfillment tasks: a version column, the optimistic lock (version_id_col)

Revision ID: b7d2e4f6a813
Revises: b7d2e4f6a8c1
Create Date: 2026-12-02 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b7d2e4f6a813'
down_revision = 'b7d2e4f6a8c1'
branch_labels = None
depends_on = None

TABLES = ('orders', 'fulfillment_tasks')


def upgrade():
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(
                sa.Column('version', sa.Integer(), server_default='1', nullable=False)
            )


def downgrade():
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column('version')
