"""The names of the 101 departments (data/departments.csv), for the pages and reports that name
a department rather than its code."""

import csv
from functools import cache
from pathlib import Path

DATA_FILE = Path(__file__).resolve().parent / "data" / "departments.csv"


@cache
def department_names() -> dict[str, str]:
    """{code: name}, in the order of the codes (01…95, 2A and 2B after 19, then 971…976)."""
    with DATA_FILE.open(encoding="utf-8", newline="") as text:
        return {row["code"]: row["name"] for row in csv.DictReader(text)}


def department_label(code: str) -> str:
    """« Ariège (09) »; the code alone when it is unknown."""
    name = department_names().get(code)
    return f"{name} ({code})" if name else code
