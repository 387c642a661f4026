"""The planner's commands: ``compare``, ``sweep``, ``size`` and ``bench-planner``.

::

    python -m sim compare scenarios/season_2027.yaml --variant scenarios/variants/*.yaml \\
        --reps 2000 --seed 1 [--workers N] [--scheduler tcp://host:8786] [--json]
        [--half-width 0.01] [--out-csv out/cmp.csv] [--out-parquet out/cmp.parquet] [--out-png out/cmp.png]
    python -m sim sweep scenarios/season_2027.yaml --param roster.reachability.off_duty.answer_prob \\
        --values 0.2 0.4 0.6 0.8
    python -m sim size scenarios/season_2027.yaml --axis duty_desk=2,state=on_duty \\
        --axis emergency_contact=2 --target emergency_contact_III_plus=0.9
    python -m sim bench-planner [--quick] [--json]

Same arguments → byte-identical standard output (timings and progress go to stderr only). Exit
codes: 0 done, 2 bad arguments or input (one line per problem), 1 for ``size`` when no staffing
on the grid meets the targets.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

from sim.cli import UsageError, add_run_options, check_count, check_run_args, progress_printer


def _print_json(obj: Any) -> None:
    print(json.dumps(obj, ensure_ascii=False, indent=2, sort_keys=False, default=_json_default))


def _json_default(x: Any) -> Any:
    if hasattr(x, "item"):
        return x.item()
    raise TypeError(f"not JSON serialisable: {type(x).__name__}")


def _pct(x: float | None) -> str:
    return "" if x is None else f"{100 * x:.1f}%"


def _pts(x: float | None) -> str:
    return "" if x is None else f"{100 * x:+.1f}"


def _load_base(args: argparse.Namespace):
    from sim.scenario import load_scenario

    return load_scenario(args.scenario, args.plan)


def _check_run_args(args: argparse.Namespace) -> None:
    """``--reps``, ``--workers``, ``--seed`` (and ``compare``'s pilot and maximum) within caps."""
    from sim.experiment import MAX_REPS

    check_run_args(args)
    check_count("--pilot-reps", getattr(args, "pilot_reps", None), 2, MAX_REPS, "MAX_REPS")
    check_count("--max-reps", getattr(args, "max_reps", None), 2, MAX_REPS, "MAX_REPS")


def _add_out_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--out-csv", metavar="FILE", help="write the result table (and its companions) as CSV"
    )
    p.add_argument("--out-parquet", metavar="FILE", help="write the result tables as Parquet")
    p.add_argument("--out-png", metavar="FILE", help="write the figures as PNG")
    p.add_argument(
        "--lang", choices=("zh", "en"), default="zh", help="language of figures (default zh)"
    )


def _progress(args: argparse.Namespace):
    return progress_printer(not args.json)


def _note(text: str) -> None:
    """Information that varies between runs (timings): stderr, so stdout stays byte-identical."""
    print(text, file=sys.stderr)


# -- compare ---------------------------------------------------------------------------------


