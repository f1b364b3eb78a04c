"""Enrolled liberal nurses (IDEL): identity, practice location and enrolment status."""

from datetime import datetime
from enum import StrEnum

from sqlmodel import Field, Session, SQLModel, func, select

from registry.timeutil import UTCDateTime, utcnow


class NurseStatus(StrEnum):
    PENDING = "pending"
    ACTIVE = "active"
    SUSPENDED = "suspended"
    WITHDRAWN = "withdrawn"

    @property
    def label(self) -> str:
        return {
            NurseStatus.PENDING: "En attente de validation",
            NurseStatus.ACTIVE: "Active",
            NurseStatus.SUSPENDED: "Suspendue",
            NurseStatus.WITHDRAWN: "Retirée",
        }[self]


class Nurse(SQLModel, table=True):
    __tablename__ = "nurse"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user_account.id", unique=True)
    rpps: str = Field(max_length=11, unique=True, index=True)
    am_number: str = Field(max_length=9)
    last_name: str = Field(max_length=100)
    first_name: str = Field(max_length=100)
    phone: str = Field(max_length=16)
    email: str = Field(max_length=254)
    practice_commune_insee: str = Field(max_length=5, index=True)
    practice_commune_name: str = Field(max_length=100)
    practice_postal_code: str = Field(max_length=5)
    practice_latitude: float
    practice_longitude: float
    status: str = Field(default=NurseStatus.PENDING, max_length=16, index=True)
    status_reason: str = Field(default="", max_length=500)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    validated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)

    @property
    def status_label(self) -> str:
        return NurseStatus(self.status).label


def nurse_of_user(session: Session, user_id: int) -> Nurse | None:
    return session.exec(select(Nurse).where(Nurse.user_id == user_id)).first()


def count_by_status(session: Session) -> dict[str, int]:
    rows = session.exec(select(Nurse.status, func.count()).group_by(Nurse.status)).all()
    counts = {status.value: 0 for status in NurseStatus}
    counts.update(dict(rows))
    return counts


def list_nurses(
    session: Session, *, status: str = "", page: int = 1, per_page: int = 25
) -> tuple[list[Nurse], int]:
    statement = select(Nurse)
    if status:
        statement = statement.where(Nurse.status == status)
    total = session.exec(select(func.count()).select_from(statement.subquery())).one()
    rows = session.exec(
        statement.order_by(Nurse.last_name, Nurse.first_name, Nurse.id)
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    return list(rows), total


def active_nurses_by_commune(session: Session) -> list[tuple[str, str, int]]:
    """(INSEE code, commune name, number of active nurses practising there), busiest first."""
    rows = session.exec(
        select(Nurse.practice_commune_insee, Nurse.practice_commune_name, func.count())
        .where(Nurse.status == NurseStatus.ACTIVE)
        .group_by(Nurse.practice_commune_insee, Nurse.practice_commune_name)
        .order_by(func.count().desc(), Nurse.practice_commune_name)
    ).all()
    return [tuple(row) for row in rows]
