"""Domain errors raised by services; the web layer turns them into pages or problem+json."""

from dataclasses import dataclass, field
from typing import NoReturn


class DomainError(Exception):
    """A rule refused the operation; nothing was stored."""

    status = 400
    title = "Requête refusée"

    def __init__(self, detail: str, **extra):
        super().__init__(detail)
        self.detail = detail
        # Members added to the problem document (e.g. the id of the existing request).
        self.extra = extra


@dataclass
class FieldError:
    field: str
    message: str
    suggestions: list[str] = field(default_factory=list)


class ValidationFailed(DomainError):
    status = 422
    title = "Données invalides"

    def __init__(self, errors: list[FieldError], detail: str = "Certaines données sont invalides."):
        super().__init__(detail)
        self.errors = errors


class NotFound(DomainError):
    status = 404
    title = "Introuvable"


class Conflict(DomainError):
    status = 409
    title = "Conflit"


class PermissionDenied(DomainError):
    status = 403
    title = "Accès refusé"


@dataclass
class ErrorCollector:
    """Gathers every invalid field of an input before refusing it, so the user fixes all at once."""

    errors: list[FieldError] = field(default_factory=list)

    def add(self, field_name: str, message: str, suggestions: list[str] | None = None) -> None:
        self.errors.append(FieldError(field_name, message, suggestions or []))

    def raise_if_any(self) -> None:
        if self.errors:
            raise ValidationFailed(self.errors)


def invalid(field_name: str, message: str) -> NoReturn:
    """Refuses one invalid field."""
    raise ValidationFailed([FieldError(field_name, message)])
