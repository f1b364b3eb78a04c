"""Free text as it is stored: reasons and notes typed by people."""

from collections.abc import Iterator
from typing import Any

# PostgreSQL stores no NUL character in text (SQLite does): it is refused on the way in.
NUL = "\x00"


def one_line(text: str | None, limit: int = 500) -> str:
    """The text on one line, runs of spaces and line breaks collapsed, cut at `limit`."""
    return " ".join((text or "").split())[:limit]


def leaves(document: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """Every (dotted path, value) of a JSON document that is neither a list nor an object:
    `address.street`, `windows[0].start`. A key comes too, as a value of its own path, so that
    its text is looked at as well."""
    if isinstance(document, list):
        for index, item in enumerate(document):
            yield from leaves(item, f"{path}[{index}]")
    elif isinstance(document, dict):
        for key, value in document.items():
            where = f"{path}.{key}" if path else key
            yield where, key
            yield from leaves(value, where)
    else:
        yield path, document
