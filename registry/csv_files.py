"""Reading the CSV files people export from spreadsheets: encoding and delimiter guessed, headings
normalised (accents, case, French aliases), blank rows skipped, every row with its line number."""

import csv
import io
import re
import unicodedata
from collections.abc import Iterable, Mapping

from registry.errors import FieldError, invalid

# How spreadsheets say yes and no.
TRUE_WORDS = {"1", "oui", "o", "true", "vrai", "yes", "x"}
FALSE_WORDS = {"", "0", "non", "n", "false", "faux", "no"}


def read_csv(
    content: bytes,
    *,
    columns: Iterable[str],
    required: Iterable[str],
    aliases: Mapping[str, str],
    max_rows: int,
) -> tuple[set[str], list[tuple[int, dict[str, str]]]]:
    """The file's headings and its non-blank rows with their line numbers. A file that cannot be
    read as CSV, lacks a required column or is too long is refused whole (field `file`).

    A row with more non-empty cells than headings keeps the extra cells under the key None."""
    text = decode_text(content)
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter_of(text))
    try:
        headings = [heading(name, aliases) for name in (reader.fieldnames or [])]
    except csv.Error as error:
        invalid("file", f"Ligne d'en-tête illisible : {error}.")
    missing = [name for name in required if name not in headings]
    if missing:
        expected = ", ".join(columns)
        invalid(
            "file", f"Colonnes manquantes : {', '.join(missing)}. Colonnes attendues : {expected}."
        )
    reader.fieldnames = headings
    rows = []
    try:
        for row in reader:
            # Spreadsheets often leave empty cells after the last column: they are no extra data.
            if None in row and not any(cell.strip() for cell in row[None]):
                del row[None]
            if any(isinstance(v, str) and v.strip() for v in row.values()) or None in row:
                rows.append((reader.line_num, row))
            if len(rows) > max_rows:
                invalid("file", f"Le fichier dépasse {max_rows} lignes : découpez-le.")
    except csv.Error as error:
        invalid("file", f"Ligne {reader.line_num} illisible : {error}.")
    return set(headings), rows


def delimiter_of(text: str) -> str:
    """`;` or `,`: whichever the first line uses more (French spreadsheets write `;`)."""
    first_line = text.split("\n", 1)[0]
    return ";" if first_line.count(";") >= first_line.count(",") else ","


def heading(name: str, aliases: Mapping[str, str]) -> str:
    """A column heading as a plain key: "Code postal" and "code_postal" read the same."""
    plain = unicodedata.normalize("NFKD", name or "").encode("ascii", "ignore").decode()
    key = re.sub(r"[^a-z0-9]+", "_", plain.strip().lower()).strip("_")
    return aliases.get(key, key)


def row_message(error: FieldError, field_names: Mapping[str, str]) -> str:
    """A refused field as a report line: the field's French name, the reason, the suggestions."""
    path = error.field.split("[")[0]
    message = f"{field_names.get(path, path)} : {error.message}"
    if error.suggestions:
        message += " Suggestions : " + ", ".join(error.suggestions) + "."
    return message


def words(text: str) -> list[str]:
    """A list cell: items separated by spaces, commas, | or /."""
    return [word for word in re.split(r"[\s,|/]+", text) if word]


def decode_text(content: bytes) -> str:
    """The file's text; a NUL character is in no text file (but UTF-16's), nor in a database."""
    unreadable = "Ce fichier n'est pas un CSV lisible (texte UTF-8 ou Windows-1252)."
    if b"\x00" in content:
        invalid("file", unreadable)
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        # Spreadsheets saved "CSV (séparateur : point-virgule)" on Windows are in cp1252.
        return content.decode("cp1252")
    except UnicodeDecodeError:
        invalid("file", unreadable)
