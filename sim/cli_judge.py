"""``drillsim judge TIMELINE.yaml``: judge what happened — a real incident's log or a paper drill."""

from __future__ import annotations

import argparse
import json

from sim.yamlio import InputError  # noqa: F401  (raised to the CLI's handler)


def cmd_judge(args: argparse.Namespace) -> int:
    """Judge a timeline and print the verdicts in the pages' and the PDF's format (words from
    :mod:`sim.labels`, in ``--lang``), or as JSON with status and note codes (``--json``)."""
    from sim.i18n import t
    from sim.judge import judge_timeline, verdicts_json
    from sim.labels import verdict_lines
    from sim.plan import load_plan
    from sim.scenario import load_scenario

    scenario = load_scenario(args.scenario, args.plan) if args.scenario else None
    plan = load_plan(args.plan) if args.plan else (scenario.plan if scenario else load_plan())
    timeline, vs = judge_timeline(args.timeline, plan, scenario)
    if args.json:
        print(json.dumps(verdicts_json(vs), ensure_ascii=False, indent=2))
        return 0
    print(
        t(
            "cli_judge_head",
            args.lang,
            file=args.timeline,
            n=len(timeline.incidents),
            records=len(timeline.records),
        )
    )
    lines = verdict_lines(
        vs, args.lang, plan, incidents=timeline.incidents, grades=timeline.true_grades
    )
    print("\n".join(lines))
    return 0


def add_commands(sub) -> None:
    p = sub.add_parser("judge", help="judge a written timeline (a real incident or a paper drill)")
    p.add_argument("timeline", help="a timeline YAML file (see README: Judge a written timeline)")
    p.add_argument("--scenario", help="a scenario whose roster the duty rules need")
    p.add_argument("--plan", help="plan file (default: the scenario's, else the shipped plan)")
    p.add_argument(
        "--lang", choices=("zh", "en"), default="zh", help="language of the verdicts (default zh)"
    )
    p.add_argument(
        "--json", action="store_true", help="print JSON verdicts (status and note codes)"
    )
    p.set_defaults(func=cmd_judge)
