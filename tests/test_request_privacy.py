"""Data minimisation: before accepting, a nurse learns where, when and what, never who."""

from registry.accounts import Role
from registry.requests.minimised import offer_summary
from tests.visit_data import book


def test_an_offer_shows_where_when_and_what_but_never_who(db, make_user):
    visit = book(db, make_user(Role.AGENT), notes="Code porte 1234")
    summary = offer_summary(visit, practice_lat=42.9650, practice_lon=1.6070)
    shown = {str(value) for value in vars(summary).values()}
    for private in (visit.nir, visit.last_name, visit.first_name, visit.phone, visit.notes):
        assert not any(private in value for value in shown), private
    assert visit.address_street not in " ".join(shown)
    assert (summary.commune, summary.household_size, summary.skills_needed) == ("Foix", 3, ["tag"])
    assert 0 <= summary.distance_km < 5
