"""Nurse registry: practice geocoding, sector, skills, languages, load and availability.

Existing nurses keep their data: the commune columns are renamed, new columns are backfilled
(department from the INSEE code, updated_at from created_at) before their defaults are dropped.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 12:16:39.073394
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel
import registry.timeutil


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('availability_window',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('nurse_id', sa.Integer(), nullable=False),
    sa.Column('weekday', sa.Integer(), nullable=True),
    sa.Column('on_date', sa.Date(), nullable=True),
    sa.Column('start_time', sa.Time(), nullable=True),
    sa.Column('end_time', sa.Time(), nullable=True),
    sa.Column('unavailable', sa.Boolean(), nullable=False),
    sa.CheckConstraint('(weekday IS NULL) <> (on_date IS NULL)', name='ck_availability_weekly_or_dated'),
    sa.ForeignKeyConstraint(['nurse_id'], ['nurse.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('availability_window', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_availability_window_nurse_id'), ['nurse_id'], unique=False)

    op.create_table('nurse_language',
    sa.Column('nurse_id', sa.Integer(), nullable=False),
    sa.Column('language', sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
    sa.ForeignKeyConstraint(['nurse_id'], ['nurse.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('nurse_id', 'language')
    )
    op.create_table('nurse_sector_commune',
    sa.Column('nurse_id', sa.Integer(), nullable=False),
    sa.Column('insee', sqlmodel.sql.sqltypes.AutoString(length=5), nullable=False),
    sa.ForeignKeyConstraint(['nurse_id'], ['nurse.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('nurse_id', 'insee')
    )
    with op.batch_alter_table('nurse_sector_commune', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_nurse_sector_commune_insee'), ['insee'], unique=False)

    op.create_table('nurse_skill',
    sa.Column('nurse_id', sa.Integer(), nullable=False),
    sa.Column('skill', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.ForeignKeyConstraint(['nurse_id'], ['nurse.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('nurse_id', 'skill')
    )
    with op.batch_alter_table('nurse_skill', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_nurse_skill_skill'), ['skill'], unique=False)

    with op.batch_alter_table('nurse', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_nurse_practice_commune_insee'))
        batch_op.alter_column('practice_commune_insee', new_column_name='practice_insee',
                              existing_type=sa.VARCHAR(length=5), existing_nullable=False)
        batch_op.alter_column('practice_commune_name', new_column_name='practice_commune',
                              existing_type=sa.VARCHAR(length=100), existing_nullable=False)
        for name, type_, nullable, default in NEW_NURSE_COLUMNS:
            batch_op.add_column(sa.Column(name, type_, nullable=nullable, server_default=default))
    op.execute(
        "UPDATE nurse SET department = CASE WHEN practice_insee LIKE '97%' "
        "THEN substr(practice_insee, 1, 3) ELSE substr(practice_insee, 1, 2) END, "
        "updated_at = created_at"
    )
    # Overseas practices: their own time zone and tariff zone.
    for department, zone in OVERSEAS_ZONES.items():
        op.execute(
            sa.text(
                "UPDATE nurse SET overseas = :yes, timezone = :zone WHERE department = :department"
            ).bindparams(yes=True, zone=zone, department=department)
        )
    with op.batch_alter_table('nurse', schema=None) as batch_op:
        for name, type_, nullable, default in NEW_NURSE_COLUMNS:
            if default is not None:
                batch_op.alter_column(name, server_default=None, existing_type=type_,
                                      existing_nullable=nullable)
        batch_op.create_index(batch_op.f('ix_nurse_department'), ['department'], unique=False)
        batch_op.create_index(batch_op.f('ix_nurse_practice_insee'), ['practice_insee'], unique=False)
        batch_op.create_index('ix_nurse_status_location', ['status', 'practice_latitude', 'practice_longitude'], unique=False)
        batch_op.create_index('ix_nurse_status_radius', ['status', 'sector_radius_km'], unique=False)


OVERSEAS_ZONES = {
    "971": "America/Guadeloupe",
    "972": "America/Martinique",
    "973": "America/Cayenne",
    "974": "Indian/Reunion",
    "976": "Indian/Mayotte",
}

# New columns of `nurse`: (name, type, nullable, default that fills the rows already there).
NEW_NURSE_COLUMNS = [
    ('practice_street', sqlmodel.sql.sqltypes.AutoString(length=200), False, ''),
    ('practice_precision', sqlmodel.sql.sqltypes.AutoString(length=16), False, 'commune'),
    ('department', sqlmodel.sql.sqltypes.AutoString(length=3), False, ''),
    ('overseas', sa.Boolean(), False, sa.false()),
    ('timezone', sqlmodel.sql.sqltypes.AutoString(length=40), False, 'Europe/Paris'),
    ('sector_radius_km', sa.Float(), True, None),
    ('mountain', sa.Boolean(), False, sa.false()),
    ('max_visits_per_day', sa.Integer(), False, '6'),
    ('updated_at', registry.timeutil.UTCDateTime(timezone=True), False, sa.func.current_timestamp()),
]


def downgrade() -> None:
    with op.batch_alter_table('nurse', schema=None) as batch_op:
        batch_op.drop_index('ix_nurse_status_radius')
        batch_op.drop_index('ix_nurse_status_location')
        batch_op.drop_index(batch_op.f('ix_nurse_practice_insee'))
        batch_op.drop_index(batch_op.f('ix_nurse_department'))
        for name, _type, _nullable, _default in reversed(NEW_NURSE_COLUMNS):
            batch_op.drop_column(name)
        batch_op.alter_column('practice_insee', new_column_name='practice_commune_insee',
                              existing_type=sa.VARCHAR(length=5), existing_nullable=False)
        batch_op.alter_column('practice_commune', new_column_name='practice_commune_name',
                              existing_type=sa.VARCHAR(length=100), existing_nullable=False)
    with op.batch_alter_table('nurse', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_nurse_practice_commune_insee'), ['practice_commune_insee'], unique=False)

    with op.batch_alter_table('nurse_skill', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_nurse_skill_skill'))

    op.drop_table('nurse_skill')
    with op.batch_alter_table('nurse_sector_commune', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_nurse_sector_commune_insee'))

    op.drop_table('nurse_sector_commune')
    op.drop_table('nurse_language')
    with op.batch_alter_table('availability_window', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_availability_window_nurse_id'))

    op.drop_table('availability_window')
