"""Which active nurses can serve this point between these times."""

from datetime import UTC, datetime, timedelta

import pytest

from registry.geo.commune_geocoder import CommuneGeocoder
from registry.geo.communes import commune_directory
from registry.nurses import services
from registry.nurses.eligibility import eligible_nurses
from registry.nurses.models import NurseStatus
from registry.nurses.schema import parse_nurse_input
from tests.nurse_data import nurse_document

FOIX = (42.9653, 1.6069, "09122")
PAMIERS_INSEE = "09225"
MONDAY = datetime(2021, 2, 1, tzinfo=UTC)


@pytest.fixture
def enrol(db):
    directory = commune_directory()

    def _enrol(status=NurseStatus.ACTIVE, **changes):
        values = parse_nurse_input(
            nurse_document(**changes),
            partial=False,
            commune_exists=lambda code: directory.get(code) is not None,
        )
        nurse = services.enroll_nurse(
            db, values, geocoder=CommuneGeocoder(directory), actor="test", status=status
        )
        db.commit()
        return nurse

    return _enrol


def in_commune(postal_code: str, name: str) -> dict:
    return {"practice": {"street": "", "postal_code": postal_code, "commune": name}}


def search(db, *, point=FOIX, start=MONDAY, hours=24, **criteria):
    latitude, longitude, insee = point
    return eligible_nurses(
        db,
        latitude=latitude,
        longitude=longitude,
        insee=insee,
        start=start,
        end=start + timedelta(hours=hours),
        **criteria,
    )


def test_an_active_nurse_within_her_radius_is_eligible_with_her_window(db, enrol):
    nurse = enrol()
    (found,) = search(db)
    assert found.nurse_id == nurse.id
    assert found.distance_km < 2
    assert found.windows == ((MONDAY.replace(hour=13), MONDAY.replace(hour=17)),)


def test_a_nurse_beyond_her_radius_is_not_eligible_unless_she_lists_the_commune(db, enrol):
    far = enrol(sector={"radius_km": 5}, **in_commune("09100", "Pamiers"))
    assert search(db) == []
    services.update_nurse(
        db, far, {"sector_communes": ["09122"], "sector_radius_km": 5}, geocoder=None, actor="t"
    )
    db.commit()
    (found,) = search(db)
    assert found.in_sector_list
    assert found.distance_km > 15


@pytest.mark.parametrize("status", [NurseStatus.PENDING, NurseStatus.SUSPENDED])
def test_only_active_nurses_are_ever_matched(db, enrol, status):
    enrol(status=NurseStatus.PENDING if status == NurseStatus.PENDING else NurseStatus.ACTIVE)
    if status == NurseStatus.SUSPENDED:
        nurse = search(db)[0]
        record = services.get_nurse(db, nurse.nurse_id)
        services.change_status(db, record, status, reason="Congé", actor="t")
        db.commit()
    assert search(db) == []


def test_skills_must_all_be_there_and_one_language_in_common(db, enrol):
    enrol(skills=["tag"], languages=["fr", "es"])
    assert len(search(db, skills=("tag",))) == 1
    assert search(db, skills=("tag", "pcr")) == []
    assert len(search(db, languages=("es", "ar"))) == 1
    assert search(db, languages=("ar",)) == []


def test_no_window_in_the_interval_means_not_eligible(db, enrol):
    enrol(availability=[{"weekday": 2, "start": "08:00", "end": "12:00"}])
    assert search(db) == []
    assert len(search(db, hours=72)) == 1


def test_a_window_shorter_than_the_visit_does_not_count(db, enrol):
    enrol(availability=[{"weekday": 0, "start": "14:00", "end": "14:20"}])
    assert search(db, min_duration=timedelta(minutes=40)) == []
    assert len(search(db, min_duration=timedelta(minutes=20))) == 1


def test_nearest_nurses_come_first(db, enrol):
    far = enrol(sector={"radius_km": 40}, **in_commune("09100", "Pamiers"))
    near = enrol(sector={"radius_km": 40})
    assert [found.nurse_id for found in search(db)] == [near.id, far.id]
