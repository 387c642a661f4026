"""Rule verdicts: per incident and plan rule, met / missed / n/a with measured and allowed time.

Verdicts are derived from the action records alone (plus the roster for the duty calendar), so a
drill played by a human team and a run of the automatic policy are judged the same way.
Applicability follows the plan's grade of the incident (the floor), not the grade a team gave:
misgrading a Ⅱ as a Ⅲ does not excuse the direct report.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass

import pandas as pd

from sim.plan import RULE_IDS
from sim.records import Action
from sim.scenario import Incident, Scenario, uncovered_minutes

MET, MISSED, NA = "met", "missed", "n/a"


@dataclass(frozen=True)
class Verdict:
    incident: str
    rule: str
    status: str  # met | missed | n/a
    measured_min: float | None
    allowed_min: float | None
    note: str = ""


def _first(recs: list[Action], pred=None) -> Action | None:
    for r in recs:
        if pred is None or pred(r):
            return r
    return None


def _by_action(recs: list[Action]) -> dict[str, list[Action]]:
    """Records of one incident grouped by action (in time order): each rule scans only its own."""
    out: dict[str, list[Action]] = defaultdict(list)
    for r in recs:
        out[r.action].append(r)
    return out


def verdicts(
    scenario: Scenario,
    incidents: tuple[Incident, ...] | list[Incident],
    true_grades: dict[str, str],
    records: list[Action],
    *,
    end_time: float | None = None,
) -> list[Verdict]:
    """One verdict per incident × rule, in incident then rule order.

    ``end_time`` is the clock at which a still-open drill is judged: a deadline that has not
    passed yet and has not been met is reported as ``n/a`` with note ``pending``.
    """
    plan = scenario.plan
    rep = plan.reporting
    by_inc: dict[str, list[Action]] = defaultdict(list)
    for rec in records:
        by_inc[rec.incident].append(rec)
    out: list[Verdict] = []
    starts_at = plan.setting("first_report_clock_starts")
    first_kind = (
        "written_report" if plan.setting("first_report_is") == "written" else "verbal_report"
    )
    for inc in incidents:
        recs = sorted(by_inc.get(inc.id, []), key=lambda a: a.time)
        act = _by_action(recs)
        reports = act["verbal_report"] + act["direct_report"]
        g = true_grades[inc.id]
        occurred = _first(act["occurred"])
        discovered = _first(act["discovered"])
        graded = _first(act["graded"])
        closed = _first(act["closed"])
        now = end_time if end_time is not None else (recs[-1].time if recs else 0.0)

        def judge(
            rule: str,
            start: float | None,
            done: float | None,
            note: str = "",
            g=g,
            inc=inc,
            now=now,
            closed=closed,
        ) -> Verdict:
            spec = plan.rules[rule]
            allowed = spec.allowed_minutes
            if g not in spec.grades:
                return Verdict(inc.id, rule, NA, None, allowed, "grade")
            if start is None:
                return Verdict(inc.id, rule, NA, None, allowed, note or "not started")
            if done is not None:
                measured = max(0.0, done - start)
                ok = allowed is None or measured <= allowed + 1e-9
                return Verdict(
                    inc.id, rule, MET if ok else MISSED, round(measured, 3), allowed, note
                )
            if end_time is not None and allowed is not None and now - start <= allowed:
                return Verdict(inc.id, rule, NA, None, allowed, "pending")
            if end_time is not None and allowed is None and closed is None:
                return Verdict(inc.id, rule, NA, None, allowed, "pending")
            return Verdict(inc.id, rule, MISSED, None, allowed, note or "not done")

        # first_report_3h
        start = (occurred if starts_at == "occurrence" else discovered) or occurred
        first = _first(act[first_kind], lambda a: a.outcome == "received")
        out.append(
            judge("first_report_3h", start.time if start else None, first.time if first else None)
        )

        # verbal_before_written: every body written to had a verbal (or direct) report first
        written = [a for a in act["written_report"] if a.outcome == "received"]
        spec = plan.rules["verbal_before_written"]
        if g not in spec.grades or start is None:
            out.append(Verdict(inc.id, "verbal_before_written", NA, None, None, "grade"))
        elif not written:
            pending = end_time is not None and closed is None
            out.append(
                Verdict(
                    inc.id,
                    "verbal_before_written",
                    NA if pending else MISSED,
                    None,
                    None,
                    "pending" if pending else "no written report",
                )
            )
        else:
            bad = []
            for w in written:
                v = _first(
                    reports,
                    lambda a, w=w: (
                        a.target == w.target and a.channel != "written" and a.time <= w.time
                    ),
                )
                if v is None:
                    bad.append(w.target)
            first_verbal = min(
                (a for a in reports if a.channel != "written"), key=lambda a: a.time, default=None
            )
            measured = round(first_verbal.time - start.time, 3) if first_verbal else None
            out.append(
                Verdict(
                    inc.id,
                    "verbal_before_written",
                    MISSED if bad else MET,
                    measured,
                    None,
                    ",".join(sorted(set(bad))),
                )
            )

        # direct_report_I_II: all direct_to bodies reached, from grading
        t0 = graded.time if graded else (discovered.time if discovered else None)
        done = []
        for body in rep.direct_to:
            hit = min(
                (
                    a
                    for a in reports + act["written_report"]
                    if a.target == body and a.outcome == "received"
                ),
                key=lambda a: a.time,
                default=None,
            )
            done.append(hit.time if hit else None)
        out.append(
            judge("direct_report_I_II", t0, max(done) if done and None not in done else None)
        )

        # dept_reports_up_immediately
        recv = _first(act["dept_received"])
        ups = [
            _first(act["dept_report_up"], lambda a, b=b: a.target == b)
            for b in rep.department_reports_to
        ]
        up_done = max(u.time for u in ups) if ups and all(ups) else None
        out.append(
            judge(
                "dept_reports_up_immediately",
                recv.time if recv else None,
                up_done,
                "" if recv else "department not reached",
            )
        )

        # office_informs_leaders
        office = _first(act["office_received"])
        informed = [
            _first(act["inform"], lambda a, role=role: a.target == role and a.outcome == "informed")
            for role in rep.office_informs_roles
        ]
        inf_done = max(i.time for i in informed) if informed and all(informed) else None
        if office is None and g in plan.rules["office_informs_leaders"].grades:
            pending = end_time is not None and closed is None
            out.append(
                Verdict(
                    inc.id,
                    "office_informs_leaders",
                    NA if pending else MISSED,
                    None,
                    plan.rules["office_informs_leaders"].allowed_minutes,
                    "pending" if pending else "office never received a report",
                )
            )
        else:
            out.append(judge("office_informs_leaders", office.time if office else None, inf_done))

        # emergency_contact_III_plus
        ec = _first(
            act["call"],
            lambda a: a.outcome == "answered" and a.detail.startswith("emergency_contact:"),
        )
        out.append(judge("emergency_contact_III_plus", t0, ec.time if ec else None))

        # duty_24h_during_exam: the duty desk staffed for the whole incident; Ⅰ also 24-hour duty declared
        spec = plan.rules["duty_24h_during_exam"]
        if occurred is None or not scenario.in_exam_period(occurred.time) or g not in spec.grades:
            out.append(
                Verdict(
                    inc.id,
                    "duty_24h_during_exam",
                    NA,
                    None,
                    spec.allowed_minutes,
                    "outside the exam period" if g in spec.grades else "grade",
                )
            )
        else:
            end = closed.time if closed else now
            gap = uncovered_minutes(scenario, "duty_desk", occurred.time, end)
            declared = True
            if g in rep.duty_24h_grades:
                declared = _first(act["duty_24h"]) is not None
            ok = gap <= (spec.allowed_minutes or 0.0) + 1e-9 and declared
            pending = not declared and closed is None and end_time is not None
            status = NA if pending and gap == 0 else (MET if ok else MISSED)
            out.append(
                Verdict(
                    inc.id,
                    "duty_24h_during_exam",
                    status,
                    round(gap, 3),
                    spec.allowed_minutes,
                    "" if declared else "24-hour duty not declared",
                )
            )

        # deputy_leader_on_site_I
        arrived = _first(act["deputy_on_site"])
        out.append(judge("deputy_leader_on_site_I", t0, arrived.time if arrived else None))

        # follow_up_reports: no gap longer than the interval between reports until closed
        spec = plan.rules["follow_up_reports"]
        if first is None:
            pending = end_time is not None and closed is None
            out.append(
                Verdict(
                    inc.id,
                    "follow_up_reports",
                    NA if pending or start is None else MISSED,
                    None,
                    spec.allowed_minutes,
                    "no first report",
                )
            )
        else:
            times = [first.time] + sorted(
                {a.time for a in act["follow_up"] if a.time >= first.time}
            )
            end = closed.time if closed else now
            times.append(end)
            gap = (
                max(b - a for a, b in zip(times, times[1:], strict=False))
                if len(times) > 1
                else 0.0
            )
            allowed = spec.allowed_minutes
            ok = allowed is None or gap <= allowed + 1e-9
            status = MET if ok else MISSED
            if ok and closed is None and end_time is not None:
                status = NA
            out.append(
                Verdict(
                    inc.id,
                    "follow_up_reports",
                    status,
                    round(gap, 3),
                    allowed,
                    "" if closed else "pending",
                )
            )

        # final_report
        final = _first(act["final_report"])
        out.append(
            judge(
                "final_report",
                closed.time if closed else None,
                final.time if final else None,
                "" if closed else "not closed",
            )
        )
    return out


def verdict_frame(vs: list[Verdict]) -> pd.DataFrame:
    return pd.DataFrame(
        [asdict(v) for v in vs],
        columns=["incident", "rule", "status", "measured_min", "allowed_min", "note"],
    )


__all__ = ["Verdict", "verdicts", "verdict_frame", "RULE_IDS", "MET", "MISSED", "NA"]
