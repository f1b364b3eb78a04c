"""Authentication: sessions for people (Flask-Login), role checks per blueprint, and the login,
logout, password-reset and own-account pages."""

from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import (
    LoginManager,
    UserMixin,
    current_user,
    login_required,
    login_user,
    logout_user,
)

from app.db import get_session
from app.forms import ChangePasswordForm, ForgotPasswordForm, LoginForm, NewPasswordForm
from app.mail import send_email
from registry import accounts, audit
from registry.accounts import Role, ThrottlePolicy
from registry.errors import DomainError, NotFound, ValidationFailed
from registry.passwords import verify_password

blueprint = Blueprint("auth", __name__)
login_manager = LoginManager()

ROLE_HOME = {
    Role.NURSE: "nurse.home",
    Role.AGENT: "agent.home",
    Role.CPAM: "cpam.billing_list",
    Role.COORDINATOR: "coordinator.home",
    Role.ADMIN: "admin.home",
}


@dataclass
class CurrentUser(UserMixin):
    """The signed-in person, detached from any database session."""

    id: int
    email: str
    name: str
    role: str
    session_nonce: str
    cpam_code: str | None = None

    @classmethod
    def of(cls, user: accounts.User) -> "CurrentUser":
        return cls(user.id, user.email, user.name, user.role, user.session_nonce, user.cpam_code)

    def get_id(self) -> str:
        return f"{self.id}:{self.session_nonce}"

    @property
    def role_label(self) -> str:
        return Role(self.role).label


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Connectez-vous pour accéder à cette page."
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"


@login_manager.user_loader
def _load_user(session_id: str) -> CurrentUser | None:
    user_id, _, nonce = session_id.partition(":")
    if not user_id.isdigit():
        return None
    user = get_session().get(accounts.User, int(user_id))
    # A password change, role change or deactivation rotates the nonce and ends older sessions.
    if user is None or not user.active or user.session_nonce != nonce:
        return None
    return CurrentUser.of(user)


def restrict_to(bp: Blueprint, *roles: Role) -> None:
    """Every route of `bp` requires a signed-in user holding one of `roles`."""
    bp.allowed_roles = frozenset(roles)

    @bp.before_request
    def _check_role():
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        if current_user.role not in bp.allowed_roles:
            abort(403)
        return None


def home_url_for(role: str) -> str:
    return url_for(ROLE_HOME[Role(role)])


def client_ip() -> str:
    return request.remote_addr or ""


def _safe_next(target: str | None) -> str | None:
    """Only same-site relative paths are followed after login (no open redirect)."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


@blueprint.route("/")
def index():
    if current_user.is_authenticated:
        return redirect(home_url_for(current_user.role))
    return redirect(url_for("auth.login"))


@blueprint.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(home_url_for(current_user.role))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        settings = _settings()
        policy = ThrottlePolicy(
            max_failures=settings.login_max_failures,
            window=timedelta(minutes=settings.login_lockout_minutes),
        )
        db = get_session()
        try:
            user = accounts.authenticate(
                db, form.email.data, form.password.data, ip_address=client_ip(), policy=policy
            )
        except accounts.LoginThrottled as error:
            flash(error.detail, "error")
            status = 429
        except accounts.LoginRefused as error:
            flash(error.detail, "error")
            status = 401
        else:
            db.commit()
            next_url = _safe_next(request.args.get("next"))
            session.clear()
            login_user(CurrentUser.of(user))
            session.permanent = True
            return redirect(next_url or home_url_for(user.role))
    elif request.method == "POST":
        status = 422
    return render_template("auth/login.html", form=form), status


@blueprint.route("/logout", methods=["POST"])
@login_required
def logout():
    db = get_session()
    audit.record(
        db,
        actor=current_user,
        action="logout",
        target_type="user",
        target_id=current_user.id,
        ip_address=client_ip(),
    )
    accounts.end_sessions(db, accounts.get_user(db, current_user.id))
    db.commit()
    logout_user()
    session.clear()
    flash("Vous êtes déconnecté·e.", "info")
    return redirect(url_for("auth.login"))


@blueprint.route("/password/forgot", methods=["GET", "POST"])
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        settings = _settings()
        db = get_session()
        issued = accounts.start_password_reset(
            db,
            form.email.data,
            ip_address=client_ip(),
            lifetime=timedelta(hours=settings.password_reset_hours),
        )
        db.commit()
        if issued:
            user, token = issued
            link = settings.public_base_url + url_for("auth.reset_password", token=token)
            send_email(
                settings,
                to=user.email,
                subject="Réinitialisation de votre mot de passe VDSI",
                body=render_template(
                    "auth/reset_email.txt",
                    user=user,
                    link=link,
                    hours=settings.password_reset_hours,
                ),
            )
        # The same answer whether or not the account exists: no way to probe for e-mails.
        flash(
            "Si un compte actif existe pour cette adresse, un e-mail contenant un lien de "
            "réinitialisation vient de lui être envoyé.",
            "info",
        )
        return redirect(url_for("auth.login"))
    return render_template("auth/forgot.html", form=form)


@blueprint.route("/password/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    db = get_session()
    try:
        user = accounts.user_for_reset_token(db, token)
    except NotFound as error:
        return render_template("auth/reset_invalid.html", message=error.detail), 404
    form = NewPasswordForm()
    if form.validate_on_submit():
        try:
            accounts.complete_password_reset(db, token, form.password.data, ip_address=client_ip())
        except ValidationFailed as error:
            form.password.errors = [e.message for e in error.errors]
        else:
            db.commit()
            flash("Votre mot de passe a été modifié. Vous pouvez vous connecter.", "success")
            return redirect(url_for("auth.login"))
    return render_template("auth/reset.html", form=form, user=user)


@blueprint.route("/account", methods=["GET", "POST"])
@login_required
def account():
    db = get_session()
    user = accounts.get_user(db, current_user.id)
    form = ChangePasswordForm()
    if form.validate_on_submit():
        if not verify_password(user.password_hash, form.current.data):
            form.current.errors = ["Le mot de passe actuel est incorrect."]
        else:
            try:
                accounts.set_password(db, user, form.password.data, actor=current_user)
            except DomainError as error:
                messages = getattr(error, "errors", None)
                form.password.errors = [e.message for e in messages] if messages else [error.detail]
            else:
                db.commit()
                login_user(CurrentUser.of(user))
                flash("Votre mot de passe a été modifié.", "success")
                return redirect(url_for("auth.account"))
    return render_template("auth/account.html", user=user, form=form)


def _settings():
    return current_app.config["SETTINGS"]
