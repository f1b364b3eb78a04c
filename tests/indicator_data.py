"""A seeded data set for the steering indicators: three weeks of March 2021 (the change to summer
time in their middle) in Ariège (09, CPAM 091), Haute-Garonne (31, CPAM 311) and Guadeloupe
(971), taken through the real services at chosen instants: enrolment, booking, planning,
answers, reports, hand-back, cancellation, refusal, escalation and a corrected bill."""

from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import time_machine
from sqlmodel import Session, select

from app.db import begin_write
from billing import records
from registry import accounts
from registry.accounts import Role, User
from registry.geo.commune_geocoder import CommuneGeocoder
from registry.geo.communes import commune_directory
from registry.nurses import services as nurse_services
from registry.nurses.models import Nurse, NurseStatus
from registry.nurses.schema import parse_nurse_input
from registry.requests import services as request_services
from registry.requests.models import RequestStatus, VisitRequest
from registry.visits import offers, reports, upkeep
from registry.visits.models import Offer, OfferStatus
from registry.visits.offers import OfferRules
from registry.visits.planning import plan_pass
from tests.nurse_data import nurse_document
from tests.visit_data import ALL_WEEK, FOIX, PAMIERS, book

PARIS = ZoneInfo("Europe/Paris")
GUADELOUPE_TIME = ZoneInfo("America/Guadeloupe")
RULES = OfferRules(plan_time_limit=0.2)
MONTGAILHARD = {"street": "", "postal_code": "09330", "commune": "Montgailhard"}
FERRIERES = {"street": "", "postal_code": "09000", "commune": "Ferrières-sur-Ariège"}
AX = {"street": "", "postal_code": "09110", "commune": "Ax-les-Thermes"}
TOULOUSE = {"street": "", "postal_code": "31000", "commune": "Toulouse"}
MURET = {"street": "", "postal_code": "31600", "commune": "Muret"}
SAINT_GAUDENS = {"street": "", "postal_code": "31800", "commune": "Saint-Gaudens"}
POINTE_A_PITRE = {"street": "", "postal_code": "97110", "commune": "Pointe-à-Pitre"}
# The instant the indicators are read: the last request is still younger than 24 h.
NOW = datetime(2021, 4, 4, 23, 0, tzinfo=PARIS)


def paris(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2021, month, day, hour, minute, tzinfo=PARIS)


def guadeloupe(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2021, month, day, hour, minute, tzinfo=GUADELOUPE_TIME)


@contextmanager
def clock(moment: datetime):
    with time_machine.travel(moment, tick=False):
        yield


@dataclass
class DataSet:
    nurses: dict[str, Nurse] = field(default_factory=dict)
    requests: dict[str, VisitRequest] = field(default_factory=dict)


