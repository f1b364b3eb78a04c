"""Load benchmark (issue 9): gunicorn and PostgreSQL on loopback, driven at constant arrival rates
by a mix of agents' bookings and reads, nurses' API calls, offer answers and nurses' pages; prints
per rate step the achieved throughput, latency percentiles, errors and CPU use, and the first step
that misses the target (200 requests/s with p99 < 300 ms and no error).

    python -m benchmarks.load [--seconds N] [--rates 50,100,200,300,400] [--workers W]
                              [--worker-class sync|gthread] [--threads T] [--plan-on-change B]

The PostgreSQL database (--database-url with --wipe, else BENCH_DATABASE_URL, else test_load on
the local server) is wiped, migrated and seeded with the demonstration (60 nurses of Ariège, the
CPAM 091 agent, six weeks of history) through the real services, plus an API token per nurse and
one for the agent, then planned once so that offers exist; 20 nurses sign in through the login
form for the pages. gunicorn is started as `make serve` starts it (by default 2 gthread workers of
4 threads, WEB_CONCURRENCY and GUNICORN_THREADS as there, access log), in production with the
scheduler and planning on change on (--plan-on-change false shows the web tier alone).

The load is open-loop: request i leaves at start + i / rate whether or not earlier ones were
answered, and its latency is counted from that instant, so a server that falls behind is seen as
latency, not hidden by a slower client (the send lag column says how late the generator itself
was). A warm-up of 5 s is not reported; each step is followed by a wait until the server answers
at once again. Per step: the throughput achieved (answers that are 2xx or expected, over the
step), nearest-rank percentiles, errors by status or exception (10 s timeout), and CPU as % of one
core for the load generator, gunicorn, this database's PostgreSQL backends and everything else on
the machine, all sharing its cores; then the latency of each kind of call. Every step is bounded
in requests and time; traffic goes to 127.0.0.1 only; the exit status is 0.
"""

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import random
import re
import resource
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import aiohttp
import sqlalchemy as sa
from sqlmodel import Session, select

from app import create_app
from app.config import Settings
from app.db import make_engine, upgrade
from app.demo import DEMO_PASSWORD, DEPARTMENT, load_demo
from app.jobs import tasks
from registry import accounts, api_tokens
from registry.accounts import User
from registry.geo.communes import commune_directory
from registry.identifiers import nir_key
from registry.nurses.models import Nurse, NurseStatus
from registry.requests.models import VisitRequest
from registry.visits.models import Offer

DATABASE_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test_load"
PROJECT = Path(__file__).resolve().parent.parent
GUNICORN = Path(sys.executable).with_name("gunicorn")
TARGET_RATE, TARGET_P99_MS, MIN_ACHIEVED = 200, 300, 0.95
# Share of arrivals per kind of call, in %. Most calls are reads: agents follow their requests (the
# page refreshes every 15 s), nurses look at their offers, home and visits, from the phone's app
# or its pages. 2 % of bookings is already a surge (4 a second at 200 req/s, some 14 000 an hour
# into one department of 60 nurses, who soon have no room left), so the planner works hard too.
# An answer needs a live offer seen in a nurse's list; while none is known, that arrival reads
# a nurse's list instead.
MIX = {
    "book": 2,
    "request": 25,
    "offers api": 28,
    "answer": 3,
    "offers page": 20,
    "home page": 10,
    "visits page": 10,
}
PAGES = {"offers page": "/nurse/offers", "home page": "/nurse/", "visits page": "/nurse/visits"}
# 409 is the answer to an offer that is no longer live (expired, or the planner closed it):
# a correct refusal under races, not a failure.
EXPECTED = {"answer": {409}}
SIGNED_IN_NURSES = 20
TIMEOUT_S, GRACE_S, DRAIN_S, WARM_UP, CONNECTIONS = 10.0, 10.0, 60.0, (30, 5), 512
CSRF = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')
FIRST_NAMES = ("Jeanne", "Louis", "Marie", "Ahmed", "Inès", "Paul", "Chloé", "Karim", "Rose")
LAST_NAMES = ("Dupont", "Martin", "Garcia", "Roux", "Benali", "Faure", "Pujol", "Soulé", "Galy")


