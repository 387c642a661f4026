"""``drillsim explain``: one replication's incidents, each with its critical path and the clocks
it broke, in Chinese or English (or JSON).

For each incident: its facts and grades; every missed verdict with the plan's clause, its time
against its clock, and its causes (:mod:`sim.causes`) with the critical path that makes them —
which step waited for whom, and why. An incident that broke no clock shows its first report's
critical path, so a planner sees where the time goes before it runs out.
"""

from __future__ import annotations

from typing import Any

from sim.causes import Segment, Trace, explain_misses
from sim.i18n import addressee_label, label, step_label, t
from sim.policy import simulate
from sim.report import Names
from sim.rules import MISSED, Verdict, verdicts
from sim.scenario import Scenario, format_time


def explain_run(
    scenario: Scenario, seed: int, replication: int, incident: str | None = None
) -> dict[str, Any]:
    """The explanation of one replication as plain data (what ``--json`` prints)."""
    m = simulate(scenario, seed, replication)
    plan = scenario.plan
    vs = verdicts(scenario, tuple(m.incidents), m.true_grade, m.records, ordered=True)
    trace = Trace.of(m)
    explain_misses(vs, trace, plan)
    if incident is not None and incident not in m.by_id:
        known = ", ".join(i.id for i in m.incidents) or "none"
        raise KeyError(f"--incident: no incident {incident!r} in this replication ({known})")
    out = []
    for inc in m.incidents:
        if incident is not None and inc.id != incident:
            continue
        missed = [v for v in vs if v.incident == inc.id and v.status == MISSED]
        entry: dict[str, Any] = {
            "incident": inc.id,
            "family": inc.family,
            "site": inc.site,
            "occurred_min": round(inc.at, 3),
            "occurred": format_time(inc.at),
            "plan_grade": m.true_grade[inc.id],
            "assigned_grade": m.assigned_grade.get(inc.id),
            "missed": [_missed_json(v, trace, plan) for v in missed],
        }
        if not missed:
            entry["first_report_path"] = _first_report_path(vs, inc.id, trace, plan)
        out.append(entry)
    return {
        "scenario": scenario.name,
        "seed": seed,
        "replication": replication,
        "incidents": out,
        "assumption": "durations and probabilities are the scenario's timing settings",
    }


def _missed_json(v: Verdict, trace: Trace, plan) -> dict[str, Any]:
    segments, _ = trace.segments(v, plan)
    return {
        "rule": v.rule,
        "clause_zh": v.clause_zh,
        "start_min": None if v.start_min is None else round(v.start_min, 3),
        "measured_min": v.measured_min,
        "allowed_min": v.allowed_min,
        "missing": list(v.missing),
        "causes": [{"cause": c, "minutes": m} for c, m in v.causes],
        "path": [_segment_json(s) for s in segments],
    }


def _segment_json(s: Segment) -> dict[str, Any]:
    return {
        "from_min": round(s.start, 3),
        "to_min": round(s.end, 3),
        "minutes": round(s.minutes, 3),
        "step": s.step,
        "target": s.target,
        "cause": s.cause,
        "who": s.who,
        "detail": s.detail,
    }


def _first_report_path(vs: list[Verdict], inc: str, trace: Trace, plan) -> dict[str, Any] | None:
    v = next((v for v in vs if v.incident == inc and v.rule == "first_report_3h"), None)
    if v is None or v.measured_min is None or v.start_min is None:
        return None
    segments, _ = trace.segments(v, plan)
    return {
        "measured_min": v.measured_min,
        "allowed_min": v.allowed_min,
        "path": [_segment_json(s) for s in segments],
    }


