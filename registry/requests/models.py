"""Tables of visit requests and their history."""

from datetime import date, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from registry.timeutil import UTCDateTime, utcnow


class RequestStatus(StrEnum):
    RECEIVED = "received"
    OFFERED = "offered"
    ACCEPTED = "accepted"
    VISITED = "visited"
    BILLED = "billed"
    CANCELLED = "cancelled"
    REFUSED_BY_PATIENT = "refused_by_patient"
    UNASSIGNED = "unassigned"
    UNREACHABLE = "unreachable"

    @property
    def label(self) -> str:
        return STATUS_LABELS[self]


STATUS_LABELS = {
    RequestStatus.RECEIVED: "Reçue",
    RequestStatus.OFFERED: "Proposée à une infirmière",
    RequestStatus.ACCEPTED: "Acceptée",
    RequestStatus.VISITED: "Visite faite",
    RequestStatus.BILLED: "Facturée",
    RequestStatus.CANCELLED: "Annulée",
    RequestStatus.REFUSED_BY_PATIENT: "Refusée par le patient",
    RequestStatus.UNASSIGNED: "Sans infirmière (escaladée)",
    RequestStatus.UNREACHABLE: "Patient injoignable",
}
# A request still waiting for its visit: at most one of them per index patient.
OPEN_STATUSES = (
    RequestStatus.RECEIVED,
    RequestStatus.OFFERED,
    RequestStatus.ACCEPTED,
    RequestStatus.UNASSIGNED,
)


class VisitRequest(SQLModel, table=True):
    __tablename__ = "visit_request"
    __table_args__ = (
        sa.UniqueConstraint("cpam_code", "external_ref", name="uq_visit_request_external_ref"),
        sa.UniqueConstraint("client_id", "idempotency_key", name="uq_visit_request_idempotency"),
        # The database itself refuses a second open request for the same patient.
        sa.Index(
            "uq_visit_request_open_nir",
            "nir",
            unique=True,
            sqlite_where=sa.text("status IN ('received', 'offered', 'accepted', 'unassigned')"),
            postgresql_where=sa.text("status IN ('received', 'offered', 'accepted', 'unassigned')"),
        ),
        sa.Index("ix_visit_request_cpam_status_due", "cpam_code", "status", "due_at"),
        # Indicators count requests by their local day of consent, per department or CPAM.
        sa.Index("ix_visit_request_department_consent_day", "department", "consent_day"),
        sa.Index("ix_visit_request_cpam_consent_day", "cpam_code", "consent_day"),
        sa.Index("ix_visit_request_department_consent_week", "department", "consent_week"),
        sa.Index("ix_visit_request_cpam_consent_week", "cpam_code", "consent_week"),
    )

    id: int | None = Field(default=None, primary_key=True)
    cpam_code: str = Field(max_length=3)
    agent_id: int | None = Field(default=None, foreign_key="user_account.id")
    client_id: int = Field(foreign_key="user_account.id")
    idempotency_key: str | None = Field(default=None, max_length=200)
    request_hash: str = Field(max_length=64)
    external_ref: str | None = Field(default=None, max_length=64)
    nir: str = Field(max_length=15, index=True)
    first_name: str = Field(max_length=100)
    last_name: str = Field(max_length=100)
    birth_date: date
    phone: str = Field(max_length=16)
    address_street: str = Field(default="", max_length=200)
    address_postal_code: str = Field(max_length=5)
    address_commune: str = Field(max_length=100)
    insee: str = Field(max_length=5, index=True)
    latitude: float
    longitude: float
    department: str = Field(max_length=3, index=True)
    overseas: bool = Field(default=False)
    timezone: str = Field(max_length=40)
    languages: list[str] = Field(default_factory=list, sa_type=sa.JSON, nullable=False)
    household_size: int = Field(default=1)
    household_tests: list[dict[str, Any]] = Field(
        default_factory=list, sa_type=sa.JSON, nullable=False
    )
    skills_needed: list[str] = Field(default_factory=list, sa_type=sa.JSON, nullable=False)
    preferred_windows: list[dict[str, str]] = Field(
        default_factory=list, sa_type=sa.JSON, nullable=False
    )
    preferred_times: list[str] = Field(default_factory=list, sa_type=sa.JSON, nullable=False)
    usual_nurse_rpps: str | None = Field(default=None, max_length=11)
    priority: str = Field(default="normal", max_length=8)
    vulnerable: bool = Field(default=False)
    language_barrier: bool = Field(default=False)
    notes: str = Field(default="", max_length=1000)
    consent_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    # The day of consent in the patient's zone: the day indicators count the request on. Always
    # set at booking; nullable only because SQLite cannot add a NOT NULL column to a filled
    # table without rebuilding it.
    consent_day: date | None = Field(default=None, index=True)
    # Its Monday, and the minutes from consent to the acceptance of the nurse who holds the
    # visit (cleared when she hands it back or the request is cancelled) and to the visit: what
    # the indicators group and rank without joins nor date arithmetic.
    consent_week: date | None = Field(default=None, index=True)
    accepted_minutes: float | None = Field(default=None)
    visit_minutes: float | None = Field(default=None)
    due_at: datetime = Field(sa_type=UTCDateTime, nullable=False, index=True)
    follow_up_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    status: str = Field(default=RequestStatus.RECEIVED, max_length=20, index=True)
    status_changed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    cancel_reason: str = Field(default="", max_length=500)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    # The nurse who holds the visit (accepted it), and when she plans to come. Set only by the
    # conditional update of `accept_offer`, so two nurses can never both hold it.
    nurse_id: int | None = Field(default=None, foreign_key="nurse.id", index=True)
    appointment_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Why the planner could not place it (its latest attempt), for agents and coordinators.
    unassigned_reason: str = Field(default="", max_length=200)
    # …and its kind (the planner's reason code, or "overdue"), which the indicators count by.
    unassigned_code: str | None = Field(default=None, max_length=32)
    # When agents and coordinators were alerted that it is close to its due time, unaccepted.
    escalated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # When the nurse was reminded that the visit is unreported at the follow-up date (J+4).
    follow_up_flagged_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # When the patient's identity was replaced by a pseudonym (retention period over).
    pseudonymised_at: datetime | None = Field(default=None, sa_type=UTCDateTime)

    @property
    def status_label(self) -> str:
        return RequestStatus(self.status).label


class RequestEvent(SQLModel, table=True):
    """One step of a request's life, shown to the agent as its history."""

    __tablename__ = "visit_request_event"

    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="visit_request.id", index=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    actor_label: str = Field(max_length=255)
    from_status: str | None = Field(default=None, max_length=20)
    to_status: str = Field(max_length=20)
    reason: str = Field(default="", max_length=500)
