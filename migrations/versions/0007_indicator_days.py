"""Indicators: the local day and week of consent on each request with the minutes from consent
to the holding acceptance and to the visit, the local day and week of each visit and the
household members tested on its report, so that the steering indicators are SQL aggregates on
indexed columns without joins nor date arithmetic; an index on bills by department and day of
care. Existing rows are filled in from their instants and the patient's zone.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 08:00:00
"""

import json
from datetime import UTC, datetime, timedelta
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


def _monday(day):
    return day - timedelta(days=day.weekday())


def _minutes(later, earlier) -> float:
    return (later - earlier).total_seconds() / 60


def upgrade() -> None:
    # The day columns stay nullable: SQLite cannot add a NOT NULL column to a filled table
    # without rebuilding it (and its partial indexes); the services always set them.
    connection = op.get_bind()
    op.add_column('visit_request', sa.Column('consent_day', sa.Date(), nullable=True))
    op.add_column('visit_request', sa.Column('consent_week', sa.Date(), nullable=True))
    op.add_column('visit_request', sa.Column('accepted_minutes', sa.Float(), nullable=True))
    op.add_column('visit_request', sa.Column('visit_minutes', sa.Float(), nullable=True))
    op.add_column('visit_request', sa.Column('unassigned_code', sa.String(length=32), nullable=True))
    op.add_column('visit_report', sa.Column('visit_day', sa.Date(), nullable=True))
    op.add_column('visit_report', sa.Column('visit_week', sa.Date(), nullable=True))
    op.add_column('visit_report', sa.Column('distance_km', sa.Float(), nullable=True))
    op.add_column(
        'visit_report',
        sa.Column('tested_count', sa.Integer(), nullable=False, server_default='0'),
    )
    requests = {
        row.id: row
        for row in connection.execute(
            sa.text('SELECT id, consent_at, timezone, household_size FROM visit_request')
        )
    }
    accepted = {
        row.request_id: row
        for row in connection.execute(
            sa.text(
                "SELECT request_id, nurse_id, answered_at, distance_km FROM offer "
                "WHERE status = 'accepted'"
            )
        )
    }
    reports = connection.execute(
        sa.text('SELECT id, request_id, visited_at, household_tests FROM visit_report')
    ).all()
    visited = {row.request_id: _aware(row.visited_at) for row in reports}
    for request_id, row in requests.items():
        consent = _aware(row.consent_at)
        day = consent.astimezone(ZoneInfo(row.timezone)).date()
        holder = accepted.get(request_id)
        answered = holder.answered_at if holder else None
        connection.execute(
            sa.text(
                'UPDATE visit_request SET consent_day = :day, consent_week = :week, '
                'accepted_minutes = :accepted, visit_minutes = :visit WHERE id = :id'
            ),
            {
                'day': day,
                'week': _monday(day),
                'accepted': _minutes(_aware(answered), consent) if answered else None,
                'visit': _minutes(visited[request_id], consent) if request_id in visited else None,
                'id': request_id,
            },
        )
    for report_id, request_id, visited_at, tests in reports:
        request = requests[request_id]
        holder = accepted.get(request_id)
        tests = json.loads(tests) if isinstance(tests, str) else (tests or [])
        day = _aware(visited_at).astimezone(ZoneInfo(request.timezone)).date()
        tested = min(sum(int(t.get('count', 0)) for t in tests), request.household_size)
        connection.execute(
            sa.text(
                'UPDATE visit_report SET visit_day = :day, visit_week = :week, tested_count = :n, '
                'distance_km = :km WHERE id = :id'
            ),
            {
                'day': day,
                'week': _monday(day),
                'n': tested,
                'km': holder.distance_km if holder else None,
                'id': report_id,
            },
        )
    op.create_index('ix_visit_request_consent_day', 'visit_request', ['consent_day'])
    op.create_index(
        'ix_visit_request_department_consent_day', 'visit_request', ['department', 'consent_day']
    )
    op.create_index(
        'ix_visit_request_cpam_consent_day', 'visit_request', ['cpam_code', 'consent_day']
    )
    op.create_index('ix_visit_request_consent_week', 'visit_request', ['consent_week'])
    op.create_index(
        'ix_visit_request_department_consent_week', 'visit_request', ['department', 'consent_week']
    )
    op.create_index(
        'ix_visit_request_cpam_consent_week', 'visit_request', ['cpam_code', 'consent_week']
    )
    op.create_index('ix_visit_report_visit_day', 'visit_report', ['visit_day'])
    op.create_index('ix_visit_report_visit_week', 'visit_report', ['visit_week'])
    op.create_index(
        'ix_billing_record_department_date', 'billing_record', ['department', 'care_date']
    )


def downgrade() -> None:
    op.drop_index('ix_billing_record_department_date', table_name='billing_record')
    op.drop_index('ix_visit_report_visit_week', table_name='visit_report')
    op.drop_index('ix_visit_report_visit_day', table_name='visit_report')
    op.drop_index('ix_visit_request_cpam_consent_week', table_name='visit_request')
    op.drop_index('ix_visit_request_department_consent_week', table_name='visit_request')
    op.drop_index('ix_visit_request_consent_week', table_name='visit_request')
    op.drop_index('ix_visit_request_cpam_consent_day', table_name='visit_request')
    op.drop_index('ix_visit_request_department_consent_day', table_name='visit_request')
    op.drop_index('ix_visit_request_consent_day', table_name='visit_request')
    # Plain ALTER TABLE … DROP COLUMN (SQLite 3.35+): rebuilding the tables would trip the
    # foreign keys of the rows that reference them.
    op.drop_column('visit_report', 'tested_count')
    op.drop_column('visit_report', 'distance_km')
    op.drop_column('visit_report', 'visit_week')
    op.drop_column('visit_report', 'visit_day')
    op.drop_column('visit_request', 'unassigned_code')
    op.drop_column('visit_request', 'visit_minutes')
    op.drop_column('visit_request', 'accepted_minutes')
    op.drop_column('visit_request', 'consent_week')
    op.drop_column('visit_request', 'consent_day')
