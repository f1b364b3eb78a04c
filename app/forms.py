"""Web forms (WTForms with CSRF), labels and messages in French."""

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from registry.accounts import ROLE_LABELS

REQUIRED = "Ce champ est obligatoire."
ROLE_CHOICES = [SelectChoice(role.value, label) for role, label in ROLE_LABELS.items()]


class LoginForm(FlaskForm):
    email = EmailField("Adresse e-mail", validators=[DataRequired(REQUIRED), Length(max=254)])
    password = PasswordField("Mot de passe", validators=[DataRequired(REQUIRED), Length(max=256)])


class ForgotPasswordForm(FlaskForm):
    email = EmailField("Adresse e-mail", validators=[DataRequired(REQUIRED), Length(max=254)])


class NewPasswordForm(FlaskForm):
    password = PasswordField(
        "Nouveau mot de passe (12 caractères au moins)", validators=[DataRequired(REQUIRED)]
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


class ConfirmForm(FlaskForm):
    """A bare form whose only purpose is its CSRF token (logout, revocation after confirmation)."""
