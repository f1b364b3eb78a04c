"""Leases in the database: a named right to run, held until it expires or is renewed. Taking
one is a conditional update (or the insert of its row), so of many processes on many hosts
exactly one holds it at a time, on SQLite and PostgreSQL alike."""

import os
import socket
import uuid
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy import or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from app.db import begin_write
from app.jobs.models import JobLease
from registry.timeutil import utcnow


def process_identity() -> str:
    """host:pid:random, unique to this process (a restarted process is another holder)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"[:120]


def acquire(
    engine: sa.Engine, name: str, holder: str, ttl: timedelta, now: datetime | None = None
) -> bool:
    """Takes or renews the lease; False when another holder has it and it has not expired."""
    now = now or utcnow()
    with Session(engine) as session:
        begin_write(session)
        taken = session.execute(
            update(JobLease)
            .where(
                JobLease.name == name,
                or_(JobLease.expires_at <= now, JobLease.holder == holder),
            )
            .values(holder=holder, expires_at=now + ttl)
        ).rowcount
        if taken:
            session.commit()
            return True
        if session.get(JobLease, name) is not None:
            session.rollback()
            return False
        try:
            session.add(JobLease(name=name, holder=holder, expires_at=now + ttl))
            session.commit()
        except IntegrityError:
            session.rollback()
            return False
        return True


def release(engine: sa.Engine, name: str, holder: str) -> None:
    with Session(engine) as session:
        begin_write(session)
        session.execute(
            update(JobLease)
            .where(JobLease.name == name, JobLease.holder == holder)
            .values(expires_at=utcnow())
        )
        session.commit()
