"""The URPS's CSV list: idempotent on RPPS, every bad row reported by line, good rows kept."""

import pytest
from sqlmodel import func, select

from registry.errors import ValidationFailed
from registry.geo.commune_geocoder import CommuneGeocoder
from registry.geo.communes import commune_directory
from registry.nurses.csv_import import COLUMNS, import_nurses
from registry.nurses.models import Nurse, NurseSkill, NurseStatus
from tests.nurse_data import am_number, rpps

HEADER = ";".join(COLUMNS)


def row(number: int, **changes) -> str:
    values = {
        "rpps": rpps(number),
        "am_number": am_number(number),
        "last_name": f"Nom{number}",
        "first_name": "Prénom",
        "phone": "06 12 34 56 78",
        "email": f"idel{number}@exemple.fr",
        "street": "1 place du Marché",
        "postal_code": "09000",
        "commune": "Foix",
        "radius_km": "12,5",
        "sector_communes": "09225",
        "mountain": "non",
        "skills": "tag, pcr",
        "languages": "fr",
        "max_visits_per_day": "6",
    }
    values.update(changes)
    return ";".join(values[column] for column in COLUMNS)


def run_import(db, text: str, *, validate=True, encoding="utf-8"):
    directory = commune_directory()
    report = import_nurses(
        db,
        text.encode(encoding),
        geocoder=CommuneGeocoder(directory),
        commune_exists=lambda code: directory.get(code) is not None,
        validate=validate,
        actor="test",
    )
    db.commit()
    return report


def nurses(db) -> int:
    return db.exec(select(func.count()).select_from(Nurse)).one()


def test_good_rows_are_kept_and_bad_rows_reported_with_their_line(db):
    text = "\n".join(
        [
            HEADER,
            row(801),
            row(802, rpps="12345"),
            row(803, postal_code="09990"),
            row(804, skills="tag chant"),
            row(805),
        ]
    )
    report = run_import(db, text)
    assert report.summary == {"created": 2, "updated": 0, "unchanged": 0, "refused": 3}
    refused = {r.line: " ".join(r.messages) for r in report.rows if r.outcome == "refused"}
    assert set(refused) == {3, 4, 5}
    assert "11 chiffres" in refused[3]
    assert "09990" in refused[4]
    assert "chant" in refused[5]
    assert nurses(db) == 2
    assert set(db.exec(select(Nurse.status))) == {NurseStatus.ACTIVE}


def test_importing_the_same_list_twice_changes_nothing_and_a_change_is_an_update(db):
    text = "\n".join([HEADER, row(811), row(812)])
    run_import(db, text)
    again = run_import(db, text)
    assert again.summary == {"created": 0, "updated": 0, "unchanged": 2, "refused": 0}
    changed = run_import(db, "\n".join([HEADER, row(811, skills="vaccination"), row(812)]))
    assert changed.summary["updated"] == 1
    nurse = db.exec(select(Nurse).where(Nurse.rpps == rpps(811))).one()
    assert list(db.exec(select(NurseSkill.skill).where(NurseSkill.nurse_id == nurse.id))) == [
        "vaccination"
    ]
    assert nurses(db) == 2


def test_a_refused_row_leaves_nothing_behind(db):
    # Valid identity, unknown sector commune: neither the nurse nor her account may remain.
    run_import(db, "\n".join([HEADER, row(821, sector_communes="09999")]))
    assert nurses(db) == 0
    from registry.accounts import User

    assert db.exec(select(User)).all() == []


def test_the_same_rpps_twice_in_a_file_is_refused_on_its_second_line(db):
    report = run_import(db, "\n".join([HEADER, row(831), row(831, email="autre@exemple.fr")]))
    assert [r.outcome for r in report.rows] == ["created", "refused"]
    assert "ligne 2" in report.rows[1].messages[0]


def test_a_spreadsheet_in_windows_encoding_with_french_headings_is_read(db):
    header = "RPPS,N° AM,Nom,Prénom,Téléphone,Mail,Adresse,Code postal,Commune,Rayon km"
    line = f"{rpps(841)},{am_number(841)},Bérénice,Hélène,0612345678,b@exemple.fr,,09000,Foix,10"
    report = run_import(db, header + "\n" + line, validate=False, encoding="cp1252")
    assert report.summary["created"] == 1, report.rows
    nurse = db.exec(select(Nurse)).one()
    assert nurse.last_name == "Bérénice"
    assert nurse.status == NurseStatus.PENDING


