"""Web forms (WTForms with CSRF), labels and messages in French."""

from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired, FileSize
from wtforms import (
    BooleanField,
    DateField,
    DecimalField,
    EmailField,
    IntegerField,
    PasswordField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TelField,
    TextAreaField,
    TimeField,
)
from wtforms.validators import DataRequired, EqualTo, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from registry.accounts import ROLE_LABELS
from registry.nurses.models import LANGUAGE_LABELS, WEEKDAY_LABELS, Skill

REQUIRED = "Ce champ est obligatoire."
ROLE_CHOICES = [SelectChoice(role.value, label) for role, label in ROLE_LABELS.items()]


class LoginForm(FlaskForm):
    email = EmailField("Adresse e-mail", validators=[DataRequired(REQUIRED), Length(max=254)])
    password = PasswordField("Mot de passe", validators=[DataRequired(REQUIRED), Length(max=256)])


class ForgotPasswordForm(FlaskForm):
    email = EmailField("Adresse e-mail", validators=[DataRequired(REQUIRED), Length(max=254)])


class NewPasswordForm(FlaskForm):
    password = PasswordField(
        "Mot de passe (12 caractères au moins)", validators=[DataRequired(REQUIRED)]
    )
    confirm = PasswordField(
        "Confirmez le mot de passe",
        validators=[
            DataRequired(REQUIRED),
            EqualTo("password", "Les deux mots de passe ne correspondent pas."),
        ],
    )


class ChangePasswordForm(NewPasswordForm):
    current = PasswordField("Mot de passe actuel", validators=[DataRequired(REQUIRED)])


class UserCreateForm(FlaskForm):
    name = StringField("Nom complet", validators=[DataRequired(REQUIRED), Length(max=200)])
    email = EmailField("Adresse e-mail", validators=[DataRequired(REQUIRED), Length(max=254)])
    role = SelectField("Rôle", choices=ROLE_CHOICES, validators=[DataRequired(REQUIRED)])
    cpam_code = StringField(
        "Code CPAM (3 chiffres, enquêteurs et gestionnaires CPAM)", validators=[Length(max=3)]
    )
    password = PasswordField(
        "Mot de passe initial (12 caractères au moins)", validators=[DataRequired(REQUIRED)]
    )


class RoleForm(FlaskForm):
    role = SelectField("Nouveau rôle", choices=ROLE_CHOICES, validators=[DataRequired(REQUIRED)])


class ActivationForm(FlaskForm):
    confirm = BooleanField(
        "Je confirme ce changement", validators=[DataRequired("Cochez la case pour confirmer.")]
    )


class TokenCreateForm(FlaskForm):
    name = StringField(
        "Nom du jeton (ex. SI de la CPAM 091)",
        validators=[DataRequired(REQUIRED), Length(max=120)],
    )


class CancelRequestForm(FlaskForm):
    reason = TextAreaField(
        "Motif de l'annulation",
        validators=[DataRequired("Indiquez le motif de l'annulation."), Length(max=500)],
    )


class ConfirmForm(FlaskForm):
    """A bare form whose only purpose is its CSRF token (logout, revocation after confirmation)."""


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


SKILL_CHOICES = [SelectChoice(skill.value, skill.label) for skill in Skill]
LANGUAGE_CHOICES = [SelectChoice(code, label) for code, label in LANGUAGE_LABELS.items()]
WEEKDAY_CHOICES = [SelectChoice(str(i), day.capitalize()) for i, day in enumerate(WEEKDAY_LABELS)]


class NurseCapabilitiesForm(FlaskForm):
    radius_km = DecimalField(
        "Rayon d'intervention autour du cabinet (km)",
        places=1,
        validators=[Optional(), NumberRange(0.5, 100, "Entre 0,5 et 100 km.")],
    )
    sector_communes = TextAreaField(
        "Communes desservies en plus du rayon (une par ligne : code postal et nom, ou code INSEE)",
        validators=[Optional(), Length(max=5000)],
    )
    skills = MultiCheckboxField("Actes pratiqués", choices=SKILL_CHOICES)
    languages = MultiCheckboxField("Langues parlées", choices=LANGUAGE_CHOICES, default=["fr"])
    max_visits_per_day = IntegerField(
        "Visites VDSI par jour au maximum",
        default=6,
        validators=[DataRequired(REQUIRED), NumberRange(1, 30, "Entre 1 et 30.")],
    )
    mountain = BooleanField("Cabinet en zone de montagne (indemnités kilométriques)")


class NurseEnrolmentForm(NurseCapabilitiesForm, NewPasswordForm):
    first_name = StringField("Prénom", validators=[DataRequired(REQUIRED), Length(max=100)])
    last_name = StringField("Nom", validators=[DataRequired(REQUIRED), Length(max=100)])
    rpps = StringField("N° RPPS (11 chiffres)", validators=[DataRequired(REQUIRED)])
    am_number = StringField(
        "N° AM de facturation (9 chiffres)", validators=[DataRequired(REQUIRED)]
    )
    phone = TelField("Téléphone portable", validators=[DataRequired(REQUIRED)])
    email = EmailField("Adresse e-mail", validators=[DataRequired(REQUIRED), Length(max=254)])
    street = StringField("Adresse du cabinet (n° et rue)", validators=[Length(max=200)])
    postal_code = StringField("Code postal", validators=[DataRequired(REQUIRED)])
    commune = StringField("Commune", validators=[DataRequired(REQUIRED), Length(max=100)])


class WeeklyWindowForm(FlaskForm):
    weekday = SelectField("Jour", choices=WEEKDAY_CHOICES, validators=[DataRequired(REQUIRED)])
    start = TimeField("De", validators=[DataRequired("Heure de début ?")])
    end = TimeField("À", validators=[DataRequired("Heure de fin ?")])


class DatedWindowForm(FlaskForm):
    on_date = DateField("Date", validators=[DataRequired("Date ?")])
    start = TimeField("De (vide : toute la journée)", validators=[Optional()])
    end = TimeField("À", validators=[Optional()])
    unavailable = BooleanField("Absente (sinon : créneau supplémentaire)")


class StatusChangeForm(FlaskForm):
    reason = TextAreaField("Motif", validators=[Optional(), Length(max=500)])
    confirm = BooleanField(
        "Je confirme ce changement", validators=[DataRequired("Cochez la case pour confirmer.")]
    )


class NurseImportForm(FlaskForm):
    file = FileField(
        "Fichier CSV (séparateur ; ou ,)",
        validators=[
            FileRequired("Choisissez un fichier."),
            FileAllowed(["csv", "txt"], "Un .csv."),
        ],
    )
    activate = BooleanField("Valider directement les infirmières importées", default=True)


class RequestImportForm(FlaskForm):
    file = FileField(
        "Fichier CSV des demandes (séparateur ; ou ,)",
        validators=[
            FileRequired("Choisissez un fichier."),
            FileAllowed(["csv", "txt"], "Un .csv."),
            # 5 000 rows fit well within this; the application refuses bodies over 5 Mo anyway.
            FileSize(4 * 1024 * 1024, message="Le fichier dépasse 4 Mo : découpez-le."),
        ],
    )
