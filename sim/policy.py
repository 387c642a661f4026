"""The plan's automatic policy: every step of the procedure, as soon as the plan allows it.

For each incident, every step waits — as milestone callbacks, not processes — for the steps it
comes after (``after`` all, ``after_any`` one); then, when it depends on the grade or the
family, it checks that it applies and runs through :func:`sim.steps.perform` (a process), or
at once when it takes no time and holds nobody (:func:`sim.steps.perform_now`). Steps with no dependency between them
run in parallel, limited only by who is free: the site's people share the site's steps, the
office its own. Follow-ups repeat until the incident is resolved, so no gap exceeds the plan's
follow-up interval.
"""

from __future__ import annotations

from collections.abc import Generator

from sim.model import GRADES, Model
from sim.procedure import FIRST_REPORT, Step
from sim.scenario import Incident, Scenario
from sim.steps import arrive, is_instant, perform, perform_now

#: Steps the policy does not start itself: events the model produces.
_PRODUCED = ("discovered", "resolved")


def _ref_key(m: Model, inc: Incident, ref: str) -> tuple:
    base, _, target = ref.partition(">")
    if base == FIRST_REPORT:
        base = m.plan.first_report_step
    return (inc.id, base, target) if target else (inc.id, base)


def policy_grade(m: Model, inc: Incident) -> str:
    """The grade the policy's working group gives: the plan's, shifted when the fate says wrong."""
    true = m.true_grade[inc.id]
    shift = m.fates[inc.id].grading_shift
    return GRADES[min(3, max(0, GRADES.index(true) + shift))]


def effective_grade(m: Model, inc: Incident) -> str | None:
    """The grade the policy's steps are due for: the grade its working group gave (a wrong
    grade leads to wrong steps, which the rules then judge against the plan's floor)."""
    return m.assigned_grade.get(inc.id)


def when_ready(m: Model, inc: Incident, step: Step) -> None:
    """Start ``step`` once every step it comes after is done (and one of ``after_any``).

    Waiting is done with milestone callbacks, not a process per step, so a step that never
    becomes due costs no simulation events.
    """
    keys = [_ref_key(m, inc, ref) for ref in step.after]
    if step.needs_grade:
        keys.append((inc.id, "graded"))
    left = [len(keys) + (1 if step.after_any else 0)]

    def one_more() -> None:
        left[0] -= 1
        if left[0] == 0:
            if not step.applies(inc.family, effective_grade(m, inc)):
                return
            if is_instant(m, inc, step):
                perform_now(m, inc, step)
            else:
                m.env.process(run_step(m, inc, step))

    for key in keys:
        m.on(key, one_more)
    if step.after_any:
        fired = [False]

        def any_one() -> None:
            if not fired[0]:
                fired[0] = True
                one_more()

        for ref in step.after_any:
            m.on(_ref_key(m, inc, ref), any_one)
    if not keys and not step.after_any:
        left[0] = 1
        one_more()


def run_step(m: Model, inc: Incident, step: Step) -> Generator:
    """Take ``step`` now (:func:`when_ready` has checked that it applies)."""
    if step.id == "graded":
        late = m.fates[inc.id].grading_late
        if late > 0:
            yield m.env.timeout(late)
        yield from perform(m, inc, step, level=policy_grade(m, inc))
    elif step.kind == "repeat":
        yield from _repeat(m, inc, step)
    else:
        targets = None
        if step.covered_by:
            targets = [
                t
                for t in m.plan.addressees(step.id, inc.family)
                if not any(m.reached(inc.id, c, t) for c in step.covered_by)
            ]
        yield from perform(m, inc, step, targets=targets, wait_order=True)


def _repeat(m: Model, inc: Incident, step: Step) -> Generator:
    """Send 续报 often enough that no gap exceeds the follow-up interval, until resolved."""
    env = m.env
    fate = m.fates[inc.id]
    interval = m.plan.rules["follow_up_reports"].allowed_minutes or 120.0
    to = m.plan.addressees(step.id, inc.family)
    pickup = max((fate.body_receive.get(t, 0.0) for t in to), default=0.0)
    # start early enough that the report reaches everyone before the interval runs out
    gap = max(1.0, interval - fate.minutes(step.duration) - pickup - 5.0)
    resolved = m.milestone(inc.id, "resolved")  # triggered already if resolved
    kind = m.plan.first_report_step
    firsts = [m.reached_at(inc.id, kind, t) for t in m.plan.addressees(kind, inc.family)]
    last = min((t for t in firsts if t is not None), default=env.now)
    while not resolved.triggered:
        wait = last + gap - env.now
        if wait > 0:
            yield resolved | env.timeout(wait)
        if resolved.triggered:
            break
        before = len(m.records)
        yield from perform(m, inc, step)
        sent = [
            a.time for a in m.records[before:] if a.action == step.id and a.outcome == "received"
        ]
        last = min(sent, default=env.now)


def start_incident(m: Model, inc: Incident) -> None:
    """Start the incident's arrival, and each step of the procedure once it is due."""
    arrive(m, inc)
    for step in m.plan.procedure:
        if step.id not in _PRODUCED and step.fits(inc.family):
            when_ready(m, inc, step)


def simulate(scenario: Scenario, seed: int, replication: int = 0) -> Model:
    """Run every incident of one replication to its end under the automatic policy."""
    m = Model(scenario, seed, replication)
    for inc in m.incidents:
        start_incident(m, inc)
    m.env.run()
    return m


__all__ = [
    "effective_grade",
    "policy_grade",
    "run_step",
    "simulate",
    "start_incident",
    "when_ready",
]
