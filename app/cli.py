"""Operator commands: `flask --app app users …`, `tokens …`, `seed-demo`, `plan` and `jobs …`."""

from pathlib import Path

import click
from flask import Flask
from flask.cli import AppGroup, with_appcontext

from app import demo, demo_billing
from app.cli_simulate import simulate_command
from app.db import begin_write, get_session
from app.geocoding import geocoder
from billing import claims, reconciliation
from billing.models import Classification
from registry import accounts, api_tokens
from registry.accounts import Role
from registry.errors import DomainError, ValidationFailed
from registry.geo.communes import commune_directory
from registry.nurses.csv_import import import_nurses

users_cli = AppGroup("users", help="Comptes des utilisateurs.")
nurses_cli = AppGroup("nurses", help="Registre des infirmier·e·s.")
tokens_cli = AppGroup("tokens", help="Jetons d'API des clients machines.")
OPERATOR = "cli"


def _fail(error: DomainError) -> None:
    lines = [error.detail]
    if isinstance(error, ValidationFailed):
        lines += [f"  {e.field} : {e.message}" for e in error.errors]
    raise click.ClickException("\n".join(lines))


@users_cli.command("create", help="Crée un compte.")
@click.option("--email", required=True)
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@click.option("--password", required=True, help="12 caractères au moins.")
@click.option("--name", default="", help="Nom affiché (par défaut : l'adresse e-mail).")
@click.option("--cpam", default=None, help="Code de la CPAM (3 chiffres) : agent et cpam.")
def users_create(email: str, role: str, password: str, name: str, cpam: str | None) -> None:
    db = get_session()
    try:
        user = accounts.create_user(
            db,
            email=email,
            role=role,
            password=password,
            name=name or email,
            actor=OPERATOR,
            cpam_code=cpam,
        )
    except DomainError as error:
        _fail(error)
    db.commit()
    click.echo(f"Compte créé : {user.email} ({user.role}), id {user.id}")


@users_cli.command("set-role", help="Change le rôle d'un compte.")
@click.option("--email", required=True)
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
def users_set_role(email: str, role: str) -> None:
    db = get_session()
    user = _user(email)
    try:
        accounts.change_role(db, user, role, actor=OPERATOR)
    except DomainError as error:
        _fail(error)
    db.commit()
    click.echo(f"{user.email} : rôle {user.role}")


@users_cli.command("list", help="Liste les comptes.")
@click.option("--role", default="", type=click.Choice(["", *[r.value for r in Role]]))
def users_list(role: str) -> None:
    users, total = accounts.list_users(get_session(), role=role, per_page=10_000)
    for user in users:
        state = "actif" if user.active else "désactivé"
        click.echo(f"{user.id}\t{user.email}\t{user.role}\t{state}\t{user.name}")
    click.echo(f"{total} compte(s)")


def _user(email: str) -> accounts.User:
    user = accounts.find_by_email(get_session(), email)
    if user is None:
        raise click.ClickException(f"Aucun compte pour {email}.")
    return user


@tokens_cli.command("create", help="Crée un jeton ; il est imprimé seul sur la dernière ligne.")
@click.option("--email", required=True)
@click.option("--name", default="", help="À quoi sert le jeton (ex. SI CPAM 091).")
def tokens_create(email: str, name: str) -> None:
    db = get_session()
    user = _user(email)
    try:
        token, clear = api_tokens.issue_token(db, user, name=name or "CLI", actor=OPERATOR)
    except DomainError as error:
        _fail(error)
    db.commit()
    click.echo(f"Jeton n° {token.id} pour {user.email} ; conservez-le, il ne sera plus affiché :")
    click.echo(clear)


@tokens_cli.command("revoke", help="Révoque le jeton n° ID.")
@click.argument("token_id", type=int)
def tokens_revoke(token_id: int) -> None:
    db = get_session()
    try:
        token = api_tokens.revoke_token(db, token_id, actor=OPERATOR)
    except DomainError as error:
        _fail(error)
    db.commit()
    click.echo(f"Jeton n° {token.id} révoqué.")


@tokens_cli.command("list", help="Liste les jetons d'un compte.")
@click.option("--email", required=True)
def tokens_list(email: str) -> None:
    for token in api_tokens.tokens_of(get_session(), _user(email).id):
        state = "révoqué" if token.revoked_at else "actif"
        click.echo(f"{token.id}\t{token.display_prefix}…\t{state}\t{token.name}")


