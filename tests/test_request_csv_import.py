"""The tracing agent's CSV extract: every row booked with the API's rules, reported by line;
refused and duplicate rows leave nothing behind."""

import io
from datetime import UTC, date, datetime

import pytest
from sqlmodel import func, select

from registry.accounts import Role
from registry.audit import AuditEntry
from registry.errors import ValidationFailed
from registry.geo.commune_geocoder import CommuneGeocoder
from registry.geo.communes import commune_directory
from registry.requests.csv_import import COLUMNS, import_requests
from registry.requests.models import RequestEvent, VisitRequest
from registry.requests.services import BookingRules, book_request
from tests.conftest import csrf_token
from tests.request_data import nir, request_document

HEADER = ";".join(COLUMNS)
NOW = datetime(2021, 2, 1, 12, 0, tzinfo=UTC)


def row(**changes) -> str:
    values = {
        "nir": nir(),
        "last_name": "Dupont",
        "first_name": "Jeanne",
        "birth_date": "1985-05-12",
        "phone": "06 98 76 54 32",
        "street": "4 rue de la Préfecture",
        "postal_code": "09000",
        "commune": "Foix",
        "languages": "fr",
        "household_size": "3",
        "tag_count": "2",
        "pcr_count": "",
        "consent_at": "",
        "preferred_times": "",
        "usual_nurse_rpps": "",
        "priority": "",
        "vulnerable": "",
        "language_barrier": "",
        "notes": "",
        "external_ref": "",
    }
    values.update(changes)
    return ";".join(values[column] for column in COLUMNS)


@pytest.fixture
def agent(make_user):
    return make_user(Role.AGENT)


@pytest.fixture
def run_import(db, agent):
    def _run(text: str, *, encoding="utf-8"):
        report = import_requests(
            db,
            text.encode(encoding),
            client=agent,
            geocoder=CommuneGeocoder(commune_directory()),
            rules=BookingRules(),
            now=NOW,
        )
        db.commit()
        return report

    return _run


def stored(db) -> int:
    return db.exec(select(func.count()).select_from(VisitRequest)).one()


def test_good_rows_are_booked_with_every_column_converted(db, agent, run_import):
    patient = nir()
    line = row(
        nir=patient,
        languages="fr, ar",
        pcr_count="1",
        consent_at="2021-02-01T09:30:00+01:00",
        preferred_times="matin|soir",
        usual_nurse_rpps="10003456786",
        priority="haute",
        vulnerable="oui",
        language_barrier="x",
        notes="Sonner deux fois",
        external_ref="SI-42",
    )
    report = run_import("\n".join([HEADER, line]))
    assert report.summary == {"created": 1, "duplicate": 0, "refused": 0}, report.rows
    visit = db.exec(select(VisitRequest)).one()
    assert (report.rows[0].line, report.rows[0].request_id) == (2, visit.id)
    assert report.rows[0].name == "Dupont Jeanne"
    assert (visit.nir, visit.birth_date, visit.phone) == (
        patient,
        date(1985, 5, 12),
        "+33698765432",
    )
    assert (visit.address_commune, visit.insee, visit.cpam_code) == ("Foix", "09122", "091")
    assert visit.agent_id == agent.id
    assert visit.languages == ["fr", "ar"]
    assert visit.household_size == 3
    assert visit.household_tests == [{"kind": "pcr", "count": 1}, {"kind": "tag", "count": 2}]
    assert visit.consent_at == datetime(2021, 2, 1, 8, 30, tzinfo=UTC)
    assert visit.preferred_times == ["morning", "evening"]
    assert (visit.usual_nurse_rpps, visit.priority) == ("10003456786", "high")
    assert visit.vulnerable and visit.language_barrier
    assert (visit.notes, visit.external_ref) == ("Sonner deux fois", "SI-42")


def test_empty_optional_cells_take_the_api_defaults(db, run_import):
    short = "nir;last_name;first_name;birth_date;phone;postal_code;commune"
    report = run_import(f"{short}\n{nir()};Martin;Paul;1970-01-02;0611223344;09000;Foix")
    assert report.rows[0].outcome == "created", report.rows
    visit = db.exec(select(VisitRequest)).one()
    assert visit.consent_at == NOW
    assert (visit.languages, visit.household_size, visit.household_tests) == (["fr"], 1, [])
    assert (visit.priority, visit.vulnerable) == ("normal", False)