# -- text -------------------------------------------------------------------------------------
def explain_text(data: dict[str, Any], scenario: Scenario, lang: str) -> str:
    """The explanation in ``lang`` (zh or en): the plan's terms as the plan writes them."""
    plan = scenario.plan
    header = t(
        "explain_header",
        lang,
        scenario=_scenario_name(scenario, lang),
        seed=data["seed"],
        rep=data["replication"],
    )
    lines = [header]
    unit = t("explain_min", lang)
    for e in data["incidents"]:
        given = e["assigned_grade"]
        lines.append("")
        lines.append(
            t(
                "explain_incident",
                lang,
                id=e["incident"],
                family=_family(plan, e["family"], lang),
                site=_site(scenario, e["site"], lang),
                at=e["occurred"],
                grade=label(plan, "grades", e["plan_grade"], lang),
                given=label(plan, "grades", given, lang)
                if given
                else t("explain_not_graded", lang),
            )
        )
        if not e["missed"]:
            lines.append("  " + t("explain_no_miss", lang))
            fr = e.get("first_report_path")
            if fr:
                lines.append(
                    "  " + t("explain_first_report_path", lang, minutes=_n(fr["measured_min"]))
                )
                lines += _path_lines(fr["path"], scenario, lang)
        for miss in e["missed"]:
            rule = label(plan, "rules", miss["rule"], lang)
            lines.append("  " + t("explain_broken", lang, rule=rule, clause=miss["clause_zh"]))
            measured = miss["measured_min"]
            if measured is not None and miss["allowed_min"] is None:
                lines.append("    " + t("explain_took", lang, measured=_n(measured)))
            elif measured is not None:
                allowed = _n(miss["allowed_min"])
                lines.append(
                    "    " + t("explain_measured", lang, measured=_n(measured), allowed=allowed)
                )
            else:
                total = sum(c["minutes"] for c in miss["causes"])
                lines.append("    " + t("explain_never", lang, minutes=_n(total)))
            if miss["missing"]:
                lines.append("    – " + ", ".join(_item(plan, x, lang) for x in miss["missing"]))
            lines.append("    " + t("explain_causes", lang))
            for c in miss["causes"]:
                why = t("cause_" + c["cause"], lang)
                lines.append(f"      {_n(c['minutes']):>7} {unit}  {why}")
            if miss["path"]:
                lines.append("    " + t("explain_path", lang))
                lines += _path_lines(miss["path"], scenario, lang, indent="      ")
    lines.append("")
    lines.append(t("explain_assumption", lang))
    return "\n".join(lines)


def _path_lines(path, scenario: Scenario, lang: str, indent: str = "    ") -> list[str]:
    plan, unit, colon = scenario.plan, t("explain_min", lang), "：" if lang == "zh" else ": "
    names = Names(scenario, lang)  # people by role, as the exports name them
    out = []
    for s in path:
        step = step_label(plan, s["step"], lang)
        to = f" → {addressee_label(plan, s['target'], lang)}" if s["target"] else ""
        why = t("cause_" + s["cause"], lang)
        who = _who(names, plan, s, lang)
        out.append(
            f"{indent}{format_time(s['from_min'])}–{format_time(s['to_min'])[3:]}"
            f"{_n(s['minutes']):>7} {unit}  {step}{to}{colon}{why}{who}"
        )
    return out


def _who(names: Names, plan, s: dict, lang: str) -> str:
    """Whom a segment concerns: a person by role (never a name or number), or a body."""
    who = names.role_name(s["who"]) if s["who"] in names.people else s["who"]
    if s["cause"] in ("waiting_busy", "call_busy") and s["detail"]:
        inc, _, step = s["detail"].partition(":")
        busy = f"{inc} · {step_label(plan, step, lang)}" if step else inc
        return _bracket(t("explain_waited_for", lang, who=who, busy=busy), lang)
    if s["who"] and s["cause"] in ("call_unanswered", "answer_delay"):
        return _bracket(who, lang)
    return ""


def _bracket(text: str, lang: str) -> str:
    return f"（{text}）" if lang == "zh" else f" ({text})"


def _item(plan, item: str, lang: str) -> str:
    """A missing item in words: a report's content, or the plan's grade (``grade:III``)."""
    kind, _, grade = item.partition(":")
    if kind == "grade" and grade in plan.grades:
        return t("explain_plan_grade", lang, grade=label(plan, "grades", grade, lang))
    return label(plan, "content", item, lang) if item in plan.content else item


def _family(plan, family: str, lang: str) -> str:
    return t(f"family_{family}", lang)


def _site(scenario: Scenario, site: str, lang: str) -> str:
    try:
        found = scenario.site(site)
    except KeyError:
        return site
    return (found.name_zh if lang == "zh" else found.name_en) or site


def _scenario_name(scenario: Scenario, lang: str) -> str:
    return (scenario.name_zh if lang == "zh" else scenario.name_en) or scenario.name


def _n(x: float) -> str:
    return f"{x:.1f}"


__all__ = ["explain_run", "explain_text"]
