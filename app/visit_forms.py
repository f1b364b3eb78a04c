"""The nurse's forms: answering an offer, moving or handing back a visit, the visit report."""

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    DecimalField,
    IntegerField,
    SelectChoice,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget, TextInput

from registry.visits.models import DECLINE_LABELS
from registry.visits.reports import MEASURES, SYMPTOMS

REQUIRED = "Ce champ est obligatoire."
DECLINE_CHOICES = [(reason.value, label) for reason, label in DECLINE_LABELS.items()]  # buttons


class DeclineForm(FlaskForm):
    note = StringField("Précision (facultatif)", validators=[Optional(), Length(max=500)])


class AppointmentForm(FlaskForm):
    appointment_at = DateTimeLocalField(
        "Heure du rendez-vous", format="%Y-%m-%dT%H:%M", validators=[DataRequired(REQUIRED)]
    )


class ReasonForm(FlaskForm):
    reason = TextAreaField(
        "Motif", validators=[DataRequired("Indiquez le motif."), Length(max=500)]
    )


class FrenchDecimalField(DecimalField):
    """A decimal typed the French way (37,9) or the other (37.9). A text field with a decimal
    keyboard, not a number field: some browsers drop the comma of a number field (12,5 → 125)."""

    widget = TextInput()

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("invalid_value_message", "Un nombre est attendu (par exemple 37,8).")
        kwargs.setdefault("render_kw", {"inputmode": "decimal", "autocomplete": "off"})
        super().__init__(*args, **kwargs)

    def process_formdata(self, valuelist):
        super().process_formdata([valuelist[0].replace(",", ".").strip()] if valuelist else [])

    def _value(self) -> str:
        return super()._value().replace(".", ",")


WHOLE = "Un nombre entier est attendu."


def _range(name: str):
    low, high = MEASURES[name]
    return [Optional(), NumberRange(low, high, f"Entre {low} et {high}.")]


class ReportForm(FlaskForm):
    visited_at = DateTimeLocalField(
        "Heure de la visite", format="%Y-%m-%dT%H:%M", validators=[DataRequired(REQUIRED)]
    )
    temperature_c = FrenchDecimalField(
        "Température (°C)", places=1, validators=_range("temperature_c")
    )
    spo2 = IntegerField(invalid_value_message=WHOLE, label="SpO2 (%)", validators=_range("spo2"))
    systolic = IntegerField(
        invalid_value_message=WHOLE,
        label="Tension systolique (mmHg)",
        validators=_range("systolic"),
    )
    diastolic = IntegerField(
        invalid_value_message=WHOLE,
        label="Tension diastolique (mmHg)",
        validators=_range("diastolic"),
    )
    symptoms = SelectMultipleField(
        "Symptômes",
        choices=[SelectChoice(code, label) for code, label in SYMPTOMS.items()],
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
        validate_choice=True,
    )
    isolation_feasible = BooleanField("L'isolement est possible au domicile")
    social_needs = TextAreaField("Besoins sociaux", validators=[Optional(), Length(max=1000)])
    ctai_referral = BooleanField(
        "Orienté vers la CTAI (cellule territoriale d'appui à l'isolement)"
    )
    gp_informed = BooleanField("Médecin traitant informé")
    tag_count = IntegerField(
        invalid_value_message=WHOLE,
        label="Tests antigéniques : personnes testées",
        validators=[Optional(), NumberRange(0, 20, "Entre 0 et 20.")],
    )
    tag_positives = IntegerField(
        invalid_value_message=WHOLE,
        label="dont positives",
        validators=[Optional(), NumberRange(0, 20, "Entre 0 et 20.")],
    )
    pcr_count = IntegerField(
        invalid_value_message=WHOLE,
        label="Prélèvements RT-PCR : personnes prélevées",
        validators=[Optional(), NumberRange(0, 20, "Entre 0 et 20.")],
    )
    vaccination_offered = BooleanField("Vaccination proposée")
    ik_km = FrenchDecimalField(
        "Distance cabinet → domicile pour les IK (km, aller simple ; vide : l'estimation)",
        places=1,
        validators=[Optional(), NumberRange(0, 500, "Entre 0 et 500 km.")],
    )