def test_bad_rows_are_refused_with_their_line_and_french_messages(db, run_import):
    text = "\n".join(
        [
            HEADER,
            row(nir="185050912345"),
            row(tag_count="abc", phone="12"),
            row(commune="Foixe"),
            row() + ";en trop",
            row(birth_date="31/02/1985", preferred_times="nuit", vulnerable="peut-être"),
            row(household_size="1", tag_count="2"),
            row(household_size="trois", tag_count="2"),
            row(),
        ]
    )
    report = run_import(text)
    assert [r.outcome for r in report.rows] == ["refused"] * 7 + ["created"]
    refused = {r.line: " | ".join(r.messages) for r in report.rows if r.outcome == "refused"}
    assert set(refused) == {2, 3, 4, 5, 6, 7, 8}
    assert refused[2].startswith("NIR : Le NIR doit comporter 15 caractères")
    assert (
        "tests antigéniques : « abc » n'est pas un nombre entier (colonne tag_count)" in refused[3]
    )
    assert "téléphone :" in refused[3]
    assert refused[4].startswith("commune :")
    assert "Suggestions : 09000 Foix" in refused[4]
    assert refused[5] == "Trop de colonnes."
    assert "date de naissance : « 31/02/1985 » n'est pas une date" in refused[6]
    assert "moments préférés : « nuit »" in refused[6]
    assert "personne vulnérable : « peut-être » : indiquez oui ou non" in refused[6]
    assert refused[7].startswith("tests du foyer : Plus de personnes à tester")
    assert refused[8] == (
        "personnes au foyer : « trois » n'est pas un nombre entier (colonne household_size)."
    )
    assert all(r.request_id is None for r in report.rows if r.outcome == "refused")
    assert stored(db) == 1
    assert db.exec(select(func.count()).select_from(RequestEvent)).one() == 1


def test_a_patient_twice_in_a_file_is_a_duplicate_of_the_first_row(db, run_import):
    patient = nir()
    report = run_import("\n".join([HEADER, row(nir=patient), row(nir=patient, first_name="Jo")]))
    first, second = report.rows
    assert (first.outcome, second.outcome) == ("created", "duplicate")
    assert second.request_id == first.request_id
    assert "déjà en cours pour ce patient" in second.messages[0]
    assert stored(db) == 1


def test_a_patient_with_an_open_request_or_a_used_reference_is_a_duplicate(db, agent, run_import):
    patient = nir()
    existing, _ = book_request(
        db,
        request_document(nir=patient, external_ref="SI-7"),
        client=agent,
        geocoder=CommuneGeocoder(commune_directory()),
        rules=BookingRules(),
    )
    db.commit()
    report = run_import("\n".join([HEADER, row(nir=patient), row(external_ref="SI-7")]))
    assert [(r.outcome, r.request_id) for r in report.rows] == [
        ("duplicate", existing.id),
        ("duplicate", existing.id),
    ]
    assert "SI-7 est déjà utilisée" in report.rows[1].messages[0]
    assert stored(db) == 1


def test_a_duplicate_of_another_cpams_request_is_named_but_not_linked(db, make_user, run_import):
    patient = nir()
    book_request(
        db,
        request_document(nir=patient),
        client=make_user(Role.AGENT, cpam_code="751"),
        geocoder=CommuneGeocoder(commune_directory()),
        rules=BookingRules(),
    )
    db.commit()
    report = run_import("\n".join([HEADER, row(nir=patient)]))
    assert (report.rows[0].outcome, report.rows[0].request_id) == ("duplicate", None)
    assert "CPAM 751" in report.rows[0].messages[0]


def test_a_windows_spreadsheet_with_french_headings_and_dates_is_read(db, run_import):
    header = (
        "NIR;Nom;Prénom;Date de naissance;Téléphone;Adresse;Code postal;Commune;Langues;"
        "Personnes foyer;Tests TAG;Tests PCR;Consentement;Moments préférés;Priorité;"
        "Barrière langue;Remarques;Référence"
    )
    line = (
        f"{nir()};Bérénice;Hélène;12/05/1985;06 12 34 56 78;2 allée des Chênes;9000;Foix;fr en;"
        "4;1;2;01/02/2021 09:30;Après-midi, soir;Prioritaire;oui;Chien méfiant;CPAM-é1"
    )
    report = run_import(header + "\r\n" + line + "\r\n", encoding="cp1252")
    assert report.rows[0].outcome == "created", report.rows
    visit = db.exec(select(VisitRequest)).one()
    assert (visit.last_name, visit.first_name) == ("Bérénice", "Hélène")
    assert visit.birth_date == date(1985, 5, 12)
    assert visit.address_postal_code == "09000"
    assert visit.consent_at == datetime(2021, 2, 1, 8, 30, tzinfo=UTC)  # 09:30 in Paris
    assert visit.household_tests == [{"kind": "pcr", "count": 2}, {"kind": "tag", "count": 1}]
    assert visit.preferred_times == ["afternoon", "evening"]
    assert (visit.priority, visit.language_barrier) == ("high", True)
    assert (visit.notes, visit.external_ref) == ("Chien méfiant", "CPAM-é1")


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"nom;prenom\nMartin;Elodie", "Colonnes manquantes : nir, birth_date, phone"),
        (b"PK\x03\x04\x81\x8d\x8f binary spreadsheet", "pas un CSV lisible"),
        (b"", "Colonnes manquantes"),
    ],
)
def test_an_unreadable_file_is_refused_whole(db, run_import, content, words):
    with pytest.raises(ValidationFailed) as refused:
        run_import(content.decode("latin-1"), encoding="latin-1")
    assert refused.value.errors[0].field == "file"
    assert words in refused.value.errors[0].message
    db.rollback()
    assert stored(db) == 0


