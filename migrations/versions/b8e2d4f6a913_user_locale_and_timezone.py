"""a user's language and time zone: users.locale (en or de, none = the browser's language) and
users.timezone (an IANA name, none = UTC)

Revision ID: b8e2d4f6a913
Revises: b8e4c2a7d913
Create Date: 2026-12-02 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b8e2d4f6a913'
down_revision = 'b8e4c2a7d913'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users') as batch:
        batch.add_column(sa.Column('locale', sa.String(length=8), nullable=True))
        batch.add_column(sa.Column('timezone', sa.String(length=64), nullable=True))
        batch.create_check_constraint(
            op.f('ck_users_known_locale'), "locale IN ('en', 'de')"
        )


def downgrade():
    with op.batch_alter_table('users') as batch:
        batch.drop_constraint(op.f('ck_users_known_locale'), type_='check')
        batch.drop_column('timezone')
        batch.drop_column('locale')
