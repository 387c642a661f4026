"""Rule verdicts: per incident and plan rule, met / missed / n/a, measured against allowed time.

One judge function per rule, registered in :data:`JUDGES` under the rule's stable id. Each reads
only the action records (the step ids of :mod:`sim.procedure`), so a drill played by a human
team, a simulated run and a typed-in timeline (``drillsim judge``) are judged alike. Every
verdict names the Chinese clause it judges.

Which rules apply follows the grade the incident must be handled at: the plan's grade, or the
team's when it graded higher (setting ``grade_is_floor``) — misgrading a Ⅱ as a Ⅲ does not
excuse the direct report, and grading a Ⅲ as a Ⅱ brings the Ⅱ duties with it. The 立即 clocks
start when grading was due (setting ``immediately_clock_starts``), so late grading cannot hide a
late report.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from operator import itemgetter
from typing import Any, NamedTuple

import pandas as pd

from sim.grading import grade_rank, more_severe
from sim.plan import BODY_IDS, RULE_IDS, Plan
from sim.records import Action
from sim.scenario import Incident, Scenario, derived, uncovered_minutes

MET, MISSED, NA = "met", "missed", "n/a"
#: A clock that had not run out when the drill was ended early: neither met nor missed.
UNFINISHED = "unfinished"
#: Every verdict status, in the order tables count them.
STATUSES = (MET, MISSED, UNFINISHED, NA)
#: Rules whose measured value is a gap (uncovered duty, longest silence), not a time to act:
#: "how many runs did better" would compare unlike things, so the standing and a seat's
#: response times leave them out.
GAP_RULES = ("duty_24h_during_exam", "follow_up_reports")
_by_time = itemgetter(0)  # an Action's time
_EPS = 1e-9
#: Outcomes that count as a delivery made.
DELIVERED = frozenset({"received", "informed", "informed_backup", "dispatched", "started"})
_STRICT = frozenset({"received", "informed", "dispatched", "started"})
#: Report steps: any of them reaching a body counts as that body having been told.
REPORT_STEPS = ("verbal_report", "direct_report", "written_report", "follow_up")

#: A verdict's note codes and their English text (``Verdict.note``, for the CLI, logs and CSV
#: columns). The pages and reports never read that text: :func:`sim.labels.note_text` turns
#: ``note_code`` and ``note_params`` into words through the catalogue's ``note_<code>``.
NOTES: dict[str, str] = {
    "grade": "grade",  # the rule does not apply at the incident's grade
    "family": "family",  # nor to the incident's family
    "pending": "pending",
    "not_started": "not started",
    "not_done": "not done",
    "not_closed": "not closed",
    "not_graded": "not graded",
    "graded_as": "graded {team}, plan {plan}",
    "not_all_addressees": "not all addressees",
    "missing": "{items}",  # content items, or addressees not reached (ids)
    "no_verbal_first": "{bodies}",  # bodies written to before any verbal report
    "no_written_report": "no written report",
    "no_first_report": "no first report",
    "no_follow_up": "no follow-up sent",
    "dept_not_reached": "department not reached",
    "office_never": "office never received a report",
    "instead": "{did} instead of {want}",
    "duty_gap": "duty desk uncovered {minutes} min",
    "calendar_gap": "duty desk uncovered {minutes} min of the exam calendar",
    "no_roster": "roster not checked (no scenario)",
    "needs_roster": "needs a roster (--scenario)",
    "time_left": "ended with {left} min left",  # unfinished: the clock had time left
    "open_at_end": "ended with the incident open",  # unfinished: a clock without a limit
}
_JOIN = {"no_verbal_first": ","}


def note_english(code: str, params: dict[str, Any] | None = None) -> str:
    """A note code's English text (``Verdict.note``): lists joined as the CLI always wrote them.
    Texts whose parameters are all strings are remembered (a run writes "graded III, plan III"
    again and again; a number is not a key, as 1 and 1.0 would share one)."""
    text = NOTES.get(code, code)
    if not params:
        return text
    if not all(type(v) is str for v in params.values()):
        return _note_text(code, text, params)
    key = (code, *params.items())
    found = _NOTE_TEXTS.get(key)
    if found is None:
        if len(_NOTE_TEXTS) > 4096:
            _NOTE_TEXTS.clear()
        found = _NOTE_TEXTS[key] = _note_text(code, text, params)
    return found


_NOTE_TEXTS: dict[tuple, str] = {}


def _note_text(code: str, text: str, params: dict[str, Any]) -> str:
    sep = _JOIN.get(code, ", ")
    words = {
        k: sep.join(map(str, v)) if isinstance(v, list | tuple) else v for k, v in params.items()
    }
    try:
        return text.format(**words)
    except (KeyError, IndexError, ValueError):
        return text


class Verdict(NamedTuple):
    """One rule's verdict on one incident (``incident`` empty for a run-level rule). A named
    tuple: a run makes one per incident and rule, and :func:`_new` makes one in a single C call
    (a dataclass's ``__init__`` was a Python frame of fifteen assignments each time). Only
    :func:`sim.causes.explain_misses` gives a miss its ``causes`` and ``blocker``, by
    replacing it in the list."""

    incident: str
    rule: str
    status: str  # met | missed | unfinished | n/a
    measured_min: float | None
    allowed_min: float | None
    note: str = ""
    clause_zh: str = ""
    missing: tuple[str, ...] = ()
    start_min: float | None = None  # when the clock started (a deadline is start + allowed)
    #: a miss's causes, (cause, minutes) summing to ``measured_min`` (:mod:`sim.causes`)
    causes: tuple[tuple[str, float], ...] = ()
    #: a miss's blocking step: the step that took the most of its time (or never happened)
    blocker: str = ""
    #: the note as a stable code (:data:`NOTES`) and its parameters; ``note`` is its English
    note_code: str = ""
    note_params: dict[str, Any] | None = None


_new = tuple.__new__  # Verdict's own __new__ is a Python function


class Case:
    """What one judge function sees of one incident.

    A plain class with slots (a run makes one per incident): the records are indexed once here,
    and the times several judges ask for (discovery, when a 立即 clock starts, when the office was
    told) are worked out once per case."""

    __slots__ = (
        "plan", "incident", "plan_grade", "team_grade", "final_grade", "acts", "now", "live",
        "ended", "scenario", "grade", "_times", "_strict", "_first", "_memo", "settings", "steps",
        "first_report_step", "grade_limited", "lacking",
    )  # fmt: skip

    def __init__(
        self,
        *,
        plan: Plan,
        incident: Incident,
        plan_grade: str,
        team_grade: str | None,  # the most severe grade the team gave
        final_grade: str | None,  # the last grade the team gave
        acts: dict[str, list[Action]],
        index: tuple[dict, dict, dict],
        now: float,
        live: bool,  # a drill still running: clocks not yet run out are pending, not missed
        scenario: Scenario | None,
        ended: bool = False,  # a drill ended at ``now``: clocks not yet run out are unfinished
    ) -> None:
        """The plan's grade is a floor: the team's grade counts when higher (grade_is_floor)."""
        self.plan, self.incident, self.plan_grade = plan, incident, plan_grade
        self.team_grade, self.final_grade, self.acts = team_grade, final_grade, acts
        self.now, self.live, self.scenario, self.ended = now, live, scenario, ended
        # the grade the incident must be handled at
        # the plan's settings and steps, read as plain dicts (a judge asks several of each)
        facts = _plan_facts(plan)
        self.settings, self.steps = facts.settings, facts.steps
        self.first_report_step = facts.first_report_step
        self.grade_limited, self.lacking = facts.grade_limited, facts.lacking
        if team_grade and self.settings["grade_is_floor"]:
            self.grade = more_severe(plan_grade, team_grade)
        else:
            self.grade = plan_grade
        # the indexes of the incident's records (:func:`_index`, one pass for every incident)
        self._first, self._times, self._strict = index
        self._memo = {}

    # -- what happened ------------------------------------------------------------------------

    def first_delivery(self, action: str, target: str) -> Action | None:
        """The first record of ``action`` that delivered it to ``target``."""
        return self._first.get((action, target))

    def time(self, action: str, outcome: str | None = None) -> float | None:
        """When ``action`` first happened (with ``outcome``, if given)."""
        recs = self.acts.get(action)
        if not recs:
            return None
        if outcome is None:
            return recs[0][0]
        for a in recs:
            if a[6] == outcome:
                return a[0]
        return None

    def delivered(self, steps: Iterable[str], target: str, *, strict: bool = False) -> float | None:
        """When any of ``steps`` first reached ``target`` (``strict``: the role's own person)."""
        got = self._strict if strict else self._times
        best = None
        for s in steps:
            t = got.get((s, target))
            if t is not None and (best is None or t < best):
                best = t
        return best

    def all_delivered(
        self, steps: Iterable[str], targets: Iterable[str], *, strict: bool = False
    ) -> tuple[float | None, list[str]]:
        """When the last of ``targets`` was reached, and which were not reached."""
        got, steps = (self._strict if strict else self._times), tuple(steps)
        last: float | None = None
        missing: list[str] = []
        for t in targets:
            at = None  # as delivered(), inline: every judge of a report asks this
            for s in steps:
                x = got.get((s, t))
                if x is not None and (at is None or x < at):
                    at = x
            if at is None:
                missing.append(t)
            elif last is None or at > last:
                last = at
        return (None if missing else last), missing

    @property
    def discovered(self) -> float | None:
        """When the college knew; a timeline that does not say is read as at occurrence (the
        strictest reading: the clocks cannot start later than the incident)."""
        found = self.time("discovered")
        return found if found is not None else self.time("occurred")

    @property
    def closed(self) -> float | None:
        return self.time("closed")

    @property
    def open(self) -> bool:
        """A drill still running and this incident not closed: what has not happened may yet."""
        return self.live and self.closed is None

    @property
    def cut(self) -> bool:
        """A drill ended early with this incident open: what had not happened still might have."""
        return self.ended and self.closed is None

    def still_running(
        self, start: float, allowed: float | None
    ) -> tuple[str, str, dict[str, Any] | None]:
        """Status and note of a clock that had not run out when judged: pending while the drill
        runs; unfinished once it was ended early, with the minutes it had left (or, for a clock
        without a limit, with the incident still open)."""
        if self.live:
            return NA, "pending", None
        if allowed is None:
            return UNFINISHED, "open_at_end", None
        return UNFINISHED, "time_left", {"left": round(max(0.0, start + allowed - self.now))}

    def never_started(self, rule: str, code: str, otherwise: str = MISSED) -> Verdict:
        """A clock whose start never came (nobody told the office, no first report…): pending
        while the drill runs; unfinished in a drill ended early with the incident open (it still
        might have come); else ``otherwise`` (missed, or n/a where nothing was due), with ``code``."""
        if self.open:
            return self.as_is(rule, NA, "pending")
        if self.cut:
            return self.as_is(rule, UNFINISHED, code)
        return self.as_is(rule, otherwise, code)

    def office_received(self) -> float | None:
        memo = self._memo
        if "office" not in memo:
            memo["office"] = self.delivered(REPORT_STEPS, "working_group")
        return memo["office"]

    def immediate_start(self) -> float | None:
        """When a 立即 clock starts (setting ``immediately_clock_starts``)."""
        memo = self._memo
        if "immediate" not in memo:
            memo["immediate"] = self._immediate_start()
        return memo["immediate"]

    def _immediate_start(self) -> float | None:
        disc = self.discovered
        graded = self.time("graded")
        how = self.settings["immediately_clock_starts"]
        if how == "discovery":
            return disc
        if how == "graded":
            return graded
        if disc is None:
            return graded
        due = disc + float(self.settings["grading_due_minutes"])
        return due if graded is None else min(graded, due)

    # -- verdicts -------------------------------------------------------------------------------
    def as_is(
        self,
        rule: str,
        status: str,
        code: str = "",
        measured: float | None = None,
        missing: Iterable[str] = (),
        start: float | None = None,
        params: dict[str, Any] | None = None,
    ) -> Verdict:
        """A verdict stated outright, with the rule's clock and clause filled in."""
        spec = self.plan.rules[rule]
        return _new(Verdict, (
            self.incident.id, rule, status, measured, spec.allowed_minutes,
            note_english(code, params) if code else "", spec.clause_zh, tuple(missing), start,
            (), "", code, params,
        ))  # fmt: skip

    def verdict(
        self,
        rule: str,
        start: float | None,
        done: float | None,
        code: str = "",
        missing: Iterable[str] = (),
        params: dict[str, Any] | None = None,
    ) -> Verdict:
        """Met when done within the rule's clock; pending in a live drill while time is left;
        unfinished in a drill ended while time was left (``code``/``params``: the note)."""
        spec = self.plan.rules[rule]
        allowed = spec.allowed_minutes
        measured = None
        missing = tuple(missing) if missing else ()
        if self.grade not in spec.grades:
            status, code, params, missing = NA, "grade", None, ()
        elif start is None:
            # a clock that has not started in a drill still running is still to come
            status = NA
            if self.open:
                code, params = "pending", None
            else:
                code = code or "not_started"
        elif done is not None:
            took = max(0.0, done - start)
            ok = (allowed is None or took <= allowed + _EPS) and not missing
            # to the thousandth of a minute; a multiple of 1/8 has three decimals at most, so
            # it is its own rounding (most times of a run are, and round() is a slow call)
            status = MET if ok else MISSED
            measured = took if (took * 8.0).is_integer() else round(took, 3)
        elif (self.live or self.ended) and (
            (allowed is not None and self.now - start <= allowed)
            or (allowed is None and self.closed is None)
        ):
            status, code, params = self.still_running(start, allowed)
        else:
            status, code = MISSED, code or "not_done"
        return _new(Verdict, (
            self.incident.id, rule, status, measured, allowed,
            note_english(code, params) if code else "", spec.clause_zh, missing, start,
            (), "", code, params,
        ))  # fmt: skip


class _PlanFacts(NamedTuple):
    """What judging reads of the plan, worked out once per plan (:func:`_plan_facts`)."""

    settings: dict[str, Any]  # setting values by name
    steps: dict[str, Any]  # steps by id
    first_report_step: str
    grade_limited: dict[str, bool]  # per rule: a duty of some grades only
    lacking: dict[tuple, tuple[str, ...]]  # memo of :func:`_lacking`


def _plan_facts(plan: Plan) -> _PlanFacts:
    cache = derived(plan)
    found = cache.get("judge_facts")
    if found is None:
        found = cache["judge_facts"] = _PlanFacts(
            settings={name: s.value for name, s in plan.settings.items()},
            steps=plan.steps,
            first_report_step=plan.first_report_step,
            grade_limited={rid: set(r.grades) != set(plan.grades) for rid, r in plan.rules.items()},
            lacking={},
        )
    return found


Judge = Callable[[Case], Verdict]
JUDGES: dict[str, Judge] = {}


def judge(rule: str) -> Callable[[Judge], Judge]:
    """Register the judge function of one rule."""

    def add(fn: Judge) -> Judge:
        JUDGES[rule] = fn
        return fn

    return add


def _lacking(c: Case, step, detail: str) -> tuple[str, ...]:
    """The items of ``step.content`` that a record's ``detail`` (a comma list) does not carry,
    remembered per plan: runs send the same content again and again."""
    cache = c.lacking
    key = (step.id, detail)
    found = cache.get(key)
    if found is None:
        if len(cache) > 4096:  # a team's typed-in content: bounded
            cache.clear()
        given = set(detail.split(","))
        found = cache[key] = tuple(item for item in step.content if item not in given)
    return found


@judge("first_report_3h")
def _first_report_3h(c: Case) -> Verdict:
    start = c.discovered if c.settings["first_report_clock_starts"] == "discovery" else None
    start = start if start is not None else c.time("occurred")
    kind = c.first_report_step
    addressees = c.steps[kind].to
    if c.settings["first_report_addressees"] == "any":
        times = [t for t in (c.delivered([kind], a) for a in addressees) if t is not None]
        return c.verdict("first_report_3h", start, min(times) if times else None)
    done, missing = c.all_delivered([kind], addressees)
    if done is None and missing and len(missing) < len(addressees):
        # some got it: naming who did not (pending while its clock still runs)
        return c.verdict("first_report_3h", start, None, "not_all_addressees", missing)
    return c.verdict("first_report_3h", start, done)


@judge("first_report_content")
def _first_report_content(c: Case) -> Verdict:
    step = c.steps["written_report"]
    firsts = [a for body in step.to if (a := c.first_delivery("written_report", body))]
    start = c.discovered
    if not firsts:
        return c.verdict("first_report_content", start, None, "no_written_report")
    # an item is missing when any addressee's first report lacks it
    gone: set[str] = set()
    for a in firsts:
        gone.update(_lacking(c, step, a.detail))
    missing = [item for item in step.content if item in gone]
    done = min(a.time for a in firsts)
    if not missing:
        return c.verdict("first_report_content", start, done)
    return c.verdict("first_report_content", start, done, "missing", missing, {"items": missing})


@judge("verbal_before_written")
def _verbal_before_written(c: Case) -> Verdict:
    rule = "verbal_before_written"
    written = [a for a in c.acts.get("written_report", ()) if a.outcome in DELIVERED]
    start = c.discovered
    if not written:
        return c.verdict(rule, start, None, "no_written_report")
    bad = []
    for w in written:
        v = c.delivered(("verbal_report", "direct_report"), w.target)
        if v is None or v > w.time + _EPS:
            bad.append(w.target)
    verbals = [
        a.time
        for s in ("verbal_report", "direct_report")
        for a in c.acts.get(s, ())
        if a.outcome in DELIVERED
    ]
    first_verbal = min(verbals) if verbals else written[0].time
    if not bad:
        return c.verdict(rule, start, first_verbal)
    bad = sorted(set(bad))
    return c.verdict(rule, start, first_verbal, "no_verbal_first", bad, {"bodies": bad})


@judge("grade_determined")
def _grade_determined(c: Case) -> Verdict:
    rule = "grade_determined"
    last = c.acts.get("graded")
    if not last or c.final_grade is None:
        return c.verdict(rule, c.discovered, None, "not_graded")
    graded = last[-1].time
    team, plan = c.final_grade, c.plan_grade
    ok = grade_rank(team) <= grade_rank(plan) if c.settings["grade_is_floor"] else team == plan
    missing = () if ok else (f"grade:{plan}",)
    return c.verdict(rule, c.discovered, graded, "graded_as", missing, {"team": team, "plan": plan})


@judge("direct_report_I_II")
def _direct_report(c: Case) -> Verdict:
    done, missing = c.all_delivered(REPORT_STEPS, c.steps["direct_report"].to)
    return c.verdict(
        "direct_report_I_II", c.immediate_start(), done, missing=missing if done is None else ()
    )


@judge("dept_reports_up_immediately")
def _dept_reports_up(c: Case) -> Verdict:
    start = c.delivered(REPORT_STEPS, "regional_department")
    done, missing = c.all_delivered(["dept_report_up"], c.steps["dept_report_up"].to)
    code = "" if start is not None else "dept_not_reached"
    return c.verdict("dept_reports_up_immediately", start, done, code)


def _office_rule(
    c: Case, rule: str, steps: tuple[str, ...], targets: Iterable[str], strict: bool = False
) -> Verdict:
    start = c.office_received()
    grades = c.plan.rules[rule].grades
    if start is not None and c.grade_limited[rule]:
        # a duty of some grades only: the office knows it is due once the grade is known, so
        # the clock starts then — but no later than when grading was due
        graded = c.immediate_start()
        start = max(start, graded) if graded is not None else start
    if start is None and c.grade in grades:
        return c.never_started(rule, "office_never")
    done, missing = c.all_delivered(steps, targets, strict=strict)
    if not missing:
        return c.verdict(rule, start, done)
    return c.verdict(
        rule, start, done, "missing", missing if done is None else (), {"items": missing}
    )


@judge("office_informs_leaders")
def _office_informs_leaders(c: Case) -> Verdict:
    strict = c.settings["leader_informed_via_deputy"] == "does_not_count"
    roles = [t for t in c.steps["office_informs"].to if t not in BODY_IDS]
    return _office_rule(c, "office_informs_leaders", ("office_informs",), roles, strict)


@judge("office_informs_emergency_office")
def _office_informs_emergency_office(c: Case) -> Verdict:
    bodies = [t for t in c.steps["office_informs"].to if t in BODY_IDS]
    return _office_rule(c, "office_informs_emergency_office", ("office_informs",), bodies)


@judge("office_reports_up_II")
def _office_reports_up(c: Case) -> Verdict:
    return _office_rule(
        c, "office_reports_up_II", ("office_reports_up",), c.steps["office_reports_up"].to
    )


@judge("department_informed_III_IV")
def _department_informed(c: Case) -> Verdict:
    return _office_rule(
        c,
        "department_informed_III_IV",
        ("department_informed", *REPORT_STEPS),
        c.steps["department_informed"].to,
    )


@judge("emergency_contact_III_plus")
def _emergency_contact(c: Case) -> Verdict:
    strict = c.settings["emergency_contact_via_backup"] == "does_not_count"
    done = c.delivered(["emergency_contact"], "emergency_contact", strict=strict)
    return c.verdict("emergency_contact_III_plus", c.immediate_start(), done)


@judge("emergency_state_I_II")
def _emergency_state(c: Case) -> Verdict:
    return c.verdict("emergency_state_I_II", c.immediate_start(), c.time("emergency_state", "done"))


@judge("special_plan_or_containment")
def _special_plan(c: Case) -> Verdict:
    has_plan = c.incident.family in c.settings["special_plan_families"]
    right, wrong = ("special_plan", "contain") if has_plan else ("contain", "special_plan")
    done = c.time(right, "done")
    if done is not None or c.time(wrong, "done") is None:
        return c.verdict("special_plan_or_containment", c.immediate_start(), done)
    return c.verdict(
        "special_plan_or_containment", c.immediate_start(), done, "instead", (),
        {"did": wrong, "want": right},
    )  # fmt: skip


@judge("information_release")
def _information_release(c: Case) -> Verdict:
    rule = "information_release"
    if c.incident.family not in c.settings["info_release_families"]:
        return c.as_is(rule, NA, "family")
    done, missing = c.all_delivered(["info_release"], c.steps["info_release"].to)
    if done is None and missing and c.acts.get("info_release"):
        return c.verdict(rule, c.immediate_start(), None, "not_all_addressees", missing)
    return c.verdict(rule, c.immediate_start(), done)


@judge("duty_24h_I")
def _duty_24h_I(c: Case) -> Verdict:
    rule = "duty_24h_I"
    start = c.immediate_start()
    declared = c.time("duty_24h", "done")
    if c.scenario is None or declared is None or start is None:
        return c.verdict(rule, start, declared, "no_roster" if c.scenario is None else "")
    end = c.closed if c.closed is not None else c.now
    gap = uncovered_minutes(c.scenario, "duty_desk", start, end)
    if gap <= _EPS:
        return c.verdict(rule, start, declared)
    return c.verdict(rule, start, declared, "duty_gap", ("duty_desk",), {"minutes": f"{gap:.0f}"})


@judge("deputy_leader_on_site_I")
def _deputy_on_site(c: Case) -> Verdict:
    return c.verdict(
        "deputy_leader_on_site_I", c.immediate_start(), c.time("deputy_to_site", "done")
    )


@judge("follow_up_reports")
def _follow_ups(c: Case) -> Verdict:
    rule = "follow_up_reports"
    spec = c.plan.rules[rule]
    kind = c.first_report_step
    firsts = [a.time for a in c.acts.get(kind, ()) if a.outcome in DELIVERED]
    first = min(firsts) if firsts else None
    if c.grade not in spec.grades:
        return c.as_is(rule, NA, "grade")
    if first is None:  # no first report: the follow-up clock never started
        return c.never_started(rule, "no_first_report", NA if c.discovered is None else MISSED)
    end_at = c.time("resolved") or c.closed
    times = [first] + sorted(
        {a.time for a in c.acts.get("follow_up", ()) if a.time >= first and a.outcome in DELIVERED}
    )
    end = end_at if end_at is not None else c.now
    times.append(max(end, times[-1]))
    gap = max(b - a for a, b in zip(times, times[1:], strict=False)) if len(times) > 1 else 0.0
    allowed = spec.allowed_minutes
    ok = allowed is None or gap <= allowed + _EPS
    status = MET if ok else MISSED
    code, params = "", None
    if ok and end_at is None and (c.live or c.ended):  # the follow-up clock still running
        status, code, params = c.still_running(times[-2], allowed or None)
    return c.as_is(rule, status, code, round(gap, 3), start=times[-2], params=params)


@judge("follow_up_content")
def _follow_up_content(c: Case) -> Verdict:
    rule = "follow_up_content"
    required = c.steps["follow_up"].content
    sent = [a for a in c.acts.get("follow_up", ()) if a.outcome in DELIVERED]
    if c.grade not in c.plan.rules[rule].grades:
        return c.as_is(rule, NA, "grade")
    if not sent:
        return c.never_started(rule, "no_follow_up", NA)
    # an item counts when any follow-up carried it
    lack: set[str] | None = None
    for detail in {a.detail for a in sent}:
        got = set(_lacking(c, c.steps["follow_up"], detail))
        lack = got if lack is None else lack & got
    missing = tuple(x for x in required if lack and x in lack)
    if not missing:
        return c.as_is(rule, MET)
    if c.open:
        return c.as_is(rule, NA, "pending", missing=missing)
    # a later follow-up could still have carried what is missing
    status = UNFINISHED if c.cut else MISSED
    return c.as_is(rule, status, "missing", missing=missing, params={"items": list(missing)})


@judge("investigation_responsibility")
def _investigation(c: Case) -> Verdict:
    code = "" if c.closed is not None else "not_closed"
    return c.verdict(
        "investigation_responsibility", c.closed, c.time("investigation", "done"), code
    )


@judge("final_report")
def _final_report(c: Case) -> Verdict:
    done = c.delivered(["final_report"], "working_group")
    if done is None:
        times = [
            a.time for a in c.acts.get("final_report", ()) if a.outcome in DELIVERED | {"done"}
        ]
        done = min(times) if times else None
    code = "" if c.closed is not None else "not_closed"
    return c.verdict("final_report", c.closed, done, code)


def duty_24h_during_exam(plan: Plan, scenario: Scenario | None) -> Verdict:
    """The whole exam calendar: every minute the duty desk is not staffed counts (run level)."""
    rule = "duty_24h_during_exam"
    spec = plan.rules[rule]
    if scenario is None:
        return Verdict(
            "", rule, NA, None, spec.allowed_minutes, NOTES["needs_roster"], spec.clause_zh,
            note_code="needs_roster",
        )  # fmt: skip
    cache = derived(scenario)
    gap = cache.get("duty_desk_gap")
    if gap is None:  # the roster and calendar alone decide it: once per scenario
        gap = cache["duty_desk_gap"] = uncovered_minutes(
            scenario, "duty_desk", 0.0, scenario.days * 24 * 60
        )
    ok = gap <= (spec.allowed_minutes or 0.0) + _EPS
    if ok:
        return Verdict("", rule, MET, round(gap, 3), spec.allowed_minutes, "", spec.clause_zh)
    params = {"minutes": f"{gap:.0f}"}
    return Verdict(
        "", rule, MISSED, round(gap, 3), spec.allowed_minutes,
        note_english("calendar_gap", params), spec.clause_zh, ("duty_desk",),
        note_code="calendar_gap", note_params=params,
    )  # fmt: skip


def verdicts(
    scenario: Scenario | None,
    incidents: tuple[Incident, ...] | list[Incident],
    true_grades: dict[str, str],
    records: list[Action],
    *,
    end_time: float | None = None,
    plan: Plan | None = None,
    ordered: bool = False,
    ended: bool = False,
) -> list[Verdict]:
    """One verdict per incident × rule (incident then rule order), then the run-level duty rule.

    ``end_time`` is the clock at which a still-open drill is judged: a deadline that has not
    passed and has not been met is ``n/a`` with note ``pending``. Without a ``scenario`` (a typed
    timeline), rules that need the roster say so. ``ordered``: the records are in time order
    already (a model's), so they are not sorted again. ``ended`` (with ``end_time``): the drill
    was ended then, so a clock that had not run out is ``unfinished``, not ``missed`` — a team
    is not scored on deadlines the drill did not reach.
    """
    plan = plan or scenario.plan  # type: ignore[union-attr]
    indexed = _index(records, ordered)
    out: list[Verdict] = []
    n_rules, by_grade, not_due = _judging(plan)
    empty: tuple = ({}, ({}, {}, {}), 0.0)
    for inc in incidents:
        acts, index, last = indexed.get(inc.id, empty)
        graded = acts.get("graded")
        # re-grading: the duties of the most severe grade the team gave apply; the last grade
        # given is the one judged against the plan
        team = min((a.outcome for a in graded or ()), key=grade_rank, default=None)
        case = Case(
            plan=plan,
            incident=inc,
            plan_grade=true_grades[inc.id],
            team_grade=team,
            final_grade=graded[-1].outcome if graded else None,
            acts=acts,
            index=index,
            now=end_time if end_time is not None else last,
            live=end_time is not None and not ended,
            scenario=scenario,
            ended=ended and end_time is not None,
        )
        # a rule that does not apply at the incident's grade is n/a without judging it
        fns = by_grade.get(case.grade) or (None,) * n_rules
        for judge_fn, na in zip(fns, _not_due(plan, not_due, inc.id), strict=True):
            out.append(na if judge_fn is None else judge_fn(case))
    out.append(duty_24h_during_exam(plan, scenario))
    return out


def _index(
    records: list[Action], ordered: bool
) -> dict[str, tuple[dict, tuple[dict, dict, dict], float]]:
    """Per incident, in one pass over the records in time order: its records per action, the
    indexes :class:`Case` looks deliveries up in — per ``(action, target)`` the first
    delivering record, the first delivery's time, and the first time the role's own person
    took it (strict) — and the time of its last record. ``ordered``: the records are known to
    be in time order (a model's are)."""
    if not ordered:
        records = sorted(records, key=_by_time)  # stable: a typed timeline's own order kept
    out: dict[str, tuple[dict, tuple[dict, dict, dict], float]] = {}
    delivered, strict_ = DELIVERED, _STRICT
    current = None
    acts: dict[str, list[Action]] = {}
    first: dict[tuple, Action] = {}
    times: dict[tuple, float] = {}
    strict: dict[tuple, float] = {}
    for rec in records:
        at, iid, _, action, _, target, outcome, _ = rec
        if iid != current:  # a run's records come in runs of one incident: switch seldom
            current = iid
            got = out.get(iid)
            if got is None:
                acts, first, times, strict = {}, {}, {}, {}
                out[iid] = (acts, (first, times, strict), 0.0)
            else:
                acts, (first, times, strict) = got[0], got[1]
        got = acts.get(action)
        if got is None:
            acts[action] = [rec]
        else:
            got.append(rec)
        if outcome in delivered:
            key = (action, target)
            if key not in first:
                first[key] = rec
                times[key] = at
            if outcome in strict_ and key not in strict:
                strict[key] = at
    # each incident's last record (in time order, the latest): found from the end
    last: dict[str, float] = {}
    for rec in reversed(records):
        if rec[1] not in last:
            last[rec[1]] = rec[0]
            if len(last) == len(out):
                break
    return {iid: (got[0], got[1], last[iid]) for iid, got in out.items()}


def _judging(plan: Plan) -> tuple[int, dict[str, tuple], dict[str, list[Verdict]]]:
    """What judging an incident needs, worked out once per plan: per grade, each incident
    rule's judge function in rule order, or None where the rule does not apply at that grade;
    and per incident id its n/a-by-grade verdicts (what :meth:`Case.verdict` says of a grade a
    rule does not apply at), made once and shared by every run that asks — nothing changes a
    verdict that is not a miss."""
    cache = derived(plan)
    found = cache.get("judging")
    if found is None:
        rules = [plan.rules[rid] for rid in RULE_IDS if rid != "duty_24h_during_exam"]
        by_grade = {
            g: tuple(JUDGES[r.id] if g in r.grades else None for r in rules) for g in plan.grades
        }
        found = cache["judging"] = (len(rules), by_grade, {})
    return found


def _not_due(plan: Plan, made: dict[str, list[Verdict]], incident: str) -> list[Verdict]:
    """An incident's n/a-by-grade verdict of every incident rule, in rule order (made once)."""
    found = made.get(incident)
    if found is None:
        if len(made) > 4096:  # stochastic incidents' ids: bounded
            made.clear()
        found = made[incident] = [
            _new(
                Verdict,
                (
                    incident,
                    rid,
                    NA,
                    None,
                    plan.rules[rid].allowed_minutes,
                    "grade",
                    plan.rules[rid].clause_zh,
                    (),
                    None,
                    (),
                    "",
                    "grade",
                    None,
                ),
            )  # fmt: skip
            for rid in RULE_IDS
            if rid != "duty_24h_during_exam"
        ]
    return found


def verdict_frame(vs: list[Verdict]) -> pd.DataFrame:
    rows: list[dict[str, Any]] = []
    for v in vs:
        row = v._asdict()
        row["missing"] = ",".join(v.missing)
        rows.append(row)
    return pd.DataFrame(
        rows,
        columns=[
            "incident",
            "rule",
            "status",
            "measured_min",
            "allowed_min",
            "note",
            "clause_zh",
            "missing",
        ],
    )


__all__ = [
    "JUDGES", "MET", "MISSED", "NA", "NOTES", "RULE_IDS", "STATUSES", "UNFINISHED", "Verdict",
    "note_english", "verdict_frame", "verdicts",
]  # fmt: skip
