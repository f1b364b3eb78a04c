"""Tables of the scheduler: leases (who runs the scheduler, or a job, until when) and
APScheduler's own job store, declared here so the migrations create it."""

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from registry.timeutil import UTCDateTime


class JobLease(SQLModel, table=True):
    __tablename__ = "job_lease"

    name: str = Field(primary_key=True, max_length=64)
    holder: str = Field(max_length=120)
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


# APScheduler's SQLAlchemyJobStore table, as it defines it (apscheduler 3.x).
apscheduler_jobs = sa.Table(
    "apscheduler_jobs",
    SQLModel.metadata,
    sa.Column("id", sa.Unicode(191), primary_key=True),
    sa.Column("next_run_time", sa.Float(25), index=True),
    sa.Column("job_state", sa.LargeBinary, nullable=False),
)
