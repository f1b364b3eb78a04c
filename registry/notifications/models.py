"""The outbox: every message the platform owes someone, kept until delivered (or given up on,
visibly), so nothing is lost when a process stops."""

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from registry.timeutil import UTCDateTime, utcnow


class Channel(StrEnum):
    EMAIL = "email"
    SMS = "sms"
    CONSOLE = "console"


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"  # every attempt failed, logged as an error

    @property
    def label(self) -> str:
        return {"pending": "en attente", "sent": "envoyée", "failed": "en échec"}[self.value]

    @property
    def plural(self) -> str:
        return {"pending": "en attente", "sent": "envoyées", "failed": "en échec"}[self.value]


class Notification(SQLModel, table=True):
    __tablename__ = "notification"
    __table_args__ = (sa.Index("ix_notification_status_next", "status", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    # The same event never notifies twice: jobs that run again find the key taken.
    dedupe_key: str = Field(max_length=120, unique=True)
    user_id: int | None = Field(default=None, foreign_key="user_account.id", index=True)
    channel: str = Field(max_length=8)
    address: str = Field(max_length=254)  # the recipient's e-mail or phone: staff, never patients
    subject: str = Field(max_length=200)
    body: str = Field(max_length=2000)
    status: str = Field(default=DeliveryStatus.PENDING, max_length=8)
    attempts: int = Field(default=0)
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    # Set while a sender holds the message, so two senders never send it twice.
    claimed_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str = Field(default="", max_length=500)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
