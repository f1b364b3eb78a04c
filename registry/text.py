"""Free text as it is stored: reasons and notes typed by people."""

from typing import Any

# PostgreSQL stores no NUL character in text (SQLite does): it is refused on the way in.
NUL = "\x00"


def one_line(text: str | None, limit: int = 500) -> str:
    """The text on one line, runs of spaces and line breaks collapsed, cut at `limit`."""
    return " ".join((text or "").split())[:limit]


def nul_paths(document: Any, path: str = "") -> list[str]:
    """The dotted paths (`address.street`, `windows[0].start`) of a JSON document's texts, keys
    included, that hold a NUL character."""
    if isinstance(document, str):
        return [path] if NUL in document else []
    if isinstance(document, list):
        return [
            found for i, item in enumerate(document) for found in nul_paths(item, f"{path}[{i}]")
        ]
    if not isinstance(document, dict):
        return []
    found = []
    for key, value in document.items():
        where = f"{path}.{key}" if path else key
        found += [where] if NUL in key else nul_paths(value, where)
    return found
