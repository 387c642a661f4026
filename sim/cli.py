"""``python -m sim`` / ``drillsim``: grade, run, validate, bench, and the commands of other modules.

Every command prints either its result or, for bad input, one line per problem
(``file:line: field: message``) on stderr with exit code 2 — never a traceback. Output is
deterministic: the same arguments give byte-identical output.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections.abc import Callable

from sim.yamlio import InputError

# Modules that add their own subcommands: each has ``add_commands(subparsers)``.
COMMAND_MODULES = ("sim.cli_planner", "sim.cli_records", "sim.cli_judge")


class UsageError(Exception):
    """Bad arguments or input: printed as one message, exit code 2."""


def _print_json(obj) -> None:
    print(json.dumps(obj, ensure_ascii=False, indent=2, sort_keys=False))


_JSON_DIGITS = 30  # far more than any count of people needs


def _json_int(text: str) -> int:
    """A JSON integer, refused before Python's own digit limit turns it into a traceback."""
    digits = len(text.lstrip("-"))
    if digits > _JSON_DIGITS:
        raise UsageError(f"incident: a number of {digits} digits (at most {_JSON_DIGITS})")
    return int(text)


def cmd_grade(args: argparse.Namespace) -> int:
    from sim.grading import IncidentError, grade
    from sim.plan import load_plan

    try:
        facts = json.loads(args.incident, parse_int=_json_int)
    except json.JSONDecodeError as exc:
        raise UsageError(f"incident: not valid JSON ({exc.msg} at column {exc.colno})") from None
    except RecursionError:
        raise UsageError(
            "incident: JSON nested too deeply (an incident is one flat object)"
        ) from None
    except ValueError as exc:  # any other number the decoder cannot take
        raise UsageError(f"incident: not usable JSON ({str(exc).splitlines()[0][:80]})") from None
    plan = load_plan(args.plan)
    try:
        result = grade(facts, plan)
    except IncidentError as exc:
        raise UsageError("\n".join(f"incident: {p}" for p in str(exc).split("; "))) from None
    _print_json(result.as_json())
    return 0


def add_run_options(p: argparse.ArgumentParser, reps: int = 200) -> None:
    p.add_argument("--plan", help="plan file replacing the one the scenario names")
    p.add_argument("--reps", type=int, default=reps, help="replications (default %(default)s)")
    p.add_argument("--seed", type=int, default=1, help="random seed (default %(default)s)")
    p.add_argument(
        "--workers", type=int, default=None, help="local worker processes (default: all cores)"
    )
    p.add_argument("--scheduler", default=None, help="Dask scheduler address, e.g. tcp://host:8786")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")


def progress_printer(enabled: bool) -> Callable[[int, int], None] | None:
    """A progress bar on stderr (only when stderr is a terminal, so output stays byte-identical)."""
    if not enabled or not sys.stderr.isatty():
        return None

    def show(done: int, total: int) -> None:
        width = 30
        filled = int(width * done / max(1, total))
        sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
        if done >= total:
            sys.stderr.write("\n")
        sys.stderr.flush()

    return show


def cmd_run(args: argparse.Namespace) -> int:
    from sim.experiment import run_replications
    from sim.scenario import load_scenario

    if args.reps < 1:
        raise UsageError("--reps: must be at least 1")
    scenario = load_scenario(args.scenario, args.plan)
    summary = run_replications(
        scenario,
        args.reps,
        args.seed,
        workers=args.workers,
        scheduler=args.scheduler,
        progress=progress_printer(not args.json),
    )
    if args.json:
        _print_json(summary.as_json())
        return 0
    print(f"{scenario.name_en} · {scenario.name_zh}")
    print(
        f"replications: {summary.reps}   seed: {summary.seed}   all rules met: {summary.all_met_share():.1%}"
    )
    print()
    print(f"{'rule':<30}{'met':>8}{'95% interval':>18}{'p50 min':>10}{'p90 min':>10}{'n':>8}")
    for row in summary.rule_table():
        if not row["applicable"]:
            print(f"{row['id']:<30}{'n/a':>8}{'':>18}{'':>10}{'':>10}{0:>8}")
            continue
        lo, hi = row["ci95"]
        p50 = "" if row["p50_min"] is None else f"{row['p50_min']:.1f}"
        p90 = "" if row["p90_min"] is None else f"{row['p90_min']:.1f}"
        print(
            f"{row['id']:<30}{row['met_share']:>8.1%}{f'{lo:.1%}–{hi:.1%}':>18}{p50:>10}{p90:>10}{row['applicable']:>8}"
        )
    print()
    print(f"{'role':<22}{'people':>7}{'busy':>9}{'calls':>8}{'unanswered':>12}")
    for role, row in summary.roles.items():
        un = "" if row["unanswered_share"] is None else f"{row['unanswered_share']:.1%}"
        print(f"{role:<22}{row['people']:>7}{row['busy_share']:>9.2%}{row['calls']:>8}{un:>12}")
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    from sim.plan import load_plan
    from sim.scenario import load_roster, load_scenario, roster_warnings
    from sim.yamlio import load_file

    failed = False
    for path in args.files:
        try:
            data = load_file(path)
            if isinstance(data, dict) and "grading" in data:
                load_plan(path)
                print(f"{path}: ok (plan)")
                continue
            if isinstance(data, dict) and "roster" in data and "calendar" not in data:
                roster = load_roster(path)
                print(f"{path}: ok (roster, {len(roster.people)} people)")
                continue
            scenario = load_scenario(path)
        except InputError as exc:
            failed = True
            for p in exc.problems:
                print(p, file=sys.stderr)
            continue
        warnings = roster_warnings(scenario)
        for w in warnings:
            print(w)
        print(
            f"{path}: ok ({scenario.kind}, {len(scenario.incidents)} scripted incidents, {len(warnings)} warnings)"
        )
    return 2 if failed else 0


def cmd_bench(args: argparse.Namespace) -> int:
    from sim.bench import bench

    result = bench(quick=args.quick)
    if args.json:
        _print_json(result)
    else:
        for key, value in result.items():
            print(f"{key:<40}{value}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="drillsim", description="Drill simulator for the exam-security emergency plan."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("grade", help="grade an incident given as JSON")
    p.add_argument("incident", help='e.g. \'{"family": "answer_sheet_loss", "people": 120}\'')
    p.add_argument("--plan", help="plan file (default: the shipped plan)")
    p.set_defaults(func=cmd_grade)

    p = sub.add_parser("run", help="replications of a scenario under the plan-compliant policy")
    p.add_argument("scenario")
    add_run_options(p)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("validate", help="check scenario, roster or plan files")
    p.add_argument("files", nargs="+")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("bench", help="model speed against a bare-SimPy reference in the same run")
    p.add_argument("--json", action="store_true")
    p.add_argument("--quick", action="store_true", help="a short run (for tests)")
    p.set_defaults(func=cmd_bench)

    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        module.add_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except InputError as exc:
        for p in exc.problems:
            print(p, file=sys.stderr)
        return 2
    except UsageError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except BrokenPipeError:  # pragma: no cover - e.g. piped into head
        return 0
