"""Exact decimals in the database: amounts in cents, coefficients and kilometres in tenths or
hundredths, stored as integers so that SQLite and PostgreSQL add them up to the same cent."""

from decimal import ROUND_HALF_UP, Decimal

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator

CENT = Decimal("0.01")


def to_cents(amount: Decimal) -> Decimal:
    """Money rounded half-up to the cent, the one rounding rule of billing."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


class ScaledDecimal(TypeDecorator):
    """A `Decimal` with a fixed number of places, kept as an integer count of its smallest unit.
    A value with more places than the column holds is refused, never silently rounded."""

    impl = sa.BigInteger
    cache_ok = True

    def __init__(self, places: int = 2):
        super().__init__()
        self.places = places
        self.unit = Decimal(1).scaleb(-places)

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        value = Decimal(value)
        scaled = value.scaleb(self.places)
        if scaled != scaled.to_integral_value():
            raise ValueError(f"{value} has more than {self.places} decimal places")
        return int(scaled)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return Decimal(int(value)).scaleb(-self.places).quantize(self.unit)


def french(value: Decimal) -> str:
    """A decimal as French text and files write it: 29,52."""
    return str(value).replace(".", ",")


def Money() -> ScaledDecimal:
    return ScaledDecimal(2)
