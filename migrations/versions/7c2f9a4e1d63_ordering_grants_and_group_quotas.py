"""ordering for others and quotas: ordering_grants (orders_for_others per user and group),
subscriptions.requested_by_id (who ordered for the owner), group_quotas (max active
subscriptions of an offer or a category, or a monthly budget, per group)

Revision ID: 7c2f9a4e1d63
Revises: 3e7a1c9d5b20
Create Date: 2026-12-03 06:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '7c2f9a4e1d63'
down_revision = '3e7a1c9d5b20'
branch_labels = None
depends_on = None

ONE_KIND = (
    "(offer_code IS NOT NULL AND category_id IS NULL AND max_active IS NOT NULL"
    " AND monthly_budget IS NULL AND currency IS NULL)"
    " OR (offer_code IS NULL AND category_id IS NOT NULL AND max_active IS NOT NULL"
    " AND monthly_budget IS NULL AND currency IS NULL)"
    " OR (offer_code IS NULL AND category_id IS NULL AND max_active IS NULL"
    " AND monthly_budget IS NOT NULL AND currency IS NOT NULL)"
)


def upgrade():
    op.create_table(
        'ordering_grants',
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('group_id', sa.Integer(), nullable=False),
        sa.Column('permission', sa.String(length=32), nullable=False),
        sa.Column('granted_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "permission IN ('orders_for_others')", name=op.f('ck_ordering_grants_known_permission')
        ),
        sa.ForeignKeyConstraint(
            ['user_id'], ['users.id'], name=op.f('fk_ordering_grants_user_id_users'),
            ondelete='CASCADE',
        ),
        sa.ForeignKeyConstraint(
            ['group_id'], ['consumer_groups.id'],
            name=op.f('fk_ordering_grants_group_id_consumer_groups'), ondelete='CASCADE',
        ),
        sa.ForeignKeyConstraint(
            ['granted_by_id'], ['users.id'], name=op.f('fk_ordering_grants_granted_by_id_users'),
            ondelete='SET NULL',
        ),
        sa.PrimaryKeyConstraint(
            'user_id', 'group_id', 'permission', name=op.f('pk_ordering_grants')
        ),
    )
    with op.batch_alter_table('subscriptions') as batch:
        batch.add_column(sa.Column('requested_by_id', sa.Integer(), nullable=True))
        batch.create_foreign_key(
            op.f('fk_subscriptions_requested_by_id_users'), 'users', ['requested_by_id'], ['id'],
            ondelete='SET NULL',
        )
    op.create_table(
        'group_quotas',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('group_id', sa.Integer(), nullable=False),
        sa.Column('offer_code', sa.String(length=40), nullable=True),
        sa.Column('category_id', sa.Integer(), nullable=True),
        sa.Column('max_active', sa.Integer(), nullable=True),
        sa.Column('monthly_budget', sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column('currency', sa.String(length=3), nullable=True),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(ONE_KIND, name=op.f('ck_group_quotas_one_kind_of_quota')),
        sa.CheckConstraint(
            'max_active IS NULL OR max_active >= 0', name=op.f('ck_group_quotas_max_not_negative')
        ),
        sa.CheckConstraint(
            'monthly_budget IS NULL OR monthly_budget >= 0',
            name=op.f('ck_group_quotas_budget_not_negative'),
        ),
        sa.ForeignKeyConstraint(
            ['group_id'], ['consumer_groups.id'],
            name=op.f('fk_group_quotas_group_id_consumer_groups'), ondelete='CASCADE',
        ),
        sa.ForeignKeyConstraint(
            ['category_id'], ['categories.id'],
            name=op.f('fk_group_quotas_category_id_categories'), ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_group_quotas')),
    )
    op.create_index(op.f('ix_group_quotas_group_id'), 'group_quotas', ['group_id'])
    op.create_index(
        'uq_group_quotas_offer', 'group_quotas', ['group_id', 'offer_code'], unique=True,
        sqlite_where=sa.text('offer_code IS NOT NULL'),
        postgresql_where=sa.text('offer_code IS NOT NULL'),
    )
    op.create_index(
        'uq_group_quotas_category', 'group_quotas', ['group_id', 'category_id'], unique=True,
        sqlite_where=sa.text('category_id IS NOT NULL'),
        postgresql_where=sa.text('category_id IS NOT NULL'),
    )
    op.create_index(
        'uq_group_quotas_budget', 'group_quotas', ['group_id'], unique=True,
        sqlite_where=sa.text('monthly_budget IS NOT NULL'),
        postgresql_where=sa.text('monthly_budget IS NOT NULL'),
    )


def downgrade():
    op.drop_index('uq_group_quotas_budget', table_name='group_quotas')
    op.drop_index('uq_group_quotas_category', table_name='group_quotas')
    op.drop_index('uq_group_quotas_offer', table_name='group_quotas')
    op.drop_index(op.f('ix_group_quotas_group_id'), table_name='group_quotas')
    op.drop_table('group_quotas')
    with op.batch_alter_table('subscriptions') as batch:
        batch.drop_constraint(op.f('fk_subscriptions_requested_by_id_users'), type_='foreignkey')
        batch.drop_column('requested_by_id')
    op.drop_table('ordering_grants')
