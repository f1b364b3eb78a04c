"""Pricing a VDSI from the facts of the visit and the catalogue in force on the day of care: the
lines of the bill, each amount rounded half-up to the cent. Pure: no database, no Flask."""

from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from billing.catalogue import Catalogue
from billing.holidays import holiday_name
from billing.types import to_cents

TENTH = Decimal("0.1")
# Per PRODUCT §5: IK are due beyond 2 km (1 km in mountain areas), on the round trip minus an
# allowance of 4 km (2 km in mountain areas).
IK_THRESHOLD_KM = {False: Decimal(2), True: Decimal(1)}
IK_ALLOWANCE_KM = {False: Decimal(4), True: Decimal(2)}
TEST_ACTS = ("PCR", "TAG")


@dataclass(frozen=True)
class VisitFacts:
    care_date: date
    department: str
    zone: str
    # The distance from the practice to the patient's home that the IK are billed on (the
    # nurse's declared value when she gave one, the platform's estimate otherwise).
    distance_km: Decimal
    # The patient lives in the practice's own commune (its agglomeration): no IK.
    same_commune: bool
    mountain: bool
    # People of the household tested during the visit, by act (PCR, TAG).
    tests: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class PricedLine:
    act: str
    code: str
    label: str
    coefficient: Decimal | None
    unit_price: Decimal
    quantity: int
    amount: Decimal


def parse_km(value: object) -> Decimal | None:
    """The distance a nurse declares for the IK, to 0.1 km (None when she gives none); a
    ValueError says what is wrong with it."""
    if value is None or value == "":
        return None
    try:
        km = Decimal(str(value).replace(",", "."))
    except InvalidOperation as error:
        raise ValueError("Un nombre de kilomètres est attendu.") from error
    if not km.is_finite() or not Decimal(0) <= km <= Decimal(500):
        raise ValueError("Entre 0 et 500 km.")
    return km.quantize(TENTH, rounding=ROUND_HALF_UP)


def ik_km(distance_km: Decimal, *, mountain: bool, same_commune: bool) -> Decimal:
    """The km billed as IK for a distance practice → home (0 when none are due)."""
    if same_commune or distance_km <= IK_THRESHOLD_KM[mountain]:
        return Decimal(0)
    return (2 * distance_km - IK_ALLOWANCE_KM[mountain]).quantize(TENTH)


def price_visit(facts: VisitFacts, catalogue: Catalogue) -> list[PricedLine]:
    day, zone = facts.care_date, facts.zone
    lines: list[PricedLine] = []

    def letter_line(act: str, count: int) -> None:
        rule = catalogue.act(act, count, day)
        price = catalogue.tariff(rule.letter, zone, day).value
        unit = to_cents(rule.coefficient * price)
        lines.append(
            PricedLine(act, rule.letter, rule.label, rule.coefficient, price, count, unit * count)
        )
        for code in filter(None, rule.extras.split(",")):
            fixed = catalogue.tariff(code, zone, day)
            lines.append(PricedLine(act, code, fixed.label, None, fixed.value, 1, fixed.value))

    letter_line("VDSI", 1)
    for act in TEST_ACTS:
        if facts.tests.get(act, 0) > 0:
            letter_line(act, facts.tests[act])
    trip = catalogue.tariff("IFD", zone, day)
    lines.append(PricedLine("", "IFD", trip.label, None, trip.value, 1, trip.value))
    km = ik_km(facts.distance_km, mountain=facts.mountain, same_commune=facts.same_commune)
    if km > 0:
        per_km = catalogue.tariff("IK_MONTAGNE" if facts.mountain else "IK_PLAINE", zone, day)
        lines.append(
            PricedLine("", "IK", per_km.label, km, per_km.value, 1, to_cents(km * per_km.value))
        )
    holiday = holiday_name(day, facts.department)
    if holiday or day.isoweekday() == 7:
        sunday = catalogue.tariff("F", zone, day)
        label = f"{sunday.label} ({holiday or 'dimanche'})"
        lines.append(PricedLine("", "F", label, None, sunday.value, 1, sunday.value))
    return lines


def total_of(lines: list[PricedLine]) -> Decimal:
    return sum((line.amount for line in lines), Decimal("0.00"))
