"""The matching benchmark: realistic instances solved by the planner through its file interface
(`python -m matching solve`, one process per run, so its peak memory is its own), every solution
verified by the independent checker, side by side with the physical limits, PyVRP, VROOM and the
incumbents' broadcast policy on the same instances.

    python -m benchmarks.matching [--sizes rural,urban,national,surge] [--runs 3] [--seed 0]

Peers get ten times the planner's time target; they run on the department instances (their
full travel matrix of a national instance would not fit in memory). Prints one table."""

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks import peers
from benchmarks.instances import SIZES, Size, generate
from matching.check import violations
from matching.instance_file import read_instance
from matching.model import Instance

PEER_FACTOR = 10
PEER_SIZES = {"rural", "urban"}
BOUND_SIZES = {"rural", "urban", "national"}
BROADCAST_DRAWS = 5
# The broadcast pairs every request with every eligible nurse: tens of millions on a surge.
BROADCAST_SIZES = {"rural", "urban", "national"}


@dataclass
class Row:
    size: Size
    solver: str
    served: int | None = None
    priority: int | None = None  # priority requests served
    km: float | None = None
    seconds: float | None = None
    wall: float | None = None
    peak_mib: float | None = None
    checked: str = ""
    verdict: str = ""


# The solver's command line, which then reports its own peak resident memory (VmHWM: this process
# image only, not the harness it was started from).
RUN_SOLVER = (
    "import sys\n"
    "from matching.__main__ import main\n"
    "status = main(sys.argv[1:])\n"
    "peak = next(l for l in open('/proc/self/status') if l.startswith('VmHWM'))\n"
    "print('peak_kib', peak.split()[1], file=sys.stderr)\n"
    "sys.exit(status)\n"
)


def ours(instance_path: Path, instance: Instance, size: Size, runs: int, seed: int) -> Row:
    results = []
    for run in range(runs):
        started = time.perf_counter()
        command = [sys.executable, "-c", RUN_SOLVER, "solve", str(instance_path)]
        command += ["--time-limit", str(size.budget), "--seed", str(seed + run)]
        process = subprocess.run(command, capture_output=True, check=False)  # noqa: S603
        wall = time.perf_counter() - started
        if process.returncode != 0:
            raise SystemExit(f"python -m matching solve failed on {size.key}: {process.stderr}")
        peak_kib = int(process.stderr.decode().split("peak_kib")[-1].split()[0])
        results.append((json.loads(process.stdout), wall, peak_kib / 1024))
    row = _row(size, "this planner", instance, [s for s, _w, _m in results])
    row.wall = statistics.median(w for _s, w, _m in results)
    row.peak_mib = max(m for _s, _w, m in results)
    return row


def _row(size: Size, name: str, instance: Instance, solutions: list[dict]) -> Row:
    """Median served and km over the solutions, each verified by the checker."""
    problems = [violations(instance, solution) for solution in solutions]
    priority = {r.id for r in instance.requests if r.priority}
    failed = sum(1 for found in problems if found)
    return Row(
        size,
        name,
        served=int(statistics.median(s["stats"]["served"] for s in solutions)),
        priority=int(
            statistics.median(
                sum(1 for a in s["assignments"] if a["request"] in priority) for s in solutions
            )
        ),
        km=statistics.median(s["stats"]["travel_km"] for s in solutions),
        seconds=statistics.median(s["stats"]["seconds"] for s in solutions),
        checked="feasible" if not failed else f"{failed} INFEASIBLE: {problems[0][0]}",
    )


