"""The steering pages on the blueprints of those who steer: URPS coordinators and admins see the
whole platform, CPAM staff their CPAM's requests."""

from flask_login import current_user

from app.blueprints import admin, coordinator, cpam
from app.blueprints.steering_pages import SteeringScope, add_routes, own_cpam

add_routes(coordinator.blueprint, lambda: SteeringScope("coordinator"))
add_routes(admin.blueprint, lambda: SteeringScope("admin"))
add_routes(cpam.blueprint, lambda: SteeringScope("cpam", cpam_code=own_cpam(current_user)))
