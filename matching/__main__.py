"""`python -m matching solve INSTANCE.json [--time-limit S] [--seed N]`: the solution as JSON on
stdout; a bad instance is described on stderr with exit status 2."""

import argparse
import json
import sys

from matching.instance_file import InstanceError, read_instance, solution_document
from matching.model import Params
from matching.solver import solve


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m matching")
    commands = parser.add_subparsers(dest="command", required=True)
    solve_command = commands.add_parser("solve", help="solve an instance file")
    solve_command.add_argument("instance", help="instance JSON file, or - for standard input")
    solve_command.add_argument("--time-limit", type=float, default=Params.time_limit)
    solve_command.add_argument("--seed", type=int, default=Params.seed)
    arguments = parser.parse_args(argv)
    try:
        with open(arguments.instance if arguments.instance != "-" else 0, encoding="utf-8") as file:
            data = json.load(file)
        instance = read_instance(data)
    except OSError as error:
        print(f"cannot read {arguments.instance}: {error.strerror}", file=sys.stderr)
        return 2
    except json.JSONDecodeError as error:
        print(f"{arguments.instance} is not JSON: {error}", file=sys.stderr)
        return 2
    except InstanceError as error:
        print(f"{arguments.instance} is not a valid instance:", file=sys.stderr)
        for problem in error.problems:
            print(f"  {problem}", file=sys.stderr)
        return 2
    if arguments.time_limit <= 0:
        print("--time-limit must be positive", file=sys.stderr)
        return 2
    solution = solve(instance, Params(time_limit=arguments.time_limit, seed=arguments.seed))
    json.dump(solution_document(solution, instance), sys.stdout, ensure_ascii=False, indent=1)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
