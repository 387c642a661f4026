"""Why a clock was missed: each miss's critical path, split into causes that sum to its time.

The model records why each stretch of an incident's time passed (:class:`sim.model.Span`:
waiting for a busy person, an unanswered or busy call, late grading, an outside body's pick-up,
travel, a step's own work…) and, per step, when it became due and which milestone made it so
(``Model.ready``). A missed verdict's time runs from its clock's start to the milestone that
stopped it; walking back from that milestone through the spans that end where the last one
began, and through the milestone each step waited for, gives the critical path. Its pieces,
clipped to the clock, sum to the measured time.

A miss that is not about time (missing report content, a wrong grade) carries that reason as a
cause of 0 minutes; a duty never done carries why (``wrong_grading``, ``unreachable``,
``not_done``) with the minutes from its clock's start to the incident's end.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import NamedTuple

from sim.model import Span
from sim.records import Action
from sim.rules import DELIVERED, MISSED, Verdict

#: Causes that are a reason, not a stretch of time.
REASONS = (
    "wrong_grading",
    "missing_content",
    "duty_gap",
    "out_of_order",
    "unreachable",
    "not_done",
)
#: Every cause, in the order they are shown: stretches of time, then reasons.
CAUSES = (
    "discovery",
    "late_grading",
    "waiting_busy",
    "call_unanswered",
    "call_busy",
    "answer_delay",
    "retry_wait",
    "body_pickup",
    "step_work",
    "travel",
    "follow_up_interval",
    "team_time",
    "unexplained",
    *REASONS,
)
#: What a rule's ``missing`` items mean when its time was kept: a reason of 0 minutes.
_MISSING_MEANS = {
    "grade_determined": "wrong_grading",
    "duty_24h_I": "duty_gap",
    "verbal_before_written": "out_of_order",
}
_EPS = 1e-6
_MAX_DEPTH = 500  # a path is never longer than the incident's steps; a guard, not a limit


class Segment(NamedTuple):
    """One piece of a critical path: ``cause`` took ``[start, end]`` of step ``step``."""

    start: float
    end: float
    cause: str
    step: str
    target: str
    who: str
    detail: str

    @property
    def minutes(self) -> float:
        return self.end - self.start


class Trace:
    """What a run left to explain its misses: its spans, its steps' readiness, its records."""

    def __init__(
        self,
        spans: Iterable[tuple],
        ready: dict[tuple[str, str], tuple[float, tuple | None]],
        records: list[Action],
        residual: str = "unexplained",
    ):
        self.ready = ready
        self.records = records
        #: the run's records per incident: each miss looks only at its own incident's
        self._of: dict[str, list[Action]] = defaultdict(list)
        for a in records:
            self._of[a.incident].append(a)
        #: what a stretch not covered by any span is put down to: in a drill, the team's time
        self.residual = residual
        # the spans per (incident, step) as recorded (plain tuples), read as Spans the first
        # time a walk asks for that step: most of a run's steps are never walked
        self._raw: dict[tuple[str, str], list[tuple]] = defaultdict(list)
        for raw in spans:
            self._raw[(raw[0], raw[1])].append(raw)
        self._by_step: dict[tuple[str, str], list[Span]] = {}

    def _spans(self, incident: str, step: str) -> list[Span]:
        key = (incident, step)
        found = self._by_step.get(key)
        if found is None:
            found = self._by_step[key] = [Span._make(r) for r in self._raw.get(key, ())]
        return found

    @classmethod
    def of(cls, model, residual: str = "unexplained") -> Trace:
        return cls(model.spans, model.ready, model.records, residual)

    # -- the walk ---------------------------------------------------------------------------
    def path(self, incident: str, key: tuple[str, ...], hi: float, lo: float) -> list[Segment]:
        """The critical path to milestone ``key`` (``(step,)`` or ``(step, target)``) reached at
        ``hi``, back to ``lo``; segments in time order, covering ``[lo, hi]`` exactly."""
        out: list[Segment] = []
        self._walk(incident, key, hi, lo, out, 0)
        out.reverse()
        return out

    def _walk(
        self, incident: str, key: tuple[str, ...], hi: float, lo: float, out: list, depth: int
    ) -> None:
        step = key[0]
        target = key[1] if len(key) > 1 else None
        spans = self._spans(incident, step)
        ready = self.ready.get((incident, step))
        floor = ready[0] if ready is not None else float("-inf")
        cursor = hi
        while cursor > lo + _EPS:
            sp = _ending_at(spans, cursor, target, floor)
            if sp is None:
                earlier = [s for s in spans if s.end < cursor - _EPS and s.start >= floor - _EPS]
                if not earlier:
                    break
                sp = max(earlier, key=lambda s: s.end)
                self._add(out, sp.end, cursor, lo, self.residual, step, target or "", "", "")
                cursor = sp.end
                continue
            if sp.cause == "after" and depth < _MAX_DEPTH:
                # the delivery waited for another milestone (先口头、后书面): go on from there
                self._walk(incident, step_of(sp.detail), cursor, lo, out, depth + 1)
                return
            self._add(out, sp.start, cursor, lo, sp.cause, step, sp.target, sp.who, sp.detail)
            cursor = sp.start
        if cursor <= lo + _EPS:
            return
        if ready is None or ready[1] is None or depth >= _MAX_DEPTH:
            # nothing modelled before the step started: a drill team's own time, or the start
            self._add(out, lo, cursor, lo, self.residual, step, "", "", "")
            return
        when, trigger = ready
        if cursor > when + _EPS:
            self._add(out, when, cursor, lo, self.residual, step, "", "", "")
            cursor = when
        self._walk(incident, trigger, cursor, lo, out, depth + 1)

    @staticmethod
    def _add(out: list, start: float, end: float, lo: float, cause: str, *rest: str) -> None:
        start = max(start, lo)
        if cause and end - start > _EPS:
            out.append(Segment(start, end, cause, *rest))

    # -- verdicts ---------------------------------------------------------------------------
    def segments(self, verdict: Verdict, plan) -> tuple[list[Segment], list[tuple[str, float]]]:
        """A verdict's critical path (segments) and its reasons that are not time."""
        inc, rule = verdict.incident, verdict.rule
        lo, measured = verdict.start_min, verdict.measured_min
        reasons: list[tuple[str, float]] = []
        if rule == "follow_up_reports":
            lo, measured = self._widest_follow_up_gap(inc, plan, measured)
        if lo is None:
            return [], [("not_done", 0.0)]
        if measured is None:
            end = self._incident_end(inc)
            return [], [(self._why_not_done(verdict, plan), round(max(0.0, end - lo), 3))]
        if verdict.missing:
            reasons.append((_MISSING_MEANS.get(rule, "missing_content"), 0.0))
        hi = lo + measured  # measured is rounded: the milestone's own time is the end
        found = self._milestone_at(inc, rule, plan, hi)
        if found is None:
            return [Segment(lo, hi, self.residual, "", "", "", "")], reasons
        key, hi = found
        segs = self.path(inc, key, hi, lo)
        covered = sum(s.minutes for s in segs)
        if (hi - lo) - covered > 1e-3:  # the walk ran out before the clock's start
            first = segs[0].start if segs else hi
            segs.insert(0, Segment(lo, first, self.residual, key[0], "", "", ""))
        return segs, reasons

    def _milestone_at(
        self, inc: str, rule: str, plan, at: float
    ) -> tuple[tuple[str, ...], float] | None:
        """The milestone of one of the rule's steps reached at ``at`` (to the measured time's
        rounding), and its exact time."""
        steps = _rule_steps(plan, rule)
        if rule == "follow_up_reports":
            steps |= {"follow_up", plan.first_report_step}
        best = None
        for a in self._of.get(inc, ()):
            if abs(a.time - at) > 1e-3 or a.action not in steps:
                continue
            if a.outcome in DELIVERED:
                return (a.action, a.target), a.time
            best = best or ((a.action,), a.time)
        return best

    def _incident_end(self, inc: str) -> float:
        return max((a.time for a in self._of.get(inc, ())), default=0.0)

    def _why_not_done(self, verdict: Verdict, plan) -> str:
        steps = _rule_steps(plan, verdict.rule)
        mine = self._of.get(verdict.incident, ())
        if any(a.action in steps and a.outcome == "failed" for a in mine):
            return "unreachable"
        if any(a.action == "graded" and a.outcome != a.detail for a in mine):
            return "wrong_grading"
        return "not_done"

    def _widest_follow_up_gap(
        self, inc: str, plan, measured: float | None
    ) -> tuple[float | None, float | None]:
        """The follow-up rule measures its widest gap: where that gap starts."""
        kind = plan.first_report_step
        sent = sorted(
            a.time
            for a in self._of.get(inc, ())
            if a.action in (kind, "follow_up") and a.outcome in DELIVERED
        )
        if not sent or measured is None:
            return (sent[0] if sent else None), measured
        ends = [*sent, max(self._incident_end(inc), sent[-1])]
        for a, b in zip(ends, ends[1:], strict=False):
            if abs((b - a) - measured) < 1e-3:
                return a, measured
        return sent[0], measured