@dataclass
class Seed:
    agent_bearer: str
    nurses: list[tuple[str, str]]  # (e-mail, bearer)
    request_ids: list[int]


def prepare(url: str) -> Seed:
    """Wipes the database, migrates it and loads the demonstration through its services."""
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(sa.text("DROP SCHEMA public CASCADE"))
        connection.execute(sa.text("CREATE SCHEMA public"))
    upgrade(engine)
    with Session(engine, expire_on_commit=False) as session:
        load_demo(session)
        agent = accounts.find_by_email(session, "agent@demo.vdsi.fr")
        _token, agent_bearer = api_tokens.issue_token(session, agent, name="SI CPAM", actor="bench")
        nurses = []
        active = select(User).join(Nurse).where(Nurse.status == NurseStatus.ACTIVE)
        for user in session.exec(active.order_by(User.id)):
            _token, bearer = api_tokens.issue_token(session, user, name="mobile", actor="bench")
            nurses.append((user.email, bearer))
        request_ids = list(session.exec(select(VisitRequest.id).order_by(VisitRequest.id)))
        session.commit()
    app = create_app(Settings(env="production", database_url=url, secret_key=secrets.token_hex(16)))
    with app.app_context():
        tasks.planning()  # offers for the open demo requests, before the load starts
    app.extensions["engine"].dispose()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(sa.text("ANALYZE"))
    engine.dispose()
    return Seed(agent_bearer, nurses, request_ids)


class Server:
    """gunicorn as `make serve` runs it, in its own process group, on a free loopback port."""

    def __init__(self, url: str, log: Path, workers: int, extra: list[str], plan_on_change: bool):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.log, self.workers, self.extra = log, workers, extra
        self.env = {
            **os.environ,
            "APP_ENV": "production",
            "SECRET_KEY": secrets.token_hex(32),
            "DATABASE_URL": url,
            "WEB_CONCURRENCY": str(workers),
            "SCHEDULER": "true",
            "PLAN_ON_CHANGE": "true" if plan_on_change else "false",
            # Nothing leaves the machine: commune geocoder, messages to the log.
            "GEOCODER": "commune",
            "MAIL_BACKEND": "console",
            "NOTIFICATION_CHANNELS": "console",
        }
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        return [
            str(GUNICORN),
            "--bind",
            f"127.0.0.1:{self.port}",
            "--workers",
            str(self.workers),
            "--access-logfile",
            "-",
            *self.extra,
            "app.wsgi:application",
        ]

    def start(self) -> None:
        with self.log.open("a") as output:
            self.process = subprocess.Popen(  # noqa: S603 (our own gunicorn, fixed arguments)
                self.command(),
                cwd=PROJECT,
                env=self.env,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {self.log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=2) as answer:  # noqa: S310 (loopback)
                    if answer.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"gunicorn did not answer /healthz: {self.log.read_text()[-2000:]}")

    def pids(self) -> list[int]:
        if self.process is None:
            return []
        master = self.process.pid
        try:
            children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
        except OSError:
            children = []
        return [master, *map(int, children)]

    def stop(self) -> None:
        """SIGTERM, as a service manager stops it (workers finish their request), then SIGKILL."""
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=35)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)


