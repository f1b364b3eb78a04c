"""Visit requests and their history; the CPAM an account works for.

A partial unique index refuses a second open request for the same NIR, in both databases.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 12:51:12.947643
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel
import registry.timeutil


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('visit_request',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('cpam_code', sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
    sa.Column('agent_id', sa.Integer(), nullable=True),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('idempotency_key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('request_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('external_ref', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('nir', sqlmodel.sql.sqltypes.AutoString(length=15), nullable=False),
    sa.Column('first_name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('last_name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('birth_date', sa.Date(), nullable=False),
    sa.Column('phone', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('address_street', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('address_postal_code', sqlmodel.sql.sqltypes.AutoString(length=5), nullable=False),
    sa.Column('address_commune', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('insee', sqlmodel.sql.sqltypes.AutoString(length=5), nullable=False),
    sa.Column('latitude', sa.Float(), nullable=False),
    sa.Column('longitude', sa.Float(), nullable=False),
    sa.Column('department', sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
    sa.Column('overseas', sa.Boolean(), nullable=False),
    sa.Column('timezone', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('languages', sa.JSON(), nullable=False),
    sa.Column('household_size', sa.Integer(), nullable=False),
    sa.Column('household_tests', sa.JSON(), nullable=False),
    sa.Column('skills_needed', sa.JSON(), nullable=False),
    sa.Column('preferred_windows', sa.JSON(), nullable=False),
    sa.Column('preferred_times', sa.JSON(), nullable=False),
    sa.Column('usual_nurse_rpps', sqlmodel.sql.sqltypes.AutoString(length=11), nullable=True),
    sa.Column('priority', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('vulnerable', sa.Boolean(), nullable=False),
    sa.Column('language_barrier', sa.Boolean(), nullable=False),
    sa.Column('notes', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('consent_at', registry.timeutil.UTCDateTime(timezone=True), nullable=False),
    sa.Column('due_at', registry.timeutil.UTCDateTime(timezone=True), nullable=False),
    sa.Column('follow_up_at', registry.timeutil.UTCDateTime(timezone=True), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('status_changed_at', registry.timeutil.UTCDateTime(timezone=True), nullable=False),
    sa.Column('cancel_reason', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('created_at', registry.timeutil.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['agent_id'], ['user_account.id'], ),
    sa.ForeignKeyConstraint(['client_id'], ['user_account.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('client_id', 'idempotency_key', name='uq_visit_request_idempotency'),
    sa.UniqueConstraint('cpam_code', 'external_ref', name='uq_visit_request_external_ref')
    )
    with op.batch_alter_table('visit_request', schema=None) as batch_op:
        batch_op.create_index('ix_visit_request_cpam_status_due', ['cpam_code', 'status', 'due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_visit_request_department'), ['department'], unique=False)
        batch_op.create_index(batch_op.f('ix_visit_request_due_at'), ['due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_visit_request_insee'), ['insee'], unique=False)
        batch_op.create_index(batch_op.f('ix_visit_request_nir'), ['nir'], unique=False)
        batch_op.create_index(batch_op.f('ix_visit_request_status'), ['status'], unique=False)
        batch_op.create_index('uq_visit_request_open_nir', ['nir'], unique=True, sqlite_where=sa.text("status IN ('received', 'offered', 'accepted', 'unassigned')"), postgresql_where=sa.text("status IN ('received', 'offered', 'accepted', 'unassigned')"))

    op.create_table('visit_request_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('at', registry.timeutil.UTCDateTime(timezone=True), nullable=False),
    sa.Column('actor_label', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('from_status', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
    sa.Column('to_status', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.ForeignKeyConstraint(['request_id'], ['visit_request.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('visit_request_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_visit_request_event_request_id'), ['request_id'], unique=False)

    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('cpam_code', sqlmodel.sql.sqltypes.AutoString(length=3), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_column('cpam_code')

    with op.batch_alter_table('visit_request_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_visit_request_event_request_id'))

    op.drop_table('visit_request_event')
    with op.batch_alter_table('visit_request', schema=None) as batch_op:
        batch_op.drop_index('uq_visit_request_open_nir', sqlite_where=sa.text("status IN ('received', 'offered', 'accepted', 'unassigned')"), postgresql_where=sa.text("status IN ('received', 'offered', 'accepted', 'unassigned')"))
        batch_op.drop_index(batch_op.f('ix_visit_request_status'))
        batch_op.drop_index(batch_op.f('ix_visit_request_nir'))
        batch_op.drop_index(batch_op.f('ix_visit_request_insee'))
        batch_op.drop_index(batch_op.f('ix_visit_request_due_at'))
        batch_op.drop_index(batch_op.f('ix_visit_request_department'))
        batch_op.drop_index('ix_visit_request_cpam_status_due')

    op.drop_table('visit_request')
