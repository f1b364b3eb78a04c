"""One page of a long list, and how many rows the whole list has."""

from sqlmodel import Session, func, select


def page_of(session: Session, query, order, page: int, per_page: int) -> tuple[list, int]:
    """The rows of `query` on page `page` (from 1) in the given order, and the total count."""
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    rows = session.exec(query.order_by(*order).offset((page - 1) * per_page).limit(per_page)).all()
    return list(rows), total
