"""Page numbers for long lists."""

from dataclasses import dataclass

from flask import request


def requested_page() -> int:
    page = request.args.get("page", "1")
    return max(int(page), 1) if page.isdigit() else 1


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
