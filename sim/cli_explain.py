"""``drillsim explain SCENARIO --seed S --rep I``: why one replication's clocks were missed."""

from __future__ import annotations

import argparse
import json

from sim.yamlio import InputError  # noqa: F401  (raised to the CLI's handler)

#: The largest replication index ``--rep`` takes (a replication is its seed's i-th).
MAX_REP = 10**9


def cmd_explain(args: argparse.Namespace) -> int:
    from sim.cli import UsageError
    from sim.explain import explain_run, explain_text
    from sim.scenario import load_scenario

    if not 0 <= args.rep <= MAX_REP:
        raise UsageError(f"--rep: {args.rep} is out of range (0 to {MAX_REP})")
    if not 0 <= args.seed <= 2**63 - 1:
        raise UsageError(f"--seed: {args.seed} is out of range (0 to 2**63-1)")
    scenario = load_scenario(args.scenario)
    try:
        data = explain_run(scenario, args.seed, args.rep, args.incident)
    except KeyError as exc:
        raise UsageError(str(exc.args[0])) from None
    if args.json:
        print(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        print(explain_text(data, scenario, args.lang))
    return 0


def add_commands(sub) -> None:
    p = sub.add_parser(
        "explain", help="one replication's critical paths: which step waited for whom, and why"
    )
    p.add_argument("scenario", help="a scenario YAML file")
    p.add_argument("--seed", type=int, default=1, help="random seed (default %(default)s)")
    p.add_argument("--rep", type=int, default=0, help="replication index (default %(default)s)")
    p.add_argument("--incident", help="only this incident (its id)")
    p.add_argument("--lang", choices=("zh", "en"), default="zh", help="language (default zh)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_explain)
