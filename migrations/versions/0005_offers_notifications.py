"""Offers to nurses (one holding offer per request, enforced by a partial unique index), visit
reports, the notification outbox, and the scheduler's leases and job store; the nurse who holds
a request and its appointment on the request itself.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 16:08:14.263198
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel
import registry.timeutil


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('apscheduler_jobs',
    sa.Column('id', sa.Unicode(length=191), nullable=False),
    sa.Column('next_run_time', sa.Float(precision=25), nullable=True),
    sa.Column('job_state', sa.LargeBinary(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('apscheduler_jobs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_apscheduler_jobs_next_run_time'), ['next_run_time'], unique=False)

    op.create_table('job_lease',
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('holder', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('expires_at', registry.timeutil.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )
    op.create_table('notification',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('dedupe_key', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('address', sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
    sa.Column('subject', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('body', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', registry.timeutil.UTCDateTime(timezone=True), nullable=False),
    sa.Column('claimed_until', registry.timeutil.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('created_at', registry.timeutil.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sent_at', registry.timeutil.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('dedupe_key')
    )
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.create_index('ix_notification_status_next', ['status', 'next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_notification_user_id'), ['user_id'], unique=False)

    op.create_table('offer',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('nurse_id', sa.Integer(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('planned_start', registry.timeutil.UTCDateTime(timezone=True), nullable=False),
    sa.Column('planned_end', registry.timeutil.UTCDateTime(timezone=True), nullable=False),
    sa.Column('distance_km', sa.Float(), nullable=False),
    sa.Column('usual_nurse', sa.Boolean(), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('created_at', registry.timeutil.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', registry.timeutil.UTCDateTime(timezone=True), nullable=False),
    sa.Column('answered_at', registry.timeutil.UTCDateTime(timezone=True), nullable=True),
    sa.Column('answer_reason', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('answer_note', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.ForeignKeyConstraint(['nurse_id'], ['nurse.id'], ),
    sa.ForeignKeyConstraint(['request_id'], ['visit_request.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('offer', schema=None) as batch_op:
        batch_op.create_index('ix_offer_nurse_status', ['nurse_id', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_offer_request_id'), ['request_id'], unique=False)
        batch_op.create_index('ix_offer_status_expires', ['status', 'expires_at'], unique=False)
        batch_op.create_index('uq_offer_holding_request', ['request_id'], unique=True, sqlite_where=sa.text("status IN ('live', 'accepted')"), postgresql_where=sa.text("status IN ('live', 'accepted')"))

    op.create_table('visit_report',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('nurse_id', sa.Integer(), nullable=False),
    sa.Column('visited_at', registry.timeutil.UTCDateTime(timezone=True), nullable=False),
    sa.Column('clinical', sa.JSON(), nullable=False),
    sa.Column('isolation_feasible', sa.Boolean(), nullable=False),
    sa.Column('social_needs', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('ctai_referral', sa.Boolean(), nullable=False),
    sa.Column('gp_informed', sa.Boolean(), nullable=False),
    sa.Column('household_tests', sa.JSON(), nullable=False),
    sa.Column('vaccination_offered', sa.Boolean(), nullable=False),
    sa.Column('ik_km', sa.Numeric(precision=6, scale=1), nullable=True),
    sa.Column('created_at', registry.timeutil.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['nurse_id'], ['nurse.id'], ),
    sa.ForeignKeyConstraint(['request_id'], ['visit_request.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('request_id')
    )
    with op.batch_alter_table('visit_report', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_visit_report_nurse_id'), ['nurse_id'], unique=False)

    with op.batch_alter_table('visit_request', schema=None) as batch_op:
        batch_op.add_column(sa.Column('nurse_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('appointment_at', registry.timeutil.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('unassigned_reason', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('escalated_at', registry.timeutil.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('follow_up_flagged_at', registry.timeutil.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('pseudonymised_at', registry.timeutil.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_visit_request_nurse_id'), ['nurse_id'], unique=False)
        batch_op.create_foreign_key('fk_visit_request_nurse_id', 'nurse', ['nurse_id'], ['id'])

    # The default only filled the existing rows; the application always sets the column.
    with op.batch_alter_table('visit_request', schema=None) as batch_op:
        batch_op.alter_column('unassigned_reason', server_default=None)



def downgrade() -> None:
    with op.batch_alter_table('visit_request', schema=None) as batch_op:
        batch_op.drop_constraint('fk_visit_request_nurse_id', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_visit_request_nurse_id'))
        batch_op.drop_column('pseudonymised_at')
        batch_op.drop_column('follow_up_flagged_at')
        batch_op.drop_column('escalated_at')
        batch_op.drop_column('unassigned_reason')
        batch_op.drop_column('appointment_at')
        batch_op.drop_column('nurse_id')

    with op.batch_alter_table('visit_report', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_visit_report_nurse_id'))

    op.drop_table('visit_report')
    with op.batch_alter_table('offer', schema=None) as batch_op:
        batch_op.drop_index('uq_offer_holding_request', sqlite_where=sa.text("status IN ('live', 'accepted')"), postgresql_where=sa.text("status IN ('live', 'accepted')"))
        batch_op.drop_index('ix_offer_status_expires')
        batch_op.drop_index(batch_op.f('ix_offer_request_id'))
        batch_op.drop_index('ix_offer_nurse_status')

    op.drop_table('offer')
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notification_user_id'))
        batch_op.drop_index('ix_notification_status_next')

    op.drop_table('notification')
    op.drop_table('job_lease')
    with op.batch_alter_table('apscheduler_jobs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_apscheduler_jobs_next_run_time'))

    op.drop_table('apscheduler_jobs')
