"""notification preferences: a kind on every notification, the channel per user and kind and
its defaults per kind, the daily digest (its entries, one digest per user and day), and the
critical mark of service notices; existing notifications become order updates

Revision ID: d5a8c3e1f027
Revises: a6d9e3b5c71f
Create Date: 2026-12-02 10:10:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd5a8c3e1f027'
down_revision = 'a6d9e3b5c71f'
branch_labels = None
depends_on = None

KINDS = "'order_updates', 'approvals', 'support_replies', 'service_notices', 'release_announcements'"
CHANNELS = "'in_app', 'email', 'both', 'digest', 'none'"


def upgrade():
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('kind', sa.String(length=30), nullable=False, server_default='order_updates')
        )
        batch_op.create_check_constraint(
            op.f('ck_notifications_notification_kind_values'), f"kind IN ({KINDS})"
        )
        batch_op.create_index('ix_notifications_user_kind', ['user_id', 'kind'], unique=False)
    with op.batch_alter_table('service_notices', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('critical', sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.create_table(
        'notification_defaults',
        sa.Column('kind', sa.String(length=30), nullable=False),
        sa.Column('channel', sa.String(length=10), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(f"kind IN ({KINDS})", name=op.f('ck_notification_defaults_notification_default_kind_values')),
        sa.CheckConstraint(f"channel IN ({CHANNELS})", name=op.f('ck_notification_defaults_notification_default_channel_values')),
        sa.PrimaryKeyConstraint('kind', name=op.f('pk_notification_defaults')),
    )
    op.create_table(
        'notification_preferences',
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=30), nullable=False),
        sa.Column('channel', sa.String(length=10), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(f"kind IN ({KINDS})", name=op.f('ck_notification_preferences_notification_preference_kind_values')),
        sa.CheckConstraint(f"channel IN ({CHANNELS})", name=op.f('ck_notification_preferences_notification_preference_channel_values')),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notification_preferences_user_id_users'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('user_id', 'kind', name=op.f('pk_notification_preferences')),
    )
    op.create_table(
        'notification_digests',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('entries', sa.Integer(), nullable=False),
        sa.Column('email_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['email_id'], ['outbox_emails.id'], name=op.f('fk_notification_digests_email_id_outbox_emails'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notification_digests_user_id_users'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_notification_digests')),
        sa.UniqueConstraint('user_id', 'day', name='uq_notification_digest_day'),
    )
    op.create_table(
        'digest_entries',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=30), nullable=False),
        sa.Column('subject', sa.String(length=200), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('link', sa.String(length=500), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('digest_id', sa.Integer(), nullable=True),
        sa.CheckConstraint(f"kind IN ({KINDS})", name=op.f('ck_digest_entries_digest_entry_kind_values')),
        sa.ForeignKeyConstraint(['digest_id'], ['notification_digests.id'], name=op.f('fk_digest_entries_digest_id_notification_digests'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_digest_entries_user_id_users'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_digest_entries')),
    )
    op.create_index('ix_digest_entries_user_pending', 'digest_entries', ['user_id', 'digest_id'], unique=False)


def downgrade():
    op.drop_index('ix_digest_entries_user_pending', table_name='digest_entries')
    op.drop_table('digest_entries')
    op.drop_table('notification_digests')
    op.drop_table('notification_preferences')
    op.drop_table('notification_defaults')
    with op.batch_alter_table('service_notices', schema=None) as batch_op:
        batch_op.drop_column('critical')
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_index('ix_notifications_user_kind')
        batch_op.drop_constraint(op.f('ck_notifications_notification_kind_values'), type_='check')
        batch_op.drop_column('kind')
