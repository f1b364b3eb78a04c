"""Page numbers for long lists."""

from dataclasses import dataclass

from flask import request

MAX_PAGE = 1_000_000


def _bounded(name: str, default: int, maximum: int) -> int:
    value = request.args.get(name, "")
    # isdecimal, not isdigit: "²" is a digit that int() refuses.
    if not value.isdecimal() or len(value) > 9:
        return default
    return min(max(int(value), 1), maximum)


def requested_page() -> int:
    return _bounded("page", 1, MAX_PAGE)


def requested_per_page(default: int = 50, maximum: int = 200) -> int:
    return _bounded("per_page", default, maximum)


@dataclass(frozen=True)
class Page:
    number: int
    per_page: int
    total: int

    @property
    def count(self) -> int:
        return max((self.total + self.per_page - 1) // self.per_page, 1)

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.count
