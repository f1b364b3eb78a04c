"""The nurse's bills: the records issued for her visits, a record, its correction, her monthly
statement and exports."""

from app.blueprints.billing_pages import Scope, add_routes
from app.blueprints.nurse import _own_nurse, blueprint

add_routes(blueprint, lambda: Scope("nurse", nurse=_own_nurse()))
