"""A database cache of geocoding results, so that an address is sent to a geocoding service once.

Only successes are cached: a refused address may be corrected in the national base tomorrow, and a
service that did not answer says nothing about the address.
"""

import hashlib
from dataclasses import asdict
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, select

from registry.geo import GeocodeQuery, Geocoder, GeocodeResult
from registry.timeutil import UTCDateTime, utcnow


class GeocodeCacheEntry(SQLModel, table=True):
    __tablename__ = "geocode_cache"
    __table_args__ = (sa.UniqueConstraint("provider", "query_key"),)

    id: int | None = Field(default=None, primary_key=True)
    provider: str = Field(max_length=16)
    query_key: str = Field(max_length=64)  # see `query_key`
    result: dict[str, Any] = Field(sa_type=sa.JSON, nullable=False)  # the GeocodeResult fields
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


def query_key(provider: str, query: GeocodeQuery) -> str:
    """The same address typed with other capitals or spaces shares one cache entry."""
    parts = (provider, query.street, query.postal_code, query.commune, query.insee)
    normalised = "|".join(" ".join(part.lower().split()) for part in parts)
    return hashlib.sha256(normalised.encode()).hexdigest()


class CachedGeocoder:
    """Wraps a geocoder; cache rows are written in the caller's transaction."""

    def __init__(self, inner: Geocoder, session: Session, provider: str) -> None:
        self._inner = inner
        self._session = session
        self._provider = provider

    def geocode(self, query: GeocodeQuery) -> GeocodeResult:
        key = query_key(self._provider, query)
        cached = self._session.exec(
            select(GeocodeCacheEntry.result).where(
                GeocodeCacheEntry.provider == self._provider, GeocodeCacheEntry.query_key == key
            )
        ).first()
        if cached is not None:
            return GeocodeResult(**cached)
        result = self._inner.geocode(query)
        self._store(key, result)
        return result

    def _store(self, key: str, result: GeocodeResult) -> None:
        entry = GeocodeCacheEntry(provider=self._provider, query_key=key, result=asdict(result))
        try:
            # The savepoint keeps the caller's transaction alive if the insert fails.
            with self._session.begin_nested():
                self._session.add(entry)
        except IntegrityError:
            pass  # another request cached the same address meanwhile: its row is as good as ours
