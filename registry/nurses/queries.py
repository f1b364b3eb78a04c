"""Read-side queries over the nurse registry: lists with filters, counts, coverage."""

from sqlmodel import Session, func, select

from registry.nurses.models import Nurse, NurseSkill, NurseStatus


def nurse_of_user(session: Session, user_id: int) -> Nurse | None:
    return session.exec(select(Nurse).where(Nurse.user_id == user_id)).first()


def count_by_status(session: Session) -> dict[str, int]:
    rows = session.exec(select(Nurse.status, func.count()).group_by(Nurse.status)).all()
    counts = {status.value: 0 for status in NurseStatus}
    counts.update(dict(rows))
    return counts


def list_nurses(
    session: Session,
    *,
    status: str = "",
    insee_codes: list[str] | None = None,
    skill: str = "",
    page: int = 1,
    per_page: int = 25,
) -> tuple[list[Nurse], int]:
    """A page of nurses matching the filters (practice commune among `insee_codes`), and the
    total count."""
    statement = select(Nurse)
    if status:
        statement = statement.where(Nurse.status == status)
    if insee_codes is not None:
        statement = statement.where(Nurse.practice_insee.in_(insee_codes))
    if skill:
        statement = statement.where(
            Nurse.id.in_(select(NurseSkill.nurse_id).where(NurseSkill.skill == skill))
        )
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
        select(Nurse.practice_insee, Nurse.practice_commune, func.count())
        .where(Nurse.status == NurseStatus.ACTIVE)
        .group_by(Nurse.practice_insee, Nurse.practice_commune)
        .order_by(func.count().desc(), Nurse.practice_commune)
    ).all()
    return [tuple(row) for row in rows]
