"""Judge a written timeline against the plan: a real incident typed in from its log, or a paper drill.

This is how the expert group audits what happened. The timeline becomes the same action records
a simulated run or a drill leaves, so :mod:`sim.rules` judges all three alike. Format::

    incidents:
      - {id: x1, family: answer_sheet_loss, people: 130, scope: rooms, phase: during_exam,
         site: site_a, occurred: "D0 11:45", discovered: "D0 12:05"}
    timeline:
      - {at: "D0 12:20", incident: x1, step: graded, grade: III}
      - {at: "D0 12:40", incident: x1, step: verbal_report, to: [local_government, higher_authority, working_group]}
      - {at: "D0 14:10", incident: x1, step: written_report, to: [local_government, higher_authority, working_group],
         content: [time, place, scale, people_units, damage_injuries, threat, trend]}

Every step of the plan's procedure may appear (``by: role`` is optional; ``backup: true`` marks
a role reached through someone else in its chain). Without a scenario, rules that need the
roster are ``n/a`` with a note. Bad input is ``file:line: field: message``, never a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from sim.grading import grade, incident_problems
from sim.plan import BODY_IDS, CONTENT_IDS, GRADES, INCIDENT_FIELDS, ROLE_IDS, Plan
from sim.records import Action
from sim.rules import Verdict, verdicts
from sim.scenario import DAY, TIME_SPAN_DAYS, Incident, Scenario, format_time, parse_time
from sim.yamlio import Reader, load_file

_INCIDENT_KEYS = {
    "id",
    "family",
    "site",
    "occurred",
    "discovered",
    "text_zh",
    "text_en",
    *INCIDENT_FIELDS,
}
_ENTRY_KEYS = {"at", "incident", "step", "to", "content", "grade", "by", "backup", "note"}
_INCIDENT_ATTRS = {f.name for f in fields(Incident)}
#: Cap on a timeline's size: a hostile file costs a clear error, not memory.
MAX_ENTRIES = 10_000


@dataclass(frozen=True)
class Timeline:
    """What a timeline file holds, as the engine's types."""

    incidents: tuple[Incident, ...]
    records: list[Action]
    true_grades: dict[str, str]


