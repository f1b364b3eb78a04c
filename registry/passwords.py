"""Password hashing (argon2id) and the rules a new password must meet."""

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()

MIN_LENGTH = 12
COMMON_PASSWORDS = {
    "motdepasse123",
    "password1234",
    "azertyuiop12",
    "123456789012",
    "qwertyuiop12",
    "infirmiere123",
    "covid19covid19",
}


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


# Verifying against this keeps an unknown e-mail as slow as a wrong password (no user enumeration).
DUMMY_HASH = _hasher.hash("an unused password for constant-time refusals")


def password_problems(password: str, email: str = "") -> list[str]:
    """Reasons the password is refused, in French; empty when it is acceptable."""
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(f"Le mot de passe doit comporter au moins {MIN_LENGTH} caractères.")
    if len(password) > 256:
        problems.append("Le mot de passe ne doit pas dépasser 256 caractères.")
    lowered = password.lower()
    if lowered in COMMON_PASSWORDS or len(set(password)) < 4:
        problems.append("Ce mot de passe est trop courant ou trop simple.")
    local_part = email.split("@")[0].lower()
    if local_part and len(local_part) >= 4 and local_part in lowered:
        problems.append("Le mot de passe ne doit pas contenir votre adresse e-mail.")
    return problems
