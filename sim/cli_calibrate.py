"""``drillsim calibrate --db DB [--site S] [--years A-B] --out timing.yaml``: step durations from drills.

Replays the stored team drills (automatic reference drills are left out: their times are the
model's own draws), measures how long after each step became due the team took it, shrinks the
measurements toward the scenario's defaults and writes the calibrated keys in the scenario
``timing:`` format, each with its ``source``. The definitions are in :mod:`sim.calibrate`.
Prints a table per timing key; no matching team drill (or no observation) is exit code 2 with a
message, never a traceback. The same store gives a byte-identical file.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from sim.cli import UsageError
from sim.yamlio import InputError

#: The scenario whose timing the measurements are shrunk toward (the planner's season).
DEFAULT_SCENARIO = "season_2027"
_YEARS = re.compile(r"^(\d{4})(?:-(\d{4}))?$")


def parse_years(text: str) -> tuple[int, int]:
    """``2027`` or ``2025-2027`` (four-digit years, first ≤ last) as an inclusive range."""
    m = _YEARS.match(text.strip())
    if m is None:
        raise UsageError(f"--years: {text!r} is not a year or a range like 2025-2027")
    first = int(m.group(1))
    last = int(m.group(2) or first)
    if first > last:
        raise UsageError(f"--years: {first} is after {last} (give the earlier year first)")
    return first, last


def _fmt(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}"


def cmd_calibrate(args: argparse.Namespace) -> int:
    from sim.calibrate import (
        ANSWER_NOTE,
        AUTO_NOTE,
        DEFINITION,
        K0,
        MAX_DRILLS,
        SHRINKAGE,
        calibrate,
        timing_yaml,
    )
    from sim.cli_records import open_store, scenario_path
    from sim.scenario import load_scenario
    from sim.store import StoreError

    years = parse_years(args.years) if args.years is not None else None
    if args.site is not None and not args.site.strip():
        raise UsageError("--site: must not be empty")
    path = scenario_path(args.scenario)
    defaults = load_scenario(path)
    store = open_store(args)
    try:
        cal = calibrate(store, defaults, site=args.site, years=years)
    except StoreError:
        raise  # it names the store file already
    finally:
        store.close()

    filters = []
    if args.site is not None:
        filters.append(f"at site {args.site}")
    if years is not None:
        filters.append(f"in {years[0]}" if years[0] == years[1] else f"in {years[0]}-{years[1]}")
    where = " ".join(filters) or "in the store"
    if not cal.drills and not cal.skipped:
        extra = ""
        if cal.auto_excluded:
            extra = f" ({cal.auto_excluded} matching drills are automatic: {AUTO_NOTE})"
        raise UsageError(f"calibrate: no team drills {where}{extra}; nothing to calibrate")

    print(f"team drills {where}: {len(cal.drills)} replayed, ids {_ids(cal.drills)}")
    if cal.capped:
        print(f"  {cal.capped} older team drills not read (at most {MAX_DRILLS}, MAX_DRILLS)")
    for drill_id, why in cal.skipped:
        print(f"  drill #{drill_id} skipped: {why}")
    print(f"  {AUTO_NOTE} ({cal.auto_excluded} matching)")
    print(f"observation: {DEFINITION}")
    if cal.ignored:
        left = ", ".join(f"{n} {why}" for why, n in sorted(cal.ignored.items()))
        print(f"  decisions left out: {left}")
    print(f"shrinkage: {SHRINKAGE}")
    print()
    print(f"{'timing key':<28}{'n':>5}{'observed':>11}{'default':>10}{'calibrated':>12}")
    keys = sorted({s.duration for s in defaults.plan.procedure if _decided(s)} | set(cal.fits))
    for key in keys:
        f = cal.fits.get(key)
        default = defaults.timing[key].mean if key in defaults.timing.durations else None
        if f is None:
            print(f"{key:<28}{0:>5}{'–':>11}{_fmt(default):>10}{'(default)':>12}")
            continue
        print(
            f"{key:<28}{f.n:>5}{_fmt(f.observed_mean):>11}{_fmt(default):>10}"
            f"{_fmt(f.calibrated.mean):>12}"
        )
    print(f"{'answer rates':<28}{0:>5}   {ANSWER_NOTE.split('; ', 1)[1]}")
    print()
    if not cal.fits:
        raise UsageError(
            f"calibrate: no step decision {where} could be measured; {args.out} not written"
        )
    text = timing_yaml(cal, path.name, K0)
    out = Path(args.out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"--out: cannot write {out}: {exc.strerror or exc}") from None
    print(f"wrote {out}: {len(cal.fits)} calibrated keys, {cal.observations} observations")
    return 0


def _decided(step) -> bool:
    """A step a team decides (so a drill can measure its timing key): not an event, not an
    outside body's own relay."""
    from sim.plan import BODY_IDS

    if not step.duration or step.kind == "event":
        return False
    return step.by not in BODY_IDS or step.by == "working_group"


def _ids(ids: list[int]) -> str:
    from sim.calibrate import id_ranges

    return id_ranges(ids) or "none"


def add_commands(sub) -> None:
    p = sub.add_parser(
        "calibrate",
        help="fit step durations from the stored team drills (timing file with sources)",
    )
    p.add_argument("--db", help="drill store (default: DRILLSIM_DB, else the user's data folder)")
    p.add_argument("--site", help="only drills held at this site (its id, e.g. site_a)")
    p.add_argument("--years", help="only drills of this year or range, e.g. 2027 or 2025-2027")
    p.add_argument(
        "--scenario",
        default=DEFAULT_SCENARIO,
        help="scenario whose timing is the default shrunk toward (default: %(default)s)",
    )
    p.add_argument("--out", required=True, help="the timing YAML file to write")
    p.set_defaults(func=cmd_calibrate)


def main(argv: list[str] | None = None) -> int:
    """Run ``calibrate`` on its own (before it is registered with ``drillsim``): the same exit
    codes and messages as ``drillsim calibrate``."""
    parser = argparse.ArgumentParser(prog="drillsim")
    add_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["calibrate", *(sys.argv[1:] if argv is None else argv)])
    try:
        return int(args.func(args) or 0)
    except InputError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 2
    except UsageError as exc:
        print(str(exc), file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
