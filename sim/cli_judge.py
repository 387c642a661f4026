"""``drillsim judge TIMELINE.yaml``: judge what happened — a real incident's log or a paper drill."""

from __future__ import annotations

import argparse
import json

from sim.yamlio import InputError  # noqa: F401  (raised to the CLI's handler)

_MARK = {"met": "✓", "missed": "✗", "n/a": "–"}


def cmd_judge(args: argparse.Namespace) -> int:
    from sim.judge import judge_timeline, verdicts_json
    from sim.plan import load_plan
    from sim.scenario import load_scenario

    scenario = load_scenario(args.scenario, args.plan) if args.scenario else None
    plan = load_plan(args.plan) if args.plan else (scenario.plan if scenario else load_plan())
    timeline, vs = judge_timeline(args.timeline, plan, scenario)
    if args.json:
        print(json.dumps(verdicts_json(vs), ensure_ascii=False, indent=2))
        return 0
    grades = timeline.true_grades
    print(f"{args.timeline}: {len(timeline.incidents)} incidents, {len(timeline.records)} records")
    for inc in timeline.incidents:
        g = grades[inc.id]
        print(f"\n{inc.id} · {inc.family} · {plan.grades[g]['roman']} {plan.grade_label(g, 'zh')}")
        for v in vs:
            if v.incident != inc.id:
                continue
            measured = "" if v.measured_min is None else f"{v.measured_min:.0f}"
            allowed = "" if v.allowed_min is None else f"/{v.allowed_min:.0f} min"
            extra = f"  missing: {', '.join(v.missing)}" if v.missing else ""
            note = f"  ({v.note})" if v.note and not v.missing else ""
            line = (
                f"  {_MARK[v.status]} {v.rule:<32}{v.status:<8}{measured:>6}{allowed}{extra}{note}"
            )
            print(line.rstrip())
    for v in vs:
        if not v.incident:
            print(f"\n{_MARK[v.status]} {v.rule:<34}{v.status:<8}{v.note}".rstrip())
    return 0


def add_commands(sub) -> None:
    p = sub.add_parser("judge", help="judge a written timeline (a real incident or a paper drill)")
    p.add_argument("timeline", help="a timeline YAML file (see README: Judge a written timeline)")
    p.add_argument("--scenario", help="a scenario whose roster the duty rules need")
    p.add_argument("--plan", help="plan file (default: the scenario's, else the shipped plan)")
    p.add_argument("--json", action="store_true", help="print JSON verdicts")
    p.set_defaults(func=cmd_judge)