def cmd_compare(args: argparse.Namespace) -> int:
    from sim.compare import compare, precision_from
    from sim.figures import save_figures
    from sim.variants import load_variant, plan_clock_variant

    _check_run_args(args)
    base = _load_base(args)
    variants = [load_variant(p) for p in args.variant or []]
    for spec in args.clock or []:
        rule, _, minutes = spec.partition("=")
        try:
            variants.append(plan_clock_variant(rule.strip(), float(minutes), plan=base.plan))
        except ValueError:
            raise UsageError(f"--clock: expected RULE=MINUTES, got {spec!r}") from None
    if not variants:
        raise UsageError("compare: give at least one --variant FILE or --clock RULE=MINUTES")
    precision = None
    reps = args.reps
    if args.half_width is not None:
        if not 0 < args.half_width < 1:
            raise UsageError("--half-width: expected a share between 0 and 1, e.g. 0.01")
        rules = [r.strip() for r in args.precision_rules.split(",") if r.strip()]
        pilot = _compare(compare, base, variants, args.pilot_reps, args)
        precision = precision_from(
            pilot, half_width=args.half_width, rules=rules, max_reps=args.max_reps
        )
        reps = max(precision.reps, args.pilot_reps)
        _note(
            f"pilot of {args.pilot_reps}: {reps} replications for ±{100 * args.half_width:g} points, about {precision.seconds(reps):.0f} s"
        )
    comp = _compare(compare, base, variants, reps, args)
    _note(f"{comp.reps} replications × {len(comp.variants)} variants in {comp.elapsed_s:.1f} s")
    if args.out_csv:
        comp.to_csv(args.out_csv)
    if args.out_parquet:
        comp.to_parquet(args.out_parquet)
    if args.out_png:
        save_figures(comp, args.out_png, args.lang)
    if args.json:
        data = comp.as_json()
        if precision is not None:
            data["precision"] = {
                "half_width": args.half_width,
                "pilot_reps": precision.pilot_reps,
                "reps": reps,
                "table": precision.table.to_dict("records"),
            }
        _print_json(data)
        return 0
    _print_comparison(comp, base, args.lang, precision, reps)
    return 0


def _cluster_error(args: argparse.Namespace, exc: Exception) -> UsageError:
    return UsageError(
        f"--scheduler {args.scheduler}: cannot use the Dask cluster ({type(exc).__name__}: {exc})"
    )


def _compare(compare, base, variants, reps, args):
    try:
        return compare(
            base,
            variants,
            reps,
            args.seed,
            workers=args.workers,
            scheduler=args.scheduler,
            progress=_progress(args),
            full_log=getattr(args, "full_log", False),
        )
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    except (OSError, TimeoutError) as exc:
        if args.scheduler:
            raise _cluster_error(args, exc) from None
        raise


def _print_comparison(comp, base, lang: str, precision, reps: int) -> None:
    print(f"{base.name_en} · {base.name_zh}")
    same = (
        "yes"
        if comp.crn_mismatched_reps == 0
        else f"no ({comp.crn_mismatched_reps} replications differ)"
    )
    print(
        f"replications: {comp.reps}   seed: {comp.seed}   variants: {len(comp.variants)}   same incidents in every variant: {same}"
    )
    if precision is not None:
        print(
            f"replications chosen for ±{100 * precision.half_width:g} points (pilot of {precision.pilot_reps}): {reps}"
        )
    print()
    width = max(12, *(len(v.name) for v in comp.variants)) + 2
    print(
        f"{'rule':<30}{'variant':<{width}}{'met':>8}{'95% interval':>16}{'vs base (points)':>26}{'p50 min':>9}{'n':>8}"
    )
    for rule in comp.key_rules():
        for j, v in enumerate(comp.variants):
            r = comp.result(v.name, rule)
            if r.share is None:
                continue
            ci = f"{_pct(r.ci_lo)}–{_pct(r.ci_hi)}"
            diff = (
                ""
                if j == 0 or r.diff is None
                else f"{_pts(r.diff)} [{_pts(r.diff_lo)}, {_pts(r.diff_hi)}]"
            )
            p50 = "" if r.p50_min is None else f"{r.p50_min:.1f}"
            print(
                f"{rule if j == 0 else '':<30}{v.name:<{width}}{_pct(r.share):>8}{ci:>16}{diff:>26}{p50:>9}{r.applicable:>8}"
            )
    always = [r for r in comp.applicable_rules() if r not in comp.key_rules()]
    if always:
        print()
        print(
            "met every time in every variant: "
            + ", ".join(f"{r} (n={comp.result('base', r).applicable})" for r in always)
        )
    print()
    print("verdicts:")
    for text in comp.verdicts("en").values():
        print(f"  {text}")
    for text in comp.verdicts("zh").values():
        print(f"  {text}")
    warnings = comp.warning_lines("en") + comp.warning_lines("zh")
    if warnings:
        print()
        print("levers:")
        for line in warnings:
            print(f"  {line}")
    print()
    print(
        f"{'role':<22}{'variant':<{width}}{'people':>7}{'calls/rep':>11}{'busy min/rep':>14}{'unanswered':>12}"
    )
    for role in dict.fromkeys(comp.roles["role"]):
        sub = comp.roles[comp.roles["role"] == role]
        for j, row in enumerate(sub.itertuples()):
            un = (
                ""
                if row.unanswered_share is None or row.unanswered_share != row.unanswered_share
                else f"{row.unanswered_share:.1%}"
            )
            print(
                f"{role if j == 0 else '':<22}{row.variant:<{width}}{row.people:>7}{row.calls_per_rep:>11.2f}{row.busy_min_per_rep:>14.1f}{un:>12}"
            )


