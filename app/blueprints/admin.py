"""The platform operator's pages: accounts, roles, API tokens, the audit log and the
notifications the outbox gave up on."""

from datetime import datetime, time

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.auth import restrict_to
from app.db import begin_write, get_session
from app.forms import ActivationForm, ConfirmForm, RoleForm, TokenCreateForm, UserCreateForm
from app.pagination import Page, requested_page
from app.views import PARIS
from registry import accounts, api_tokens, audit
from registry.accounts import ROLE_LABELS, Role
from registry.errors import DomainError, ValidationFailed
from registry.notifications import outbox
from registry.notifications.models import DeliveryStatus

blueprint = Blueprint("admin", __name__)
restrict_to(blueprint, Role.ADMIN)

PER_PAGE = 25
AUDIT_PER_PAGE = 50


@blueprint.get("/")
def home():
    db = get_session()
    counts = {role: accounts.list_users(db, role=role, per_page=1)[1] for role in Role}
    recent, _total = audit.search(db, per_page=10)
    return render_template(
        "admin/home.html",
        counts=counts,
        recent=recent,
        notifications=outbox.count_by_status(db),
    )


@blueprint.get("/users")
def users():
    role = request.args.get("role", "")
    if role not in Role.__members__.values():
        role = ""
    query = request.args.get("q", "").strip()[:100]
    page = requested_page()
    rows, total = accounts.list_users(
        get_session(), role=role, query=query, page=page, per_page=PER_PAGE
    )
    return render_template(
        "admin/users.html",
        users=rows,
        role=role,
        query=query,
        roles=ROLE_LABELS,
        page=Page(page, PER_PAGE, total),
    )


@blueprint.route("/users/new", methods=["GET", "POST"])
def user_new():
    form = UserCreateForm()
    if form.validate_on_submit():
        db = get_session()
        try:
            user = accounts.create_user(
                db,
                email=form.email.data,
                role=form.role.data,
                password=form.password.data,
                name=form.name.data,
                actor=current_user,
                cpam_code=form.cpam_code.data or None,
            )
        except ValidationFailed as error:
            for field_error in error.errors:
                getattr(form, field_error.field).errors.append(field_error.message)
        except DomainError as error:
            form.email.errors.append(error.detail)
        else:
            db.commit()
            flash(f"Compte créé pour {user.email}.", "success")
            return redirect(url_for("admin.user_detail", user_id=user.id))
    return render_template("admin/user_new.html", form=form), 422 if form.errors else 200


@blueprint.get("/users/<int:user_id>")
def user_detail(user_id: int):
    db = get_session()
    user = accounts.get_user(db, user_id)
    return render_template(
        "admin/user_detail.html",
        user=user,
        tokens=api_tokens.tokens_of(db, user.id),
        role_form=RoleForm(role=user.role),
        activation_form=ActivationForm(),
        token_form=TokenCreateForm(),
        revoke_form=ConfirmForm(),
    )


@blueprint.post("/users/<int:user_id>/role")
def user_role(user_id: int):
    db = get_session()
    user = accounts.get_user(db, user_id)
    form = RoleForm()
    if not form.validate_on_submit():
        flash("Rôle invalide.", "error")
        return redirect(url_for("admin.user_detail", user_id=user.id))
    try:
        accounts.change_role(db, user, form.role.data, actor=current_user)
    except DomainError as error:
        flash(error.detail, "error")
    else:
        db.commit()
        flash(f"Rôle de {user.email} : {user.role_label}.", "success")
    return redirect(url_for("admin.user_detail", user_id=user.id))


@blueprint.post("/users/<int:user_id>/activation")
def user_activation(user_id: int):
    db = get_session()
    user = accounts.get_user(db, user_id)
    form = ActivationForm()
    if not form.validate_on_submit():
        flash("Cochez la case de confirmation pour changer l'état du compte.", "error")
        return redirect(url_for("admin.user_detail", user_id=user.id))
    try:
        accounts.set_active(db, user, not user.active, actor=current_user)
    except DomainError as error:
        flash(error.detail, "error")
    else:
        db.commit()
        flash(f"Compte {user.email} {'réactivé' if user.active else 'désactivé'}.", "success")
    return redirect(url_for("admin.user_detail", user_id=user.id))


