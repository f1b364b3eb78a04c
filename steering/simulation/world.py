"""The simulation's own database: a temporary SQLite file, migrated like any deployment, holding a
copy of the department's active nurses (practice, sector, skills, languages, hours) and a tracing
agent to book with. Each policy run starts from a fresh copy of it, so runs never see each other
and the source database is only read.

Simulated time lies in the past (whole weeks back, see `Period`): the visit report's service
checks visit times against the real clock. The nurses' dated exceptions move back with it."""

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date, time, timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import Session, select

from registry import accounts
from registry.accounts import Role, User
from registry.geo import Commune
from registry.identifiers import luhn_check_digit
from registry.nurses.models import (
    AvailabilityWindow,
    Nurse,
    NurseLanguage,
    NurseSectorCommune,
    NurseSkill,
    NurseStatus,
)
from registry.nurses.services import details_of_many
from registry.timeutil import utcnow

ACTOR = "simulation"
AGENT_EMAIL = "agent@simulation.vdsi.fr"
CPAM_CODE = "999"  # no real CPAM: the simulation's own agent
# Synthetic nurses added by the capacity search: a demo nurse's usual rounds and reach.
SYNTHETIC_RADIUS_KM = 15.0
SYNTHETIC_ROUNDS = ((time(7), time(12)), (time(17), time(20, 30)))
SYNTHETIC_SKILLS = ("tag", "pcr")
SYNTHETIC_MAX_VISITS = 6
CHUNK = 500
# What is copied of a real nurse: where she practises and how far, what she can do; nothing
# personal (her name, phone and e-mail stay in the source).
PRACTICE_FIELDS = (
    "rpps",
    "am_number",
    "practice_postal_code",
    "practice_commune",
    "practice_insee",
    "practice_latitude",
    "practice_longitude",
    "department",
    "overseas",
    "timezone",
    "sector_radius_km",
    "mountain",
    "max_visits_per_day",
)


@dataclass(frozen=True)
class ScratchDatabases:
    """How the simulation opens its SQLite files and migrates them: the deployment's own engine
    settings and migrations, handed over by the application."""

    open: Callable[[Path], sa.Engine]
    migrate: Callable[[sa.Engine], None]


@dataclass(frozen=True)
class Window:
    """An availability row as `open_intervals` reads it."""

    weekday: int | None
    on_date: date | None
    start_time: time | None
    end_time: time | None
    unavailable: bool


@dataclass(frozen=True)
class NurseInfo:
    """What the simulation needs of a nurse outside the database."""

    id: int  # in the simulation's database
    key: str  # her RPPS: the same in every copy, so her behaviour draws are too
    latitude: float
    longitude: float
    insee: str
    commune: str
    timezone: str
    max_visits_per_day: int
    availability: tuple[Window, ...]
    synthetic: bool = False