# -- sweep -----------------------------------------------------------------------------------


def _values(args: argparse.Namespace) -> list[Any]:
    from sim.search import MAX_SWEEP_POINTS  # here: the command line starts without pandas

    if args.values and args.range:
        raise UsageError("sweep: give --values or --range, not both")
    cap = f"the cap of {MAX_SWEEP_POINTS} (MAX_SWEEP_POINTS)"
    if args.range:
        try:
            start, stop, step = (float(x) for x in args.range.split(":"))
        except ValueError:
            raise UsageError(f"--range: expected START:STOP:STEP, got {args.range!r}") from None
        if not all(math.isfinite(x) for x in (start, stop, step)):
            raise UsageError("--range: START, STOP and STEP must be finite numbers")
        if step <= 0 or stop < start:
            raise UsageError("--range: STEP must be above 0 and STOP not below START")
        # counted before any is made (START + k·STEP for k = 0, 1, … up to STOP)
        points = math.floor((stop - start + 1e-9) / step) + 1
        if points > MAX_SWEEP_POINTS:
            raise UsageError(f"--range: {args.range} gives {points:,} values, above {cap}")
        values = (start + k * step for k in range(points + 1))
        return [round(x, 10) for x in values if x <= stop + 1e-9]
    if not args.values:
        raise UsageError("sweep: give --values V1 V2 … or --range START:STOP:STEP")
    if len(args.values) > MAX_SWEEP_POINTS:
        raise UsageError(f"--values: {len(args.values)} values, above {cap}")
    from sim.yamlio import InputError, load_text

    out = []
    for text in args.values:
        try:  # as in a file: no aliases, no deep nesting
            out.append(load_text(text, "--values"))
        except InputError as exc:
            why = exc.problems[0].message
            raise UsageError(f"--values: cannot read {text[:40]!r}: {why}") from None
    return out


