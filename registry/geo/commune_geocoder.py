"""The offline geocoder: an address resolves to its commune's point, found by INSEE code or by
postal code and commune name; the street is not used."""

from difflib import SequenceMatcher

from registry.geo import Commune, GeocodeQuery, GeocodeResult, GeocodingFailed, Suggestion
from registry.geo.communes import (
    CommuneDirectory,
    by_population,
    normalise_name,
    without_article,
)

MAX_SUGGESTIONS = 10
MAX_ELSEWHERE = 5  # communes of the typed name in other postal codes, among the suggestions


class CommuneGeocoder:
    provider = "commune"

    def __init__(self, directory: CommuneDirectory) -> None:
        self._directory = directory

    def geocode(self, query: GeocodeQuery) -> GeocodeResult:
        if query.insee.strip():
            return self._by_insee(query)
        postal_code = "".join(query.postal_code.split())
        if not postal_code:
            raise GeocodingFailed(
                "postal_code",
                "Indiquez le code postal de la commune.",
                self._named_anywhere(query.commune),
            )
        if len(postal_code) != 5 or not postal_code.isascii() or not postal_code.isdigit():
            raise GeocodingFailed(
                "postal_code",
                f"Le code postal « {postal_code} » doit comporter 5 chiffres.",
                self._named_anywhere(query.commune),
            )
        communes = self._directory.by_postal_code(postal_code)
        if not communes:
            raise GeocodingFailed(
                "postal_code",
                f"Code postal {postal_code} inconnu.",
                self._named_anywhere(query.commune),
            )
        return _result(self._pick(postal_code, communes, query.commune), postal_code)

    def _by_insee(self, query: GeocodeQuery) -> GeocodeResult:
        insee = query.insee.strip().upper()
        commune = self._directory.get(insee)
        if commune is None:
            raise GeocodingFailed(
                "insee", f"Code INSEE {insee} inconnu.", self._named_anywhere(query.commune)
            )
        postal_code = "".join(query.postal_code.split())
        if postal_code not in commune.postal_codes:
            postal_code = commune.postal_codes[0] if commune.postal_codes else ""
        return _result(commune, postal_code)

    def _pick(self, postal_code: str, communes: list[Commune], name: str) -> Commune:
        """The one commune of the postal code that the name designates."""
        name = " ".join(name.split())
        if not normalise_name(name):
            if len(communes) == 1:
                return communes[0]
            raise GeocodingFailed(
                "commune",
                f"Plusieurs communes ont le code postal {postal_code} : précisez laquelle.",
                _suggestions(sorted(communes, key=by_population), postal_code),
            )
        matching = [c for c in communes if self._directory.name_matches(c, name)]
        if len(matching) == 1:
            return matching[0]
        if matching:
            raise GeocodingFailed(
                "commune",
                f"Plusieurs communes « {name} » ont le code postal {postal_code} : "
                "précisez laquelle.",
                _suggestions(sorted(matching, key=by_population), postal_code),
            )
        raise GeocodingFailed(
            "commune",
            f"Aucune commune « {name} » pour le code postal {postal_code}.",
            self._closest(postal_code, communes, name),
        )

    def _closest(self, postal_code: str, communes: list[Commune], name: str) -> list[Suggestion]:
        """The communes of the typed name elsewhere (a wrong postal code is the likelier slip),
        nearest department first, then the postal code's communes by likeness of name."""
        department = communes[0].department
        elsewhere = [
            commune
            for commune in self._directory.named(name)
            if commune.postal_codes and commune not in communes
        ]
        elsewhere.sort(key=lambda commune: commune.department != department)  # stable: populous
        typed = normalise_name(name)
        alike = sorted(
            communes, key=lambda commune: (-_likeness(typed, commune.name), by_population(commune))
        )
        return (_suggestions(elsewhere[:MAX_ELSEWHERE], None) + _suggestions(alike, postal_code))[
            :MAX_SUGGESTIONS
        ]

    def _named_anywhere(self, name: str) -> list[Suggestion]:
        """Communes the typed name designates, else those it starts or is part of."""
        if not normalise_name(name):
            return []
        found = self._directory.named(name) or self._directory.search(name, MAX_SUGGESTIONS)
        return _suggestions([c for c in found if c.postal_codes], None)[:MAX_SUGGESTIONS]


def _likeness(typed: str, name: str) -> float:
    normalised = normalise_name(name)
    return max(
        SequenceMatcher(None, typed, form).ratio()
        for form in {normalised, without_article(normalised)}
    )


def _suggestions(communes: list[Commune], postal_code: str | None) -> list[Suggestion]:
    """One suggestion per commune, with the given postal code or the commune's first."""
    return [
        Suggestion(
            insee=commune.insee,
            name=commune.name,
            postal_code=postal_code or (commune.postal_codes[0] if commune.postal_codes else ""),
        )
        for commune in communes
    ]


def _result(commune: Commune, postal_code: str) -> GeocodeResult:
    return GeocodeResult(
        latitude=commune.latitude,
        longitude=commune.longitude,
        insee=commune.insee,
        commune=commune.name,
        postal_code=postal_code,
        department=commune.department,
        overseas=commune.overseas,
        timezone=commune.timezone,
        precision="commune",
        label=f"{postal_code} {commune.name}".strip(),
        provider=CommuneGeocoder.provider,
    )
