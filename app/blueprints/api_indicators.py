"""JSON API of the steering indicators: URPS coordinators and admins for the platform or a
department, CPAM staff for their CPAM's requests; and the same tables as CSV."""

from flask import g, jsonify, request

from app.blueprints.api import blueprint, roles
from app.blueprints.steering_pages import indicators_export, indicators_of, own_cpam
from app.db import get_session
from app.steering_params import filters_of
from registry.accounts import Role
from registry.timeutil import utcnow
from steering import tables
from steering.indicators import Indicators

STEERING_ROLES = (Role.COORDINATOR, Role.CPAM, Role.ADMIN)


def _indicators() -> Indicators:
    user = g.api_user
    cpam_code = own_cpam(user) if user.role == Role.CPAM else None
    db = get_session()
    now = utcnow()
    filters = filters_of(request.args, db, cpam_code=cpam_code, today=now.date())
    return indicators_of(filters)


@blueprint.get("/indicators")
@roles(*STEERING_ROLES)
def get_indicators():
    return jsonify(tables.document(_indicators()))


@blueprint.get("/indicators.csv")
@roles(*STEERING_ROLES)
def indicators_csv():
    return indicators_export(_indicators(), request.args)