def cmd_sweep(args: argparse.Namespace) -> int:
    from sim.figures import sweep_figure
    from sim.search import sweep
    from sim.variants import load_variant, variant_to_dict
    from sim.yamlio import InputError

    _check_run_args(args)
    base = _load_base(args)
    values = _values(args)
    extra = None
    if args.variant:
        doc = variant_to_dict(load_variant(args.variant))
        extra = {k: v for k, v in doc.items() if k not in ("name", "label_zh", "label_en")}
    try:
        sw = sweep(
            base,
            args.param,
            values,
            args.reps,
            args.seed,
            workers=args.workers,
            scheduler=args.scheduler,
            progress=_progress(args),
            extra=extra,
        )
    except InputError as exc:
        # every point fails alike: report each problem once, naming the parameter
        seen = []
        for p in exc.problems:
            line = f"--param {args.param}: {p.field}: {p.message}"
            if line not in seen:
                seen.append(line)
        raise UsageError("\n".join(seen)) from None
    except ValueError as exc:
        raise UsageError(f"--param: {exc}") from None
    except (OSError, TimeoutError) as exc:
        if args.scheduler:
            raise _cluster_error(args, exc) from None
        raise
    _write_outputs(args, sw.frame, lambda: sweep_figure(sw, args.lang, sw.comparison.key_rules()))
    if args.json:
        _print_json(
            {"scenario": base.name, "reps": sw.comparison.reps, "seed": args.seed, **sw.as_json()}
        )
        return 0
    print(f"{base.name_en} · {base.name_zh}")
    print(f"parameter: {args.param}   replications: {sw.comparison.reps}   seed: {args.seed}")
    print()
    print(f"{'rule':<30}{'value':>12}{'met':>8}{'95% interval':>16}{'vs base (points)':>26}")
    for rule in sw.comparison.key_rules():
        sub = sw.frame[sw.frame["rule"] == rule]
        for j, row in enumerate(sub.itertuples()):
            ci = f"{_pct(row.ci_lo)}–{_pct(row.ci_hi)}"
            diff = (
                ""
                if row.diff is None
                else f"{_pts(row.diff)} [{_pts(row.diff_lo)}, {_pts(row.diff_hi)}]"
            )
            print(
                f"{rule if j == 0 else '':<30}{str(row.value):>12}{_pct(row.share):>8}{ci:>16}{diff:>26}"
            )
    return 0


# -- size ------------------------------------------------------------------------------------


def parse_axis(spec: str):
    """``ROLE=MAX`` or ``ROLE=LO-HI``, then ``,key=value``: state, shift (HH:MM-HH:MM), chain, name, p."""
    from sim.plan import ROLE_IDS
    from sim.scenario import DAY, STATES, Shift, _clock
    from sim.search import Axis
    from sim.variants import CHAIN_POSITIONS

    head, *rest = [x.strip() for x in spec.split(",")]
    role, _, counts = head.partition("=")
    if role not in ROLE_IDS:
        raise UsageError(f"--axis {spec}: unknown role {role!r} (known: {', '.join(ROLE_IDS)})")
    try:
        lo, _, hi = counts.partition("-")
        lo_i, hi_i = (0, int(lo)) if not hi else (int(lo), int(hi))
    except ValueError:
        raise UsageError(f"--axis {spec}: expected ROLE=MAX or ROLE=LO-HI") from None
    if lo_i < 0 or hi_i < lo_i or hi_i > 50:
        raise UsageError(f"--axis {spec}: counts must satisfy 0 ≤ LO ≤ HI ≤ 50")
    opts: dict[str, Any] = {
        "name": f"extra_{role}",
        "role": role,
        "counts": tuple(range(lo_i, hi_i + 1)),
    }
    for item in rest:
        key, _, value = item.partition("=")
        if key == "state":
            if value not in STATES:
                raise UsageError(f"--axis {spec}: state must be one of {', '.join(STATES)}")
            opts["default_state"] = value
        elif key == "shift":
            a, _, b = value.partition("-")
            start, end = _clock(a), _clock(b)
            if start is None or end is None:
                raise UsageError(f"--axis {spec}: shift must be HH:MM-HH:MM")
            opts["shifts"] = (Shift(None, start, end + DAY if end <= start else end, "on_duty"),)
        elif key == "chain":
            if value not in CHAIN_POSITIONS:
                raise UsageError(
                    f"--axis {spec}: chain must be one of {', '.join(CHAIN_POSITIONS)}"
                )
            opts["chain"] = value
        elif key == "name":
            opts["name"] = value
        elif key == "p":
            try:
                p = float(value)
            except ValueError:
                p = -1.0
            if not 0 <= p <= 1:
                raise UsageError(f"--axis {spec}: p must be a probability")
            opts["answer_prob"] = {s: p for s in STATES}
        else:
            raise UsageError(
                f"--axis {spec}: unknown option {key!r} (state, shift, chain, name, p)"
            )
    return Axis(**opts)


