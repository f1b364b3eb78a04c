"""The directory of French communes shipped with the project (data/communes.csv.gz): lookup by
INSEE code, postal code and name, and autocomplete."""

import bisect
import csv
import gzip
import heapq
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Iterator
from functools import cache
from pathlib import Path

from registry.geo import Commune

DATA_FILE = Path(__file__).resolve().parent / "data" / "communes.csv.gz"
# The arrondissements own the postal codes of Paris, Lyon and Marseille; their city does not.
ARRONDISSEMENT_CITIES = (
    (range(75101, 75121), "75056"),
    (range(69381, 69390), "69123"),
    (range(13201, 13217), "13055"),
)
ARTICLES = ("le", "la", "les", "l", "aux", "las", "los")
ABBREVIATIONS = {"st": "saint", "ste": "sainte", "sts": "saints", "stes": "saintes"}
_LIGATURES = str.maketrans({"œ": "oe", "æ": "ae"})  # not decomposed by Unicode normalisation
_NOT_ALPHANUMERIC = re.compile(r"[^0-9a-z]+")
_POSTAL_PREFIX = re.compile(r"(\d{1,5})(?:\s+|$)(.*)", re.DOTALL)
# Search ranks: lower is better.
EXACT, PREFIX, WORDS, CONTAINS = range(4)


def normalise_name(text: str) -> str:
    """'La Bastide-de-Sérou' -> 'la bastide de serou': no accent, lower case, hyphens and
    apostrophes as spaces; 'St'/'Ste' are read as 'saint'/'sainte'."""
    decomposed = unicodedata.normalize("NFKD", text.casefold().translate(_LIGATURES))
    plain = "".join(char for char in decomposed if not unicodedata.combining(char))
    words = _NOT_ALPHANUMERIC.split(plain)
    return " ".join(ABBREVIATIONS.get(word, word) for word in words if word)


def without_article(normalised: str) -> str:
    """'la bastide de serou' -> 'bastide de serou', so that the article may be left out."""
    article, _space, rest = normalised.partition(" ")
    return rest if article in ARTICLES and rest else normalised


def name_forms(text: str) -> frozenset[str]:
    """The normalised name with and without its article."""
    normalised = normalise_name(text)
    return frozenset({normalised, without_article(normalised)}) - {""}


def arrondissement_city(insee: str) -> str | None:
    """The INSEE code of the city an arrondissement belongs to (75111 -> 75056), else None."""
    if not insee.isdigit():
        return None
    for arrondissements, city in ARRONDISSEMENT_CITIES:
        if int(insee) in arrondissements:
            return city
    return None


def load_communes(path: Path = DATA_FILE) -> list[Commune]:
    with gzip.open(path, "rt", encoding="utf-8", newline="") as text:
        return [
            Commune(
                insee=row["insee"],
                name=row["name"],
                postal_codes=tuple(row["postal_codes"].split()),
                latitude=float(row["latitude"]),
                longitude=float(row["longitude"]),
                population=int(row["population"]),
                department=row["department"],
                overseas=row["overseas"] == "1",
                timezone=row["timezone"],
            )
            for row in csv.DictReader(text)
        ]


