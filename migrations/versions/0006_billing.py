"""Billing: the dated tariff and act catalogues, billing records and their lines (immutable: the
database refuses any update or deletion), the per-nurse numbering counter, and the CPAM claims
imports with their reconciliation items. Amounts, coefficients and km are scaled integers.

The shipped catalogue rows are loaded by `app.db.upgrade` after the migrations.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 18:15:48.036865
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel
import registry.timeutil


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('act_rule',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('act', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('label', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('letter', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('coefficient', sa.BigInteger(), nullable=False),
    sa.Column('extras', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('min_count', sa.Integer(), nullable=False),
    sa.Column('max_count', sa.Integer(), nullable=True),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('created_at', registry.timeutil.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('act', 'min_count', 'valid_from', name='uq_act_rule_dated')
    )
    op.create_table('claim_import',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('cpam_code', sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
    sa.Column('filename', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('claims_sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('imported_at', registry.timeutil.UTCDateTime(timezone=True), nullable=False),
    sa.Column('imported_by', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('line_count', sa.Integer(), nullable=False),
    sa.Column('claim_count', sa.Integer(), nullable=False),
    sa.Column('period_from', sa.Date(), nullable=False),
    sa.Column('period_to', sa.Date(), nullable=False),
    sa.Column('counts', sa.JSON(), nullable=False),
    sa.Column('mapping', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('claims_sha256'),
    sa.UniqueConstraint('sha256')
    )
    with op.batch_alter_table('claim_import', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_claim_import_cpam_code'), ['cpam_code'], unique=False)

    op.create_table('tariff',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('zone', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('label', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('value', sa.BigInteger(), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('created_at', registry.timeutil.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code', 'zone', 'valid_from', name='uq_tariff_dated')
    )
    op.create_table('billing_counter',
    sa.Column('nurse_id', sa.Integer(), nullable=False),
    sa.Column('last_number', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['nurse_id'], ['nurse.id'], ),
    sa.PrimaryKeyConstraint('nurse_id')
    )
    op.create_table('billing_record',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('nurse_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('report_id', sa.Integer(), nullable=True),
    sa.Column('cancels_id', sa.Integer(), nullable=True),
    sa.Column('replaces_id', sa.Integer(), nullable=True),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('cpam_code', sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
    sa.Column('nurse_rpps', sqlmodel.sql.sqltypes.AutoString(length=11), nullable=False),
    sa.Column('nurse_am_number', sqlmodel.sql.sqltypes.AutoString(length=9), nullable=False),
    sa.Column('nurse_name', sqlmodel.sql.sqltypes.AutoString(length=210), nullable=False),
    sa.Column('patient_nir', sqlmodel.sql.sqltypes.AutoString(length=15), nullable=False),
    sa.Column('patient_last_name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('patient_first_name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('patient_birth_date', sa.Date(), nullable=False),
    sa.Column('commune', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('insee', sqlmodel.sql.sqltypes.AutoString(length=5), nullable=False),
    sa.Column('department', sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
    sa.Column('zone', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('cared_at', registry.timeutil.UTCDateTime(timezone=True), nullable=False),
    sa.Column('care_date', sa.Date(), nullable=False),
    sa.Column('prescriber_name', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('prescriber_number', sqlmodel.sql.sqltypes.AutoString(length=11), nullable=False),
    sa.Column('exoneration', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('third_party', sa.Boolean(), nullable=False),
    sa.Column('total', sa.BigInteger(), nullable=False),
    sa.Column('patient_share', sa.BigInteger(), nullable=False),
    sa.Column('mountain', sa.Boolean(), nullable=False),
    sa.Column('same_commune', sa.Boolean(), nullable=False),
    sa.Column('ik_estimate_km', sa.BigInteger(), nullable=True),
    sa.Column('ik_declared_km', sa.BigInteger(), nullable=True),
    sa.Column('issued_at', registry.timeutil.UTCDateTime(timezone=True), nullable=False),
    sa.Column('issued_by', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.CheckConstraint("(kind = 'credit') = (cancels_id IS NOT NULL)", name='ck_billing_record_credit'),
    sa.CheckConstraint('patient_share = 0', name='ck_billing_record_zero_advance'),
    sa.ForeignKeyConstraint(['cancels_id'], ['billing_record.id'], ),
    sa.ForeignKeyConstraint(['nurse_id'], ['nurse.id'], ),
    sa.ForeignKeyConstraint(['replaces_id'], ['billing_record.id'], ),
    sa.ForeignKeyConstraint(['report_id'], ['visit_report.id'], ),
    sa.ForeignKeyConstraint(['request_id'], ['visit_request.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('cancels_id'),
    sa.UniqueConstraint('nurse_id', 'number', name='uq_billing_record_number'),
    sa.UniqueConstraint('replaces_id')
    )
    with op.batch_alter_table('billing_record', schema=None) as batch_op:
        batch_op.create_index('ix_billing_record_cpam_date', ['cpam_code', 'care_date'], unique=False)
        batch_op.create_index(batch_op.f('ix_billing_record_insee'), ['insee'], unique=False)
        batch_op.create_index('ix_billing_record_nurse_date', ['nurse_id', 'care_date'], unique=False)
        batch_op.create_index(batch_op.f('ix_billing_record_patient_nir'), ['patient_nir'], unique=False)
        batch_op.create_index(batch_op.f('ix_billing_record_request_id'), ['request_id'], unique=False)
        batch_op.create_index('uq_billing_record_episode', ['request_id'], unique=True, sqlite_where=sa.text("kind = 'invoice' AND replaces_id IS NULL"), postgresql_where=sa.text("kind = 'invoice' AND replaces_id IS NULL"))

    op.create_table('billing_line',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('record_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('act', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('code', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('label', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('coefficient', sa.BigInteger(), nullable=True),
    sa.Column('unit_price', sa.BigInteger(), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['record_id'], ['billing_record.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('billing_line', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_billing_line_record_id'), ['record_id'], unique=False)

    op.create_table('reconciliation_item',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('import_id', sa.Integer(), nullable=False),
    sa.Column('classification', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
    sa.Column('num_am', sqlmodel.sql.sqltypes.AutoString(length=9), nullable=False),
    sa.Column('nir', sqlmodel.sql.sqltypes.AutoString(length=15), nullable=False),
    sa.Column('care_date', sa.Date(), nullable=False),
    sa.Column('nurse_id', sa.Integer(), nullable=True),
    sa.Column('record_id', sa.Integer(), nullable=True),
    sa.Column('request_id', sa.Integer(), nullable=True),
    sa.Column('insee', sqlmodel.sql.sqltypes.AutoString(length=5), nullable=False),
    sa.Column('commune', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('claimed_amount', sa.BigInteger(), nullable=True),
    sa.Column('paid_amount', sa.BigInteger(), nullable=True),
    sa.Column('expected_amount', sa.BigInteger(), nullable=True),
    sa.Column('claimed_ik_km', sa.BigInteger(), nullable=True),
    sa.Column('expected_ik_km', sa.BigInteger(), nullable=True),
    sa.Column('first_line', sa.Integer(), nullable=True),
    sa.Column('lines', sa.JSON(), nullable=False),
    sa.Column('detail', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.ForeignKeyConstraint(['import_id'], ['claim_import.id'], ),
    sa.ForeignKeyConstraint(['nurse_id'], ['nurse.id'], ),
    sa.ForeignKeyConstraint(['record_id'], ['billing_record.id'], ),
    sa.ForeignKeyConstraint(['request_id'], ['visit_request.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('reconciliation_item', schema=None) as batch_op:
        batch_op.create_index('ix_reconciliation_item_import_class', ['import_id', 'classification'], unique=False)
        batch_op.create_index(batch_op.f('ix_reconciliation_item_record_id'), ['record_id'], unique=False)

    _forbid_changes()


IMMUTABLE = ("billing_record", "billing_line")
RECORDS_ARE_IMMUTABLE = "billing records are immutable: issue a credit and a replacement"


def _forbid_changes() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"""
            CREATE FUNCTION billing_immutable() RETURNS trigger AS $$
            BEGIN
                RAISE EXCEPTION '{RECORDS_ARE_IMMUTABLE}';
            END;
            $$ LANGUAGE plpgsql
            """
        )
        for table in IMMUTABLE:
            op.execute(
                f"CREATE TRIGGER {table}_immutable BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION billing_immutable()"
            )
        return
    for table in IMMUTABLE:
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{event.lower()} BEFORE {event} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{RECORDS_ARE_IMMUTABLE}'); END"
            )


def _allow_changes() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in IMMUTABLE:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_immutable ON {table}")
        op.execute("DROP FUNCTION IF EXISTS billing_immutable()")
        return
    for table in IMMUTABLE:
        for event in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{event}")


def downgrade() -> None:
    _allow_changes()
    with op.batch_alter_table('reconciliation_item', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reconciliation_item_record_id'))
        batch_op.drop_index('ix_reconciliation_item_import_class')

    op.drop_table('reconciliation_item')
    with op.batch_alter_table('billing_line', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_billing_line_record_id'))

    op.drop_table('billing_line')
    with op.batch_alter_table('billing_record', schema=None) as batch_op:
        batch_op.drop_index('uq_billing_record_episode', sqlite_where=sa.text("kind = 'invoice' AND replaces_id IS NULL"), postgresql_where=sa.text("kind = 'invoice' AND replaces_id IS NULL"))
        batch_op.drop_index(batch_op.f('ix_billing_record_request_id'))
        batch_op.drop_index(batch_op.f('ix_billing_record_patient_nir'))
        batch_op.drop_index('ix_billing_record_nurse_date')
        batch_op.drop_index(batch_op.f('ix_billing_record_insee'))
        batch_op.drop_index('ix_billing_record_cpam_date')

    op.drop_table('billing_record')
    op.drop_table('billing_counter')
    op.drop_table('tariff')
    with op.batch_alter_table('claim_import', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_claim_import_cpam_code'))

    op.drop_table('claim_import')
    op.drop_table('act_rule')