def parse_target(spec: str) -> tuple[str, float]:
    from sim.compare import RULES

    rule, _, value = spec.partition("=")
    if rule not in RULES:
        raise UsageError(f"--target {spec}: unknown rule {rule!r} (known: {', '.join(RULES)})")
    try:
        share = float(value.rstrip("%")) / (100 if value.endswith("%") else 1)
    except ValueError:
        raise UsageError(
            f"--target {spec}: expected RULE=SHARE, e.g. first_report_3h=0.95"
        ) from None
    if not 0 < share <= 1:
        raise UsageError(f"--target {spec}: the share must be above 0 and at most 1")
    return rule, share


def cmd_size(args: argparse.Namespace) -> int:
    from sim.figures import sizing_figure
    from sim.search import MAX_GRID_CELLS, size_grid

    _check_run_args(args)
    if not args.axis:
        raise UsageError("size: give at least one --axis ROLE=MAX")
    if not args.target:
        raise UsageError("size: give at least one --target RULE=SHARE")
    axes = [parse_axis(a) for a in args.axis]
    if len({a.name for a in axes}) != len(axes):
        raise UsageError("size: two axes have the same name; add name=… to one")
    cells = math.prod(len(a.counts) for a in axes)
    if cells > MAX_GRID_CELLS:
        raise UsageError(
            f"--axis: the grid holds {cells:,} cells, above the cap of {MAX_GRID_CELLS:,} "
            "(MAX_GRID_CELLS)"
        )
    targets = dict(parse_target(x) for x in args.target)
    base = _load_base(args)
    try:
        sz = size_grid(
            base,
            axes,
            targets,
            args.reps,
            args.seed,
            workers=args.workers,
            scheduler=args.scheduler,
            progress=_progress(args),
            criterion=args.criterion,
            exhaustive=args.exhaustive,
        )
    except (OSError, TimeoutError) as exc:
        if args.scheduler:
            raise _cluster_error(args, exc) from None
        raise
    _write_outputs(args, sz.cells, lambda: sizing_figure(sz, None, args.lang))
    if args.json:
        _print_json({"scenario": base.name, "reps": args.reps, "seed": args.seed, **sz.as_json()})
        return 0
    print(f"{base.name_en} · {base.name_zh}")
    print(
        f"targets: {', '.join(f'{r} ≥ {100 * v:g}%' for r, v in targets.items())}   criterion: {args.criterion}   replications per cell: {args.reps}"
    )
    print()
    names = [a.name for a in axes]
    header = (
        "".join(f"{n:>22}" for n in names) + "".join(f"{r:>30}" for r in targets) + f"{'meets':>7}"
    )
    print(header)
    for _, row in sz.cells.iterrows():
        cells = "".join(f"{'+' + str(int(row[n])):>22}" for n in names)
        shares = "".join(
            f"{_pct(row[f'{r}_share']) + ' [' + _pct(row[f'{r}_lo']) + ']':>30}" for r in targets
        )
        print(cells + shares + f"{'yes' if row['meets'] else 'no':>7}")
    print()
    if sz.best is None:
        print("no staffing on the grid meets every target")
        for line in sz.blocked_lines(base.plan, args.lang):
            print(f"  {line}")
        return 1
    print(
        "smallest staffing meeting every target: "
        + ", ".join(f"{n} +{k}" for n, k in sz.best.items())
    )
    return 0


# -- bench -----------------------------------------------------------------------------------


def _write_outputs(args: argparse.Namespace, frame, figure) -> None:
    """The table to --out-csv / --out-parquet and the figure (made only if asked) to --out-png."""
    for path, write in ((args.out_csv, frame.to_csv), (args.out_parquet, frame.to_parquet)):
        if path:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            write(path, index=False)
    if args.out_png:
        fig = figure()  # a Figure of its own (sim.figures): nothing to close in pyplot
        Path(args.out_png).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(args.out_png, metadata={"Software": None})