class Seeder:
    """The platform's services called at chosen instants, each in its own transaction."""

    def __init__(self, db: Session):
        self.db = db
        self.data = DataSet()
        self.directory = commune_directory()
        self.agents = {code: self._agent(code) for code in ("091", "311", "971")}

    def _agent(self, cpam_code: str) -> User:
        user = accounts.create_user(
            self.db,
            email=f"agent{cpam_code}@exemple.fr",
            role=Role.AGENT,
            password="Un-mot-de-passe-solide-2021",
            name=f"Agent {cpam_code}",
            actor="test",
            cpam_code=cpam_code,
        )
        self.db.commit()
        return user

    def enrol(self, name, practice, validated: datetime | None, **changes) -> Nurse:
        """A nurse available all week, validated (made active) at `validated`, or pending."""
        changes.setdefault("sector", {"communes": [], "radius_km": 30})
        document = nurse_document(practice=practice, availability=ALL_WEEK, **changes)
        values = parse_nurse_input(
            document,
            partial=False,
            commune_exists=lambda code: self.directory.get(code) is not None,
        )
        status = NurseStatus.ACTIVE if validated else NurseStatus.PENDING
        with clock(validated or paris(3, 1, 9)):
            nurse = nurse_services.enroll_nurse(
                self.db,
                values,
                geocoder=CommuneGeocoder(self.directory),
                actor="test",
                status=status,
            )
            self.db.commit()
        self.data.nurses[name] = nurse
        return nurse

    def book(self, name, cpam_code: str, consent: datetime, address=FOIX, **changes):
        with clock(consent):
            request = book(
                self.db, self.agents[cpam_code], address=address, household_tests=[], **changes
            )
        self.data.requests[name] = request
        return request

    def plan(self, moment: datetime):
        with clock(moment):
            begin_write(self.db)
            summary = plan_pass(self.db, rules=RULES, now=moment)
            self.db.commit()
        return summary

    def live_offer(self, request: VisitRequest) -> Offer:
        return self.db.exec(
            select(Offer).where(Offer.request_id == request.id, Offer.status == OfferStatus.LIVE)
        ).one()

    def offered_to(self, request: VisitRequest, nurse: Nurse) -> Offer:
        offer = self.live_offer(request)
        assert offer.nurse_id == nurse.id, (offer.nurse_id, nurse.id, offer.reason)
        return offer

    def accept(self, request, nurse, moment: datetime, appointment: datetime | None = None):
        offer = self.offered_to(request, nurse)
        with clock(moment):
            begin_write(self.db)
            offers.accept_offer(
                self.db, offer.id, nurse, actor="test", appointment_at=appointment, now=moment
            )
            self.db.commit()

    def decline(self, request, nurse, moment: datetime, reason: str):
        offer = self.offered_to(request, nurse)
        with clock(moment):
            begin_write(self.db)
            offers.decline_offer(self.db, offer.id, nurse, reason, actor="test", now=moment)
            self.db.commit()

    def hand_back(self, request, nurse, moment: datetime, reason: str):
        with clock(moment):
            begin_write(self.db)
            offers.hand_back(self.db, request.id, nurse, reason, actor="test", now=moment)
            self.db.commit()

    def report(self, request, nurse, visited: datetime, *, tests=(), ctai=False, ik_km=None):
        body = {
            "visited_at": visited.isoformat(),
            "clinical": {"temperature_c": 37.8, "spo2": 96},
            "isolation_feasible": True,
            "ctai_referral": ctai,
            "household_tests": list(tests),
        }
        if ik_km is not None:
            body["ik_km"] = ik_km
        with clock(visited):
            begin_write(self.db)
            reports.file_report(self.db, request.id, nurse, body, actor="test")
            self.db.commit()

    def visit(self, request, nurse, *, accepted: datetime, visited: datetime, **report):
        """Offered to `nurse` by a planning pass a minute after consent, accepted, reported."""
        self.plan(request.consent_at + timedelta(minutes=1))
        self.accept(request, nurse, accepted)
        self.report(request, nurse, visited, **report)

    def unreachable(self, request, nurse, moment: datetime, reason: str):
        with clock(moment):
            begin_write(self.db)
            reports.mark_unreachable(self.db, request.id, nurse, reason, actor="test")
            self.db.commit()

    def cancel(self, request, moment: datetime, reason: str):
        with clock(moment):
            begin_write(self.db)
            current = self.db.get(VisitRequest, request.id)
            self.db.refresh(current)
            request_services.cancel_request(
                self.db, current, reason, actor=self.agents[current.cpam_code]
            )
            self.db.commit()

    def refuse(self, request, moment: datetime, reason: str):
        """The patient refuses the visit (the status change every request goes through)."""
        with clock(moment):
            begin_write(self.db)
            current = self.db.get(VisitRequest, request.id)
            self.db.refresh(current)
            request_services.transition(
                self.db,
                current,
                RequestStatus.REFUSED_BY_PATIENT,
                actor=self.agents[current.cpam_code],
                reason=reason,
            )
            self.db.commit()

    def escalate(self, moment: datetime):
        with clock(moment):
            begin_write(self.db)
            flagged = upkeep.escalate_at_risk(self.db, moment, timedelta(hours=6))
            self.db.commit()
        return flagged

    def correct_bill(self, request, nurse, moment: datetime, km: str):
        with clock(moment):
            record = records.current_record(self.db, request.id)
            records.correct(
                self.db, record.id, declared_km=km, reason="Détour", actor="test", nurse=nurse
            )
            self.db.commit()


