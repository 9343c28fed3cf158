"""automatic fulfillment steps call integrations: step deliveries, their attempts, the task
log, the task's integration and the subscription's outputs; existing automatic plan steps say
`integration: null` (they keep completing at once)

Revision ID: f7e1d9c24a6b
Revises: c4f8a2d6e913
Create Date: 2026-12-03 09:00:00.000000

"""
import json

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'f7e1d9c24a6b'
down_revision = 'c4f8a2d6e913'
branch_labels = None
depends_on = None

UTC_DATETIME = sa.DateTime(timezone=True)


def upgrade():
    with op.batch_alter_table('subscriptions') as batch:
        batch.add_column(sa.Column('outputs', sa.JSON(), server_default='{}', nullable=False))
    with op.batch_alter_table('fulfillment_tasks') as batch:
        batch.add_column(sa.Column('integration', sa.String(length=120), nullable=True))
    op.create_table(
        'step_deliveries',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('task_id', sa.Integer(), nullable=False),
        sa.Column('integration', sa.String(length=120), nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('token_encrypted', sa.Text(), nullable=False),
        sa.Column('created_at', UTC_DATETIME, nullable=False),
        sa.Column('delivered_at', UTC_DATETIME, nullable=True),
        sa.Column('last_error', sa.Text(), nullable=False),
        sa.CheckConstraint(
            "status IN ('pending', 'delivered', 'failed')", name=op.f('ck_step_deliveries_status')
        ),
        sa.ForeignKeyConstraint(
            ['task_id'], ['fulfillment_tasks.id'],
            name=op.f('fk_step_deliveries_task_id_fulfillment_tasks'), ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_step_deliveries')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_step_deliveries_token_hash')),
    )
    op.create_index('ix_step_deliveries_task_id', 'step_deliveries', ['task_id'])
    op.create_table(
        'step_delivery_attempts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('delivery_id', sa.Integer(), nullable=False),
        sa.Column('attempt', sa.Integer(), nullable=False),
        sa.Column('attempted_at', UTC_DATETIME, nullable=False),
        sa.Column('status_code', sa.Integer(), nullable=True),
        sa.Column('duration_ms', sa.Integer(), nullable=False),
        sa.Column('response_excerpt', sa.String(length=500), nullable=False),
        sa.Column('error', sa.String(length=500), nullable=False),
        sa.ForeignKeyConstraint(
            ['delivery_id'], ['step_deliveries.id'],
            name=op.f('fk_step_delivery_attempts_delivery_id_step_deliveries'), ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_step_delivery_attempts')),
    )
    op.create_index(
        'ix_step_delivery_attempts_delivery_id', 'step_delivery_attempts', ['delivery_id']
    )
    op.create_table(
        'task_log_entries',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('task_id', sa.Integer(), nullable=False),
        sa.Column('created_at', UTC_DATETIME, nullable=False),
        sa.Column('status', sa.String(length=12), nullable=False),
        sa.Column('message', sa.Text(), nullable=False),
        sa.Column('internal', sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ['task_id'], ['fulfillment_tasks.id'],
            name=op.f('fk_task_log_entries_task_id_fulfillment_tasks'), ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_task_log_entries')),
    )
    op.create_index('ix_task_log_entries_task_id', 'task_log_entries', ['task_id'])
    _explicit_null_integrations()


def _explicit_null_integrations():
    """A plan's automatic step must now name its integration; the steps saved before keep
    their behaviour (done at once) by saying so explicitly."""
    bind = op.get_bind()
    offers = sa.table('service_offers', sa.column('id', sa.Integer), sa.column('fulfillment_plan', sa.JSON))
    for offer_id, plan in bind.execute(sa.select(offers.c.id, offers.c.fulfillment_plan)).all():
        steps = json.loads(plan) if isinstance(plan, str) else plan
        if not isinstance(steps, list):
            continue
        changed = False
        for step in steps:
            if isinstance(step, dict) and step.get('mode') == 'automatic' and 'integration' not in step:
                step['integration'] = None
                changed = True
        if changed:
            bind.execute(
                offers.update().where(offers.c.id == offer_id).values(fulfillment_plan=steps)
            )


def downgrade():
    op.drop_index('ix_task_log_entries_task_id', table_name='task_log_entries')
    op.drop_table('task_log_entries')
    op.drop_index('ix_step_delivery_attempts_delivery_id', table_name='step_delivery_attempts')
    op.drop_table('step_delivery_attempts')
    op.drop_index('ix_step_deliveries_task_id', table_name='step_deliveries')
    op.drop_table('step_deliveries')
    with op.batch_alter_table('fulfillment_tasks') as batch:
        batch.drop_column('integration')
    with op.batch_alter_table('subscriptions') as batch:
        batch.drop_column('outputs')