def test_uploading_the_same_file_again_creates_nothing_new(db, run_import):
    text = "\n".join([HEADER, row(external_ref="A-1"), row(), row(nir="123")])
    first = run_import(text)
    again = run_import(text)
    assert first.summary == {"created": 2, "duplicate": 0, "refused": 1}
    assert again.summary == {"created": 0, "duplicate": 2, "refused": 1}
    assert [r.request_id for r in again.rows[:2]] == [r.request_id for r in first.rows[:2]]
    assert stored(db) == 2
    imports = db.exec(select(AuditEntry).where(AuditEntry.action == "visit_request.imported"))
    assert [entry.details for entry in imports] == [first.summary, again.summary]


def test_unknown_columns_are_ignored_and_listed(run_import):
    report = run_import(f"{HEADER};couleur\n{row()};bleu")
    assert report.ignored_columns == ["couleur"]
    assert report.rows[0].outcome == "created"


def upload(client, content: bytes, name="extrait.csv"):
    token = csrf_token(client, "/agent/requests/import")
    return client.post(
        "/agent/requests/import",
        data={"file": (io.BytesIO(content), name), "csrf_token": token},
        content_type="multipart/form-data",
    )


def test_the_agent_uploads_an_extract_and_reads_the_report(client, db, logged_in):
    agent = logged_in(Role.AGENT)
    patient = nir()
    content = "\n".join([HEADER, row(nir=patient), row(nir=patient), row(nir="1")]).encode()
    response = upload(client, content)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "1</strong> créée" in page
    assert "1</strong> doublon" in page
    assert "1</strong> refusée" in page
    visit = db.exec(select(VisitRequest)).one()
    assert (visit.cpam_code, visit.agent_id) == ("091", agent.id)
    assert f'href="/agent/requests/{visit.id}"' in page
    assert "NIR : Le NIR doit comporter 15 caractères" in page


def test_the_template_is_the_contract_and_books_nobody(client, db, logged_in):
    logged_in(Role.AGENT)
    template = client.get("/agent/requests/import/template.csv")
    assert template.mimetype == "text/csv"
    assert "attachment" in template.headers["Content-Disposition"]
    lines = template.get_data().decode("utf-8-sig").splitlines()
    assert lines == [HEADER]
    response = upload(client, template.get_data())
    assert "0</strong> créée" in response.get_data(as_text=True)
    assert stored(db) == 0


def test_a_file_level_error_is_shown_on_the_file_field_and_stores_nothing(client, db, logged_in):
    logged_in(Role.AGENT)
    response = upload(client, b"nom;prenom\nMartin;Elodie")
    assert response.status_code == 422
    assert "Colonnes manquantes" in response.get_data(as_text=True)
    missing = client.post(
        "/agent/requests/import",
        data={"csrf_token": csrf_token(client, "/agent/requests/import")},
        content_type="multipart/form-data",
    )
    assert missing.status_code == 422
    assert "Choisissez un fichier." in missing.get_data(as_text=True)
    assert stored(db) == 0
    assert (
        db.exec(select(AuditEntry).where(AuditEntry.action == "visit_request.imported")).all() == []
    )


@pytest.mark.parametrize("role", [Role.COORDINATOR, Role.CPAM, Role.NURSE])
def test_only_agents_may_import(client, logged_in, role):
    logged_in(role)
    assert client.get("/agent/requests/import").status_code == 403
    assert client.get("/agent/requests/import/template.csv").status_code == 403