def _rule_steps(plan, rule: str) -> set[str]:
    """The steps a rule's clock judges (the procedure's ``clocks``)."""
    return {s.id for s in plan.procedure if rule in s.clocks}


def step_of(detail: str) -> tuple[str, ...]:
    """A milestone key from its text form (``step>target``)."""
    return tuple(detail.split(">"))


def _ending_at(spans: list[Span], at: float, target: str | None, floor: float) -> Span | None:
    """The span of a step that ends at ``at``: the delivery's own first, then the step's, then
    another addressee's (deliveries one after another)."""
    found: Span | None = None
    rank = 9
    for sp in spans:
        if abs(sp.end - at) > _EPS or sp.start < floor - _EPS:
            continue
        if sp.end - sp.start <= _EPS:
            # too short to count, and taking it would not move the walk back: an answer after
            # a millionth of a minute once held the walk on one instant for ever
            continue
        r = 0 if target is not None and sp.target == target else 1 if sp.target == "" else 2
        if r < rank:
            found, rank = sp, r
    return found


def explain_misses(verdicts: list[Verdict], trace: Trace, plan) -> None:
    """Give every missed verdict its causes and its blocking step (replaced in the list)."""
    for i, v in enumerate(verdicts):
        if v.status == MISSED and v.incident:
            segments, reasons = trace.segments(v, plan)
            verdicts[i] = v._replace(
                causes=_totals(segments, reasons), blocker=_blocker(segments, v.rule, plan)
            )


