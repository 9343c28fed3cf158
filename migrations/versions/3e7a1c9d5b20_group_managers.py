"""group managers: group_managers (group_id, user_id), the members who manage a consumer group

Revision ID: 3e7a1c9d5b20
Revises: b8e2d4f6a913
Create Date: 2026-12-03 05:45:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '3e7a1c9d5b20'
down_revision = 'b8e2d4f6a913'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'group_managers',
        sa.Column('group_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ['group_id'], ['consumer_groups.id'],
            name=op.f('fk_group_managers_group_id_consumer_groups'), ondelete='CASCADE',
        ),
        sa.ForeignKeyConstraint(
            ['user_id'], ['users.id'],
            name=op.f('fk_group_managers_user_id_users'), ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('group_id', 'user_id', name=op.f('pk_group_managers')),
    )


def downgrade():
    op.drop_table('group_managers')
