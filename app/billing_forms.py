"""Forms of billing: correcting a record, revaluing a tariff, importing a claims extract."""

from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired, FileSize
from wtforms import BooleanField, DateField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from app.visit_forms import FrenchDecimalField
from billing.claims import COLUMN_LABELS, COLUMNS


class CorrectionForm(FlaskForm):
    ik_km = FrenchDecimalField(
        "Distance cabinet → domicile retenue pour les IK (km, aller simple ; vide : l'estimation)",
        places=1,
        validators=[Optional(), NumberRange(0, 500, "Entre 0 et 500 km.")],
    )
    reason = TextAreaField(
        "Motif de la correction",
        validators=[DataRequired("Indiquez le motif de la correction."), Length(max=500)],
    )
    confirm = BooleanField(
        "Je confirme : cette facture sera annulée par un avoir et remplacée par une nouvelle",
        validators=[DataRequired("Cochez la case pour confirmer.")],
    )


class RevaluationForm(FlaskForm):
    tariff = SelectField("Tarif", validators=[DataRequired("Choisissez le tarif.")])
    value = FrenchDecimalField(
        "Nouvelle valeur (€)",
        places=2,
        validators=[
            DataRequired("Indiquez la nouvelle valeur."),
            NumberRange(0.01, 1000, "Entre 0,01 et 1 000 €."),
        ],
    )
    valid_from = DateField(
        "En vigueur à partir du",
        validators=[DataRequired("Indiquez la date d'effet.")],
    )
    source = StringField(
        "Source (texte, date de parution)",
        validators=[DataRequired("Indiquez la source."), Length(max=500)],
    )


class ClaimImportForm(FlaskForm):
    file = FileField(
        "Extraction de la CPAM (CSV)",
        validators=[
            FileRequired("Choisissez un fichier."),
            FileAllowed(["csv", "txt"], "Un fichier .csv est attendu."),
            FileSize(4 * 1024 * 1024, message="Le fichier dépasse 4 Mo : découpez-le par mois."),
        ],
    )


def mapping_fields() -> list[tuple[str, str]]:
    """(column, label) of the mapping form: each of our columns, matched to one of theirs."""
    return [(column, COLUMN_LABELS[column]) for column in COLUMNS]
