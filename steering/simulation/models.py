"""The table of simulation runs started from the coordinator's page: their parameters, progress
and answer, in the database so that any process of the deployment can show them."""

from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from registry.timeutil import UTCDateTime, utcnow


class RunStatus(StrEnum):
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    # Never stored: a running row whose process stopped beating (see runs.state_of).
    INTERRUPTED = "interrupted"

    @property
    def label(self) -> str:
        return RUN_STATUS_LABELS[self]


RUN_STATUS_LABELS = {
    RunStatus.RUNNING: "En cours",
    RunStatus.DONE: "Terminée",
    RunStatus.FAILED: "Échouée",
    RunStatus.INTERRUPTED: "Interrompue",
}


class SimulationRun(SQLModel, table=True):
    __tablename__ = "simulation_run"

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    created_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    created_by_label: str = Field(max_length=255)
    department: str = Field(max_length=3)
    parameters: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON, nullable=False)
    status: str = Field(default=RunStatus.RUNNING, max_length=16)
    progress: float = Field(default=0.0)
    step: str = Field(default="", max_length=200)  # what it is doing, in French
    # Written by the running process at least every few seconds: a stale beat means it died.
    heartbeat_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    result: dict[str, Any] | None = Field(default=None, sa_type=sa.JSON)
    error: str = Field(default="", max_length=500)