@dataclass
class World:
    databases: ScratchDatabases
    workdir: Path
    template: Path
    department: str
    shift: timedelta  # simulated time = intended time - shift
    agent_id: int = 0
    nurses: list[NurseInfo] = field(default_factory=list)

    @classmethod
    def build(
        cls,
        source: Session,
        department: str,
        shift: timedelta,
        databases: ScratchDatabases,
        progress: Callable[[str], None] | None = None,
    ) -> "World":
        """A migrated scratch database with the department's active nurses copied from `source`
        (their dated exceptions moved back by `shift`)."""
        workdir = Path(tempfile.mkdtemp(prefix="vdsi-simulation-"))
        world = cls(databases, workdir, workdir / "world.sqlite3", department, shift)
        try:
            world._fill(source, progress)
        except BaseException:
            world.close()
            raise
        return world

    def _fill(self, source: Session, progress) -> None:
        engine = self.databases.open(self.template)
        try:
            self.databases.migrate(engine)
            rows = list(
                source.exec(
                    select(Nurse)
                    .where(Nurse.department == self.department, Nurse.status == NurseStatus.ACTIVE)
                    .order_by(Nurse.id)
                )
            )
            with Session(engine, expire_on_commit=False) as session:
                agent = accounts.create_user(
                    session,
                    email=AGENT_EMAIL,
                    role=Role.AGENT,
                    password=None,
                    name="Enquêteur de la simulation",
                    actor=ACTOR,
                    cpam_code=CPAM_CODE,
                )
                self.agent_id = agent.id
                for offset in range(0, len(rows), CHUNK):
                    for details in details_of_many(source, rows[offset : offset + CHUNK]):
                        self.nurses.append(self._copy(session, details))
                    session.commit()
                    if progress:
                        progress(f"{len(self.nurses)} infirmière(s) copiée(s)")
                session.commit()
            _checkpoint(engine)
        finally:
            engine.dispose()

    def _copy(self, session: Session, details) -> NurseInfo:
        nurse = details.nurse
        windows = [
            Window(
                w.weekday,
                w.on_date - self.shift if w.on_date else None,
                w.start_time,
                w.end_time,
                w.unavailable,
            )
            for w in details.availability
        ]
        fields = {name: getattr(nurse, name) for name in PRACTICE_FIELDS}
        return _insert_nurse(
            session, fields, details.sector_communes, details.skills, details.languages, windows
        )

    def with_nurses_in(self, communes: list[Commune]) -> "World":
        """Another world: this one plus one synthetic nurse practising in each commune given
        (a commune given twice gets two). The n-th added nurse is the same person (the same
        key, so the same behaviour) whatever the list she ends."""
        template = _scratch_file(self.workdir, "world-")
        shutil.copy(self.template, template)
        engine = self.databases.open(template)
        added = []
        try:
            with Session(engine, expire_on_commit=False) as session:
                for serial, commune in enumerate(communes):
                    added.append(_synthetic(session, commune, serial))
                session.commit()
            _checkpoint(engine)
        finally:
            engine.dispose()
        return replace(self, template=template, nurses=[*self.nurses, *added])

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session on a fresh copy of this world, thrown away afterwards."""
        run = _scratch_file(self.workdir, "run-")
        shutil.copy(self.template, run)
        engine = self.databases.open(run)
        try:
            with Session(engine, expire_on_commit=False) as session:
                yield session
        finally:
            engine.dispose()
            for path in run.parent.glob(run.name + "*"):
                path.unlink(missing_ok=True)

    def agent(self, session: Session) -> User:
        return session.get(User, self.agent_id)

    def close(self) -> None:
        shutil.rmtree(self.workdir, ignore_errors=True)


def _scratch_file(workdir: Path, prefix: str) -> Path:
    handle, name = tempfile.mkstemp(prefix=prefix, suffix=".sqlite3", dir=workdir)
    os.close(handle)
    return Path(name)


def _checkpoint(engine) -> None:
    """Everything in the main file, so that copying it copies the whole database."""
    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")


def _synthetic(session: Session, commune: Commune, serial: int) -> NurseInfo:
    windows = [
        Window(day, None, start, end, False) for day in range(7) for start, end in SYNTHETIC_ROUNDS
    ]
    fields = {
        "rpps": _luhn(f"2999{serial:06d}"),
        "am_number": _luhn(f"999{serial:05d}"),
        "practice_postal_code": commune.postal_codes[0],
        "practice_commune": commune.name,
        "practice_insee": commune.insee,
        "practice_latitude": commune.latitude,
        "practice_longitude": commune.longitude,
        "department": commune.department,
        "overseas": commune.overseas,
        "timezone": commune.timezone,
        "sector_radius_km": SYNTHETIC_RADIUS_KM,
        "mountain": False,
        "max_visits_per_day": SYNTHETIC_MAX_VISITS,
    }
    return _insert_nurse(
        session, fields, [], list(SYNTHETIC_SKILLS), ["fr"], windows, synthetic=True
    )


def _luhn(payload: str) -> str:
    return payload + luhn_check_digit(payload)


def _insert_nurse(
    session: Session,
    fields: dict,
    communes: list[str],
    skills: list[str],
    languages: list[str],
    windows: list[Window],
    *,
    synthetic: bool = False,
) -> NurseInfo:
    """The nurse and her account, as enrolment leaves them once validated."""
    rpps = fields["rpps"]
    user = accounts.create_user(
        session,
        email=f"infirmiere-{rpps}@simulation.vdsi.fr",
        role=Role.NURSE,
        password=None,
        name=f"Infirmière {rpps}",
        actor=ACTOR,
    )
    nurse = Nurse(
        user_id=user.id,
        first_name="Infirmière",
        last_name=rpps,
        phone="+33600000000",
        email=user.email,
        status=NurseStatus.ACTIVE,
        validated_at=utcnow(),
        **fields,
    )
    session.add(nurse)
    session.flush()
    session.add_all(NurseSectorCommune(nurse_id=nurse.id, insee=code) for code in communes)
    session.add_all(NurseSkill(nurse_id=nurse.id, skill=skill) for skill in skills)
    session.add_all(NurseLanguage(nurse_id=nurse.id, language=code) for code in languages)
    session.add_all(
        AvailabilityWindow(
            nurse_id=nurse.id,
            weekday=w.weekday,
            on_date=w.on_date,
            start_time=w.start_time,
            end_time=w.end_time,
            unavailable=w.unavailable,
        )
        for w in windows
    )
    return NurseInfo(
        id=nurse.id,
        key=rpps,
        latitude=nurse.practice_latitude,
        longitude=nurse.practice_longitude,
        insee=nurse.practice_insee,
        commune=nurse.practice_commune,
        timezone=nurse.timezone,
        max_visits_per_day=nurse.max_visits_per_day,
        availability=tuple(windows),
        synthetic=synthetic,
    )
