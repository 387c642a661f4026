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
COMMAND_MODULES = (
    "sim.cli_planner",
    "sim.cli_records",
    "sim.cli_judge",
    "sim.cli_explain",
    "sim.cli_calibrate",
    "sim.cli_serve",
)


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


#: The largest ``--seed`` (seeds run from 0).
MAX_SEED = 2**63 - 1


def add_run_options(p: argparse.ArgumentParser, reps: int = 200) -> None:
    from sim.limits import MAX_REPS, MAX_WORKERS

    p.add_argument("--plan", help="plan file replacing the one the scenario names")
    p.add_argument(
        "--reps",
        type=int,
        default=reps,
        help=f"replications (default %(default)s, at most {MAX_REPS:,})",
    )
    p.add_argument("--seed", type=int, default=1, help="random seed ≥ 0 (default %(default)s)")
    p.add_argument(
        "--workers",
        type=int,
        default=None,
        help=f"local worker processes (default: all cores, at most {MAX_WORKERS})",
    )
    p.add_argument("--scheduler", default=None, help="Dask scheduler address, e.g. tcp://host:8786")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")


def check_count(flag: str, value: int | None, low: int, cap: int, cap_name: str) -> None:
    """``value`` (an integer flag; None: not given) within ``low .. cap``, else a UsageError
    naming the flag and the cap."""
    if value is None:
        return
    if value < low:
        raise UsageError(f"{flag}: must be at least {low}")
    if value > cap:
        raise UsageError(f"{flag}: {value:,} is above the cap of {cap:,} ({cap_name})")


def check_run_args(args: argparse.Namespace) -> None:
    """``--reps``, ``--workers`` and ``--seed`` within their caps."""
    from sim.limits import MAX_REPS, MAX_WORKERS

    check_count("--reps", getattr(args, "reps", None), 1, MAX_REPS, "MAX_REPS")
    check_count("--workers", getattr(args, "workers", None), 1, MAX_WORKERS, "MAX_WORKERS")
    check_count("--seed", getattr(args, "seed", None), 0, MAX_SEED, "MAX_SEED")


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

    check_run_args(args)
    scenario = load_scenario(args.scenario, args.plan)
    summary = run_replications(
        scenario,
        args.reps,
        args.seed,
        workers=args.workers,
        scheduler=args.scheduler,
        progress=progress_printer(not args.json),
    )
    from sim.sources import numbers
    from sim.sources import summary as source_counts

    counts = source_counts(numbers(scenario))
    if args.json:
        _print_json({**summary.as_json(), "number_sources": counts})
        return 0
    print(f"{scenario.name_en} · {scenario.name_zh}")
    # the shares depend on the scenario's numbers: say how many are assumptions
    print(
        f"numbers: {counts['measured']} measured, {counts['assumption']} assumptions, "
        f"{counts['missing']} without a source (drillsim validate --sources {args.scenario})"
    )
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


#: Top-level keys that tell a file's kind (checked in this order; a scenario otherwise).
_PLAN_KEYS = {"grading", "procedure", "rules", "grades"}
_VARIANT_KEYS = {"label_zh", "label_en", "sites", "timing", "plan", "roster", "name", "stochastic"}
_ROSTER_CHANGES = {"add", "remove", "change"}


def file_kind(data: object) -> str:
    """What an input file holds, told from its content: ``plan``, ``evaluation_scales``,
    ``timeline``, ``roster``, ``variant`` or ``scenario`` (also anything unrecognised, so its
    problems are reported against the scenario format)."""
    if not isinstance(data, dict):
        return "scenario"
    keys = set(data)
    if keys & _PLAN_KEYS:
        return "plan"
    if "scales" in keys or "objectives" in keys:
        return "evaluation_scales"
    if "timeline" in keys:
        return "timeline"
    if keys & {"calendar", "incidents", "kind"}:  # a scenario always has its calendar
        return "scenario"
    from sim.scenario import TIMING_FILE_KEYS

    if keys and keys <= TIMING_FILE_KEYS:  # e.g. what drillsim calibrate writes
        return "timing"
    roster = data.get("roster")
    if isinstance(roster, dict) and set(roster) & _ROSTER_CHANGES:
        return "variant"
    if keys in ({"roster"}, {"roster", "sources"}) or (keys >= {"people", "reachability"}):
        return "roster"
    if keys and keys <= _VARIANT_KEYS and not isinstance(roster, str):
        return "variant"
    return "scenario"