def seed(db: Session) -> DataSet:
    s = Seeder(db)
    foix = s.enrol("foix", FOIX, paris(3, 1, 10), skills=["tag", "pcr"])
    toulouse = s.enrol("toulouse", TOULOUSE, paris(3, 10, 15))
    s.enrol("pending", TOULOUSE, None)

    # Consented before the period, visited on its first morning (62 h later).
    early = s.book("early", "091", paris(3, 12, 18))
    s.plan(paris(3, 12, 18, 1))
    s.accept(early, foix, paris(3, 12, 18, 20), appointment=paris(3, 13, 9))
    s.report(early, foix, paris(3, 15, 8))

    # Week 1 (15–21 March).
    r = s.book("foix_5h", "091", paris(3, 15, 9), household_size=3)
    s.visit(
        r,
        foix,
        accepted=paris(3, 15, 9, 20),
        visited=paris(3, 15, 14),
        tests=[{"kind": "tag", "count": 2, "positives": 1}],
        ctai=True,
    )
    r = s.book("toulouse_20h", "311", paris(3, 15, 11), address=TOULOUSE)
    s.visit(r, toulouse, accepted=paris(3, 15, 11, 25), visited=paris(3, 16, 7))

    # Declined by the only nurse of Ariège, and not planned again before its due time.
    r = s.book("declined_alone", "091", paris(3, 16, 8))
    s.plan(paris(3, 16, 8, 1))
    s.decline(r, foix, paris(3, 16, 8, 10), "unavailable")
    # Validated on the evening of the 16th in Guadeloupe (23:30 UTC): already the 17th in Paris.
    antilles = s.enrol("antilles", POINTE_A_PITRE, guadeloupe(3, 16, 19, 30))
    pamiers = s.enrol("pamiers", PAMIERS, paris(3, 17, 9))

    # Offered to the Pamiers nurse, who lets it expire; the Foix nurse visits 29 h on.
    r = s.book("expired_29h", "091", paris(3, 17, 10), address=PAMIERS, household_size=3)
    s.plan(paris(3, 17, 10, 1))
    s.offered_to(r, pamiers)
    s.plan(paris(3, 17, 10, 32))
    s.accept(r, foix, paris(3, 17, 10, 40), appointment=paris(3, 18, 9))
    both = [{"kind": "tag", "count": 3, "positives": 0}, {"kind": "pcr", "count": 1}]
    s.report(r, foix, paris(3, 18, 15), tests=both)

    r = s.book("cancelled", "091", paris(3, 18, 16))
    s.plan(paris(3, 18, 16, 1))
    s.cancel(r, paris(3, 18, 16, 30), "Patient hospitalisé")

    r = s.book("refused", "091", paris(3, 19, 9))
    s.refuse(r, paris(3, 19, 9, 5), "Ne souhaite pas de visite")

    # No nurse within reach of Ax-les-Thermes; escalated 5 h before its due time.
    s.book("out_of_reach", "091", paris(3, 19, 14), address=AX)
    s.plan(paris(3, 19, 14, 1))
    s.escalate(paris(3, 20, 9))

    # A Sunday, at exactly 6 h.
    r = s.book("sunday_6h", "091", paris(3, 21, 10), address=MONTGAILHARD)
    s.visit(r, foix, accepted=paris(3, 21, 10, 5), visited=paris(3, 21, 16))

    # Sunday evening in Guadeloupe, already Monday in Paris; visited on the Monday evening,
    # already Tuesday in Paris.
    r = s.book("guadeloupe", "971", guadeloupe(3, 21, 21), address=POINTE_A_PITRE)
    s.visit(r, antilles, accepted=guadeloupe(3, 21, 21, 30), visited=guadeloupe(3, 22, 20))

    # Week 2 (22–28 March, summer time from the Sunday).
    r = s.book("toulouse_2h", "311", paris(3, 22, 10), address=TOULOUSE)
    s.visit(r, toulouse, accepted=paris(3, 22, 10, 10), visited=paris(3, 22, 12), ik_km="3")
    # Booked by the CPAM of Ariège for a patient in Toulouse.
    r = s.book("toulouse_by_091", "091", paris(3, 22, 13), address=TOULOUSE)
    s.visit(r, toulouse, accepted=paris(3, 22, 13, 20), visited=paris(3, 23, 9))

    muret = s.enrol("muret", MURET, paris(3, 24, 8))
    # Accepted by the Muret nurse, handed back, visited by the Toulouse nurse 26 h on.
    r = s.book("handed_back", "311", paris(3, 24, 14), address=MURET)
    s.plan(paris(3, 24, 14, 1))
    s.accept(r, muret, paris(3, 24, 14, 30), appointment=paris(3, 24, 18))
    s.hand_back(r, muret, paris(3, 24, 15), "Enfant malade")
    s.plan(paris(3, 24, 15, 1))
    s.accept(r, toulouse, paris(3, 24, 15, 10), appointment=paris(3, 25, 9))
    s.report(r, toulouse, paris(3, 25, 16))
    # Her bill, corrected the next day for the km she really drove: a credit and a replacement.
    s.correct_bill(r, toulouse, paris(3, 26, 10), "25")

    # Declined by both nurses of Ariège.
    r = s.book("declined_twice", "091", paris(3, 25, 9))
    s.plan(paris(3, 25, 9, 1))
    s.decline(r, foix, paris(3, 25, 9, 5), "too_far")
    s.plan(paris(3, 25, 9, 6))
    s.decline(r, pamiers, paris(3, 25, 9, 10), "unavailable")
    s.plan(paris(3, 25, 9, 11))

    # Across the change to summer time: 24 h 30 on the clock, 23 h 30 in fact.
    r = s.book("dst_23h30", "091", paris(3, 27, 10), address=PAMIERS, household_size=2)
    s.visit(
        r,
        pamiers,
        accepted=paris(3, 27, 10, 30),
        visited=paris(3, 28, 10, 30),
        tests=[{"kind": "tag", "count": 2, "positives": 2}],
    )
    # Exactly 24 h after consent.
    r = s.book("exactly_24h", "091", paris(3, 27, 13))
    s.visit(r, foix, accepted=paris(3, 27, 13, 2), visited=paris(3, 28, 14))
    # Consented on the Sunday, visited half an hour after midnight: the Monday of week 3.
    r = s.book("after_midnight", "311", paris(3, 28, 20), address=TOULOUSE)
    s.visit(r, toulouse, accepted=paris(3, 28, 20, 10), visited=paris(3, 29, 0, 30))

    # Week 3 (29 March – 4 April).
    r = s.book("muret_2h", "311", paris(3, 29, 9), address=MURET)
    s.visit(r, muret, accepted=paris(3, 29, 9, 3), visited=paris(3, 29, 11))
    r = s.book("unreachable", "091", paris(3, 30, 9))
    s.plan(paris(3, 30, 9, 1))
    s.accept(r, foix, paris(3, 30, 9, 15), appointment=paris(3, 30, 11))
    s.unreachable(r, foix, paris(3, 30, 11, 30), "Trois appels sans réponse")
    s.enrol("saint_gaudens", SAINT_GAUDENS, paris(3, 30, 18))
    r = s.book("pamiers_3h", "091", paris(3, 31, 10), address=PAMIERS)
    s.visit(
        r,
        pamiers,
        accepted=paris(3, 31, 10, 5),
        visited=paris(3, 31, 13),
        tests=[{"kind": "tag", "count": 1}],
        ctai=True,
    )
    r = s.book("ferrieres_10h", "091", paris(4, 1, 10), address=FERRIERES)
    s.visit(r, foix, accepted=paris(4, 1, 10, 25), visited=paris(4, 1, 20))
    r = s.book("guadeloupe_30h", "971", guadeloupe(4, 2, 9), address=POINTE_A_PITRE)
    s.visit(r, antilles, accepted=guadeloupe(4, 2, 9, 10), visited=guadeloupe(4, 3, 15))
    # Accepted, never reported, 27 h old at NOW: it counts against the 24 h share.
    r = s.book("overdue", "311", paris(4, 3, 20), address=TOULOUSE)
    s.plan(paris(4, 3, 20, 1))
    s.accept(r, toulouse, paris(4, 3, 20, 5), appointment=paris(4, 4, 12))
    # 5 h old at NOW: not counted yet.
    r = s.book("young", "091", paris(4, 4, 18))
    s.plan(paris(4, 4, 18, 1))
    s.accept(r, foix, paris(4, 4, 18, 30))
    return s.data
