"""Nurses available around the clock and booked requests, for the offer and planning tests."""

from registry.accounts import Role, User
from registry.geo.commune_geocoder import CommuneGeocoder
from registry.geo.communes import commune_directory
from registry.nurses import services as nurse_services
from registry.nurses.models import Nurse, NurseStatus
from registry.nurses.schema import parse_nurse_input
from registry.requests import services as request_services
from registry.requests.models import VisitRequest
from registry.requests.services import BookingRules
from tests.nurse_data import nurse_document
from tests.request_data import request_document

ALL_WEEK = [{"weekday": day, "start": "00:00", "end": "23:59"} for day in range(7)]
FOIX = {"street": "", "postal_code": "09000", "commune": "Foix"}
PAMIERS = {"street": "", "postal_code": "09100", "commune": "Pamiers"}
# A complete visit report, but for its `visited_at`.
REPORT = {
    "clinical": {
        "temperature_c": 38.2,
        "spo2": 96,
        "systolic": 125,
        "diastolic": 80,
        "symptoms": ["fever", "cough"],
    },
    "isolation_feasible": True,
    "social_needs": "Courses à livrer",
    "ctai_referral": True,
    "gp_informed": True,
    "household_tests": [{"kind": "tag", "count": 2, "positives": 1}],
    "vaccination_offered": False,
    "ik_km": "12,5",
}


def enrol_nurse(db, *, practice=FOIX, **changes) -> Nurse:
    """An active nurse available all week, whose 30 km reach covers Foix from Pamiers."""
    directory = commune_directory()
    changes.setdefault("sector", {"communes": [], "radius_km": 30})
    changes.setdefault("availability", ALL_WEEK)
    document = nurse_document(practice=practice, **changes)
    values = parse_nurse_input(
        document, partial=False, commune_exists=lambda code: directory.get(code) is not None
    )
    nurse = nurse_services.enroll_nurse(
        db, values, geocoder=CommuneGeocoder(directory), actor="test", status=NurseStatus.ACTIVE
    )
    db.commit()
    return nurse


def book(db, agent: User, **changes) -> VisitRequest:
    assert agent.role == Role.AGENT
    request, _created = request_services.book_request(
        db,
        request_document(**changes),
        client=agent,
        geocoder=CommuneGeocoder(commune_directory()),
        rules=BookingRules(),
    )
    db.commit()
    return request