def cmd_bench_planner(args: argparse.Namespace) -> int:
    from sim.bench_planner import bench
    from sim.limits import MAX_REPS

    check_count("--reps", args.reps, 1, MAX_REPS, "MAX_REPS")
    for n in args.memory_reps or ():
        check_count("--memory-reps", n, 1, MAX_REPS, "MAX_REPS")
    result = bench(quick=args.quick, reps=args.reps, memory_reps=args.memory_reps)
    if args.json:
        _print_json(result)
    else:
        for key, value in result.items():
            print(f"{key:<44}{value}")
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Register ``compare``, ``sweep``, ``size`` and ``bench-planner``."""
    p = sub.add_parser("compare", help="compare variants of a scenario with common random numbers")
    p.add_argument("scenario")
    p.add_argument(
        "--variant",
        nargs="+",
        action="extend",
        metavar="FILE",
        help="variant override files (YAML)",
    )
    p.add_argument(
        "--clock",
        action="append",
        metavar="RULE=MINUTES",
        help="a variant changing one rule's clock",
    )
    add_run_options(p)
    p.add_argument(
        "--half-width",
        type=float,
        help="choose the replications for this 95%% half-width (a share, e.g. 0.01) by a pilot run; replaces --reps",
    )
    p.add_argument(
        "--pilot-reps",
        type=int,
        default=200,
        help="replications of the pilot run (default %(default)s)",
    )
    p.add_argument(
        "--max-reps",
        type=int,
        default=100_000,
        help="at most this many replications (default %(default)s)",
    )
    p.add_argument(
        "--precision-rules",
        default="first_report_3h,all_met",
        help="rules the half-width is for (default %(default)s)",
    )
    p.add_argument(
        "--full-log",
        action="store_true",
        help="keep every verdict (written with --out-csv/--out-parquet)",
    )
    _add_out_options(p)
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser("sweep", help="one-parameter sensitivity of the met shares")
    p.add_argument("scenario")
    p.add_argument(
        "--param",
        required=True,
        help="dotted path in the variant format, e.g. roster.reachability.off_duty.answer_prob",
    )
    p.add_argument("--values", nargs="+", metavar="V", help="values to try")
    p.add_argument("--range", metavar="START:STOP:STEP", help="numeric values to try")
    p.add_argument("--variant", metavar="FILE", help="a variant applied at every point")
    add_run_options(p)
    _add_out_options(p)
    p.set_defaults(func=cmd_sweep)

    p = sub.add_parser("size", help="smallest staffing on a grid meeting target met shares")
    p.add_argument("scenario")
    p.add_argument(
        "--axis",
        action="append",
        metavar="ROLE=MAX[,state=…][,shift=HH:MM-HH:MM][,chain=end][,p=…]",
        help="extra people of a role: 0..MAX",
    )
    p.add_argument(
        "--target", action="append", metavar="RULE=SHARE", help="e.g. first_report_3h=0.95"
    )
    p.add_argument(
        "--criterion",
        choices=("estimate", "lower"),
        default="estimate",
        help="compare the share (estimate) or its 95%% lower bound",
    )
    p.add_argument("--exhaustive", action="store_true", help="evaluate the whole grid")
    add_run_options(p)
    _add_out_options(p)
    p.set_defaults(func=cmd_size)

    p = sub.add_parser(
        "bench-planner",
        help="6 variants × 2,000 replications: wall time, speed-up, memory, vs bare SimPy",
    )
    p.add_argument("--quick", action="store_true", help="a short run (for tests)")
    p.add_argument(
        "--reps", type=int, default=None, help="replications per variant (default 2000; quick 100)"
    )
    p.add_argument(
        "--memory-reps",
        type=int,
        nargs=2,
        default=None,
        metavar=("SMALL", "LARGE"),
        help="replications for the memory probes (default 2000 20000)",
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_bench_planner)
