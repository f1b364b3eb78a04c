"""`flask --app app simulate …`: the capacity simulation of a department, its progress on stderr,
the comparison table (or the JSON answer) on stdout."""

import json
import sys
import time
from pathlib import Path

import click
from flask.cli import with_appcontext

from app.db import get_session, make_engine, upgrade
from app.rules import booking_rules, offer_rules
from registry.errors import ValidationFailed
from steering.simulation import ScratchDatabases, parse_parameters, simulate
from steering.simulation.report import introduction, text_table

# The simulation's own databases: SQLite files set up and migrated like any deployment's.
SCRATCH = ScratchDatabases(open=lambda path: make_engine(f"sqlite:///{path}"), migrate=upgrade)


class LineProgress:
    """A line on stderr each time the step changes (a simulated day, a search round)."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stderr
        self.last = ""
        self.started = time.perf_counter()

    def __call__(self, message: str, fraction: float) -> None:
        if message == self.last:
            return
        self.last = message
        elapsed = time.perf_counter() - self.started
        click.echo(f"[{fraction * 100:3.0f} % · {elapsed:5.0f} s] {message}", file=self.stream)


@click.command(
    "simulate",
    help="Simule la capacité d'un département : la plateforme et la diffusion à toutes, "
    "sur les mêmes demandes et les mêmes réponses des infirmières.",
)
@click.option("--department", required=True, help="Code du département (ex. 09).")
@click.option(
    "--per-day",
    default="",
    help="Demandes par jour (défaut : la part du département, par sa population, des 11 000 "
    "visites par semaine de 2021).",
)
@click.option("--days", default="", help="Nombre de jours simulés (défaut 7).")
@click.option("--seed", default="", help="Graine du tirage (défaut 1).")
@click.option("--answer-rate", default="", help="Part des infirmières qui répondent (défaut 0,8).")
@click.option("--answer-median-minutes", default="", help="Délai médian de réponse (défaut 20).")
@click.option("--answer-spread", default="", help="Dispersion du délai (sigma, défaut 1).")
@click.option("--decline-rate", default="", help="Part des réponses qui sont des refus (0,2).")
@click.option("--policy", default="both", help="both, platform ou broadcast.")
@click.option(
    "--target",
    default="",
    help="Objectif dans les 24 h (ex. 0,95) : cherche combien d'infirmières ajouter, et où.",
)
@click.option("--max-added-nurses", default="", help="Au plus tant d'infirmières ajoutées (100).")
@click.option(
    "--plan-time-limit",
    default="",
    help="Secondes par passe du planificateur (défaut : PLAN_TIME_LIMIT).",
)
@click.option("--replan-minutes", default="", help="Passe de replanification en attente (15).")
@click.option("--json", "as_json", is_flag=True, help="La réponse en JSON plutôt qu'en tableau.")
@click.option(
    "--output", type=click.Path(dir_okay=False, path_type=Path), help="Écrit aussi le JSON ici."
)
@with_appcontext
def simulate_command(as_json: bool, output: Path | None, **options: str) -> None:
    try:
        params = parse_parameters(options)
    except ValidationFailed as error:
        lines = [
            error.detail,
            *(f"  --{e.field.replace('_', '-')} : {e.message}" for e in error.errors),
        ]
        raise click.ClickException("\n".join(lines)) from error
    simulation = simulate(
        get_session(),
        params,
        rules=offer_rules(),
        booking=booking_rules(),
        databases=SCRATCH,
        progress=LineProgress(),
    )
    result = simulation.as_dict()
    if output is not None:
        output.write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False, indent=1))
        return
    click.echo(introduction(result))
    click.echo("")
    click.echo(text_table(result))
