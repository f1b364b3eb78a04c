"""The department map for coordinators: communes shaded by their requests, in red where requests
come from a commune no active nurse covers, with the nurses' practices and sectors; drawn as SVG
from the shipped commune shapes, with no tile server."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

import numpy as np
from sqlmodel import Session, and_, func, or_, select

from registry.geo import Commune
from registry.geo.communes import arrondissement_city, commune_directory
from registry.geo.distance import great_circle_km_many
from registry.geo.shapes import department_shapes
from registry.nurses.eligibility import search_box
from registry.nurses.models import Nurse, NurseSectorCommune, NurseStatus
from registry.requests.models import VisitRequest
from steering.map_svg import NEAREST_KM, MapCommune, MapPractice, MapScene, render_svg


@dataclass(frozen=True)
class CommuneRow:
    insee: str
    name: str
    requests: int
    covered: bool
    nearest_nurse_km: float | None  # to the nearest active nurse's practice, up to NEAREST_KM


@dataclass(frozen=True)
class TerritoryMap:
    department: str
    start: date
    end: date
    cpam_code: str | None
    svg: str
    communes: tuple[CommuneRow, ...]  # the communes drawn (and a city with requests), by INSEE
    uncovered: tuple[CommuneRow, ...]  # requests and no nurse covering them, most requests first
    commune_count: int  # communes drawn (the arrondissements of Paris, Lyon or Marseille, not it)
    requests: int
    covered_requests: int
    nurses: int  # active nurses covering at least one commune of the department
    nearest_limit_km: float = NEAREST_KM  # CommuneRow.nearest_nurse_km is None beyond it

    @property
    def covered_share(self) -> float | None:
        """Share of the requests that come from a covered commune; None without requests."""
        return self.covered_requests / self.requests if self.requests else None

    @property
    def with_requests(self) -> list[CommuneRow]:
        return sorted((r for r in self.communes if r.requests), key=_most_requests_first)


def _most_requests_first(row: CommuneRow) -> tuple[int, str]:
    return -row.requests, row.insee


@dataclass(frozen=True)
class _Reach:
    """An active nurse's practice and which of the department's communes (a mask) she covers."""

    practice: MapPractice
    covers: np.ndarray


def department_map(
    session: Session, department: str, start: date, end: date, cpam_code: str | None = None
) -> TerritoryMap:
    """The map and table of a department for the requests consented from `start` to `end`
    (local days, inclusive), only a CPAM's when `cpam_code` is given. A commune is covered when
    its point lies within an active nurse's radius of her practice, when she lists it in her
    sector, or when she practises there."""
    communes = commune_directory().in_department(department)
    if not communes:
        raise ValueError(f"unknown department: {department!r}")
    if end < start:
        raise ValueError("the period ends before it starts")
    counts = requests_by_commune(session, department, start, end, cpam_code)
    reaches, nearest = _reaches(session, department, communes)
    covered = np.zeros(len(communes), dtype=bool)
    for reach in reaches:
        covered |= reach.covers
    # The arrondissements of Paris, Lyon and Marseille are drawn, not the city over them.
    cities = {arrondissement_city(commune.insee) for commune in communes} - {None}
    drawn = [i for i, commune in enumerate(communes) if commune.insee not in cities]
    rows = [
        CommuneRow(
            communes[i].insee,
            communes[i].name,
            counts.get(communes[i].insee, 0),
            bool(covered[i]),
            round(float(nearest[i]), 1) if nearest[i] <= NEAREST_KM else None,
        )
        for i, commune in enumerate(communes)
        if commune.insee not in cities or counts.get(commune.insee)
    ]
    shapes = department_shapes(department)
    scene = MapScene(
        label=f"Département {department}, du {start:%d/%m/%Y} au {end:%d/%m/%Y}",
        key=department,
        communes=tuple(
            MapCommune(
                communes[i].insee,
                communes[i].name,
                shapes.get(communes[i].insee, ()),
                communes[i].latitude,
                communes[i].longitude,
                counts.get(communes[i].insee, 0),
                bool(covered[i]),
            )
            for i in drawn
        ),
        practices=tuple(reach.practice for reach in reaches),
    )
    uncovered = sorted((r for r in rows if r.requests and not r.covered), key=_most_requests_first)
    return TerritoryMap(
        department=department,
        start=start,
        end=end,
        cpam_code=cpam_code,
        svg=render_svg(scene),
        communes=tuple(rows),
        uncovered=tuple(uncovered),
        commune_count=len(drawn),
        requests=sum(row.requests for row in rows),
        covered_requests=sum(row.requests for row in rows if row.covered),
        nurses=len(reaches),
    )


def requests_by_commune(
    session: Session,
    department: str,
    start: date,
    end: date,
    cpam_code: str | None = None,
) -> dict[str, int]:
    """INSEE code -> requests of the department consented on the local days start…end (the
    indicators' day of consent, on its index)."""
    where = [
        VisitRequest.department == department,
        VisitRequest.consent_day.between(start, end),
    ]
    if cpam_code is not None:
        where.append(VisitRequest.cpam_code == cpam_code)
    statement = select(VisitRequest.insee, func.count()).where(*where).group_by(VisitRequest.insee)
    return {insee: count for insee, count in session.exec(statement).all()}


def _active_nurses_near(
    session: Session, department: str, communes: list[Commune]
) -> tuple[list, dict[int, set[str]]]:
    """The active nurses practising in the department, listing one of its communes, or within
    NEAREST_KM of its box (so every nurse whose radius can reach it); and by nurse the
    department's communes she lists."""
    codes = [commune.insee for commune in communes]
    latitudes = [commune.latitude for commune in communes]
    longitudes = [commune.longitude for commune in communes]
    d_lat, d_lon = search_box(max(abs(latitude) for latitude in latitudes), NEAREST_KM)
    listing = select(NurseSectorCommune.nurse_id).where(NurseSectorCommune.insee.in_(codes))
    in_box = and_(
        Nurse.practice_latitude.between(min(latitudes) - d_lat, max(latitudes) + d_lat),
        Nurse.practice_longitude.between(min(longitudes) - d_lon, max(longitudes) + d_lon),
    )
    columns = (
        Nurse.id,
        Nurse.practice_latitude,
        Nurse.practice_longitude,
        Nurse.sector_radius_km,
        Nurse.practice_insee,
        Nurse.practice_commune,
    )
    nurses = session.exec(
        select(*columns)
        .where(
            Nurse.status == NurseStatus.ACTIVE,
            or_(Nurse.department == department, Nurse.id.in_(listing), in_box),
        )
        .order_by(Nurse.id)
    ).all()
    listed: dict[int, set[str]] = defaultdict(set)
    rows = session.exec(
        select(NurseSectorCommune.nurse_id, NurseSectorCommune.insee).where(
            NurseSectorCommune.insee.in_(codes)
        )
    )
    for nurse_id, insee in rows:
        listed[nurse_id].add(insee)
    return list(nurses), listed


def _reaches(
    session: Session, department: str, communes: list[Commune]
) -> tuple[list[_Reach], np.ndarray]:
    """The active nurses covering some commune of the department, and the distance from each
    commune to the nearest active nurse's practice (exact up to NEAREST_KM)."""
    nurses, listed = _active_nurses_near(session, department, communes)
    codes = [commune.insee for commune in communes]
    latitudes = np.array([commune.latitude for commune in communes])
    longitudes = np.array([commune.longitude for commune in communes])
    index = {code: i for i, code in enumerate(codes)}
    # A nurse who lists Paris, Lyon or Marseille serves each of its arrondissements.
    arrondissements: dict[str, list[str]] = defaultdict(list)
    for code in codes:
        city = arrondissement_city(code)
        if city is not None:
            arrondissements[city].append(code)
    nearest = np.full(len(communes), np.inf)
    reaches = []
    for nurse in nurses:
        distances = great_circle_km_many(
            nurse.practice_latitude, nurse.practice_longitude, latitudes, longitudes
        )
        nearest = np.minimum(nearest, distances)
        sector = listed[nurse.id] | {
            code for city in listed[nurse.id] for code in arrondissements.get(city, [])
        }
        covers = np.zeros(len(communes), dtype=bool)
        covers[[index[code] for code in sector | {nurse.practice_insee} if code in index]] = True
        if nurse.sector_radius_km is not None:
            covers |= distances <= nurse.sector_radius_km
        if covers.any():
            practice = MapPractice(
                nurse.practice_latitude,
                nurse.practice_longitude,
                nurse.sector_radius_km,
                tuple(sorted(sector)),
                nurse.practice_commune,
            )
            reaches.append(_Reach(practice, covers))
    return reaches, nearest