def measure(size: Size, runs: int, seed: int, with_peers: bool) -> list[Row]:
    document = generate(size, seed)
    instance = read_instance(document)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"{size.key}.json"
        path.write_text(json.dumps(document), encoding="utf-8")
        del document
        progress(f"{size.key}: this planner, {runs} run(s)")
        rows.append(ours(path, instance, size, runs, seed))
    if size.key in BOUND_SIZES:
        progress(f"{size.key}: bounds")
        upper, lower = peers.bounds(instance)
        rows.append(Row(size, "physical limit", served=upper, km=lower, checked="bound"))
    if with_peers and size.key in PEER_SIZES:
        budget = size.target_seconds * PEER_FACTOR
        progress(f"{size.key}: PyVRP, {budget:.0f} s")
        rows.append(_row(size, "PyVRP 0.14", instance, [peers.solve_pyvrp(instance, budget, seed)]))
        progress(f"{size.key}: VROOM, {budget:.0f} s")
        rows.append(_row(size, "VROOM 1.15", instance, [peers.solve_vroom(instance, budget)]))
    if size.key in BROADCAST_SIZES:
        progress(f"{size.key}: broadcast, {BROADCAST_DRAWS} answer orders")
        draws = [peers.broadcast(instance, seed * 100 + draw) for draw in range(BROADCAST_DRAWS)]
        rows.append(_row(size, "broadcast, first to answer", instance, draws))
    _verdict(rows)
    return rows


def _verdict(rows: list[Row]) -> None:
    """Whether the planner meets the size's target (see docs/benchmarks.md)."""
    ours_row, size = rows[0], rows[0].size
    checks = [ours_row.checked == "feasible", ours_row.seconds < size.target_seconds]
    limit = next((r for r in rows if r.solver == "physical limit"), None)
    others = [r for r in rows if r.solver.startswith(("PyVRP", "VROOM"))]
    if others:
        best = max(r.served for r in others)
        fewest = min(r.km for r in others if r.served == best)
        checks.append(ours_row.served >= best)
        checks.append(ours_row.served > best or ours_row.km <= fewest + 1e-6)
    if size.key == "national" and limit is not None:
        checks.append(ours_row.served == limit.served)
    if size.key == "surge":
        checks.append(ours_row.peak_mib < 4096 and ours_row.wall < size.target_seconds)
    ours_row.verdict = "met" if all(checks) else "MISSED"


def progress(message: str) -> None:
    print(f"… {message}", file=sys.stderr, flush=True)


def table(rows: list[Row]) -> str:
    def number(value, form):
        return "—" if value is None else format(value, form)

    lines = [
        "| instance | requests × nurses | solver | served | priority served | road km "
        "| km per visit | solve s | wall s | peak MiB | checker | target |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |",
    ]
    for row in rows:
        per_visit = row.km / row.served if row.km is not None and row.served else None
        lines.append(
            f"| {row.size.label} | {row.size.requests} × {row.size.nurses} | {row.solver} "
            f"| {number(row.served, 'd')} | {number(row.priority, 'd')} "
            f"| {number(row.km, '.1f')} | {number(per_visit, '.2f')} "
            f"| {number(row.seconds, '.2f')} | {number(row.wall, '.2f')} "
            f"| {number(row.peak_mib, '.0f')} | {row.checked} | {row.verdict} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.matching")
    parser.add_argument(
        "--sizes", default=",".join(SIZES), help="comma-separated, of: " + ", ".join(SIZES)
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-peers", action="store_true", help="skip PyVRP and VROOM")
    arguments = parser.parse_args(argv)
    keys = [key.strip() for key in arguments.sizes.split(",") if key.strip()]
    unknown = [key for key in keys if key not in SIZES]
    if unknown:
        parser.error(f"unknown size(s) {', '.join(unknown)}; choose among {', '.join(SIZES)}")
    with_peers = not arguments.no_peers
    if with_peers:
        try:
            import pyvrp  # noqa: F401
            import vroom  # noqa: F401
        except ImportError:
            parser.error("PyVRP and VROOM are bench extras: pip install -e '.[bench]'")
    rows = []
    for key in keys:
        rows += measure(SIZES[key], arguments.runs, arguments.seed, with_peers)
    print(table(rows))
    return 0 if all(row.verdict != "MISSED" for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