def check_evaluation_scales(data: object, file: str) -> tuple[int, int]:
    """Check an evaluation-scales file (``scenarios/evaluation_scales.yaml``): the scales with
    their levels and the drill objectives. Returns (scales, objectives); raises InputError."""
    from sim.yamlio import LineDict, Reader

    r = Reader(file)
    top = r.mapping(data, "(evaluation scales)")
    r.unknown(top, {"default", "scales", "objectives"}, "")
    scales = r.mapping(top.get("scales"), "scales", top, "scales")
    if not scales:
        r.add(top, "scales" if "scales" in top else None, "scales", "need_scale")
    for sid, spec in scales.items():
        pre = f"scales.{sid}"
        spec = r.mapping(spec, pre, scales, sid)
        r.unknown(spec, {"label_zh", "label_en", "source", "levels"}, pre)
        for key in ("label_zh", "label_en", "source"):
            r.take(spec, key, pre, str, "")
        levels = r.sequence(spec.get("levels"), f"{pre}.levels", spec, "levels")
        if not levels:
            r.add(spec, "levels" if "levels" in spec else None, f"{pre}.levels", "no_levels")
        codes: set[str] = set()
        for i, lv in enumerate(levels):
            lpre = f"{pre}.levels[{i}]"
            lv = r.mapping(lv, lpre, levels, i)
            r.unknown(
                lv,
                {"code", "pass", "label_zh", "label_en", "description_zh", "description_en"},
                lpre,
            )
            code = r.take(lv, "code", lpre, str)
            if code in codes:
                r.add(lv, "code", f"{lpre}.code", "duplicate_code", code=repr(code))
            codes.add(code)
            r.take(lv, "pass", lpre, bool, False)
            for key in ("label_zh", "label_en", "description_zh", "description_en"):
                r.take(lv, key, lpre, str, "")
    default = r.take(top, "default", "", str, None)
    if default is not None and default not in scales:
        r.add(top, "default", "default", "default_not_scale", value=repr(default))
    objectives = r.sequence(top.get("objectives", []), "objectives", top, "objectives")
    ids: set[str] = set()
    for i, o in enumerate(objectives):
        opre = f"objectives[{i}]"
        o = r.mapping(o, opre, objectives, i) if o is not None else LineDict()
        r.unknown(o, {"id", "label_zh", "label_en"}, opre)
        oid = r.take(o, "id", opre, str)
        if oid in ids:
            r.add(o, "id", f"{opre}.id", "duplicate_objective", id=repr(oid))
        ids.add(oid)
        r.take(o, "label_zh", opre, str, "")
        r.take(o, "label_en", opre, str, "")
    r.raise_if_any()
    return len(scales), len(objectives)


def _validate_one(path: str, sources: bool = False) -> list[str]:
    """Check one file by its kind; the lines to print (InputError on problems)."""
    from sim.plan import load_plan, parse_plan
    from sim.scenario import load_roster, load_scenario, roster_warnings
    from sim.yamlio import InputError, Problem, load_file

    data = load_file(path)
    kind = file_kind(data)
    if kind == "plan":
        parse_plan(data, path)
        return [f"{path}: ok (plan)"]
    if kind == "evaluation_scales":
        n_scales, n_objectives = check_evaluation_scales(data, path)
        return [f"{path}: ok (evaluation scales, {n_scales} scales, {n_objectives} objectives)"]
    if kind == "timeline":
        from sim.judge import parse_timeline

        tl = parse_timeline(data, path, load_plan())
        return [f"{path}: ok (timeline, {len(tl.incidents)} incidents, {len(tl.records)} records)"]
    if kind == "roster":
        roster = load_roster(path)
        return [f"{path}: ok (roster, {len(roster.people)} people)"]
    if kind == "timing":
        from sim.scenario import check_timing
        from sim.yamlio import Reader

        reader = Reader(path)
        check_timing(reader, data)
        reader.raise_if_any()
        return [f"{path}: ok (timing, {len(data)} entries)"]
    if kind == "variant":
        from sim.variants import _apply_plan, parse_variant

        variant = parse_variant(data, path)
        problems: list[Problem] = []
        _apply_plan(load_plan(), variant.plan, problems)  # its plan changes, on the shipped plan
        if problems:
            raise InputError(problems)
        changes = sum(
            len(x)
            for x in (
                variant.add,
                variant.remove,
                variant.change,
                variant.call_chains,
                variant.reachability,
                variant.sites,
                variant.plan,
                variant.timing,
            )
        )
        return [f"{path}: ok (variant, {changes} changes)"]
    from sim.sources import listing, unknown_paths

    scenario = load_scenario(path)
    unknown = unknown_paths(scenario)
    if unknown:  # a source for a number the scenario does not have: a typing error
        from sim.yamlio import Problem

        raise InputError(
            [Problem(path, 1, f"sources.{key}", "source_unknown_number") for key in unknown]
        )
    warnings = roster_warnings(scenario)
    lines = [str(w) for w in warnings] + [
        f"{path}: ok ({scenario.kind}, {len(scenario.incidents)} scripted incidents, "
        f"{len(warnings)} warnings)"
    ]
    return lines + (listing(scenario) if sources else [])


def cmd_validate(args: argparse.Namespace) -> int:
    """Check each file as what it holds: scenario, plan, roster, variant, timeline or
    evaluation scales (told from its content)."""
    failed = False
    for path in args.files:
        try:
            lines = _validate_one(path, sources=args.sources)
        except InputError as exc:
            failed = True
            for p in exc.problems:
                print(p, file=sys.stderr)
            continue
        for line in lines:
            print(line)
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

    p = sub.add_parser(
        "validate",
        help="check scenario, plan, roster, variant, timeline or evaluation-scales files",
    )
    p.add_argument("files", nargs="+")
    p.add_argument(
        "--sources",
        action="store_true",
        help="list every number of a scenario with its source (assumptions first)",
    )
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
    except UsageError as exc:  # bad arguments, a store that cannot be used, …: one line each
        for line in str(exc).splitlines() or [""]:
            print(f"drillsim: {line}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # pragma: no cover - e.g. piped into head
        return 0
    except OSError as exc:  # an output that cannot be written, a file that vanished: one line
        where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
        print(f"drillsim: {where}{exc.strerror or exc}", file=sys.stderr)
        return 2
