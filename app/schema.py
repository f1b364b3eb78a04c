"""Imports every table model so that `SQLModel.metadata` describes the whole schema
(for the migrations and for the test that compares them with the models)."""

from sqlmodel import SQLModel

import app.jobs.models  # noqa: F401
import billing.models  # noqa: F401
import registry.accounts
import registry.api_tokens
import registry.audit
import registry.geo.cache
import registry.notifications.models
import registry.nurses.models
import registry.requests.models
import registry.visits.models  # noqa: F401
import steering.simulation.models  # noqa: F401

metadata = SQLModel.metadata
