"""User accounts, roles, login with throttling, and password reset by e-mail token."""

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from sqlmodel import Field, Session, SQLModel, func, select

from registry import audit
from registry.errors import Conflict, ErrorCollector, NotFound, PermissionDenied, invalid
from registry.passwords import DUMMY_HASH, hash_password, password_problems, verify_password
from registry.timeutil import UTCDateTime, utcnow


class Role(StrEnum):
    NURSE = "nurse"
    AGENT = "agent"
    CPAM = "cpam"
    COORDINATOR = "coordinator"
    ADMIN = "admin"

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]


# Roles that work for one CPAM and see only its requests.
CPAM_ROLES = {"agent", "cpam"}

ROLE_LABELS = {
    Role.NURSE: "Infirmier·e libéral·e",
    Role.AGENT: "Enquêteur·rice sanitaire (CPAM)",
    Role.CPAM: "Gestionnaire facturation (CPAM)",
    Role.COORDINATOR: "Coordinateur·rice URPS",
    Role.ADMIN: "Administrateur·rice de la plateforme",
}


class User(SQLModel, table=True):
    __tablename__ = "user_account"

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=254, unique=True, index=True)
    name: str = Field(max_length=200)
    role: str = Field(max_length=20, index=True)
    password_hash: str = Field(max_length=255)
    active: bool = Field(default=True)
    # The CPAM (caisse) an agent or billing clerk works for: they see its requests only.
    cpam_code: str | None = Field(default=None, max_length=3)
    # Changing it invalidates every session of the user (password change, deactivation).
    session_nonce: str = Field(default_factory=lambda: secrets.token_hex(8), max_length=32)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    last_login_at: datetime | None = Field(default=None, sa_type=UTCDateTime)

    @property
    def role_label(self) -> str:
        return Role(self.role).label


