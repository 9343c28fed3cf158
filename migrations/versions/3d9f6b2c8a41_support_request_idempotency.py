"""support requests: an idempotency key per requester, so a double submit opens one request

Revision ID: 3d9f6b2c8a41
Revises: 8c4e1a7b2d10
Create Date: 2026-11-24 23:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '3d9f6b2c8a41'
down_revision = '8c4e1a7b2d10'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('support_requests', schema=None) as batch_op:
        batch_op.add_column(sa.Column('idempotency_key', sa.String(length=100), nullable=True))
        batch_op.create_unique_constraint(
            'uq_request_idempotency', ['requester_id', 'idempotency_key']
        )


def downgrade():
    with op.batch_alter_table('support_requests', schema=None) as batch_op:
        batch_op.drop_constraint('uq_request_idempotency', type_='unique')
        batch_op.drop_column('idempotency_key')
