"""approvals: approval policies (offer, category, catalog default), the approval steps of each
order, decisions, delegations; orders may await approval, be rejected or cancelled (and their
subscriptions with them); orders.status widened to 20 characters for awaiting_approval

Revision ID: f8ea11ea09b2
Revises: d7a3e5c1b902
Create Date: 2026-12-03 06:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

from app.models_base import UTCDateTime


# revision identifiers, used by Alembic.
revision = 'f8ea11ea09b2'
down_revision = 'd7a3e5c1b902'
branch_labels = None
depends_on = None

SUBSCRIPTION_BEFORE = (
    'requested', 'fulfilling', 'active', 'modifying', 'terminating', 'terminated', 'failed'
)
SUBSCRIPTION_AFTER = (*SUBSCRIPTION_BEFORE, 'rejected', 'cancelled')
ORDER_BEFORE = ('scheduled', 'in_progress', 'completed', 'failed')
ORDER_AFTER = (
    'scheduled', 'awaiting_approval', 'in_progress', 'completed', 'failed', 'rejected', 'cancelled'
)
STEP_STATES = (
    'waiting', 'pending', 'approved', 'rejected', 'skipped', 'auto_approved', 'cancelled'
)


def _in(states):
    return 'status IN (' + ', '.join(f"'{state}'" for state in states) + ')'


def _statuses(subscriptions, orders, width):
    with op.batch_alter_table('subscriptions') as batch:
        batch.drop_constraint(op.f('ck_subscriptions_status'), type_='check')
        batch.create_check_constraint('status', _in(subscriptions))
    with op.batch_alter_table('orders') as batch:
        batch.drop_constraint(op.f('ck_orders_status'), type_='check')
        batch.alter_column(
            'status', existing_type=sa.String(length=32), type_=sa.String(length=width)
        )
        batch.create_check_constraint('status', _in(orders))


def upgrade():
    op.create_table(
        'approval_policies',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('scope', sa.String(length=10), nullable=False),
        sa.Column('offer_code', sa.String(length=40), nullable=True),
        sa.Column('category_id', sa.Integer(), nullable=True),
        sa.Column('steps', sa.JSON(), nullable=False),
        sa.Column('auto_approve', sa.Text(), nullable=False),
        sa.Column('reminder_hours', sa.Integer(), nullable=True),
        sa.Column('escalation_hours', sa.Integer(), nullable=True),
        sa.Column('on_exceed', sa.String(length=10), nullable=False),
        sa.Column('updated_at', UTCDateTime(), nullable=False),
        sa.Column('updated_by_id', sa.Integer(), nullable=True),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.CheckConstraint("scope IN ('offer', 'category', 'default')", name=op.f('ck_approval_policies_scope')),
        sa.CheckConstraint(
            "(scope = 'offer') = (offer_code IS NOT NULL) "
            "AND (scope = 'category') = (category_id IS NOT NULL)",
            name=op.f('ck_approval_policies_scope_target'),
        ),
        sa.CheckConstraint("on_exceed IN ('refuse', 'approve')", name=op.f('ck_approval_policies_on_exceed')),
        sa.CheckConstraint('reminder_hours IS NULL OR reminder_hours >= 1', name=op.f('ck_approval_policies_reminder')),
        sa.CheckConstraint('escalation_hours IS NULL OR escalation_hours >= 1', name=op.f('ck_approval_policies_escalation')),
        sa.ForeignKeyConstraint(['category_id'], ['categories.id'], name=op.f('fk_approval_policies_category_id_categories'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_approval_policies_updated_by_id_users'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_approval_policies')),
        sa.UniqueConstraint('category_id', name=op.f('uq_approval_policies_category_id')),
        sa.UniqueConstraint('offer_code', name=op.f('uq_approval_policies_offer_code')),
    )
    op.create_index(
        'uq_approval_policies_one_default', 'approval_policies', ['scope'], unique=True,
        sqlite_where=sa.text("scope = 'default'"), postgresql_where=sa.text("scope = 'default'"),
    )
    op.create_table(
        'approval_steps',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('order_id', sa.Integer(), nullable=False),
        sa.Column('sequence', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=120), nullable=False),
        sa.Column('mode', sa.String(length=3), nullable=False),
        sa.Column('approvers', sa.JSON(), nullable=False),
        sa.Column('fallback', sa.JSON(), nullable=True),
        sa.Column('condition', sa.Text(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('asked', sa.JSON(), nullable=False),
        sa.Column('reached', sa.Integer(), nullable=False),
        sa.Column('note', sa.Text(), nullable=False),
        sa.Column('reminder_hours', sa.Integer(), nullable=True),
        sa.Column('escalation_hours', sa.Integer(), nullable=True),
        sa.Column('started_at', UTCDateTime(), nullable=True),
        sa.Column('reminded_at', UTCDateTime(), nullable=True),
        sa.Column('escalated_at', UTCDateTime(), nullable=True),
        sa.Column('decided_at', UTCDateTime(), nullable=True),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.CheckConstraint("mode IN ('one', 'all')", name=op.f('ck_approval_steps_mode')),
        sa.CheckConstraint(_in(STEP_STATES), name=op.f('ck_approval_steps_status')),
        sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_approval_steps_order_id_orders'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_approval_steps')),
        sa.UniqueConstraint('order_id', 'sequence', name='uq_approval_step_sequence'),
    )
    op.create_index('ix_approval_steps_status_started', 'approval_steps', ['status', 'started_at'])
    op.create_table(
        'approval_decisions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('step_id', sa.Integer(), nullable=False),
        sa.Column('decided_by_id', sa.Integer(), nullable=True),
        sa.Column('for_user_id', sa.Integer(), nullable=False),
        sa.Column('on_behalf', sa.Boolean(), nullable=False),
        sa.Column('decision', sa.String(length=8), nullable=False),
        sa.Column('comment', sa.Text(), nullable=False),
        sa.Column('decided_at', UTCDateTime(), nullable=False),
        sa.CheckConstraint("decision IN ('approve', 'reject')", name=op.f('ck_approval_decisions_decision')),
        sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_approval_decisions_decided_by_id_users'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['for_user_id'], ['users.id'], name=op.f('fk_approval_decisions_for_user_id_users'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['step_id'], ['approval_steps.id'], name=op.f('fk_approval_decisions_step_id_approval_steps'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_approval_decisions')),
        sa.UniqueConstraint('step_id', 'for_user_id', name='uq_approval_decision_once'),
    )
    op.create_index(op.f('ix_approval_decisions_step_id'), 'approval_decisions', ['step_id'])
    op.create_table(
        'approval_delegations',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('delegator_id', sa.Integer(), nullable=False),
        sa.Column('delegate_id', sa.Integer(), nullable=False),
        sa.Column('starts_on', sa.Date(), nullable=False),
        sa.Column('ends_on', sa.Date(), nullable=False),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.Column('revoked_at', UTCDateTime(), nullable=True),
        sa.CheckConstraint('ends_on >= starts_on', name=op.f('ck_approval_delegations_range')),
        sa.CheckConstraint('delegate_id <> delegator_id', name=op.f('ck_approval_delegations_not_self')),
        sa.ForeignKeyConstraint(['delegate_id'], ['users.id'], name=op.f('fk_approval_delegations_delegate_id_users'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['delegator_id'], ['users.id'], name=op.f('fk_approval_delegations_delegator_id_users'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_approval_delegations')),
    )
    op.create_index(op.f('ix_approval_delegations_delegate_id'), 'approval_delegations', ['delegate_id'])
    op.create_index('ix_approval_delegations_delegator', 'approval_delegations', ['delegator_id', 'ends_on'])
    _statuses(SUBSCRIPTION_AFTER, ORDER_AFTER, 20)


def downgrade():
    op.execute("DELETE FROM orders WHERE status IN ('awaiting_approval', 'rejected', 'cancelled')")
    op.execute("DELETE FROM subscriptions WHERE status IN ('rejected', 'cancelled')")
    _statuses(SUBSCRIPTION_BEFORE, ORDER_BEFORE, 12)
    op.drop_table('approval_delegations')
    op.drop_table('approval_decisions')
    op.drop_table('approval_steps')
    op.drop_index('uq_approval_policies_one_default', table_name='approval_policies')
    op.drop_table('approval_policies')