class LoginAttempt(SQLModel, table=True):
    __tablename__ = "login_attempt"
    __table_args__ = (sa.Index("ix_login_attempt_email_at", "email", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    email: str = Field(max_length=254)
    ip_address: str = Field(default="", max_length=64, index=True)
    succeeded: bool = Field(default=False)


class PasswordResetToken(SQLModel, table=True):
    __tablename__ = "password_reset_token"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user_account.id", index=True)
    token_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


# Not an argon2 hash, so no password ever verifies against it.
UNUSABLE_PASSWORD_HASH = "!unusable"  # noqa: S105 (a marker, not a secret)


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def normalise_email(value: str) -> str:
    try:
        return validate_email((value or "").strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as error:
        raise ValueError("Adresse e-mail invalide.") from error


def get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("Compte introuvable.")
    return user


def find_by_email(session: Session, email: str) -> User | None:
    return session.exec(select(User).where(User.email == email.strip().lower())).first()


def create_user(
    session: Session,
    *,
    email: str,
    role: str,
    password: str | None,
    name: str,
    actor: object,
    cpam_code: str | None = None,
) -> User:
    """A new account. Without a password it cannot sign in until its owner sets one through
    the reset link (no hash is computed: bulk imports stay fast)."""
    errors = ErrorCollector()
    try:
        email = normalise_email(email)
    except ValueError as error:
        errors.add("email", str(error))
    if role not in Role.__members__.values():
        errors.add("role", f"Rôle inconnu : « {role} ». Rôles : {', '.join(Role)}.")
    name = (name or "").strip()
    if not name:
        errors.add("name", "Le nom est obligatoire.")
    if cpam_code is not None and not re.fullmatch(r"\d{3}", cpam_code):
        errors.add("cpam_code", "Le code de la CPAM compte 3 chiffres (ex. 091).")
    if role in CPAM_ROLES and not cpam_code:
        errors.add("cpam_code", "Un compte d'enquêteur ou de gestionnaire CPAM a un code CPAM.")
    for problem in password_problems(password, email) if password is not None else []:
        errors.add("password", problem)
    errors.raise_if_any()
    if find_by_email(session, email):
        raise Conflict(f"Un compte existe déjà pour {email}.")
    password_hash = hash_password(password) if password is not None else UNUSABLE_PASSWORD_HASH
    user = User(
        email=email, name=name, role=role, password_hash=password_hash, cpam_code=cpam_code or None
    )
    session.add(user)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="user.created",
        target_type="user",
        target_id=user.id,
        details={"email": email, "role": role},
    )
    return user


def change_email(session: Session, user: User, email: str, *, actor: object) -> None:
    """The sign-in address; refused when another account uses it."""
    email = normalise_email(email)
    if email == user.email:
        return
    other = find_by_email(session, email)
    if other is not None:
        raise Conflict(f"Un autre compte utilise déjà l'adresse {email}.")
    audit.record(
        session,
        actor=actor,
        action="user.email_changed",
        target_type="user",
        target_id=user.id,
        details={"from": user.email, "to": email},
    )
    user.email = email
    session.add(user)


def change_role(session: Session, user: User, role: str, *, actor: object) -> None:
    if role not in Role.__members__.values():
        invalid("role", f"Rôle inconnu : « {role} ». Rôles : {', '.join(Role)}.")
    if role == user.role:
        return
    _refuse_removing_last_admin(session, user, actor)
    previous = user.role
    user.role = role
    user.session_nonce = secrets.token_hex(8)
    session.add(user)
    audit.record(
        session,
        actor=actor,
        action="user.role_changed",
        target_type="user",
        target_id=user.id,
        details={"from": previous, "to": role},
    )


def end_sessions(session: Session, user: User) -> None:
    """Every signed-in session of the account ends, a copy of its cookie included (sessions
    live in signed cookies: only a new nonce makes an old one useless)."""
    user.session_nonce = secrets.token_hex(8)
    session.add(user)


def set_active(session: Session, user: User, active: bool, *, actor: object) -> None:
    if user.active == active:
        return
    if not active:
        _refuse_removing_last_admin(session, user, actor)
    user.active = active
    user.session_nonce = secrets.token_hex(8)
    session.add(user)
    audit.record(
        session,
        actor=actor,
        action="user.reactivated" if active else "user.deactivated",
        target_type="user",
        target_id=user.id,
    )


def _refuse_removing_last_admin(session: Session, user: User, actor: object) -> None:
    if getattr(actor, "id", None) == user.id:
        raise PermissionDenied("Vous ne pouvez pas retirer vos propres droits ni vous désactiver.")
    if user.role == Role.ADMIN:
        admins = session.exec(
            select(func.count()).where(User.role == Role.ADMIN, User.active.is_(True))
        ).one()
        if admins <= 1:
            raise Conflict("Impossible : c'est le dernier compte administrateur actif.")


def set_password(session: Session, user: User, password: str, *, actor: object) -> None:
    errors = ErrorCollector()
    for problem in password_problems(password, user.email):
        errors.add("password", problem)
    errors.raise_if_any()
    user.password_hash = hash_password(password)
    user.session_nonce = secrets.token_hex(8)
    session.add(user)
    audit.record(
        session, actor=actor, action="user.password_changed", target_type="user", target_id=user.id
    )


@dataclass(frozen=True)
class ThrottlePolicy:
    max_failures: int = 5
    window: timedelta = timedelta(minutes=15)
    max_failures_per_ip: int = 30


class LoginThrottled(PermissionDenied):
    title = "Trop de tentatives"


class LoginRefused(PermissionDenied):
    title = "Identifiants incorrects"


def authenticate(
    session: Session, email: str, password: str, *, ip_address: str, policy: ThrottlePolicy
) -> User:
    """The user whose credentials these are; refuses, and records, every failed or throttled try."""
    email = (email or "").strip().lower()
    since = utcnow() - policy.window
    failures = _recent_failures(session, since, LoginAttempt.email == email)
    ip_failures = _recent_failures(session, since, LoginAttempt.ip_address == ip_address)
    if failures >= policy.max_failures or ip_failures >= policy.max_failures_per_ip:
        audit.record(session, actor=email, action="login.throttled", ip_address=ip_address)
        session.commit()
        minutes = int(policy.window.total_seconds() // 60)
        raise LoginThrottled(
            "Trop de tentatives de connexion échouées. "
            f"Réessayez dans {minutes} minutes ou réinitialisez votre mot de passe."
        )
    user = find_by_email(session, email)
    valid = verify_password(user.password_hash if user else DUMMY_HASH, password)
    if not (user and valid and user.active):
        session.add(LoginAttempt(email=email, ip_address=ip_address, succeeded=False))
        audit.record(
            session,
            actor=user or email,
            action="login.failed",
            target_type="user" if user else "",
            target_id=user.id if user else "",
            details={"reason": "inactive" if user and valid else "bad_credentials"},
            ip_address=ip_address,
        )
        session.commit()
        raise LoginRefused("Adresse e-mail ou mot de passe incorrect, ou compte désactivé.")
    session.add(LoginAttempt(email=email, ip_address=ip_address, succeeded=True))
    # A success clears the e-mail's failure count: only failures since the last success count.
    session.exec(
        sa.delete(LoginAttempt).where(
            LoginAttempt.email == email, LoginAttempt.succeeded.is_(False)
        )
    )
    user.last_login_at = utcnow()
    session.add(user)
    audit.record(
        session,
        actor=user,
        action="login.succeeded",
        target_type="user",
        target_id=user.id,
        ip_address=ip_address,
    )
    return user


def _recent_failures(session: Session, since: datetime, condition) -> int:
    return session.exec(
        select(func.count()).where(
            condition, LoginAttempt.succeeded.is_(False), LoginAttempt.at >= since
        )
    ).one()


MAX_RESETS_PER_HOUR = 3


def start_password_reset(
    session: Session, email: str, *, ip_address: str, lifetime: timedelta
) -> tuple[User, str] | None:
    """A one-time reset token for an active account, or None.

    The caller answers the same either way, so nobody can probe which e-mails have an account.
    """
    user = find_by_email(session, email)
    audit.record(
        session,
        actor=user or (email or "").strip().lower(),
        action="password.reset_requested",
        target_type="user" if user else "",
        target_id=user.id if user else "",
        ip_address=ip_address,
    )
    if user is None or not user.active:
        return None
    recent = session.exec(
        select(func.count()).where(
            PasswordResetToken.user_id == user.id,
            PasswordResetToken.created_at >= utcnow() - timedelta(hours=1),
        )
    ).one()
    if recent >= MAX_RESETS_PER_HOUR:
        # Nobody can flood a person's inbox through this form.
        return None
    token = secrets.token_urlsafe(32)
    session.add(
        PasswordResetToken(
            user_id=user.id, token_hash=sha256(token), expires_at=utcnow() + lifetime
        )
    )
    return user, token


def user_for_reset_token(session: Session, token: str) -> User:
    reset = session.exec(
        select(PasswordResetToken).where(PasswordResetToken.token_hash == sha256(token or ""))
    ).first()
    if reset is None or reset.used_at is not None or reset.expires_at < utcnow():
        raise NotFound("Ce lien de réinitialisation est invalide, déjà utilisé ou expiré.")
    user = get_user(session, reset.user_id)
    if not user.active:
        raise NotFound("Ce lien de réinitialisation est invalide, déjà utilisé ou expiré.")
    return user


def complete_password_reset(
    session: Session, token: str, password: str, *, ip_address: str
) -> User:
    user = user_for_reset_token(session, token)
    set_password(session, user, password, actor=user)
    # Every other link sent to this account dies with this one.
    session.exec(
        sa.update(PasswordResetToken)
        .where(PasswordResetToken.user_id == user.id, PasswordResetToken.used_at.is_(None))
        .values(used_at=utcnow())
    )
    session.exec(
        sa.delete(LoginAttempt).where(
            LoginAttempt.email == user.email, LoginAttempt.succeeded.is_(False)
        )
    )
    audit.record(
        session,
        actor=user,
        action="password.reset_completed",
        target_type="user",
        target_id=user.id,
        ip_address=ip_address,
    )
    return user


def list_users(
    session: Session, *, role: str = "", query: str = "", page: int = 1, per_page: int = 25
) -> tuple[list[User], int]:
    statement = select(User)
    if role:
        statement = statement.where(User.role == role)
    if query:
        pattern = f"%{query.lower()}%"
        statement = statement.where(
            sa.or_(func.lower(User.email).like(pattern), func.lower(User.name).like(pattern))
        )
    total = session.exec(select(func.count()).select_from(statement.subquery())).one()
    users = session.exec(
        statement.order_by(User.name, User.id).offset((page - 1) * per_page).limit(per_page)
    ).all()
    return list(users), total
