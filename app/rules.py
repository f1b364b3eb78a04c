"""The deployment's tunable rules, read from its settings."""

from datetime import timedelta

from flask import current_app

from registry.requests.services import BookingRules
from registry.visits.offers import OfferRules


def booking_rules() -> BookingRules:
    settings = current_app.config["SETTINGS"]
    return BookingRules(
        due_after=timedelta(hours=settings.visit_due_hours),
        follow_up_after=timedelta(days=settings.follow_up_days),
        revisit_block=timedelta(days=settings.revisit_block_days),
        at_risk_before=timedelta(hours=settings.at_risk_hours),
    )


def offer_rules() -> OfferRules:
    settings = current_app.config["SETTINGS"]
    return OfferRules(
        expiry=timedelta(minutes=settings.offer_minutes),
        usual_nurse_expiry=timedelta(minutes=settings.offer_usual_nurse_minutes),
        plan_time_limit=settings.plan_time_limit,
    )
