"""jobs: runs of the periodic jobs (one per job and period), marks of what a job did once,
and a claim on outbox e-mails so two senders never send one twice

Revision ID: f3a1c7d9e2b4
Revises: 9a1c3e5f7b20
Create Date: 2026-12-01 19:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'f3a1c7d9e2b4'
down_revision = '9a1c3e5f7b20'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'job_runs',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=120), nullable=False),
        sa.Column('trigger', sa.String(length=10), nullable=False),
        sa.Column('period_start', sa.DateTime(timezone=True), nullable=True),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('summary', sa.Text(), nullable=False),
        sa.Column('error', sa.Text(), nullable=False),
        sa.Column('worker', sa.String(length=120), nullable=False),
        sa.CheckConstraint(
            "status IN ('running', 'done', 'failed')", name=op.f('ck_job_runs_job_run_status_values')
        ),
        sa.CheckConstraint(
            "trigger IN ('schedule', 'manual', 'task')",
            name=op.f('ck_job_runs_job_run_trigger_values'),
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_job_runs')),
        sa.UniqueConstraint('name', 'period_start', name='uq_job_run_period'),
    )
    op.create_index('ix_job_runs_name_started', 'job_runs', ['name', 'started_at'], unique=False)
    op.create_table(
        'job_marks',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('key', sa.String(length=200), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_job_marks')),
        sa.UniqueConstraint('key', name=op.f('uq_job_marks_key')),
    )
    with op.batch_alter_table('outbox_emails', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True)
        )


def downgrade():
    with op.batch_alter_table('outbox_emails', schema=None) as batch_op:
        batch_op.drop_column('claimed_at')
    op.drop_table('job_marks')
    op.drop_index('ix_job_runs_name_started', table_name='job_runs')
    op.drop_table('job_runs')