def parse_timeline(data: Any, file: str, plan: Plan) -> Timeline:
    """Check a timeline read from YAML and build its records (InputError lists every problem)."""
    r = Reader(file)
    top = r.mapping(data, "(timeline)")
    r.unknown(top, {"incidents", "timeline"}, "")
    incidents: list[Incident] = []
    records: list[Action] = []
    ids: set[str] = set()
    occurred_at: dict[str, float] = {}
    ilist = r.sequence(top.get("incidents"), "incidents", top, "incidents")
    if not ilist:
        r.add(
            top,
            "incidents" if "incidents" in top else None,
            "incidents",
            "need_incident",
        )
    for i, item in enumerate(ilist[:MAX_ENTRIES]):
        pre = f"incidents[{i}]"
        item = r.mapping(item, pre, ilist, i)
        r.unknown(item, _INCIDENT_KEYS, pre)
        iid = r.take(item, "id", pre, str)
        if iid is None:
            continue
        if iid in ids:
            r.add(item, "id", f"{pre}.id", "duplicate_incident", id=repr(iid))
        ids.add(iid)
        occurred = _time(r, item, "occurred", pre)
        discovered = _time(r, item, "discovered", pre, required=False)
        if occurred is not None and discovered is not None and discovered < occurred:
            r.add(item, "discovered", f"{pre}.discovered", "discovered_early")
        facts = {k: item[k] for k in ("family", *INCIDENT_FIELDS) if k in item}
        problems = incident_problems(facts, plan)
        for fld, words in problems:
            r.add(item, fld if fld in item else None, f"{pre}.{fld}", words)
        if problems or occurred is None:
            continue
        site = str(item.get("site", "site"))
        attrs = {k: v for k, v in facts.items() if k in _INCIDENT_ATTRS}
        inc = Incident(
            id=iid,
            at=occurred,
            site=site,
            discovered_after=None if discovered is None else discovered - occurred,
            **attrs,
        )
        incidents.append(inc)
        occurred_at[iid] = occurred
        records.append(Action(occurred, iid, "site", "occurred", "", site, "", inc.family))
        if discovered is not None:
            records.append(Action(discovered, iid, "site", "discovered", "", site, ""))
    if len(ilist) > MAX_ENTRIES:
        r.add(top, "incidents", "incidents", "too_many_incidents", max=MAX_ENTRIES)
    # the plan's grade of every usable incident (their facts passed check_incident above)
    true = {inc.id: grade(inc.facts(), plan).level for inc in incidents}
    tlist = r.sequence(top.get("timeline", []), "timeline", top, "timeline")
    if len(tlist) > MAX_ENTRIES:
        r.add(top, "timeline", "timeline", "too_many_entries", max=MAX_ENTRIES)
    steps = plan.steps
    for i, item in enumerate(tlist[:MAX_ENTRIES]):
        pre = f"timeline[{i}]"
        item = r.mapping(item, pre, tlist, i)
        r.unknown(item, _ENTRY_KEYS, pre)
        at = _time(r, item, "at", pre)
        iid = r.take(item, "incident", pre, str)
        if iid is not None and iid not in ids:
            r.add(item, "incident", f"{pre}.incident", "unknown_incident", id=repr(iid))
        elif iid is not None and iid not in occurred_at:
            iid = None  # the incident itself is broken and already reported
        sid = r.take(item, "step", pre, str)
        if sid is not None and sid not in steps:
            known = ", ".join(steps)
            r.add(item, "step", f"{pre}.step", "unknown_step_known", step=repr(sid), known=known)
            sid = None
        by = r.take(item, "by", pre, str, "team")
        if (
            by != "team"
            and by not in ROLE_IDS
            and by not in BODY_IDS
            and by not in ("site", "office", "working_group")
        ):
            r.add(item, "by", f"{pre}.by", "not_role_or_body", value=repr(by))
        to = item.get("to", [])
        if isinstance(to, str):
            to = [to]
        if not isinstance(to, list):
            r.add(item, "to", f"{pre}.to", "expected_targets")
            to = []
        for j, t in enumerate(to):
            if t not in BODY_IDS and t not in ROLE_IDS:
                r.add(item, "to", f"{pre}.to[{j}]", "unknown_target", value=repr(t))
        content = item.get("content", [])
        if not isinstance(content, list):
            r.add(item, "content", f"{pre}.content", "expected_content")
            content = []
        for j, c in enumerate(content):
            if c not in CONTENT_IDS:
                r.add(
                    item,
                    "content",
                    f"{pre}.content[{j}]",
                    "unknown_content_known",
                    value=repr(c),
                    known=", ".join(CONTENT_IDS),
                )
        level = item.get("grade")
        if sid == "graded" and level not in GRADES:
            r.add(
                item,
                "grade" if "grade" in item else None,
                f"{pre}.grade",
                "graded_needs_grade",
                grades=", ".join(GRADES),
            )
        elif sid != "graded" and "grade" in item:
            r.add(item, "grade", f"{pre}.grade", "grade_only_graded")
        backup = r.take(item, "backup", pre, bool, False)
        if at is None or iid not in ids or sid is None:
            continue
        if at < occurred_at[iid]:
            r.add(item, "at", f"{pre}.at", "before_incident", id=iid)
            continue
        detail = ",".join(str(c) for c in content)
        if sid == "graded":
            # the plan's grade beside the team's, as a simulated run records it
            records.append(Action(at, iid, by, "graded", "", iid, str(level), true[iid]))
        elif not to:
            records.append(Action(at, iid, by, sid, "", "", "done", detail))
        else:
            for t in to:
                if t in BODY_IDS:
                    outcome = "received"
                elif steps[sid].kind == "dispatch":
                    outcome = "dispatched"
                elif steps[sid].kind == "travel":
                    # `at` is the arrival at the site, as in a simulated run's record
                    records.append(Action(at, iid, by, sid, "in_person", "", "done", str(t)))
                    continue
                else:
                    outcome = "informed_backup" if backup else "informed"
                channel = "written" if sid in ("written_report", "final_report") else "phone"
                records.append(Action(at, iid, by, sid, channel, str(t), outcome, detail))
    r.raise_if_any()
    return Timeline(tuple(incidents), sorted(records, key=lambda a: a.time), true)


def _time(r: Reader, node: Any, key: str, pre: str, required: bool = True) -> float | None:
    if key not in node:
        if required:
            r.add(node, None, f"{pre}.{key}", "required")
        return None
    at = parse_time(node[key])
    if at is None:
        r.add(node, key, f"{pre}.{key}", "time_expected")
    elif abs(at) > TIME_SPAN_DAYS * DAY:
        r.add(
            node,
            key,
            f"{pre}.{key}",
            "time_span",
            time=format_time(at),
            days=TIME_SPAN_DAYS,
        )
        return None
    return at


def judge_timeline(
    path: str | Path, plan: Plan, scenario: Scenario | None = None
) -> tuple[Timeline, list[Verdict]]:
    """Read a timeline file and judge it (with the scenario's roster when one is given)."""
    tl = parse_timeline(load_file(Path(path)), str(path), plan)
    vs = verdicts(scenario, tl.incidents, tl.true_grades, tl.records, plan=plan)
    return tl, vs


def verdicts_json(vs: list[Verdict]) -> dict[str, Any]:
    return {
        "verdicts": [
            {
                "incident": v.incident,
                "rule": v.rule,
                "status": v.status,
                "measured_min": v.measured_min,
                "allowed_min": v.allowed_min,
                "clause_zh": v.clause_zh,
                "missing": list(v.missing),
                "note": v.note,
                "note_code": v.note_code,
                "note_params": dict(v.note_params or {}),
            }
            for v in vs
        ]
    }


__all__ = ["Timeline", "judge_timeline", "parse_timeline", "verdicts_json"]