def test_a_file_without_the_required_columns_is_refused_whole(db):
    with pytest.raises(ValidationFailed) as refused:
        run_import(db, "nom;prenom\nMartin;Élodie")
    assert "Colonnes manquantes" in refused.value.errors[0].message
    assert nurses(db) == 0


def test_a_reimport_without_some_columns_leaves_those_fields_as_they_are(db):
    run_import(db, "\n".join([HEADER, row(861, skills="tag pcr", mountain="oui")]))
    short_header = "rpps;am_number;last_name;first_name;phone;email;postal_code;commune"
    short_row = f"{rpps(861)};{am_number(861)};Nom861;Prénom;0612345678;x@exemple.fr;09000;Foix"
    report = run_import(db, short_header + "\n" + short_row)
    assert report.rows[0].outcome == "unchanged", report.rows
    nurse = db.exec(select(Nurse).where(Nurse.rpps == rpps(861))).one()
    assert nurse.mountain is True
    assert set(db.exec(select(NurseSkill.skill).where(NurseSkill.nurse_id == nurse.id))) == {
        "tag",
        "pcr",
    }


def test_a_new_nurse_without_sector_gets_the_default_radius_and_is_told(db):
    short_header = "rpps;am_number;last_name;first_name;phone;email;postal_code;commune"
    line = f"{rpps(862)};{am_number(862)};Nom;Prénom;0612345678;n862@exemple.fr;09000;Foix"
    report = run_import(db, short_header + "\n" + line)
    assert report.rows[0].outcome == "created"
    assert "rayon par défaut" in report.rows[0].messages[0]
    assert db.exec(select(Nurse)).one().sector_radius_km == 15


def test_imported_accounts_cannot_sign_in_until_a_password_is_chosen(db):
    from registry.accounts import UNUSABLE_PASSWORD_HASH, User

    run_import(db, "\n".join([HEADER, row(863)]))
    assert db.exec(select(User)).one().password_hash == UNUSABLE_PASSWORD_HASH


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"PK\x03\x04\x81\x8d\x8f binary spreadsheet", "pas un CSV lisible"),
        (b"nom;prenom\nMartin;Elodie", "Colonnes manquantes"),
    ],
)
def test_an_unreadable_file_is_refused_whole_with_a_reason(db, content, words):
    directory = commune_directory()
    with pytest.raises(ValidationFailed) as refused:
        import_nurses(
            db,
            content,
            geocoder=CommuneGeocoder(directory),
            commune_exists=lambda code: directory.get(code) is not None,
            validate=True,
            actor="test",
        )
    assert words in refused.value.errors[0].message


def test_odd_rows_are_refused_with_their_line_not_a_crash(db):
    text = "\n".join(
        [
            HEADER,
            row(871, max_visits_per_day="inf"),
            row(872, radius_km="nan"),
            row(873) + ";en trop",
            row(874, max_visits_per_day="2.5"),
            row(875),
        ]
    )
    report = run_import(db, text)
    assert [r.outcome for r in report.rows] == ["refused"] * 4 + ["created"]
    assert "Trop de colonnes" in report.rows[2].messages[0]
    assert "visites par jour" in report.rows[0].messages[0]


def test_validating_on_import_also_activates_a_pending_nurse_already_listed(db):
    run_import(db, "\n".join([HEADER, row(881)]), validate=False)
    report = run_import(db, "\n".join([HEADER, row(881)]), validate=True)
    assert report.rows[0].outcome == "updated"
    assert db.exec(select(Nurse.status)).one() == NurseStatus.ACTIVE


def test_refused_rows_carry_french_field_names_and_suggestions(db):
    report = run_import(db, "\n".join([HEADER, row(891, commune="Foixe")]))
    message = report.rows[0].messages[0]
    assert message.startswith("commune :")
    assert "Suggestions : 09000 Foix" in message
