"""The dated tariff and act catalogues: shipped as files in the package, loaded into the
database, revalued by admins with a new dated row (the old value is never edited)."""

import csv
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from importlib import resources

from sqlmodel import Session, func, select

from billing.models import ActRule, BillingRecord, Tariff, Zone
from registry import audit
from registry.errors import Conflict, ErrorCollector, NotFound
from registry.text import one_line

SHIPPED_BY = "catalogue"


class MissingTariff(Conflict):
    """No row of the catalogue is in force on the day of care: the bill cannot be priced."""


@dataclass(frozen=True)
class Catalogue:
    """The catalogue rows, searchable by day of care."""

    tariffs: tuple[Tariff, ...]
    acts: tuple[ActRule, ...]

    def tariff(self, code: str, zone: str, day: date) -> Tariff:
        for row in self.tariffs:
            if row.code == code and row.zone == zone and _in_force(row, day):
                return row
        raise MissingTariff(
            f"Aucun tarif « {code} » en vigueur le {day:%d/%m/%Y} ({Zone(zone).label})."
        )

    def act(self, act: str, count: int, day: date) -> ActRule:
        for row in self.acts:
            fits = row.min_count <= count and (row.max_count is None or count <= row.max_count)
            if row.act == act and fits and _in_force(row, day):
                return row
        raise MissingTariff(f"Aucune cotation de l'acte « {act} » en vigueur le {day:%d/%m/%Y}.")


def _in_force(row: Tariff | ActRule, day: date) -> bool:
    return row.valid_from <= day and (row.valid_to is None or day <= row.valid_to)


def _optional_date(text: str) -> date | None:
    return date.fromisoformat(text) if text else None


def shipped_tariffs() -> list[Tariff]:
    return [
        Tariff(
            code=row["code"],
            zone=row["zone"],
            label=row["label"],
            value=Decimal(row["value"]),
            valid_from=date.fromisoformat(row["valid_from"]),
            valid_to=_optional_date(row["valid_to"]),
            source=row["source"],
        )
        for row in _rows("tariffs.csv")
    ]


def shipped_acts() -> list[ActRule]:
    return [
        ActRule(
            act=row["act"],
            label=row["label"],
            letter=row["letter"],
            coefficient=Decimal(row["coefficient"]),
            extras=row["extras"],
            min_count=int(row["min_count"]),
            max_count=int(row["max_count"]) if row["max_count"] else None,
            valid_from=date.fromisoformat(row["valid_from"]),
            valid_to=_optional_date(row["valid_to"]),
            source=row["source"],
        )
        for row in _rows("acts.csv")
    ]


def _rows(name: str) -> list[dict[str, str]]:
    text = resources.files("billing").joinpath("data", name).read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines(), delimiter=";"))


def shipped_catalogue() -> Catalogue:
    """The catalogue as the package ships it, without a database."""
    return Catalogue(tuple(shipped_tariffs()), tuple(shipped_acts()))


def load_shipped(session: Session) -> int:
    """Adds the shipped rows the database lacks (matched on code, zone or act, and start date);
    rows already there, and rows admins added, are left as they are. Returns how many were added."""
    have_tariffs = {(t.code, t.zone, t.valid_from) for t in session.exec(select(Tariff))}
    have_acts = {(a.act, a.min_count, a.valid_from) for a in session.exec(select(ActRule))}
    added = 0
    for tariff in shipped_tariffs():
        if (tariff.code, tariff.zone, tariff.valid_from) not in have_tariffs:
            session.add(tariff)
            added += 1
    for act in shipped_acts():
        if (act.act, act.min_count, act.valid_from) not in have_acts:
            session.add(act)
            added += 1
    session.flush()
    return added


def catalogue_of(session: Session) -> Catalogue:
    tariffs = session.exec(select(Tariff).order_by(Tariff.valid_from.desc())).all()
    acts = session.exec(select(ActRule).order_by(ActRule.valid_from.desc())).all()
    return Catalogue(tuple(tariffs), tuple(acts))


def tariff_history(session: Session) -> list[Tariff]:
    return list(
        session.exec(
            select(Tariff).order_by(Tariff.code, Tariff.zone, Tariff.valid_from.desc())
        ).all()
    )


def act_history(session: Session) -> list[ActRule]:
    return list(
        session.exec(
            select(ActRule).order_by(ActRule.act, ActRule.valid_from.desc(), ActRule.min_count)
        ).all()
    )


def revalue(
    session: Session,
    *,
    code: str,
    zone: str,
    value: object,
    valid_from: object,
    source: str,
    actor: object,
) -> Tariff:
    """A new value for a tariff from a given day: the row in force until then ends the day
    before. A start date on or before the current row's start is refused: history is not
    rewritten."""
    errors = ErrorCollector()
    known = session.exec(select(Tariff).where(Tariff.code == code, Tariff.zone == zone)).all()
    if not known:
        raise NotFound(f"Tarif inconnu : « {code} » ({zone}).")
    amount = _amount(value, errors)
    start = _day(valid_from, errors)
    source = one_line(source or "", limit=500)
    if not source:
        errors.add("source", "Indiquez la source de la nouvelle valeur (texte, date de parution).")
    errors.raise_if_any()
    latest = max(known, key=lambda row: row.valid_from)
    if start <= latest.valid_from:
        raise Conflict(
            f"Le tarif en vigueur depuis le {latest.valid_from:%d/%m/%Y} ne peut être remplacé "
            "qu'à une date postérieure : une revalorisation ne réécrit pas le passé."
        )
    billed = session.exec(
        select(func.max(BillingRecord.care_date)).where(BillingRecord.zone == zone)
    ).one()
    if billed is not None and start <= billed:
        raise Conflict(
            f"Des factures sont déjà émises jusqu'au {billed:%d/%m/%Y} ({Zone(zone).label}) : "
            "une revalorisation ne prend effet qu'après ce jour, les factures émises ne "
            "changent pas."
        )
    if latest.valid_to is None or latest.valid_to >= start:
        latest.valid_to = start - timedelta(days=1)
        session.add(latest)
    row = Tariff(
        code=code,
        zone=zone,
        label=latest.label,
        value=amount,
        valid_from=start,
        source=source,
        created_by=getattr(actor, "email", None) or str(actor),
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="tariff.revalued",
        target_type="tariff",
        target_id=row.id,
        details={
            "code": code,
            "zone": zone,
            "value": str(amount),
            "valid_from": start.isoformat(),
            "previous": str(latest.value),
        },
    )
    return row


def _amount(value: object, errors: ErrorCollector) -> Decimal:
    try:
        amount = Decimal(str(value).strip().replace(",", "."))
    except InvalidOperation:
        errors.add("value", "Un montant en euros est attendu (par exemple 2,75).")
        return Decimal(0)
    if not amount.is_finite() or not Decimal(0) < amount <= Decimal(1000):
        errors.add("value", "Un montant positif d'au plus 1 000 € est attendu.")
    elif amount != amount.quantize(Decimal("0.01")):
        errors.add("value", "Deux décimales au plus (centimes).")
    return amount


def _day(value: object, errors: ErrorCollector) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        errors.add("valid_from", "Date d'effet attendue (AAAA-MM-JJ).")
        return date.min
