"""Tables of offers (a visit proposed to one nurse, until she answers or it expires) and of visit
reports (what the nurse saw and did at the patient's home)."""

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from registry.timeutil import UTCDateTime, utcnow


class OfferStatus(StrEnum):
    LIVE = "live"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    EXPIRED = "expired"
    HANDED_BACK = "handed_back"  # accepted, then given back before the appointment
    WITHDRAWN = "withdrawn"  # the request was cancelled, or closed, while the offer was live

    @property
    def label(self) -> str:
        return OFFER_STATUS_LABELS[self]


OFFER_STATUS_LABELS = {
    OfferStatus.LIVE: "En attente de réponse",
    OfferStatus.ACCEPTED: "Acceptée",
    OfferStatus.DECLINED: "Déclinée",
    OfferStatus.EXPIRED: "Expirée",
    OfferStatus.HANDED_BACK: "Rendue",
    OfferStatus.WITHDRAWN: "Retirée",
}
# The offers that hold a request: at most one per request, enforced by a partial unique index.
HOLDING_STATUSES = (OfferStatus.LIVE, OfferStatus.ACCEPTED)
# The offers after which the planner does not ask the same nurse again for the same request.
REFUSED_STATUSES = (OfferStatus.DECLINED, OfferStatus.EXPIRED, OfferStatus.HANDED_BACK)


class DeclineReason(StrEnum):
    UNAVAILABLE = "unavailable"
    TOO_FAR = "too_far"
    OTHER = "other"

    @property
    def label(self) -> str:
        return DECLINE_LABELS[self]


DECLINE_LABELS = {
    DeclineReason.UNAVAILABLE: "Pas disponible",
    DeclineReason.TOO_FAR: "Trop loin",
    DeclineReason.OTHER: "Autre raison",
}


class Offer(SQLModel, table=True):
    __tablename__ = "offer"
    __table_args__ = (
        # A request has at most one live offer, and once accepted no other offer can be live or
        # accepted: the database refuses it, whatever the application does.
        sa.Index(
            "uq_offer_holding_request",
            "request_id",
            unique=True,
            sqlite_where=sa.text("status IN ('live', 'accepted')"),
            postgresql_where=sa.text("status IN ('live', 'accepted')"),
        ),
        sa.Index("ix_offer_status_expires", "status", "expires_at"),
        sa.Index("ix_offer_nurse_status", "nurse_id", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="visit_request.id", index=True)
    nurse_id: int = Field(foreign_key="nurse.id")
    status: str = Field(default=OfferStatus.LIVE, max_length=16)
    planned_start: datetime = Field(sa_type=UTCDateTime, nullable=False)
    planned_end: datetime = Field(sa_type=UTCDateTime, nullable=False)
    distance_km: float
    usual_nurse: bool = Field(default=False)
    reason: str = Field(default="", max_length=500)  # the planner's explanation
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    answered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    answer_reason: str = Field(default="", max_length=16)  # DeclineReason, or hand-back reason
    answer_note: str = Field(default="", max_length=500)

    @property
    def status_label(self) -> str:
        return OfferStatus(self.status).label


class VisitReport(SQLModel, table=True):
    """The visit report (the VDSI itself): one per visited request."""

    __tablename__ = "visit_report"

    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="visit_request.id", unique=True)
    nurse_id: int = Field(foreign_key="nurse.id", index=True)
    visited_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    # The day of the visit in the patient's zone, and the household members tested: what the
    # indicators add up, without reading the report's JSON.
    # Always set when filed; nullable for the same reason as the request's consent day.
    visit_day: date | None = Field(default=None, index=True)
    visit_week: date | None = Field(default=None, index=True)  # its Monday
    # The practice → home distance of the offer the nurse accepted (the km per visit).
    distance_km: float | None = Field(default=None)
    tested_count: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    # temperature_c, spo2, systolic, diastolic, symptoms (list of codes), as measured.
    clinical: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON, nullable=False)
    isolation_feasible: bool
    social_needs: str = Field(default="", max_length=1000)
    ctai_referral: bool = Field(default=False)
    gp_informed: bool = Field(default=False)
    # [{kind: "tag" | "pcr", count, positives}]
    household_tests: list[dict[str, Any]] = Field(
        default_factory=list, sa_type=sa.JSON, nullable=False
    )
    vaccination_offered: bool = Field(default=False)
    # The km the nurse declares for the IK (she may correct the platform's estimate).
    ik_km: Decimal | None = Field(default=None, sa_type=sa.Numeric(6, 1))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
