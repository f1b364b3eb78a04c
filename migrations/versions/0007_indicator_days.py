"""Indicators: the local day of consent on each request, the local day of each visit and the
household members tested on its report, so that the steering indicators are SQL aggregates on
indexed columns; an index on bills by department and day of care. Existing rows are filled in
from their instants and the patient's zone.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 08:00:00
"""

import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def _aware(value):
    if isinstance(value, str):  # SQLite hands back text
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def upgrade() -> None:
    # The day columns stay nullable: SQLite cannot add a NOT NULL column to a filled table
    # without rebuilding it (and its partial indexes); the services always set them.
    connection = op.get_bind()
    op.add_column('visit_request', sa.Column('consent_day', sa.Date(), nullable=True))
    op.add_column('visit_report', sa.Column('visit_day', sa.Date(), nullable=True))
    op.add_column(
        'visit_report',
        sa.Column('tested_count', sa.Integer(), nullable=False, server_default='0'),
    )
    requests = connection.execute(
        sa.text('SELECT id, consent_at, timezone, household_size FROM visit_request')
    ).all()
    zones = {}
    for request_id, consent_at, zone, _size in requests:
        zones[request_id] = zone
        day = _aware(consent_at).astimezone(ZoneInfo(zone)).date()
        connection.execute(
            sa.text('UPDATE visit_request SET consent_day = :day WHERE id = :id'),
            {'day': day, 'id': request_id},
        )
    sizes = {row[0]: row[3] for row in requests}
    reports = connection.execute(
        sa.text('SELECT id, request_id, visited_at, household_tests FROM visit_report')
    ).all()
    for report_id, request_id, visited_at, tests in reports:
        tests = json.loads(tests) if isinstance(tests, str) else (tests or [])
        day = _aware(visited_at).astimezone(ZoneInfo(zones[request_id])).date()
        tested = min(sum(int(t.get('count', 0)) for t in tests), sizes[request_id])
        connection.execute(
            sa.text('UPDATE visit_report SET visit_day = :day, tested_count = :n WHERE id = :id'),
            {'day': day, 'n': tested, 'id': report_id},
        )
    op.create_index('ix_visit_request_consent_day', 'visit_request', ['consent_day'])
    op.create_index(
        'ix_visit_request_department_consent_day', 'visit_request', ['department', 'consent_day']
    )
    op.create_index(
        'ix_visit_request_cpam_consent_day', 'visit_request', ['cpam_code', 'consent_day']
    )
    op.create_index('ix_visit_report_visit_day', 'visit_report', ['visit_day'])
    op.create_index(
        'ix_billing_record_department_date', 'billing_record', ['department', 'care_date']
    )


def downgrade() -> None:
    op.drop_index('ix_billing_record_department_date', table_name='billing_record')
    op.drop_index('ix_visit_report_visit_day', table_name='visit_report')
    op.drop_index('ix_visit_request_cpam_consent_day', table_name='visit_request')
    op.drop_index('ix_visit_request_department_consent_day', table_name='visit_request')
    op.drop_index('ix_visit_request_consent_day', table_name='visit_request')
    # Plain ALTER TABLE … DROP COLUMN (SQLite 3.35+): rebuilding the tables would trip the
    # foreign keys of the rows that reference them.
    op.drop_column('visit_report', 'tested_count')
    op.drop_column('visit_report', 'visit_day')
    op.drop_column('visit_request', 'consent_day')