def _totals(segments: list[Segment], reasons: list[tuple[str, float]]):
    totals: dict[str, float] = {}
    for seg in segments:
        totals[seg.cause] = totals.get(seg.cause, 0.0) + seg.minutes
    for reason, minutes in reasons:
        totals[reason] = totals.get(reason, 0.0) + minutes
    return tuple((c, round(totals[c], 3)) for c in CAUSES if c in totals)


def _blocker(segments: list[Segment], rule: str, plan) -> str:
    """The step that took the most of a miss's time; a miss with no time (a duty never done)
    is blocked by the rule's own step."""
    per_step: dict[str, float] = {}
    for seg in segments:
        if seg.step:
            per_step[seg.step] = per_step.get(seg.step, 0.0) + seg.minutes
    if per_step:
        return max(per_step.items(), key=lambda kv: (kv[1], kv[0]))[0]
    return next((s.id for s in plan.procedure if rule in s.clocks), "")  # the first, in order


def why_missed_rows(comparison, variant: str, lang: str) -> list[dict]:
    """The planner's "why missed" table for one variant: per missed rule, per cause, the share
    of its misses and the minutes per miss (largest first), in ``lang``."""
    from sim.i18n import label, t

    plan = comparison.scenarios[comparison.names.index(variant)].plan
    rows = []
    for r in comparison.results:
        if r.variant != variant or r.rule not in plan.rules:
            continue
        causes = comparison.causes.get((variant, r.rule), {})
        ranked = sorted(causes.items(), key=lambda kv: -kv[1]["minutes_per_miss"])
        for cause, c in ranked:
            rows.append(
                {
                    t("why_col_rule", lang): label(plan, "rules", r.rule, lang),
                    t("why_col_misses", lang): r.applicable - r.met,
                    t("why_col_cause", lang): t("cause_" + cause, lang),
                    t("why_col_share", lang): f"{100 * c['share_of_misses']:.0f}%",
                    t("why_col_minutes", lang): round(c["minutes_per_miss"], 1),
                }
            )
    return rows


__all__ = ["CAUSES", "REASONS", "Segment", "Trace", "explain_misses", "why_missed_rows"]