@click.command("seed-demo", help="Charge les données de démonstration (une seule fois).")
@with_appcontext
def seed_demo() -> None:
    db = get_session()
    if demo.load_demo(db):
        db.commit()
        click.echo("Données de démonstration chargées.")
    else:
        click.echo("Données de démonstration déjà présentes : rien à faire.")
    click.echo(f"Comptes de démonstration (mot de passe commun : {demo.DEMO_PASSWORD}) :")
    for role, email, _name in demo.DEMO_ACCOUNTS:
        click.echo(f"  {Role(role).label:<36} {email}")


@nurses_cli.command("import", help="Importe la liste CSV de l'URPS (idempotent sur le RPPS).")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--validate/--pending", default=True, help="Statut des nouvelles inscriptions.")
def nurses_import(path: str, validate: bool) -> None:
    db = get_session()
    directory = commune_directory()
    try:
        with open(path, "rb") as handle:
            report = import_nurses(
                db,
                handle.read(),
                geocoder=geocoder(),
                commune_exists=lambda code: directory.get(code) is not None,
                validate=validate,
                actor=OPERATOR,
            )
    except DomainError as error:
        _fail(error)
    db.commit()
    for row in report.rows:
        if row.outcome == "refused":
            click.echo(f"ligne {row.line}\t{row.rpps}\trefusée\t{' ; '.join(row.messages)}")
    summary = report.summary
    click.echo(
        f"{summary['created']} créée(s), {summary['updated']} mise(s) à jour, "
        f"{summary['unchanged']} inchangée(s), {summary['refused']} refusée(s)"
    )


@click.command("plan", help="Lance une passe de planification et en affiche le résumé.")
@with_appcontext
def plan_command() -> None:
    from app.jobs import tasks

    summary = tasks.planning()
    if summary is None:
        raise click.ClickException("Une planification est déjà en cours ailleurs ; réessayez.")
    click.echo(f"Planification : {summary.describe()}.")
    for offer in summary.offered:
        click.echo(f"  demande {offer.request_id} -> infirmier·e {offer.nurse_id} ({offer.reason})")


billing_cli = AppGroup("billing", help="Facturation : tarifs, rapprochement avec la CPAM.")


@billing_cli.command("sample-claims", help="Écrit l'extraction CPAM d'exemple des données de démo.")
@with_appcontext
def sample_claims_command() -> None:
    click.echo(demo_billing.sample_claims(get_session()), nl=False)


@billing_cli.command("import-claims", help="Importe et rapproche une extraction CPAM (CSV).")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--cpam", "cpam_code", required=True, help="Code de la CPAM (3 chiffres).")
@with_appcontext
def import_claims_command(path: str, cpam_code: str) -> None:
    db = get_session()
    begin_write(db)
    try:
        parsed = claims.parse_claims(Path(path).read_bytes())
        batch = reconciliation.import_claims(
            db, parsed, cpam_code=cpam_code, filename=Path(path).name, actor="cli"
        )
    except DomainError as error:
        db.rollback()
        for problem in getattr(error, "errors", []):
            click.echo(problem.message, err=True)
        raise click.ClickException(error.detail) from error
    db.commit()
    click.echo(
        f"Import n° {batch.id} : {batch.claim_count} facturation(s), {batch.line_count} ligne(s)."
    )
    for classification in Classification:
        click.echo(f"  {classification.value:<22} {batch.counts.get(classification.value, 0)}")


jobs_cli = AppGroup("jobs", help="Tâches planifiées (le planificateur les lance seul).")


@jobs_cli.command(
    "run", help="Lance une tâche tout de suite : delivery, escalation, follow-up, purge."
)
@click.argument("name", type=click.Choice(["delivery", "escalation", "follow-up", "purge"]))
def jobs_run(name: str) -> None:
    from app.jobs import tasks

    job = {
        "delivery": tasks.delivery,
        "escalation": tasks.escalation,
        "follow-up": tasks.follow_up,
        "purge": tasks.purge,
    }[name]
    click.echo(f"{name} : {job()}")


def init_app(app: Flask) -> None:
    app.cli.add_command(plan_command)
    app.cli.add_command(jobs_cli)
    app.cli.add_command(users_cli)
    app.cli.add_command(nurses_cli)
    app.cli.add_command(tokens_cli)
    app.cli.add_command(seed_demo)
    app.cli.add_command(billing_cli)
    app.cli.add_command(simulate_command)
