"""API tokens for machine clients (the CPAM information system) and the JSON API.

A token is shown once at creation; only its SHA-256 is stored (tokens are 256-bit random, so a
fast hash is enough). A revoked token never authenticates again.
"""

import secrets
from datetime import datetime, timedelta

from sqlmodel import Field, Session, SQLModel, select

from registry import audit
from registry.accounts import User, sha256
from registry.errors import Conflict, NotFound
from registry.timeutil import UTCDateTime, utcnow

TOKEN_PREFIX = "vdsi_"  # noqa: S105 (a public marker, not a secret)
LAST_USED_RESOLUTION = timedelta(minutes=1)


class ApiToken(SQLModel, table=True):
    __tablename__ = "api_token"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user_account.id", index=True)
    name: str = Field(default="", max_length=120)
    token_hash: str = Field(max_length=64, unique=True)
    display_prefix: str = Field(max_length=16)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


def issue_token(session: Session, user: User, *, name: str, actor: object) -> tuple[ApiToken, str]:
    """Create a token for `user`; returns the row and the clear token, which is never stored."""
    if not user.active:
        raise Conflict("Impossible de créer un jeton pour un compte désactivé.")
    clear = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=user.id,
        name=(name or "").strip()[:120],
        token_hash=sha256(clear),
        display_prefix=clear[: len(TOKEN_PREFIX) + 6],
    )
    session.add(token)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="token.created",
        target_type="api_token",
        target_id=token.id,
        details={"user_id": user.id, "name": token.name},
    )
    return token, clear


def revoke_token(session: Session, token_id: int, *, actor: object) -> ApiToken:
    token = session.get(ApiToken, token_id)
    if token is None:
        raise NotFound("Jeton introuvable.")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        session.add(token)
        audit.record(
            session,
            actor=actor,
            action="token.revoked",
            target_type="api_token",
            target_id=token.id,
            details={"user_id": token.user_id},
        )
    return token


def user_for_token(session: Session, clear: str) -> User | None:
    """The active user a live token belongs to, or None."""
    if not clear.startswith(TOKEN_PREFIX):
        return None
    token = session.exec(select(ApiToken).where(ApiToken.token_hash == sha256(clear))).first()
    if token is None or token.revoked_at is not None:
        return None
    user = session.get(User, token.user_id)
    if user is None or not user.active:
        return None
    now = utcnow()
    # Stamped at most once a minute: a busy client must not turn every call into a write.
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        token.last_used_at = now
        session.add(token)
    return user


def tokens_of(session: Session, user_id: int) -> list[ApiToken]:
    return list(
        session.exec(
            select(ApiToken).where(ApiToken.user_id == user_id).order_by(ApiToken.created_at.desc())
        )
    )
