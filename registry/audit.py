"""The append-only audit log: who did what, when, to which object.

Every state change and every read of a patient's identity goes through `record`. Rows are never
updated or deleted by the application; the database refuses it too (triggers in the migrations).
"""

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, Session, SQLModel, func, select

from registry.paging import page_of
from registry.timeutil import UTCDateTime, utcnow


class AuditEntry(SQLModel, table=True):
    __tablename__ = "audit_entry"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False, index=True)
    actor_id: int | None = Field(default=None, index=True)
    actor_label: str = Field(max_length=255)
    action: str = Field(max_length=64, index=True)
    target_type: str = Field(default="", max_length=64)
    target_id: str = Field(default="", max_length=64)
    details: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON, nullable=False)
    ip_address: str = Field(default="", max_length=64)


def record(
    session: Session,
    *,
    actor: Any | None,
    action: str,
    target_type: str = "",
    target_id: object = "",
    details: dict[str, Any] | None = None,
    ip_address: str = "",
) -> AuditEntry:
    """Add an audit entry to the current transaction (it commits with the change it describes)."""
    entry = AuditEntry(
        actor_id=getattr(actor, "id", None),
        actor_label=getattr(actor, "email", None) or (str(actor) if actor else "système"),
        action=action,
        target_type=target_type,
        target_id=str(target_id) if target_id != "" else "",
        details=details or {},
        ip_address=ip_address,
    )
    session.add(entry)
    return entry


def search(
    session: Session,
    *,
    action: str = "",
    actor: str = "",
    target_type: str = "",
    since: datetime | None = None,
    until: datetime | None = None,
    page: int = 1,
    per_page: int = 50,
) -> tuple[list[AuditEntry], int]:
    """Entries matching the filters, newest first, one page of them, and the total count."""
    query = select(AuditEntry)
    if action:
        query = query.where(AuditEntry.action == action)
    if actor:
        query = query.where(func.lower(AuditEntry.actor_label).contains(actor.lower()))
    if target_type:
        query = query.where(AuditEntry.target_type == target_type)
    if since:
        query = query.where(AuditEntry.at >= since)
    if until:
        query = query.where(AuditEntry.at < until)
    return page_of(session, query, (AuditEntry.at.desc(), AuditEntry.id.desc()), page, per_page)


def known_actions(session: Session) -> list[str]:
    return list(session.exec(select(AuditEntry.action).distinct().order_by(AuditEntry.action)))
