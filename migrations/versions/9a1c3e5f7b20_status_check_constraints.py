"""status check constraints: every status column holds one of its state machine's states

Revision ID: 9a1c3e5f7b20
Revises: 6e2a9c4d1b57
Create Date: 2026-12-01 20:00:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '9a1c3e5f7b20'
down_revision = '6e2a9c4d1b57'
branch_labels = None
depends_on = None

# The states as they were when this migration was written; later migrations change them.
STATES = {
    'product_releases': ('planned', 'accepted', 'deployed', 'retired'),
    'service_offers': ('draft', 'planned', 'ready', 'published', 'retired', 'superseded'),
    'subscriptions': (
        'requested', 'fulfilling', 'active', 'modifying', 'terminating', 'terminated', 'failed'
    ),
    'orders': ('scheduled', 'in_progress', 'completed', 'failed'),
    'fulfillment_tasks': ('waiting', 'queued', 'in_progress', 'done', 'failed'),
    'service_contracts': ('active', 'superseded', 'ended'),
    'support_requests': ('new', 'in_progress', 'waiting_on_consumer', 'resolved', 'closed'),
    'incidents': ('open', 'investigating', 'mitigated', 'resolved', 'closed'),
    'backlog_items': ('new', 'accepted', 'done', 'declined'),
    'knowledge_articles': ('draft', 'published'),
}


def upgrade():
    for table, states in STATES.items():
        values = ', '.join(f"'{state}'" for state in states)
        with op.batch_alter_table(table) as batch:
            batch.create_check_constraint('status', f'status IN ({values})')


def downgrade():
    for table in STATES:
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(f'ck_{table}_status', type_='check')
