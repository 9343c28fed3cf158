"""OpenID Connect sign-in: user identities (issuer, subject), and which roles and group
memberships were granted in Offerdesk (local) rather than by the identity provider's claims

Revision ID: c4e19a7d05b3
Revises: f7e1d9c24a6b
Create Date: 2026-12-09 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c4e19a7d05b3'
down_revision = 'f7e1d9c24a6b'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'user_identities',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('issuer', sa.String(length=255), nullable=False),
        sa.Column('subject', sa.String(length=255), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('last_signed_in_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('issuer', 'subject', name='uq_identity_issuer_subject'),
    )
    with op.batch_alter_table('user_identities') as batch:
        batch.create_index('ix_user_identities_user_id', ['user_id'])
    for table in ('user_roles', 'group_members'):
        with op.batch_alter_table(table) as batch:
            batch.add_column(
                sa.Column('local', sa.Boolean(), server_default=sa.true(), nullable=False)
            )


def downgrade():
    for table in ('group_members', 'user_roles'):
        with op.batch_alter_table(table) as batch:
            batch.drop_column('local')
    with op.batch_alter_table('user_identities') as batch:
        batch.drop_index('ix_user_identities_user_id')
    op.drop_table('user_identities')