def cpu_seconds(pids: list[int]) -> float:
    ticks = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended meanwhile
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> float:
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    return (sum(values[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Meters:
    """CPU of the load generator, gunicorn, this database's PostgreSQL backends and the machine."""

    def __init__(self, server: Server, engine: sa.Engine):
        self.server, self.engine = server, engine
        self.pg_seen: dict[int, float] = {}

    def _pg(self) -> float:
        with self.engine.connect() as connection:
            pids = connection.execute(
                sa.text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
            ).scalars()
            for pid in pids:
                self.pg_seen[pid] = cpu_seconds([pid]) or self.pg_seen.get(pid, 0.0)
        return sum(self.pg_seen.values())

    def read(self) -> tuple[float, ...]:
        return (
            time.monotonic(),
            own_cpu_seconds(),
            cpu_seconds(self.server.pids()),
            self._pg(),
            machine_busy_seconds(),
        )


@dataclass
class Outcome:
    kind: str
    status: str  # the HTTP status, or the exception's name
    seconds: float
    ended: float


@dataclass
class Step:
    rate: int
    seconds: float
    outcomes: list[Outcome]
    cpu: dict[str, float]
    lag_ms: float
    unfinished: int
    wall: float

    @property
    def sent(self) -> int:
        return len(self.outcomes) + self.unfinished

    def failures(self) -> Counter:
        found = Counter(o.status for o in self.outcomes if not ok(o))
        if self.unfinished:
            found["unfinished"] = self.unfinished
        return found

    def achieved(self, start: float) -> float:
        answered = [o for o in self.outcomes if ok(o)]
        if not answered:
            return 0.0
        return len(answered) / max(self.seconds, max(o.ended for o in answered) - start)

    def server_ms(self) -> float:
        """CPU of gunicorn and PostgreSQL per answered request: what a request costs, whatever
        else the machine was doing."""
        answered = sum(1 for o in self.outcomes if o.status.isdigit())
        busy = (self.cpu.get("gunicorn", 0) + self.cpu.get("PostgreSQL", 0)) / 100 * self.wall
        return busy / answered * 1000 if answered else float("nan")

    def expected(self) -> int:
        return sum(1 for o in self.outcomes if o.status.isdigit() and not o.status.startswith("2"))


def ok(outcome: Outcome) -> bool:
    if not outcome.status.isdigit():
        return False
    code = int(outcome.status)
    return 200 <= code < 300 or code in EXPECTED.get(outcome.kind, ())


def percentile(values: list[float], share: float) -> float:
    """Nearest rank, in milliseconds."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, int(len(ordered) * share + 0.999999) - 1))] * 1000


class Traffic:
    """Builds each call of the mix: valid bookings with unique NIRs and idempotency keys, reads of
    known requests, the nurses' lists, pages and answers to the offers their lists showed."""

    def __init__(self, seed: Seed, cookies: list[str], rng: random.Random):
        self.seed, self.cookies, self.rng = seed, cookies, rng
        self.kinds, self.weights = zip(*MIX.items(), strict=True)
        self.request_ids = list(seed.request_ids)
        self.live: dict[int, int] = {}  # offer id -> nurse index
        self.answered: set[int] = set()
        self.conflicts: Counter = Counter()  # the detail of each 409
        self.serial = itertools.count(1)
        communes = sorted(
            commune_directory().in_department(DEPARTMENT), key=lambda c: -c.population
        )
        self.communes = communes[:60]
        self.commune_weights = [c.population**0.7 for c in self.communes]

    def booking(self) -> dict:
        rng, serial = self.rng, next(self.serial)
        born = date(1940 + serial % 60, 1 + serial % 12, 1 + serial % 28)
        # Sex, year and month of birth, Ariège, then a commune and a rank the demo never uses
        # (its open requests have ranks up to 12): one open request per patient.
        body = f"{1 + serial % 2}{born.year % 100:02d}{born.month:02d}{DEPARTMENT}"
        body += f"{1 + serial // 500:03d}{500 + serial % 500:03d}"
        commune = rng.choices(self.communes, self.commune_weights)[0]
        consent = datetime.now(UTC) - timedelta(minutes=rng.randint(5, 120))
        return {
            "nir": body + nir_key(body),
            "first_name": rng.choice(FIRST_NAMES),
            "last_name": rng.choice(LAST_NAMES),
            "birth_date": born.isoformat(),
            "phone": f"06{rng.randint(10, 89)}{rng.randrange(10**6):06d}",
            "address": {
                "street": f"{rng.randint(1, 40)} rue de la République",
                "postal_code": commune.postal_codes[0],
                "commune": commune.name,
            },
            "languages": ["fr"],
            "household_size": rng.randint(1, 5),
            "household_tests": rng.choice([[], [{"kind": "tag", "count": 1}]]),
            "consent_at": consent.isoformat(),
            "preferred_times": rng.sample(["morning", "afternoon", "evening"], rng.randint(0, 2)),
            "external_ref": f"LOAD-{serial:07d}",
        }

    def next_call(self) -> "Call":
        """The next arrival's call, drawn from the mix."""
        rng = self.rng
        kind = rng.choices(self.kinds, self.weights)[0]
        agent = {"Authorization": f"Bearer {self.seed.agent_bearer}"}
        if kind == "book":
            headers = {**agent, "Idempotency-Key": secrets.token_hex(12)}
            return Call(kind, "POST", "/api/v1/visit-requests", headers, self.booking())
        if kind == "request":
            return Call(
                kind, "GET", f"/api/v1/visit-requests/{rng.choice(self.request_ids)}", agent
            )
        if kind in PAGES:
            return Call(kind, "GET", PAGES[kind], {"Cookie": rng.choice(self.cookies)})
        if kind == "answer" and self.live:
            offer_id = rng.choice(list(self.live))
            nurse = self.live.pop(offer_id)
            self.answered.add(offer_id)
            headers = {"Authorization": f"Bearer {self.seed.nurses[nurse][1]}"}
            if rng.random() < 0.7:
                return Call(kind, "POST", f"/api/v1/offers/{offer_id}/accept", headers)
            body = {"reason": rng.choice(["unavailable", "too_far"])}
            return Call(kind, "POST", f"/api/v1/offers/{offer_id}/decline", headers, body)
        nurse = rng.randrange(len(self.seed.nurses))
        headers = {"Authorization": f"Bearer {self.seed.nurses[nurse][1]}"}
        return Call("offers api", "GET", "/api/v1/offers", headers, nurse=nurse)

    def learn(self, call: "Call", status: int, body: bytes) -> None:
        """Feeds the pools from the answers: booked requests to read, offers to answer."""
        if call.kind == "book" and status == 201:
            self.request_ids.append(json.loads(body)["id"])
        elif call.kind == "offers api" and status == 200:
            for item in json.loads(body)["items"]:
                if item["id"] not in self.answered:
                    self.live.setdefault(item["id"], call.nurse)
        elif status == 409:
            detail = body.decode(errors="replace")[:200]
            with contextlib.suppress(ValueError):
                detail = json.loads(body).get("detail", detail)
            self.conflicts[f"{call.kind}: {detail}"] += 1


@dataclass
class Call:
    kind: str
    method: str
    path: str
    headers: dict[str, str]
    body: dict | None = None
    nurse: int = -1


async def sign_in(client: aiohttp.ClientSession, email: str) -> str:
    """The session cookie of a nurse signed in through the login form. The cookie is Secure (a
    production deployment is behind TLS), so it is carried by hand over plain loopback HTTP."""
    async with client.get("/login") as form:
        token = CSRF.search(await form.text()).group(1)
        first = _cookie(form)
    fields = {"email": email, "password": DEMO_PASSWORD, "csrf_token": token}
    async with client.post(
        "/login", data=fields, headers={"Cookie": first}, allow_redirects=False
    ) as answer:
        if answer.status != 302:
            raise RuntimeError(f"sign-in of {email} answered {answer.status}")
        return _cookie(answer)


def _cookie(response: aiohttp.ClientResponse) -> str:
    for header in response.headers.getall("Set-Cookie", []):
        pair = header.split(";", 1)[0]
        if pair.split("=", 1)[0].strip() == "vdsi_session":
            return pair
    raise RuntimeError("no session cookie in the answer")


async def call(client: aiohttp.ClientSession, traffic: Traffic, due: float, sink: list) -> None:
    planned = traffic.next_call()
    try:
        async with client.request(
            planned.method, planned.path, headers=planned.headers, json=planned.body
        ) as response:
            body = await response.read()
        status = str(response.status)
        traffic.learn(planned, response.status, body)
    except (aiohttp.ClientError, TimeoutError) as error:
        status = type(error).__name__
    ended = time.perf_counter()
    sink.append(Outcome(planned.kind, status, ended - due, ended))


async def run_step(
    client: aiohttp.ClientSession,
    traffic: Traffic,
    rate: int,
    seconds: float,
    meters: Meters | None,
) -> tuple[Step, float]:
    """`rate` arrivals a second for `seconds`, each sent at its instant; then at most GRACE_S for
    the last answers, after which those still out are counted as unfinished."""
    total = int(rate * seconds)
    before = meters.read() if meters else None
    outcomes: list[Outcome] = []
    pending, lag = [], 0.0
    start = time.perf_counter() + 0.05
    for index in range(total):
        due = start + index / rate
        wait = due - time.perf_counter()
        if wait > 0:
            await asyncio.sleep(wait)
        lag = max(lag, time.perf_counter() - due)
        pending.append(asyncio.create_task(call(client, traffic, due, outcomes)))
    _done, late = await asyncio.wait(pending, timeout=GRACE_S)
    for task in late:
        task.cancel()
    await asyncio.gather(*late, return_exceptions=True)
    cpu, wall = {}, 0.0
    if meters:
        after = meters.read()
        wall = after[0] - before[0]
        names = ("load generator", "gunicorn", "PostgreSQL", "machine")
        pairs = zip(names, after[1:], before[1:], strict=True)
        cpu = {name: (end - begin) / wall * 100 for name, end, begin in pairs}
        # What the machine's other users (tests run meanwhile, say) took.
        cpu["others"] = max(0.0, cpu.pop("machine") - sum(cpu.values()))
    return Step(rate, seconds, outcomes, cpu, lag * 1000, len(late), wall), start


@dataclass
class Result:
    step: Step
    achieved: float
    p50: float
    p95: float
    p99: float
    max: float
    by_kind: dict[str, list[float]] = field(default_factory=dict)

    @property
    def degraded(self) -> list[str]:
        why = []
        if self.p99 > TARGET_P99_MS:
            why.append(f"p99 > {TARGET_P99_MS} ms")
        if self.step.failures():
            why.append("errors")
        if self.achieved < MIN_ACHIEVED * self.step.rate:
            why.append(f"achieved < {MIN_ACHIEVED:.0%}")
        return why


def summarise(step: Step, start: float) -> Result:
    latencies = [o.seconds for o in step.outcomes if ok(o)]
    by_kind = defaultdict(list)
    for outcome in step.outcomes:
        by_kind[outcome.kind].append(outcome.seconds)
    return Result(
        step,
        step.achieved(start),
        percentile(latencies, 0.50),
        percentile(latencies, 0.95),
        percentile(latencies, 0.99),
        max(latencies, default=float("nan")) * 1000,
        dict(by_kind),
    )


def table(results: list[Result]) -> str:
    lines = [
        "| offered req/s | sent | achieved req/s | p50 ms | p95 ms | p99 ms | max ms "
        "| expected 4xx | errors | send lag ms | CPU % gen / gunicorn / PG / others "
        "| server CPU ms/req | verdict |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | --- | ---: | --- |",
    ]
    for r in results:
        errors = ", ".join(f"{n} × {s}" for s, n in sorted(r.step.failures().items())) or "0"
        cpu = " / ".join(f"{r.step.cpu[n]:.0f}" for n in r.step.cpu) or "—"
        verdict = ", ".join(r.degraded) or "met"
        lines.append(
            f"| {r.step.rate} | {r.step.sent} | {r.achieved:.1f} | {r.p50:.0f} | {r.p95:.0f} "
            f"| {r.p99:.0f} | {r.max:.0f} | {r.step.expected()} | {errors} "
            f"| {r.step.lag_ms:.0f} | {cpu} | {r.step.server_ms():.1f} | {verdict} |"
        )
    return "\n".join(lines)


def kind_table(results: list[Result]) -> str:
    lines = [
        "| offered req/s | call | count | p50 ms | p99 ms | statuses |",
        "| ---: | --- | ---: | ---: | ---: | --- |",
    ]
    for r in results:
        statuses = defaultdict(Counter)
        for outcome in r.step.outcomes:
            statuses[outcome.kind][outcome.status] += 1
        for kind in MIX:
            values = r.by_kind.get(kind, [])
            if not values:
                continue
            shown = ", ".join(f"{s} × {n}" for s, n in sorted(statuses[kind].items()))
            lines.append(
                f"| {r.step.rate} | {kind} | {len(values)} | {percentile(values, 0.5):.0f} "
                f"| {percentile(values, 0.99):.0f} | {shown} |"
            )
    return "\n".join(lines)


def database_state(url: str) -> str:
    engine = make_engine(url)
    with Session(engine) as session:
        requests = session.exec(
            select(VisitRequest.status, sa.func.count()).group_by(VisitRequest.status)
        ).all()
        offers = session.exec(select(Offer.status, sa.func.count()).group_by(Offer.status)).all()
    engine.dispose()
    shown = ", ".join(f"{s} {n}" for s, n in sorted(requests))
    return f"requests: {shown}; offers: " + ", ".join(f"{s} {n}" for s, n in sorted(offers))


async def drive(
    server: Server, seed: Seed, args, engine: sa.Engine
) -> tuple[list[Result], Counter]:
    async with aiohttp.ClientSession(
        base_url=server.url,
        # Idle connections are dropped before gunicorn's keep-alive (2 s) closes them, as a
        # reverse proxy does, rather than racing a request against the server's close.
        connector=aiohttp.TCPConnector(limit=CONNECTIONS, keepalive_timeout=1.0),
        timeout=aiohttp.ClientTimeout(total=TIMEOUT_S),
        cookie_jar=aiohttp.DummyCookieJar(),  # sessions are carried by hand (see sign_in)
    ) as client:
        cookies = [await sign_in(client, email) for email, _ in seed.nurses[:SIGNED_IN_NURSES]]
        traffic = Traffic(seed, cookies, random.Random(args.seed))
        # Warm-up, not reported: every worker loads its commune table and opens its connections.
        await run_step(client, traffic, *WARM_UP, meters=None)
        results = []
        meters = Meters(server, engine)
        for rate in args.rates:
            step, start = await run_step(client, traffic, rate, args.seconds, meters)
            results.append(summarise(step, start))
            progress(f"{rate} req/s: p99 {results[-1].p99:.0f} ms, {results[-1].achieved:.1f}/s")
            if sum(step.failures().values()) > step.sent / 2:
                progress("more than half failed: the higher rates are not run")
                break
            await drain(client)
        return results, traffic.conflicts


async def drain(client: aiohttp.ClientSession) -> None:
    """Waits until the server answers at once again, so that a step does not start on the queue
    the previous one left (the requests its clients gave up on are still served)."""
    deadline = time.monotonic() + DRAIN_S
    while time.monotonic() < deadline:
        began = time.perf_counter()
        try:
            async with client.get("/healthz") as answer:
                await answer.read()
                if answer.status == 200 and time.perf_counter() - began < 0.05:
                    return
        except (aiohttp.ClientError, TimeoutError):
            pass
        await asyncio.sleep(0.5)
    progress(f"the server was still busy after {DRAIN_S} s")


def progress(message: str) -> None:
    print(f"… {message}", file=sys.stderr, flush=True)


def arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.load")
    parser.add_argument("--seconds", type=float, default=20.0, help="per rate step")
    parser.add_argument(
        "--rates", type=lambda v: [int(r) for r in v.split(",")], default=[50, 100, 200, 300, 400]
    )
    # The defaults are what `make serve` runs.
    parser.add_argument("--workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", 2)))
    parser.add_argument("--worker-class", default="gthread", choices=("sync", "gthread"))
    parser.add_argument(
        "--threads", type=int, default=int(os.environ.get("GUNICORN_THREADS", 4)), help="per worker"
    )
    parser.add_argument(
        "--plan-on-change", default="true", choices=("true", "false"), help="PLAN_ON_CHANGE"
    )
    parser.add_argument("--database-url", default="", help="PostgreSQL database to wipe")
    parser.add_argument("--wipe", action="store_true", help="allow wiping --database-url")
    parser.add_argument("--seed", type=int, default=2021)
    args = parser.parse_args(argv)
    if args.database_url and not args.wipe:
        parser.error("--database-url wipes that database: add --wipe to confirm")
    args.database_url = args.database_url or os.environ.get("BENCH_DATABASE_URL") or DATABASE_URL
    if not args.database_url.startswith("postgresql"):
        parser.error("the load runs on PostgreSQL, the production database")
    return args


def _interrupted(_signum, _frame):
    # Ctrl-C, or SIGTERM (timeout, a service manager): gunicorn is stopped on the way out. Set
    # for both, since a shell starts background jobs with Ctrl-C ignored.
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = arguments(argv)
    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, _interrupted)
    load = os.getloadavg()
    progress(f"load average before: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; preparing the data")
    began = time.perf_counter()
    seed = prepare(args.database_url)
    progress(f"seeded in {time.perf_counter() - began:.1f} s; starting gunicorn")
    extra = ["--worker-class", args.worker_class]
    if args.worker_class == "gthread":
        extra += ["--threads", str(args.threads)]
    engine = make_engine(args.database_url)
    with tempfile.TemporaryDirectory() as folder:
        log = Path(folder) / "gunicorn.log"
        server = Server(args.database_url, log, args.workers, extra, args.plan_on_change == "true")
        try:
            server.start()
            results, conflicts = asyncio.run(drive(server, seed, args, engine))
        except KeyboardInterrupt:
            progress("interrupted: gunicorn stopped")
            return 0
        finally:
            server.stop()
            engine.dispose()
        tracebacks = log.read_text().count("Traceback")
    print(f"\nLoad on loopback: gunicorn + PostgreSQL, {os.cpu_count()} cores shared with the load")
    print(f"gunicorn {' '.join(server.command()[1:])}")
    print(
        f"SCHEDULER=true PLAN_ON_CHANGE={args.plan_on_change}; {args.seconds:g} s per step; "
        f"load average before {load[0]:.2f}, after {os.getloadavg()[0]:.2f}; "
        f"server tracebacks: {tracebacks}"
    )
    report(results, conflicts)
    print("\nAfter the run, " + database_state(args.database_url))
    return 0


def report(results: list[Result], conflicts: Counter) -> None:
    print(f"mix: {', '.join(f'{k} {w} %' for k, w in MIX.items())}\n")
    print(table(results))
    degraded = next((r for r in results if r.degraded), None)
    target = next((r for r in results if r.step.rate == TARGET_RATE), None)
    if target:
        verdict = "met" if not target.degraded else "missed (" + ", ".join(target.degraded) + ")"
        print(f"\nTarget {TARGET_RATE} req/s, p99 < {TARGET_P99_MS} ms, no error: {verdict}")
    shown = f"{degraded.step.rate} req/s ({', '.join(degraded.degraded)})" if degraded else "—"
    print(f"Degrades at: {shown}")
    print("\nPer call\n")
    print(kind_table(results))
    for detail, count in conflicts.most_common():
        print(f"409 × {count}: {detail}")


if __name__ == "__main__":
    sys.exit(main())
