"""Free text as it is stored: reasons and notes typed by people."""


def one_line(text: str | None, limit: int = 500) -> str:
    """The text on one line, runs of spaces and line breaks collapsed, cut at `limit`."""
    return " ".join((text or "").split())[:limit]
