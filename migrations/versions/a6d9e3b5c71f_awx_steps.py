"""automatic steps that launch an AWX job template: the step's job template on its task, the
launched job and its poll count on the delivery, what each attempt asked in the delivery log

Revision ID: a6d9e3b5c71f
Revises: c4e19a7d05b3
Create Date: 2026-12-10 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a6d9e3b5c71f'
down_revision = 'c4e19a7d05b3'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('fulfillment_tasks') as batch:
        batch.add_column(sa.Column('job_template', sa.Integer(), nullable=True))
    with op.batch_alter_table('step_deliveries') as batch:
        batch.add_column(sa.Column('job_id', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('polls', sa.Integer(), server_default='0', nullable=False))
    with op.batch_alter_table('step_delivery_attempts') as batch:
        batch.add_column(
            sa.Column('request_line', sa.String(length=300), server_default='', nullable=False)
        )


def downgrade():
    with op.batch_alter_table('step_delivery_attempts') as batch:
        batch.drop_column('request_line')
    with op.batch_alter_table('step_deliveries') as batch:
        batch.drop_column('polls')
        batch.drop_column('job_id')
    with op.batch_alter_table('fulfillment_tasks') as batch:
        batch.drop_column('job_template')