@blueprint.post("/users/<int:user_id>/tokens")
def token_create(user_id: int):
    db = get_session()
    user = accounts.get_user(db, user_id)
    form = TokenCreateForm()
    if not form.validate_on_submit():
        flash("Donnez un nom au jeton.", "error")
        return redirect(url_for("admin.user_detail", user_id=user.id))
    token, clear = api_tokens.issue_token(db, user, name=form.name.data, actor=current_user)
    db.commit()
    return render_template("admin/token_created.html", user=user, token=token, clear=clear)


@blueprint.post("/tokens/<int:token_id>/revoke")
def token_revoke(token_id: int):
    db = get_session()
    form = ConfirmForm()
    if not form.validate_on_submit():
        flash("Le formulaire a expiré.", "error")
        return redirect(url_for("admin.users"))
    token = api_tokens.revoke_token(db, token_id, actor=current_user)
    db.commit()
    flash(f"Jeton « {token.name} » révoqué.", "success")
    return redirect(url_for("admin.user_detail", user_id=token.user_id))


def _day(value: str, *, end: bool = False) -> datetime | None:
    try:
        day = datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        return None
    return datetime.combine(day, time.max if end else time.min, tzinfo=PARIS)


@blueprint.get("/audit")
def audit_log():
    filters = {
        "action": request.args.get("action", "").strip()[:64],
        "actor": request.args.get("actor", "").strip()[:254],
        "target_type": request.args.get("target_type", "").strip()[:64],
        "since": request.args.get("since", ""),
        "until": request.args.get("until", ""),
    }
    page = requested_page()
    db = get_session()
    entries, total = audit.search(
        db,
        action=filters["action"],
        actor=filters["actor"],
        target_type=filters["target_type"],
        since=_day(filters["since"]),
        until=_day(filters["until"], end=True),
        page=page,
        per_page=AUDIT_PER_PAGE,
    )
    return render_template(
        "admin/audit.html",
        entries=entries,
        filters=filters,
        actions=audit.known_actions(db),
        page=Page(page, AUDIT_PER_PAGE, total),
    )


NOTIFICATIONS_PER_PAGE = 50


@blueprint.app_template_filter("delivery_label")
def delivery_label(status: str) -> str:
    return DeliveryStatus(status).label


@blueprint.get("/notifications")
def notifications():
    status = request.args.get("status", DeliveryStatus.FAILED)
    if status not in DeliveryStatus.__members__.values():
        status = ""
    page = requested_page()
    db = get_session()
    rows, total = outbox.search(db, status=status, page=page, per_page=NOTIFICATIONS_PER_PAGE)
    return render_template(
        "admin/notifications.html",
        messages=rows,
        status=status,
        statuses=list(DeliveryStatus),
        counts=outbox.count_by_status(db),
        retry_form=ConfirmForm(),
        retry_all_form=ActivationForm(),
        max_attempts=outbox.MAX_ATTEMPTS,
        page=Page(page, NOTIFICATIONS_PER_PAGE, total),
    )


@blueprint.post("/notifications/<int:message_id>/retry")
def notification_retry(message_id: int):
    if not ConfirmForm().validate_on_submit():
        flash("Le formulaire a expiré ; rechargez la page.", "error")
        return redirect(url_for("admin.notifications"))
    db = get_session()
    begin_write(db)
    try:
        outbox.retry(db, message_id, actor=current_user)
    except DomainError as error:
        flash(error.detail, "error")
    else:
        db.commit()
        flash("Notification remise en file : elle part au prochain envoi.", "success")
    return redirect(url_for("admin.notifications"))


@blueprint.post("/notifications/retry-failed")
def notifications_retry_all():
    if not ActivationForm().validate_on_submit():
        flash("Cochez la case pour confirmer la relance de toutes les notifications.", "error")
        return redirect(url_for("admin.notifications"))
    db = get_session()
    begin_write(db)
    count = outbox.retry_failed(db, actor=current_user)
    db.commit()
    flash(
        f"{count} notification{'s' if count > 1 else ''} remise{'s' if count > 1 else ''} en file.",
        "success",
    )
    return redirect(url_for("admin.notifications"))
