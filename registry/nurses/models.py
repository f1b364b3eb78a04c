"""Tables of the nurse registry: the nurse, her sector, skills, languages and availability."""

from datetime import date, datetime, time
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from registry.timeutil import UTCDateTime, utcnow


class NurseStatus(StrEnum):
    PENDING = "pending"
    ACTIVE = "active"
    SUSPENDED = "suspended"
    WITHDRAWN = "withdrawn"

    @property
    def label(self) -> str:
        return STATUS_LABELS[self]


STATUS_LABELS = {
    NurseStatus.PENDING: "En attente de validation",
    NurseStatus.ACTIVE: "Active",
    NurseStatus.SUSPENDED: "Suspendue",
    NurseStatus.WITHDRAWN: "Retirée",
}


class Skill(StrEnum):
    TAG = "tag"
    PCR = "pcr"
    VACCINATION = "vaccination"

    @property
    def label(self) -> str:
        return SKILL_LABELS[self]


SKILL_LABELS = {
    Skill.TAG: "Tests antigéniques (TAG)",
    Skill.PCR: "Prélèvements RT-PCR",
    Skill.VACCINATION: "Vaccination",
}

# ISO 639-1 codes offered in the forms; the API accepts any of them.
LANGUAGE_LABELS = {
    "fr": "Français",
    "en": "Anglais",
    "es": "Espagnol",
    "pt": "Portugais",
    "it": "Italien",
    "de": "Allemand",
    "ar": "Arabe",
    "tr": "Turc",
    "ro": "Roumain",
    "ru": "Russe",
    "zh": "Chinois",
    "vi": "Vietnamien",
    "wo": "Wolof",
    "ht": "Créole haïtien",
    "oc": "Occitan",
    "ca": "Catalan",
    "eu": "Basque",
    "br": "Breton",
    "co": "Corse",
    "uk": "Ukrainien",
    "pl": "Polonais",
    "nl": "Néerlandais",
}

WEEKDAY_LABELS = ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"]


class Nurse(SQLModel, table=True):
    __tablename__ = "nurse"
    # Matching looks for active nurses inside a latitude/longitude box first.
    __table_args__ = (
        sa.Index("ix_nurse_status_location", "status", "practice_latitude", "practice_longitude"),
        # The widest radius in use bounds that box: read from this index, not the table.
        sa.Index("ix_nurse_status_radius", "status", "sector_radius_km"),
    )

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user_account.id", unique=True)
    rpps: str = Field(max_length=11, unique=True, index=True)
    am_number: str = Field(max_length=9)
    last_name: str = Field(max_length=100)
    first_name: str = Field(max_length=100)
    phone: str = Field(max_length=16)
    email: str = Field(max_length=254)
    practice_street: str = Field(default="", max_length=200)
    practice_postal_code: str = Field(max_length=5)
    practice_commune: str = Field(max_length=100)
    practice_insee: str = Field(max_length=5, index=True)
    practice_latitude: float
    practice_longitude: float
    practice_precision: str = Field(default="commune", max_length=16)
    department: str = Field(max_length=3, index=True)
    overseas: bool = Field(default=False)
    timezone: str = Field(default="Europe/Paris", max_length=40)
    sector_radius_km: float | None = Field(default=None)
    mountain: bool = Field(default=False)
    max_visits_per_day: int = Field(default=6)
    status: str = Field(default=NurseStatus.PENDING, max_length=16, index=True)
    status_reason: str = Field(default="", max_length=500)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    validated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)

    @property
    def status_label(self) -> str:
        return NurseStatus(self.status).label

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


class NurseSectorCommune(SQLModel, table=True):
    """A commune the nurse serves whatever its distance from her practice."""

    __tablename__ = "nurse_sector_commune"

    nurse_id: int = Field(foreign_key="nurse.id", primary_key=True, ondelete="CASCADE")
    insee: str = Field(max_length=5, primary_key=True, index=True)


class NurseSkill(SQLModel, table=True):
    __tablename__ = "nurse_skill"

    nurse_id: int = Field(foreign_key="nurse.id", primary_key=True, ondelete="CASCADE")
    skill: str = Field(max_length=16, primary_key=True, index=True)


class NurseLanguage(SQLModel, table=True):
    __tablename__ = "nurse_language"

    nurse_id: int = Field(foreign_key="nurse.id", primary_key=True, ondelete="CASCADE")
    language: str = Field(max_length=3, primary_key=True)


class AvailabilityWindow(SQLModel, table=True):
    """A weekly window (weekday set), or a dated exception (on_date set): an extra window, or an
    absence (unavailable; the whole day when it has no times). Times are the practice's local
    time."""

    __tablename__ = "availability_window"
    __table_args__ = (
        sa.CheckConstraint(
            "(weekday IS NULL) <> (on_date IS NULL)", name="ck_availability_weekly_or_dated"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    nurse_id: int = Field(foreign_key="nurse.id", index=True, ondelete="CASCADE")
    weekday: int | None = Field(default=None)
    on_date: date | None = Field(default=None)
    start_time: time | None = Field(default=None)
    end_time: time | None = Field(default=None)
    unavailable: bool = Field(default=False)
