"""Properties of pricing over the shipped catalogue: the total is the sum of the lines, every
amount is in cents, one VDSI per bill, IK and majorations exactly when their rules say so."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from billing.catalogue import MissingTariff, shipped_catalogue
from billing.holidays import is_sunday_or_holiday
from billing.pricing import VisitFacts, ik_km, price_visit, total_of

CATALOGUE = shipped_catalogue()
DEPARTMENTS = ["09", "75", "57", "67", "2A", "971", "972", "973", "974", "976"]

facts = st.builds(
    VisitFacts,
    care_date=st.dates(date(2020, 12, 8), date(2022, 12, 31)),
    department=st.sampled_from(DEPARTMENTS),
    zone=st.sampled_from(["metropole", "drom"]),
    distance_km=st.decimals(0, 150, places=1),
    same_commune=st.booleans(),
    mountain=st.booleans(),
    tests=st.fixed_dictionaries(
        {}, optional={"TAG": st.integers(0, 10), "PCR": st.integers(0, 10)}
    ),
)


@settings(max_examples=300, deadline=None)
@given(facts)
def test_the_total_is_the_sum_of_lines_in_cents(visit):
    lines = price_visit(visit, CATALOGUE)
    total = total_of(lines)
    assert total == sum(line.amount for line in lines)
    for line in lines:
        assert line.amount == line.amount.quantize(Decimal("0.01")) and line.amount > 0
    assert total >= Decimal("25.14")
    assert [line.code for line in lines if line.act == "VDSI"] == ["AMI", "MCI"]


@settings(max_examples=300, deadline=None)
@given(facts)
def test_ik_and_the_sunday_majoration_appear_exactly_when_due(visit):
    codes = [line.code for line in price_visit(visit, CATALOGUE)]
    threshold = Decimal(1) if visit.mountain else Decimal(2)
    ik_due = not visit.same_commune and visit.distance_km > threshold
    assert ("IK" in codes) == ik_due
    assert ("F" in codes) == is_sunday_or_holiday(visit.care_date, visit.department)
    assert codes.count("IFD") == 1


@settings(max_examples=200, deadline=None)
@given(st.decimals(0, 150, places=1), st.booleans())
def test_ik_km_follow_the_round_trip_minus_the_allowance(distance, mountain):
    km = ik_km(distance, mountain=mountain, same_commune=False)
    allowance = 2 if mountain else 4
    assert km == (max(2 * distance - allowance, 0) if km else 0)
    assert km >= 0


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 12))
def test_household_tests_follow_the_count_brackets(count):
    base = VisitFacts(date(2021, 3, 9), "09", "metropole", Decimal(0), True, False)
    tag = next(
        line
        for line in price_visit(VisitFacts(**{**base.__dict__, "tests": {"TAG": count}}), CATALOGUE)
        if line.act == "TAG"
    )
    pcr = next(
        line
        for line in price_visit(VisitFacts(**{**base.__dict__, "tests": {"PCR": count}}), CATALOGUE)
        if line.act == "PCR"
    )
    assert tag.coefficient == (Decimal("9.6") if count < 3 else Decimal("8.3"))
    assert pcr.coefficient == (Decimal("4.2") if count <= 3 else Decimal("3.1"))
    assert (tag.quantity, pcr.quantity) == (count, count)


def test_antigen_tests_before_their_tariff_existed_cannot_be_priced():
    early = VisitFacts(date(2020, 12, 7), "09", "metropole", Decimal(0), True, False, {"TAG": 1})
    with pytest.raises(MissingTariff, match="TAG"):
        price_visit(early, CATALOGUE)
    assert price_visit(
        VisitFacts(**{**early.__dict__, "care_date": early.care_date + timedelta(1)}), CATALOGUE
    )