class CommuneDirectory:
    """Every commune, indexed by INSEE code, postal code and name."""

    def __init__(self, communes: Iterable[Commune]) -> None:
        self._communes = sorted(communes, key=lambda commune: commune.insee)
        self._by_insee = {commune.insee: commune for commune in self._communes}
        self._by_postal_code: dict[str, list[Commune]] = defaultdict(list)
        self._by_department: dict[str, list[Commune]] = defaultdict(list)
        for commune in self._communes:
            self._by_department[commune.department].append(commune)
            for code in commune.postal_codes:
                self._by_postal_code[code].append(commune)
        self._postal_codes = sorted(self._by_postal_code)
        self._forms = {commune.insee: name_forms(commune.name) for commune in self._communes}
        self._full = [normalise_name(commune.name) for commune in self._communes]
        self._form_index = sorted(
            (form, insee) for insee, forms in self._forms.items() for form in forms
        )
        # Forms a query may use: the name, or the city's name for an arrondissement.
        self._accepted = dict(self._forms)
        self._by_form: dict[str, list[Commune]] = defaultdict(list)
        for commune in self._communes:
            city = self._by_insee.get(arrondissement_city(commune.insee) or "")
            if city is not None:
                self._accepted[commune.insee] |= self._forms[city.insee]
            for form in self._accepted[commune.insee]:
                self._by_form[form].append(commune)

    def __len__(self) -> int:
        return len(self._communes)

    def __iter__(self) -> Iterator[Commune]:
        return iter(self._communes)

    def get(self, insee: str) -> Commune | None:
        return self._by_insee.get(insee)

    def by_postal_code(self, code: str) -> list[Commune]:
        return list(self._by_postal_code.get(code, ()))

    def in_department(self, department: str) -> list[Commune]:
        return list(self._by_department.get(department, ()))

    def departments(self) -> list[str]:
        return sorted(self._by_department)

    def name_matches(self, commune: Commune, text: str) -> bool:
        """Whether `text` names the commune (accents, case, article, and for an arrondissement
        its city's name, all optional)."""
        return not name_forms(text).isdisjoint(self._accepted[commune.insee])

    def named(self, text: str) -> list[Commune]:
        """Every commune `text` names, anywhere in France, most populous first."""
        found = {
            commune.insee: commune for form in name_forms(text) for commune in self._by_form[form]
        }
        return sorted(found.values(), key=by_population)

    def search(self, text: str, limit: int = 10) -> list[Commune]:
        """Autocomplete by name (whole, start, words or part), postal code (or its start) or both
        ('09000 foix'): exact matches first, then prefixes, then the rest; populous first."""
        postal_prefix, name = _split_query(text)
        query = normalise_name(name)
        if limit <= 0 or not (postal_prefix or query):
            return []
        queries = {query, without_article(query)} - {""}
        if postal_prefix:
            candidates = self._with_postal_prefix(postal_prefix)
        else:
            # Names starting with the query come from the sorted index; scanning all 35 000 names
            # for words and parts is only needed when those are too few to fill the list.
            candidates = self._starting_with(queries)
            if len(candidates) < limit:
                longest = max(query.split(), key=len)
                candidates = [
                    c for c, full in zip(self._communes, self._full, strict=True) if longest in full
                ]
        ranked = []
        for commune in candidates:
            if query:
                rank = _name_rank(self._forms[commune.insee], queries, query.split())
            else:
                rank = EXACT if postal_prefix in commune.postal_codes else PREFIX
            if rank is not None:
                ranked.append((rank, -commune.population, commune.name, commune.insee, commune))
        return [entry[-1] for entry in heapq.nsmallest(limit, ranked)]

    def _starting_with(self, queries: set[str]) -> list[Commune]:
        found: dict[str, Commune] = {}
        for query in queries:
            start = bisect.bisect_left(self._form_index, (query, ""))
            for form, insee in self._form_index[start:]:
                if not form.startswith(query):
                    break
                found[insee] = self._by_insee[insee]
        return list(found.values())

    def _with_postal_prefix(self, prefix: str) -> list[Commune]:
        start = bisect.bisect_left(self._postal_codes, prefix)
        found: dict[str, Commune] = {}
        for code in self._postal_codes[start:]:
            if not code.startswith(prefix):
                break
            found.update((commune.insee, commune) for commune in self._by_postal_code[code])
        return list(found.values())


def _name_rank(forms: frozenset[str], queries: set[str], words: list[str]) -> int | None:
    full = max(forms, key=len)  # the form with the article
    if not queries.isdisjoint(forms):
        return EXACT
    if any(form.startswith(query) for form in forms for query in queries):
        return PREFIX
    name_words = full.split()
    if all(any(name_word.startswith(word) for name_word in name_words) for word in words):
        return WORDS
    if any(query in full for query in queries):
        return CONTAINS
    return None


def _split_query(text: str) -> tuple[str, str]:
    """'09000 foix' -> ('09000', 'foix'); 'foix' -> ('', 'foix')."""
    text = text.strip()
    match = _POSTAL_PREFIX.fullmatch(text)
    return (match[1], match[2]) if match else ("", text)


def by_population(commune: Commune) -> tuple[int, str]:
    """Sort key: the most populous first, then by INSEE code."""
    return -commune.population, commune.insee


@cache
def commune_directory() -> CommuneDirectory:
    """The shipped directory, parsed once per process."""
    return CommuneDirectory(load_communes())
